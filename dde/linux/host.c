//go:build dde

/*
 * host.c — the C side of the bridge from the DDE runtime into Go: the
 * functions of runtime/host.h, each calling its //export in callbacks_cgo.go.
 *
 * The runtime is compiled with the kernel's -mpreferred-stack-boundary=3,
 * so it calls these with the stack only 8-byte aligned; cgo's export
 * wrappers and the C library assume 16. force_align_arg_pointer realigns
 * on entry. This file is built by cgo with ordinary user-space flags.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "host.h"
#include "_cgo_export.h"

#define ENTRY __attribute__((force_align_arg_pointer))

ENTRY unsigned long long dde_host_mmio_read(int bar, unsigned int off, int size)
{
	return ddeGoMMIORead(bar, off, size);
}

ENTRY void dde_host_mmio_write(int bar, unsigned int off, int size, unsigned long long v)
{
	ddeGoMMIOWrite(bar, off, size, v);
}

ENTRY unsigned int dde_host_io_read(int bar, unsigned int off, int size)
{
	return ddeGoIORead(bar, off, size);
}

ENTRY void dde_host_io_write(int bar, unsigned int off, int size, unsigned int v)
{
	ddeGoIOWrite(bar, off, size, v);
}

ENTRY unsigned int dde_host_config_read(unsigned int off, int size)
{
	return ddeGoConfigRead(off, size);
}

ENTRY void dde_host_config_write(unsigned int off, int size, unsigned int v)
{
	ddeGoConfigWrite(off, size, v);
}

ENTRY void dde_host_log(int level, const char *line, int len)
{
	ddeGoLog(level, (char *)line, len);
}

ENTRY void dde_host_net_receive(const void *frame, int len)
{
	ddeGoNetReceive((void *)frame, len);
}

ENTRY int dde_host_irq_level(void)
{
	return ddeGoIRQLevel();
}

ENTRY void dde_host_carrier(int up)
{
	ddeGoCarrier(up);
}

ENTRY void dde_host_tx_ready(void)
{
	ddeGoTxReady();
}

ENTRY void dde_host_tx_timeout(int queue)
{
	ddeGoTxTimeout(queue);
}

/* Real time, on CLOCK_MONOTONIC from dde_host_clock_reset (Runtime New);
 * Runtime.Elapsed reads the same clock. No call into Go: a driver that
 * udelays thousands of times would otherwise pay a callback each time. */
static struct timespec clock_start;

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void dde_host_clock_reset(void)
{
	clock_gettime(CLOCK_MONOTONIC, &clock_start);
}

ENTRY unsigned long long dde_host_now(void)
{
	return mono_ns() - ((unsigned long long)clock_start.tv_sec * 1000000000ULL + clock_start.tv_nsec);
}

/* Short delays spin, as udelay does in the kernel (a sleep would take
 * far longer than asked); longer ones sleep the thread. */
ENTRY void dde_host_sleep(unsigned long long ns)
{
	unsigned long long end = mono_ns() + ns;

	if (ns >= 1000000ULL) {
		struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };

		while (nanosleep(&ts, &ts) != 0)
			;
		return;
	}
	while (mono_ns() < end)
		__builtin_ia32_pause();
}

ENTRY void *dde_host_alloc(unsigned long size)
{
	return calloc(1, size);
}

ENTRY void dde_host_free(void *p)
{
	free(p);
}

/* The C library's heap (brk): where dde_host_alloc's small blocks live. */
extern char _end[];

ENTRY int dde_host_heap(const void *p)
{
	return (const char *)p >= _end && p < sbrk(0);
}

ENTRY void dde_host_abort(const char *why)
{
	ddeGoAbort((char *)why);
	abort(); /* not reached: ddeGoAbort does not return */
}

/* The port's provenance.o (ddebuild provenance) defines this; weak, so a
 * binary without it links and gets NULL. */
extern const char dde_provenance[] __attribute__((weak));
extern const char dde_build_id[] __attribute__((weak));

const char *dde_host_provenance(void)
{
	return dde_provenance;
}

const char *dde_host_build_id(void)
{
	return dde_build_id;
}
