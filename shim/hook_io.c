/* hook_io.c - data transfer wrappers: read/write, send/recv families, sendfile, splice, FORTIFY variants. */
#define _GNU_SOURCE
#include <errno.h>
#include "real.h"
#include "record.h"

/*
 * read/write/readv/writev are three lines: if the fd is known not to be a socket,
 * tail-call the real function; otherwise hand the fd-table entry to an out-of-line
 * recorder. Keeping the exported body this small is what makes a non-socket
 * read/write nearly free: no register saves, no stack frame, errno untouched.
 */

#define SITE() __builtin_return_address(0)

static SL_OUTLINE ssize_t read_slow(int fd, void *buf, size_t n, uint32_t ent, void *site)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, ent, SL_CALL_READ, SL_DIR_IN, site, buf);
	if (b <= 0)
		return b ? -1 : REAL(read)(fd, buf, n);
	ssize_t r = sl_real.read(fd, buf, n);
	sl__call_end(&c, r, 0);
	return r;
}

SL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	uint32_t ent = sl_fd_get(fd);
	if (ent == SL_FD_OTHER)
		return sl_real.read(fd, buf, n);
	return read_slow(fd, buf, n, ent, SITE());
}

static SL_OUTLINE ssize_t write_slow(int fd, const void *buf, size_t n, uint32_t ent, void *site)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, ent, SL_CALL_WRITE, SL_DIR_OUT, site, buf);
	if (b <= 0)
		return b ? -1 : REAL(write)(fd, buf, n);
	ssize_t r = sl_real.write(fd, buf, n);
	sl__call_end_write(&c, r, n);
	return r;
}

SL_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	uint32_t ent = sl_fd_get(fd);
	if (ent == SL_FD_OTHER)
		return sl_real.write(fd, buf, n);
	return write_slow(fd, buf, n, ent, SITE());
}

static SL_OUTLINE ssize_t readv_slow(int fd, const struct iovec *iov, int cnt, uint32_t ent, void *site)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, ent, SL_CALL_READ, SL_DIR_IN, site, NULL);
	if (b <= 0)
		return b ? -1 : REAL(readv)(fd, iov, cnt);
	ssize_t r = sl_real.readv(fd, iov, cnt);
	sl__call_end(&c, r, 0);
	return r;
}

SL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	uint32_t ent = sl_fd_get(fd);
	if (ent == SL_FD_OTHER)
		return sl_real.readv(fd, iov, cnt);
	return readv_slow(fd, iov, cnt, ent, SITE());
}

static SL_OUTLINE ssize_t writev_slow(int fd, const struct iovec *iov, int cnt, uint32_t ent, void *site)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, ent, SL_CALL_WRITE, SL_DIR_OUT, site, NULL);
	if (b <= 0)
		return b ? -1 : REAL(writev)(fd, iov, cnt);
	ssize_t r = sl_real.writev(fd, iov, cnt);
	sl__call_end(&c, r, 0);
	return r;
}

SL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	uint32_t ent = sl_fd_get(fd);
	if (ent == SL_FD_OTHER)
		return sl_real.writev(fd, iov, cnt);
	return writev_slow(fd, iov, cnt, ent, SITE());
}

SL_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_SEND, SL_DIR_OUT, SITE(), buf);
	if (b <= 0)
		return b ? -1 : REAL(send)(fd, buf, n, flags);
	ssize_t r = sl_real.send(fd, buf, n, flags);
	sl__call_end_write(&c, r, n);
	return r;
}

SL_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
			 socklen_t len)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_SEND, SL_DIR_OUT, SITE(), buf);
	if (b <= 0)
		return b ? -1 : REAL(sendto)(fd, buf, n, flags, sa, len);
	ssize_t r = sl_real.sendto(fd, buf, n, flags, sa, len);
	sl__call_end_write(&c, r, n);
	return r;
}

SL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_SEND, SL_DIR_OUT, SITE(), NULL);
	if (b <= 0)
		return b ? -1 : REAL(sendmsg)(fd, msg, flags);
	ssize_t r = sl_real.sendmsg(fd, msg, flags);
	sl__call_end(&c, r, 0);
	return r;
}

/* Bytes moved by the first n messages of an mmsg vector, as the kernel reported them. */
static long mmsg_bytes(const struct mmsghdr *v, int n)
{
	long total = 0;
	for (int i = 0; i < n; i++)
		total += v[i].msg_len;
	return total;
}

SL_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_SEND, SL_DIR_OUT, SITE(), NULL);
	if (b <= 0)
		return b ? -1 : REAL(sendmmsg)(fd, v, n, flags);
	int r = sl_real.sendmmsg(fd, v, n, flags);
	sl__call_end(&c, r < 0 ? r : mmsg_bytes(v, r), 0);
	return r;
}

/* MSG_PEEK reads count as calls but not as bytes. Peeking is rare, so it has its own path and
 * the common one does not keep flags alive across the real call. */
static SL_OUTLINE ssize_t recv_peek(int fd, void *buf, size_t n, int flags, void *site)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_RECV, SL_DIR_IN, site, NULL);
	if (b <= 0)
		return b ? -1 : REAL(recv)(fd, buf, n, flags);
	ssize_t r = sl_real.recv(fd, buf, n, flags);
	sl__call_end(&c, r, 1);
	return r;
}

SL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct sl_call_ctx c;
	if (__builtin_expect(flags & MSG_PEEK, 0))
		return recv_peek(fd, buf, n, flags, SITE());
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_RECV, SL_DIR_IN, SITE(), buf);
	if (b <= 0)
		return b ? -1 : REAL(recv)(fd, buf, n, flags);
	ssize_t r = sl_real.recv(fd, buf, n, flags);
	sl__call_end(&c, r, 0);
	return r;
}

SL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_RECV, SL_DIR_IN, SITE(), buf);
	if (b <= 0)
		return b ? -1 : REAL(recvfrom)(fd, buf, n, flags, sa, len);
	ssize_t r = sl_real.recvfrom(fd, buf, n, flags, sa, len);
	sl__call_end(&c, r, flags & MSG_PEEK);
	return r;
}

SL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_RECV, SL_DIR_IN, SITE(), NULL);
	if (b <= 0)
		return b ? -1 : REAL(recvmsg)(fd, msg, flags);
	ssize_t r = sl_real.recvmsg(fd, msg, flags);
	if (r >= 0 && !(flags & MSG_ERRQUEUE))
		sl__record_received_fds(msg); /* touches no errno */
	sl__call_end(&c, r, flags & (MSG_PEEK | MSG_ERRQUEUE));
	return r;
}

SL_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *tmo)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_RECV, SL_DIR_IN, SITE(), NULL);
	if (b <= 0)
		return b ? -1 : REAL(recvmmsg)(fd, v, n, flags, tmo);
	int r = sl_real.recvmmsg(fd, v, n, flags, tmo);
	sl__call_end(&c, r < 0 ? r : mmsg_bytes(v, r), flags & MSG_PEEK);
	return r;
}

SL_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, out, sl_fd_get(out), SL_CALL_SENDFILE, SL_DIR_OUT, SITE(), NULL);
	if (b <= 0)
		return b ? -1 : REAL(sendfile)(out, in, off, n);
	ssize_t r = sl_real.sendfile(out, in, off, n);
	sl__call_end(&c, r, 0);
	return r;
}

SL_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, out, sl_fd_get(out), SL_CALL_SENDFILE, SL_DIR_OUT, SITE(), NULL);
	if (b <= 0)
		return b ? -1 : REAL(sendfile64)(out, in, off, n);
	ssize_t r = sl_real.sendfile64(out, in, off, n);
	sl__call_end(&c, r, 0);
	return r;
}

/* splice moves bytes between a pipe and a socket inside the kernel (proxies, zero-copy servers):
 * counted on whichever end is a socket, as sent or received. */
SL_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t n, unsigned int flags)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, out, sl_fd_get(out), SL_CALL_SPLICE, SL_DIR_OUT, SITE(), NULL);
	if (!b)
		b = sl__call_begin(&c, in, sl_fd_get(in), SL_CALL_SPLICE, SL_DIR_IN, SITE(), NULL);
	if (b <= 0)
		return b ? -1 : REAL(splice)(in, off_in, out, off_out, n, flags);
	ssize_t r = sl_real.splice(in, off_in, out, off_out, n, flags);
	sl__call_end(&c, r, 0);
	return r;
}

/* FORTIFY variants call glibc's hidden internals, so read()/recv() above never see them.
 * Each calls the real __*_chk, which still aborts on overflow exactly as without us. */
SL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_READ, SL_DIR_IN, SITE(), buf);
	if (b <= 0)
		return b ? -1 : REAL(__read_chk)(fd, buf, n, buflen);
	ssize_t r = sl_real.__read_chk(fd, buf, n, buflen);
	sl__call_end(&c, r, 0);
	return r;
}

SL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_RECV, SL_DIR_IN, SITE(), buf);
	if (b <= 0)
		return b ? -1 : REAL(__recv_chk)(fd, buf, n, buflen, flags);
	ssize_t r = sl_real.__recv_chk(fd, buf, n, buflen, flags);
	sl__call_end(&c, r, flags & MSG_PEEK);
	return r;
}

SL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				 struct sockaddr *sa, socklen_t *len)
{
	struct sl_call_ctx c;
	int b = sl__call_begin(&c, fd, sl_fd_get(fd), SL_CALL_RECV, SL_DIR_IN, SITE(), buf);
	if (b <= 0)
		return b ? -1 : REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, sa, len);
	ssize_t r = sl_real.__recvfrom_chk(fd, buf, n, buflen, flags, sa, len);
	sl__call_end(&c, r, flags & MSG_PEEK);
	return r;
}
