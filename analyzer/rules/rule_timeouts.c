/* rule_timeouts.c - missing-timeout (blocking reads that can hang), missing-keepalive and
 * keepalive-ineffective (keepalive on with the kernel's two-hour idle time). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "rules/rules.h"

static int is_read(uint32_t call)
{
	return call == SL_CALL_READ || call == SL_CALL_RECV;
}

/* The read still blocked right now that has waited longest, from the in-flight table. */
static const struct sl_inflight *blocked_read(const struct sl_conn *c, uint64_t now)
{
	const struct sl_inflight *worst = NULL;
	for (uint32_t i = 0; i < c->img->ninfl; i++) {
		const struct sl_inflight *f = &c->img->infl[i];
		if (f->owner && is_read(f->call) && f->conn_id == c->s->conn_id && f->since_cns < now &&
		    (!worst || f->since_cns < worst->since_cns))
			worst = f;
	}
	return worst;
}

int sl_read_unguarded(const struct sl_slot *s)
{
	if (s->flags & SL_SF_PARKED_READ) /* Go: a goroutine parked reading it with no deadline */
		return sl_is_tcp(s) && sl_connected(s);
	return sl_is_tcp(s) && sl_connected(s) && !(s->flags & (SL_SF_GUARDED | SL_SF_NONBLOCK)) &&
	       !sl_opt_on(s, SL_OPT_RCVTIMEO);
}

/* What a goroutine that reads with no deadline should have. */
#define GO_READ_ADVICE \
	"A goroutine reading with no deadline waits forever for a silent peer: set one before the read " \
	"(conn.SetReadDeadline; for an http.Server, ReadHeaderTimeout and IdleTimeout; for an " \
	"http.Client, Timeout; for a gRPC or database call, a context with a deadline), so the read " \
	"fails and the goroutine moves on."

static void missing_timeout(const struct sl_ctx *x, const struct sl_conn *c, struct sl_diags *out)
{
	const struct sl_slot *s = c->s;
	uint64_t now = sl_conn_now(x->run, c);
	/* a read seen to its end, or one still blocked (the flag is set when a read returns) */
	const struct sl_inflight *f = c->open_at_end ? blocked_read(c, now) : NULL;
	if (!sl_read_unguarded(s) || !((s->flags & SL_SF_BLOCKING_READ) || f))
		return;
	/* the program closed it while its request waited: its own bound ended the wait; not when it
	 * was told to stop meanwhile (a shutdown that cancels what is in flight is no bound) */
	if ((s->flags & SL_SF_RT_UNANSWERED) && !c->open_at_end &&
	    !sl_stopping(c, s->last_out_cns > s->last_in_cns ? s->last_out_cns : s->last_in_cns, c->end_ns))
		return;
	struct sl_diag d;
	char ms[32];
	uint32_t stack = sl_diag_conn(&d, c, SL_K_MISSING_TIMEOUT, SL_SEV_WARNING);
	uint64_t read_max = s->read_max_cns, worst = read_max;
	uint64_t stuck = f ? now - f->since_cns : 0;
	if (stuck > worst)
		worst = stuck;
	d.worst_ns = worst;
	d.sev = worst >= x->th->blocked_ns ? SL_SEV_ERROR : SL_SEV_WARNING;
	sl_cdur_format(&c->img->h, worst, ms, sizeof ms);
	/* (a goroutine seen parked once, at the sample that ended the program, has no length) */
	char waits[96];
	if (worst)
		snprintf(waits, sizeof waits, "the longest wait seen %s %s", stuck >= read_max && stuck ? "has lasted" : "lasted",
			 ms);
	else
		snprintf(waits, sizeof waits, "a wait was seen as it began, its length not measured");
	if ((s->flags & SL_SF_PARKED_READ) && s->role == SL_ROLE_SERVER) {
		d.advice = GO_READ_ADVICE;
		snprintf(d.summary, sizeof d.summary,
			 "The server read the connection from %s with no read deadline: a client that sends half a "
			 "request, or nothing, holds the goroutine as long as it likes (slowloris); %s.",
			 d.peer[0] ? d.peer : "its client", waits);
	} else if (s->flags & SL_SF_PARKED_READ) {
		d.advice = GO_READ_ADVICE;
		snprintf(d.summary, sizeof d.summary, "A goroutine read the connection %s %s with no read deadline; %s.",
			 s->role == SL_ROLE_SERVER ? "from" : "to", d.peer[0] ? d.peer : "its peer", waits);
	} else
		snprintf(d.summary, sizeof d.summary,
			 "The connection to %s was read in blocking mode with no receive timeout and no poll; "
			 "the longest read %s %s.",
			 d.peer[0] ? d.peer : "its peer", stuck >= read_max && stuck ? "has been blocked for" : "blocked for",
			 ms);
	sl_diag_fact(&d, "longest_read_ms", (double)worst / 1e6);
	sl_diag_fact(&d, "still_blocked", stuck >= read_max && stuck);
	uint64_t site = s->read_site ? s->read_site : f ? f->site : 0;
	if (site & SL_SITE_STACK) { /* the read's whole stack (a Python program's) */
		d.site_stack = (uint32_t)site;
		site = 0;
	}
	sl_diags_add(out, c->img, &d, stack, site);
}

static void missing_keepalive(const struct sl_ctx *x, const struct sl_conn *c, struct sl_diags *out)
{
	const struct sl_slot *s = c->s;
	if (!sl_is_tcp(s) || !sl_connected(s) || sl_opt_on(s, SL_OPT_KEEPALIVE))
		return;
	uint64_t age = c->end_ns > s->open_ns ? c->end_ns - s->open_ns : 0;
	if (age < x->th->keepalive_ns)
		return;
	struct sl_diag d;
	char dur[32];
	uint32_t stack = sl_diag_conn(&d, c, SL_K_MISSING_KEEPALIVE, SL_SEV_WARNING);
	d.worst_ns = age;
	sl_dur_format(age, dur, sizeof dur);
	snprintf(d.summary, sizeof d.summary, "The connection to %s lived %s%s without SO_KEEPALIVE.",
		 d.peer[0] ? d.peer : "its peer", dur, c->open_at_end ? " (and counting)" : "");
	sl_diags_add(out, c->img, &d, stack, 0);
}

/* net.ipv4.tcp_keepalive_time in seconds (the analyzer's namespace: the usual one), 7200 if unknown */
static long keepalive_time(void)
{
	static long v = -1;
	if (v < 0) {
		FILE *f = fopen("/proc/sys/net/ipv4/tcp_keepalive_time", "re");
		if (!f || fscanf(f, "%ld", &v) != 1 || v < 0)
			v = 7200;
		if (f)
			fclose(f);
	}
	return v;
}

static void keepalive_ineffective(const struct sl_ctx *x, const struct sl_conn *c, struct sl_diags *out)
{
	const struct sl_slot *s = c->s;
	if (!sl_is_tcp(s) || !sl_connected(s) || !sl_opt_on(s, SL_OPT_KEEPALIVE) || sl_opt_on(s, SL_OPT_KEEPIDLE))
		return;
	uint64_t age = c->end_ns > s->open_ns ? c->end_ns - s->open_ns : 0;
	long idle = keepalive_time();
	if (age < x->th->keepalive_ns || (uint64_t)idle * 1000000000ull <= x->th->keepalive_ns)
		return;
	struct sl_diag d;
	char dur[32];
	uint32_t stack = sl_diag_conn(&d, c, SL_K_KEEPALIVE_INEFFECTIVE, SL_SEV_WARNING);
	d.worst_ns = age;
	sl_dur_format(age, dur, sizeof dur);
	snprintf(d.summary, sizeof d.summary,
		 "The connection to %s (%s old%s) has SO_KEEPALIVE on but no TCP_KEEPIDLE: the first probe goes out "
		 "after the system's %ld s of silence.",
		 d.peer[0] ? d.peer : "its peer", dur, c->open_at_end ? " and counting" : "", idle);
	sl_diag_fact(&d, "age_ms", (double)age / 1e6);
	sl_diag_fact(&d, "system_idle_s", (double)idle);
	sl_diags_add(out, c->img, &d, stack, 0);
}

void sl_rule_timeouts(struct sl_ctx *c)
{
	for (size_t i = 0; i < c->nconns; i++) {
		missing_timeout(c, &c->conns[i], c->out);
		missing_keepalive(c, &c->conns[i], c->out);
		keepalive_ineffective(c, &c->conns[i], c->out);
	}
}
