/*
 * netdev.c — the part of the network core a NIC driver meets: net_device
 * allocation with the kernel's layout (netdev_priv works), registration,
 * carrier and queue state, byte queue limits, Ethernet helpers, and the
 * two directions to the host: dde_net_xmit hands a frame to
 * ndo_start_xmit the way the qdisc layer does, dde_net_deliver hands a
 * received skb up as one whole frame.
 *
 * One registered net_device at a time is the host's; carrier changes and
 * "queue may run again" of that device are reported to the host.
 *
 * The transmit watchdog is Linux's dev_watchdog (net/sched/sch_generic.c):
 * while the device is up with its carrier on, a timer every
 * watchdog_timeo looks for a transmit queue stopped since longer than
 * that after its last transmit (trans_start), and calls the driver's
 * ndo_tx_timeout, which resets the device (e1000: reset_task). The host
 * hears of it (dde_host_tx_timeout) before the driver does.
 */
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/ethtool.h>
#include <linux/dynamic_queue_limits.h>
#include <linux/slab.h>
#include <linux/if_arp.h>
#include <linux/net_tstamp.h>
#include <net/pkt_sched.h>
#include "dde.h"

static struct net_device *host_dev;
static struct net_device *priv_dev; /* the last device allocated, and its private area's size */
static unsigned long priv_size;
static int host_carrier = -1; /* carrier state the host was told last; -1: nothing yet */
static int ifindex;
static unsigned long tx_packets, tx_busy;
unsigned long dde_rx_packets;

static void dev_watchdog(struct timer_list *t);

void dde_net_init(void)
{
	host_dev = priv_dev = NULL;
	priv_size = 0;
	host_carrier = -1;
	ifindex = 1; /* lo would be 1 */
	tx_packets = tx_busy = dde_rx_packets = 0;
}

struct net_device *dde_net_device(void)
{
	return host_dev;
}

void *dde_net_priv(unsigned long *size)
{
	if (!host_dev || host_dev != priv_dev || !priv_size)
		return NULL;
	*size = priv_size;
	return netdev_priv(host_dev);
}

void dde_net_stats(struct dde_stats *st)
{
	st->tx_packets = tx_packets;
	st->tx_busy = tx_busy;
	st->rx_packets = dde_rx_packets;
}

/* Byte queue limits. The kernel's dql tunes the limit to the completion
 * rate; here the rule is simpler — the limit grows by what completed
 * whenever the queue ran empty — which keeps the contract that matters:
 * after a completion that empties the queue, dql_avail is >= 0 and the
 * queue is woken. */

void dql_reset(struct dql *dql)
{
	dql->limit = dql->min_limit;
	dql->num_queued = 0;
	dql->num_completed = 0;
	dql->last_obj_cnt = 0;
	dql->prev_num_queued = 0;
	dql->prev_last_obj_cnt = 0;
	dql->prev_ovlimit = 0;
	dql->lowest_slack = UINT_MAX;
	dql->slack_start_time = jiffies;
	dql->adj_limit = dql->limit;
}

void dql_init(struct dql *dql, unsigned int hold_time)
{
	dql->max_limit = DQL_MAX_LIMIT;
	dql->min_limit = 0;
	dql->slack_hold_time = hold_time;
	dql_reset(dql);
}

void dql_completed(struct dql *dql, unsigned int count)
{
	unsigned int queued = READ_ONCE(dql->num_queued), completed = dql->num_completed + count;

	if (count > queued - dql->num_completed)
		dde_panic("dde: dql_completed(%u) with only %u in flight", count, queued - dql->num_completed);
	if (completed == queued && dql->limit < dql->max_limit)
		dql->limit = min(dql->max_limit, dql->limit + count);
	dql->num_completed = completed;
	dql->prev_num_queued = queued;
	WRITE_ONCE(dql->adj_limit, dql->limit + completed);
}

/* Devices. */

static void ether_setup_dev(struct net_device *dev)
{
	dev->type = ARPHRD_ETHER;
	dev->hard_header_len = ETH_HLEN;
	dev->min_header_len = ETH_HLEN;
	dev->mtu = ETH_DATA_LEN;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_DATA_LEN;
	dev->addr_len = ETH_ALEN;
	dev->tx_queue_len = DEFAULT_TX_QUEUE_LEN;
	dev->flags = IFF_BROADCAST | IFF_MULTICAST;
	dev->priv_flags |= IFF_TX_SKB_SHARING;
	eth_broadcast_addr(dev->broadcast);
}

struct net_device *alloc_etherdev_mqs(int sizeof_priv, unsigned int txqs, unsigned int rxqs)
{
	size_t size = ALIGN(sizeof(struct net_device), NETDEV_ALIGN) + sizeof_priv + NETDEV_ALIGN - 1;
	struct net_device *dev;
	unsigned int i;
	void *p;

	if (!txqs || !rxqs)
		return NULL;
	p = kzalloc(size, GFP_KERNEL);
	if (!p)
		return NULL;
	dev = PTR_ALIGN(p, NETDEV_ALIGN);
	dev->padded = (char *)dev - (char *)p;
	dev->dev_addr = kzalloc(MAX_ADDR_LEN, GFP_KERNEL);
	dev->_tx = kcalloc(txqs, sizeof(struct netdev_queue), GFP_KERNEL);
	dev->pcpu_refcnt = (int __percpu *)kzalloc(sizeof(int), GFP_KERNEL); /* %gs-relative, GS base 0 */
	if (!dev->dev_addr || !dev->_tx || !dev->pcpu_refcnt) {
		free_netdev(dev);
		return NULL;
	}
	strscpy(dev->name, "eth%d", sizeof(dev->name));
	dev->num_tx_queues = dev->real_num_tx_queues = txqs;
	dev->num_rx_queues = dev->real_num_rx_queues = rxqs;
	for (i = 0; i < txqs; i++) {
		struct netdev_queue *q = &dev->_tx[i];

		q->dev = dev;
		spin_lock_init(&q->_xmit_lock);
		q->xmit_lock_owner = -1;
		dql_init(&q->dql, HZ);
	}
	INIT_LIST_HEAD(&dev->napi_list);
	/* the address lists drivers walk in ndo_set_rx_mode, and the other
	 * lists of the core, empty */
	INIT_LIST_HEAD(&dev->uc.list);
	INIT_LIST_HEAD(&dev->mc.list);
	INIT_LIST_HEAD(&dev->dev_addrs.list);
	INIT_LIST_HEAD(&dev->unreg_list);
	INIT_LIST_HEAD(&dev->close_list);
	INIT_LIST_HEAD(&dev->link_watch_list);
	INIT_LIST_HEAD(&dev->adj_list.upper);
	INIT_LIST_HEAD(&dev->adj_list.lower);
	INIT_LIST_HEAD(&dev->ptype_all);
	INIT_LIST_HEAD(&dev->ptype_specific);
	dev->gso_max_size = GSO_LEGACY_MAX_SIZE;
	dev->gso_max_segs = GSO_MAX_SEGS;
	dev->gro_max_size = GRO_LEGACY_MAX_SIZE;
	dev->reg_state = NETREG_UNINITIALIZED;
	ether_setup_dev(dev);
	priv_dev = dev;
	priv_size = sizeof_priv;
	return dev;
}

void free_netdev(struct net_device *dev)
{
	struct napi_struct *n, *tmp;

	if (!dev)
		return;
	if (dev == host_dev)
		dde_panic("dde: free_netdev of %s while registered", dev->name);
	list_for_each_entry_safe(n, tmp, &dev->napi_list, dev_list)
		__netif_napi_del(n);
	kfree(dev->dev_addr);
	kfree(dev->_tx);
	kfree((void __force *)dev->pcpu_refcnt);
	if (dev == priv_dev)
		priv_dev = NULL;
	kfree((char *)dev - dev->padded);
}

int register_netdev(struct net_device *dev)
{
	int err;

	if (host_dev) {
		dde_log(LOGLEVEL_ERR, "dde: register_netdev(%s): one interface per server", dev->name);
		return -EEXIST;
	}
	if (strchr(dev->name, '%')) {
		char fmt[IFNAMSIZ];

		strscpy(fmt, dev->name, sizeof(fmt));
		dde_snprintf(dev->name, sizeof(dev->name), fmt, 0);
	}
	if (dev->netdev_ops && dev->netdev_ops->ndo_init) {
		err = dev->netdev_ops->ndo_init(dev);
		if (err)
			return err;
	}
	dev->ifindex = ++ifindex;
	dev->hw_features |= NETIF_F_SOFT_FEATURES;
	dev->features |= NETIF_F_SOFT_FEATURES;
	dev->wanted_features = dev->features & dev->hw_features;
	set_bit(__LINK_STATE_PRESENT, &dev->state);
	timer_setup(&dev->watchdog_timer, dev_watchdog, 0); /* dev_init_scheduler */
	dev->reg_state = NETREG_REGISTERED;
	host_dev = dev;
	host_carrier = -1;
	return 0;
}

void unregister_netdev(struct net_device *dev)
{
	if (dev != host_dev)
		dde_panic("dde: unregister_netdev of %s, which is not registered", dev->name);
	if (dev->flags & IFF_UP)
		dde_netdev_close();
	timer_delete(&dev->watchdog_timer);
	if (dev->netdev_ops && dev->netdev_ops->ndo_uninit)
		dev->netdev_ops->ndo_uninit(dev);
	clear_bit(__LINK_STATE_PRESENT, &dev->state);
	dev->reg_state = NETREG_UNREGISTERED;
	host_dev = NULL;
}

void dev_addr_mod(struct net_device *dev, unsigned int offset, const void *addr, size_t len)
{
	memcpy((u8 *)dev->dev_addr + offset, addr, len);
}

/* Carrier and queues. */

/* The host hears of every carrier change, and of the state at open: a
 * net_device starts with its carrier on (no __LINK_STATE_NOCARRIER), and
 * a driver that never turns it off first (8139too: mii_check_media only
 * calls netif_carrier_on, which changes nothing then) would otherwise
 * leave the host believing the link is down. */
static void tell_carrier(struct net_device *dev)
{
	int up = netif_carrier_ok(dev);

	if (dev == host_dev && up != host_carrier) {
		host_carrier = up;
		dde_host_carrier(up);
	}
}

/* The transmit watchdog, as net/sched/sch_generic.c of the donor's
 * kernel (6.1) has it. */

static void dev_watchdog(struct timer_list *t)
{
	struct net_device *dev = from_timer(dev, t, watchdog_timer);
	unsigned long oldest_start = jiffies, trans_start, expires;
	unsigned int i, j, timedout_ms = 0;

	/* Not re-armed while the device is absent, down or without carrier:
	 * carrier on (or the next open) arms it again. */
	if (!netif_device_present(dev) || !netif_running(dev) || !netif_carrier_ok(dev))
		return;
	for (i = 0; i < dev->num_tx_queues; i++) {
		struct netdev_queue *txq = netdev_get_tx_queue(dev, i);

		if (!netif_xmit_stopped(txq))
			continue;
		trans_start = READ_ONCE(txq->trans_start);
		if (time_after(jiffies, trans_start + dev->watchdog_timeo)) {
			timedout_ms = jiffies_to_msecs(jiffies - trans_start);
			atomic_long_inc(&txq->trans_timeout);
			break;
		}
		if (time_after(oldest_start, trans_start))
			oldest_start = trans_start;
	}
	if (unlikely(timedout_ms)) {
		netdev_crit(dev, "NETDEV WATCHDOG: CPU: %d: transmit queue %u timed out %u ms\n",
			    raw_smp_processor_id(), i, timedout_ms);
		if (dev == host_dev)
			dde_host_tx_timeout(i);
		for (j = 0; j < dev->num_tx_queues; j++) /* netif_freeze_queues */
			set_bit(__QUEUE_STATE_FROZEN, &netdev_get_tx_queue(dev, j)->state);
		dev->netdev_ops->ndo_tx_timeout(dev, i);
		for (j = 0; j < dev->num_tx_queues; j++) { /* netif_unfreeze_queues */
			struct netdev_queue *q = netdev_get_tx_queue(dev, j);

			clear_bit(__QUEUE_STATE_FROZEN, &q->state);
			netif_schedule_queue(q);
		}
	}
	/* Linux rounds the expiry to a whole second (round_jiffies); here
	 * it is exact. An expiry not after now waits for the next tick, as
	 * in Linux (the loop would run it again at once). */
	expires = oldest_start + dev->watchdog_timeo;
	if (!time_after(expires, jiffies))
		expires = jiffies + 1;
	DDE_QUIET(mod_timer(&dev->watchdog_timer, expires));
}

/* watchdog_up is what dev_activate does for the watchdog once the device
 * is up with its carrier on: every queue's clock starts now
 * (transition_one_qdisc), and the timer is armed watchdog_timeo ahead
 * (__netdev_watchdog_up). */
static void watchdog_up(struct net_device *dev)
{
	unsigned int i;

	if (!dev->netdev_ops || !dev->netdev_ops->ndo_tx_timeout || dev->reg_state != NETREG_REGISTERED)
		return;
	for (i = 0; i < dev->num_tx_queues; i++)
		WRITE_ONCE(netdev_get_tx_queue(dev, i)->trans_start, jiffies);
	if (dev->watchdog_timeo <= 0)
		dev->watchdog_timeo = 5 * HZ;
	DDE_QUIET(mod_timer(&dev->watchdog_timer, jiffies + dev->watchdog_timeo));
}

static void watchdog_down(struct net_device *dev)
{
	if (dev->reg_state == NETREG_REGISTERED)
		timer_delete(&dev->watchdog_timer);
}

void netif_carrier_on(struct net_device *dev)
{
	if (!test_and_clear_bit(__LINK_STATE_NOCARRIER, &dev->state))
		return;
	atomic_inc(&dev->carrier_up_count);
	tell_carrier(dev);
	if (netif_running(dev))
		watchdog_up(dev); /* Linux: linkwatch's dev_activate */
}

void netif_carrier_off(struct net_device *dev)
{
	if (test_and_set_bit(__LINK_STATE_NOCARRIER, &dev->state))
		return;
	atomic_inc(&dev->carrier_down_count);
	tell_carrier(dev);
	if (netif_running(dev))
		watchdog_down(dev); /* Linux: linkwatch's dev_deactivate */
}

void netif_schedule_queue(struct netdev_queue *txq)
{
	if (!netif_xmit_stopped(txq) && txq->dev == host_dev)
		dde_host_tx_ready();
}

void netif_tx_wake_queue(struct netdev_queue *txq)
{
	if (test_and_clear_bit(__QUEUE_STATE_DRV_XOFF, &txq->state))
		netif_schedule_queue(txq);
}

void netif_tx_stop_all_queues(struct net_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->num_tx_queues; i++)
		netif_tx_stop_queue(netdev_get_tx_queue(dev, i));
}

void netif_device_detach(struct net_device *dev)
{
	if (test_and_clear_bit(__LINK_STATE_PRESENT, &dev->state) && netif_running(dev))
		netif_tx_stop_all_queues(dev);
}

void netif_device_attach(struct net_device *dev)
{
	if (!test_and_set_bit(__LINK_STATE_PRESENT, &dev->state) && netif_running(dev))
		netif_tx_wake_all_queues(dev);
}

/* Open, close, transmit: what dev_open, dev_close and the qdisc layer
 * do around the driver's netdev_ops. */

int dde_netdev_open(void)
{
	struct net_device *dev = host_dev;
	int err;

	if (!dev)
		return -ENODEV;
	if (dev->flags & IFF_UP)
		return 0;
	if (!netif_device_present(dev))
		return -ENODEV;
	if (dev->netdev_ops->ndo_validate_addr) {
		err = dev->netdev_ops->ndo_validate_addr(dev);
		if (err)
			return err;
	}
	set_bit(__LINK_STATE_START, &dev->state);
	err = dev->netdev_ops->ndo_open ? dev->netdev_ops->ndo_open(dev) : 0;
	if (err) {
		clear_bit(__LINK_STATE_START, &dev->state);
		return err;
	}
	dev->flags |= IFF_UP;
	if (dev->netdev_ops->ndo_set_rx_mode)
		dev->netdev_ops->ndo_set_rx_mode(dev);
	tell_carrier(dev);
	if (netif_carrier_ok(dev))
		watchdog_up(dev); /* dev_activate */
	return 0;
}

int dde_netdev_close(void)
{
	struct net_device *dev = host_dev;

	if (!dev)
		return -ENODEV;
	if (!(dev->flags & IFF_UP))
		return 0;
	clear_bit(__LINK_STATE_START, &dev->state);
	watchdog_down(dev); /* dev_deactivate, before ndo_stop */
	if (dev->netdev_ops->ndo_stop)
		dev->netdev_ops->ndo_stop(dev);
	dev->flags &= ~IFF_UP;
	return 0;
}

/*
 * dde_netdev_xmit hands one frame to ndo_start_xmit. more says another
 * frame follows at once: netdev_xmit_more() is true for the driver, which
 * may then skip its doorbell (the tail register write), as under the
 * qdisc layer's bulk dequeue.
 */
int dde_netdev_xmit(const void *frame, int len, bool more)
{
	struct net_device *dev = host_dev;
	struct netdev_queue *txq;
	struct sk_buff *skb;
	netdev_tx_t rc = NETDEV_TX_BUSY;

	if (!dev || !netif_running(dev))
		return -ENETDOWN;
	if (len < ETH_HLEN || len > dev->mtu + VLAN_ETH_HLEN)
		return -EMSGSIZE;
	txq = netdev_get_tx_queue(dev, 0);
	if (netif_xmit_frozen_or_stopped(txq)) {
		tx_busy++;
		return -EBUSY;
	}
	skb = DDE_QUIET(__netdev_alloc_skb(dev, len, GFP_ATOMIC)); /* ours, not the driver's */
	if (!skb)
		return -ENOMEM;
	skb_put_data(skb, frame, len);
	skb_reset_mac_header(skb);
	skb_set_network_header(skb, ETH_HLEN);
	skb->protocol = eth_hdr(skb)->h_proto;
	skb->ip_summed = CHECKSUM_NONE;
	skb_set_queue_mapping(skb, 0);
	local_bh_disable();
	__netif_tx_lock(txq, smp_processor_id());
	if (!netif_xmit_frozen_or_stopped(txq)) {
		__this_cpu_write(softnet_data.xmit.more, more);
		rc = dev->netdev_ops->ndo_start_xmit(skb, dev);
		__this_cpu_write(softnet_data.xmit.more, 0);
		if (rc == NETDEV_TX_OK)
			txq_trans_update(txq); /* the watchdog's clock */
	}
	__netif_tx_unlock(txq);
	local_bh_enable();
	if (rc != NETDEV_TX_OK) {
		kfree_skb(skb);
		tx_busy++;
		return -EBUSY;
	}
	tx_packets++;
	return 0;
}

int dde_net_mac(unsigned char mac[6])
{
	if (!host_dev)
		return -ENODEV;
	memcpy(mac, host_dev->dev_addr, ETH_ALEN);
	return 0;
}

/* dde_net_deliver hands a received skb (data at the network header, the
 * Ethernet header behind it) to the host as one frame, with the VLAN
 * tag the NIC stripped put back, and frees it. */
void dde_net_deliver(struct sk_buff *skb)
{
	unsigned int hlen = skb_mac_header_was_set(skb) ? skb->data - skb_mac_header(skb) : 0;
	bool tag = skb_vlan_tag_present(skb);
	unsigned int total = hlen + skb->len + (tag ? VLAN_HLEN : 0);
	u8 *buf;

	dde_rx_packets++;
	if (!tag && !skb_is_nonlinear(skb)) {
		dde_host_net_receive(skb->data - hlen, total);
		consume_skb(skb);
		return;
	}
	buf = DDE_QUIET(kmalloc(total, GFP_ATOMIC));
	if (!buf || hlen < 2 * ETH_ALEN) {
		kfree(buf);
		kfree_skb(skb);
		return;
	}
	memcpy(buf, skb->data - hlen, 2 * ETH_ALEN);
	if (tag) {
		__be16 h[2] = { skb->vlan_proto, htons(skb_vlan_tag_get(skb)) };

		memcpy(buf + 2 * ETH_ALEN, h, VLAN_HLEN);
	}
	memcpy(buf + 2 * ETH_ALEN + (tag ? VLAN_HLEN : 0), skb->data - hlen + 2 * ETH_ALEN, hlen - 2 * ETH_ALEN);
	if (skb_copy_bits(skb, 0, buf + total - skb->len, skb->len) == 0)
		dde_host_net_receive(buf, total);
	kfree(buf);
	consume_skb(skb);
}

/* Ethernet. */

__be16 eth_type_trans(struct sk_buff *skb, struct net_device *dev)
{
	const struct ethhdr *eth;

	skb->dev = dev;
	skb_reset_mac_header(skb);
	eth = (const struct ethhdr *)skb->data;
	skb_pull_inline(skb, ETH_HLEN);
	if (is_multicast_ether_addr(eth->h_dest))
		skb->pkt_type = ether_addr_equal(eth->h_dest, dev->broadcast) ? PACKET_BROADCAST : PACKET_MULTICAST;
	else if (!ether_addr_equal(eth->h_dest, dev->dev_addr))
		skb->pkt_type = PACKET_OTHERHOST;
	if (eth_proto_is_802_3(eth->h_proto))
		return eth->h_proto;
	if (skb->len >= 2 && *(const u16 *)skb->data == 0xFFFF)
		return htons(ETH_P_802_3);
	return htons(ETH_P_802_2);
}

/* ndo_get_stats64 of drivers that count in net_device_stats: every
 * counter the two structures share (the same order, as the kernel relies
 * on), the rest zero. */
void netdev_stats_to_stats64(struct rtnl_link_stats64 *stats64, const struct net_device_stats *netdev_stats)
{
	size_t i, n = sizeof(*netdev_stats) / sizeof(unsigned long);
	const unsigned long *src = (const unsigned long *)netdev_stats;
	u64 *dst = (u64 *)stats64;

	BUILD_BUG_ON(n > sizeof(*stats64) / sizeof(u64));
	for (i = 0; i < n; i++)
		dst[i] = READ_ONCE(src[i]);
	memset((char *)stats64 + n * sizeof(u64), 0, sizeof(*stats64) - n * sizeof(u64));
}

int eth_validate_addr(struct net_device *dev)
{
	return is_valid_ether_addr(dev->dev_addr) ? 0 : -EADDRNOTAVAIL;
}

/* ethtool helpers drivers call from their ethtool_ops. */

int ethtool_op_get_ts_info(struct net_device *dev, struct ethtool_ts_info *info)
{
	info->so_timestamping = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
				SOF_TIMESTAMPING_SOFTWARE;
	info->phc_index = -1;
	return 0;
}

void ethtool_convert_legacy_u32_to_link_mode(unsigned long *dst, u32 legacy_u32)
{
	bitmap_zero(dst, __ETHTOOL_LINK_MODE_MASK_NBITS);
	dst[0] = legacy_u32;
}

bool ethtool_convert_link_mode_to_legacy_u32(u32 *legacy_u32, const unsigned long *src)
{
	bool ok = true;
	int i;

	*legacy_u32 = src[0];
	if (src[0] >> 32)
		ok = false;
	for (i = 1; i < BITS_TO_LONGS(__ETHTOOL_LINK_MODE_MASK_NBITS); i++)
		if (src[i])
			ok = false;
	return ok;
}
