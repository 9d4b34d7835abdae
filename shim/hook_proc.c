/* hook_proc.c - process lifecycle wrappers: the exec family, _exit, dlclose, and the ways to make a
 * child that skip fork's atfork handlers (_Fork, clone, the raw clone system calls). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sched.h>
#include "rawsys.h"
#include "real.h"
#include "strbuf.h"
#include "record.h"
#include "unwind.h"

extern char **environ;

/* Marks this image as replaced; undone by exec_failed(). A vfork child shares our
 * memory, so it must not touch the parent's log. */
SL_START static void exec_begin(void)
{
	int e = errno;
	sl__sigbus_exec(0);
	if (sl_g.ready && !sl_in_vfork_child()) {
		sl_g.log.hdr->end_mono_ns = sl_now();
		__atomic_store_n(&sl_g.log.hdr->end_reason, SL_END_EXEC, __ATOMIC_RELEASE);
	}
	errno = e;
}

/* checked: what sl__check_exec did for this exec (0: nothing, it was not asked). */
SL_START static void exec_failed(int checked)
{
	int e = errno;
	sl__sigbus_exec(1);
	if (sl_g.ready && (checked & SL_CHECKED_RECORDED)) /* (a vfork child's too: the table is shared) */
		sl_run_exec_failed(sl_g.log.run, (int)sl_sys3(SYS_getpid, 0, 0, 0));
	if (checked & SL_CHECKED_FOLLOWED)
		sl__unfollow();
	if (sl_g.ready && !sl_in_vfork_child())
		__atomic_store_n(&sl_g.log.hdr->end_reason, SL_END_NONE, __ATOMIC_RELEASE);
	errno = e;
}

SL_START SL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	int checked = sl__check_exec(path, envp);
	exec_begin();
	int r = REAL(execve)(path, argv, envp);
	exec_failed(checked);
	return r;
}

SL_START SL_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SL_START SL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int checked = sl__check_execvp(file, envp, getenv("PATH")); /* execvpe is not async-signal-safe either */
	exec_begin();
	int r = REAL(execvpe)(file, argv, envp);
	exec_failed(checked);
	return r;
}

SL_START SL_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

SL_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	exec_begin();
	int r = REAL(execveat)(dirfd, path, argv, envp, flags);
	exec_failed(0);
	return r;
}

SL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	exec_begin();
	int r = REAL(fexecve)(fd, argv, envp);
	exec_failed(0);
	return r;
}

/* posix_spawn and posix_spawnp: glibc's child execs inside libc, not through the wrappers above
 * (make runs a recipe without shell syntax this way, and Rust's Command). The exec is recorded for
 * the child once its pid is known, dated from before the spawn; and when the run's tracer follows
 * Go and static programs, this thread is followed for the spawn alone, so the child is the
 * tracer's from its first instruction (its exec gives it the filter), then let go. */
static int spawn(int search, pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	int e = errno;
	struct sl_strbuf b;
	const char *path = sl_g.ready ? sl__search_path(file, search ? getenv("PATH") : NULL, &b) : NULL;
	uint64_t t0 = sl_now();
	int followed = sl__follow_for(path);
	errno = e;
	pid_t child = 0, *where = pid ? pid : &child; /* (glibc writes the program's pid as it would) */
	int r = search ? REAL(posix_spawnp)(where, file, fa, attr, argv, envp)
		       : REAL(posix_spawn)(where, file, fa, attr, argv, envp);
	e = errno;
	if (followed)
		sl__unfollow();
	if (r == 0 && path)
		sl__spawned(*where, path, envp, t0);
	errno = e;
	return r;
}

SL_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn(0, pid, path, fa, attr, argv, envp);
}

SL_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn(1, pid, file, fa, attr, argv, envp);
}

/* execl*: count the arguments, then gather them on our stack as glibc does. */
SL_START static int count_args(va_list ap)
{
	int n = 1;
	while (va_arg(ap, char *))
		n++;
	return n;
}

SL_START static void gather_args(char **argv, const char *arg0, va_list ap, int n)
{
	argv[0] = (char *)arg0;
	for (int i = 1; i < n; i++)
		argv[i] = va_arg(ap, char *);
	argv[n] = NULL;
}

SL_START SL_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap, ap2;
	va_start(ap, arg);
	va_copy(ap2, ap);
	int n = count_args(ap);
	char *argv[n + 1];
	gather_args(argv, arg, ap2, n);
	va_end(ap2);
	va_end(ap);
	return execve(path, argv, environ);
}

SL_START SL_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap, ap2;
	va_start(ap, arg);
	va_copy(ap2, ap);
	int n = count_args(ap);
	char *argv[n + 1];
	gather_args(argv, arg, ap2, n);
	va_end(ap2);
	va_end(ap);
	return execvpe(file, argv, environ);
}

SL_START SL_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap, ap2;
	va_start(ap, arg);
	va_copy(ap2, ap);
	int n = count_args(ap);
	char *argv[n + 1];
	gather_args(argv, arg, ap2, n);
	char *const *envp = va_arg(ap2, char *const *);
	va_end(ap2);
	va_end(ap);
	return execve(path, argv, envp);
}

/* exit() and returning from main() are seen by the on_exit handler in init.c;
 * _exit skips it, so it is recorded here. */
SL_EXPORT void _exit(int status)
{
	sl__record_exit(status);
	REAL(_exit)(status);
	__builtin_unreachable();
}

SL_EXPORT void _Exit(int status)
{
	sl__record_exit(status);
	REAL(_Exit)(status);
	__builtin_unreachable();
}

/* Code may leave the address space: the unwinder forgets the rules it cached for it. */
SL_EXPORT int dlclose(void *handle)
{
	int r = REAL(dlclose)(handle);
	sl_unwind_forget();
	return r;
}

/* A child made without fork() gets no atfork handler: it is given its own log here, unless it
 * shares our memory (CLONE_VM: a thread, or a vfork-like child that must not touch the log). */
void sl__clone_done(long ret, uint64_t flags)
{
	if (ret < 0 || (flags & CLONE_VM))
		return;
	int e = errno;
	if (ret == 0)
		sl_after_fork_child();
	else
		sl_after_fork_parent();
	errno = e;
}

SL_EXPORT pid_t _Fork(void)
{
	pid_t r = REAL(_Fork)();
	sl__clone_done(r, 0);
	return r;
}

struct clone_start {
	int (*fn)(void *);
	void *arg;
};

/* The child's first function: its memory is a copy of ours, so start (on our stack) is its own. */
static int clone_child(void *p)
{
	const struct clone_start *start = p;
	sl__clone_done(0, 0);
	return start->fn(start->arg);
}

SL_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (flags & CLONE_VM)
		return REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
	struct clone_start start = {fn, arg};
	int r = REAL(clone)(clone_child, stack, flags, &start, ptid, tls, ctid);
	sl__clone_done(r, 0);
	return r;
}

/* ---- the wait family: how a child ended, as its parent learns it ----
 * A child killed by a signal (haproxy's master stopping its workers with SIGTERM) cannot say so
 * itself; its parent's reaping is recorded as an event of the parent's log. A caller that asked
 * for no status gets none: ours is a local. */

static void reaped(pid_t pid, int status)
{
	if (pid > 0 && (WIFEXITED(status) || WIFSIGNALED(status)))
		sl__record_reaped(pid, status);
}

SL_EXPORT pid_t wait(int *wstatus)
{
	int st = 0;
	pid_t r = REAL(wait)(&st);
	reaped(r, st);
	if (wstatus && r > 0)
		*wstatus = st;
	return r;
}

SL_EXPORT pid_t waitpid(pid_t pid, int *wstatus, int options)
{
	int st = 0;
	pid_t r = REAL(waitpid)(pid, &st, options);
	reaped(r, st);
	if (wstatus && r > 0)
		*wstatus = st;
	return r;
}

SL_EXPORT pid_t wait3(int *wstatus, int options, struct rusage *ru)
{
	int st = 0;
	pid_t r = REAL(wait3)(&st, options, ru);
	reaped(r, st);
	if (wstatus && r > 0)
		*wstatus = st;
	return r;
}

SL_EXPORT pid_t wait4(pid_t pid, int *wstatus, int options, struct rusage *ru)
{
	int st = 0;
	pid_t r = REAL(wait4)(pid, &st, options, ru);
	reaped(r, st);
	if (wstatus && r > 0)
		*wstatus = st;
	return r;
}

SL_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	int r = REAL(waitid)(idtype, id, info, options);
	if (r == 0 && info && !(options & WNOWAIT) && info->si_pid > 0) {
		int e = errno;
		if (info->si_code == CLD_EXITED)
			reaped(info->si_pid, (info->si_status & 0xff) << 8);
		else if (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED)
			reaped(info->si_pid, (info->si_status & 0x7f) | (info->si_code == CLD_DUMPED ? 0x80 : 0));
		errno = e;
	}
	return r;
}
