/*
 * kernel.c — the CPU the driver thinks it runs on: per-cpu data, the
 * current task, preemption and interrupt state, locks, static calls and
 * the IRQ line.
 *
 * Per-cpu variables are reached as %gs:symbol; user-space threads have a
 * GS base of 0 (Go on amd64 does not use GS), so the variables defined
 * here are plain globals of a single CPU 0. They keep the kernel's
 * section (.data..percpu), which the linker places with the other data.
 *
 * Locks: one thread runs all Linux code, so a lock is only ever taken by
 * that thread; taking a held spinlock or mutex again is a certain
 * deadlock and stops the server naming the lock. The interrupt flag is
 * virtual (the real one cannot be cleared in user space): irqsave saves
 * and clears it, irqrestore puts it back, and the loop does not deliver
 * the IRQ while it is clear.
 */
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/interrupt.h>
#include <linux/irqreturn.h>
#include <linux/static_call.h>
#include <linux/netdevice.h>
#include "dde.h"

static struct task_struct dde_task = {
	.comm = "dde",
	.pid = 1,
	.tgid = 1,
};

DEFINE_PER_CPU(struct task_struct *, current_task) = &dde_task;
DEFINE_PER_CPU(int, __preempt_count) = PREEMPT_ENABLED;
DEFINE_PER_CPU_READ_MOSTLY(int, cpu_number);
DEFINE_PER_CPU_ALIGNED(struct softnet_data, softnet_data);

enum system_states system_state = SYSTEM_RUNNING;

static bool irqs_off; /* the virtual interrupt flag, inverted */

/* Static calls resolve to these directly. cond_resched is a plain call;
 * preempt_schedule is called from inline asm that assumes no register
 * changes, so it is a bare ret (and never reached: the count starts at
 * PREEMPT_ENABLED and nothing sets need_resched). */
int __SCT__cond_resched(void)
{
	return 0;
}

asm(".pushsection .text\n"
    ".globl __SCT__preempt_schedule\n"
    ".type __SCT__preempt_schedule, @function\n"
    "__SCT__preempt_schedule:\n"
    "\tret\n"
    ".size __SCT__preempt_schedule, . - __SCT__preempt_schedule\n"
    ".popsection\n");

void __local_bh_enable_ip(unsigned long ip, unsigned int cnt)
{
	/* Softirqs run from the loop, not here. */
	preempt_count_sub(cnt);
}

/* Spinlocks. */

static void lock(raw_spinlock_t *l)
{
	if (atomic_read(&l->raw_lock.val))
		dde_panic("dde: deadlock: spinlock %p taken twice by the one DDE thread", l);
	atomic_set(&l->raw_lock.val, 1);
	preempt_count_inc();
}

static void unlock(raw_spinlock_t *l)
{
	if (!atomic_read(&l->raw_lock.val))
		dde_panic("dde: unlock of spinlock %p that is not held", l);
	atomic_set(&l->raw_lock.val, 0);
	preempt_count_dec();
}

void _raw_spin_lock(raw_spinlock_t *l)
{
	lock(l);
}

void _raw_spin_unlock(raw_spinlock_t *l)
{
	unlock(l);
}

int _raw_spin_trylock(raw_spinlock_t *l)
{
	if (atomic_read(&l->raw_lock.val))
		return 0;
	lock(l);
	return 1;
}

void _raw_spin_lock_bh(raw_spinlock_t *l)
{
	preempt_count_add(SOFTIRQ_DISABLE_OFFSET);
	lock(l);
}

void _raw_spin_unlock_bh(raw_spinlock_t *l)
{
	unlock(l);
	preempt_count_sub(SOFTIRQ_DISABLE_OFFSET);
}

void _raw_spin_lock_irq(raw_spinlock_t *l)
{
	irqs_off = true;
	lock(l);
}

void _raw_spin_unlock_irq(raw_spinlock_t *l)
{
	unlock(l);
	irqs_off = false;
}

unsigned long _raw_spin_lock_irqsave(raw_spinlock_t *l)
{
	unsigned long flags = irqs_off ? 0 : X86_EFLAGS_IF;

	irqs_off = true;
	lock(l);
	return flags;
}

void _raw_spin_unlock_irqrestore(raw_spinlock_t *l, unsigned long flags)
{
	unlock(l);
	irqs_off = !(flags & X86_EFLAGS_IF);
}

/* Mutexes: the owner is the one task. */

void __mutex_init(struct mutex *m, const char *name, struct lock_class_key *key)
{
	atomic_long_set(&m->owner, 0);
}

void mutex_lock(struct mutex *m)
{
	if (atomic_long_read(&m->owner))
		dde_panic("dde: deadlock: mutex %p taken twice by the one DDE thread", m);
	atomic_long_set(&m->owner, (long)&dde_task);
}

int mutex_trylock(struct mutex *m)
{
	if (atomic_long_read(&m->owner))
		return 0;
	atomic_long_set(&m->owner, (long)&dde_task);
	return 1;
}

void mutex_unlock(struct mutex *m)
{
	if (atomic_long_read(&m->owner) != (long)&dde_task)
		dde_panic("dde: unlock of mutex %p that is not held", m);
	atomic_long_set(&m->owner, 0);
}

/* The RTNL: the one kernel-wide mutex the networking core holds around
 * configuration; drivers take it in work items (8139too's thread). Held
 * twice on the one thread is the same certain deadlock as any mutex. */
static DEFINE_MUTEX(rtnl_mutex);

void rtnl_lock(void)
{
	mutex_lock(&rtnl_mutex);
}

void rtnl_unlock(void)
{
	mutex_unlock(&rtnl_mutex);
}

/* RCU: readers run on the one thread, never across a call into the
 * runtime that could wait, so by the time a writer calls this every
 * reader has finished: the grace period is already over. */
void synchronize_rcu(void)
{
}

/* The IRQ line. The host notifies a rising edge (dde_irq_notify, from any
 * thread); the loop delivers it to the handler in hard-IRQ context when
 * the line is enabled and the virtual interrupt flag is set. */

static struct irq {
	unsigned int irq;
	irq_handler_t handler, thread_fn;
	void *dev_id;
	const char *name;
	int depth;    /* disable_irq nesting */
	bool pending; /* notified, not yet delivered */
	int again;    /* deliveries in a row with the line still asserted after */
} line;
static int notified; /* written by any thread, atomically */
#define DDE_IRQ_AGAIN 64
static unsigned long handled, unhandled;

void dde_irq_notify(void)
{
	__atomic_store_n(&notified, 1, __ATOMIC_SEQ_CST);
}

void dde_irq_reset(void)
{
	memset(&line, 0, sizeof(line));
	__atomic_store_n(&notified, 0, __ATOMIC_SEQ_CST);
	handled = unhandled = 0;
	irqs_off = false;
}

static irqreturn_t wake_thread(int irq, void *dev_id)
{
	return IRQ_WAKE_THREAD;
}

int request_threaded_irq(unsigned int irq, irq_handler_t handler, irq_handler_t thread_fn,
			 unsigned long flags, const char *name, void *dev_id)
{
	if (line.handler) {
		dde_log(LOGLEVEL_ERR, "dde: IRQ %u already has a handler (%s)", irq, line.name);
		return -EBUSY;
	}
	if (!handler && !thread_fn)
		return -EINVAL;
	DDE_FAULT_POINT(DDE_FAULT_IRQ, -EBUSY);
	line.irq = irq;
	line.handler = handler ? handler : wake_thread;
	line.thread_fn = thread_fn;
	line.dev_id = dev_id;
	line.name = name;
	line.depth = (flags & IRQF_NO_AUTOEN) ? 1 : 0;
	return 0;
}

const void *free_irq(unsigned int irq, void *dev_id)
{
	const char *name = line.name;

	if (!line.handler || line.irq != irq || line.dev_id != dev_id) {
		dde_log(LOGLEVEL_WARNING, "dde: free_irq(%u): no such handler", irq);
		return NULL;
	}
	memset(&line, 0, sizeof(line));
	return name;
}

void disable_irq_nosync(unsigned int irq)
{
	line.depth++;
}

void disable_irq(unsigned int irq)
{
	line.depth++;
}

bool disable_hardirq(unsigned int irq)
{
	line.depth++;
	return true; /* the handler is not running: nothing runs concurrently */
}

void enable_irq(unsigned int irq)
{
	if (!line.depth) {
		dde_log(LOGLEVEL_WARNING, "dde: unbalanced enable for IRQ %u", irq);
		return;
	}
	line.depth--;
}

void synchronize_irq(unsigned int irq)
{
}

bool dde_irq_run(void)
{
	irqreturn_t ret;

	if (__atomic_exchange_n(&notified, 0, __ATOMIC_SEQ_CST))
		line.pending = true;
	if (!line.pending || !line.handler || line.depth || irqs_off)
		return false;
	line.pending = false;
	irqs_off = true;
	preempt_count_add(HARDIRQ_OFFSET);
	ret = line.handler(line.irq, line.dev_id);
	preempt_count_sub(HARDIRQ_OFFSET);
	irqs_off = false;
	if (ret == IRQ_WAKE_THREAD && line.thread_fn) /* the IRQ thread, in process context */
		ret = line.thread_fn(line.irq, line.dev_id);
	if (ret == IRQ_NONE)
		unhandled++;
	else
		handled++;
	/* The line is level-triggered but the host notifies rising edges: a
	 * cause the device raised after the handler read its status keeps
	 * the line asserted with no new edge (write-1-to-clear status, as the
	 * RTL8139's, would then wait for ever). As an interrupt controller
	 * after the EOI, deliver again while the host sees the line asserted.
	 * A line still asserted after DDE_IRQ_AGAIN deliveries in a row is
	 * left until its next edge, as the kernel's spurious-IRQ detector
	 * would disable it, and said so once. */
	if (dde_host_irq_level() == 1) {
		if (++line.again < DDE_IRQ_AGAIN)
			line.pending = true;
		else if (line.again == DDE_IRQ_AGAIN)
			dde_log(LOGLEVEL_WARNING, "dde: IRQ %u (%s) still asserted after %d deliveries; waiting for its next edge",
				line.irq, line.name, DDE_IRQ_AGAIN);
	} else {
		line.again = 0;
	}
	return true;
}

void dde_irq_stats(struct dde_stats *st)
{
	st->irqs_handled = handled;
	st->irqs_unhandled = unhandled;
}
