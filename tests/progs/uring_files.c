/* uring_files.c - reads a file through io_uring (as MariaDB's InnoDB does its data files) and makes
 * an ordinary refused connect: the ring is no blind spot for sockets, so the run is fully checked. */
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include "../../examples/common.h"

int main(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	char buf[64];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0 || io_uring_queue_init(8, &ring, 0) < 0)
		die("io_uring_queue_init");
	io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf, sizeof buf, 0);
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe) < 0)
		die("io_uring_wait_cqe");
	printf("uring_files: read %d bytes\n", cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	int port, ls = listen_local(1, &port);
	close(ls);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = local_addr(port);
	return connect(c, (struct sockaddr *)&a, sizeof a) < 0 ? 1 : 0;
}
