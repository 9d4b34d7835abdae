/* fd_race.c - the use-after-close races socklens exists to diagnose, run on purpose: it must never
 * crash a program or corrupt what is recorded of another thread's connections.
 *
 *   fd_race churn N    threads read, recv, poll and close the same fd numbers while others open,
 *                      close and dup2 sockets onto them (N rounds each); exits 0.
 *   fd_race accept N   one thread accepts N connections and reads one byte from each, keeping them
 *                      open, while another opens a socket, closes it, reuses its number for a file
 *                      and closes that (a close of a number the shim saw closed); exits 0 once every
 *                      connection delivered its byte. Each accepted connection must be recorded as
 *                      one live server connection that received 1 byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../../examples/common.h"

static long rounds;
static atomic_int stop;

/* The numbers the threads fight over: the lowest free ones, where socket() lands. */
#define LOW 3
#define HIGH 12

static void *reader(void *arg)
{
	char buf[16];
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!atomic_load(&stop)) {
		int fd = LOW + (int)(rand_r(&seed) % (HIGH - LOW));
		struct pollfd p = {.fd = fd, .events = POLLIN};
		switch (rand_r(&seed) % 4) {
		case 0: recv(fd, buf, sizeof buf, MSG_DONTWAIT); break;
		case 1: read(fd, buf, 0); break;
		case 2: poll(&p, 1, 0); break;
		default: send(fd, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL); break;
		}
	}
	return NULL;
}

static void *opener(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (long i = 0; i < rounds; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int t = socket(AF_INET, SOCK_DGRAM, 0);
		if (s >= 0 && rand_r(&seed) % 3 == 0)
			dup2(s, LOW + (int)(rand_r(&seed) % (HIGH - LOW)));
		if (t >= 0)
			close(t);
		if (s >= 0)
			close(s);
		int f = open("/dev/null", O_RDONLY);
		if (f >= 0)
			close(f);
	}
	return NULL;
}

static int churn(void)
{
	pthread_t r[4], o[3];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&r[i], NULL, reader, (void *)(i + 1));
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&o[i], NULL, opener, (void *)(i + 11));
	for (int i = 0; i < 3; i++)
		pthread_join(o[i], NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(r[i], NULL);
	printf("fd_race: churn done\n");
	return 0;
}

/* Makes a socket's number free, then reuses it for a file the shim does not see opened, and
 * closes that: the close the shim sees is of a number it last saw as a closed socket. */
static void *closer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		if (s < 0)
			continue;
		close(s);
		int f = open("/dev/null", O_RDONLY);
		if (f >= 0)
			close(f);
	}
	return NULL;
}

static int accepting(void)
{
	int port, ls = listen_local(1024, &port);
	pthread_t c;
	long got = 0;
	pthread_create(&c, NULL, closer, NULL);
	for (long i = 0; i < rounds; i++) {
		int cl = dial_local(port);
		if (cl < 0 || write(cl, "x", 1) != 1)
			die("dial");
		int a = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		char b;
		if (a < 0)
			die("accept");
		if (read(a, &b, 1) == 1)
			got++;
		/* both ends stay open: a live connection must stay live in the log */
		if (i % 64 == 63) {
			close(a);
			close(cl);
		}
	}
	atomic_store(&stop, 1);
	pthread_join(c, NULL);
	printf("fd_race: %ld of %ld connections delivered their byte\n", got, rounds);
	return got == rounds ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		{
		die("usage: fd_race churn|accept ROUNDS");
	}
	rounds = atol(argv[2]);
	if (!strcmp(argv[1], "churn"))
		return churn();
	if (!strcmp(argv[1], "accept"))
		return accepting();
	die("unknown mode");
	return 2;
}
