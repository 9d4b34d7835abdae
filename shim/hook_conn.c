/* hook_conn.c - connection setup wrappers: socket, socketpair, connect, accept, bind, listen, shutdown. */
#define _GNU_SOURCE
#include <errno.h>
#include "real.h"
#include "record.h"

SL_EXPORT int socket(int family, int type, int protocol)
{
	int inj;
	if (__builtin_expect(sl_inject_on & SL_INJECT_FD_FAULTS, 0) && (family == AF_INET || family == AF_INET6) &&
	    (inj = sl__inject_fd_call(SL_CALL_SOCKET))) {
		sl__record_create_failed(SL_CALL_SOCKET, inj);
		errno = inj;
		return -1;
	}
	int fd = REAL(socket)(family, type, protocol);
	int e = errno;
	if (fd >= 0)
		sl__record_socket(fd, family, type, protocol, SL_ROLE_NONE);
	else
		sl__record_create_failed(SL_CALL_SOCKET, e);
	errno = e;
	return fd;
}

SL_EXPORT int socketpair(int family, int type, int protocol, int sv[2])
{
	int r = REAL(socketpair)(family, type, protocol, sv);
	int e = errno;
	if (r == 0) {
		sl__record_socket(sv[0], family, type, protocol, SL_ROLE_PAIR);
		sl__record_socket(sv[1], family, type, protocol, SL_ROLE_PAIR);
	} else {
		sl__record_create_failed(SL_CALL_SOCKETPAIR, e);
	}
	errno = e;
	return r;
}

SL_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sl_call_ctx c;
	if (!sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_CONNECT, SL_DIR_NONE, __builtin_return_address(0), NULL))
		return REAL(connect)(fd, sa, len);
	c.t0 = sl_now(); /* connect latency, precisely: a rare call */
	int r, rule = -1;
	if (__builtin_expect(sl_inject_on & SL_INJECT_CONNECT_FAULTS, 0))
		rule = sl__inject_connect(&c, sa, len, &r);
	if (rule < 0)
		r = REAL(connect)(fd, sa, len);
	sl__record_connect(&c, sa, len, r);
	if (__builtin_expect(sl_inject_on & (1u << SL_FAULT_EINTR), 0)) {
		int e = errno;
		sl__inject_mark_eintr(fd);
		errno = e;
	}
	return r;
}

static int accept_common(int fd, struct sockaddr *sa, socklen_t *len, int flags, int four, void *site)
{
	struct sl_call_ctx c;
	int tracked = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_ACCEPT, SL_DIR_NONE, site, NULL);
	int inj = 0;
	if (__builtin_expect(sl_inject_on & SL_INJECT_FD_FAULTS, 0) && tracked && (inj = sl__inject_fd_call(SL_CALL_ACCEPT))) {
		/* the connection stays in the queue, as a real EMFILE leaves it */
		sl__inflight_done(&c);
		errno = inj;
		return -1;
	}
	if (__builtin_expect(sl_inject_on & (1u << SL_FAULT_ACCEPT_STALL), 0) && tracked)
		sl__inject_accept_stall(fd);
	int r = four ? REAL(accept4)(fd, sa, len, flags) : REAL(accept)(fd, sa, len);
	if (tracked)
		sl__record_accept(&c, r, flags, sa, len);
	if (__builtin_expect(sl_inject_on & (1u << SL_FAULT_EINTR), 0) && r >= 0) {
		int e = errno;
		sl__inject_mark_eintr(r);
		errno = e;
	}
	return r;
}

SL_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return accept_common(fd, sa, len, 0, 0, __builtin_return_address(0));
}

SL_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	return accept_common(fd, sa, len, flags, 1, __builtin_return_address(0));
}

SL_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int r = REAL(bind)(fd, sa, len);
	int e = errno;
	sl__record_bind(fd, sa, len, r, e);
	errno = e;
	return r;
}

SL_EXPORT int listen(int fd, int backlog)
{
	int r = REAL(listen)(fd, backlog);
	int e = errno;
	sl__record_listen(fd, backlog, r, e);
	errno = e;
	return r;
}

SL_EXPORT int shutdown(int fd, int how)
{
	int e = errno;
	sl__record_shutdown_begin(fd); /* a pending connect is abandoned by it: seen before it is gone */
	errno = e;
	int r = REAL(shutdown)(fd, how);
	e = errno;
	sl__record_shutdown(fd, how, r);
	errno = e;
	return r;
}

SL_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	int r = REAL(getpeername)(fd, sa, len);
	if (r == 0 && __builtin_expect(sl_inject_on & (1u << SL_FAULT_RELAY), 0) && sa && len)
		sl__inject_peername(fd, sa, len);
	return r;
}
