/*
 * io.c — MMIO and port I/O. ioremap hands out cookies in a region no
 * page backs (the kernel's vmalloc area, which faults in user space), one
 * 4 GiB slot per mapping; the accessors the shadow asm/io.h routes here
 * decode a cookie into (BAR, offset) and ask the host. Port numbers are
 * those the PCI layer assigned to I/O BARs. The ioread/iowrite family
 * (CONFIG_GENERIC_IOMAP) takes both kinds of cookie, port cookies being
 * PIO_OFFSET + port as in lib/iomap.c. Anything unmapped stops the server.
 */
#include <linux/io.h>
#include <linux/pci.h>
#include "dde.h"

#define COOKIE_BASE 0xffffc90000000000UL
#define SLOT_SHIFT 32
#define SLOTS 16
#define PIO_OFFSET 0x10000UL
#define PIO_END 0x40000UL

static struct iomap {
	bool used;
	int bar;
	u32 bar_off;  /* where the mapping starts inside the BAR */
	unsigned long size;
} maps[SLOTS];

void dde_io_init(void)
{
	memset(maps, 0, sizeof(maps));
}

void __iomem *ioremap(resource_size_t phys, unsigned long size)
{
	int bar, i;
	u32 off;

	if (dde_pci_mmio(phys, size, &bar, &off)) {
		dde_log(LOGLEVEL_ERR, "dde: ioremap(%#llx, %#lx): not inside a memory BAR", (u64)phys, size);
		return NULL;
	}
	for (i = 0; i < SLOTS; i++) {
		if (!maps[i].used) {
			maps[i] = (struct iomap){ .used = true, .bar = bar, .bar_off = off, .size = size };
			return (void __iomem *)(COOKIE_BASE + ((unsigned long)i << SLOT_SHIFT));
		}
	}
	dde_log(LOGLEVEL_ERR, "dde: ioremap: all %d mapping slots in use", SLOTS);
	return NULL;
}

void __iomem *ioremap_wc(resource_size_t phys, unsigned long size)
{
	return ioremap(phys, size);
}

void __iomem *ioremap_cache(resource_size_t phys, unsigned long size)
{
	return ioremap(phys, size);
}

static struct iomap *slot_of(const volatile void __iomem *addr)
{
	unsigned long a = (unsigned long)addr - COOKIE_BASE, i = a >> SLOT_SHIFT;

	if ((unsigned long)addr < COOKIE_BASE || i >= SLOTS || !maps[i].used)
		return NULL;
	return &maps[i];
}

void iounmap(volatile void __iomem *addr)
{
	struct iomap *m = slot_of(addr);

	if (!m || ((unsigned long)addr & ((1UL << SLOT_SHIFT) - 1)))
		dde_panic("dde: iounmap(%p): not an ioremap cookie", addr);
	m->used = false;
}

/* mmio decodes a cookie access of size bytes. */
static void mmio(const volatile void __iomem *addr, int size, int *bar, u32 *off)
{
	struct iomap *m = slot_of(addr);
	unsigned long o = ((unsigned long)addr - COOKIE_BASE) & ((1UL << SLOT_SHIFT) - 1);

	if (!m || o + size > m->size || (o & (size - 1)))
		dde_panic("dde: MMIO access of %d bytes at %p: no mapping covers it", size, addr);
	*bar = m->bar;
	*off = m->bar_off + o;
}

static void port(unsigned long p, int size, int *bar, u32 *off)
{
	if (dde_pci_port(p, size, bar, off))
		dde_panic("dde: port I/O of %d bytes at %#lx: no I/O BAR covers it", size, p);
}

#define MMIO_RW(bwl, type, size)						\
	type dde_read##bwl(const volatile void __iomem *addr)			\
	{									\
		int bar;							\
		u32 off;							\
		mmio(addr, size, &bar, &off);					\
		return (type)dde_host_mmio_read(bar, off, size);		\
	}									\
	void dde_write##bwl(type v, volatile void __iomem *addr)		\
	{									\
		int bar;							\
		u32 off;							\
		mmio(addr, size, &bar, &off);					\
		dde_host_mmio_write(bar, off, size, v);				\
	}									\
	void dde_reads##bwl(const volatile void __iomem *addr, void *buf, unsigned long n) \
	{									\
		type *p = buf;							\
		while (n--)							\
			*p++ = dde_read##bwl(addr);				\
	}									\
	void dde_writes##bwl(volatile void __iomem *addr, const void *buf, unsigned long n) \
	{									\
		const type *p = buf;						\
		while (n--)							\
			dde_write##bwl(*p++, addr);				\
	}
MMIO_RW(b, u8, 1)
MMIO_RW(w, u16, 2)
MMIO_RW(l, u32, 4)
MMIO_RW(q, u64, 8)

#define PIO_RW(bwl, type, size)							\
	type dde_in##bwl(unsigned long p)					\
	{									\
		int bar;							\
		u32 off;							\
		port(p, size, &bar, &off);					\
		return (type)dde_host_io_read(bar, off, size);			\
	}									\
	void dde_out##bwl(type v, unsigned long p)				\
	{									\
		int bar;							\
		u32 off;							\
		port(p, size, &bar, &off);					\
		dde_host_io_write(bar, off, size, v);				\
	}									\
	void dde_ins##bwl(unsigned long p, void *buf, unsigned long n)		\
	{									\
		type *d = buf;							\
		while (n--)							\
			*d++ = dde_in##bwl(p);					\
	}									\
	void dde_outs##bwl(unsigned long p, const void *buf, unsigned long n)	\
	{									\
		const type *s = buf;						\
		while (n--)							\
			dde_out##bwl(*s++, p);					\
	}
PIO_RW(b, u8, 1)
PIO_RW(w, u16, 2)
PIO_RW(l, u32, 4)

/* The generic iomap family: a cookie is either ioremap's or a port. */
static bool is_pio(const void __iomem *addr)
{
	unsigned long a = (unsigned long)addr;

	return a >= PIO_OFFSET && a < PIO_END;
}

#define IOMAP_RW(bits, bwl, type)						\
	unsigned int ioread##bits(const void __iomem *addr)			\
	{									\
		if (is_pio(addr))						\
			return dde_in##bwl((unsigned long)addr - PIO_OFFSET);	\
		return dde_read##bwl(addr);					\
	}									\
	void iowrite##bits(type v, void __iomem *addr)				\
	{									\
		if (is_pio(addr))						\
			dde_out##bwl(v, (unsigned long)addr - PIO_OFFSET);	\
		else								\
			dde_write##bwl(v, addr);				\
	}									\
	void ioread##bits##_rep(const void __iomem *addr, void *buf, unsigned long n) \
	{									\
		type *d = buf;							\
		while (n--)							\
			*d++ = ioread##bits(addr);				\
	}									\
	void iowrite##bits##_rep(void __iomem *addr, const void *buf, unsigned long n) \
	{									\
		const type *s = buf;						\
		while (n--)							\
			iowrite##bits(*s++, addr);				\
	}
IOMAP_RW(8, b, u8)
IOMAP_RW(16, w, u16)
IOMAP_RW(32, l, u32)

void __iomem *ioport_map(unsigned long p, unsigned int nr)
{
	return p < PIO_END - PIO_OFFSET ? (void __iomem *)(p + PIO_OFFSET) : NULL;
}

void ioport_unmap(void __iomem *addr)
{
}

void __iomem *pci_iomap_range(struct pci_dev *dev, int bar, unsigned long offset, unsigned long maxlen)
{
	resource_size_t start = pci_resource_start(dev, bar), len = pci_resource_len(dev, bar);

	if (!len || offset >= len)
		return NULL;
	len -= offset;
	if (maxlen && maxlen < len)
		len = maxlen;
	if (pci_resource_flags(dev, bar) & IORESOURCE_IO)
		return ioport_map(start + offset, len);
	return ioremap(start + offset, len);
}

void __iomem *pci_iomap(struct pci_dev *dev, int bar, unsigned long maxlen)
{
	return pci_iomap_range(dev, bar, 0, maxlen);
}

void pci_iounmap(struct pci_dev *dev, void __iomem *addr)
{
	if (!is_pio(addr))
		iounmap(addr);
}

void memcpy_fromio(void *to, const volatile void __iomem *from, size_t n)
{
	u8 *d = to;
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = dde_readb((const volatile u8 __iomem *)from + i);
}

void memcpy_toio(volatile void __iomem *to, const void *from, size_t n)
{
	const u8 *s = from;
	size_t i;

	for (i = 0; i < n; i++)
		dde_writeb(s[i], (volatile u8 __iomem *)to + i);
}

void memset_io(volatile void __iomem *to, int c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dde_writeb(c, (volatile u8 __iomem *)to + i);
}
