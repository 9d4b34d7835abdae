/* uring_client.c - connects to a port nothing listens on through io_uring (liburing's socket and
 * connect operations), as a modern server framework would: no wrapper sees the refusal, so the
 * report must say it could not look. */
#include <liburing.h>
#include <stdlib.h>
#include "../../examples/common.h"

static int run_op(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	io_uring_submit(ring);
	if (io_uring_wait_cqe(ring, &cqe) < 0)
		die("io_uring_wait_cqe");
	int res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

int main(void)
{
	struct io_uring ring;
	int port, ls = listen_local(1, &port);
	close(ls); /* nothing listens there now */
	if (io_uring_queue_init(8, &ring, 0) < 0)
		die("io_uring_queue_init");
	io_uring_prep_socket(io_uring_get_sqe(&ring), AF_INET, SOCK_STREAM, 0, 0);
	int fd = run_op(&ring);
	if (fd < 0) {
		printf("uring_client: io_uring cannot make sockets here (%d)\n", fd);
		return 77;
	}
	struct sockaddr_in a = local_addr(port);
	io_uring_prep_connect(io_uring_get_sqe(&ring), fd, (struct sockaddr *)&a, sizeof a);
	int r = run_op(&ring);
	printf("uring_client: connect %s\n", r == -ECONNREFUSED ? "refused" : "not refused");
	io_uring_prep_close(io_uring_get_sqe(&ring), fd);
	run_op(&ring);
	io_uring_queue_exit(&ring);
	return r == -ECONNREFUSED ? 1 : 0;
}
