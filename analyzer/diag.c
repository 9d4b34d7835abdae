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

void sl_diag_init(struct sl_diag *d, enum sl_kind k, enum sl_severity sev, const struct sl_proc *p, int fd)
{
	memset(d, 0, sizeof *d);
	d->kind = k;
	d->sev = sev;
	d->proc = p;
	d->fd = fd;
	d->count = 1;
}

static uint64_t mix(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* A frame as it is shown: function and line, or module and offset when there are no symbols. */
static uint64_t mix_frames(uint64_t h, const struct sl_frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h = mix(h, f[i].function, strlen(f[i].function));
		h = mix(h, f[i].file, strlen(f[i].file));
		h = mix(h, &f[i].line, sizeof f[i].line);
		h = mix(h, f[i].module, strlen(f[i].module));
		if (!f[i].function[0])
			h = mix(h, &f[i].offset, sizeof f[i].offset);
	}
	return h;
}

/* Findings group when kind, errno, peer group and the frames shown are the same. */
static uint64_t group_key(const struct sl_diag *d)
{
	uint64_t h = 1469598103934665603ull;
	h = mix(h, &d->kind, sizeof d->kind);
	h = mix(h, &d->err, sizeof d->err);
	h = mix(h, d->group_peer, strlen(d->group_peer));
	h = mix_frames(h, d->stack, d->nstack < SL_SHOWN_FRAMES ? d->nstack : SL_SHOWN_FRAMES);
	h = mix(h, "|", 1);
	h = mix_frames(h, d->site, d->nsite < SL_SHOWN_FRAMES ? d->nsite : SL_SHOWN_FRAMES);
	return h | 1;
}

static struct sl_frame *frames_of_stack(const struct sl_image *img, uint32_t id, size_t *n)
{
	struct sl_frame tmp[SL_MAX_FRAMES];
	*n = img && id ? sl_symbolize_stack(img, id, tmp, SL_MAX_FRAMES) : 0;
	if (!*n)
		return NULL;
	struct sl_frame *f = malloc(*n * sizeof *f);
	memcpy(f, tmp, *n * sizeof *f);
	return f;
}

static struct sl_frame *frames_of_site(const struct sl_image *img, uint64_t site, size_t *n)
{
	struct sl_frame tmp[SL_SHOWN_FRAMES];
	*n = img && site ? sl_symbolize(img, site, tmp, SL_SHOWN_FRAMES) : 0;
	if (!*n)
		return NULL;
	struct sl_frame *f = malloc(*n * sizeof *f);
	memcpy(f, tmp, *n * sizeof *f);
	return f;
}

static void note_pid(struct sl_diag *g, int pid)
{
	for (unsigned i = 0; i < g->npids && i < SL_LIST_MAX; i++)
		if (g->pids[i] == pid)
			return;
	if (g->npids < SL_LIST_MAX)
		g->pids[g->npids] = pid;
	g->npids++;
}

static void note_peer(struct sl_diag *g, const char *peer)
{
	if (!peer[0])
		return;
	for (unsigned i = 0; i < g->npeers && i < SL_LIST_MAX; i++)
		if (!strcmp(g->peers[i], peer))
			return;
	if (g->npeers < SL_LIST_MAX)
		snprintf(g->peers[g->npeers], sizeof g->peers[0], "%s", peer);
	g->npeers++;
}

static void index_grow(struct sl_diags *ds)
{
	size_t cap = ds->index_cap ? ds->index_cap * 2 : 64;
	size_t *ix = calloc(cap, sizeof *ix);
	for (size_t i = 0; i < ds->n; i++) {
		size_t h = ds->v[i].key & (cap - 1);
		while (ix[h])
			h = (h + 1) & (cap - 1);
		ix[h] = i + 1;
	}
	free(ds->index);
	ds->index = ix;
	ds->index_cap = cap;
}

static void fold(struct sl_diag *g, struct sl_diag *d)
{
	g->count += d->count;
	if (d->sev > g->sev)
		g->sev = d->sev;
	note_pid(g, d->proc ? d->proc->pid : 0);
	note_peer(g, d->peer);
	if (d->worst_ns > g->worst_ns) { /* the worst instance is the one shown, header and summary alike */
		g->worst_ns = d->worst_ns;
		g->proc = d->proc;
		g->fd = d->fd;
		g->conn_id = d->conn_id;
		memcpy(g->peer, d->peer, sizeof g->peer);
		memcpy(g->summary, d->summary, sizeof g->summary);
	}
	free(d->stack);
	free(d->site);
}

void sl_diags_add(struct sl_diags *ds, const struct sl_image *img, struct sl_diag *d, uint32_t stack, uint64_t site)
{
	d->stack = frames_of_stack(img, stack, &d->nstack);
	d->site = frames_of_site(img, site, &d->nsite);
	d->key = group_key(d);
	ds->added += d->count;
	if (ds->n * 2 >= ds->index_cap)
		index_grow(ds);
	size_t h = d->key & (ds->index_cap - 1);
	for (; ds->index[h]; h = (h + 1) & (ds->index_cap - 1)) {
		struct sl_diag *g = &ds->v[ds->index[h] - 1];
		if (g->key == d->key && g->kind == d->kind && g->err == d->err && !strcmp(g->group_peer, d->group_peer)) {
			fold(g, d);
			return;
		}
	}
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 16;
		ds->v = realloc(ds->v, ds->cap * sizeof *ds->v);
	}
	unsigned count = d->count;
	d->npids = 0;
	d->npeers = 0;
	note_pid(d, d->proc ? d->proc->pid : 0);
	note_peer(d, d->peer);
	d->count = count;
	ds->v[ds->n] = *d;
	ds->index[h] = ++ds->n;
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
	int px = x->proc ? x->proc->pid : 0, py = y->proc ? y->proc->pid : 0;
	if (px != py)
		return px < py ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

void sl_diags_sort(struct sl_diags *ds)
{
	if (ds->n)
		qsort(ds->v, ds->n, sizeof *ds->v, cmp_diag);
	free(ds->index); /* positions moved: the index is for adding, which is over */
	ds->index = NULL;
	ds->index_cap = 0;
}

void sl_diags_release(struct sl_diags *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		free(ds->v[i].stack);
		free(ds->v[i].site);
	}
	free(ds->v);
	free(ds->index);
	memset(ds, 0, sizeof *ds);
}

