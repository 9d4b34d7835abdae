/* diag.c - the one table of diagnostic kinds, and grouping of identical findings by call site. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "analyzer.h"

static const struct {
	const char *name;
	const char *advice;
} kinds[SL_K__COUNT] = {
	[SL_K_CONNECT_REFUSED] = {"connect-refused",
		"Nothing was listening at that address: check that the service is running and that the "
		"host and port in the program's configuration are right."},
	[SL_K_CONNECT_TIMEOUT] = {"connect-timeout",
		"The peer never answered the handshake: a firewall dropping packets, a wrong address, or a "
		"server whose accept queue is full. Check reachability and the server's backlog."},
	[SL_K_CONNECT_UNREACHABLE] = {"connect-unreachable",
		"The kernel had no route to the peer: check the address, the routing table and the "
		"network the program runs in (container, namespace)."},
	[SL_K_CONNECTION_RESET] = {"connection-reset",
		"The peer aborted the connection (RST): it crashed, closed with unread data, or a proxy "
		"or idle timeout killed it. Handle the error and retry or reconnect where safe."},
	[SL_K_BROKEN_PIPE] = {"broken-pipe",
		"The program wrote after the peer had closed the connection: check the peer's close "
		"reason and stop writing once a read returns 0 or an error."},
	[SL_K_SOCKET_LEAK] = {"socket-leak",
		"This socket was never closed: close it on every path (errors included), or use a "
		"scope-bound owner so it cannot outlive its use."},
	[SL_K_MISSING_TIMEOUT] = {"missing-timeout",
		"A blocking read with no timeout hangs forever if the peer goes silent: set SO_RCVTIMEO "
		"(or the library's read timeout), or poll with a timeout before reading."},
	[SL_K_FD_EXHAUSTION] = {"fd-exhaustion",
		"The process ran out of file descriptors (EMFILE: its RLIMIT_NOFILE; ENFILE: the system's): "
		"look for leaked sockets first, then raise the limit (ulimit -n, LimitNOFILE=) if the load "
		"is real."},
	[SL_K_UNTRACED_EXEC] = {"untraced-exec",
		"socklens cannot see inside that program. For a stripped environment, pass LD_PRELOAD and "
		"SOCKLENS_DIR through; for a static build, use a dynamic one; a setuid program can only be "
		"traced by running a copy without the setuid bit."},
	[SL_K_HUNG_CALL] = {"hung-call",
		"A call that waits this long is usually waiting for a peer that will not answer: give it a "
		"deadline (SO_RCVTIMEO/SO_SNDTIMEO, a connect timeout, poll with a timeout) and check the "
		"peer shown."},
	[SL_K_MISSING_KEEPALIVE] = {"missing-keepalive",
		"A long-lived connection without keepalive never notices a dead peer or a dropped NAT "
		"entry: enable SO_KEEPALIVE and tune TCP_KEEPIDLE/KEEPINTVL/KEEPCNT."},
};

const char *sl_kind_name(enum sl_kind k)
{
	return (unsigned)k < SL_K__COUNT ? kinds[k].name : "?";
}

const char *sl_kind_advice(enum sl_kind k)
{
	return (unsigned)k < SL_K__COUNT ? kinds[k].advice : "";
}

int sl_kind_parse(const char *name)
{
	for (int k = 0; k < SL_K__COUNT; k++)
		if (!strcmp(kinds[k].name, name))
			return k;
	return -1;
}

const char *sl_sev_name(enum sl_severity s)
{
	return s == SL_SEV_ERROR ? "error" : s == SL_SEV_WARNING ? "warning" : "info";
}

static int same_site(const struct sl_diag *a, const struct sl_diag *b)
{
	return a->kind == b->kind && a->proc == b->proc && a->img == b->img && a->stack == b->stack &&
	       a->site == b->site && a->err == b->err && !strcmp(a->group_peer, b->group_peer);
}

void sl_diags_add(struct sl_diags *ds, const struct sl_diag *d)
{
	for (size_t i = 0; i < ds->n; i++) {
		struct sl_diag *o = &ds->v[i];
		if (!same_site(o, d))
			continue;
		o->count += d->count;
		if (d->sev > o->sev)
			o->sev = d->sev;
		if (d->worst_ns > o->worst_ns) {
			o->worst_ns = d->worst_ns;
			memcpy(o->summary, d->summary, sizeof o->summary);
		}
		return;
	}
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 16;
		ds->v = realloc(ds->v, ds->cap * sizeof *ds->v);
	}
	ds->v[ds->n++] = *d;
}

static int cmp_diag(const void *a, const void *b)
{
	const struct sl_diag *x = a, *y = b;
	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->proc->pid != y->proc->pid)
		return x->proc->pid < y->proc->pid ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

void sl_diags_sort(struct sl_diags *ds)
{
	if (ds->n)
		qsort(ds->v, ds->n, sizeof *ds->v, cmp_diag);
}

void sl_diags_release(struct sl_diags *ds)
{
	free(ds->v);
	memset(ds, 0, sizeof *ds);
}

void sl_analyze(const struct sl_run *run, struct sl_diags *out)
{
	sl_rule_connect(run, out);
	sl_rule_io_errors(run, out);
	sl_rule_leak(run, out);
	sl_rule_timeouts(run, out);
	sl_rule_untraced(run, out);
	sl_rule_hung(run, out);
	sl_diags_sort(out);
}
