/*
 * napi.c — NAPI as a cooperative task: __napi_schedule puts the context
 * on the poll list, and dde_napi_run (from the loop, in softirq context)
 * polls each scheduled context with its weight, as net_rx_action does; a
 * poll that used its whole budget stays scheduled for the next pass.
 * The state bits follow the kernel's protocol (SCHED, MISSED, DISABLE,
 * NPSVC), so drivers see the transitions they expect. GRO is a pass
 * through: every skb goes up at once.
 */
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/skbuff.h>
#include "dde.h"

#ifndef GRO_MAX_HEAD
#define GRO_MAX_HEAD (MAX_HEADER + 128) /* as net/core/gro.c */
#endif

static LIST_HEAD(poll_list);
unsigned long dde_napi_polls;

void netif_napi_add_weight(struct net_device *dev, struct napi_struct *napi,
			   int (*poll)(struct napi_struct *, int), int weight)
{
	if (test_and_set_bit(NAPI_STATE_LISTED, &napi->state))
		return;
	INIT_LIST_HEAD(&napi->poll_list);
	INIT_LIST_HEAD(&napi->rx_list);
	napi->rx_count = 0;
	napi->gro_bitmask = 0;
	napi->skb = NULL;
	napi->poll = poll;
	napi->weight = weight;
	napi->dev = dev;
	list_add_tail(&napi->dev_list, &dev->napi_list);
	set_bit(NAPI_STATE_SCHED, &napi->state);  /* disabled until napi_enable */
	set_bit(NAPI_STATE_NPSVC, &napi->state);
}

void __netif_napi_del(struct napi_struct *napi)
{
	if (!test_and_clear_bit(NAPI_STATE_LISTED, &napi->state))
		return;
	if (!list_empty(&napi->poll_list))
		list_del_init(&napi->poll_list);
	list_del_init(&napi->dev_list);
	if (napi->skb) {
		kfree_skb(napi->skb);
		napi->skb = NULL;
	}
}

void napi_enable(struct napi_struct *n)
{
	clear_bit(NAPI_STATE_SCHED, &n->state);
	clear_bit(NAPI_STATE_NPSVC, &n->state);
}

void napi_disable(struct napi_struct *n)
{
	set_bit(NAPI_STATE_DISABLE, &n->state);
	/* Nothing polls concurrently: a scheduled context is only on our
	 * list, so taking it off makes SCHED ours, as the kernel's loop does
	 * by waiting. */
	if (!list_empty(&n->poll_list))
		list_del_init(&n->poll_list);
	set_bit(NAPI_STATE_SCHED, &n->state);
	set_bit(NAPI_STATE_NPSVC, &n->state);
	clear_bit(NAPI_STATE_PREFER_BUSY_POLL, &n->state);
	clear_bit(NAPI_STATE_MISSED, &n->state);
	clear_bit(NAPI_STATE_DISABLE, &n->state);
}

bool napi_schedule_prep(struct napi_struct *n)
{
	unsigned long val = READ_ONCE(n->state);

	if (val & NAPIF_STATE_DISABLE)
		return false;
	if (val & NAPIF_STATE_SCHED) {
		set_bit(NAPI_STATE_MISSED, &n->state);
		return false;
	}
	set_bit(NAPI_STATE_SCHED, &n->state);
	return true;
}

void __napi_schedule(struct napi_struct *n)
{
	if (list_empty(&n->poll_list))
		list_add_tail(&n->poll_list, &poll_list);
}

void __napi_schedule_irqoff(struct napi_struct *n)
{
	__napi_schedule(n);
}

bool napi_complete_done(struct napi_struct *n, int work_done)
{
	unsigned long val = READ_ONCE(n->state);

	if (val & (NAPIF_STATE_NPSVC | NAPIF_STATE_IN_BUSY_POLL))
		return false;
	if (!list_empty(&n->poll_list))
		list_del_init(&n->poll_list);
	clear_bit(NAPI_STATE_PREFER_BUSY_POLL, &n->state);
	if (val & NAPIF_STATE_MISSED) {
		/* an IRQ came while we polled: poll again */
		clear_bit(NAPI_STATE_MISSED, &n->state);
		__napi_schedule(n);
		return false;
	}
	clear_bit(NAPI_STATE_SCHED, &n->state);
	return true;
}

void dde_napi_forget(struct napi_struct *n)
{
	__netif_napi_del(n);
}

bool dde_napi_run(void)
{
	LIST_HEAD(batch);
	bool ran = false;

	list_splice_init(&poll_list, &batch);
	while (!list_empty(&batch)) {
		struct napi_struct *n = list_first_entry(&batch, struct napi_struct, poll_list);
		int work = 0;

		list_del_init(&n->poll_list);
		preempt_count_add(SOFTIRQ_OFFSET);
		if (test_bit(NAPI_STATE_SCHED, &n->state)) {
			work = n->poll(n, n->weight);
			dde_napi_polls++;
			ran = true;
		}
		preempt_count_sub(SOFTIRQ_OFFSET);
		if (work > n->weight)
			dde_log(LOGLEVEL_ERR, "dde: NAPI poll %ps returned %d, more than its weight %d", n->poll, work,
				n->weight);
		if (work < n->weight)
			continue; /* the driver completed, or will be scheduled again */
		if (test_bit(NAPI_STATE_DISABLE, &n->state)) {
			napi_complete(n);
			continue;
		}
		__napi_schedule(n); /* budget used up: poll again next pass */
	}
	return ran;
}

/* GRO: deliver at once. */

/* The non-GRO receive path (8139too calls it from its NAPI poll): the
 * same delivery, the frame leaves the Linux world here. */
int netif_receive_skb(struct sk_buff *skb)
{
	dde_net_deliver(skb);
	return NET_RX_SUCCESS;
}

gro_result_t napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb)
{
	dde_net_deliver(skb);
	return GRO_NORMAL;
}

struct sk_buff *napi_get_frags(struct napi_struct *napi)
{
	if (!napi->skb)
		napi->skb = napi_alloc_skb(napi, GRO_MAX_HEAD);
	return napi->skb;
}

gro_result_t napi_gro_frags(struct napi_struct *napi)
{
	struct sk_buff *skb = napi->skb;

	napi->skb = NULL;
	if (!skb)
		return GRO_CONSUMED;
	if (skb_headlen(skb) < ETH_HLEN && !__pskb_pull_tail(skb, ETH_HLEN - skb_headlen(skb))) {
		kfree_skb(skb);
		return GRO_CONSUMED;
	}
	skb->protocol = eth_type_trans(skb, napi->dev);
	dde_net_deliver(skb);
	return GRO_NORMAL;
}
