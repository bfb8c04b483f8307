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
 */
#include <linux/kernel.h>
#include <linux/string.h>
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

void dde_fault_disarm(void)
{
	memset(sites, 0, sizeof(sites));
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
