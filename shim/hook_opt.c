/* hook_opt.c - option wrappers: setsockopt, getsockopt (SO_ERROR completes connects), fcntl, ioctl. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include "real.h"
#include "record.h"

SL_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int r = REAL(setsockopt)(fd, level, name, val, len);
	int e = errno;
	sl__record_setsockopt(fd, level, name, val, len, r, e);
	errno = e;
	return r;
}

/* The program's own SO_ERROR read is how we learn a non-blocking connect's outcome;
 * the shim never reads SO_ERROR itself, since that would clear it for the program. */
SL_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int r = REAL(getsockopt)(fd, level, name, val, len);
	int e = errno;
	sl__record_getsockopt(fd, level, name, val, len, r);
	errno = e;
	return r;
}

/* Applies what a successful fcntl did to our view of fd. */
static void after_fcntl(int fd, int cmd, void *arg, int r)
{
	int e = errno;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		sl__record_dup(fd, r);
		if (cmd == F_DUPFD_CLOEXEC)
			sl__record_flags(r, -1, 1);
		break;
	case F_SETFL:
		sl__record_flags(fd, ((long)arg & O_NONBLOCK) != 0, -1);
		break;
	case F_SETFD:
		sl__record_flags(fd, -1, ((long)arg & FD_CLOEXEC) != 0);
		break;
	}
	errno = e;
}

/* Every fcntl argument fits in a pointer-sized register; glibc itself reads it as void *. */
SL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int r = REAL(fcntl)(fd, cmd, arg);
	if (r >= 0)
		after_fcntl(fd, cmd, arg, r);
	return r;
}

SL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int r = REAL(fcntl64)(fd, cmd, arg);
	if (r >= 0)
		after_fcntl(fd, cmd, arg, r);
	return r;
}

SL_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int r = REAL(ioctl)(fd, req, arg);
	if (r == 0 && req == FIONBIO && arg && sl_fd_live(sl_fd_get(fd))) {
		int e = errno;
		sl__record_flags(fd, *(int *)arg != 0, -1); /* nginx sets O_NONBLOCK this way */
		errno = e;
	}
	return r;
}
