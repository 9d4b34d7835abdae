/* init.c - the constructor: binds real functions, reads the environment, creates the log; and
 * the fork handlers. These are the only places the shim opens files of its own: before the
 * program's code runs (or runs again, in a fork child), with signals blocked, closed before
 * returning. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

/* One line on stderr, written with raw syscalls (our own write() wrapper is not needed here). */
static void say(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	const char *parts[] = {"socklens: ", a, b, c, d, e, "\n"};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (parts[i])
			sl_sys3(SYS_write, 2, parts[i], strlen(parts[i]));
}

static uint64_t env_u64(const char *name, uint64_t def, uint64_t lo, uint64_t hi)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v < lo || v > hi)
		return def;
	return v;
}

static void read_params(struct sl_log_params *p)
{
	sl_log_params_default(p);
	p->slots = (uint32_t)env_u64("SOCKLENS_SLOTS", p->slots, 16, 1u << 20);
	p->events = (uint32_t)env_u64("SOCKLENS_EVENTS", p->events, 16, 1u << 22);
	p->stacks = (uint32_t)env_u64("SOCKLENS_STACKS", p->stacks, 16, 1u << 20);
	p->slow_ns = env_u64("SOCKLENS_SLOW_MS", p->slow_ns / 1000000, 1, 86400000) * 1000000ull;
	p->trace = env_u64("SOCKLENS_TRACE", 0, 0, 1) == 1;
	p->no_argv = env_u64("SOCKLENS_NO_ARGV", 0, 0, 1) == 1;
	p->no_lang_frames = env_u64("SOCKLENS_NO_LANG_FRAMES", 0, 0, 1) == 1;
	p->v8_perf_map = env_u64("SOCKLENS_V8_PERF_MAP", 0, 0, 1) == 1;
}

static uint32_t fd_capacity(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20))
		return 1u << 20;
	return rl.rlim_max < 1024 ? 1024 : (uint32_t)rl.rlim_max;
}

/* Blocks every signal while the shim holds an fd of its own, so no handler of the program can
 * run and see it; returns the old mask. */
static void block_all(uint64_t *old)
{
	uint64_t all = ~0ull;
	sl_sys6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)old, 8, 0, 0);
}

static void restore_mask(const uint64_t *old)
{
	sl_sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)old, 0, 8, 0, 0);
}

void sl__record_exit(int status)
{
	int e = errno;
	if (sl_g.ready && !sl_in_vfork_child()) {
		struct sl_log_header *h = sl_g.log.hdr;
		h->exit_status = status;
		h->end_mono_ns = sl_now();
		__atomic_store_n(&h->end_reason, SL_END_EXIT, __ATOMIC_RELEASE);
	}
	errno = e;
}

static void on_exit_cb(int status, void *arg)
{
	(void)arg;
	sl__record_exit(status);
}

/* Why a log could not be created, as the run counts it. */
static int untraced_reason(int err, const struct sl_run_header *run)
{
	if (err == -EFBIG)
		return SL_UNTRACED_FSIZE;
	if (err == -EACCES || err == -EPERM)
		return SL_UNTRACED_USER;
	if (err == -ENOSPC && run && __atomic_load_n(&run->used, __ATOMIC_RELAXED) + 2 * SL_PAGE > run->budget)
		return SL_UNTRACED_BUDGET;
	return SL_UNTRACED_CREATE;
}

/* In a fork child the parent's sockets are the parent's: each becomes a record of the child's
 * own (role inherited, nothing carried over) the first time the child uses it. */
static void forget_parent_fds(void)
{
	uint32_t hi = sl_fd_hiwater();
	for (uint32_t fd = 0; fd < hi; fd++) {
		uint32_t ent = sl_fd_get((int)fd);
		if (sl_fd_live(ent) || ent == SL_FD_NOSLOT)
			sl_fd_set((int)fd, SL_FD_PARENT);
		else if (ent & SL_FD_CLOSED)
			sl_fd_set((int)fd, SL_FD_UNKNOWN);
	}
}

static void before_fork_parent(void)
{
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
	block_all(&mask);
	int r = sl_log_create(&sl_g.log, sl_g.dir, &sl_g.params, sl_g.pid, ppid, old.run);
	restore_mask(&mask);
	sl_sys3(SYS_munmap, old.hdr, old.size, 0);
	if (r < 0) {
		sl_run_untraced(old.run, untraced_reason(r, old.run));
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
	forget_parent_fds();
	errno = e;
}

/* Sockets already open at start: exec'd with them, socket activation, inetd. Their stacks would
 * only show the loader running our constructor, so none is taken. */
static void scan_inherited(void)
{
	char buf[4096];
	long dfd = sl_sys3(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	for (;;) {
		long n = sl_sys3(SYS_getdents64, dfd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d =
				(void *)(buf + off);
			int fd = atoi(d->name);
			if (d->name[0] >= '0' && d->name[0] <= '9' && fd != dfd)
				sl__slot_inherited(fd);
			off += d->reclen;
		}
	}
	sl_sys3(SYS_close, dfd, 0, 0);
}

/* The run directory must be ours: created 0700 when missing, else a real directory owned by us
 * that nobody else can write. Returns NULL when fine, else why not. */
static const char *unsafe_dir(const char *dir)
{
	struct stat st;
	long r = sl_sys3(SYS_mkdir, dir, 0700, 0);
	if (r == 0)
		return NULL;
	if (r != -EEXIST)
		return strerror((int)-r);
	if (sl_sys6(SYS_newfstatat, AT_FDCWD, (long)dir, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0) != 0)
		return "cannot be examined";
	if (!S_ISDIR(st.st_mode))
		return "not a directory (or a symbolic link)";
	if (st.st_uid != (uid_t)sl_sys3(SYS_geteuid, 0, 0, 0))
		return "it belongs to another user";
	if (st.st_mode & 022)
		return "other users can write to it";
	return NULL;
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

static int create_log(void)
{
	struct sl_run_header *run = sl_run_attach(sl_g.dir, env_u64("SOCKLENS_MAX_LOG_SPACE", sl_budget_default(sl_g.dir),
								      1u << 20, ~0ull),
						  sl_g.params.no_argv ? SL_RUN_NO_ARGV : 0);
	if (run && (run->flags & SL_RUN_NO_ARGV))
		sl_g.params.no_argv = 1;
	if (run)
		sl_g.run_size = run->file_size;
	int r = sl_log_create(&sl_g.log, sl_g.dir, &sl_g.params, sl_g.pid, (int)sl_sys3(SYS_getppid, 0, 0, 0), run);
	if (r == 0)
		return 0;
	int why = untraced_reason(r, run);
	sl_run_untraced(run, why);
	/* the budget is socklens's own choice and the report says what it cost, so the program's
	 * stderr is left alone; a log that cannot be made at all is said, once per run */
	if (why != SL_UNTRACED_BUDGET && sl_run_first_warning(run))
		say("cannot create log in '", sl_g.dir, "': ",
		    why == SL_UNTRACED_FSIZE ? "the file size limit (ulimit -f) is too small" : strerror(-r),
		    "; running untraced");
	if (run)
		sl_sys3(SYS_munmap, run, run->file_size, 0);
	return r;
}

__attribute__((constructor)) static void sl_init(void)
{
	int e = errno;
	uint64_t mask;
	sl_real_bind_all();
	sl_clock_init();
	const char *dir = getenv("SOCKLENS_DIR"), *why;
	if (!dir || !*dir || strlen(dir) >= sizeof sl_g.dir - 32)
		goto out; /* not asked to record: stay a pass-through */
	/* a Go program built with cgo loads the preload, but its sockets never go through libc:
	 * socklens run's tracer records it (it exports this cgo symbol to C) */
	if (getenv("SOCKLENS_TRACER") && dlsym(RTLD_DEFAULT, "_cgo_topofstack"))
		goto out;
	strcpy(sl_g.dir, dir);
	strcpy(sl_g.top, dir);
	read_params(&sl_g.params);
	sl_g.pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	block_all(&mask);
	/* a program exec'd as another user than the run directory's logs in that user's subdirectory,
	 * made when a process of the run changed to that user (hook_user.c, which checks it) */
	why = unsafe_dir(sl_g.dir);
	if (why && sl__user_dir_for(sl_g.top, (uid_t)sl_sys3(SYS_geteuid, 0, 0, 0), sl_g.dir, sizeof sl_g.dir) == 0)
		why = NULL;
	if (why) {
		say("cannot use log directory '", sl_g.dir, "': ", why, "; running untraced");
		goto restore;
	}
	if (create_log() < 0 || sl_fdtab_init(fd_capacity()) < 0) {
		sl_g.log.hdr = NULL;
		goto restore;
	}
	sl_slot_bias_set();
	sl_stack_init();
	sl_py_init();
	if (!sl_g.params.no_lang_frames)
		sl_v8_init();
	sl_slow_ns = sl_g.params.slow_ns;
	have_thread_key = pthread_key_create(&thread_key, thread_gone) == 0 && thread_key < 32;
	pthread_atfork(before_fork_parent, sl_after_fork_parent, sl_after_fork_child);
	on_exit(on_exit_cb, NULL);
	sl__sigbus_install();
	__atomic_store_n(&sl_g.ready, 1, __ATOMIC_RELEASE);
	sl__iouring_init();
	scan_inherited();
	sl_g.log.hdr->flags |= SL_HDR_INHERITED;
restore:
	restore_mask(&mask);
out:
	errno = e;
}
