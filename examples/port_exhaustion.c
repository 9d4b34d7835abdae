/* port_exhaustion.c - bug: a client opens a new connection per request and closes it first, so
 * each one leaves a local port in TIME_WAIT; the ephemeral ports run out and connect() fails with
 * EADDRNOTAVAIL. The program isolates itself in a new network namespace and narrows the port
 * range there, so a handful of requests reproduce what takes ~28,000 on a default host. */
#include "common.h"
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>

static int sysctl_write(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(value, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int isolate(void)
{
	struct ifreq ifr = {.ifr_name = "lo"};
	if (unshare(CLONE_NEWNET) != 0)
		return -1;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifr.ifr_flags = IFF_UP;
	int rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	if (rc < 0 || sysctl_write("/proc/sys/net/ipv4/ip_local_port_range", "40000 40007") < 0 ||
	    sysctl_write("/proc/sys/net/ipv4/tcp_tw_reuse", "0") < 0)
		return -1;
	return 0;
}

static void answer_all(int lfd)
{
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		char buf[16];
		if (fd < 0)
			return;
		set_rcvtimeo(fd, 10);
		if (recv(fd, buf, sizeof buf, 0) > 0)
			send(fd, "ok\n", 3, 0);
		recv(fd, buf, sizeof buf, 0); /* the client closes first */
		close(fd);
	}
}

static void *server(void *arg)
{
	answer_all(*(int *)arg);
	return NULL;
}

static int request(int port)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[8];
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	set_rcvtimeo(fd, 10);
	send(fd, "get\n", 4, 0);
	recv(fd, buf, sizeof buf, 0);
	close(fd);
	return 0;
}

int main(void)
{
	if (isolate() < 0) {
		fprintf(stderr, "port_exhaustion: cannot create an isolated network namespace (%s); skipped\n",
			strerror(errno));
		return 77;
	}
	int port, lfd = listen_local(64, &port);
	pthread_t t;
	pthread_create(&t, NULL, server, &lfd);
	for (int i = 0; i < 40; i++) {
		if (request(port) < 0) {
			fprintf(stderr, "port_exhaustion: request %d: connect: %s\n", i + 1, strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "port_exhaustion: every request got a port\n");
	return 0;
}
