/*
 * dde.h — internals shared by the runtime's files. The runtime is built
 * with the donor's flags against the configured kernel headers (see
 * ddebuild runtime), so everything here is kernel-side code.
 *
 * Layers (after Genode's dde_linux): the emulated kernel API (printk.c,
 * mem.c, dma.c, io.c, pci.c, skbuff.c, netdev.c, napi.c, lib.c, dummies.c)
 * on top of the runtime kit (sched.c: clock, timers, work, IRQs, the
 * cooperative loop; api.c: the host's entry points).
 *
 * One thread runs everything; nothing here locks. Kernel locks are
 * emulated as ownership checks that stop the server on a certain
 * deadlock (a lock taken twice on one thread).
 */
#ifndef DDE_INTERNAL_H
#define DDE_INTERNAL_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/stdarg.h>
#include "api.h"
#include "host.h"

struct page;
struct pci_dev;
struct net_device;
struct napi_struct;
struct sk_buff;

/* printk.c */
int dde_vsnprintf(char *buf, size_t size, const char *fmt, va_list args);
__printf(3, 4) int dde_snprintf(char *buf, size_t size, const char *fmt, ...);
__printf(2, 3) void dde_log(int level, const char *fmt, ...);
void dde_log_flush(void);
extern unsigned long dde_log_warnings;
__printf(1, 2) void __noreturn dde_panic(const char *fmt, ...);

/* Log once per call site, then stay quiet: the hand-written stub tier. */
#define dde_once(level, fmt, ...) do {					\
		static bool __dde_done;					\
		if (!__dde_done) {					\
			__dde_done = true;				\
			dde_log(level, "dde: " fmt, ##__VA_ARGS__);	\
		}							\
	} while (0)

/* mem.c: the pool and every allocator on it. */
enum dde_mem_kind {
	DDE_MEM_FREE, DDE_MEM_SLAB, DDE_MEM_KMALLOC, DDE_MEM_VMALLOC,
	DDE_MEM_PAGES, DDE_MEM_FRAG, DDE_MEM_DMA, DDE_MEM_TAIL,
};
int dde_mem_init(void *pool, unsigned long size, u64 bus);
void dde_mem_fini(void);
bool dde_in_pool(const void *p, size_t len);
u64 dde_pool_bus(const void *p);     /* p must be in the pool */
void *dde_pool_virt(u64 bus, size_t len); /* NULL outside */
u64 dde_pool_bus_end(void);          /* last bus address of the pool */
void *dde_block_alloc(size_t size, enum dde_mem_kind kind, bool compound);
void dde_block_free(void *p, enum dde_mem_kind kind);
void dde_mem_stats(struct dde_stats *st);
bool dde_mem_live(const void *p, size_t len);

/* dma.c */
void dde_dma_init(void);
void dde_dma_stats(struct dde_stats *st);

/* sched.c: the clock, the loop and what it runs. */
extern u64 dde_clock_ns;
extern bool dde_virtual_time;
void dde_sched_init(bool virtual_time);
void dde_clock_set(u64 ns);
void dde_delay_ns(u64 ns);
bool dde_timers_run(void);
bool dde_work_run(void);
bool dde_irq_run(void);
void dde_irq_reset(void);
void dde_irq_stats(struct dde_stats *st);
bool dde_timer_deadline(u64 *ns);
void dde_sched_stats(struct dde_stats *st);
bool dde_sched_idle(void);

/* pci.c: the one PCI function the host gives us. */
int dde_pci_init(void);
void dde_pci_fini(void);
bool dde_pci_bound(void);
void dde_pci_unbind_all(void);
int dde_pci_mmio(u64 phys, unsigned long size, int *bar, u32 *off);
int dde_pci_port(unsigned long port, int size, int *bar, u32 *off);

/* io.c */
void dde_io_init(void);

/* netdev.c, napi.c */
void dde_net_init(void);
int dde_netdev_open(void);
int dde_netdev_close(void);
int dde_netdev_xmit(const void *frame, int len, bool more);
struct net_device *dde_net_device(void);
void *dde_net_priv(unsigned long *size); /* the host's device's private area and its size */
bool dde_napi_run(void);
void dde_napi_forget(struct napi_struct *n);
void dde_net_deliver(struct sk_buff *skb);
void dde_net_stats(struct dde_stats *st);
extern unsigned long dde_rx_packets, dde_napi_polls;

/* fault.c: true if this call of site must fail (what names the call,
 * caller is the return address into the code that made it). */
bool dde_fault(int site, const char *what, unsigned long caller);
/* A loop turn begins: an armed data fault may fire (dde_run). */
void dde_fault_data_turn(void);
/* While non-zero, no call counts: the runtime's own use of an API. */
extern int dde_fault_quiet;
#define DDE_QUIET(expr) ({				\
		typeof(expr) __dde_v;			\
		dde_fault_quiet++;			\
		__dde_v = (expr);			\
		dde_fault_quiet--;			\
		__dde_v;				\
	})
/* The hook at the top of an API function of site: fail as the kernel
 * would (ret) when the injector says this call fails. */
#define DDE_FAULT_POINT(site, ret) do {					\
		if (dde_fault(site, __func__, _RET_IP_))		\
			return ret;					\
	} while (0)

/* lib.c */
void dde_module_name(const char *name);

#endif
