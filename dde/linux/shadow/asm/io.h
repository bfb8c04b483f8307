/*
 * Shadow of arch/x86/include/asm/io.h: replaces the MMIO and port I/O
 * accessors (readl, writel, inl, outl, their relaxed, raw, string and
 * pausing forms) because in a user-space driver server they must not
 * touch memory or execute in/out: ioremap returns a cookie that no page
 * backs, and the DDE runtime routes each access to the host (the machine
 * process, or an in-process device model) as (BAR, offset, size).
 *
 * The original header is included unchanged; afterwards every accessor
 * name becomes a macro for a dde_* call. Inline helpers defined inside the
 * original header chain keep the raw instructions; they fault on the
 * cookie (loudly) instead of reaching a device. The extern ioread and
 * iowrite functions (CONFIG_GENERIC_IOMAP) need no shadow: the runtime
 * defines them.
 */
#ifndef _DDE_SHADOW_ASM_IO_H
#define _DDE_SHADOW_ASM_IO_H

#include_next <asm/io.h>

#define DDE_IO_DECL(bwl, type)						\
	type dde_read##bwl(const volatile void __iomem *addr);		\
	void dde_write##bwl(type v, volatile void __iomem *addr);	\
	void dde_reads##bwl(const volatile void __iomem *addr, void *buf, \
			    unsigned long count);			\
	void dde_writes##bwl(volatile void __iomem *addr, const void *buf, \
			     unsigned long count);
DDE_IO_DECL(b, u8)
DDE_IO_DECL(w, u16)
DDE_IO_DECL(l, u32)
DDE_IO_DECL(q, u64)
#undef DDE_IO_DECL

#define DDE_PIO_DECL(bwl, type)						\
	type dde_in##bwl(unsigned long port);				\
	void dde_out##bwl(type v, unsigned long port);			\
	void dde_ins##bwl(unsigned long port, void *buf, unsigned long count); \
	void dde_outs##bwl(unsigned long port, const void *buf, unsigned long count);
DDE_PIO_DECL(b, u8)
DDE_PIO_DECL(w, u16)
DDE_PIO_DECL(l, u32)
#undef DDE_PIO_DECL

#undef readb
#undef readw
#undef readl
#undef readq
#undef readb_relaxed
#undef readw_relaxed
#undef readl_relaxed
#undef readq_relaxed
#undef __raw_readb
#undef __raw_readw
#undef __raw_readl
#undef __raw_readq
#undef writeb
#undef writew
#undef writel
#undef writeq
#undef writeb_relaxed
#undef writew_relaxed
#undef writel_relaxed
#undef writeq_relaxed
#undef __raw_writeb
#undef __raw_writew
#undef __raw_writel
#undef __raw_writeq
#undef readsb
#undef readsw
#undef readsl
#undef readsq
#undef writesb
#undef writesw
#undef writesl
#undef writesq

#define readb(a)		dde_readb(a)
#define readw(a)		dde_readw(a)
#define readl(a)		dde_readl(a)
#define readq(a)		dde_readq(a)
#define readb_relaxed(a)	dde_readb(a)
#define readw_relaxed(a)	dde_readw(a)
#define readl_relaxed(a)	dde_readl(a)
#define readq_relaxed(a)	dde_readq(a)
#define __raw_readb(a)		dde_readb(a)
#define __raw_readw(a)		dde_readw(a)
#define __raw_readl(a)		dde_readl(a)
#define __raw_readq(a)		dde_readq(a)
#define __readb(a)		dde_readb(a)
#define __readw(a)		dde_readw(a)
#define __readl(a)		dde_readl(a)
#define __readq(a)		dde_readq(a)
#define writeb(v, a)		dde_writeb(v, a)
#define writew(v, a)		dde_writew(v, a)
#define writel(v, a)		dde_writel(v, a)
#define writeq(v, a)		dde_writeq(v, a)
#define writeb_relaxed(v, a)	dde_writeb(v, a)
#define writew_relaxed(v, a)	dde_writew(v, a)
#define writel_relaxed(v, a)	dde_writel(v, a)
#define writeq_relaxed(v, a)	dde_writeq(v, a)
#define __raw_writeb(v, a)	dde_writeb(v, a)
#define __raw_writew(v, a)	dde_writew(v, a)
#define __raw_writel(v, a)	dde_writel(v, a)
#define __raw_writeq(v, a)	dde_writeq(v, a)
#define __writeb(v, a)		dde_writeb(v, a)
#define __writew(v, a)		dde_writew(v, a)
#define __writel(v, a)		dde_writel(v, a)
#define __writeq(v, a)		dde_writeq(v, a)
#define readsb(a, b, n)		dde_readsb(a, b, n)
#define readsw(a, b, n)		dde_readsw(a, b, n)
#define readsl(a, b, n)		dde_readsl(a, b, n)
#define readsq(a, b, n)		dde_readsq(a, b, n)
#define writesb(a, b, n)	dde_writesb(a, b, n)
#define writesw(a, b, n)	dde_writesw(a, b, n)
#define writesl(a, b, n)	dde_writesl(a, b, n)
#define writesq(a, b, n)	dde_writesq(a, b, n)

#undef inb
#undef inw
#undef inl
#undef outb
#undef outw
#undef outl
#undef inb_p
#undef inw_p
#undef inl_p
#undef outb_p
#undef outw_p
#undef outl_p
#undef insb
#undef insw
#undef insl
#undef outsb
#undef outsw
#undef outsl
#undef insb_p
#undef insw_p
#undef insl_p
#undef outsb_p
#undef outsw_p
#undef outsl_p

#define inb(p)			dde_inb(p)
#define inw(p)			dde_inw(p)
#define inl(p)			dde_inl(p)
#define outb(v, p)		dde_outb(v, p)
#define outw(v, p)		dde_outw(v, p)
#define outl(v, p)		dde_outl(v, p)
#define inb_p(p)		dde_inb(p)
#define inw_p(p)		dde_inw(p)
#define inl_p(p)		dde_inl(p)
#define outb_p(v, p)		dde_outb(v, p)
#define outw_p(v, p)		dde_outw(v, p)
#define outl_p(v, p)		dde_outl(v, p)
#define insb(p, b, n)		dde_insb(p, b, n)
#define insw(p, b, n)		dde_insw(p, b, n)
#define insl(p, b, n)		dde_insl(p, b, n)
#define outsb(p, b, n)		dde_outsb(p, b, n)
#define outsw(p, b, n)		dde_outsw(p, b, n)
#define outsl(p, b, n)		dde_outsl(p, b, n)
#define insb_p(p, b, n)		dde_insb(p, b, n)
#define insw_p(p, b, n)		dde_insw(p, b, n)
#define insl_p(p, b, n)		dde_insl(p, b, n)
#define outsb_p(p, b, n)	dde_outsb(p, b, n)
#define outsw_p(p, b, n)	dde_outsw(p, b, n)
#define outsl_p(p, b, n)	dde_outsl(p, b, n)

#endif /* _DDE_SHADOW_ASM_IO_H */
