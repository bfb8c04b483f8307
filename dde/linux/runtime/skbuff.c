/*
 * skbuff.c — socket buffers. Heads come from kmalloc or from page frags
 * (build_skb), both in the pool, so a driver can map any skb for DMA.
 * The layout is the kernel's (offsets for tail/end on 64-bit, the shared
 * info after the end), so the headers' inline helpers work unchanged.
 *
 * Not implemented, and stopping the server if met: cloned heads other
 * than our own (nothing here clones) and frag_list chains.
 */
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/ptp_classify.h>
#include <net/checksum.h>
#include "dde.h"

static void no_frag_list(const struct sk_buff *skb, const char *what)
{
	if (skb_has_frag_list(skb))
		dde_panic("dde: %s: skbs with a frag_list are not supported", what);
}

/* build_around lays an skb over a head of size bytes (shared info
 * included, at its end); frag marks a page-frag head. */
static void build_around(struct sk_buff *skb, u8 *data, unsigned int size, bool frag)
{
	struct skb_shared_info *shinfo;

	size -= SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	skb->truesize = SKB_TRUESIZE(size);
	refcount_set(&skb->users, 1);
	skb->head = data;
	skb->data = data;
	skb_reset_tail_pointer(skb);
	skb_set_end_offset(skb, size);
	skb->mac_header = (typeof(skb->mac_header))~0U;
	skb->transport_header = (typeof(skb->transport_header))~0U;
	skb->head_frag = frag;
	shinfo = skb_shinfo(skb);
	memset(shinfo, 0, offsetof(struct skb_shared_info, dataref));
	atomic_set(&shinfo->dataref, 1);
}

/* new_skb is __alloc_skb without the fault point: its kmallocs are the
 * skb's, not the caller's, so they never count (DDE_QUIET). */
static struct sk_buff *new_skb(unsigned int size, gfp_t gfp)
{
	struct sk_buff *skb = DDE_QUIET(kmalloc(sizeof(*skb), gfp));
	u8 *data;

	if (!skb)
		return NULL;
	size = SKB_DATA_ALIGN(size) + SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	data = DDE_QUIET(kmalloc(size, gfp));
	if (!data) {
		kfree(skb);
		return NULL;
	}
	memset(skb, 0, offsetof(struct sk_buff, tail));
	build_around(skb, data, ksize(data), false);
	return skb;
}

struct sk_buff *__alloc_skb(unsigned int size, gfp_t gfp, int flags, int node)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return new_skb(size, gfp);
}

struct sk_buff *__netdev_alloc_skb(struct net_device *dev, unsigned int len, gfp_t gfp)
{
	struct sk_buff *skb;

	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	skb = new_skb(len + NET_SKB_PAD, gfp);
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_SKB_PAD);
	skb->dev = dev;
	return skb;
}

struct sk_buff *__napi_alloc_skb(struct napi_struct *napi, unsigned int len, gfp_t gfp)
{
	struct sk_buff *skb;

	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	skb = new_skb(len + NET_SKB_PAD + NET_IP_ALIGN, gfp);
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
	skb->dev = napi->dev;
	return skb;
}

static struct sk_buff *build(void *data, unsigned int frag_size)
{
	struct sk_buff *skb = DDE_QUIET(kzalloc(sizeof(*skb), GFP_ATOMIC));

	if (!skb)
		return NULL;
	build_around(skb, data, frag_size ? frag_size : ksize(data), frag_size != 0);
	return skb;
}

struct sk_buff *build_skb(void *data, unsigned int frag_size)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return build(data, frag_size);
}

struct sk_buff *napi_build_skb(void *data, unsigned int frag_size)
{
	DDE_FAULT_POINT(DDE_FAULT_ALLOC, NULL);
	return build(data, frag_size);
}

/* Freeing. */

static void free_head(struct sk_buff *skb)
{
	if (skb->head_frag)
		page_frag_free(skb->head);
	else
		kfree(skb->head);
}

static void release_data(struct sk_buff *skb)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	int i;

	if (skb->cloned && atomic_sub_return(skb->nohdr ? (1 << SKB_DATAREF_SHIFT) + 1 : 1, &shinfo->dataref))
		return;
	for (i = 0; i < shinfo->nr_frags; i++)
		put_page(skb_frag_page(&shinfo->frags[i]));
	no_frag_list(skb, "free");
	free_head(skb);
}

static void free_skb(struct sk_buff *skb)
{
	if (!refcount_dec_and_test(&skb->users))
		return;
	if (skb->destructor)
		skb->destructor(skb);
	if (skb->head)
		release_data(skb);
	kfree(skb);
}

void kfree_skb_reason(struct sk_buff *skb, enum skb_drop_reason reason)
{
	if (skb)
		free_skb(skb);
}

void consume_skb(struct sk_buff *skb)
{
	if (skb)
		free_skb(skb);
}

void napi_consume_skb(struct sk_buff *skb, int budget)
{
	if (skb)
		free_skb(skb);
}

void __dev_kfree_skb_any(struct sk_buff *skb, enum skb_free_reason reason)
{
	if (skb)
		free_skb(skb);
}

/* Data. */

void *skb_put(struct sk_buff *skb, unsigned int len)
{
	void *tmp = skb_tail_pointer(skb);

	if (skb_is_nonlinear(skb))
		dde_panic("dde: skb_put on a nonlinear skb");
	skb->tail += len;
	skb->len += len;
	if (skb->tail > skb->end)
		dde_panic("dde: skb_put over the end: len %u put %u tail %u end %u", skb->len, len,
			  (unsigned int)skb->tail, (unsigned int)skb->end);
	return tmp;
}

void *skb_push(struct sk_buff *skb, unsigned int len)
{
	skb->data -= len;
	skb->len += len;
	if (skb->data < skb->head)
		dde_panic("dde: skb_push under the head by %ld", (long)(skb->head - skb->data));
	return skb->data;
}

void *skb_pull(struct sk_buff *skb, unsigned int len)
{
	return skb_pull_inline(skb, len);
}

void skb_trim(struct sk_buff *skb, unsigned int len)
{
	if (skb->len > len)
		__skb_trim(skb, len);
}

int ___pskb_trim(struct sk_buff *skb, unsigned int len)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	unsigned int offset = skb_headlen(skb);
	int i, n = shinfo->nr_frags;

	if (skb_cloned(skb))
		dde_panic("dde: ___pskb_trim of a cloned skb");
	no_frag_list(skb, "___pskb_trim");
	for (i = 0; i < n && offset < len; i++) {
		unsigned int end = offset + skb_frag_size(&shinfo->frags[i]);

		if (end > len)
			skb_frag_size_set(&shinfo->frags[i], len - offset);
		offset = end;
	}
	shinfo->nr_frags = i; /* frags wholly beyond len go */
	for (; i < n; i++)
		put_page(skb_frag_page(&shinfo->frags[i]));
	if (len > skb_headlen(skb)) {
		skb->data_len -= skb->len - len;
		skb->len = len;
	} else {
		skb->len = len;
		skb->data_len = 0;
		skb_set_tail_pointer(skb, len);
	}
	return 0;
}

int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, int len)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	int start = skb_headlen(skb), i, copy;
	u8 *d = to;

	if (offset < 0 || len < 0 || offset > (int)skb->len - len)
		return -EFAULT;
	no_frag_list(skb, "skb_copy_bits");
	copy = start - offset;
	if (copy > 0) {
		copy = min(copy, len);
		memcpy(d, skb->data + offset, copy);
		len -= copy;
		offset += copy;
		d += copy;
	}
	for (i = 0; i < shinfo->nr_frags && len > 0; i++) {
		skb_frag_t *f = &shinfo->frags[i];
		int end = start + skb_frag_size(f);

		copy = end - offset;
		if (copy > 0) {
			copy = min(copy, len);
			memcpy(d, skb_frag_address(f) + offset - start, copy);
			len -= copy;
			offset += copy;
			d += copy;
		}
		start = end;
	}
	return len ? -EFAULT : 0;
}

/* skb_copy_and_csum_dev copies the whole frame to a device buffer,
 * filling in the checksum the stack left to the device (CHECKSUM_PARTIAL:
 * the one's-complement sum from csum_start to the end, folded, stored at
 * csum_start + csum_offset). Drivers of devices without checksum offload
 * (8139too) advertise NETIF_F_HW_CSUM and finish it in software here. */
void skb_copy_and_csum_dev(const struct sk_buff *skb, u8 *to)
{
	long start;
	u64 sum = 0;
	long i;

	if (skb_copy_bits(skb, 0, to, skb->len))
		dde_panic("dde: skb_copy_and_csum_dev: skb %p of %u bytes does not add up", skb, skb->len);
	if (skb->ip_summed != CHECKSUM_PARTIAL)
		return;
	start = skb_checksum_start_offset(skb);
	if (start < 0 || start > skb_headlen(skb) || start + skb->csum_offset + 2 > skb->len)
		dde_panic("dde: skb_copy_and_csum_dev: checksum start %ld offset %u outside the %u-byte frame", start,
			  skb->csum_offset, skb->len);
	/* 16-bit words as they lie in memory; an odd last byte is the low
	 * half of a word (little-endian), as csum_partial adds it. */
	for (i = start; i + 1 < skb->len; i += 2)
		sum += (u32)to[i] | (u32)to[i + 1] << 8;
	if (i < skb->len)
		sum += to[i];
	while (sum >> 32)
		sum = (sum & 0xffffffff) + (sum >> 32);
	*(__sum16 *)(to + start + skb->csum_offset) = csum_fold((__force __wsum)(u32)sum);
}

/* For the runtime's own tests: skb_copy_and_csum_dev of a linear frame
 * of len bytes whose checksum the stack left to the device (start and
 * offset from the frame's first byte). */
int dde_test_csum_dev(const unsigned char *frame, int len, int start, int offset, unsigned char *out)
{
	struct sk_buff *skb = __alloc_skb(len, GFP_KERNEL, 0, NUMA_NO_NODE);

	if (!skb)
		return -ENOMEM;
	skb_put_data(skb, frame, len);
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_headroom(skb) + start;
	skb->csum_offset = offset;
	skb_copy_and_csum_dev(skb, out);
	kfree_skb(skb);
	return 0;
}

void skb_headers_offset_update(struct sk_buff *skb, int off)
{
	if (skb_mac_header_was_set(skb))
		skb->mac_header += off;
	skb->network_header += off;
	if (skb_transport_header_was_set(skb))
		skb->transport_header += off;
	skb->inner_transport_header += off;
	skb->inner_network_header += off;
	skb->inner_mac_header += off;
}

/* pskb_expand_head gives the skb a new, larger head with nhead bytes more
 * headroom and ntail more tailroom; frags move along. */
int pskb_expand_head(struct sk_buff *skb, int nhead, int ntail, gfp_t gfp)
{
	unsigned int osize = skb_end_offset(skb), size = SKB_DATA_ALIGN(osize + nhead + ntail);
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	long off;
	u8 *data;

	if (nhead < 0 || skb_shared(skb) || skb_cloned(skb))
		dde_panic("dde: pskb_expand_head of a shared or cloned skb");
	data = kmalloc(size + SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), gfp);
	if (!data)
		return -ENOMEM;
	size = ksize(data) - SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	memcpy(data + nhead, skb->head, skb_tail_pointer(skb) - skb->head);
	memcpy(data + size, shinfo, offsetof(struct skb_shared_info, frags[shinfo->nr_frags]));
	free_head(skb); /* the frags' page references moved with the shared info */
	off = (data + nhead) - skb->head;
	skb->head = data;
	skb->head_frag = 0;
	skb->data += off;
	skb_set_end_offset(skb, size);
	skb->tail += nhead;
	skb_headers_offset_update(skb, nhead);
	skb->cloned = 0;
	skb->hdr_len = 0;
	skb->nohdr = 0;
	atomic_set(&skb_shinfo(skb)->dataref, 1);
	return 0;
}

/* __pskb_pull_tail moves delta bytes from the frags into the head. */
void *__pskb_pull_tail(struct sk_buff *skb, int delta)
{
	struct skb_shared_info *shinfo;
	int eat = (skb->tail + delta) - skb->end, i, k = 0;

	if (eat > 0 || skb_cloned(skb)) {
		if (pskb_expand_head(skb, 0, eat > 0 ? eat + 128 : 0, GFP_ATOMIC))
			return NULL;
	}
	if (skb_copy_bits(skb, skb_headlen(skb), skb_tail_pointer(skb), delta))
		dde_panic("dde: __pskb_pull_tail: %d bytes not in the skb", delta);
	shinfo = skb_shinfo(skb);
	eat = delta;
	for (i = 0; i < shinfo->nr_frags; i++) {
		skb_frag_t *f = &shinfo->frags[i];
		int size = skb_frag_size(f);

		if (size <= eat) {
			put_page(skb_frag_page(f));
			eat -= size;
			continue;
		}
		shinfo->frags[k] = *f;
		if (eat) {
			skb_frag_off_add(&shinfo->frags[k], eat);
			skb_frag_size_sub(&shinfo->frags[k], eat);
			eat = 0;
		}
		k++;
	}
	shinfo->nr_frags = k;
	skb->tail += delta;
	skb->data_len -= delta;
	return skb_tail_pointer(skb);
}

int __skb_pad(struct sk_buff *skb, int pad, bool free_on_error)
{
	int err, ntail;

	if (!skb_cloned(skb) && skb_tailroom(skb) >= pad) {
		memset(skb->data + skb->len, 0, pad);
		return 0;
	}
	ntail = skb->data_len + pad - (skb->end - skb->tail);
	err = 0;
	if (ntail > 0 || skb_cloned(skb))
		err = pskb_expand_head(skb, 0, max(ntail, 0), GFP_ATOMIC);
	if (!err && skb_is_nonlinear(skb) && !__pskb_pull_tail(skb, skb->data_len))
		err = -ENOMEM;
	if (err) {
		if (free_on_error)
			kfree_skb(skb);
		return err;
	}
	memset(skb->data + skb->len, 0, pad);
	return 0;
}

/* Timestamps: no PHY or software timestamping here. */
void skb_clone_tx_timestamp(struct sk_buff *skb)
{
}

void skb_tstamp_tx(struct sk_buff *orig_skb, struct skb_shared_hwtstamps *hwtstamps)
{
}
