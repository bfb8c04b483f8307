/*
 * fault.c — the injector's hooks in the kernel API: "fail calls N to
 * N+count-1 of X, counted from arming" (grail inject; the host arms them
 * through api.h). The API functions of each site (see api.h) ask
 * dde_fault() on entry and, when it says so, return what the kernel
 * returns when the operation fails: NULL from an allocator,
 * DMA_MAPPING_ERROR from a map, -EBUSY from request_irq, an all-ones
 * value and PCIBIOS_DEVICE_NOT_FOUND from a configuration read; a timer
 * is lost (never fires); a wild map hands the driver a bus address
 * outside the pool, for the device (and the machine's IOMMU) to meet.
 *
 * Only calls from outside the runtime count: the runtime's own uses of
 * these APIs (the skb it builds for a frame to transmit, an skb's head)
 * go through internal functions that never ask. A call that fails is
 * reported to the host before the caller sees the failure
 * (dde_host_fault_fired waits until the host has logged it), so a
 * failure the driver does not survive is still on record.
 *
 * Data faults (the second half) change one word of a structure the driver
 * keeps — its net_device, its private area, an allocation one of their
 * pointers leads to — at the start of a turn of the loop (dde_run), that
 * is between two entries into the driver, never inside one: the runtime
 * owns the only thread that runs driver code. The report goes out before
 * the word changes.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/netdevice.h>
#include "dde.h"

static const char *const names[DDE_FAULT_SITES] = {
	[DDE_FAULT_ALLOC] = "alloc",
	[DDE_FAULT_DMA_MAP] = "dma-map",
	[DDE_FAULT_DMA_ALLOC] = "dma-alloc",
	[DDE_FAULT_IRQ] = "irq",
	[DDE_FAULT_TIMER] = "timer",
	[DDE_FAULT_PCI_CONFIG] = "pci-config",
	[DDE_FAULT_WILD_DMA_TX] = "wild-dma-tx",
	[DDE_FAULT_WILD_DMA_RX] = "wild-dma-rx",
};

static struct {
	bool armed;
	unsigned long calls, first, last; /* calls since arming; fail first..last */
	unsigned long fired;
} sites[DDE_FAULT_SITES];

int dde_fault_quiet;
static char tag[64]; /* the host's name for the armed fault, echoed when it fires */

int dde_fault_arm(int site, unsigned long nth, unsigned long count, const char *id)
{
	if (site < 0 || site >= DDE_FAULT_SITES || !nth || !count)
		return -EINVAL;
	sites[site] = (typeof(sites[0])){ .armed = true, .first = nth, .last = nth + count - 1 };
	strscpy(tag, id ? id : "", sizeof(tag));
	dde_log(LOGLEVEL_NOTICE, "dde: fault armed: %s calls %lu-%lu fail", names[site], nth, nth + count - 1);
	return 0;
}

static struct {
	bool armed;
	unsigned long turns;
	struct dde_data_fault f;
	char tag[64], name[80];
} data;

void dde_fault_disarm(void)
{
	memset(sites, 0, sizeof(sites));
	memset(&data, 0, sizeof(data));
}

int dde_fault_state(int site, unsigned long *calls, unsigned long *fired)
{
	if (site < 0 || site >= DDE_FAULT_SITES)
		return -EINVAL;
	*calls = sites[site].calls;
	*fired = sites[site].fired;
	return sites[site].armed;
}

bool dde_fault(int site, const char *what, unsigned long caller)
{
	char detail[256];
	typeof(sites[0]) *s = &sites[site];

	if (likely(!s->armed) || dde_fault_quiet)
		return false;
	s->calls++;
	if (s->calls < s->first || s->calls > s->last)
		return false;
	s->fired++;
	dde_snprintf(detail, sizeof(detail), "id=%s class=api site=%s call=%lu what=%s caller=%#lx", tag, names[site],
		     s->calls, what, caller);
	dde_log(LOGLEVEL_NOTICE, "dde: fault fired: %s", detail);
	dde_log_flush();
	dde_host_fault_fired(detail);
	if (s->calls == s->last)
		s->armed = false;
	return true;
}

/* Data faults. */

extern char __executable_start[], _end[];

/* a_pointer: NULL, or an address in the pool, the program's image (text,
 * data, bss: ops tables, the runtime's globals) or the runtime's own heap
 * (dde_host_alloc: the pci_dev, the bus; e1000_adapter.pdev points there). */
static bool a_pointer(u64 v)
{
	return !v || dde_in_pool((void *)v, 1) || (v >= (u64)__executable_start && v < (u64)_end) ||
	       dde_host_heap((void *)v);
}

static u64 read_word(const void *p, int width)
{
	switch (width) {
	case 1:
		return *(const u8 *)p;
	case 2:
		return *(const u16 *)p;
	case 4:
		return *(const u32 *)p;
	}
	return *(const u64 *)p;
}

static void write_word(void *p, int width, u64 v)
{
	switch (width) {
	case 1:
		*(u8 *)p = v;
		break;
	case 2:
		*(u16 *)p = v;
		break;
	case 4:
		*(u32 *)p = v;
		break;
	default:
		*(u64 *)p = v;
	}
}

/* locate finds the word of f (api.h has the checks) and its value. */
static int locate(const struct dde_data_fault *f, u8 **word, u64 *old)
{
	struct net_device *dev = dde_net_device();
	unsigned long size = sizeof(struct net_device);
	u8 *base = (u8 *)dev;

	if (!dev)
		return -ENODEV;
	if (f->structure == DDE_DATA_PRIV && !(base = dde_net_priv(&size)))
		return -ENODEV;
	if (f->via >= 0) {
		if (f->via % 8 || f->via + 8 > size)
			return -ERANGE;
		base = *(u8 **)(base + f->via);
		if (!dde_mem_live(base, f->size))
			return -EFAULT;
		size = f->size;
	} else if (f->size != size) {
		return -EMSGSIZE;
	}
	if (f->off % f->width || f->off + f->width > size)
		return -ERANGE;
	*word = base + f->off;
	*old = read_word(*word, f->width);
	if ((f->pointer && !a_pointer(*old)) || (f->check_old && *old != f->old))
		return -EILSEQ;
	return 0;
}

int dde_fault_data_arm(const struct dde_data_fault *f, const char *id, const char *name)
{
	u8 *word;
	u64 old;
	int err;

	if (f->structure < DDE_DATA_NETDEV || f->structure > DDE_DATA_PRIV || f->op < DDE_DATA_XOR ||
	    f->op > DDE_DATA_ADD || !f->nth || (f->width != 1 && f->width != 2 && f->width != 4 && f->width != 8) ||
	    (f->pointer && f->width != 8))
		return -EINVAL;
	if (data.armed)
		return -EEXIST;
	err = locate(f, &word, &old);
	if (err)
		return err;
	data.f = *f;
	data.turns = 0;
	strscpy(data.tag, id ? id : "", sizeof(data.tag));
	strscpy(data.name, name ? name : "", sizeof(data.name));
	data.armed = true;
	dde_log(LOGLEVEL_NOTICE, "dde: fault armed: data %s at loop turn %lu", data.tag, f->nth);
	return 0;
}

void dde_fault_data_turn(void)
{
	static const char *const ops[] = { "xor", "set", "add" };
	const struct dde_data_fault *f = &data.f;
	char detail[256], where[32];
	u64 old, new, mask = f->width == 8 ? ~0ULL : (1ULL << (8 * f->width)) - 1;
	u8 *word;
	int err;

	if (likely(!data.armed) || ++data.turns < f->nth)
		return;
	data.armed = false;
	err = locate(f, &word, &old);
	if (err) {
		dde_log(LOGLEVEL_ERR, "dde: data fault %s dropped at loop turn %lu: its structure changed (%d)", data.tag,
			data.turns, err);
		return;
	}
	switch (f->op) {
	case DDE_DATA_XOR:
		new = old ^ f->val;
		break;
	case DDE_DATA_ADD:
		new = old + f->val;
		break;
	default:
		new = f->val;
	}
	new &= mask;
	if (f->via >= 0)
		dde_snprintf(where, sizeof(where), "%s->%#lx", f->structure == DDE_DATA_PRIV ? "priv" : "netdev", f->via);
	else
		strscpy(where, f->structure == DDE_DATA_PRIV ? "priv" : "netdev", sizeof(where));
	dde_snprintf(detail, sizeof(detail),
		     "id=%s class=data site=%s struct=%s off=%#lx width=%d %s=%#llx old=%#llx new=%#llx%s%s", data.tag,
		     f->pointer ? "pointer" : "field", where, f->off, f->width, ops[f->op], f->val, old, new,
		     data.name[0] ? " field=" : "", data.name);
	dde_log(LOGLEVEL_NOTICE, "dde: fault fired: %s", detail);
	dde_log_flush();
	dde_host_fault_fired(detail);
	write_word(word, f->width, new);
}
