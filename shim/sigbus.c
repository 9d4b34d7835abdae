/* sigbus.c - the program survives its log being truncated under it (logrotate's copytruncate, a
 * `: > file`): touching a shared page past a file's new end raises SIGBUS, which would kill a
 * program that never asked for socklens's pages.
 *
 * The shim handles SIGBUS itself. A fault inside the log (or the run's control file) replaces the
 * whole mapping with anonymous memory, so the faulting write (and every later one, in any thread)
 * lands in memory nobody reads; the process goes on untraced and the run counts a lost log. Any
 * other SIGBUS goes where the program said: its handler is called as the kernel would call it, a
 * default disposition is restored and the signal delivered again (the same death, the same core),
 * an ignored one is ignored. sigaction() and signal() report the program's own disposition, never
 * ours. What cannot be covered: a thread that blocks SIGBUS (the kernel then kills the process on
 * a fault, handler or not), and a program that sets its handler with a raw system call. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include "rawsys.h"
#include "real.h"
#include "record.h"

static struct sigaction prog; /* the program's SIGBUS disposition, as it set or found it */
static int installed;

static int inside(const void *addr, const void *base, size_t len)
{
	return base && (const char *)addr >= (const char *)base && (const char *)addr < (const char *)base + len;
}

static void anonymous(void *at, uint64_t len)
{
	sl_sys6(SYS_mmap, (long)at, (long)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* Each mapping is replaced once, by the first thread to fault in it. Another thread faulting in it
 * meanwhile (two threads recording at once) returns and retries its access, faulting again until
 * the replacement is in place: the region stays known as ours after the run's pointer is cleared
 * (a fault there taken for the program's would end the process). */
static int log_lost, run_lost;
static struct sl_run_header *run_region; /* the run's mapping, once it is being replaced */

/* The run's control file is gone: the log goes on without a budget (as a log made without one).
 * The access that faulted is retried on the new memory, so it holds a budget nothing exceeds. */
static void lose_run(void)
{
	struct sl_run_header *run = __atomic_load_n(&sl_g.log.run, __ATOMIC_SEQ_CST);
	if (!run || __atomic_exchange_n(&run_lost, 1, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&run_region, run, __ATOMIC_SEQ_CST);
	anonymous(run, sl_g.run_size);
	run->budget = ~0ull;
	__atomic_store_n(&sl_g.log.run, NULL, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&sl_g.ready, __ATOMIC_ACQUIRE))
		__atomic_fetch_or(&sl_g.log.hdr->flags, SL_HDR_RUN_LOST, __ATOMIC_RELAXED);
}

/* The log's pages are gone: anonymous memory takes their place, and recording stops. */
static void lose_log(void)
{
	if (__atomic_exchange_n(&log_lost, 1, __ATOMIC_SEQ_CST))
		return;
	struct sl_run_header *run = __atomic_load_n(&sl_g.log.run, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sl_g.ready, 0, __ATOMIC_RELEASE);
	anonymous(sl_g.log.hdr, sl_g.log.size);
	/* the run's file may be intact (then count the loss) or truncated too: MADV_POPULATE_WRITE
	 * tells the two apart with an error where a touch would fault */
	if (run && sl_populate(run, SL_HEADER_SIZE) == 0)
		__atomic_fetch_add(&run->logs_lost, 1, __ATOMIC_RELAXED);
	else if (run)
		lose_run();
}

static void set_kernel(void (*fn)(int))
{
	struct sigaction a;
	memset(&a, 0, sizeof a);
	a.sa_handler = fn;
	REAL(sigaction)(SIGBUS, &a, NULL);
}

/* A SIGBUS that is not about the log: what the program asked for. */
static void pass_on(int sig, siginfo_t *si, void *uc)
{
	struct sigaction a = prog;
	int fault = si->si_code > 0; /* raised by the hardware, not sent */
	if (a.sa_handler == SIG_IGN && !fault)
		return;
	if (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN) {
		/* the fault happens again on return and ends the process as it would have; a signal
		 * sent by kill is sent again, to be delivered when this handler returns */
		set_kernel(SIG_DFL);
		if (!fault)
			sl_sys3(SYS_tgkill, sl_sys3(SYS_getpid, 0, 0, 0), sl_sys3(SYS_gettid, 0, 0, 0), sig);
		return;
	}
	if (a.sa_flags & SA_RESETHAND)
		prog.sa_handler = SIG_DFL;
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
}

/* Replacing one mapping may touch the other (lose_run marks the log), which another thread may be
 * truncating right then: SIGBUS is unblocked meanwhile, so that fault comes back here (and is
 * ours) instead of killing the process, as a fault with SIGBUS blocked does. The mask the program
 * had is restored when the handler returns. */
static void ours(void (*lose)(void))
{
	uint64_t bus = 1ull << (SIGBUS - 1);
	sl_sys6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&bus, 0, 8, 0, 0);
	lose();
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	/* the faulting access is retried on return, on the anonymous memory */
	if (si->si_code > 0 && inside(si->si_addr, sl_g.log.hdr, sl_g.log.size)) {
		ours(lose_log);
		return;
	}
	/* the pointer first: it is cleared only after run_region is set, so one of the two names it */
	struct sl_run_header *run = __atomic_load_n(&sl_g.log.run, __ATOMIC_SEQ_CST);
	if (!run)
		run = __atomic_load_n(&run_region, __ATOMIC_SEQ_CST);
	if (si->si_code > 0 && inside(si->si_addr, run, sl_g.run_size)) {
		ours(lose_run);
		return;
	}
	pass_on(sig, si, uc);
}

/* Registers our handler in the kernel with the program's mask and flags. */
static void register_ours(const struct sigaction *like)
{
	struct sigaction k;
	memset(&k, 0, sizeof k);
	k.sa_sigaction = on_sigbus;
	k.sa_mask = like->sa_mask;
	k.sa_flags = SA_SIGINFO | (like->sa_flags & (SA_ONSTACK | SA_RESTART | SA_NODEFER));
	REAL(sigaction)(SIGBUS, &k, NULL);
}

SL_START void sl__sigbus_install(void)
{
	if (REAL(sigaction)(SIGBUS, NULL, &prog) != 0)
		return;
	register_ours(&prog);
	installed = 1;
}

/* Before an exec: a SIGBUS the program ignores stays ignored in the new image (a caught one
 * becomes the default there, as the program's own handler would). */
void sl__sigbus_exec(int done)
{
	if (installed && prog.sa_handler == SIG_IGN)
		done ? register_ours(&prog) : set_kernel(SIG_IGN);
}

static int bus_action(const struct sigaction *act, struct sigaction *old)
{
	struct sigaction prev = prog;
	if (act) {
		prog = *act;
		register_ours(act);
	}
	if (old)
		*old = prev;
	return 0;
}

SL_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig != SIGBUS || !installed)
		return REAL(sigaction)(sig, act, old);
	return bus_action(act, old);
}

SL_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* signal() with glibc's semantics (BSD: restart, the signal masked in its handler); sysv_signal
 * the System V ones (one shot, not masked). */
static sighandler_t bus_signal(sighandler_t h, int flags)
{
	struct sigaction a, old;
	memset(&a, 0, sizeof a);
	a.sa_handler = h;
	a.sa_flags = flags;
	if (!(flags & SA_NODEFER))
		sigaddset(&a.sa_mask, SIGBUS);
	bus_action(&a, &old);
	return old.sa_handler;
}

SL_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	if (sig != SIGBUS || !installed || h == SIG_ERR)
		return REAL(signal)(sig, h);
	return bus_signal(h, SA_RESTART);
}

SL_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

SL_EXPORT sighandler_t ssignal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

SL_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	if (sig != SIGBUS || !installed || h == SIG_ERR)
		return REAL(sysv_signal)(sig, h);
	return bus_signal(h, SA_RESETHAND | SA_NODEFER);
}

SL_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	return sysv_signal(sig, h);
}
