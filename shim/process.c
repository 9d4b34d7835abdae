/* process.c - this process and its threads: the shim's state (sl_g), who is a vfork child, the
 * fork handlers (a fork child gets a log of its own), each thread's id and in-flight record. Uses
 * the recorder's writer, the fd table and the language cache; init.c and record.c use it. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <linux/kcmp.h>
#include "rawsys.h"
#include "record.h"

struct sl_state sl_g;

/* Whether process pid shares its address space with ours (kcmp); when it cannot be told, yes:
 * the caller then leaves the log alone, which is always safe. */
static int shares_memory_with(int pid, int other)
{
	long r = sl_sys6(SYS_kcmp, pid, other, KCMP_VM, 0, 0, 0);
	return r == 0 || (r < 0 && r != -ESRCH);
}

int sl_in_vfork_child(void)
{
	int pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	if (pid == sl_g.pid)
		return 0;
	/* A child made by a raw clone or clone3 system call (inline, so no wrapper saw it) has its
	 * own memory, like a fork child, but no atfork handler ran: it gets its own log now. */
	if (!sl_g.ready || shares_memory_with(pid, sl_g.pid))
		return 1;
	sl_after_fork_child();
	return !sl_g.ready;
}

/* Blocks every signal while the shim holds an fd of its own, so no handler of the program can
 * run and see it; returns the old mask. */
void sl__block_signals(uint64_t *old)
{
	uint64_t all = ~0ull;
	sl_sys6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)old, 8, 0, 0);
}

void sl__restore_signals(const uint64_t *old)
{
	sl_sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)old, 0, 8, 0, 0);
}

/* Why a log could not be created, as the run counts it. */
int sl__untraced_reason(int err, const struct sl_run_header *run)
{
	if (err == -EFBIG)
		return SL_UNTRACED_FSIZE;
	if (err == -EACCES || err == -EPERM)
		return SL_UNTRACED_USER;
	if (err == -ENOENT || err == -ENOTDIR)
		return SL_UNTRACED_NO_DIR; /* the directory is gone from where it looks: chroot(2), most often */
	if (err == -ENOSPC && run && __atomic_load_n(&run->used, __ATOMIC_RELAXED) + 2 * SL_PAGE > run->budget)
		return SL_UNTRACED_BUDGET;
	return SL_UNTRACED_CREATE;
}

/* In a fork child the parent's sockets are the parent's: each becomes a record of the child's
 * own (nothing carried over) the first time the child uses it; a connection the parent accepted
 * stays a server's (a forking server's child serves it). slots: the parent's, still mapped. */
static void forget_parent_fds(const struct sl_slot *slots)
{
	uint32_t hi = sl_fd_hiwater();
	for (uint32_t fd = 0; fd < hi; fd++) {
		uint32_t ent = sl_fd_get((int)fd);
		if (sl_fd_live(ent))
			sl_fd_set((int)fd, slots[ent - SL_FD_SLOT0].role == SL_ROLE_SERVER ? SL_FD_PARENT_SERVER
											 : SL_FD_PARENT);
		else if (ent == SL_FD_NOSLOT)
			sl_fd_set((int)fd, SL_FD_PARENT);
		else if (ent & SL_FD_CLOSED)
			sl_fd_set((int)fd, SL_FD_UNKNOWN);
	}
}

void sl_after_fork_parent(void)
{
	if (!sl_g.ready)
		return;
	__atomic_fetch_add(&sl_g.log.hdr->nforks, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sl_g.log.hdr->last_fork_ns, sl_now(), __ATOMIC_RELAXED);
}

/* atfork child handler: the child gets its own log; the parent's is unmapped. */
void sl_after_fork_child(void)
{
	int e = errno;
	if (!sl_g.ready)
		return;
	struct sl_log old = sl_g.log;
	/* what the parent learned of its runtime holds for the child */
	const uint32_t inherit = SL_HDR_STACKS | SL_HDR_PY_FRAMES | SL_HDR_PY_UNREAD | SL_HDR_JAVA_FRAMES |
				 SL_HDR_JAVA_UNREAD | SL_HDR_JS_ORIGINS | SL_HDR_JS_UNREAD | SL_HDR_V8_MAP |
				 SL_HDR_IO_URING;
	int ppid = sl_g.pid;
	uint32_t inherited = old.hdr->flags & inherit;
	uint32_t why = old.hdr->lang_why;
	uint64_t mask;
	sl_g.pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	sl_g.alarm_armed = 0; /* a fork child starts with no alarm */
	sl__thread_reset();
	sl__block_signals(&mask);
	int r = sl_log_create(&sl_g.log, sl_g.dir, &sl_g.params, sl_g.pid, ppid, old.run);
	sl__restore_signals(&mask);
	forget_parent_fds(old.slots);
	sl_sys3(SYS_munmap, old.hdr, old.size, 0);
	if (r < 0) {
		sl_run_untraced(old.run, sl__untraced_reason(r, old.run));
		sl_g.ready = 0;
		sl_g.log.hdr = NULL;
		__atomic_store_n(&sl_fdcap, 0, __ATOMIC_RELEASE); /* every fd unknown: pass through */
		errno = e;
		return;
	}
	sl_g.log.hdr->flags |= SL_HDR_FORKED | inherited;
	sl_g.log.hdr->lang_why = why;
	sl_lang_forget();
	sl_slot_bias_set();
	errno = e;
}

/* ---- threads ---- */

static SL_TLS uint32_t t_tid;
SL_TLS struct sl_inflight *sl_t_infl;
static SL_TLS int t_infl_claimed;

void sl__thread_reset(void)
{
	t_tid = 0;
	sl_t_infl = NULL;
	t_infl_claimed = 0;
	sl__thread_own(NULL); /* the key's value named the parent's record */
}

uint32_t sl__tid(void)
{
	if (!t_tid)
		t_tid = (uint32_t)sl_sys3(SYS_gettid, 0, 0, 0);
	return t_tid;
}

static pthread_key_t thread_key;
static int have_thread_key;

/* A thread's in-flight record goes back to the table when the thread ends (or is cancelled). */
static void thread_gone(void *rec)
{
	if (rec && sl_g.ready)
		sl_inflight_release(rec);
}

void sl__thread_own(struct sl_inflight *f)
{
	/* keys below 32 live in the thread descriptor: setting one never allocates */
	if (have_thread_key)
		pthread_setspecific(thread_key, f);
}

void sl__threads_init(void)
{
	have_thread_key = pthread_key_create(&thread_key, thread_gone) == 0 && thread_key < 32;
}

/* The calling thread's in-flight record, claimed on its first blocking call and given back when
 * the thread ends (NULL when none can be had). */
struct sl_inflight *sl__inflight_claim(void)
{
	if (!t_infl_claimed) {
		t_infl_claimed = 1;
		sl_t_infl = sl_inflight_claim(&sl_g.log, sl__tid());
		if (sl_t_infl)
			sl__thread_own(sl_t_infl);
	}
	return sl_t_infl;
}
