//go:build dde

/*
 * inject.c — the user-space half of the fault injector (grail inject):
 * breakpoints in donor text and the report of a fault that fires.
 *
 * A code fault is planted as an int3 on the first byte of the chosen
 * instruction. When the driver reaches it, the SIGTRAP handler here
 * writes the mutated instruction (a bit flip, NOPs, an inverted branch,
 * an endless loop...), reports the fault as fired — and waits until the
 * host has it on record — then resumes at the mutated instruction. So a
 * fault counts as fired only if the code ran, and the record exists even
 * when the mutation kills the process a microsecond later.
 *
 * Watch points (for the runner's profile of which donor functions run)
 * are one-shot int3s on function entries: the handler restores the byte,
 * marks the hit and resumes.
 *
 * The report goes through two pipes: the handler (or a kernel-API fault
 * point, through dde_host_fault_fired) writes the detail line to one and
 * waits up to two seconds for a byte on the other; a goroutine
 * (inject_cgo.go) reads the line, hands it to the host and answers.
 * write, ppoll and read are async-signal-safe.
 *
 * Everything here runs on the DDE thread, the only thread that executes
 * donor code. Built by cgo with ordinary user-space flags.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define MAX_INSN 15
#define MAX_WATCH 1024
#define MAX_DETAIL 512

static int fired_fd = -1, ack_fd = -1;
static struct sigaction next;
static int installed;

static struct {
	int armed;
	unsigned long addr;
	unsigned char orig0; /* the byte the int3 replaced */
	unsigned char repl[MAX_INSN];
	int len;
	char detail[MAX_DETAIL];
} code;

static struct watch {
	unsigned long addr;
	unsigned char orig;
	int hit;
} watches[MAX_WATCH];
static int nwatch;

/* write_text copies n bytes to donor text at addr, making its pages
 * writable for the moment. */
static int write_text(unsigned long addr, const unsigned char *b, int n)
{
	unsigned long first = addr & ~4095UL, last = (addr + n - 1) & ~4095UL;
	size_t len = last - first + 4096;

	if (mprotect((void *)first, len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		return -errno;
	memcpy((void *)addr, b, n);
	__builtin___clear_cache((char *)addr, (char *)addr + n);
	if (mprotect((void *)first, len, PROT_READ | PROT_EXEC) != 0)
		return -errno;
	return 0;
}

/* report hands detail to the host and waits (up to 2 s) for its answer. */
static void report(const char *detail)
{
	struct pollfd p = { .fd = ack_fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = 2 };
	unsigned char b;
	size_t n = strnlen(detail, MAX_DETAIL - 1);

	if (fired_fd < 0)
		return;
	if (write(fired_fd, detail, n) != (ssize_t)n)
		return;
	while (ppoll(&p, 1, &ts, NULL) < 0 && errno == EINTR)
		;
	if (p.revents & POLLIN)
		while (read(ack_fd, &b, 1) < 0 && errno == EINTR)
			;
}

/* dde_host_fault_fired implements host.h: a kernel-API fault point fired. */
__attribute__((force_align_arg_pointer)) void dde_host_fault_fired(const char *detail)
{
	report(detail);
}

static void on_sigtrap(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;
	unsigned long site = uc->uc_mcontext.gregs[REG_RIP] - 1; /* int3 leaves RIP after itself */
	int saved = errno;

	if (code.armed && site == code.addr) {
		code.armed = 0;
		if (write_text(site, code.repl, code.len) == 0) {
			uc->uc_mcontext.gregs[REG_RIP] = site;
			report(code.detail);
			errno = saved;
			return;
		}
	}
	for (int i = 0; i < nwatch; i++) {
		if (watches[i].addr == site && !watches[i].hit) {
			watches[i].hit = 1;
			if (write_text(site, &watches[i].orig, 1) == 0) {
				uc->uc_mcontext.gregs[REG_RIP] = site;
				errno = saved;
				return;
			}
		}
	}
	errno = saved;
	if (next.sa_flags & SA_SIGINFO)
		next.sa_sigaction(sig, info, ctx);
	else if (next.sa_handler != SIG_IGN && next.sa_handler != SIG_DFL)
		next.sa_handler(sig);
	else {
		signal(SIGTRAP, SIG_DFL);
		raise(SIGTRAP);
	}
}

/* dde_inject_init sets the report pipes and puts the SIGTRAP handler in
 * front of Go's, once. Breakpoints still waiting (a code fault that did
 * not fire, watch points not hit) are taken out of the text first: a
 * fault that fired stays (only a new process undoes it), one that did not
 * must not fire for a later runtime of the process (tests). */
int dde_inject_init(int fired, int ack)
{
	struct sigaction sa;

	if (code.armed)
		write_text(code.addr, &code.orig0, 1);
	for (int i = 0; i < nwatch; i++)
		if (!watches[i].hit)
			write_text(watches[i].addr, &watches[i].orig, 1);
	fired_fd = fired;
	ack_fd = ack;
	code.armed = 0;
	nwatch = 0;
	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigtrap;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &next) != 0)
		return -errno;
	installed = 1;
	return 0;
}

/* dde_inject_code plants a code fault: the len bytes at addr must be orig;
 * when the driver reaches addr they become repl and detail is reported.
 * -EEXIST: a code fault is already planted; -EILSEQ: the text differs. */
int dde_inject_code(unsigned long addr, const unsigned char *orig, const unsigned char *repl, int len,
		    const char *detail)
{
	static const unsigned char int3 = 0xcc;
	int err;

	if (len < 1 || len > MAX_INSN || !addr)
		return -EINVAL;
	if (code.armed)
		return -EEXIST;
	if (memcmp((void *)addr, orig, len) != 0)
		return -EILSEQ;
	code.addr = addr;
	code.orig0 = orig[0];
	code.len = len;
	memcpy(code.repl, repl, len);
	strncpy(code.detail, detail, MAX_DETAIL - 1);
	code.detail[MAX_DETAIL - 1] = 0;
	code.armed = 1;
	err = write_text(addr, &int3, 1);
	if (err)
		code.armed = 0;
	return err;
}

/* dde_inject_watch plants one-shot watch points on n function entries; an
 * entry watched before and hit since is watched again (its hit cleared),
 * one still waiting or holding a code fault is left alone. It returns how
 * many are watched in all. */
int dde_inject_watch(const unsigned long *addrs, int n)
{
	static const unsigned char int3 = 0xcc;

	for (int i = 0; i < n && nwatch < MAX_WATCH; i++) {
		int dup = code.armed && code.addr == addrs[i];

		for (int j = 0; j < nwatch && !dup; j++) {
			if (watches[j].addr != addrs[i])
				continue;
			dup = 1;
			if (watches[j].hit) {
				if (write_text(addrs[i], &int3, 1) != 0)
					return -errno;
				watches[j].hit = 0;
			}
		}
		if (dup || !addrs[i])
			continue;
		watches[nwatch] = (struct watch){ .addr = addrs[i], .orig = *(unsigned char *)addrs[i] };
		if (write_text(addrs[i], &int3, 1) != 0)
			return -errno;
		nwatch++;
	}
	return nwatch;
}

/* dde_inject_watch_hits fills hits[i] for the first n watch points (in the
 * order they were planted) and returns how many there are. */
int dde_inject_watch_hits(unsigned char *hits, int n)
{
	for (int i = 0; i < n && i < nwatch; i++)
		hits[i] = watches[i].hit;
	return nwatch;
}
