/*
 * lib.c — small library functions the kernel defines out of line, the
 * module's identity, and the end of the line for generated stubs.
 *
 * memcpy, memset, strchr, strnlen, strncpy and the like come from the C
 * library the server links: their semantics are the same, and donor code
 * calls them with the normal ABI.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/bitops.h>
#include <linux/bitmap.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/in6.h>
#include <net/checksum.h>
#include <linux/crc32.h>
#include <linux/bitrev.h>
#include <linux/etherdevice.h>
#include "dde.h"

struct module __this_module = {
	.name = "dde",
	.state = MODULE_STATE_LIVE,
};

void dde_module_name(const char *name)
{
	strscpy(__this_module.name, name ? name : "dde", sizeof(__this_module.name));
}

/* dde_stub_missing is where every generated stub ends. */
void __noreturn dde_stub_missing(const char *symbol)
{
	dde_panic("dde: the driver called %s, which the DDE does not implement (generated stub)", symbol);
}

void fortify_panic(const char *name)
{
	dde_panic("detected buffer overflow in %s", name);
}

ssize_t strscpy(char *dest, const char *src, size_t count)
{
	size_t i;

	if (!count || count > INT_MAX)
		return -E2BIG;
	for (i = 0; i < count; i++) {
		dest[i] = src[i];
		if (!src[i])
			return i;
	}
	dest[count - 1] = 0;
	return -E2BIG;
}

unsigned long _find_next_bit(const unsigned long *addr, unsigned long nbits, unsigned long start)
{
	unsigned long i;

	for (i = start; i < nbits; i++)
		if (addr[i / BITS_PER_LONG] & (1UL << (i % BITS_PER_LONG)))
			return i;
	return nbits;
}

unsigned long _find_first_bit(const unsigned long *addr, unsigned long nbits)
{
	return _find_next_bit(addr, nbits, 0);
}

unsigned long _find_next_zero_bit(const unsigned long *addr, unsigned long nbits, unsigned long start)
{
	unsigned long i;

	for (i = start; i < nbits; i++)
		if (!(addr[i / BITS_PER_LONG] & (1UL << (i % BITS_PER_LONG))))
			return i;
	return nbits;
}

/* The IPv6 pseudo-header sum (RFC 2460 8.1): both addresses, the upper
 * layer length and the next header, added to sum in one's complement. */
__sum16 csum_ipv6_magic(const struct in6_addr *saddr, const struct in6_addr *daddr, __u32 len, __u8 proto,
			__wsum sum)
{
	u64 s = (__force u32)sum;
	int i;

	for (i = 0; i < 4; i++)
		s += (__force u32)saddr->s6_addr32[i] + (__force u32)daddr->s6_addr32[i];
	s += (__force u32)htonl(len) + (__force u32)htonl(proto);
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return csum_fold((__force __wsum)(u32)s);
}

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as lib/crc32.c's
 * crc32_le: no initial or final inversion, the caller's seed in and the
 * register out. 8139too hashes multicast addresses with it (ether_crc).
 * Bit by bit: the runtime hashes a few addresses, not data. */
u32 __pure crc32_le(u32 crc, unsigned char const *p, size_t len)
{
	int i;

	while (len--) {
		crc ^= *p++;
		for (i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (crc & 1 ? 0xEDB88320 : 0);
	}
	return crc;
}

/* bitrev8 (lib/bitrev.c): byte_rev_table[b] is b with its bits in
 * reverse order, built by the usual two-bits-at-a-time expansion. */
#define R2(n) n, n + 2 * 64, n + 1 * 64, n + 3 * 64
#define R4(n) R2(n), R2(n + 2 * 16), R2(n + 1 * 16), R2(n + 3 * 16)
#define R6(n) R4(n), R4(n + 2 * 4), R4(n + 1 * 4), R4(n + 3 * 4)
const u8 byte_rev_table[256] = { R6(0), R6(2), R6(1), R6(3) };
#undef R2
#undef R4
#undef R6

/* For the runtime's own tests: ether_crc (crc32_le through bitrev32), as
 * 8139too and many drivers hash multicast addresses. */
u32 dde_test_ether_crc(const u8 *addr)
{
	return ether_crc(ETH_ALEN, addr);
}

/* Module parameters: a server has no kernel command line, so the donor's
 * parameters keep their defaults; the ops exist for the tables. */
static int param_unsupported(const char *val, const struct kernel_param *kp)
{
	dde_log(LOGLEVEL_WARNING, "dde: module parameter %s cannot be set here", kp->name);
	return -EINVAL;
}

static int param_get_none(char *buffer, const struct kernel_param *kp)
{
	return -EINVAL;
}

const struct kernel_param_ops param_ops_int = { .set = param_unsupported, .get = param_get_none };
const struct kernel_param_ops param_ops_uint = { .set = param_unsupported, .get = param_get_none };
const struct kernel_param_ops param_ops_bool = { .set = param_unsupported, .get = param_get_none };
const struct kernel_param_ops param_array_ops = { .set = param_unsupported, .get = param_get_none };

/* CONFIG_DEBUG_LIST is on in the configured headers: the list helpers
 * check each link. A corrupted list stops the server. */
bool __list_add_valid(struct list_head *new, struct list_head *prev, struct list_head *next)
{
	if (next->prev != prev || prev->next != next || new == prev || new == next)
		dde_panic("list_add corruption: new %p prev %p (next %p) next %p (prev %p)", new, prev, prev->next,
			  next, next->prev);
	return true;
}

bool __list_del_entry_valid(struct list_head *entry)
{
	struct list_head *prev = entry->prev, *next = entry->next;

	if (next == LIST_POISON1 || prev == LIST_POISON2 || prev->next != entry || next->prev != entry)
		dde_panic("list_del corruption: entry %p prev %p next %p", entry, prev, next);
	return true;
}

void refcount_warn_saturate(refcount_t *r, enum refcount_saturation_type t)
{
	refcount_set(r, REFCOUNT_SATURATED);
	dde_log(LOGLEVEL_WARNING, "refcount_t %p: saturated (%s); leaking memory", r,
		t == REFCOUNT_ADD_UAF || t == REFCOUNT_SUB_UAF ? "use-after-free" : "overflow or underflow");
}

/* For the runtime's own tests: the kernel's WARN sequences, as donor
 * code has them (see traps.c on the host side). */
int dde_test_warn(int x)
{
	WARN(x == 42, "dde test warning %d", x);
	WARN_ON_ONCE(x == 42);
	return x + 1;
}
