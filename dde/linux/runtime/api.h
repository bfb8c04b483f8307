/*
 * api.h — the DDE runtime's entry points for its host (the Go package
 * grailos/dde/linux). Plain C types only: this header is included both by
 * the runtime (compiled against the kernel headers) and by cgo (compiled
 * against libc), so it must mean the same in both worlds.
 *
 * Every function here runs on the DDE thread, except dde_irq_notify,
 * which any thread may call.
 */
#ifndef DDE_API_H
#define DDE_API_H

struct dde_config {
	void *pool;                  /* DMA pool: page aligned, shared with the device */
	unsigned long pool_size;     /* bytes, a multiple of 4096 */
	unsigned long long pool_bus; /* bus address of pool[0] */
	int virtual_time;            /* delays advance the clock instead of sleeping */
	const char *module;          /* the port's module name, for __this_module */
};

struct dde_stats {
	unsigned long long now_ns;   /* the DDE clock */
	unsigned long jiffies;
	unsigned long pool_pages, pool_pages_used;
	unsigned long kmalloc_live;  /* kmalloc/kzalloc objects not freed */
	unsigned long pages_live;    /* alloc_pages, page frags, vmalloc blocks */
	unsigned long dma_coherent_live, dma_maps_live;
	unsigned long dma_refused;   /* maps of memory outside the pool */
	unsigned long irqs_handled, irqs_unhandled;
	unsigned long napi_polls, timers_run, works_run;
	unsigned long tx_packets, tx_busy, rx_packets;
	unsigned long warnings;      /* log lines at KERN_WARNING or worse */
};

int dde_init(const struct dde_config *cfg);
int dde_start(int (*init)(void));
int dde_stop(void (*exit)(void));
void dde_fini(void); /* frees the runtime's bookkeeping; dde_init again to reuse */
int dde_net_open(void);
int dde_net_close(void);
int dde_net_xmit(const void *frame, int len);
/* Receive filter: what the stack above asks for, applied through the
 * driver's ndo_set_rx_mode as `ip link set promisc/allmulticast` would. */
#define DDE_RX_PROMISC 1
#define DDE_RX_ALLMULTI 2
int dde_net_set_rx_mode(int flags);
/* The donor's ndo_start_xmit, for fault injection (NULL before probe). */
void *dde_net_xmit_fn(void);
/* n frames laid end to end in buf; stops at the first refusal (sent says
 * how many went); one settle for the batch. */
int dde_net_xmit_batch(const unsigned char *buf, const int *lens, int n, int *sent);
int dde_net_mac(unsigned char mac[6]);
/* Take the interface down and up again (ndo_stop, ndo_open), or the
 * driver off the device and on again (module exit and init: remove,
 * probe), then open it: the triggers that make a fault armed in
 * open-time or probe-time code fire (grail inject). */
int dde_net_reopen(void);
int dde_reprobe(int (*init)(void), void (*exit)(void));
void dde_irq_notify(void);
void dde_run(unsigned long long now_ns);
int dde_next_deadline(unsigned long long *ns);
void dde_get_stats(struct dde_stats *st);

/* Fault injection (fault.c): calls nth..nth+count-1 of a site, counted
 * from arming, fail; id is echoed in the report of each failed call
 * (dde_host_fault_fired). Only calls from outside the runtime count. */
#define DDE_FAULT_ALLOC 0       /* kmalloc family, vmalloc, pages, page frags, skb allocation: NULL */
#define DDE_FAULT_DMA_MAP 1     /* streaming DMA maps: DMA_MAPPING_ERROR */
#define DDE_FAULT_DMA_ALLOC 2   /* coherent DMA memory: NULL */
#define DDE_FAULT_IRQ 3         /* request_irq: -EBUSY */
#define DDE_FAULT_TIMER 4       /* mod_timer, add_timer, delayed work: the timer is lost */
#define DDE_FAULT_PCI_CONFIG 5  /* pci_read_config_*: all-ones, PCIBIOS_DEVICE_NOT_FOUND */
#define DDE_FAULT_WILD_DMA_TX 6 /* a map for the device to read gets a bus address outside the pool */
#define DDE_FAULT_WILD_DMA_RX 7 /* a map for the device to write gets a bus address outside the pool */
#define DDE_FAULT_SITES 8
int dde_fault_arm(int site, unsigned long nth, unsigned long count, const char *id);
void dde_fault_disarm(void);
/* Calls seen since arming and how many failed; returns whether still armed. */
int dde_fault_state(int site, unsigned long *calls, unsigned long *fired);

/* Data faults (fault.c): at the nth turn of the loop (dde_run) from
 * arming, one word of a structure of the driver changes: in the host's
 * net_device or its private area (netdev_priv), or, with via >= 0, in
 * the allocation a pointer at offset via of that structure points to.
 * The width-byte word at off (aligned) becomes old ^ val, val, or
 * old + val. Arming checks everything and firing again (the structure
 * may have moved meanwhile: then the fault is dropped, logged):
 *   -ENODEV  no registered interface, or no private area;
 *   -EMSGSIZE the structure is not size bytes (another binary?);
 *   -ERANGE  via or off outside the structure, or not aligned;
 *   -EFAULT  the pointer at via does not point into a live allocation
 *            of at least size bytes;
 *   -EILSEQ  a pointer fault's word holds no pointer (not NULL, not in
 *            the pool or the program's image), or check_old is set and
 *            the word is not old;
 *   -EEXIST  a data fault is already armed. */
#define DDE_DATA_NETDEV 0
#define DDE_DATA_PRIV 1
#define DDE_DATA_XOR 0
#define DDE_DATA_SET 1
#define DDE_DATA_ADD 2
struct dde_data_fault {
	int structure; /* DDE_DATA_NETDEV, DDE_DATA_PRIV */
	long via;      /* -1: the structure itself */
	unsigned long size, off;
	int width;     /* 1, 2, 4 or 8 */
	int op;        /* DDE_DATA_XOR, SET, ADD */
	int pointer;   /* the word holds a pointer */
	int check_old;
	unsigned long long val, old;
	unsigned long nth;
};
int dde_fault_data_arm(const struct dde_data_fault *f, const char *id, const char *name);

/* For the runtime's own tests: map len bytes at p for the device as the
 * DMA API does (dma_map_single), 0 and *bus set on success, or unmap. */
int dde_test_dma_map(void *p, unsigned long len, unsigned long long *bus);
void dde_test_dma_unmap(unsigned long long bus, unsigned long len);
void *dde_test_kmalloc(unsigned long len);
void dde_test_kfree(void *p);
int dde_test_warn(int x); /* WARN(x == 42) and WARN_ON_ONCE(x == 42); returns x + 1 */
unsigned int dde_test_ether_crc(const unsigned char *addr); /* ether_crc(6, addr): crc32_le, byte_rev_table */
/* skb_copy_and_csum_dev of a CHECKSUM_PARTIAL frame into out (DDE thread). */
int dde_test_csum_dev(const unsigned char *frame, int len, int start, int offset, unsigned char *out);

#endif
