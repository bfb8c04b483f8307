//go:build dde

/*
 * traps.c — what the kernel's trap handler does for WARN and BUG. Donor
 * code compiled for the kernel reports both with a ud2 instruction and an
 * entry in the __bug_table section (address, file, line, flags); in user
 * space ud2 raises SIGILL. The handler here finds the entry: a WARN is
 * noted (the Go side logs it after the current call, as a signal handler
 * must not call into Go) and execution continues after the ud2, as in the
 * kernel; a BUG, or a SIGILL that is not ours, goes on to Go's handler,
 * which stops the server — after a line naming the BUG's file and line.
 *
 * Built by cgo with ordinary user-space flags.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

struct bug_entry { /* CONFIG_GENERIC_BUG_RELATIVE_POINTERS, DEBUG_BUGVERBOSE */
	int addr_disp;
	int file_disp;
	unsigned short line;
	unsigned short flags;
};

#define BUGFLAG_WARNING (1 << 0)
#define BUGFLAG_ONCE (1 << 1)
#define BUGFLAG_DONE (1 << 2)

/* The linker defines these for the section; weak: a binary may have no
 * donor code with WARNs at all. */
extern struct bug_entry __start___bug_table[] __attribute__((weak));
extern struct bug_entry __stop___bug_table[] __attribute__((weak));

#define NOTES 32
static struct note {
	const char *file;
	unsigned int line;
	unsigned long pc;
} notes[NOTES];
static volatile unsigned int head, tail, lost;
static struct sigaction next;
static int installed;

static struct bug_entry *find(unsigned long pc)
{
	struct bug_entry *b;

	for (b = __start___bug_table; b && b < __stop___bug_table; b++)
		if ((unsigned long)&b->addr_disp + b->addr_disp == pc)
			return b;
	return NULL;
}

static const char *file_of(struct bug_entry *b)
{
	return (const char *)&b->file_disp + b->file_disp;
}

static void on_sigill(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;
	unsigned long pc = uc->uc_mcontext.gregs[REG_RIP];
	const unsigned char *insn = (const unsigned char *)pc;
	struct bug_entry *b = find(pc);

	if (b && insn[0] == 0x0f && insn[1] == 0x0b) {
		if (b->flags & BUGFLAG_WARNING) {
			if (!(b->flags & BUGFLAG_DONE)) {
				if (b->flags & BUGFLAG_ONCE)
					b->flags |= BUGFLAG_DONE;
				if (head - tail < NOTES) {
					notes[head % NOTES] = (struct note){ file_of(b), b->line, pc };
					head++;
				} else {
					lost++;
				}
			}
			uc->uc_mcontext.gregs[REG_RIP] = pc + 2;
			return;
		}
		char msg[512];
		int n = snprintf(msg, sizeof(msg), "dde: kernel BUG at %s:%u (pc %#lx)\n", file_of(b), b->line, pc);
		if (n > 0)
			write(2, msg, n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1);
	}
	if (next.sa_flags & SA_SIGINFO)
		next.sa_sigaction(sig, info, ctx);
	else if (next.sa_handler != SIG_IGN && next.sa_handler != SIG_DFL)
		next.sa_handler(sig);
	else {
		signal(SIGILL, SIG_DFL);
		raise(SIGILL);
	}
}

/* dde_traps_install puts the handler in front of Go's, once. */
void dde_traps_install(void)
{
	struct sigaction sa;

	if (installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGILL, &sa, &next) == 0)
		installed = 1;
}

/* dde_traps_take formats the oldest noted WARN into buf; 0 if none. */
int dde_traps_take(char *buf, int size)
{
	if (lost) {
		snprintf(buf, size, "dde: %u WARNINGs not logged (too many at once)", lost);
		lost = 0;
		return 1;
	}
	if (head == tail)
		return 0;
	struct note *n = &notes[tail % NOTES];
	snprintf(buf, size, "WARNING: CPU: 0 PID: 1 at %s:%u (pc %#lx)", n->file, n->line, n->pc);
	tail++;
	return 1;
}
