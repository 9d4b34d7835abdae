/* close_paths.c - closes sockets through syscall(SYS_close), close_range, dup2 onto a socket and
 * fclose of an fdopen()ed socket: none of them may be reported as leaked. */
#include "../../examples/common.h"
#include <fcntl.h>
#include <sys/syscall.h>

static void drain(int fd)
{
	char buf[16];
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
	close(fd);
}

int main(void)
{
	struct server srv;
	int port = server_start(&srv, drain);
	int a = dial_local(port);
	syscall(SYS_close, a); /* the way libuv closes */
	int lfd2, port2;
	lfd2 = listen_local(4, &port2);
	int b = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
	int d = socket(AF_INET, SOCK_STREAM, 0);
	int high = fcntl(d, F_DUPFD_CLOEXEC, 200);
	close(d);
	dup2(b, c); /* implicitly closes the socket that was c */
	close(b);
	close(c);
	FILE *f = fdopen(socket(AF_INET, SOCK_STREAM, 0), "r+");
	fclose(f);
	close_range((unsigned)lfd2, (unsigned)lfd2, 0);
	close_range((unsigned)high, ~0u, 0);
	pthread_join(srv.thread, NULL);
	printf("close_paths: done\n");
	return 0;
}
