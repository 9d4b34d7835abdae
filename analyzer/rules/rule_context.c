/* rule_context.c - closed-by-peer: when a process failed (exited non-zero, or was killed) and no
 * warning or error explains it, the connections that ended abnormally are the context a person
 * needs: closed by the peer first, or cut short after a few bytes, with how far they got. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include "rules/rules.h"

/* ... or a finding on the connection itself that says why it ended (a TLS hello hung up on is
 * tls-aborted's), not one of the options' hygiene (a missing timeout explains no hang-up) */
static int conn_explained(const struct sl_ctx *c, uint64_t conn_id)
{
	for (size_t i = 0; i < c->out->n; i++) {
		const struct sl_diag *d = &c->out->v[i];
		if (d->proc == c->proc && d->conn_id == conn_id && d->sev >= SL_SEV_WARNING &&
		    d->kind != SL_K_MISSING_TIMEOUT && d->kind != SL_K_MISSING_KEEPALIVE)
			return 1;
	}
	return 0;
}

static int explained(const struct sl_ctx *c)
{
	for (size_t i = 0; i < c->out->n; i++)
		if (c->out->v[i].proc == c->proc && c->out->v[i].sev >= SL_SEV_WARNING)
			return 1;
	return 0;
}

/* A child of p started after when: the process it forked to hand a connection on (a forking
 * server closes its copy at once, having read nothing: that is how it hands it on). */
static int forked_after(const struct sl_run *run, const struct sl_proc *p, uint64_t when)
{
	for (size_t i = 0; i < run->nprocs; i++)
		if (run->procs[i].ppid == p->pid && run->procs[i].images[0].h.start_mono_ns >= when)
			return 1;
	return 0;
}

/* Closed by the peer first (a read returned 0), or over within a second having moved few bytes. */
static int abnormal(const struct sl_ctx *c, const struct sl_conn *cn)
{
	const struct sl_slot *s = cn->s;
	if (s->role == SL_ROLE_SERVER && !(s->flags & SL_SF_EOF) && !s->bytes_in && !s->bytes_out &&
	    forked_after(c->run, c->proc, s->open_ns))
		return 0; /* handed to a child that serves it */
	if ((s->role != SL_ROLE_CLIENT && s->role != SL_ROLE_SERVER) || s->type != 1 /* SOCK_STREAM */)
		return 0;
	if (s->connect_state != SL_CONN_DONE)
		return 0; /* a connect that failed (or never finished) made no connection a peer could close */
	if (s->flags & SL_SF_EOF) /* (not a FIN that answered the program's goodbye) */
		return !(s->flags & SL_SF_RT_UNANSWERED);
	return !cn->open_at_end && cn->end_ns - s->open_ns < 1000000000ull && s->bytes_in + s->bytes_out < 64;
}

/* A request the peer hung up on without a byte back: nothing came after the program's last send
 * (nothing at all, or its last receive is older than that send, as far as the clock tells them
 * apart) before the peer's FIN. */
static int hung_up_on(const struct sl_conn *cn)
{
	const struct sl_slot *s = cn->s;
	return s->role == SL_ROLE_CLIENT && (s->flags & SL_SF_EOF) && !(s->flags & (SL_SF_RT_UNANSWERED | SL_SF_SHUT_WR)) &&
	       s->bytes_out && !s->err_total && (!s->bytes_in || s->last_out_cns > s->last_in_cns);
}

/* ... said as the request the peer never answered: the program's failure is most likely the
 * peer's (a handler that crashed or panicked, a request it refused by hanging up). */
static void hung_up(struct sl_ctx *c, const struct sl_conn *cn, const char *status)
{
	const struct sl_slot *s = cn->s;
	struct sl_diag d;
	char age[32];
	uint32_t stack = sl_diag_conn(&d, cn, SL_K_UNANSWERED_REQUEST, SL_SEV_ERROR);
	snprintf(d.group_peer, sizeof d.group_peer, "hung-up");
	d.worst_ns = cn->end_ns - s->open_ns;
	sl_dur_format(d.worst_ns, age, sizeof age);
	snprintf(d.summary, sizeof d.summary,
		 "%.30s[%d] sent %llu bytes to %s and the peer closed the connection without a reply%s (%s after it was "
		 "opened); %.30s[%d] %.60s.", sl_proc_name(c->proc), c->proc->pid, (unsigned long long)s->bytes_out,
		 d.peer[0] ? d.peer : "its peer",
		 s->bytes_in ? " to the last request (earlier ones were answered)" : "", age, sl_proc_name(c->proc),
		 c->proc->pid, status);
	d.advice = "The peer took the request and hung up without answering: look at its log at that moment (a "
		   "handler that crashed or panicked, a limit it enforces by closing, a request it could not "
		   "parse). A retry helps only when that failure is passing.";
	/* a request that went out on a connection idle since its last answer, and the peer's FIN right
	 * after it: the server's idle timeout closing the connection as the request crossed it */
	uint64_t idle = s->bytes_in && s->last_out_cns > s->last_in_cns ? s->last_out_cns - s->last_in_cns : 0;
	if (idle >= 1000000000ull && s->eof_cns >= s->last_out_cns && s->eof_cns - s->last_out_cns < 1000000000ull) {
		char gap[32];
		size_t len = strlen(d.summary);
		sl_dur_format(idle, gap, sizeof gap);
		if (len > 1 && len + 80 < sizeof d.summary)
			snprintf(d.summary + len - 1, sizeof d.summary - len + 1,
				 "; the connection had sat idle %s since the last answer.", gap);
		d.advice = "A pooled connection idle since its last answer, closed by the peer as the request went out: "
			   "most likely the server's idle (keep-alive) timeout ran out just then. Keep the client's idle "
			   "timeout below the server's (Go: Transport.IdleConnTimeout; elsewhere the pool's idle or "
			   "keep-alive time), or retry requests that are safe to repeat.";
		sl_diag_fact(&d, "idle_before_ms", (double)idle / 1e6);
	}
	sl_diag_fact(&d, "closed_by_peer", 1);
	sl_diag_fact(&d, "bytes_sent", (double)s->bytes_out);
	sl_diag_fact(&d, "bytes_received", (double)s->bytes_in);
	sl_diags_add(c->out, c->img, &d, stack, sl_send_site(c->img, &d, s));
}

void sl_rule_context(struct sl_ctx *c)
{
	if (!sl_proc_failed(c->proc, &c->img->h))
		return;
	char status[96];
	sl_proc_status(c->proc, status, sizeof status);
	/* (said whatever else was found: a missing timeout on the same connection explains nothing) */
	int hung = 0;
	for (size_t i = 0; i < c->nconns; i++)
		if (abnormal(c, &c->conns[i]) && hung_up_on(&c->conns[i]) &&
		    !conn_explained(c, c->conns[i].s->conn_id)) {
			hung_up(c, &c->conns[i], status);
			hung = 1;
		}
	if (hung || explained(c))
		return;
	/* a server told to stop (SIGTERM, SIGINT, SIGHUP): its clients' leaving is how a server's
	 * connections end, no context for that stop */
	int sig = c->proc->have_status && WIFSIGNALED(c->proc->wstatus) ? WTERMSIG(c->proc->wstatus) : 0;
	int told_to_stop = sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
	for (size_t i = 0; i < c->nconns; i++) {
		const struct sl_conn *cn = &c->conns[i];
		const struct sl_slot *s = cn->s;
		if (!abnormal(c, cn) || (told_to_stop && s->role == SL_ROLE_SERVER))
			continue;
		struct sl_diag d;
		char age[32];
		uint32_t stack = sl_diag_conn(&d, cn, SL_K_CLOSED_BY_PEER, SL_SEV_INFO); /* ("accepted at" a server's) */
		d.worst_ns = cn->end_ns - s->open_ns;
		sl_dur_format(d.worst_ns, age, sizeof age);
		snprintf(d.summary, sizeof d.summary,
			 "The connection %s %.60s %s %s after it was opened, with %llu bytes received and %llu sent; "
			 "%.30s[%d] %.60s and no other finding explains it.",
			 s->role == SL_ROLE_SERVER ? "from" : "to", d.peer[0] ? d.peer : "its peer",
			 (s->flags & SL_SF_EOF) ? "was closed by the peer" : "ended", age,
			 (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out, sl_proc_name(c->proc),
			 c->proc->pid, status);
		sl_diags_add(c->out, c->img, &d, stack, 0);
	}
}

int sl_stopping(const struct sl_conn *c, uint64_t from_cns, uint64_t to_cns)
{
	const struct sl_log_header *h = &c->img->h;
	int own_end = h->end_reason == SL_END_EXIT || h->end_reason == SL_END_EXEC || c->proc->alive;
	if (!h->stop_signal || !own_end || h->stop_signal_ns <= from_cns || h->stop_signal_ns > to_cns + h->coarse_res_ns)
		return 0;
	return (int)h->stop_signal;
}
