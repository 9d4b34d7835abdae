/* hook_proc.c - process lifecycle wrappers: the exec family, _exit, dlclose; fork is handled by atfork. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include "real.h"
#include "record.h"
#include "unwind.h"

extern char **environ;

/* Marks this image as replaced; undone by exec_failed(). A vfork child shares our
 * memory, so it must not touch the parent's log. */
static void exec_begin(void)
{
	int e = errno;
	if (sl_g.ready && !sl_in_vfork_child()) {
		sl_g.log.hdr->end_mono_ns = sl_now();
		__atomic_store_n(&sl_g.log.hdr->end_reason, SL_END_EXEC, __ATOMIC_RELEASE);
	}
	errno = e;
}

static void exec_failed(void)
{
	int e = errno;
	if (sl_g.ready && !sl_in_vfork_child())
		__atomic_store_n(&sl_g.log.hdr->end_reason, SL_END_NONE, __ATOMIC_RELEASE);
	errno = e;
}

SL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	sl__check_exec(path, envp);
	exec_begin();
	int r = REAL(execve)(path, argv, envp);
	exec_failed();
	return r;
}

SL_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	sl__check_execvp(file, envp, getenv("PATH")); /* execvpe is not async-signal-safe either */
	exec_begin();
	int r = REAL(execvpe)(file, argv, envp);
	exec_failed();
	return r;
}

SL_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

SL_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	exec_begin();
	int r = REAL(execveat)(dirfd, path, argv, envp, flags);
	exec_failed();
	return r;
}

SL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	exec_begin();
	int r = REAL(fexecve)(fd, argv, envp);
	exec_failed();
	return r;
}

/* execl*: count the arguments, then gather them on our stack as glibc does. */
static int count_args(va_list ap)
{
	int n = 1;
	while (va_arg(ap, char *))
		n++;
	return n;
}

static void gather_args(char **argv, const char *arg0, va_list ap, int n)
{
	argv[0] = (char *)arg0;
	for (int i = 1; i < n; i++)
		argv[i] = va_arg(ap, char *);
	argv[n] = NULL;
}

SL_EXPORT int execl(const char *path, const char *arg, ...)
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

SL_EXPORT int execlp(const char *file, const char *arg, ...)
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

SL_EXPORT int execle(const char *path, const char *arg, ...)
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
