/* rule_timeouts.c - missing-timeout (blocking reads that can hang) and missing-keepalive. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include "analyzer.h"

static int is_tcp(const struct sl_slot *s)
{
	return (s->family == AF_INET || s->family == AF_INET6) && s->type == SOCK_STREAM;
}

static int connected(const struct sl_slot *s)
{
	return (s->role == SL_ROLE_CLIENT && s->connect_state == SL_CONN_DONE) || s->role == SL_ROLE_SERVER ||
	       (s->role == SL_ROLE_INHERITED && s->peer.family);
}

/* The longest read still blocked right now, from the in-flight table. */
static uint64_t blocked_now(const struct sl_conn *c, uint64_t now)
{
	uint64_t worst = 0;
	for (uint32_t i = 0; i < c->img->ninfl; i++) {
		const struct sl_inflight *f = &c->img->infl[i];
		uint64_t since = f->since_cns;
		if (f->owner && f->call && f->conn_id == c->s->conn_id && since < now && now - since > worst)
			worst = now - since;
	}
	return worst;
}

/* Fills what both findings share; returns the stack to show: where the connection was made. */
static uint32_t base(struct sl_diag *d, const struct sl_conn *c, enum sl_kind k)
{
	sl_diag_init(d, k, SL_SEV_WARNING, c->proc, c->s->fd);
	d->conn_id = c->s->conn_id;
	sl_addr_format(&c->s->peer, d->peer, sizeof d->peer);
	/* grouped by call site and role, never by peer address: a test suite opens a listener on a
	 * fresh port per test, and clients come from fresh ports; the peers are listed instead */
	snprintf(d->group_peer, sizeof d->group_peer, "%s", sl_role_name(c->s->role));
	return c->s->connect_stack ? c->s->connect_stack : c->s->open_stack;
}

static void missing_timeout(const struct sl_run *run, const struct sl_conn *c, struct sl_diags *out)
{
	const struct sl_slot *s = c->s;
	if (!is_tcp(s) || !connected(s) || !(s->flags & SL_SF_BLOCKING_READ) || (s->flags & SL_SF_GUARDED))
		return;
	if ((s->opts_set & (1u << SL_OPT_RCVTIMEO)) && s->opt[SL_OPT_RCVTIMEO] > 0)
		return;
	struct sl_diag d;
	char ms[32];
	uint32_t stack = base(&d, c, SL_K_MISSING_TIMEOUT);
	uint64_t read_max = s->read_max_cns, worst = read_max;
	uint64_t now = c->proc->alive && c->open_at_end ? run->now_ns : c->end_ns;
	uint64_t stuck = c->open_at_end ? blocked_now(c, now) : 0;
	if (stuck > worst)
		worst = stuck;
	d.worst_ns = worst;
	d.sev = worst >= run->th.blocked_ns ? SL_SEV_ERROR : SL_SEV_WARNING;
	sl_cdur_format(&c->img->h, worst, ms, sizeof ms);
	snprintf(d.summary, sizeof d.summary,
		 "The connection to %s was read in blocking mode with no receive timeout and no poll; "
		 "the longest read %s %s.",
		 d.peer[0] ? d.peer : "its peer", stuck >= read_max && stuck ? "has been blocked for" : "blocked for", ms);
	sl_diags_add(out, c->img, &d, stack, s->read_site);
}

static void missing_keepalive(const struct sl_run *run, const struct sl_conn *c, struct sl_diags *out)
{
	const struct sl_slot *s = c->s;
	if (!is_tcp(s) || !connected(s) || ((s->opts_set & (1u << SL_OPT_KEEPALIVE)) && s->opt[SL_OPT_KEEPALIVE]))
		return;
	uint64_t age = c->end_ns > s->open_ns ? c->end_ns - s->open_ns : 0;
	if (age < run->th.keepalive_ns)
		return;
	struct sl_diag d;
	char dur[32];
	uint32_t stack = base(&d, c, SL_K_MISSING_KEEPALIVE);
	d.worst_ns = age;
	sl_dur_format(age, dur, sizeof dur);
	snprintf(d.summary, sizeof d.summary, "The connection to %s lived %s%s without SO_KEEPALIVE.",
		 d.peer[0] ? d.peer : "its peer", dur, c->open_at_end ? " (and counting)" : "");
	sl_diags_add(out, c->img, &d, stack, 0);
}

void sl_rule_timeouts(struct sl_ctx *c)
{
	for (size_t i = 0; i < c->nconns; i++) {
		missing_timeout(c->run, &c->conns[i], c->out);
		missing_keepalive(c->run, &c->conns[i], c->out);
	}
}
