/* hook_fd.c - fd lifetime wrappers: close family, dup family, syscall(SYS_close), poll/select/epoll. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include "real.h"
#include "record.h"

/*
 * Closes are recorded before the real call: Linux frees the number even when close() fails, and
 * another thread may get it back before we return. Nothing here writes the fd table after a real
 * close.
 */

static int close_known(int fd, uint32_t ent);

/* A close of a number last seen as a socket closed here. The entry is forgotten before the real
 * close: once the kernel frees the number, another thread's accept may get it and record a new
 * connection under it, which a later write of ours would clobber. If the close fails with EBADF
 * the program closed the socket twice; if it succeeds, the number had been reused unseen (a file). */
static SL_OUTLINE int close_again(int fd, uint32_t ent)
{
	if (!sl__forget_closed(fd, &ent))
		return close_known(fd, ent); /* another thread changed the entry: close what it is now */
	int r = REAL(close)(fd);
	int e = errno;
	if (r < 0 && e == EBADF)
		sl__record_stale(fd, ent, EBADF, SL_CALL_CLOSE);
	errno = e;
	return r;
}

/* Every close records before the real call. */
static int close_known(int fd, uint32_t ent)
{
	if (ent == SL_FD_UNKNOWN)
		return REAL(close)(fd);
	if (ent & SL_FD_CLOSED)
		return close_again(fd, ent);
	int e = errno;
	if (__builtin_expect(sl_inject_on & (1u << SL_FAULT_SLOW_CLOSE), 0))
		sl__inject_close(fd, ent);
	sl__record_close(fd);
	errno = e;
	return REAL(close)(fd);
}

SL_EXPORT int close(int fd)
{
	return close_known(fd, sl_fd_get(fd));
}

SL_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int e = errno;
	if (!(flags & CLOSE_RANGE_UNSHARE))
		sl__record_close_range(first, last, (flags & CLOSE_RANGE_CLOEXEC) != 0);
	errno = e;
	int r = REAL(close_range)(first, last, flags);
	if (r == 0 && (flags & CLOSE_RANGE_UNSHARE)) {
		e = errno;
		sl__record_close_range(first, last, (flags & CLOSE_RANGE_CLOEXEC) != 0);
		errno = e;
	}
	return r;
}

SL_EXPORT void closefrom(int low)
{
	int e = errno;
	if (low >= 0)
		sl__record_close_range((unsigned)low, ~0u, 0);
	errno = e;
	REAL(closefrom)(low);
}

/* stdio closes the fd through glibc internals we cannot see, so look before it does. */
SL_EXPORT int fclose(FILE *f)
{
	if (f) {
		int e = errno;
		int fd = fileno(f);
		if (fd >= 0 && sl_fd_get(fd) != SL_FD_UNKNOWN)
			sl__record_close(fd);
		errno = e;
	}
	return REAL(fclose)(f);
}

SL_EXPORT int dup(int fd)
{
	int r = REAL(dup)(fd);
	if (r >= 0) {
		int e = errno;
		sl__record_dup(fd, r);
		errno = e;
	}
	return r;
}

SL_EXPORT int dup2(int fd, int nfd)
{
	int r = REAL(dup2)(fd, nfd);
	if (r >= 0 && fd != nfd) {
		int e = errno;
		sl__record_dup(fd, r);
		errno = e;
	}
	return r;
}

SL_EXPORT int dup3(int fd, int nfd, int flags)
{
	int r = REAL(dup3)(fd, nfd, flags);
	if (r >= 0) {
		int e = errno;
		sl__record_dup(fd, r);
		if (flags & O_CLOEXEC)
			sl__record_flags(r, -1, 1);
		errno = e;
	}
	return r;
}

/* Forwards all six argument registers unchanged; only close numbers (Node.js/libuv closes every fd
 * with syscall(SYS_close)) and the clone calls are looked at. */
SL_EXPORT long syscall(long n, ...)
{
	va_list ap;
	va_start(ap, n);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_close || n == SYS_close_range) {
		int saved = errno;
		if (n == SYS_close)
			sl__record_close((int)a);
		else if (!(c & CLOSE_RANGE_UNSHARE))
			sl__record_close_range((unsigned)a, (unsigned)b, (c & CLOSE_RANGE_CLOEXEC) != 0);
		errno = saved;
	}
	if (n == SYS_seccomp || n == SYS_landlock_restrict_self || n == SYS_chroot || n == SYS_unshare || n == SYS_setns ||
	    (n == SYS_prctl && a == PR_SET_SECCOMP))
		sl__before_confinement();
	long r = REAL(syscall)(n, a, b, c, d, e, f);
	sl__iouring_syscall(n);
	if (n == SYS_clone)
		sl__clone_done(r, (uint64_t)a);
	else if (n == SYS_clone3 && r >= 0 && a && (size_t)b >= sizeof(uint64_t))
		sl__clone_done(r, *(const uint64_t *)a); /* struct clone_args, read by the kernel already */
	return r;
}

/* glibc declares poll's array write-only (an access attribute), but the program
 * fills fd and events before the call; reading them is correct. */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

/* A socket the program polls for reading before it reads cannot hang in that read: remember it.
 * Polling for writing is no such guard: the JDK's connect timeout waits for POLLOUT, then reads
 * blocking with no timeout unless one was set. */
#define SL_POLL_READ (POLLIN | POLLPRI | POLLRDHUP)

static void guard_pollfds(const struct pollfd *p, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if ((p[i].events & SL_POLL_READ) && sl_fd_live(sl_fd_get(p[i].fd)))
			sl__record_guarded(p[i].fd);
}

static void guard_fdsets(int nfds, const fd_set *r)
{
	for (int fd = 0; r && fd < nfds && fd < FD_SETSIZE; fd++)
		if (FD_ISSET(fd, r) && sl_fd_live(sl_fd_get(fd)))
			sl__record_guarded(fd);
}

SL_EXPORT int poll(struct pollfd *p, nfds_t n, int tmo)
{
	if (p)
		guard_pollfds(p, n);
	return REAL(poll)(p, n, tmo);
}

SL_EXPORT int __poll_chk(struct pollfd *p, nfds_t n, int tmo, size_t plen)
{
	if (p && n * sizeof *p <= plen)
		guard_pollfds(p, n);
	return REAL(__poll_chk)(p, n, tmo, plen);
}

SL_EXPORT int ppoll(struct pollfd *p, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
	if (p)
		guard_pollfds(p, n);
	return REAL(ppoll)(p, n, tmo, mask);
}

SL_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tmo)
{
	guard_fdsets(nfds, r);
	return REAL(select)(nfds, r, w, x, tmo);
}

SL_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *tmo,
		      const sigset_t *mask)
{
	guard_fdsets(nfds, r);
	return REAL(pselect)(nfds, r, w, x, tmo, mask);
}

SL_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int r = REAL(epoll_ctl)(epfd, op, fd, ev);
	if (r == 0 && op != EPOLL_CTL_DEL && ev && (ev->events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) &&
	    sl_fd_live(sl_fd_get(fd)))
		sl__record_guarded(fd);
	return r;
}
