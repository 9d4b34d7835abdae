/* rule_leak.c - socket-leak: sockets still open when their process ended, judged by role and
 * context so that a leak means a line to change:
 *  - not leaks: sockets passed on across exec, inherited at fork (the parent has them), handed
 *    to a child that outlived the process (a daemon's listener), blocked in a call when the
 *    process ended (the hang is the finding), a server's connections to clients still talking to
 *    it (a server stopping), a runtime's own socketpairs (a wakeup pair per process); sockets
 *    meant to live as long as the process (the only one its call site opened, and a netlink,
 *    datagram or listening socket, or held for most of the process's life: dnsmasq's, a
 *    service's socket opened at start); connections a pool reused (an idle keep-alive pool);
 *  - info: listeners, sockets of a process killed by a signal, the one socket a short-lived
 *    command left open (the kernel closes it);
 *  - warning: the rest, and any call site that left several open. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "rules/rules.h"

#define SHORT_LIVED_NS 10000000000ull /* a command, not a service */
#define PILE_IDLE_NS 2000000000ull     /* idle this long in a running process: left, not in use */
#define PILE_MIN 10                    /* left open by one call site of a running process: a pile-up */
#define CLOSING_NS 200000000ull        /* a server's connection whose client left this shortly before
					* the end: being closed (a program exiting while its own server
					* goroutine closes a connection it has just served) */

static int handed_on(const struct sl_conn *c)
{
	return c->img->h.end_reason == SL_END_EXEC || (c->s->flags & SL_SF_FROM_PARENT) ||
	       c->s->role == SL_ROLE_INHERITED;
}

static const char *how_ended(const struct sl_conn *c)
{
	const struct sl_proc *p = c->proc;
	if (c->img->h.end_reason == SL_END_EXIT)
		return "exited";
	if (p->have_status && (p->wstatus & 0x7f))
		return "was killed by a signal";
	return "ended";
}

/* A thread was blocked on this socket when the process ended: hung-call/missing-timeout say so. */
static int blocked_at_end(const struct sl_conn *c)
{
	for (uint32_t i = 0; i < c->img->ninfl; i++) {
		const struct sl_inflight *f = &c->img->infl[i];
		if (f->owner && f->call && f->conn_id == c->s->conn_id)
			return 1;
	}
	return 0;
}

/* A child forked after the socket was opened, and still running when this process ended, has
 * it now (nginx's parent hands its listeners to the daemon it forks, then exits). */
static int handed_to_child(const struct sl_run *run, const struct sl_conn *c)
{
	if (!c->img->h.nforks)
		return 0;
	for (size_t i = 0; i < run->nprocs; i++) {
		const struct sl_proc *k = &run->procs[i];
		if (k->ppid != c->proc->pid || k->images[0].h.start_mono_ns < c->s->open_ns)
			continue;
		if (k->alive || (k->end_ns && k->end_ns > c->end_ns) ||
		    sl_proc_last(k)->h.end_mono_ns > c->end_ns)
			return 1;
	}
	return 0;
}

/* A client connection of a running process that has sat idle for a while after its exchange: if
 * many from one call site do, they pile up (a leak seen live, as the final report will see it). */
static int idle_now(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	uint64_t last = s->last_in_cns > s->last_out_cns ? s->last_in_cns : s->last_out_cns;
	if (last < s->open_ns)
		last = s->open_ns;
	return s->role == SL_ROLE_CLIENT && x->run->now_ns > last && x->run->now_ns - last >= PILE_IDLE_NS;
}

static int leaked(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (!c->open_at_end || handed_on(c) || blocked_at_end(c) || (c->proc->alive && !idle_now(x, c)))
		return 0;
	if (s->role == SL_ROLE_NONE && s->err_total)
		return 0; /* its bind or listen failed: that is the finding (a server giving up at start) */
	if (s->role == SL_ROLE_SERVER && !(s->flags & SL_SF_EOF))
		return 0; /* a server stopping while a client is still connected */
	if (sl_close_wait_ns(x, c))
		return 0; /* held after the peer closed: close-wait says so */
	if (s->role == SL_ROLE_SERVER && (s->flags & SL_SF_EOF) && s->eof_cns && c->end_ns >= s->eof_cns &&
	    c->end_ns - s->eof_cns < CLOSING_NS)
		return 0; /* its client had gone an instant before the process ended: it was being closed */
	if (sl_unanswered_ns(x, c))
		return 0; /* still waiting for an answer: unanswered-request says so */
	if (!c->proc->alive && !s->bytes_out && !s->bytes_in && c->end_ns >= s->open_ns &&
	    c->end_ns - s->open_ns < CLOSING_NS &&
	    (s->connect_state == SL_CONN_PENDING || (s->role == SL_ROLE_NONE && !s->peer.family)))
		return 0; /* opened an instant before the process ended and still being set up, not yet
			   * connected (a library's background reconnect or cancel request) */
	return !handed_to_child(x->run, c);
}

/* Sockets call site stack opened in this image: the slots still held, or the site's count of
 * closed client connections (their slots may have been reused) plus those still open. */
static uint64_t site_total(const struct sl_ctx *x, uint32_t stack)
{
	uint64_t slots = 0, open = 0;
	for (size_t i = 0; i < x->nconns; i++)
		if (x->conns[i].s->open_stack == stack) {
			slots++;
			open += x->conns[i].open_at_end;
		}
	const struct sl_stack *st = sl_image_stack(x->img, stack);
	return st && st->closed + open > slots ? st->closed + open : slots;
}

/* A socket meant to live as long as its process: the only one its call site opened, and one that
 * is never a per-request connection, or one held for most of the process's life. */
static int lifetime(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (!s->open_stack || site_total(x, s->open_stack) != 1)
		return 0;
	if (s->family == AF_NETLINK || s->family == AF_PACKET || s->role == SL_ROLE_LISTENER ||
	    (s->type == SOCK_DGRAM && !s->peer.family))
		return 1;
	uint64_t start = x->img->h.start_mono_ns;
	return c->end_ns > start && s->open_ns >= start && (s->open_ns - start) * 2 <= c->end_ns - start;
}

/* A client connection a pool reused (two requests or more) and left idle, its answer read, or one
 * a Go program's HTTP client was seen holding idle (SL_SF2_POOL_IDLE): an idle keep-alive pool at
 * exit, not a leak. */
static int pooled(const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->role == SL_ROLE_CLIENT && (s->flags2 & SL_SF2_POOL_IDLE) && !(s->flags & SL_SF_EOF))
		return 1;
	return s->role == SL_ROLE_CLIENT && sl_is_tcp(s) && s->calls_out >= 2 && s->last_in_cns >= s->last_out_cns &&
	       !(s->flags & SL_SF_EOF);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* How many sockets this image leaked from the same call site: sites, the sorted call sites of the
 * nsites leaked ones (a server left with 100,000 open asks once per socket). */
static unsigned site_count(const uint32_t *sites, size_t nsites, uint32_t stack)
{
	size_t lo = 0, hi = nsites;
	while (lo < hi) { /* the first not below stack */
		size_t mid = lo + (hi - lo) / 2;
		if (sites[mid] < stack)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t first = lo;
	for (hi = nsites; lo < hi;) { /* the first above it */
		size_t mid = lo + (hi - lo) / 2;
		if (sites[mid] <= stack)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (unsigned)(lo - first);
}

static enum sl_severity severity(const struct sl_ctx *x, const struct sl_conn *c, unsigned same_site)
{
	uint64_t life = c->end_ns > x->img->h.start_mono_ns ? c->end_ns - x->img->h.start_mono_ns : 0;
	if (same_site >= PILE_MIN)
		return SL_SEV_WARNING; /* a pile-up, seen live or after a kill alike */
	if (c->s->role == SL_ROLE_LISTENER || sl_conn_killed(c))
		return SL_SEV_INFO;
	if (same_site == 1 && life < SHORT_LIVED_NS && c->s->role == SL_ROLE_CLIENT)
		return SL_SEV_INFO;
	return SL_SEV_WARNING;
}

void sl_rule_leak(struct sl_ctx *x)
{
	char *left = calloc(x->nconns ? x->nconns : 1, 1);
	uint32_t *sites = calloc(x->nconns ? x->nconns : 1, sizeof *sites);
	size_t nsites = 0;
	if (!left || !sites) {
		free(left);
		free(sites);
		return;
	}
	for (size_t i = 0; i < x->nconns; i++) {
		left[i] = (char)(leaked(x, &x->conns[i]) && !lifetime(x, &x->conns[i]) && !pooled(&x->conns[i]));
		if (left[i])
			sites[nsites++] = x->conns[i].s->open_stack;
	}
	qsort(sites, nsites, sizeof *sites, u32_cmp);
	for (size_t i = 0; i < x->nconns; i++) {
		const struct sl_conn *c = &x->conns[i];
		const struct sl_slot *s = c->s;
		unsigned same_site = left[i] ? site_count(sites, nsites, s->open_stack) : 0;
		/* a runtime's own wakeup pair (the JDK's, libcurl's) lives as long as the process; in a
		 * running process only a pile-up is said */
		/* ... and a listener open when its process ended is how a server ends, unless one call site
		 * piled them up */
		if (!left[i] || (s->role == SL_ROLE_PAIR && same_site < 4) ||
		    ((c->proc->alive || s->role == SL_ROLE_LISTENER) && same_site < PILE_MIN))
			continue;
		struct sl_diag d;
		char what[200];
		sl_diag_init(&d, SL_K_SOCKET_LEAK, severity(x, c, same_site), c->proc, s->fd);
		d.when_ns = c->end_ns;
		d.conn_id = s->conn_id;
		sl_addr_format(s->role == SL_ROLE_LISTENER || s->role == SL_ROLE_SERVER ? &s->local : &s->peer, d.peer,
			       sizeof d.peer);
		/* grouped by call site and role, never by address (ports change from test to test) */
		snprintf(d.group_peer, sizeof d.group_peer, "%s", sl_role_name(s->role));
		snprintf(what, sizeof what, "%s %s socket (fd %d%s%s)",
			 s->role == SL_ROLE_LISTENER ? "A listening" : s->role == SL_ROLE_SERVER ? "An accepted" : "A",
			 sl_type_name(s->family, s->type), s->fd, d.peer[0] ? ", " : "", d.peer);
		if (c->proc->alive)
			snprintf(d.summary, sizeof d.summary, "%s is open and idle in %s[%d], one of %u this call site left "
				 "open after their exchange: they pile up (never closed, or not given back to a pool).",
				 what, sl_proc_name(c->proc), c->proc->pid, same_site);
		else
			snprintf(d.summary, sizeof d.summary, "%s was still open when %s[%d] %s%s.", what,
				 sl_proc_name(c->proc), c->proc->pid, how_ended(c),
				 (s->flags & SL_SF_EOF) ? ", though the peer had closed its side" : "");
		sl_diags_add(x->out, x->img, &d, s->open_stack, 0);
	}
	free(left);
	free(sites);
}
