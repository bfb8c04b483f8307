/*
 * dma.c — the DMA API over the pool: a bus address is the pool's bus
 * base plus the offset into the pool, mappings need no copying (the pool
 * is shared with the device) and syncs are no-ops (x86 is coherent, and
 * so is shared memory between processes). A map of memory outside the
 * pool fails loudly — logged and counted — and returns
 * DMA_MAPPING_ERROR, which drivers must check with dma_mapping_error.
 * The fault points (fault.c) fail maps and coherent allocations, or hand
 * out wild bus addresses.
 */
#include <linux/dma-mapping.h>
#include <linux/device.h>
#include <linux/mm.h>
#include "dde.h"

static unsigned long maps_live, refused;

/* Wild mappings (fault injection, DDE_FAULT_WILD_DMA_*): bus addresses
 * outside the pool handed to the driver in place of the real ones. The
 * driver may unmap or sync them as its own; nothing else accepts them. */
#define WILD 16
static struct {
	dma_addr_t bus;
	size_t size;
} wild[WILD];

void dde_dma_init(void)
{
	maps_live = refused = 0;
	memset(wild, 0, sizeof(wild));
}

static bool is_wild(dma_addr_t addr, bool forget)
{
	for (int i = 0; i < WILD; i++) {
		if (wild[i].size && wild[i].bus == addr) {
			if (forget)
				wild[i].size = 0;
			return true;
		}
	}
	return false;
}

/* wild_bus is where a wild mapping of [bus, bus+size) points: as far past
 * the pool's end as bus is into it, so it stays within a 32-bit mask. */
static dma_addr_t wild_bus(u64 bus, size_t size)
{
	dma_addr_t w = dde_pool_bus_end() + 1 + (bus & 0xffffff);

	for (int i = 0; i < WILD; i++) {
		if (!wild[i].size) {
			wild[i].bus = w;
			wild[i].size = size;
			break;
		}
	}
	dde_log(LOGLEVEL_NOTICE, "dde: wild DMA: bus %#llx+%zu handed out as %#llx (outside the pool)", bus, size,
		(u64)w);
	return w;
}

void dde_dma_stats(struct dde_stats *st)
{
	st->dma_maps_live = maps_live;
	st->dma_refused = refused;
}

static u64 dev_mask(struct device *dev)
{
	return dev && dev->dma_mask ? *dev->dma_mask : DMA_BIT_MASK(32);
}

static dma_addr_t map(struct device *dev, void *p, size_t size, enum dma_data_direction dir, const char *what,
		      unsigned long caller)
{
	u64 bus;

	if (dde_fault(DDE_FAULT_DMA_MAP, what, caller))
		return DMA_MAPPING_ERROR;

	if (!size || !dde_in_pool(p, size)) {
		refused++;
		dde_log(LOGLEVEL_ERR, "dde: %s of %zu bytes at %p refused: outside the DMA pool", what, size, p);
		return DMA_MAPPING_ERROR;
	}
	bus = dde_pool_bus(p);
	if (bus + size - 1 > dev_mask(dev)) {
		refused++;
		dde_log(LOGLEVEL_ERR, "dde: %s of %zu bytes at bus %#llx refused: beyond the DMA mask %#llx", what,
			size, bus, dev_mask(dev));
		return DMA_MAPPING_ERROR;
	}
	maps_live++;
	if (dir != DMA_FROM_DEVICE && dde_fault(DDE_FAULT_WILD_DMA_TX, what, caller))
		return wild_bus(bus, size);
	if (dir != DMA_TO_DEVICE && dde_fault(DDE_FAULT_WILD_DMA_RX, what, caller))
		return wild_bus(bus, size);
	return bus;
}

static void check_bus(dma_addr_t addr, size_t size, const char *what)
{
	if (!dde_pool_virt(addr, size) && !is_wild(addr, false))
		dde_panic("dde: %s of bus %#llx+%zu: not a pool address", what, (u64)addr, size);
}

dma_addr_t dma_map_page_attrs(struct device *dev, struct page *page, size_t offset, size_t size,
			      enum dma_data_direction dir, unsigned long attrs)
{
	/* page_to_phys gives the virtual address here (see mem.c), computed
	 * without touching *page, so a foreign page is refused, not read. */
	return map(dev, (void *)(unsigned long)(page_to_phys(page) + offset), size, dir, "dma_map_page_attrs", _RET_IP_);
}

void dma_unmap_page_attrs(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir,
			  unsigned long attrs)
{
	check_bus(addr, size, "DMA unmap");
	is_wild(addr, true);
	if (!maps_live)
		dde_panic("dde: DMA unmap of bus %#llx without a mapping", (u64)addr);
	maps_live--;
}

void dma_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)
{
	check_bus(addr, size, "DMA sync");
}

void dma_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)
{
	check_bus(addr, size, "DMA sync");
}

void *dma_alloc_attrs(struct device *dev, size_t size, dma_addr_t *handle, gfp_t gfp, unsigned long attrs)
{
	void *p;

	DDE_FAULT_POINT(DDE_FAULT_DMA_ALLOC, NULL);
	p = dde_block_alloc(size, DDE_MEM_DMA, false);
	if (!p)
		return NULL;
	*handle = dde_pool_bus(p);
	if (*handle + size - 1 > (dev && dev->coherent_dma_mask ? dev->coherent_dma_mask : DMA_BIT_MASK(32))) {
		dde_log(LOGLEVEL_ERR, "dde: coherent DMA buffer at bus %#llx beyond the device's mask", (u64)*handle);
		dde_block_free(p, DDE_MEM_DMA);
		return NULL;
	}
	return p;
}

void dma_free_attrs(struct device *dev, size_t size, void *cpu_addr, dma_addr_t handle, unsigned long attrs)
{
	if (cpu_addr && dde_pool_bus(cpu_addr) != handle)
		dde_panic("dde: dma_free_attrs: %p is not bus %#llx", cpu_addr, (u64)handle);
	if (cpu_addr)
		dde_block_free(cpu_addr, DDE_MEM_DMA);
}

/* The device can reach the pool only; a mask that does not cover it is
 * refused, so the driver falls back or gives up as on real hardware. */
int dma_set_mask(struct device *dev, u64 mask)
{
	if (!dev->dma_mask || dde_pool_bus_end() > mask)
		return -EIO;
	*dev->dma_mask = mask;
	return 0;
}

int dma_set_coherent_mask(struct device *dev, u64 mask)
{
	if (dde_pool_bus_end() > mask)
		return -EIO;
	dev->coherent_dma_mask = mask;
	return 0;
}

int dde_test_dma_map(void *p, unsigned long len, unsigned long long *bus)
{
	dma_addr_t a = map(NULL, p, len, DMA_BIDIRECTIONAL, "DMA map", _RET_IP_);

	if (a == DMA_MAPPING_ERROR)
		return -EIO;
	*bus = a;
	return 0;
}

void dde_test_dma_unmap(unsigned long long bus, unsigned long len)
{
	dma_unmap_page_attrs(NULL, bus, len, DMA_BIDIRECTIONAL, 0);
}
