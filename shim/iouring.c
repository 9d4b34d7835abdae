/* iouring.c - io_uring is a way to make socket calls that no wrapper sees: a program submits
 * socket, connect, accept, send and recv to a ring shared with the kernel. The shim cannot record
 * them; it says where it is blind, and only there.
 *
 * Through liburing (a shared library: its functions can be interposed), rings are set up with
 * io_uring_queue_init* and fed by io_uring_submit*: each submission is looked at before it goes
 * (opcode, flags, fd of the entries queued since the last one), and a process is marked
 * SL_HDR_IO_URING_SOCK only when one names a socket or an operation only sockets have. MariaDB's
 * rings for its data files are not a blind spot. A ring set up with a raw io_uring_setup (libc's
 * syscall()) cannot be looked into: SL_HDR_IO_URING. liburing linked in statically is not seen. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "rawsys.h"
#include "record.h"

static void mark(uint32_t flag)
{
	if (sl_g.ready && !(__atomic_load_n(&sl_g.log.hdr->flags, __ATOMIC_RELAXED) & flag))
		__atomic_fetch_or(&sl_g.log.hdr->flags, flag, __ATOMIC_RELAXED);
}

void sl__iouring_syscall(long n)
{
	if (n == SYS_io_uring_setup)
		mark(SL_HDR_IO_URING);
}

/* Operations that exist only for sockets. */
static int socket_op(unsigned op)
{
	switch (op) {
	case IORING_OP_SENDMSG: case IORING_OP_RECVMSG: case IORING_OP_ACCEPT: case IORING_OP_CONNECT:
	case IORING_OP_SEND: case IORING_OP_RECV: case IORING_OP_SHUTDOWN: case IORING_OP_SOCKET:
	case 47 /* IORING_OP_SEND_ZC */: case 48 /* IORING_OP_SENDMSG_ZC */:
		return 1;
	}
	return 0;
}

/* Operations that read or write an fd, a socket as well as a file. */
static int data_op(unsigned op)
{
	switch (op) {
	case IORING_OP_READV: case IORING_OP_WRITEV: case IORING_OP_READ_FIXED: case IORING_OP_WRITE_FIXED:
	case IORING_OP_READ: case IORING_OP_WRITE: case IORING_OP_SPLICE: case IORING_OP_TEE:
	case IORING_OP_POLL_ADD:
		return 1;
	}
	return 0;
}

static int is_socket(int fd)
{
	uint32_t ent = sl_fd_get(fd);
	if (sl_fd_live(ent) || ent == SL_FD_NOSLOT || ent == SL_FD_PARENT || ent == SL_FD_PARENT_SERVER)
		return 1;
	if (ent == SL_FD_OTHER)
		return 0;
	struct stat st;
	return sl_sys3(SYS_fstat, fd, &st, 0) == 0 && S_ISSOCK(st.st_mode);
}

/* The entries queued since the last submission: [sqe_head, sqe_tail) of the ring's array. A fixed
 * file (an index into registered files) is not known: only socket operations count for those. */
static void look(struct io_uring *ring)
{
	if (!sl_g.ready || !ring || !ring->sq.sqes || !ring->sq.kring_mask || !ring->sq.kring_entries)
		return;
	mark(SL_HDR_IO_URING_LIB);
	if (__atomic_load_n(&sl_g.log.hdr->flags, __ATOMIC_RELAXED) & SL_HDR_IO_URING_SOCK)
		return; /* said already */
	unsigned mask = *ring->sq.kring_mask, n = ring->sq.sqe_tail - ring->sq.sqe_head;
	if (n > *ring->sq.kring_entries)
		n = *ring->sq.kring_entries;
	for (unsigned i = 0; i < n; i++) {
		const struct io_uring_sqe *e = &ring->sq.sqes[(ring->sq.sqe_head + i) & mask];
		if (socket_op(e->opcode) ||
		    (data_op(e->opcode) && !(e->flags & IOSQE_FIXED_FILE) && is_socket(e->fd))) {
			mark(SL_HDR_IO_URING_SOCK);
			return;
		}
	}
}

/* liburing's own function, bound on first use (only a program that loaded liburing calls these). */
#define NEXT(fn) \
	static __typeof__(fn) *next; \
	if (!next) \
		next = (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn)

SL_EXPORT int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
	NEXT(io_uring_queue_init);
	int r = next ? next(entries, ring, flags) : -ENOSYS;
	if (r == 0)
		mark(SL_HDR_IO_URING_LIB);
	return r;
}

SL_EXPORT int io_uring_queue_init_params(unsigned entries, struct io_uring *ring, struct io_uring_params *p)
{
	NEXT(io_uring_queue_init_params);
	int r = next ? next(entries, ring, p) : -ENOSYS;
	if (r == 0)
		mark(SL_HDR_IO_URING_LIB);
	return r;
}

SL_EXPORT int io_uring_submit(struct io_uring *ring)
{
	NEXT(io_uring_submit);
	look(ring);
	return next ? next(ring) : -ENOSYS;
}

SL_EXPORT int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	NEXT(io_uring_submit_and_wait);
	look(ring);
	return next ? next(ring, wait_nr) : -ENOSYS;
}

SL_EXPORT int io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned wait_nr,
					       struct __kernel_timespec *ts, sigset_t *sigmask)
{
	NEXT(io_uring_submit_and_wait_timeout);
	look(ring);
	return next ? next(ring, cqe, wait_nr, ts, sigmask) : -ENOSYS;
}

SL_EXPORT int io_uring_submit_and_get_events(struct io_uring *ring)
{
	NEXT(io_uring_submit_and_get_events);
	look(ring);
	return next ? next(ring) : -ENOSYS;
}

/* These submit what is queued too, before they wait. */
SL_EXPORT int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned wait_nr,
				 struct __kernel_timespec *ts, sigset_t *sigmask)
{
	NEXT(io_uring_wait_cqes);
	look(ring);
	return next ? next(ring, cqe, wait_nr, ts, sigmask) : -ENOSYS;
}

SL_EXPORT int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
					struct __kernel_timespec *ts)
{
	NEXT(io_uring_wait_cqe_timeout);
	look(ring);
	return next ? next(ring, cqe, ts) : -ENOSYS;
}
