/*
 * api.c — the host's entry points (api.h) and the cooperative loop.
 *
 * The host calls one of these at a time, on the DDE thread; each runs
 * the loop before returning, so an IRQ the device raised, the NAPI poll
 * it scheduled and timers that expired at the current time are handled
 * by the time the host sees the result. The loop is never re-entered:
 * driver code cannot call back into the host's entry points.
 */
#include <linux/kernel.h>
#include <linux/jiffies.h>
#include <linux/netdevice.h>
#include "dde.h"

static bool started, in_loop;

int dde_init(const struct dde_config *cfg)
{
	int err;

	if (in_loop)
		dde_panic("dde: dde_init inside the loop");
	dde_fault_disarm(); /* nothing armed for an earlier runtime of the process fires */
	dde_sched_init(cfg->virtual_time);
	dde_irq_reset();
	dde_io_init();
	dde_dma_init();
	dde_net_init();
	dde_napi_polls = 0;
	dde_log_warnings = 0;
	dde_module_name(cfg->module);
	started = false;
	err = dde_mem_init(cfg->pool, cfg->pool_size, cfg->pool_bus);
	if (err)
		return err;
	return dde_pci_init();
}

void dde_run(unsigned long long now_ns)
{
	int rounds;

	if (in_loop)
		dde_panic("dde: the loop was re-entered");
	in_loop = true;
	dde_clock_set(now_ns);
	dde_fault_data_turn();
	for (rounds = 0; rounds < 100000; rounds++) {
		bool progress = dde_irq_run();

		progress |= dde_napi_run();
		progress |= dde_timers_run();
		progress |= dde_work_run();
		if (!progress)
			break;
	}
	if (rounds == 100000)
		dde_log(LOGLEVEL_ERR, "dde: the loop did not settle in %d rounds (work that requeues itself?)",
			rounds);
	dde_log_flush();
	in_loop = false;
}

static void settle(void)
{
	dde_run(dde_clock_ns);
}

int dde_start(int (*init)(void))
{
	int err;

	if (started)
		return -EBUSY;
	err = init();
	settle();
	if (err)
		return err;
	started = true;
	if (!dde_pci_bound()) {
		dde_log(LOGLEVEL_ERR, "dde: no driver bound to the PCI function");
		return -ENODEV;
	}
	return dde_net_device() ? 0 : -ENODEV;
}

int dde_net_open(void)
{
	int err = dde_netdev_open();

	settle();
	return err;
}

int dde_net_set_rx_mode(int flags)
{
	struct net_device *dev = dde_net_device();

	if (!dev)
		return -ENODEV;
	dev->flags &= ~(IFF_PROMISC | IFF_ALLMULTI);
	if (flags & DDE_RX_PROMISC)
		dev->flags |= IFF_PROMISC;
	if (flags & DDE_RX_ALLMULTI)
		dev->flags |= IFF_ALLMULTI;
	if (netif_running(dev) && dev->netdev_ops->ndo_set_rx_mode)
		dev->netdev_ops->ndo_set_rx_mode(dev);
	settle();
	return 0;
}

void *dde_net_xmit_fn(void)
{
	struct net_device *dev = dde_net_device();

	if (!dev || !dev->netdev_ops || !dev->netdev_ops->ndo_start_xmit)
		return NULL;
	return (void *)dev->netdev_ops->ndo_start_xmit;
}

int dde_net_close(void)
{
	int err = dde_netdev_close();

	settle();
	return err;
}

int dde_net_xmit(const void *frame, int len)
{
	int err = dde_netdev_xmit(frame, len, false);

	settle();
	return err;
}

int dde_net_xmit_batch(const unsigned char *buf, const int *lens, int n, int *sent)
{
	int err = 0;

	*sent = 0;
	for (int i = 0; i < n; i++) {
		err = dde_netdev_xmit(buf, lens[i], i < n - 1);
		if (err)
			break;
		buf += lens[i];
		(*sent)++;
	}
	settle();
	return err;
}

int dde_net_reopen(void)
{
	int err = dde_netdev_close();

	settle();
	if (!err)
		err = dde_netdev_open();
	settle();
	return err;
}

/* dde_reprobe is rmmod and insmod without the process: the driver lets go
 * of the device (remove, unregister) and takes it again (probe), and the
 * interface is opened. The PCI function and the pool stay. */
int dde_reprobe(int (*init)(void), void (*exit)(void))
{
	int err;

	if (!started || !exit)
		return -EINVAL;
	if (dde_net_device())
		dde_netdev_close();
	settle();
	exit();
	dde_pci_unbind_all();
	settle();
	started = false;
	err = dde_start(init);
	if (err)
		return err;
	return dde_net_open();
}

int dde_stop(void (*exit)(void))
{
	if (dde_net_device())
		dde_netdev_close();
	settle();
	if (started && exit)
		exit();
	dde_pci_unbind_all();
	settle();
	started = false;
	dde_pci_fini();
	return 0;
}

void dde_fini(void)
{
	dde_mem_fini();
}

int dde_next_deadline(unsigned long long *ns)
{
	u64 t;

	if (!dde_timer_deadline(&t))
		return 0;
	*ns = t;
	return 1;
}

void dde_get_stats(struct dde_stats *st)
{
	memset(st, 0, sizeof(*st));
	dde_sched_stats(st);
	dde_mem_stats(st);
	dde_dma_stats(st);
	dde_irq_stats(st);
	dde_net_stats(st);
	st->napi_polls = dde_napi_polls;
	st->warnings = dde_log_warnings;
}
