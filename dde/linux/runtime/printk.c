/*
 * printk.c — kernel logging: a vsnprintf that knows the kernel's %p
 * extensions (%pM, %pV, %pI4, %ph, %pa, %pR, %pe ...), printk with log
 * levels and KERN_CONT, the dev_* and netdev_* printers with the kernel's
 * prefixes, print_hex_dump, net_ratelimit and __warn_printk. Lines go to
 * the host one at a time (dde_host_log), without the trailing newline.
 */
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/device.h>
#include <linux/netdevice.h>
#include <linux/dynamic_debug.h>
#include <linux/jiffies.h>
#include <linux/ratelimit.h>
#include "dde.h"

unsigned long dde_log_warnings;

struct out {
	char *buf;
	size_t size, len; /* len counts every byte, stored or not */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void puts_n(struct out *o, const char *s, int prec)
{
	if (!s)
		s = "(null)";
	for (; *s && prec != 0; s++, prec--)
		put(o, *s);
}

enum { F_LEFT = 1, F_PLUS = 2, F_SPACE = 4, F_SPECIAL = 8, F_ZERO = 16, F_UPPER = 32, F_SIGNED = 64 };

static void number(struct out *o, unsigned long long v, int base, int width, int prec, int flags)
{
	const char *digits = (flags & F_UPPER) ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24], sign = 0;
	int n = 0, pad;

	if ((flags & F_SIGNED) && (long long)v < 0) {
		sign = '-';
		v = -(long long)v;
	} else if (flags & F_SIGNED && flags & F_PLUS) {
		sign = '+';
	} else if (flags & F_SIGNED && flags & F_SPACE) {
		sign = ' ';
	}
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (prec < n)
		prec = n;
	pad = width - prec - (sign != 0);
	if ((flags & F_SPECIAL) && base == 16)
		pad -= 2;
	if ((flags & F_SPECIAL) && base == 8 && tmp[n - 1] != '0')
		pad -= 1;
	if (!(flags & (F_LEFT | F_ZERO)))
		for (; pad > 0; pad--)
			put(o, ' ');
	if (sign)
		put(o, sign);
	if ((flags & F_SPECIAL) && base == 16) {
		put(o, '0');
		put(o, (flags & F_UPPER) ? 'X' : 'x');
	} else if ((flags & F_SPECIAL) && base == 8 && tmp[n - 1] != '0') {
		put(o, '0');
	}
	if (!(flags & F_LEFT) && (flags & F_ZERO))
		for (; pad > 0; pad--)
			put(o, '0');
	for (; prec > n; prec--)
		put(o, '0');
	while (n)
		put(o, tmp[--n]);
	for (; pad > 0; pad--)
		put(o, ' ');
}

static void hexbyte(struct out *o, u8 b, bool upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	put(o, d[b >> 4]);
	put(o, d[b & 15]);
}

static void outf(struct out *o, const char *fmt, va_list args);

static void outf_args(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	outf(o, fmt, ap);
	va_end(ap);
}

/*
 * pointer handles %p and its extensions; fmt points at the letter after
 * 'p'. It returns how many letters it consumed (the kernel skips every
 * alphanumeric character after %p, so the caller does too).
 */
static void pointer(struct out *o, const char *fmt, const void *p, int width, int flags)
{
	const u8 *b = p;
	int i;

	if (!p && *fmt != 'V') {
		puts_n(o, "(null)", -1);
		return;
	}
	switch (*fmt) {
	case 'M':
	case 'm': {
		char sep = *fmt == 'M' ? (fmt[1] == 'F' ? '-' : ':') : 0;
		bool rev = fmt[1] == 'R';

		for (i = 0; i < 6; i++) {
			if (i && sep)
				put(o, sep);
			hexbyte(o, b[rev ? 5 - i : i], false);
		}
		return;
	}
	case 'I':
	case 'i':
		if (fmt[1] == '4') {
			outf_args(o, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
			return;
		}
		if (fmt[1] == '6') {
			for (i = 0; i < 16; i += 2) {
				if (i && *fmt == 'I')
					put(o, ':');
				hexbyte(o, b[i], false);
				hexbyte(o, b[i + 1], false);
			}
			return;
		}
		break;
	case 'V': {
		const struct va_format *vaf = p;
		va_list va;

		va_copy(va, *vaf->va);
		outf(o, vaf->fmt, va);
		va_end(va);
		return;
	}
	case 'h': {
		char sep = fmt[1] == 'C' ? ':' : fmt[1] == 'D' ? '-' : fmt[1] == 'N' ? 0 : ' ';
		int n = width < 0 ? 1 : min(width, 64);

		for (i = 0; i < n; i++) {
			if (i && sep)
				put(o, sep);
			hexbyte(o, b[i], false);
		}
		return;
	}
	case 'a': {
		unsigned long long v = fmt[1] == 'd' ? *(const dma_addr_t *)p : *(const phys_addr_t *)p;

		number(o, v, 16, 18, 16, F_SPECIAL | F_ZERO);
		return;
	}
	case 'R':
	case 'r': {
		const struct resource *r = p;

		outf_args(o, "[%s %#llx-%#llx]", r->flags & IORESOURCE_IO ? "io" : "mem",
			  (unsigned long long)r->start, (unsigned long long)r->end);
		return;
	}
	case 'e': {
		long err = PTR_ERR(p);

		if (IS_ERR(p))
			outf_args(o, "%ld", err);
		else
			number(o, (unsigned long)p, 16, 16, 16, F_ZERO);
		return;
	}
	case 'S':
	case 's':
	case 'B':
	case 'F':
	case 'f':
		/* No symbol table here: the address, as the kernel prints
		 * without kallsyms. */
		outf_args(o, "0x%lx", (unsigned long)p);
		return;
	}
	/* Plain %p (and %px, %pK): the raw address; nothing to hide in a
	 * single-process driver server. */
	number(o, (unsigned long)p, 16, width < 0 ? 16 : width, 16, F_ZERO | (flags & F_LEFT));
}

static void outf(struct out *o, const char *fmt, va_list args)
{
	for (; *fmt; fmt++) {
		int flags = 0, width = -1, prec = -1, qual = 0, base = 10;
		unsigned long long v;

		if (*fmt != '%') {
			put(o, *fmt);
			continue;
		}
		for (;;) {
			fmt++;
			if (*fmt == '-') flags |= F_LEFT;
			else if (*fmt == '+') flags |= F_PLUS;
			else if (*fmt == ' ') flags |= F_SPACE;
			else if (*fmt == '#') flags |= F_SPECIAL;
			else if (*fmt == '0') flags |= F_ZERO;
			else break;
		}
		if (*fmt == '*') {
			width = va_arg(args, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = -width;
			}
			fmt++;
		} else if (*fmt >= '0' && *fmt <= '9') {
			for (width = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
				width = width * 10 + (*fmt - '0');
		}
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				prec = va_arg(args, int);
				fmt++;
			} else {
				for (prec = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
					prec = prec * 10 + (*fmt - '0');
			}
			if (prec < 0)
				prec = -1;
		}
		if (*fmt == 'h' || *fmt == 'l' || *fmt == 'z' || *fmt == 't' || *fmt == 'j' || *fmt == 'L') {
			qual = *fmt++;
			if (qual == 'h' && *fmt == 'h') {
				qual = 'H';
				fmt++;
			} else if (qual == 'l' && *fmt == 'l') {
				qual = 'L';
				fmt++;
			}
		}
		switch (*fmt) {
		case 'c':
			for (; !(flags & F_LEFT) && width > 1; width--)
				put(o, ' ');
			put(o, (char)va_arg(args, int));
			for (; width > 1; width--)
				put(o, ' ');
			continue;
		case 's': {
			const char *s = va_arg(args, const char *);
			int n = 0;

			if (!s)
				s = "(null)";
			while (s[n] && (prec < 0 || n < prec))
				n++;
			for (; !(flags & F_LEFT) && width > n; width--)
				put(o, ' ');
			puts_n(o, s, n);
			for (; width > n; width--)
				put(o, ' ');
			continue;
		}
		case 'p':
			pointer(o, fmt + 1, va_arg(args, const void *), width, flags);
			while (fmt[1] && ((fmt[1] >= 'a' && fmt[1] <= 'z') || (fmt[1] >= 'A' && fmt[1] <= 'Z') ||
					  (fmt[1] >= '0' && fmt[1] <= '9')))
				fmt++;
			continue;
		case '%':
			put(o, '%');
			continue;
		case 'o':
			base = 8;
			break;
		case 'X':
			flags |= F_UPPER;
			fallthrough;
		case 'x':
			base = 16;
			break;
		case 'd':
		case 'i':
			flags |= F_SIGNED;
			break;
		case 'u':
			break;
		case '\0':
			return;
		default:
			put(o, '%');
			put(o, *fmt);
			continue;
		}
		switch (qual) {
		case 'L':
		case 'j':
			v = va_arg(args, unsigned long long);
			break;
		case 'l':
		case 'z':
		case 't':
			v = va_arg(args, unsigned long);
			if (flags & F_SIGNED)
				v = (long)v;
			break;
		case 'h':
			v = (unsigned short)va_arg(args, int);
			if (flags & F_SIGNED)
				v = (short)v;
			break;
		case 'H':
			v = (unsigned char)va_arg(args, int);
			if (flags & F_SIGNED)
				v = (signed char)v;
			break;
		default:
			v = va_arg(args, unsigned int);
			if (flags & F_SIGNED)
				v = (int)v;
		}
		if (prec >= 0)
			flags &= ~F_ZERO;
		number(o, v, base, width, prec < 0 ? 1 : prec, flags);
	}
}

int dde_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	struct out o = { .buf = buf, .size = size };
	va_list ap;

	va_copy(ap, args);
	outf(&o, fmt, ap);
	va_end(ap);
	if (size)
		buf[min(o.len, size - 1)] = 0;
	return o.len;
}

int dde_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = dde_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* The console: one pending partial line (for KERN_CONT). */
static char line[1024];
static int line_len, line_level = -1;

void dde_log_flush(void)
{
	if (line_level < 0)
		return;
	if (line_level <= LOGLEVEL_WARNING)
		dde_log_warnings++;
	dde_host_log(line_level, line, line_len);
	line_len = 0;
	line_level = -1;
}

/* emit appends text at level; every newline ends a line. */
static void emit(int level, const char *text)
{
	for (; *text; text++) {
		if (line_level < 0)
			line_level = level;
		if (*text == '\n') {
			dde_log_flush();
			continue;
		}
		if (line_len < (int)sizeof(line) - 1)
			line[line_len++] = *text;
	}
}

static int vlog(int level, const char *fmt, va_list args)
{
	char buf[1024];
	bool cont = false;
	int n;

	while (fmt[0] == KERN_SOH_ASCII && fmt[1]) {
		if (fmt[1] >= '0' && fmt[1] <= '7')
			level = fmt[1] - '0';
		else if (fmt[1] == 'c')
			cont = true;
		fmt += 2;
	}
	if (level < 0)
		level = LOGLEVEL_WARNING; /* the kernel's default message level */
	if (!cont)
		dde_log_flush();
	n = dde_vsnprintf(buf, sizeof(buf), fmt, args);
	emit(level, buf);
	return n;
}

void dde_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
	dde_log_flush();
}

void dde_panic(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	dde_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dde_log_flush();
	dde_host_log(LOGLEVEL_EMERG, buf, strlen(buf));
	dde_host_abort(buf);
}

asmlinkage __visible int _printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vlog(-1, fmt, ap);
	va_end(ap);
	return n;
}

void __warn_printk(const char *fmt, ...)
{
	va_list ap;

	dde_log_flush();
	va_start(ap, fmt);
	vlog(LOGLEVEL_WARNING, fmt, ap);
	va_end(ap);
	dde_log_flush();
}

/* The prefix the kernel's dev_printk puts before a device's messages. */
static void dev_vlog(int level, const struct device *dev, const char *fmt, va_list args)
{
	struct va_format vaf;
	va_list va;

	va_copy(va, args);
	vaf.fmt = fmt;
	vaf.va = &va;
	if (dev)
		dde_log(level, "%s %s: %pV", dev_driver_string(dev), dev_name(dev), &vaf);
	else
		dde_log(level, "(NULL device *): %pV", &vaf);
	va_end(va);
}

#define DEV_PRINTER(name, level)					\
	void name(const struct device *dev, const char *fmt, ...)	\
	{								\
		va_list ap;						\
		va_start(ap, fmt);					\
		dev_vlog(level, dev, fmt, ap);				\
		va_end(ap);						\
	}
DEV_PRINTER(_dev_emerg, LOGLEVEL_EMERG)
DEV_PRINTER(_dev_alert, LOGLEVEL_ALERT)
DEV_PRINTER(_dev_crit, LOGLEVEL_CRIT)
DEV_PRINTER(_dev_err, LOGLEVEL_ERR)
DEV_PRINTER(_dev_warn, LOGLEVEL_WARNING)
DEV_PRINTER(_dev_notice, LOGLEVEL_NOTICE)
DEV_PRINTER(_dev_info, LOGLEVEL_INFO)

void _dev_printk(const char *level, const struct device *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_vlog(printk_get_level(level) ? printk_get_level(level) - '0' : LOGLEVEL_DEFAULT, dev, fmt, ap);
	va_end(ap);
}

/* The prefix of netdev_printk: driver, bus address, interface name. */
static void netdev_vlog(int level, const struct net_device *dev, const char *fmt, va_list args)
{
	struct va_format vaf;
	va_list va;

	va_copy(va, args);
	vaf.fmt = fmt;
	vaf.va = &va;
	if (dev && dev->dev.parent)
		dde_log(level, "%s %s %s%s: %pV", dev_driver_string(dev->dev.parent),
			dev_name(dev->dev.parent), netdev_name(dev), netdev_reg_state(dev), &vaf);
	else if (dev)
		dde_log(level, "%s%s: %pV", netdev_name(dev), netdev_reg_state(dev), &vaf);
	else
		dde_log(level, "(NULL net_device): %pV", &vaf);
	va_end(va);
}

#define NETDEV_PRINTER(name, level)					\
	void name(const struct net_device *dev, const char *fmt, ...)	\
	{								\
		va_list ap;						\
		va_start(ap, fmt);					\
		netdev_vlog(level, dev, fmt, ap);			\
		va_end(ap);						\
	}
NETDEV_PRINTER(netdev_emerg, LOGLEVEL_EMERG)
NETDEV_PRINTER(netdev_alert, LOGLEVEL_ALERT)
NETDEV_PRINTER(netdev_crit, LOGLEVEL_CRIT)
NETDEV_PRINTER(netdev_err, LOGLEVEL_ERR)
NETDEV_PRINTER(netdev_warn, LOGLEVEL_WARNING)
NETDEV_PRINTER(netdev_notice, LOGLEVEL_NOTICE)
NETDEV_PRINTER(netdev_info, LOGLEVEL_INFO)

void netdev_printk(const char *level, const struct net_device *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	netdev_vlog(printk_get_level(level) ? printk_get_level(level) - '0' : LOGLEVEL_DEFAULT, dev, fmt, ap);
	va_end(ap);
}

/* Dynamic debug sites are off unless their static key is flipped, which
 * nothing here does; when called anyway, print at debug level. */
void __dynamic_netdev_dbg(struct _ddebug *descriptor, const struct net_device *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	netdev_vlog(LOGLEVEL_DEBUG, dev, fmt, ap);
	va_end(ap);
}

void __dynamic_dev_dbg(struct _ddebug *descriptor, const struct device *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_vlog(LOGLEVEL_DEBUG, dev, fmt, ap);
	va_end(ap);
}

void __dynamic_pr_debug(struct _ddebug *descriptor, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOGLEVEL_DEBUG, fmt, ap);
	va_end(ap);
	dde_log_flush();
}

void print_hex_dump(const char *level, const char *prefix_str, int prefix_type, int rowsize,
		    int groupsize, const void *buf, size_t len, bool ascii)
{
	int lvl = printk_get_level(level) ? printk_get_level(level) - '0' : LOGLEVEL_DEFAULT;
	const u8 *p = buf;
	size_t i, j;

	if (rowsize != 16 && rowsize != 32)
		rowsize = 16;
	if (groupsize != 1 && groupsize != 2 && groupsize != 4 && groupsize != 8)
		groupsize = 1;
	for (i = 0; i < len; i += rowsize) {
		char row[256];
		struct out o = { .buf = row, .size = sizeof(row) };
		size_t n = min_t(size_t, rowsize, len - i);

		if (prefix_type == DUMP_PREFIX_ADDRESS)
			outf_args(&o, "%s%p: ", prefix_str, p + i);
		else if (prefix_type == DUMP_PREFIX_OFFSET)
			outf_args(&o, "%s%.8zx: ", prefix_str, i);
		else
			outf_args(&o, "%s", prefix_str);
		for (j = 0; j + groupsize <= n; j += groupsize) {
			int k;

			if (j)
				put(&o, ' ');
			for (k = groupsize - 1; k >= 0; k--) /* little-endian groups */
				hexbyte(&o, p[i + j + k], false);
		}
		if (ascii) {
			outf_args(&o, "  ");
			for (j = 0; j < n; j++)
				put(&o, p[i + j] >= 0x20 && p[i + j] < 0x7f ? p[i + j] : '.');
		}
		row[min(o.len, sizeof(row) - 1)] = 0;
		dde_log(lvl, "%s", row);
	}
}

/* At most 10 messages per 5 seconds of DDE time, as the kernel's default. */
int net_ratelimit(void)
{
	static unsigned long begin;
	static int printed, missed;

	if (!begin || time_after(jiffies, begin + 5 * HZ)) {
		if (missed)
			dde_log(LOGLEVEL_WARNING, "net_ratelimit: %d callbacks suppressed", missed);
		begin = jiffies;
		printed = missed = 0;
	}
	if (printed < 10) {
		printed++;
		return 1;
	}
	missed++;
	return 0;
}
