/* rule_hung.c - hung-call: calls blocked right now (live runs), or when their process ended; a
 * read with no timeout and no poll is missing-timeout's, one finding rather than two, and a read
 * under a deadline is bounded. write-stalled: a write blocked that long has a peer that does not
 * read (a thread's, or a goroutine's parked in Go's netpoller). */
#define _GNU_SOURCE
#include <string.h>
#include "rules/rules.h"

static const struct sl_slot *slot_of_conn(const struct sl_image *img, uint64_t conn_id)
{
	for (uint32_t i = 0; i < img->nslots; i++)
		if (img->slots[i].state == SL_SLOT_LIVE && img->slots[i].conn_id == conn_id)
			return &img->slots[i];
	return NULL;
}

/* Waiting can be normal: accept() waits for clients (never reported), and a server's read
 * waits for the next request (info). A client's read, a connect or a write should not wait. */
static int severity(int call, const struct sl_slot *s)
{
	int read = call == SL_CALL_RECV || call == SL_CALL_READ;
	return read && s && s->role == SL_ROLE_SERVER ? SL_SEV_INFO : SL_SEV_WARNING;
}

/* Whether an in-flight record of the image holds a write on the connection (the loop below
 * reports it, with its own stack). */
static int write_in_flight(const struct sl_image *img, uint64_t conn_id)
{
	for (uint32_t i = 0; i < img->ninfl; i++)
		if (img->infl[i].owner && img->infl[i].conn_id == conn_id &&
		    (img->infl[i].call == SL_CALL_WRITE || img->infl[i].call == SL_CALL_SEND))
			return 1;
	return 0;
}

int sl_write_interrupted(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (!(s->flags & SL_SF_SHORT_WRITE) || s->write_max_cns < x->th->blocked_ns)
		return 0;
	return sl_conn_killed(c) || sl_stopping(c, s->last_out_cns > s->write_max_cns ? s->last_out_cns - s->write_max_cns : 0,
				     c->end_ns);
}

/* A write that waited that long, and whose wait then ended (the program closed it at its timeout,
 * or the peer read at last): a goroutine's seen parked (the longest wait a sample saw: at least
 * that); a blocking write that ran into its SO_SNDTIMEO (a timeout of the program's); one a signal
 * cut short as the process ended (sl_write_interrupted). write-stalled too, from what the slot
 * kept, at the connection's line. */
static void stalled_writes(struct sl_ctx *c)
{
	for (size_t i = 0; i < c->nconns; i++) {
		const struct sl_conn *cn = &c->conns[i];
		const struct sl_slot *s = cn->s;
		int timed_out = !(s->flags & SL_SF_NONBLOCK) && s->eagain_out && sl_opt_on(s, SL_OPT_SNDTIMEO);
		int interrupted = sl_write_interrupted(c, cn);
		if (!((s->flags & SL_SF_PARKED_WRITE) || timed_out || interrupted) || s->write_max_cns < c->th->blocked_ns ||
		    write_in_flight(c->img, s->conn_id))
			continue;
		struct sl_diag d;
		char dur[32];
		uint32_t stack = sl_diag_conn(&d, cn, SL_K_WRITE_STALLED,
					      s->write_max_cns >= 10 * c->th->blocked_ns ? SL_SEV_ERROR : SL_SEV_WARNING);
		d.worst_ns = s->write_max_cns;
		sl_cdur_format(&c->img->h, s->write_max_cns, dur, sizeof dur);
		snprintf(d.summary, sizeof d.summary,
			 "A write to %s waited %s%s: the peer was not reading what it was sent; %s.",
			 d.peer[0] ? d.peer : "its peer", (s->flags & SL_SF_PARKED_WRITE) ? "at least " : "", dur,
			 interrupted ? "a signal ended the wait as the process was stopped"
			 : timed_out ? "its send timeout (SO_SNDTIMEO) ended the wait"
			 : cn->open_at_end ? "the write had ended when the process did" : "then the program closed it");
		sl_diag_fact(&d, "waited_ms", (double)s->write_max_cns / 1e6);
		sl_diags_add(c->out, c->img, &d, stack, 0);
	}
}

void sl_rule_hung(struct sl_ctx *c)
{
	stalled_writes(c);
	const struct sl_image *img = c->img;
	const struct sl_proc *p = c->proc;
	if (img->h.end_reason == SL_END_EXEC)
		return; /* its threads are gone with the image */
	int live = p->alive && img->h.seq == sl_proc_last(p)->h.seq;
	uint64_t now = live ? c->run->now_ns : img->h.end_mono_ns ? img->h.end_mono_ns : p->end_ns;
	for (uint32_t i = 0; i < img->ninfl && now; i++) {
		const struct sl_inflight *f = &img->infl[i];
		uint64_t since = f->since_cns;
		if (!f->owner || !f->call || f->call == SL_CALL_ACCEPT || since >= now || now - since < c->th->blocked_ns)
			continue;
		const struct sl_slot *s = slot_of_conn(img, f->conn_id);
		int read = f->call == SL_CALL_READ || f->call == SL_CALL_RECV;
		int write = f->call == SL_CALL_WRITE || f->call == SL_CALL_SEND;
		if (s && read && sl_read_unguarded(s))
			continue; /* missing-timeout reports this read, as an error */
		if (s && read && f->goroutine && (s->flags & SL_SF_DEADLINE_READ))
			continue; /* a goroutine's read under a deadline: bounded, not hung */
		/* a read under SO_RCVTIMEO, not yet at it: it ends there (EAGAIN); a slow peer, info */
		int within = s && read && sl_opt_on(s, SL_OPT_RCVTIMEO) &&
			     now - since < (uint64_t)s->opt[SL_OPT_RCVTIMEO] * 1000ull;
		struct sl_diag d;
		char dur[32];
		uint32_t stack = 0;
		sl_diag_init(&d, write ? SL_K_WRITE_STALLED : SL_K_HUNG_CALL,
			     write ? (now - since >= 10 * c->th->blocked_ns ? SL_SEV_ERROR : SL_SEV_WARNING)
			     : within ? SL_SEV_INFO
				      : (enum sl_severity)severity((int)f->call, s),
			     p, f->fd);
		d.when_ns = now;
		d.conn_id = f->conn_id;
		d.worst_ns = now - since;
		if (s) {
			sl_addr_format(&s->peer, d.peer, sizeof d.peer);
			stack = s->connect_stack ? s->connect_stack : s->open_stack;
		}
		snprintf(d.group_peer, sizeof d.group_peer, "%u%s", f->call, within ? "/within" : "");
		sl_cdur_format(&img->h, d.worst_ns, dur, sizeof dur);
		if (write)
			snprintf(d.summary, sizeof d.summary, "A write to %s on fd %d %s waited %s: the peer is not reading "
				 "what it is sent (%s %u%s).", d.peer[0] ? d.peer : "its peer", f->fd,
				 live ? "has" : "had", dur, f->goroutine ? "goroutine" : "thread", f->owner,
				 live ? "" : ", when the process ended");
		else
			snprintf(d.summary, sizeof d.summary, "%s %u %s blocked in %s() on fd %d%s%s for %s%s.",
				 f->goroutine ? "Goroutine" : "Thread", f->owner, live ? "has been" : "was",
				 sl_call_name((int)f->call), f->fd, d.peer[0] ? " to " : "", d.peer, dur,
				 live ? "" : " when the process ended");
		if (within)
			d.advice = "The read has a receive timeout (SO_RCVTIMEO) and has not reached it: it ends there at the "
				   "latest. The peer is slow to answer; look at it if the wait is longer than it should be.";
		uint64_t site = f->site;
		if (site & SL_SITE_STACK) { /* a goroutine's whole stack */
			d.site_stack = (uint32_t)site;
			site = 0;
		}
		sl_diags_add(c->out, img, &d, stack, site);
	}
}
