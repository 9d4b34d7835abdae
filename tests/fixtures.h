/* fixtures.h - shared helpers for the cmocka tests: temporary run directories and synthetic logs. */
#ifndef TESTS_FIXTURES_H
#define TESTS_FIXTURES_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "shim.h"

static inline char *tmp_rundir(void)
{
	char *d = strdup("/tmp/socklens-test-XXXXXX");
	return mkdtemp(d);
}

static inline int rm_one(const char *p, const struct stat *st, int f, struct FTW *ftw)
{
	(void)st;
	(void)f;
	(void)ftw;
	return remove(p);
}

static inline void rm_rundir(char *d)
{
	nftw(d, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(d);
}

/* A small log: few records so tests can fill tables. */
static inline void small_params(struct sl_log_params *p)
{
	sl_log_params_default(p);
	p->slots = 8;
	p->events = 8;   /* the first 4 kept, then a ring of the 4 most recent */
	p->stacks = 16;
	p->modules = 4;
	p->inflight = 4;
}

static inline void addr_in(struct sl_addr *a, const char *ip, int port)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, ip, &in.sin_addr);
	sl_addr_set(a, (struct sockaddr *)&in, sizeof in);
}

static inline char *log_path(const char *dir, int pid, int seq)
{
	char *p;
	if (asprintf(&p, "%s/p%d.%d.sllog", dir, pid, seq) < 0)
		abort();
	return p;
}

#endif
