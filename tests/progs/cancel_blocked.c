/* cancel_blocked.c - a thread cancelled while blocked in recv is not hung; a signal handler that
 * sends while its thread is blocked in recv does not hide that blocked recv.
 *   cancel_blocked cancel   exits normally after cancelling the reader
 *   cancel_blocked signal   prints "handled" once the handler ran, then waits to be killed */
#include "../../examples/common.h"
#include <signal.h>

#include <fcntl.h>
#include <sys/syscall.h>

static int held[2], side[2];
static volatile pid_t reader_tid;

static void *reader(void *arg)
{
	(void)arg;
	char c;
	reader_tid = (pid_t)syscall(SYS_gettid);
	recv(held[0], &c, 1, 0); /* nobody ever writes */
	return NULL;
}

/* Waits (up to 20 s) until the reader sits in recvfrom, as /proc/self/task/TID/syscall says. */
static void wait_blocked(void)
{
	char path[64], buf[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)reader_tid);
		int fd = reader_tid ? open(path, O_RDONLY) : -1;
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0 && atoi(buf) == SYS_recvfrom)
			return;
		usleep(1000);
	}
	die("reader never blocked");
}

static void on_usr1(int sig)
{
	(void)sig;
	send(side[0], "s", 1, MSG_DONTWAIT); /* a self-pipe style write from the handler */
}

int main(int argc, char **argv)
{
	int port, lfd = listen_local(4, &port);
	held[0] = dial_local(port);
	held[1] = accept(lfd, NULL, NULL);
	side[0] = dial_local(port);
	side[1] = accept(lfd, NULL, NULL);
	pthread_t t;
	if (argc > 1 && !strcmp(argv[1], "signal")) {
		signal(SIGUSR1, on_usr1);
		pthread_create(&t, NULL, reader, NULL);
		wait_blocked();
		pthread_kill(t, SIGUSR1);
		char c;
		if (recv(side[1], &c, 1, 0) == 1)
			printf("handled\n");
		fflush(stdout);
		pause();
	}
	pthread_create(&t, NULL, reader, NULL);
	wait_blocked();
	pthread_cancel(t);
	pthread_join(t, NULL);
	printf("cancelled\n");
	close(held[0]);
	close(held[1]);
	close(side[0]);
	close(side[1]);
	close(lfd);
	return 0;
}
