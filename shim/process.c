/* process.c - this process and its threads: the shim's state (sl_g), who is a vfork child, the
 * fork handlers (a fork child gets a log of its own), each thread's id and in-flight record. Uses
 * the recorder's writer, the fd table and the language cache; init.c and record.c use it. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <linux/kcmp.h>
#include "rawsys.h"
#include "real.h"
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
SL_START void sl__block_signals(uint64_t *old)
{
	uint64_t all = ~0ull;
	sl_sys6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)old, 8, 0, 0);
}

SL_START void sl__restore_signals(const uint64_t *old)
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
 * stays a server's (a forking server's child serves it). slots: the parent's, still mapped (NULL
 * when the parent had no log, so no slot either). */
SL_START static void forget_parent_fds(const struct sl_slot *slots)
{
	uint32_t hi = sl_fd_hiwater();
	for (uint32_t fd = 0; fd < hi; fd++) {
		uint32_t ent = sl_fd_get((int)fd);
		if (sl_fd_live(ent) && slots)
			sl_fd_set((int)fd, slots[ent - SL_FD_SLOT0].role == SL_ROLE_SERVER ? SL_FD_PARENT_SERVER
											 : SL_FD_PARENT);
		else if (ent == SL_FD_NOSLOT)
			sl_fd_set((int)fd, SL_FD_PARENT);
		else if (ent & SL_FD_CLOSED)
			sl_fd_set((int)fd, SL_FD_UNKNOWN);
	}
}

/* ---- the log, made when first needed ---- */

/* The header an image has before its log is made: no tables (every cap 0), so a write that got
 * past sl__log_need by mistake is a counted drop, never a stray store. */
static struct sl_log_header pre_hdr __attribute__((aligned(SL_PAGE)));

/* Only the fields an image writes before its log is made are set (no memset): in a fork child
 * each page written is a copy, and one page is all this touches. */
SL_START void sl__log_later(int ppid, uint32_t flags)
{
	struct sl_run_header *run = sl_g.log.run;
	pre_hdr.lang_why = 0;
	pre_hdr.nforks = 0;
	pre_hdr.last_fork_ns = 0;
	pre_hdr.pid = sl_g.pid;
	pre_hdr.ppid = ppid;
	pre_hdr.flags = flags;
	pre_hdr.start_mono_ns = sl_now();
	struct timespec ts;
	sl_coarse_fn(CLOCK_REALTIME, &ts); /* the vDSO's: no libc page touched in a fork child */
	pre_hdr.start_real_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	memset(&sl_g.log, 0, sizeof sl_g.log);
	sl_g.log.hdr = &pre_hdr;
	sl_g.log.run = run;
	sl_slot_bias_set();
	__atomic_store_n(&sl_g.log_state, SL_LOG_LATER, __ATOMIC_RELEASE);
}

void sl__say(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	const char *parts[] = {"socklens: ", a, b, c, d, e, "\n"};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (parts[i])
			sl_sys3(SYS_write, 2, parts[i], strlen(parts[i]));
}

/* The log's file is made by a thread of the shim's own that does not share the program's fd
 * table (clone without CLONE_FILES: it works on a copy). The program's other threads may be
 * running now, unlike in the constructor: an fd of ours in their table, even for a moment, could
 * be taken by their dup2 or closed by their close_range, and our ftruncate or mmap would then act
 * on their file. The thread drops its copy of the program's fds at once, maps the file into the
 * memory it shares with them and closes its fd in its own table; it runs on the calling thread's thread pointer, so it makes raw system calls
 * only (no errno, no TLS), with every signal blocked. */
struct maker {
	struct sl_log log;
	int ppid;
	int r;
};

static int maker_main(void *arg)
{
	struct maker *m = arg;
	/* its copy of the program's fds goes first: held, a socket the program closes meanwhile would
	 * stay open (a listener still accepting), and the thread's table outlives the moment its
	 * creator is woken (the kernel wakes it before it drops the table) */
	sl_sys3(SYS_close_range, 0, ~0u, 0);
	m->r = sl_log_create(&m->log, sl_g.dir, &sl_g.params, sl_g.pid, m->ppid, sl_g.log.run);
	return 0;
}

#define MAKER_STACK (128u * 1024u)

static int create_apart(struct sl_log *log, int ppid)
{
	struct maker m = {.ppid = ppid, .r = -EAGAIN};
	long stack = sl_sys6(SYS_mmap, 0, MAKER_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	int t = -1, e = errno;
	static int tid; /* one maker at a time (sl__log_need): set at clone, cleared at its exit */
	if (stack >= 0 || stack < -4095)
		t = REAL(clone)(maker_main, (char *)stack + MAKER_STACK,
				CLONE_VM | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID |
					CLONE_CHILD_CLEARTID,
				&m, &tid, NULL, &tid);
	errno = e;
	if (t > 0) {
		int v;
		while ((v = __atomic_load_n(&tid, __ATOMIC_ACQUIRE)) != 0)
			sl_sys6(SYS_futex, (long)&tid, FUTEX_WAIT, v, 0, 0, 0);
	} else {
		/* no thread to be had (a limit, a filter): the old way, the fd ours for a moment */
		m.r = sl_log_create(&m.log, sl_g.dir, &sl_g.params, sl_g.pid, ppid, sl_g.log.run);
	}
	if (stack >= 0 || stack < -4095)
		sl_sys3(SYS_munmap, stack, MAKER_STACK, 0);
	*log = m.log;
	return m.r;
}

/* The log made on this thread, its fd in the program's table for a moment: only while no other
 * thread exists (the constructor, or one_thread below) and with every signal blocked, so no code
 * of the program runs meanwhile. Not inlined: tests/fdcheck.py knows its frame by name. */
__attribute__((noinline)) static int create_here(struct sl_log *log, int ppid, struct sl_run_header *run)
{
	int r = sl_log_create(log, sl_g.dir, &sl_g.params, sl_g.pid, ppid, run);
	__asm__ volatile("" ::: "memory"); /* a call, not a jump: the frame stays for an unwinder */
	return r;
}

/* What a fork child takes from its parent's log, kept mapped until now (sl_after_fork_child),
 * into its own header h (NULL: none made), and the parent's mapping let go. What the parent
 * learned of its runtime holds for the child. The header is looked at through MADV_POPULATE_READ
 * first: a log truncated meanwhile is an error there, not a SIGBUS. */
static void inherit_parent(struct sl_log_header *h)
{
	struct sl_log_header *p = sl_g.parent_hdr;
	if (!p)
		return;
	long r = h ? sl_sys3(SYS_madvise, p, SL_HEADER_SIZE, MADV_POPULATE_READ) : -1;
	if (r == 0 || r == -EINVAL /* a kernel before 5.14: read as before */) {
		h->flags |= __atomic_load_n(&p->flags, __ATOMIC_RELAXED) & SL_HDR_INHERIT;
		if (!h->lang_why)
			h->lang_why = p->lang_why;
	}
	sl_sys3(SYS_munmap, p, sl_g.parent_size, 0);
	sl_g.parent_hdr = NULL;
}

/* Makes the log (signals blocked; here: in place, else by a maker thread) and moves what the header
 * in memory gathered into it. A failure is said once per run (the budget excepted: socklens's own
 * choice, in the report) and the image goes on untraced. */
static int make_log(int here)
{
	uint64_t mask;
	struct sl_log log;
	struct sl_run_header *run = sl_g.log.run;
	sl__block_signals(&mask);
	int r = here ? create_here(&log, pre_hdr.ppid, run) : create_apart(&log, pre_hdr.ppid);
	if (r == 0) {
		struct sl_log_header *h = log.hdr;
		h->flags |= __atomic_load_n(&pre_hdr.flags, __ATOMIC_RELAXED);
		h->lang_why = pre_hdr.lang_why;
		inherit_parent(h);
		h->nforks = __atomic_load_n(&pre_hdr.nforks, __ATOMIC_RELAXED);
		h->last_fork_ns = __atomic_load_n(&pre_hdr.last_fork_ns, __ATOMIC_RELAXED);
		h->start_mono_ns = pre_hdr.start_mono_ns;
		h->start_real_ns = pre_hdr.start_real_ns;
		sl_g.log.slots = log.slots;
		sl_g.log.events = log.events;
		sl_g.log.stacks = log.stacks;
		sl_g.log.buckets = log.buckets;
		sl_g.log.mods = log.mods;
		sl_g.log.infl = log.infl;
		sl_g.log.langs = log.langs;
		sl_g.log.size = log.size;
		sl_slot_bias_set();
		__atomic_store_n(&sl_g.log.hdr, h, __ATOMIC_RELEASE);
	} else {
		int why = sl__untraced_reason(r, run);
		sl_run_untraced(run, why);
		sl_run_no_log(run, sl_g.pid);
		if (why != SL_UNTRACED_BUDGET && sl_run_first_warning(run))
			sl__say("cannot create log in '", sl_g.dir, "': ",
				why == SL_UNTRACED_FSIZE ? "the file size limit (ulimit -f) is too small" : strerror(-r),
				"; running untraced");
		__atomic_store_n(&sl_fdcap, 0, __ATOMIC_RELEASE); /* every fd unknown: pass through */
		__atomic_store_n(&sl_g.ready, 0, __ATOMIC_RELEASE);
		inherit_parent(NULL);
	}
	__atomic_store_n(&sl_g.log_state, r == 0 ? SL_LOG_MADE : SL_LOG_FAILED, __ATOMIC_RELEASE);
	sl__restore_signals(&mask);
	return r == 0;
}

/* The constructor runs: no other thread does yet, so a log made now is made in place (its fd is
 * the constructor's for a moment), not by a maker thread. */
static int constructing;

SL_START void sl__constructing(int on)
{
	constructing = on;
}

/* Whether this process has one thread: glibc's flag first (pthread_create clears it for good),
 * then the kernel's count, which also sees a thread cloned without libc (/proc/self/task links
 * "." , ".." and one entry per thread). Then nothing can take or close an fd of ours while the
 * log is made in place: this thread has its signals blocked and is the only one that could make
 * another. Most processes that make a log late are such (a fork child, a client a test suite
 * execs), and a maker thread costs them about 130 us (its stack, clone, the wait) and would show
 * in /proc/<pid>/task meanwhile. Without /proc: the maker. What this cannot see: another process
 * sharing the fd table (clone with CLONE_FILES but not CLONE_THREAD), which nothing here knows of
 * short of the maker; no program we have met does that. */
static int one_thread(void)
{
	struct stat st;
	return __libc_single_threaded &&
	       sl_sys6(SYS_newfstatat, AT_FDCWD, (long)"/proc/self/task", (long)&st, 0, 0, 0) == 0 &&
	       st.st_nlink == 3;
}

int sl__log_need(void)
{
	int st = __atomic_load_n(&sl_g.log_state, __ATOMIC_ACQUIRE);
	if (st == SL_LOG_MADE)
		return sl_g.ready;
	if (st == SL_LOG_LATER &&
	    __atomic_compare_exchange_n(&sl_g.log_state, &st, SL_LOG_MAKING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return make_log(constructing || one_thread());
	/* another thread is making it: a file's creation, once per image, with its signals blocked */
	while ((st = __atomic_load_n(&sl_g.log_state, __ATOMIC_ACQUIRE)) == SL_LOG_MAKING)
		sl_sys3(SYS_sched_yield, 0, 0, 0);
	return st == SL_LOG_MADE;
}

void sl_after_fork_parent(void)
{
	if (!sl_g.ready)
		return;
	__atomic_fetch_add(&sl_g.log.hdr->nforks, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sl_g.log.hdr->last_fork_ns, sl_now(), __ATOMIC_RELAXED);
}

/* atfork child handler: the child will make its own log when it has something to record (most
 * fork children exec at once, or never touch a socket). Nothing here may touch a page the child
 * need not: a write is a copy, and even a read of a page the parent's log, libc's text or ours
 * shares with the parent is a fault of its own in the child (fork copies no page table entries of
 * a shared mapping), 10 to 30 µs each on a VM like ours. So the parent's log stays mapped, unread,
 * until the child makes its own (an exec unmaps it for nothing); no libc function is called (no
 * errno to save: every call here is a raw system call or the vDSO's clock); and the thread's key
 * keeps naming the parent's in-flight record, which thread_gone leaves alone. */
SL_START void sl_after_fork_child(void)
{
	if (!sl_g.ready)
		return;
	int had_log = __atomic_load_n(&sl_g.log_state, __ATOMIC_ACQUIRE) == SL_LOG_MADE;
	int ppid = sl_g.pid;
	/* a child of a child without a log inherits what that one would have: its header in memory,
	 * and the log above it (still mapped) */
	uint32_t inherited = had_log ? 0 : pre_hdr.flags & SL_HDR_INHERIT;
	uint32_t why = had_log ? 0 : pre_hdr.lang_why;
	if (had_log) {
		sl_g.parent_hdr = sl_g.log.hdr;
		sl_g.parent_size = sl_g.log.size;
	}
	sl_g.pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	sl_g.alarm_armed = 0; /* a fork child starts with no alarm */
	sl__thread_reset();
	forget_parent_fds(had_log ? sl_g.log.slots : NULL);
	sl__log_later(ppid, SL_HDR_FORKED | inherited);
	pre_hdr.lang_why = why;
	/* named in the run's table until it makes a log: the report counts it, and finds the parent
	 * of a grandchild through it */
	sl_run_exec(sl_g.log.run, sl_g.pid, ppid, (int)SL_EXEC_ARRIVED, program_invocation_name, pre_hdr.start_mono_ns);
	sl_lang_forget();
}

/* ---- threads ---- */

static SL_TLS uint32_t t_tid;
SL_TLS struct sl_inflight *sl_t_infl;
static SL_TLS int t_infl_claimed;

SL_START void sl__thread_reset(void)
{
	t_tid = 0;
	sl_t_infl = NULL;
	t_infl_claimed = 0;
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
	/* a fork child's thread may still name its parent's record (sl_after_fork_child) */
	if (rec && sl_g.ready && (char *)rec >= (char *)sl_g.log.hdr &&
	    (char *)rec < (char *)sl_g.log.hdr + sl_g.log.size)
		sl_inflight_release(rec);
}

void sl__thread_own(struct sl_inflight *f)
{
	/* keys below 32 live in the thread descriptor: setting one never allocates */
	if (have_thread_key)
		pthread_setspecific(thread_key, f);
}

SL_START void sl__threads_init(void)
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
