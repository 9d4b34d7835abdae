/* nounwind.c - built with -fno-asynchronous-unwind-tables: frames the shim must cross without
 * unwind tables, by frame pointer, without ever reading memory that is not there. */
#include "../../examples/common.h"

__attribute__((noinline)) static int fetch(int port)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	close(fd);
	return r;
}

__attribute__((noinline)) static int leak(int port)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	return connect(fd, (struct sockaddr *)&a, sizeof a);
}

int main(void)
{
	int port, lfd = listen_local(4, &port), free_port, l2 = listen_local(1, &free_port);
	close(l2);
	for (int i = 0; i < 50; i++)
		fetch(free_port);
	printf("refused: %d, leaked: %d\n", fetch(free_port) < 0, leak(port) == 0);
	close(lfd);
	return 0;
}
