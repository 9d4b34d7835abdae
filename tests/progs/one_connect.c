/* one_connect.c PORT - one short-lived client: a connect to 127.0.0.1:PORT, and exit. A shell
 * loop of these is what a test suite or a build looks like to socklens. */
#include "../../examples/common.h"

int main(int argc, char **argv)
{
	struct sockaddr_in a = local_addr(argc > 1 ? atoi(argv[1]) : 9);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	close(fd);
	return r < 0 ? 1 : 0;
}
