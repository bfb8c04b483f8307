/*
 * host.h — what the DDE runtime needs from its host, and nothing else.
 * Plain C types only (see api.h). The host side (dde/linux/host.c, built
 * by cgo with ordinary user-space flags) implements these by calling into
 * Go; each realigns the stack first, because code built with the kernel's
 * flags keeps it only 8-byte aligned.
 *
 * All are called on the DDE thread. bar is a PCI BAR index (0-5), off an
 * offset inside it, size 1, 2, 4 or 8 bytes.
 */
#ifndef DDE_HOST_H
#define DDE_HOST_H

unsigned long long dde_host_mmio_read(int bar, unsigned int off, int size);
void dde_host_mmio_write(int bar, unsigned int off, int size, unsigned long long v);
unsigned int dde_host_io_read(int bar, unsigned int off, int size);
void dde_host_io_write(int bar, unsigned int off, int size, unsigned int v);
unsigned int dde_host_config_read(unsigned int off, int size);
void dde_host_config_write(unsigned int off, int size, unsigned int v);

/* The interrupt line's level once the device has performed every access
 * made so far: 1 asserted, 0 not, -1 the host cannot tell (then only
 * edges count). */
int dde_host_irq_level(void);

/* One log line without its newline; level is the printk level 0-7. */
void dde_host_log(int level, const char *line, int len);
/* A received frame (no FCS) and link state, from the driver upwards. */
void dde_host_net_receive(const void *frame, int len);
void dde_host_carrier(int up);
/* The transmit queue may take frames again. */
void dde_host_tx_ready(void);
/* The transmit watchdog found queue stopped too long: the driver's
 * ndo_tx_timeout runs next. */
void dde_host_tx_timeout(int queue);

/* Real time: nanoseconds since the runtime started; sleeping. */
unsigned long long dde_host_now(void);
void dde_host_sleep(unsigned long long ns);

/* Zeroed memory outside the pool for the runtime's own bookkeeping. */
void *dde_host_alloc(unsigned long size);
void dde_host_free(void *p);
/* Whether p is in the heap dde_host_alloc's small blocks come from. */
int dde_host_heap(const void *p);

/* An injected fault fires (detail says which and where): returns once
 * the host has it on record, so a fault the driver does not survive is
 * still reported. */
void dde_host_fault_fired(const char *detail);

/* Stop the server, naming why. */
void dde_host_abort(const char *why) __attribute__((noreturn));

#endif
