/* daemon_fds.c - a daemon's start-up: close every fd but 0-2, then reuse the lowest numbers for a
 * self-pipe, a file and a listening socket, while the shim captures stacks (a refused connect).
 * Prints what each fd holds; the output must be the same with and without socklens. */
#include "../../examples/common.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

static int refused_connect(void)
{
	int lport, l = listen_local(1, &lport);
	close(l); /* nothing listens there now */
	struct sockaddr_in a = local_addr(lport);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	int e = errno;
	close(fd);
	return r < 0 ? e : 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/tmp/socklens-daemon-fds.txt";
	for (int fd = 3; fd < 1024; fd++) /* closefrom(3), the old way */
		close(fd);
	int sp[2];
	if (pipe(sp) < 0)
		die("pipe");
	int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int port, lfd = listen_local(4, &port);
	printf("self-pipe %d,%d file %d listener %d\n", sp[0], sp[1], f, lfd);
	printf("refused: %s\n", strerror(refused_connect())); /* a stack capture with fds 3+ reused */
	if (write(f, "0123456789", 10) != 10 || lseek(f, 0, SEEK_SET) != 0)
		die("file");
	char buf[16] = {0};
	printf("file reads '%.*s'\n", (int)read(f, buf, sizeof buf - 1), buf);
	if (write(sp[1], "x", 1) != 1)
		die("self-pipe write");
	struct pollfd p = {.fd = sp[0], .events = POLLIN};
	printf("self-pipe readable: %d\n", poll(&p, 1, 5000));
	printf("self-pipe reads %zd byte(s)\n", read(sp[0], buf, sizeof buf));
	printf("refused again: %s\n", strerror(refused_connect()));
	int c = dial_local(port), a = accept(lfd, NULL, NULL);
	printf("listener accepts: %s\n", a >= 0 ? "yes" : "no");
	close(c);
	close(a);
	struct stat st;
	fstat(f, &st);
	printf("file size %lld\n", (long long)st.st_size);
	int lowest = open("/dev/null", O_RDONLY);
	printf("next free fd %d\n", lowest);
	return 0;
}
