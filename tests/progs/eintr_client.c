/* eintr_client.c PORT [retry] - sends one HTTP request to 127.0.0.1:PORT and reads the answer with
 * blocking recv. Without "retry" a failed recv ends it (status 3, the errno printed), as code that
 * forgets EINTR does; with it, EINTR is retried. Prints the bytes read. */
#include "../../examples/common.h"

int main(int argc, char **argv)
{
	int retry = argc > 2 && !strcmp(argv[2], "retry");
	int fd = dial_local(atoi(argv[1]));
	const char req[] = "GET / HTTP/1.0\r\n\r\n";
	if (fd < 0 || send(fd, req, sizeof req - 1, 0) < 0)
		return 2;
	char buf[4096];
	long total = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR && retry)
			continue;
		if (n < 0) {
			printf("recv: %s\n", strerror(errno));
			return 3;
		}
		if (n == 0)
			break;
		total += n;
	}
	printf("read %ld bytes\n", total);
	close(fd);
	return 0;
}
