/*
 * pci.c — one PCI bus with the one function the host gives the server
 * (at 0000:00:03.0). dde_pci_init plays firmware: it reads the identity
 * from configuration space, sizes and assigns the BARs (memory upwards
 * from 0xfebc0000, I/O from 0xc000), sets the interrupt line and
 * finds the power-management capability. The driver core part matches a
 * registered pci_driver's ID table against the function and calls probe;
 * the pci_* calls do what the kernel's do, through configuration cycles
 * to the host.
 */
#include <linux/pci.h>
#include <linux/ioport.h>
#include <linux/device.h>
#include <linux/module.h>
#include "dde.h"

#define MMIO_BASE 0xfebc0000UL /* where QEMU's PC machine puts e1000's BAR0 */
#define PIO_BASE 0xc000UL
#define IRQ_LINE 11

static struct bus_type pci_bus = { .name = "pci" };
static struct pci_bus bus0;
static struct pci_dev *pdev;
static struct pci_driver *bound;
static unsigned int requested; /* bitmap of BARs with their region requested */
static char name[16] = "0000:00:03.0";

static u32 cfg_read(int where, int size)
{
	return dde_host_config_read(where, size);
}

static void cfg_write(int where, int size, u32 v)
{
	dde_host_config_write(where, size, v);
}

/* size_bar sizes BAR i with the all-ones protocol and assigns it an
 * address; it returns how many BAR slots it used (2 for 64-bit). */
static int size_bar(int i, unsigned long *mmio, unsigned long *pio)
{
	int reg = PCI_BASE_ADDRESS_0 + 4 * i;
	u32 orig = cfg_read(reg, 4), mask;
	struct resource *r = &pdev->resource[i];
	u64 size, base;

	cfg_write(reg, 4, ~0U);
	mask = cfg_read(reg, 4);
	cfg_write(reg, 4, orig);
	if (!mask || mask == ~0U)
		return 1;
	if (mask & PCI_BASE_ADDRESS_SPACE_IO) {
		size = (~(mask & PCI_BASE_ADDRESS_IO_MASK) + 1) & 0xffff;
		if (!size)
			return 1;
		base = ALIGN(*pio, size);
		*pio = base + size;
		cfg_write(reg, 4, base);
		r->flags = IORESOURCE_IO | IORESOURCE_SIZEALIGN;
	} else {
		bool is64 = (mask & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;

		size = ~(u64)(mask & PCI_BASE_ADDRESS_MEM_MASK) + 1;
		if (is64) {
			u32 hi = cfg_read(reg + 4, 4);

			cfg_write(reg + 4, 4, ~0U);
			size = ~((u64)cfg_read(reg + 4, 4) << 32 | (mask & PCI_BASE_ADDRESS_MEM_MASK)) + 1;
			cfg_write(reg + 4, 4, hi);
		} else {
			size &= 0xffffffffULL;
		}
		base = ALIGN(*mmio, size);
		*mmio = base + size;
		cfg_write(reg, 4, (u32)base);
		if (is64)
			cfg_write(reg + 4, 4, base >> 32);
		r->flags = IORESOURCE_MEM | IORESOURCE_SIZEALIGN;
		if (is64)
			r->flags |= IORESOURCE_MEM_64;
		if (mask & PCI_BASE_ADDRESS_MEM_PREFETCH)
			r->flags |= IORESOURCE_PREFETCH;
	}
	r->start = base;
	r->end = base + size - 1;
	r->name = name;
	return r->flags & IORESOURCE_MEM_64 ? 2 : 1;
}

int dde_pci_init(void)
{
	unsigned long mmio = MMIO_BASE, pio = PIO_BASE;
	int i, ptr, guard;
	u32 v;

	dde_pci_fini();
	v = cfg_read(PCI_VENDOR_ID, 4);
	if ((v & 0xffff) == 0xffff || !(v & 0xffff)) {
		dde_log(LOGLEVEL_ERR, "dde: no PCI function (vendor/device %#x)", v);
		return -ENODEV;
	}
	/* The bus's own structures live outside the pool, out of the
	 * device's reach: only drivers' allocations need to be DMA-able. */
	pdev = dde_host_alloc(sizeof(*pdev));
	bus0.sysdata = dde_host_alloc(sizeof(struct pci_sysdata));
	if (!pdev || !bus0.sysdata)
		dde_panic("dde: no memory for the PCI function");
	bus0.number = 0;
	pdev->bus = &bus0;
	pdev->devfn = PCI_DEVFN(3, 0);
	pdev->vendor = v & 0xffff;
	pdev->device = v >> 16;
	pdev->subsystem_vendor = cfg_read(PCI_SUBSYSTEM_VENDOR_ID, 2);
	pdev->subsystem_device = cfg_read(PCI_SUBSYSTEM_ID, 2);
	v = cfg_read(PCI_CLASS_REVISION, 4);
	pdev->class = v >> 8;
	pdev->revision = v & 0xff;
	pdev->hdr_type = cfg_read(PCI_HEADER_TYPE, 1) & 0x7f;
	pdev->pin = cfg_read(PCI_INTERRUPT_PIN, 1);
	pdev->cfg_size = PCI_CFG_SPACE_SIZE;
	pdev->current_state = PCI_D0;
	pdev->dma_mask = DMA_BIT_MASK(32);
	pdev->dev.dma_mask = &pdev->dma_mask;
	pdev->dev.coherent_dma_mask = DMA_BIT_MASK(32);
	pdev->dev.init_name = name;
	pdev->dev.bus = &pci_bus;
	for (i = 0; i < PCI_STD_NUM_BARS;)
		i += size_bar(i, &mmio, &pio);
	if (pdev->pin) {
		cfg_write(PCI_INTERRUPT_LINE, 1, IRQ_LINE);
		pdev->irq = IRQ_LINE;
	}
	if (cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) {
		ptr = cfg_read(PCI_CAPABILITY_LIST, 1) & ~3;
		for (guard = 0; ptr >= 0x40 && guard < 48; guard++) {
			if (cfg_read(ptr + PCI_CAP_LIST_ID, 1) == PCI_CAP_ID_PM)
				pdev->pm_cap = ptr;
			ptr = cfg_read(ptr + PCI_CAP_LIST_NEXT, 1) & ~3;
		}
	}
	return 0;
}

void dde_pci_fini(void)
{
	if (pdev) {
		dde_host_free(bus0.sysdata);
		dde_host_free(pdev);
	}
	pdev = NULL;
	bound = NULL;
	requested = 0;
	memset(&bus0, 0, sizeof(bus0));
}

bool dde_pci_bound(void)
{
	return bound != NULL;
}

int dde_pci_mmio(u64 phys, unsigned long size, int *bar, u32 *off)
{
	int i;

	for (i = 0; pdev && i < PCI_STD_NUM_BARS; i++) {
		struct resource *r = &pdev->resource[i];

		if ((r->flags & IORESOURCE_MEM) && phys >= r->start && size && phys + size - 1 <= r->end) {
			*bar = i;
			*off = phys - r->start;
			return 0;
		}
	}
	return -EINVAL;
}

int dde_pci_port(unsigned long port, int size, int *bar, u32 *off)
{
	int i;

	for (i = 0; pdev && i < PCI_STD_NUM_BARS; i++) {
		struct resource *r = &pdev->resource[i];

		if ((r->flags & IORESOURCE_IO) && port >= r->start && port + size - 1 <= r->end) {
			*bar = i;
			*off = port - r->start;
			return 0;
		}
	}
	return -EINVAL;
}

/* Configuration space. */

static int check(const struct pci_dev *dev, int where, int size)
{
	if (dev != pdev || where < 0 || where + size > PCI_CFG_SPACE_SIZE || (where & (size - 1)))
		return PCIBIOS_BAD_REGISTER_NUMBER;
	return 0;
}

#define CONFIG_RW(sfx, type, size)						\
	int pci_read_config_##sfx(const struct pci_dev *dev, int where, type *val) \
	{									\
		int err = check(dev, where, size);				\
		if (!err && dde_fault(DDE_FAULT_PCI_CONFIG, __func__, _RET_IP_)) \
			err = PCIBIOS_DEVICE_NOT_FOUND;				\
		*val = err ? (type)~0 : (type)cfg_read(where, size);		\
		return err;							\
	}									\
	int pci_write_config_##sfx(const struct pci_dev *dev, int where, type val) \
	{									\
		int err = check(dev, where, size);				\
		if (!err)							\
			cfg_write(where, size, val);				\
		return err;							\
	}
CONFIG_RW(byte, u8, 1)
CONFIG_RW(word, u16, 2)
CONFIG_RW(dword, u32, 4)

static void command(struct pci_dev *dev, u16 set, u16 clear)
{
	u16 cmd, old;

	DDE_QUIET(pci_read_config_word(dev, PCI_COMMAND, &old)); /* ours: never a fault point */
	cmd = (old | set) & ~clear;
	if (cmd != old)
		pci_write_config_word(dev, PCI_COMMAND, cmd);
}

/* The driver core. */

static const struct pci_device_id *match(const struct pci_device_id *id, struct pci_dev *dev)
{
	for (; id && (id->vendor || id->subvendor || id->class_mask); id++) {
		if ((id->vendor == PCI_ANY_ID || id->vendor == dev->vendor) &&
		    (id->device == PCI_ANY_ID || id->device == dev->device) &&
		    (id->subvendor == PCI_ANY_ID || id->subvendor == dev->subsystem_vendor) &&
		    (id->subdevice == PCI_ANY_ID || id->subdevice == dev->subsystem_device) &&
		    !((id->class ^ dev->class) & id->class_mask))
			return id;
	}
	return NULL;
}

int __pci_register_driver(struct pci_driver *drv, struct module *owner, const char *mod_name)
{
	const struct pci_device_id *id;
	int err;

	drv->driver.name = drv->name;
	drv->driver.bus = &pci_bus;
	drv->driver.owner = owner;
	drv->driver.mod_name = mod_name;
	if (!pdev || bound || !(id = match(drv->id_table, pdev)))
		return 0; /* registered, nothing to bind: as in Linux */
	pdev->driver = drv;
	pdev->dev.driver = &drv->driver;
	bound = drv;
	err = drv->probe(pdev, id);
	if (err) {
		dde_log(LOGLEVEL_WARNING, "%s: probe of %s failed with error %d", drv->name, name, err);
		pdev->driver = NULL;
		pdev->dev.driver = NULL;
		bound = NULL;
	}
	return 0;
}

void pci_unregister_driver(struct pci_driver *drv)
{
	if (!pdev || bound != drv)
		return;
	if (drv->remove)
		drv->remove(pdev);
	pdev->driver = NULL;
	pdev->dev.driver = NULL;
	bound = NULL;
}

void dde_pci_unbind_all(void)
{
	if (bound)
		pci_unregister_driver(bound);
}

const char *dev_driver_string(const struct device *dev)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	return drv ? drv->name : dev->bus ? dev->bus->name : dev->class ? dev->class->name : "";
}

/* Enabling, regions, bus mastering. */

static int enable(struct pci_dev *dev, unsigned long types)
{
	u16 set = 0;
	int i;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		unsigned long f = dev->resource[i].flags & types;

		if (f & IORESOURCE_IO)
			set |= PCI_COMMAND_IO;
		if (f & IORESOURCE_MEM)
			set |= PCI_COMMAND_MEMORY;
	}
	command(dev, set, 0);
	atomic_inc(&dev->enable_cnt);
	return 0;
}

int pci_enable_device(struct pci_dev *dev)
{
	return enable(dev, IORESOURCE_IO | IORESOURCE_MEM);
}

int pci_enable_device_mem(struct pci_dev *dev)
{
	return enable(dev, IORESOURCE_MEM);
}

void pci_disable_device(struct pci_dev *dev)
{
	if (atomic_dec_return(&dev->enable_cnt) != 0)
		return;
	command(dev, 0, PCI_COMMAND_MASTER);
	dev->is_busmaster = 0;
}

void pci_set_master(struct pci_dev *dev)
{
	u8 lat;

	command(dev, PCI_COMMAND_MASTER, 0);
	DDE_QUIET(pci_read_config_byte(dev, PCI_LATENCY_TIMER, &lat));
	if (lat < 16)
		pci_write_config_byte(dev, PCI_LATENCY_TIMER, 64);
	dev->is_busmaster = 1;
}

void pci_clear_master(struct pci_dev *dev)
{
	command(dev, 0, PCI_COMMAND_MASTER);
	dev->is_busmaster = 0;
}

int pci_set_mwi(struct pci_dev *dev)
{
	pci_write_config_byte(dev, PCI_CACHE_LINE_SIZE, L1_CACHE_BYTES >> 2);
	command(dev, PCI_COMMAND_INVALIDATE, 0);
	return 0;
}

void pci_clear_mwi(struct pci_dev *dev)
{
	command(dev, 0, PCI_COMMAND_INVALIDATE);
}

int pci_select_bars(struct pci_dev *dev, unsigned long flags)
{
	int i, bars = 0;

	for (i = 0; i < PCI_NUM_RESOURCES; i++)
		if (pci_resource_flags(dev, i) & flags)
			bars |= 1 << i;
	return bars;
}

int pci_request_selected_regions(struct pci_dev *dev, int bars, const char *res_name)
{
	int i;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (!(bars & (1 << i)) || !pci_resource_len(dev, i))
			continue;
		if (requested & (1 << i)) {
			dde_log(LOGLEVEL_WARNING, "%s %s: BAR %d: region already requested", dev_driver_string(&dev->dev),
				name, i);
			return -EBUSY;
		}
	}
	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		if ((bars & (1 << i)) && pci_resource_len(dev, i))
			requested |= 1 << i;
	return 0;
}

void pci_release_selected_regions(struct pci_dev *dev, int bars)
{
	requested &= ~bars;
}

/* Every standard BAR, as the kernel's pci_request_regions (8139too). */
int pci_request_regions(struct pci_dev *dev, const char *res_name)
{
	return pci_request_selected_regions(dev, (1 << PCI_STD_NUM_BARS) - 1, res_name);
}

void pci_release_regions(struct pci_dev *dev)
{
	pci_release_selected_regions(dev, (1 << PCI_STD_NUM_BARS) - 1);
}

void __iomem *pci_ioremap_bar(struct pci_dev *dev, int bar)
{
	if (!(pci_resource_flags(dev, bar) & IORESOURCE_MEM)) {
		dde_log(LOGLEVEL_WARNING, "%s: BAR %d is not a memory BAR", name, bar);
		return NULL;
	}
	return ioremap(pci_resource_start(dev, bar), pci_resource_len(dev, bar));
}

/* Power management: the header's first 64 bytes are what save_state
 * keeps (enough for restore after a D3 round trip of a plain PCI
 * function); the power state goes to the PM capability's PMCSR. */

int pci_save_state(struct pci_dev *dev)
{
	int i;

	for (i = 0; i < 16; i++)
		DDE_QUIET(pci_read_config_dword(dev, i * 4, &dev->saved_config_space[i]));
	dev->state_saved = true;
	return 0;
}

void pci_restore_state(struct pci_dev *dev)
{
	int i;

	if (!dev->state_saved)
		return;
	for (i = 15; i >= 0; i--)
		pci_write_config_dword(dev, i * 4, dev->saved_config_space[i]);
}

int pci_set_power_state(struct pci_dev *dev, pci_power_t state)
{
	u16 pmcsr;

	if (state < PCI_D0 || state > PCI_D3hot)
		state = PCI_D3hot;
	if (dev->pm_cap) {
		DDE_QUIET(pci_read_config_word(dev, dev->pm_cap + PCI_PM_CTRL, &pmcsr));
		pmcsr = (pmcsr & ~PCI_PM_CTRL_STATE_MASK) | (__force u16)state;
		pci_write_config_word(dev, dev->pm_cap + PCI_PM_CTRL, pmcsr);
	}
	dev->current_state = state;
	return 0;
}
