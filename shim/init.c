/* init.c - the constructor: binds real functions, reads the environment, checks the run directory,
 * maps its control file and makes the log. It is one of the two places the shim opens files of
 * its own in the program's fd table (before the program's code runs, signals blocked, closed
 * before returning); the other is a fork child's log maker when no thread of its own can be had
 * (process.c). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/kcmp.h>
#include "rawsys.h"
#include "real.h"
#include "record.h"

SL_START static uint64_t env_u64(const char *name, uint64_t def, uint64_t lo, uint64_t hi)
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

SL_START static void read_params(struct sl_log_params *p)
{
	sl_log_params_default(p);
	p->slots = (uint32_t)env_u64("SOCKLENS_SLOTS", p->slots, 16, 1u << 24);
	p->events = (uint32_t)env_u64("SOCKLENS_EVENTS", p->events, 16, 1u << 22);
	p->stacks = (uint32_t)env_u64("SOCKLENS_STACKS", p->stacks, 16, 1u << 20);
	p->slow_ns = env_u64("SOCKLENS_SLOW_MS", p->slow_ns / 1000000, 1, 86400000) * 1000000ull;
	p->trace = env_u64("SOCKLENS_TRACE", 0, 0, 1) == 1;
	p->no_argv = env_u64("SOCKLENS_NO_ARGV", 0, 0, 1) == 1;
	p->no_lang_frames = env_u64("SOCKLENS_NO_LANG_FRAMES", 0, 0, 1) == 1;
	p->v8_perf_map = env_u64("SOCKLENS_V8_PERF_MAP", 0, 0, 1) == 1;
}

SL_START static uint32_t fd_capacity(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20))
		return 1u << 20;
	return rl.rlim_max < 1024 ? 1024 : (uint32_t)rl.rlim_max;
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

/* A trusted place to make directories under: a real directory that is ours or root's, and that
 * nobody else can write to unless it is sticky (as /tmp and /var/tmp): entries in it are then
 * only replaced by their owners. */
static int trusted_parent(const struct stat *st, uid_t me)
{
	return S_ISDIR(st->st_mode) && (st->st_uid == me || st->st_uid == 0) &&
	       (!(st->st_mode & 022) || (st->st_mode & S_ISVTX));
}

/* SOCKLENS_DIR's missing parents, made as `mkdir -p` would (0755 less the umask) so that a unit
 * file can name /var/lib/socklens/NAME on a machine without /var/lib/socklens. The path is walked
 * from / one component at a time: every directory on the way must be trusted_parent(), a symbolic
 * link is followed only if root or we own it (only they can replace it), and a component that is
 * missing is made with mkdirat under the one before, opened with O_NOFOLLOW and must then be a
 * directory of ours that nobody else can write. Returns NULL or why not. */
static const char *make_parents(const char *dir, char *why, size_t len)
{
	char path[sizeof sl_g.dir];
	struct stat st;
	uid_t me = (uid_t)sl_sys3(SYS_geteuid, 0, 0, 0);
	size_t n = strlen(dir);
	if (dir[0] != '/' || n >= sizeof path)
		return NULL; /* relative: left to mkdir's own error */
	memcpy(path, dir, n + 1);
	char *last = strrchr(path, '/');
	while (last && last > path && !last[1]) { /* trailing slashes */
		*last = 0;
		last = strrchr(path, '/');
	}
	if (!last || last == path)
		return NULL;
	*last = 0; /* path is now the run directory's parent */
	const char *fail = NULL;
	long fd = sl_sys3(SYS_openat, AT_FDCWD, (long)"/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *comp = path + 1;
	while (fd >= 0 && !fail && comp) {
		char *next = strchr(comp, '/');
		if (next)
			*next = 0;
		if (!*comp) { /* a doubled slash */
			comp = next ? next + 1 : NULL;
			continue;
		}
		if (sl_sys3(SYS_fstat, fd, (long)&st, 0) != 0 || !trusted_parent(&st, me)) {
			if (comp > path + 1)
				comp[-1] = 0;
			snprintf(why, len, "a directory above it is missing, and '%s' is not a safe place to make it "
				 "(another user owns it or can write to it)", comp > path + 1 ? path : "/");
			sl_sys3(SYS_close, fd, 0, 0);
			return why;
		}
		long sub, r = sl_sys6(SYS_newfstatat, fd, (long)comp, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0);
		if (r == -ENOENT) {
			r = sl_sys3(SYS_mkdirat, fd, (long)comp, 0755);
			sub = r == 0 || r == -EEXIST
				      ? sl_sys3(SYS_openat, fd, (long)comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				      : r;
			if (sub >= 0 && (sl_sys3(SYS_fstat, sub, (long)&st, 0) != 0 || st.st_uid != me || (st.st_mode & 022)))
				fail = "a directory on the way belongs to another user or others can write to it";
		} else if (r == 0 && S_ISLNK(st.st_mode) && st.st_uid != me && st.st_uid != 0) {
			sub = -1;
			fail = "a symbolic link on the way belongs to another user";
		} else {
			sub = r != 0 ? r : sl_sys3(SYS_openat, fd, (long)comp, O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		if (sub < 0 && !fail)
			fail = strerror((int)-sub);
		sl_sys3(SYS_close, fd, 0, 0);
		fd = sub;
		if (next)
			*next = '/';
		comp = next ? next + 1 : NULL;
	}
	if (fd >= 0)
		sl_sys3(SYS_close, fd, 0, 0);
	if (!fail)
		return NULL;
	snprintf(why, len, "cannot make its parent directories: %s", fail);
	return why;
}

/* The run directory must be ours: created 0700 when missing (with its parents, make_parents),
 * else a real directory owned by us that nobody else can write. Returns NULL when fine, else why
 * not, with what to do about it. */
SL_START static const char *unsafe_dir(const char *dir, char *why, size_t len)
{
	struct stat st;
	uid_t me = (uid_t)sl_sys3(SYS_geteuid, 0, 0, 0);
	/* looked at first: every process of a run but the first finds it there */
	long r = sl_sys6(SYS_newfstatat, AT_FDCWD, (long)dir, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0);
	if (r == -ENOENT) {
		r = sl_sys3(SYS_mkdir, dir, 0700, 0);
		if (r == -ENOENT) {
			const char *e = make_parents(dir, why, len);
			if (e)
				return e;
			r = sl_sys3(SYS_mkdir, dir, 0700, 0);
		}
		if (r == 0)
			return NULL;
		if (r != -EEXIST)
			return strerror((int)-r);
		r = sl_sys6(SYS_newfstatat, AT_FDCWD, (long)dir, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0);
	}
	if (r != 0)
		return "cannot be examined";
	if (!S_ISDIR(st.st_mode))
		return "not a directory (or a symbolic link)";
	/* a shared directory (a Kubernetes emptyDir is 0777) first: a new subdirectory is the way out */
	if (st.st_mode & 022)
		return "other users can write to it: name a new subdirectory of it instead "
		       "(SOCKLENS_DIR=DIR/run is made 0700, for this user alone)";
	if (st.st_uid != me) {
		snprintf(why, len, "it belongs to uid %u and this process runs as uid %u: make it theirs "
			 "(install -d -m 0700 -o %u DIR), or name a directory that does not exist yet under one "
			 "this user can write", (unsigned)st.st_uid, (unsigned)me, (unsigned)me);
		return why;
	}
	return NULL;
}

/* The log space of a run this process starts: SOCKLENS_MAX_LOG_SPACE, else half what dir's
 * filesystem has free (at most 1 GiB). */
SL_START static uint64_t budget(const char *dir)
{
	return env_u64("SOCKLENS_MAX_LOG_SPACE", 0, 1u << 20, ~0ull) ?: sl_budget_default(dir);
}

/* The run's control file: the budget, the counters, the exec table (where this image marks the
 * exec that started it as arrived). 1 when this image makes its log at once: the run's first
 * program (no traced process exec'd it, or there is no control file to say), or one exec'd by an
 * image that had a log (the same process's log goes on); 0 when it makes it when first needed. */
SL_START static int attach_run(void)
{
	struct sl_run_header *run = sl_run_attach(sl_g.dir, budget, sl_g.params.no_argv ? SL_RUN_NO_ARGV : 0);
	if (run && (run->flags & SL_RUN_NO_ARGV))
		sl_g.params.no_argv = 1;
	if (run)
		sl_g.run_size = run->file_size;
	sl_g.log.run = run;
	/* a program no traced process exec'd (the run's first) names itself */
	uint32_t why = run ? sl_run_arrived(run, sl_g.pid) : 0;
	if (why)
		return (why & SL_EXEC_LOGGED) != 0;
	sl_run_exec(run, sl_g.pid, (int)sl_sys3(SYS_getppid, 0, 0, 0), (int)SL_EXEC_ARRIVED, program_invocation_name,
		    sl_now());
	return 1;
}

SL_START static int go_note(struct dl_phdr_info *info, size_t size, void *found)
{
	(void)size;
	uint32_t len;
	*(int *)found = sl__elf_note(info->dlpi_phdr, info->dlpi_phnum, info->dlpi_addr, 4 /* NT_GO_BUILDID */, "Go",
				     &len, 0) != NULL;
	return 1; /* the program is the first object: the rest are libraries */
}

/* The program is Go's (built with cgo: it is dynamic and loads the preload): its Go build ID note,
 * read in its own program headers (mapped: no file is read). */
SL_START static int go_program(void)
{
	int found = 0;
	dl_iterate_phdr(go_note, &found);
	return found;
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
	 * socklens run's tracer records it when it follows the program; when it does not (started
	 * by a program run without the tracer), the exec is said to be unfollowed, below */
	int go = go_program();
	if (go && getenv("SOCKLENS_TRACER"))
		goto out;
	strcpy(sl_g.dir, dir);
	strcpy(sl_g.top, dir);
	read_params(&sl_g.params);
	sl_g.pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	sl__block_signals(&mask);
	/* a program exec'd as another user than the run directory's logs in that user's subdirectory,
	 * made when a process of the run changed to that user (hook_user.c, which checks it) */
	char reason[sizeof sl_g.dir + 256];
	why = unsafe_dir(sl_g.dir, reason, sizeof reason);
	if (why && sl__user_dir_for(sl_g.top, (uid_t)sl_sys3(SYS_geteuid, 0, 0, 0), sl_g.dir, sizeof sl_g.dir) == 0)
		why = NULL;
	if (why) {
		sl__say("cannot use log directory '", sl_g.dir, "': ", why, "; running untraced");
		goto restore;
	}
	if (sl_fdtab_init(fd_capacity()) < 0)
		goto restore;
	int first = attach_run();
	if (go) {
		sl_run_not_followed(sl_g.log.run, sl_g.pid, SL_UNTRACED_STATIC);
		goto restore;
	}
	sl__inject_init();
	sl__log_later((int)sl_sys3(SYS_getppid, 0, 0, 0), 0);
	/* The run's first program makes its log now: the report's anchor, with its identity and its
	 * exit; so does a program exec'd by an image that had one (the process's log goes on). Any
	 * other exec'd program, like a fork child, makes it when it first has something to record
	 * (process.c): a compiler or a shell a build starts makes none, and the exec record it
	 * marked arrived names it in the report. */
	sl__constructing(1);
	if (first && !sl__log_need())
		goto restore;
	sl_stack_init();
	sl_py_init();
	if (!sl_g.params.no_lang_frames)
		sl_v8_init();
	sl_slow_ns = sl_g.params.slow_ns;
	sl_rec_shim.trace = sl_g.params.trace;
	sl__threads_init();
	pthread_atfork(NULL, sl_after_fork_parent, sl_after_fork_child);
	on_exit(on_exit_cb, NULL);
	sl__sigbus_install();
	__atomic_store_n(&sl_g.ready, 1, __ATOMIC_RELEASE);
	/* An image with its log looks at every fd it was handed (socket activation, a listener
	 * passed on). One that makes its log later looks at each when it first uses it (classify,
	 * record.c), which costs nothing when it uses none: a socket it was handed and never
	 * touched is in the log of the process that made it. */
	if (first) {
		scan_inherited();
		__atomic_fetch_or(&sl_g.log.hdr->flags, SL_HDR_INHERITED, __ATOMIC_RELAXED);
	}
restore:
	sl__constructing(0);
	sl__restore_signals(&mask);
out:
	errno = e;
}
