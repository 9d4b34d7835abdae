/* truncated_log.c - truncates its own socklens log (as logrotate's copytruncate or `: > file`
 * would, from outside) between two rounds of connections, then checks that SIGBUS still reaches
 * its own handler: it must run to its end, with the same output as without socklens.
 *
 *   truncated_log log|run|both   which of the run directory's files to truncate */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "../../examples/common.h"

#define ROUNDS 550

static void *acceptor(void *arg)
{
	int ls = *(int *)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			die("accept");
		close(fd);
	}
	return NULL;
}

static void connections(int port, int n)
{
	for (int i = 0; i < n; i++) {
		int fd = dial_local(port);
		close(fd);
	}
}

/* Truncates the files of the run directory whose names match. */
static void truncate_matching(const char *what)
{
	const char *dir = getenv("SOCKLENS_DIR");
	char path[4096], mine[64];
	DIR *d = dir ? opendir(dir) : NULL;
	snprintf(mine, sizeof mine, "p%d.", (int)getpid());
	for (struct dirent *de; d && (de = readdir(d));) {
		int log = !strncmp(de->d_name, mine, strlen(mine)), run = !strcmp(de->d_name, "run.slctl");
		if ((log && strcmp(what, "run")) || (run && strcmp(what, "log"))) {
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			if (truncate(path, 0) != 0)
				die("truncate");
		}
	}
	if (d)
		closedir(d);
}

static sigjmp_buf back;
static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(back, 1);
}

/* A SIGBUS of the program's own (a file it mapped, then truncated) reaches its handler. */
static int own_sigbus_is_delivered(void)
{
	char path[] = "/tmp/truncated_log-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 4096) != 0)
		die("mkstemp");
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unlink(path);
	if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
		die("mmap");
	signal(SIGBUS, on_bus);
	int caught = sigsetjmp(back, 1);
	if (!caught)
		p[0] = 1;
	munmap(p, 4096);
	close(fd);
	return caught;
}

int main(int argc, char **argv)
{
	int port, ls = listen_local(64, &port);
	pthread_t t;
	if (argc != 2)
		die("usage: truncated_log log|run|both");
	pthread_create(&t, NULL, acceptor, &ls);
	connections(port, 50);
	truncate_matching(argv[1]);
	connections(port, ROUNDS - 50);
	pthread_join(t, NULL);
	close(ls);
	printf("truncated_log: %d connections, own SIGBUS %s\n", ROUNDS,
	       own_sigbus_is_delivered() ? "caught" : "missed");
	return 0;
}
