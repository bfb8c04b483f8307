/*
 * mem.c — all kernel memory lives in the DMA pool the host gives us: the
 * page allocator (alloc_pages, page frags, vmalloc, coherent DMA) hands out
 * naturally aligned blocks of pool pages, and kmalloc carves small objects
 * (32-2048 bytes) from pool pages or takes whole blocks for larger ones.
 * So anything a driver may hand to its device is in the pool, and the
 * device (through the machine's IOMMU) can reach nothing else.
 *
 * The memory layout symbols make the kernel's inline helpers work on user
 * addresses: page_offset_base = 0 turns __va/__pa into the identity (for
 * addresses below __START_KERNEL_map, __phys_addr subtracts
 * page_offset_base), so a "physical" address is the virtual one and
 * pfn = address >> PAGE_SHIFT. vmemmap_base is chosen so that
 * vmemmap + pfn lands in our struct page array for every pool page:
 * virt_to_page, page_address and page_to_phys round-trip there. The
 * struct page array and the allocator's bookkeeping live outside the pool
 * (dde_host_alloc), out of the device's reach.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/gfp.h>
#include <linux/skbuff.h>
#include <linux/jump_label.h>
#include "dde.h"

unsigned long page_offset_base;
unsigned long vmemmap_base;
unsigned long phys_base;
struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];
DEFINE_STATIC_KEY_FALSE(devmap_managed_key);
DEFINE_STATIC_KEY_FALSE(hugetlb_optimize_vmemmap_key);

#define SLAB_MIN_SHIFT 5 /* 32 bytes */
#define SLAB_CLASSES 7   /* 32 ... 2048 */
#define SLAB_MAX (1 << (SLAB_MIN_SHIFT + SLAB_CLASSES - 1))
#define FREE_MAGIC 0x6464656672656564ULL /* "ddefreed": marks a free slab object */

struct pageinfo {
	u8 kind;   /* enum dde_mem_kind; DDE_MEM_TAIL for a block's later pages */
	u8 order;  /* of the block, on its first page */
	u8 slab;   /* size class of a slab page */
	u32 head;  /* index of the block's first page */
};

static struct {
	u8 *base;
	unsigned long npages, used, hint;
	u64 bus;
	struct page *pages;
	struct pageinfo *info;
	void *slab_free[SLAB_CLASSES];
	unsigned long live[DDE_MEM_TAIL]; /* blocks per kind */
	unsigned long objects;            /* live kmalloc objects */
} pool;

int dde_mem_init(void *base, unsigned long size, u64 bus)
{
	dde_mem_fini();
	if (!base || ((unsigned long)base & ~PAGE_MASK) || (size & ~PAGE_MASK) || size < 16 * PAGE_SIZE) {
		dde_log(LOGLEVEL_ERR, "dde: the pool must be page aligned and at least 16 pages (got %p, %lu bytes)",
			base, size);
		return -EINVAL;
	}
	if ((bus & ~PAGE_MASK) || bus + size < bus) {
		dde_log(LOGLEVEL_ERR, "dde: pool bus address %#llx is not page aligned", bus);
		return -EINVAL;
	}
	pool.base = base;
	pool.npages = size >> PAGE_SHIFT;
	pool.bus = bus;
	pool.pages = dde_host_alloc(pool.npages * sizeof(struct page));
	pool.info = dde_host_alloc(pool.npages * sizeof(struct pageinfo));
	if (!pool.pages || !pool.info)
		dde_panic("dde: no memory for the page array of %lu pages", pool.npages);
	vmemmap_base = (unsigned long)pool.pages - ((unsigned long)base >> PAGE_SHIFT) * sizeof(struct page);
	page_offset_base = 0;
	phys_base = 0;
	return 0;
}

void dde_mem_fini(void)
{
	if (pool.pages)
		dde_host_free(pool.pages);
	if (pool.info)
		dde_host_free(pool.info);
	memset(&pool, 0, sizeof(pool));
}

bool dde_in_pool(const void *p, size_t len)
{
	unsigned long a = (unsigned long)p, b = (unsigned long)pool.base;

	return pool.base && a >= b && len <= (pool.npages << PAGE_SHIFT) && a - b <= (pool.npages << PAGE_SHIFT) - len;
}

u64 dde_pool_bus(const void *p)
{
	return pool.bus + ((const u8 *)p - pool.base);
}

void *dde_pool_virt(u64 bus, size_t len)
{
	u64 size = pool.npages << PAGE_SHIFT;

	if (bus < pool.bus || len > size || bus - pool.bus > size - len)
		return NULL;
	return pool.base + (bus - pool.bus);
}

u64 dde_pool_bus_end(void)
{
	return pool.bus + (pool.npages << PAGE_SHIFT) - 1;
}

static unsigned long index_of(const void *p)
{
	return ((const u8 *)p - pool.base) >> PAGE_SHIFT;
}

/* find_block returns the first naturally aligned run of free pages of the
 * order, starting at the hint (next fit), or -1. */
static long find_block(unsigned int order)
{
	unsigned long n = 1UL << order, blocks = pool.npages >> order, b, i;

	for (b = 0; b < blocks; b++) {
		unsigned long start = (((pool.hint >> order) + b) % blocks) << order;

		for (i = 0; i < n && pool.info[start + i].kind == DDE_MEM_FREE; i++)
			;
		if (i == n)
			return start;
	}
	return -1;
}

void *dde_block_alloc(size_t size, enum dde_mem_kind kind, bool compound)
{
	unsigned int order = get_order(max_t(size_t, size, 1));
	unsigned long n = 1UL << order, i;
	struct page *head;
	long start;
	void *p;

	if (!pool.base || order >= 20)
		return NULL;
	start = find_block(order);
	if (start < 0) {
		dde_log(LOGLEVEL_WARNING, "dde: pool exhausted: no %lu free pages for %zu bytes (%lu of %lu used)",
			n, size, pool.used, pool.npages);
		return NULL;
	}
	head = &pool.pages[start];
	for (i = 0; i < n; i++) {
		pool.info[start + i] = (struct pageinfo){ .kind = i ? DDE_MEM_TAIL : kind, .head = start };
		memset(&head[i], 0, sizeof(struct page));
	}
	pool.info[start].order = order;
	atomic_set(&head->_refcount, 1);
	if (compound && order) {
		__SetPageHead(head);
		for (i = 1; i < n; i++)
			set_compound_head(&head[i], head);
		set_compound_order(head, order);
	}
	pool.used += n;
	pool.hint = start + n;
	pool.live[kind]++;
	p = pool.base + (start << PAGE_SHIFT);
	memset(p, 0, n << PAGE_SHIFT);
	return p;
}

/* block_of returns the index of the block p starts, checking its kind. */
static unsigned long block_of(const void *p, enum dde_mem_kind kind, const char *what)
{
	unsigned long idx;

	if (!dde_in_pool(p, 1))
		dde_panic("dde: %s of %p: not pool memory", what, p);
	idx = index_of(p);
	if (((unsigned long)p & ~PAGE_MASK) || pool.info[idx].kind != kind)
		dde_panic("dde: %s of %p: not the start of such a block (page kind %d, want %d)", what, p,
			  pool.info[idx].kind, kind);
	return idx;
}

void dde_block_free(void *p, enum dde_mem_kind kind)
{
	unsigned long idx = block_of(p, kind, "free"), n = 1UL << pool.info[idx].order, i;

	for (i = 0; i < n; i++) {
		pool.info[idx + i] = (struct pageinfo){ 0 };
		memset(&pool.pages[idx + i], 0, sizeof(struct page));
	}
	memset(p, POISON_FREE, n << PAGE_SHIFT);
	pool.used -= n;
	pool.live[kind]--;
}

/* dde_mem_live says whether [p, p+len) lies inside one live allocation:
 * a kmalloc object, or a block of the page allocator (kmalloc, vmalloc,
 * pages, page frags, coherent DMA). For the injector, which follows a
 * pointer it is told to follow only into memory the driver holds. */
bool dde_mem_live(const void *p, size_t len)
{
	const u8 *b = p, *start;
	struct pageinfo *pi;
	size_t size;

	if (!len || !dde_in_pool(p, len))
		return false;
	pi = &pool.info[index_of(p)];
	if (pi->kind == DDE_MEM_SLAB) {
		size = 1UL << (pi->slab + SLAB_MIN_SHIFT);
		start = (const u8 *)((unsigned long)b & ~(size - 1));
		if (((const u64 *)start)[1] == FREE_MAGIC)
			return false;
	} else {
		unsigned long head = pi->kind == DDE_MEM_TAIL ? pi->head : index_of(p);

		if (pool.info[head].kind == DDE_MEM_FREE || pool.info[head].kind == DDE_MEM_SLAB ||
		    pool.info[head].kind == DDE_MEM_TAIL)
			return false;
		start = pool.base + (head << PAGE_SHIFT);
		size = PAGE_SIZE << pool.info[head].order;
	}
	return b + len <= start + size;
}

void dde_mem_stats(struct dde_stats *st)
{
	st->pool_pages = pool.npages;
	st->pool_pages_used = pool.used;
	st->kmalloc_live = pool.objects + pool.live[DDE_MEM_KMALLOC];
	st->pages_live = pool.live[DDE_MEM_PAGES] + pool.live[DDE_MEM_FRAG] + pool.live[DDE_MEM_VMALLOC];
	st->dma_coherent_live = pool.live[DDE_MEM_DMA];
}

/* kmalloc */

static void *slab_alloc(size_t size)
{
	int cls = size <= (1 << SLAB_MIN_SHIFT) ? 0 : fls(size - 1) - SLAB_MIN_SHIFT;
	size_t osize = 1UL << (cls + SLAB_MIN_SHIFT);
	u64 *obj = pool.slab_free[cls];

	if (!obj) {
		u8 *page = dde_block_alloc(PAGE_SIZE, DDE_MEM_SLAB, false);
		long off;

		if (!page)
			return NULL;
		pool.info[index_of(page)].slab = cls;
		for (off = PAGE_SIZE - osize; off >= 0; off -= osize) {
			u64 *o = (u64 *)(page + off);

			o[0] = (u64)pool.slab_free[cls];
			o[1] = FREE_MAGIC;
			pool.slab_free[cls] = o;
		}
		obj = pool.slab_free[cls];
	}
	if (obj[1] != FREE_MAGIC)
		dde_panic("dde: slab free list corrupted at %p (a write after kfree?)", obj);
	pool.slab_free[cls] = (void *)obj[0];
	memset(obj, 0, osize);
	pool.objects++;
	return obj;
}

static void *do_kmalloc(size_t size)
{
	if (!size)
		return ZERO_SIZE_PTR;
	if (size <= SLAB_MAX)
		return slab_alloc(size);
	return dde_block_alloc(size, DDE_MEM_KMALLOC, false);
}

void *__kmalloc(size_t size, gfp_t flags)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return do_kmalloc(size);
}

void *__kmalloc_node(size_t size, gfp_t flags, int node)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return do_kmalloc(size);
}

void *kmalloc_trace(struct kmem_cache *s, gfp_t flags, size_t size)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return do_kmalloc(size);
}

void *kmalloc_node_trace(struct kmem_cache *s, gfp_t flags, int node, size_t size)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return do_kmalloc(size);
}

void *kmalloc_large(size_t size, gfp_t flags)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return dde_block_alloc(size, DDE_MEM_KMALLOC, false);
}

void *kmalloc_large_node(size_t size, gfp_t flags, int node)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return dde_block_alloc(size, DDE_MEM_KMALLOC, false);
}

void *kvmalloc_node(size_t size, gfp_t flags, int node)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return do_kmalloc(size);
}

void kfree(const void *p)
{
	unsigned long idx;
	struct pageinfo *pi;
	u64 *obj = (u64 *)p;

	if (ZERO_OR_NULL_PTR(p))
		return;
	if (!dde_in_pool(p, 1))
		dde_panic("dde: kfree(%p): not pool memory", p);
	idx = index_of(p);
	pi = &pool.info[idx];
	if (pi->kind == DDE_MEM_KMALLOC) {
		dde_block_free((void *)p, DDE_MEM_KMALLOC);
		return;
	}
	if (pi->kind != DDE_MEM_SLAB || ((unsigned long)p & ((1UL << (pi->slab + SLAB_MIN_SHIFT)) - 1)))
		dde_panic("dde: kfree(%p): not a kmalloc object (page kind %d)", p, pi->kind);
	if (obj[1] == FREE_MAGIC)
		dde_panic("dde: kfree(%p): freed twice", p);
	memset(obj, POISON_FREE, 1UL << (pi->slab + SLAB_MIN_SHIFT));
	obj[0] = (u64)pool.slab_free[pi->slab];
	obj[1] = FREE_MAGIC;
	pool.slab_free[pi->slab] = obj;
	pool.objects--;
}

void kvfree(const void *p)
{
	if (is_vmalloc_addr(p))
		vfree(p);
	else
		kfree(p);
}

size_t ksize(const void *p)
{
	struct pageinfo *pi;

	if (ZERO_OR_NULL_PTR(p) || !dde_in_pool(p, 1))
		return 0;
	pi = &pool.info[index_of(p)];
	if (pi->kind == DDE_MEM_SLAB)
		return 1UL << (pi->slab + SLAB_MIN_SHIFT);
	if (pi->kind == DDE_MEM_KMALLOC)
		return PAGE_SIZE << pi->order;
	return 0;
}

/* vmalloc: whole blocks, marked so that is_vmalloc_addr is true for them
 * (the DMA API refuses to map vmalloc memory, as Linux does). */

void *vmalloc(unsigned long size)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return dde_block_alloc(size, DDE_MEM_VMALLOC, false);
}

void *vzalloc(unsigned long size)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return dde_block_alloc(size, DDE_MEM_VMALLOC, false);
}

void vfree(const void *p)
{
	if (p)
		dde_block_free((void *)p, DDE_MEM_VMALLOC);
}

bool is_vmalloc_addr(const void *p)
{
	unsigned long idx;

	if (!dde_in_pool(p, 1))
		return false;
	idx = pool.info[index_of(p)].head;
	return pool.info[idx].kind == DDE_MEM_VMALLOC;
}

/* Pages. A block from alloc_pages or a page frag is freed when its
 * refcount drops to zero (put_page -> __folio_put). */

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	void *p;

	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	p = dde_block_alloc(PAGE_SIZE << order, DDE_MEM_PAGES, gfp & __GFP_COMP);
	return p ? virt_to_page(p) : NULL;
}

unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, 0);
	return (unsigned long)dde_block_alloc(PAGE_SIZE << order, DDE_MEM_PAGES, false);
}

static void free_block_of(struct page *page, const char *what)
{
	void *p = page_address(page);
	unsigned long idx;

	if (!dde_in_pool(p, 1))
		dde_panic("dde: %s of page %p: not a pool page", what, page);
	idx = index_of(p);
	if (pool.info[idx].kind != DDE_MEM_PAGES && pool.info[idx].kind != DDE_MEM_FRAG)
		dde_panic("dde: %s of page %p: not from alloc_pages or a page frag (kind %d)", what, page,
			  pool.info[idx].kind);
	dde_block_free(p, pool.info[idx].kind);
}

void __free_pages(struct page *page, unsigned int order)
{
	if (put_page_testzero(page))
		free_block_of(page, "__free_pages");
}

void free_pages(unsigned long addr, unsigned int order)
{
	if (addr)
		__free_pages(virt_to_page((void *)addr), order);
}

void __folio_put(struct folio *folio)
{
	free_block_of(&folio->page, "put_page");
}

/* Page frags: one block per fragment (page aligned, so any alignment the
 * caller asks for holds); the skb code frees them with page_frag_free. */
void *__netdev_alloc_frag_align(unsigned int fragsz, unsigned int align_mask)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return dde_block_alloc(fragsz, DDE_MEM_FRAG, true);
}

void *__napi_alloc_frag_align(unsigned int fragsz, unsigned int align_mask)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return dde_block_alloc(fragsz, DDE_MEM_FRAG, true);
}

void page_frag_free(void *addr)
{
	struct page *page = virt_to_head_page(addr);

	if (put_page_testzero(page))
		free_block_of(page, "page_frag_free");
}

/* Only reached through devmap_managed_key, which stays off. */
bool __put_devmap_managed_page_refs(struct page *page, int refs)
{
	dde_panic("dde: __put_devmap_managed_page_refs: no device-managed pages here");
}

/* For the runtime's own tests. */
void *dde_test_kmalloc(unsigned long len)
{
	return do_kmalloc(len);
}

void dde_test_kfree(void *p)
{
	kfree(p);
}
