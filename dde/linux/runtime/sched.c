/*
 * sched.c — the runtime kit: the DDE clock with jiffies derived from it,
 * delays, timers and workqueues as cooperative tasks, and the IRQ line.
 *
 * Nothing here runs on its own: dde_run (api.c) calls dde_irq_run,
 * dde_napi_run, dde_timers_run and dde_work_run in turn until none finds
 * anything to do. A delay never yields: msleep in probe advances the
 * clock (virtual time) or sleeps the thread (real time), and timers that
 * expire meanwhile run on the next pass of the loop, in order of expiry.
 */
#include <linux/jiffies.h>
#include <linux/delay.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <linux/interrupt.h>
#include <linux/sched.h>
#include <linux/preempt.h>
#include "dde.h"

u64 dde_clock_ns;
bool dde_virtual_time;
unsigned long volatile __cacheline_aligned_in_smp jiffies = INITIAL_JIFFIES;

static HLIST_HEAD(timers);
static LIST_HEAD(works);
static char system_wq_storage[64];
struct workqueue_struct *system_wq = (struct workqueue_struct *)system_wq_storage;
static unsigned long timers_run, works_run;

void dde_sched_init(bool virtual_time)
{
	dde_virtual_time = virtual_time;
	dde_clock_ns = 0;
	jiffies = INITIAL_JIFFIES;
	INIT_HLIST_HEAD(&timers);
	INIT_LIST_HEAD(&works);
	timers_run = works_run = 0;
}

void dde_clock_set(u64 ns)
{
	if (ns <= dde_clock_ns)
		return;
	dde_clock_ns = ns;
	jiffies = INITIAL_JIFFIES + ns / (NSEC_PER_SEC / HZ);
}

void dde_delay_ns(u64 ns)
{
	if (dde_virtual_time) {
		dde_clock_set(dde_clock_ns + ns);
		return;
	}
	dde_host_sleep(ns);
	dde_clock_set(dde_host_now());
}

unsigned int jiffies_to_msecs(const unsigned long j)
{
	return (u64)j * MSEC_PER_SEC / HZ;
}

void msleep(unsigned int msecs)
{
	dde_delay_ns((u64)msecs * NSEC_PER_MSEC);
}

unsigned long msleep_interruptible(unsigned int msecs)
{
	msleep(msecs);
	return 0; /* no signals here: the whole sleep happened */
}

void usleep_range_state(unsigned long min, unsigned long max, unsigned int state)
{
	dde_delay_ns((u64)min * NSEC_PER_USEC);
}

void __udelay(unsigned long usecs)
{
	dde_delay_ns((u64)usecs * NSEC_PER_USEC);
}

void __ndelay(unsigned long nsecs)
{
	dde_delay_ns(nsecs);
}

/* udelay(n) passes n * 0x10c7 (2^32 / 10^6, rounded up) and ndelay(n)
 * n * 5 (2^32 / 10^9): xloops / 2^32 microseconds. */
void __const_udelay(unsigned long xloops)
{
	dde_delay_ns(((u64)xloops * NSEC_PER_USEC) >> 32);
}

/* Timers: an unsorted list; the loop runs the earliest expired first. */

void init_timer_key(struct timer_list *timer, void (*func)(struct timer_list *), unsigned int flags,
		    const char *name, struct lock_class_key *key)
{
	timer->entry.pprev = NULL;
	timer->entry.next = NULL;
	timer->function = func;
	timer->flags = flags;
}

static bool detach(struct timer_list *timer)
{
	if (!timer_pending(timer))
		return false;
	hlist_del_init(&timer->entry);
	return true;
}

static int set_timer(struct timer_list *timer, unsigned long expires, unsigned long caller)
{
	bool was = detach(timer);

	timer->expires = expires;
	/* A lost timer (fault injection): detached, and never armed again. */
	if (!dde_fault(DDE_FAULT_TIMER, timer->function == delayed_work_timer_fn ? "delayed work" : "mod_timer", caller))
		hlist_add_head(&timer->entry, &timers);
	return was;
}

int mod_timer(struct timer_list *timer, unsigned long expires)
{
	return set_timer(timer, expires, _RET_IP_);
}

void add_timer(struct timer_list *timer)
{
	if (timer_pending(timer))
		dde_panic("dde: add_timer of a pending timer (%ps)", timer->function);
	set_timer(timer, timer->expires, _RET_IP_);
}

int timer_delete(struct timer_list *timer)
{
	return detach(timer);
}

int timer_delete_sync(struct timer_list *timer)
{
	return detach(timer); /* nothing runs concurrently */
}

int try_to_del_timer_sync(struct timer_list *timer)
{
	return detach(timer);
}

static struct timer_list *earliest(void)
{
	struct timer_list *t, *first = NULL;

	hlist_for_each_entry(t, &timers, entry)
		if (!first || time_before(t->expires, first->expires))
			first = t;
	return first;
}

static bool in_list(struct timer_list *t, struct hlist_head *list)
{
	struct timer_list *x;

	hlist_for_each_entry(x, list, entry)
		if (x == t)
			return true;
	return false;
}

/* dde_timers_run runs the timers expired now, earliest first. They wait
 * on a list of their own meanwhile, so one of them may still delete or
 * re-arm another; a timer re-armed for the current jiffy waits for the
 * next pass, as in the kernel it waits for the next tick. */
bool dde_timers_run(void)
{
	struct timer_list *due[64], *t;
	HLIST_HEAD(batch);
	int n = 0, i;

	while (n < (int)ARRAY_SIZE(due) && (t = earliest()) && time_after_eq(jiffies, t->expires)) {
		detach(t);
		hlist_add_head(&t->entry, &batch);
		due[n++] = t;
	}
	for (i = 0; i < n; i++) {
		t = due[i];
		if (!in_list(t, &batch)) /* deleted or re-armed by an earlier one */
			continue;
		detach(t);
		preempt_count_add(SOFTIRQ_OFFSET);
		t->function(t);
		preempt_count_sub(SOFTIRQ_OFFSET);
		timers_run++;
	}
	return n > 0;
}

bool dde_timer_deadline(u64 *ns)
{
	struct timer_list *t = earliest();
	long ahead;

	if (!t)
		return false;
	ahead = (long)(t->expires - jiffies);
	if (ahead <= 0) {
		*ns = dde_clock_ns;
		return true;
	}
	/* the start of the jiffy the timer expires in */
	*ns = (u64)(t->expires - INITIAL_JIFFIES) * (NSEC_PER_SEC / HZ);
	return true;
}

/* Workqueues: one queue in FIFO order, whatever the workqueue. */

bool queue_work_on(int cpu, struct workqueue_struct *wq, struct work_struct *work)
{
	if (test_and_set_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(work)))
		return false;
	list_add_tail(&work->entry, &works);
	return true;
}

void delayed_work_timer_fn(struct timer_list *t)
{
	struct delayed_work *dwork = from_timer(dwork, t, timer);

	list_add_tail(&dwork->work.entry, &works); /* pending stays set */
}

bool queue_delayed_work_on(int cpu, struct workqueue_struct *wq, struct delayed_work *dwork,
			   unsigned long delay)
{
	if (test_and_set_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(&dwork->work)))
		return false;
	dwork->wq = wq;
	dwork->cpu = cpu;
	if (!delay) {
		list_add_tail(&dwork->work.entry, &works);
		return true;
	}
	if (dwork->timer.function != delayed_work_timer_fn)
		dde_panic("dde: delayed work %ps has a foreign timer function", dwork->work.func);
	set_timer(&dwork->timer, jiffies + delay, _RET_IP_);
	return true;
}

bool mod_delayed_work_on(int cpu, struct workqueue_struct *wq, struct delayed_work *dwork,
			 unsigned long delay)
{
	bool was = cancel_delayed_work(dwork);

	queue_delayed_work_on(cpu, wq, dwork, delay);
	return was;
}

static bool cancel(struct work_struct *work)
{
	if (!test_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(work)))
		return false;
	if (!list_empty(&work->entry) && work->entry.next)
		list_del_init(&work->entry);
	clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(work));
	return true;
}

bool cancel_work_sync(struct work_struct *work)
{
	return cancel(work);
}

bool cancel_delayed_work(struct delayed_work *dwork)
{
	detach(&dwork->timer);
	return cancel(&dwork->work);
}

bool cancel_delayed_work_sync(struct delayed_work *dwork)
{
	return cancel_delayed_work(dwork);
}

bool flush_work(struct work_struct *work)
{
	if (!cancel(work))
		return false;
	work->func(work);
	works_run++;
	return true;
}

bool dde_work_run(void)
{
	LIST_HEAD(batch);
	bool ran = false;

	list_splice_init(&works, &batch); /* what is queued now; new work waits for the next pass */
	while (!list_empty(&batch)) {
		struct work_struct *w = list_first_entry(&batch, struct work_struct, entry);

		list_del_init(&w->entry);
		clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(w));
		w->func(w);
		works_run++;
		ran = true;
	}
	return ran;
}

bool dde_sched_idle(void)
{
	return list_empty(&works) && hlist_empty(&timers);
}

void dde_sched_stats(struct dde_stats *st)
{
	st->now_ns = dde_clock_ns;
	st->jiffies = jiffies;
	st->timers_run = timers_run;
	st->works_run = works_run;
}
