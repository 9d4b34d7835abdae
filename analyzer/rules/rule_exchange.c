/* rule_exchange.c - what the data exchange on one connection says:
 *  - unanswered-request: a client sent data and got nothing back for a threshold;
 *  - close-wait: the peer closed and the program held the socket on;
 *  - nagle-delay: replies after several writes came a delayed ACK late, without TCP_NODELAY;
 *  - tls-alert, tls-aborted: the first TLS record was an alert, or the ClientHello got a hang-up;
 *  - reset-on-close: closed with unread data or SO_LINGER {1, 0}, so the kernel sent RST. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include "rules/rules.h"

static const char *peer_or(const struct sl_diag *d, const char *dflt)
{
	return d->peer[0] ? d->peer : dflt;
}

static const char *how_it_ended(const struct sl_conn *c)
{
	if (!c->open_at_end)
		return "then the program closed it";
	return c->proc->alive ? "and it is still waiting" : "and it was still waiting when the process ended";
}

uint64_t sl_unanswered_ns(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (!sl_is_tcp(s) || s->role != SL_ROLE_CLIENT || s->connect_state != SL_CONN_DONE || !s->bytes_out)
		return 0;
	/* The times move in the coarse clock's 4 ms steps: a request sent right after the previous
	 * reply has the reply's time. The order is known otherwise: the preload counts the writes
	 * since the last data received; the tracer saw a round trip wait (SL_SF_RT_UNANSWERED), or the
	 * kernel's view placed the last send after the reply (recorder/kernel.c). */
	int after = s->last_out_cns > s->last_in_cns ||
		    (s->last_out_cns == s->last_in_cns && s->writes_since_read) || (s->flags & SL_SF_RT_UNANSWERED);
	/* (the tracer's SL_SF_RT_UNANSWERED: a FIN the peer sent only after the program's goodbye) */
	if (!after || ((s->flags & SL_SF_EOF) && !(s->flags & SL_SF_RT_UNANSWERED)) || s->err_total)
		return 0; /* answered, or closed or reset by the peer: other findings */
	if (c->open_at_end && (s->flags2 & SL_SF2_POOL_IDLE))
		return 0; /* idle in an HTTP client's pool: its last send was a control frame, not a request */
	/* A socket the program never polled for reading, nor read in vain (no read ended by
	 * SO_RCVTIMEO or EAGAIN), closed by it with no error seen: nothing waited for an answer when
	 * it closed (a blocking read after the send ends first, with data, EOF or an error, each said
	 * otherwise), so its last send asked for none: a notification after the last exchange, a log
	 * line. Only where the preload saw every read (not the tracer's default mode, nor reads an
	 * io_uring made). */
	if (!c->open_at_end && !(s->flags & SL_SF_GUARDED) && !s->eagain_in &&
	    !sl_opt_on(s, SL_OPT_RCVTIMEO) &&
	    !(x->img->h.flags & (SL_HDR_PTRACE | SL_HDR_IO_URING | SL_HDR_IO_URING_SOCK)))
		return 0;
	if (s->flags & SL_SF_PARKED_WRITE)
		return 0; /* still sending to a peer that does not read: write-stalled */
	if (!s->bytes_in && s->calls_out > 2)
		return 0; /* a one-way stream: sending is all it does (a request goes in one or two
			   * writes, its headers and its body, and waits for the answer) */
	/* (not the peer's close_notify, nor what came after the program's goodbye once the tracer saw
	 * the request unanswered until then) */
	if (s->unread_at_close && !(s->flags2 & SL_SF2_GOODBYE_UNREAD) && !(s->flags & SL_SF_RT_UNANSWERED))
		return 0; /* the answer arrived; the program did not read it */
	uint64_t now = sl_conn_now(x->run, c);
	uint64_t sent = s->last_out_cns > s->last_in_cns ? s->last_out_cns : s->last_in_cns;
	uint64_t waited = now > sent ? now - sent : 0;
	return waited >= x->th->unanswered_ns ? waited : 0;
}

/* The last write sent part of what it was asked to, and the program never sent the rest: what the
 * peer waits for (an unanswered request is this connection's symptom, not its cause). */
static int short_write(const struct sl_ctx *x, const struct sl_conn *c, uint64_t waited)
{
	const struct sl_slot *s = c->s;
	if (!(s->flags & SL_SF_SHORT_WRITE) || s->role == SL_ROLE_LISTENER || !sl_connected(s) ||
	    sl_write_interrupted(x, c))
		return 0;
	struct sl_diag d;
	char dur[32] = "";
	sl_diag_conn(&d, c, SL_K_SHORT_WRITE, waited ? SL_SEV_ERROR : SL_SEV_WARNING);
	if (waited)
		sl_cdur_format(&c->img->h, waited, dur, sizeof dur);
	snprintf(d.summary, sizeof d.summary,
		 "A write to %s sent %u of the %u bytes it was given, and the program never sent the other %u%s%s%s.",
		 peer_or(&d, "its peer"), s->short_sent, s->short_asked, s->short_asked - s->short_sent,
		 waited ? "; the peer, waiting for them, never answered (" : "", dur, waited ? ")" : "");
	sl_diag_fact(&d, "bytes_asked", s->short_asked);
	sl_diag_fact(&d, "bytes_sent", s->short_sent);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), s->send_site);
	return 1;
}

/* The tracer's unanswered waits (SL_EV_SLOW, b = SL_SLOW_UNANSWERED): a goroutine's round trip that
 * ended with nothing received, its connection left open (a gRPC or HTTP/2 call whose deadline ran
 * out). Sorted by connection, then time. */
struct waits {
	const struct sl_event **v;
	size_t n;
};

static int by_conn(const void *a, const void *b)
{
	const struct sl_event *x = *(const struct sl_event *const *)a, *y = *(const struct sl_event *const *)b;
	if (x->conn_id != y->conn_id)
		return x->conn_id < y->conn_id ? -1 : 1;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

static int is_wait(const struct sl_event *ev)
{
	return ev->type == SL_EV_SLOW && ev->b == SL_SLOW_UNANSWERED && ev->conn_id;
}

static void waits_collect(const struct sl_image *img, struct waits *w)
{
	size_t n = 0;
	w->v = NULL;
	w->n = 0;
	for (uint32_t i = 0; (img->h.flags & SL_HDR_PTRACE) && i < img->nevents; i++)
		n += is_wait(&img->events[i]);
	if (!n || !(w->v = malloc(n * sizeof *w->v)))
		return;
	for (uint32_t i = 0; i < img->nevents; i++)
		if (is_wait(&img->events[i]))
			w->v[w->n++] = &img->events[i];
	if (w->n > 1)
		qsort(w->v, w->n, sizeof *w->v, by_conn);
}

/* c's waits: the first of them in *first, how many returned */
static size_t waits_of(const struct waits *w, const struct sl_conn *c, const struct sl_event *const **first)
{
	size_t lo = 0, hi = w->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w->v[mid]->conn_id < c->s->conn_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t k = lo;
	while (k < w->n && w->v[k]->conn_id == c->s->conn_id)
		k++;
	*first = w->v + lo;
	return k - lo;
}

/* One of them that lasted the unanswered threshold: an unanswered-request at the caller's line. */
static void unanswered_wait(const struct sl_ctx *x, const struct sl_conn *c, const struct sl_event *ev)
{
	const struct sl_slot *s = c->s;
	if (ev->dur_ns < x->th->unanswered_ns)
		return;
	struct sl_diag d;
	char dur[32], how[160];
	/* (a call with no deadline ends unanswered only as the program cancels it: its context, a
	 * caller gone; with the connection open, no failure ended it) */
	int bounded = ev->a & SL_SLOW_BOUNDED, cancelled = !bounded;
	int sig = sl_stopping(c, ev->ts_ns, ev->ts_ns + ev->dur_ns);
	sl_diag_conn(&d, c, SL_K_UNANSWERED_REQUEST, sig || cancelled ? SL_SEV_INFO : SL_SEV_ERROR);
	snprintf(d.group_peer, sizeof d.group_peer, "call%s", cancelled ? " cancelled" : "");
	d.when_ns = ev->ts_ns + ev->dur_ns;
	d.worst_ns = ev->dur_ns;
	d.site_stack = ev->stack;
	d.site_label = "call at";
	if (sig) {
		snprintf(how, sizeof how, "; the program was told to stop (SIG%s) while it waited",
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		d.advice = "The program was shutting down and ended the call itself. If an answer was due by then, "
			   "look at the peer.";
	} else if (cancelled) {
		snprintf(how, sizeof how, "; with no deadline, it was cancelled by the program");
		d.advice = "The program cancelled the call itself: its context had no deadline, so its own logic "
			   "ended the wait. Look at why it cancelled; the peer is at fault only if it should have "
			   "answered within the time shown.";
	} else {
		snprintf(how, sizeof how, " and gave up at the bound the program set (a deadline or a context)");
		d.advice = "The peer took the call and never answered it: look at the peer (overloaded, stuck, or "
			   "waiting for more input than was sent), or at whether the deadline fits what it is "
			   "asked. The connection stayed open: other calls on it may have been answered.";
	}
	sl_cdur_format(&c->img->h, ev->dur_ns, dur, sizeof dur);
	snprintf(d.summary, sizeof d.summary,
		 "%.30s[%d] made a call to %s and got no reply for %s%s; the connection stayed open "
		 "(a call on a shared connection, HTTP/2 or gRPC, ended unanswered).", sl_proc_name(c->proc),
		 c->proc->pid, peer_or(&d, "its peer"), dur, how);
	sl_diag_fact(&d, "bytes_sent", (double)s->bytes_out);
	sl_diag_fact(&d, "bytes_received", (double)s->bytes_in);
	sl_diag_fact(&d, "waited_ms", (double)ev->dur_ns / 1e6);
	sl_diag_fact(&d, "still_open", 1);
	sl_diag_fact(&d, "cancelled", cancelled);
	sl_diag_fact(&d, "within_bound", 0);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
}

static void unanswered(const struct sl_ctx *x, const struct sl_conn *c, const struct waits *w)
{
	const struct sl_slot *s = c->s;
	const struct sl_event *const *ev;
	size_t n = waits_of(w, c, &ev);
	for (size_t k = 0; k < n; k++)
		unanswered_wait(x, c, ev[k]);
	/* nothing sent since the last of them ended but its cancel: the connection's record tells of
	 * that wait, not of another */
	if (n && s->last_out_cns <= ev[n - 1]->ts_ns + ev[n - 1]->dur_ns + 10000000ull)
		return;
	uint64_t waited = sl_unanswered_ns(x, c);
	if (short_write(x, c, waited) || !waited)
		return;
	struct sl_diag d;
	char dur[32], stopping[96] = "";
	uint64_t end = sl_conn_now(x->run, c);
	int sig = sl_stopping(c, end - waited, end);
	int cancelled = !c->open_at_end && (s->flags2 & SL_SF2_CANCELLED);
	/* a running program still waiting within a bound it set (a deadline, SO_RCVTIMEO, a request's
	 * context or Client.Timeout): a slow answer so far, not a missing one */
	int bounded = (s->flags & SL_SF_DEADLINE_READ) ||
		      sl_opt_on(s, SL_OPT_RCVTIMEO);
	/* ... or one it waits for through poll, select or epoll, whose timeout is not seen (Python's
	 * socket timeouts, curl -m, an event loop's timer) */
	int polled = !bounded && (s->flags & SL_SF_GUARDED) && !(s->flags & SL_SF_PARKED_READ);
	int within = c->open_at_end && c->proc->alive && (bounded || polled);
	/* told to stop while it waited, it ended the wait itself: a long poll or a subscription ends
	 * so, and nothing says an answer was due; nor when its own logic cancelled it (no deadline) */
	sl_diag_conn(&d, c, SL_K_UNANSWERED_REQUEST, sig || cancelled || within ? SL_SEV_INFO : SL_SEV_ERROR);
	if (within) {
		snprintf(stopping, sizeof stopping, "%s",
			 bounded ? ", within a bound the program set (a deadline, a timeout or a context)"
				 : ", waited for through poll, select or epoll (whose timeout is not seen)");
		d.advice = "The request is still waiting, within the bound the program gave it or under a poll whose "
			   "timeout is not seen: slow so far, not lost. If it runs out, the final report says so; "
			   "socklens stuck shows the waits as they last.";
		snprintf(d.group_peer, sizeof d.group_peer, "waiting-bounded");
	} else if (cancelled && !sig) {
		snprintf(stopping, sizeof stopping, "; its context, with no deadline, was cancelled by the program");
		d.advice = "The program cancelled the request itself: its context had no deadline and no Client.Timeout "
			   "bounded it, so its own logic ended the wait (a group of requests cancelled when one of "
			   "them failed, a caller that went away). Look at why it cancelled; the peer is at fault "
			   "only if it should have answered within the time shown.";
		snprintf(d.group_peer, sizeof d.group_peer, "cancelled");
	} else if (sig) {
		snprintf(stopping, sizeof stopping, "; the program was told to stop (SIG%s) while it waited",
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		d.advice = "The program was shutting down and ended the wait itself (a long poll or a subscription "
			   "ends so). If an answer was due by then, look at the peer.";
	} else if (bounded) { /* the wait had a bound (a context, a deadline, a timeout): not a missing one */
		snprintf(stopping, sizeof stopping, ", waiting under a bound the program set (a deadline, a timeout or a context)");
		d.advice = "The peer took the request and never answered while the program waited under the bound it "
			   "set (a deadline, a timeout or a context): look at the peer (overloaded, stuck, or waiting "
			   "for more input than was sent), or at whether the bound fits what it is asked.";
	} else if (!c->open_at_end) { /* the program gave up (its own timeout, most often): look at the peer */
		d.advice = "The peer took the request and never answered before the program closed the connection "
			   "(its own timeout, most often): look at the peer: overloaded, stuck, or waiting for more "
			   "input than was sent.";
	}
	d.worst_ns = waited;
	sl_cdur_format(&c->img->h, waited, dur, sizeof dur);
	/* (a TLS client's handshake the server never answered: a TLS port that is not, a server stuck
	 * before its handshake, a middlebox eating the hello) */
	int hello = s->first_out == SL_FB_TLS_HELLO && !s->bytes_in;
	snprintf(d.summary, sizeof d.summary,
		 "%.30s[%d] sent %s%llu bytes%s to %s%s and got no reply for %s%s; %s%s.", sl_proc_name(c->proc),
		 c->proc->pid, hello ? "its TLS ClientHello (" : "", (unsigned long long)s->bytes_out, hello ? " in all)" : "",
		 peer_or(&d, "its peer"), s->bytes_in ? " in all" : "", dur, stopping, how_it_ended(c),
		 s->bytes_in ? " (earlier requests on this connection were answered)" : "");
	if (hello && !sig && !cancelled && !within)
		d.advice = "The server took the connection and never answered the TLS handshake: check that the port "
			   "speaks TLS at once (not STARTTLS, not plain HTTP waiting for a request), and look at the "
			   "server (stuck before its handshake, overloaded) or at a middlebox on the way.";
	sl_diag_fact(&d, "bytes_sent", (double)s->bytes_out);
	sl_diag_fact(&d, "bytes_received", (double)s->bytes_in);
	sl_diag_fact(&d, "waited_ms", (double)waited / 1e6);
	sl_diag_fact(&d, "still_open", c->open_at_end);
	sl_diag_fact(&d, "cancelled", cancelled);
	sl_diag_fact(&d, "within_bound", within);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), sl_send_site(x->img, &d, s));
}

uint64_t sl_close_wait_ns(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->type != 1 /* SOCK_STREAM */ || (s->flags & (SL_SF_SHUT_WR | SL_SF_FROM_PARENT)))
		return 0;
	if (s->role != SL_ROLE_CLIENT && s->role != SL_ROLE_SERVER && s->role != SL_ROLE_INHERITED)
		return 0;
	uint64_t from;
	if (s->flags & SL_SF_EOF) {
		/* a half-close: the program may still answer after the peer's FIN; count from its last send */
		from = s->last_out_cns > s->eof_cns ? s->last_out_cns : s->eof_cns;
	} else if ((c->open_at_end || s->close_ns) && (s->flags & SL_SF_TCPINFO) && s->tcp_state == TCP_CLOSE_WAIT) {
		/* never read to its end: TCP_INFO at close (or as the process ended with it open, or the
		 * kernel asked now of a running one: kview.c) says
		 * the peer's FIN had come, after the last data and at the latest at the peer's last ACK
		 * (kept in eof_cns by the recorder; logs from before it have none: then the last data) */
		from = s->last_in_cns > s->last_out_cns ? s->last_in_cns : s->last_out_cns;
		if (from < s->open_ns)
			from = s->open_ns;
		if (s->eof_cns > from)
			from = s->eof_cns; /* the FIN's time, from its ACK (recorder/kernel.c) */
	} else {
		return 0;
	}
	uint64_t end = sl_conn_now(x->run, c);
	uint64_t held = end > from ? end - from : 0;
	return held >= x->th->close_wait_ns ? held : 0;
}

static void close_wait(const struct sl_ctx *x, const struct sl_conn *c)
{
	uint64_t held = sl_close_wait_ns(x, c);
	if (!held)
		return;
	struct sl_diag d;
	char dur[32];
	/* (a running client's: most often a pooled connection its server closed, found at its next use) */
	int pooled = c->open_at_end && c->proc->alive && c->s->role == SL_ROLE_CLIENT && !(c->s->flags & SL_SF_EOF);
	sl_diag_conn(&d, c, SL_K_CLOSE_WAIT, c->open_at_end && !pooled ? SL_SEV_ERROR : SL_SEV_WARNING);
	d.worst_ns = held;
	sl_cdur_format(&c->img->h, held, dur, sizeof dur);
	const char *tail = !c->open_at_end ? "before closing it"
			   : c->proc->alive ? "and it is still open (CLOSE_WAIT)"
					    : "and never closed it (it sat in CLOSE_WAIT until the process ended)";
	if (c->s->flags & SL_SF_EOF)
		snprintf(d.summary, sizeof d.summary, "%s %s closed its side; the program held the socket (fd %d) %s %s.",
			 c->s->role == SL_ROLE_SERVER ? "The client" : "The peer", peer_or(&d, "(unnamed)"), c->s->fd, dur, tail);
	else
		snprintf(d.summary, sizeof d.summary,
			 "%s %s closed its side and the program never read to the end: the socket (fd %d) %s idle %s "
			 "after the last data and %s.",
			 c->s->role == SL_ROLE_SERVER ? "The client" : "The peer", peer_or(&d, "(unnamed)"), c->s->fd,
			 c->open_at_end && c->proc->alive ? "has sat" : "sat", dur,
			 !c->open_at_end ? "was in CLOSE_WAIT when the program closed it"
			 : c->proc->alive ? "is in CLOSE_WAIT now, still open (the kernel asked as this report was made)"
					  : "was in CLOSE_WAIT when the process ended, never closed");
	sl_diag_fact(&d, "eof_read", (c->s->flags & SL_SF_EOF) != 0);
	sl_diag_fact(&d, "held_ms", (double)held / 1e6);
	sl_diag_fact(&d, "still_open", c->open_at_end);
	if (c->s->eof_stack) { /* a Python or Java program: the read that saw the peer's EOF */
		d.site_stack = c->s->eof_stack;
		d.site_label = "EOF read at";
	}
	sl_diags_add(x->out, x->img, &d, c->s->open_stack ? c->s->open_stack : c->s->connect_stack, 0);
}

static void nagle(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (!sl_is_tcp(s) || sl_opt_on(s, SL_OPT_NODELAY) || s->nagle_rounds < 3 || s->nagle_rounds * 2 < s->rounds_multi)
		return;
	struct sl_diag d;
	char lost[32], each[32];
	sl_diag_conn(&d, c, SL_K_NAGLE_DELAY, SL_SEV_WARNING);
	d.worst_ns = s->nagle_cns;
	sl_dur_format(s->nagle_cns, lost, sizeof lost);
	sl_dur_format(s->nagle_cns / s->nagle_rounds, each, sizeof each);
	snprintf(d.summary, sizeof d.summary,
		 "On the connection %s %s, %u of %u replies that followed two or more writes came %s after the last "
		 "write (a delayed ACK), with TCP_NODELAY off: %s lost in all.",
		 s->role == SL_ROLE_SERVER ? "from" : "to", peer_or(&d, "(unnamed)"), s->nagle_rounds, s->rounds_multi,
		 each, lost);
	sl_diag_fact(&d, "rounds", s->rounds_multi);
	sl_diag_fact(&d, "delayed_rounds", s->nagle_rounds);
	sl_diag_fact(&d, "lost_ms", (double)s->nagle_cns / 1e6);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), sl_send_site(x->img, &d, s));
}

/* RFC 8446 section 6 and RFC 5246 section 7.2 */
static const char *alert_name(unsigned desc)
{
	switch (desc) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 21: return "decryption_failed";
	case 22: return "record_overflow";
	case 30: return "decompression_failure";
	case 40: return "handshake_failure";
	case 41: return "no_certificate";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 90: return "user_canceled";
	case 100: return "no_renegotiation";
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 112: return "unrecognized_name";
	case 113: return "bad_certificate_status_response";
	case 115: return "unknown_psk_identity";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	}
	return "unknown";
}

static const char *alert_hint(unsigned desc)
{
	switch (desc) {
	case 70: return "the two sides share no TLS version";
	case 40: return "no cipher suite, group or signature algorithm both sides accept";
	case 71: return "the server requires stronger ciphers than offered";
	case 48: return "the certificate's issuer is not trusted by the side that sent the alert";
	case 42: case 43: case 46: return "the certificate was rejected";
	case 45: return "a certificate has expired";
	case 44: return "a certificate was revoked";
	case 112: return "the server has no certificate for the name asked (SNI)";
	case 116: return "the server requires a client certificate";
	case 120: return "no ALPN protocol both sides speak";
	case 86: return "a version downgrade was refused";
	}
	return "the handshake was refused";
}

/* A TLS client that got the server's first flight (its certificate) and went no further: it sent an
 * alert encrypted where its Finished would be (TLS 1.3: the reason is not seen), or closed without
 * a word having sent nothing after the handshake (Node.js checks the certificate after it). */
static int rejected(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->role != SL_ROLE_CLIENT || s->first_out != SL_FB_TLS_HELLO || s->first_in != SL_FB_TLS_HELLO || !s->bytes_in)
		return 0;
	if (s->flags & SL_SF_TLS_SERVER_ALERT) {
		/* the server's answer to the client's Finished was an alert, and then its end */
		if (!((s->flags & SL_SF_EOF) || s->err_total || !c->open_at_end))
			return 0;
		struct sl_diag d;
		sl_diag_conn(&d, c, SL_K_TLS_REJECTED, SL_SEV_ERROR);
		snprintf(d.group_peer, sizeof d.group_peer, "by-server");
		d.advice = "The server would not go on with the program: a TLS 1.3 server that requires a client "
			   "certificate says so with an alert after the client's handshake, where the client sees it "
			   "only when it next reads. Give the program the certificate and key the server expects, and "
			   "check that the server trusts their CA (openssl s_client -cert ... -key ... shows the "
			   "alert's reason).";
		snprintf(d.summary, sizeof d.summary,
			 "%s answered the program's TLS 1.3 Finished with an alert (encrypted: its reason cannot be seen) "
			 "and closed: the server refused the handshake after seeing the program's certificate, most often "
			 "because it requires one and the program sent none.", peer_or(&d, "The server"));
		sl_diag_fact(&d, "encrypted_alert", 1);
		sl_diag_fact(&d, "by_server", 1);
		sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
		return 1;
	}
	if (s->err_total)
		return 0;
	/* (Go's crypto/tls checks the certificate inside the handshake: a Go client's alert after it
	 * is a close_notify on a connection it did not need, as net/http's HTTP/2 pool closes the
	 * extra ones it dialed side by side) */
	if ((s->flags & SL_SF_TLS_LAST_ALERT) && !c->open_at_end && s->calls_out <= 3 &&
	    !(x->img->h.flags & (SL_HDR_GOROUTINES | SL_HDR_GO_UNREAD))) {
		/* its handshake done, the client's first record was an alert, and then its close: a
		 * rejection of the server (curl checks the name in the certificate after the handshake),
		 * or a connection given up unused (close_notify looks the same once encrypted): a warning */
		struct sl_diag d;
		sl_diag_conn(&d, c, SL_K_TLS_REJECTED, SL_SEV_WARNING);
		snprintf(d.group_peer, sizeof d.group_peer, "after-handshake");
		d.advice = "The program finished the TLS handshake and then hung up before asking anything: most "
			   "often it rejected the server's certificate after the handshake (the name it connected to "
			   "is not in the certificate - curl, wget and many libraries check it only then - or a pinned "
			   "key differs). Compare the certificate's names (openssl s_client -connect HOST:PORT "
			   "-servername NAME) with the name the program uses. A program that opens connections it does "
			   "not use (a health check of the handshake alone) ends them the same way.";
		snprintf(d.summary, sizeof d.summary,
			 "The program completed its TLS handshake with %s, then sent an alert (%s) as its first record and "
			 "closed the connection without sending a request: it gave the server up right after the "
			 "handshake.", peer_or(&d, "the server"),
			 s->alert_level ? alert_name(s->alert_desc) : "encrypted: its reason cannot be seen");
		sl_diag_fact(&d, "after_handshake", 1);
		sl_diag_fact(&d, "bytes_received", (double)s->bytes_in);
		sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
		return 1;
	}
	int alert = (s->flags & SL_SF_TLS_ENC_ALERT) != 0;
	int silent = !c->open_at_end && s->calls_out <= 2 && !(s->flags & SL_SF_EOF);
	if (!alert && !silent)
		return 0;
	struct sl_diag d;
	sl_diag_conn(&d, c, SL_K_TLS_REJECTED, SL_SEV_ERROR);
	if (alert)
		snprintf(d.summary, sizeof d.summary,
			 "The program ended its TLS 1.3 handshake with %s with an alert (encrypted: its reason cannot "
			 "be seen) right after the server's certificate, where its Finished would be: it rejected the "
			 "server.", peer_or(&d, "the server"));
	else
		snprintf(d.summary, sizeof d.summary,
			 "The program closed its TLS connection to %s right after the server's handshake (%llu bytes "
			 "received), having sent nothing but its own handshake: it rejected the server.",
			 peer_or(&d, "the server"), (unsigned long long)s->bytes_in);
	sl_diag_fact(&d, "encrypted_alert", alert);
	sl_diag_fact(&d, "bytes_received", (double)s->bytes_in);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
	return 1;
}

/* A server's handshake that one side refused after the other's first flight: a client refusing the
 * server's certificate, or the server refusing the client's (or its lack). A warning: one client's
 * trust store or certificate, or the server's; which, the count of clients says. */
static int server_refusal(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	int enc = (s->flags2 & SL_SF2_CLIENT_ENC_ALERT) != 0;
	if (s->role != SL_ROLE_SERVER || !(enc || ((s->flags2 & SL_SF2_ALERT_AFTER_FLIGHT) && s->alert_level)))
		return 0;
	struct sl_diag d;
	int sent = !enc && s->alert_dir == 1;
	sl_diag_conn(&d, c, enc || !sent ? SL_K_TLS_REJECTED : SL_K_TLS_ALERT, SL_SEV_WARNING);
	snprintf(d.group_peer, sizeof d.group_peer, "server/%u/%d/%d", enc ? 0 : s->alert_desc, sent, enc);
	if (enc)
		snprintf(d.summary, sizeof d.summary,
			 "The client %s ended its TLS 1.3 handshake with an alert (encrypted: its reason cannot be seen) "
			 "right after the server's certificate, where its Finished would be: it refused the server's "
			 "certificate.", peer_or(&d, "(unnamed)"));
	else if (sent)
		snprintf(d.summary, sizeof d.summary,
			 "The program refused the TLS handshake of the client %s with a %s alert %s (%u), after the "
			 "client's certificate (or its lack): %s.", peer_or(&d, "(unnamed)"),
			 s->alert_level == 2 ? "fatal" : "warning", alert_name(s->alert_desc), s->alert_desc,
			 alert_hint(s->alert_desc));
	else
		snprintf(d.summary, sizeof d.summary,
			 "The client %s refused the server's TLS certificate with a %s alert %s (%u): %s.",
			 peer_or(&d, "(unnamed)"), s->alert_level == 2 ? "fatal" : "warning", alert_name(s->alert_desc),
			 s->alert_desc, alert_hint(s->alert_desc));
	if (enc || !sent)
		d.advice = "A client did not trust the server's certificate: check that the certificate chain the "
			   "server sends is complete and current, and that it names the host the clients ask for "
			   "(openssl s_client -connect HOST:PORT -servername NAME shows it); a single client may "
			   "lack the CA instead.";
	sl_diag_fact(&d, "encrypted_alert", enc);
	sl_diag_fact(&d, "sent_by_program", sent);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
	return 1;
}

/* A TLS client answered with bytes that are no TLS record: it reached a plaintext port (an HTTP
 * server's "400 Bad Request", an SMTP or FTP greeting). No program of either side works so. */
static int not_tls(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->role != SL_ROLE_CLIENT || s->first_out != SL_FB_TLS_HELLO ||
	    (s->first_in != SL_FB_OTHER && s->first_in != SL_FB_HTTP))
		return 0;
	int http = s->first_in == SL_FB_HTTP;
	struct sl_diag d;
	sl_diag_conn(&d, c, SL_K_TLS_ABORTED, SL_SEV_ERROR);
	snprintf(d.group_peer, sizeof d.group_peer, "not-tls/%d", http);
	if (http)
		snprintf(d.summary, sizeof d.summary,
			 "%s answered the program's TLS ClientHello with a plaintext HTTP response: the port serves "
			 "HTTP, not HTTPS.", peer_or(&d, "The server"));
	else
		snprintf(d.summary, sizeof d.summary,
			 "%s answered the program's TLS ClientHello with bytes that are not a TLS record: the port "
			 "does not speak TLS, or only after a plaintext exchange (STARTTLS).", peer_or(&d, "The server"));
	d.advice = http ? "The program speaks TLS to a port that serves plain HTTP: use the server's HTTPS port, "
			  "or http:// if plaintext is what is meant."
			: "The program speaks TLS to a port that does not: use the service's TLS port. A protocol "
			  "that upgrades in plaintext first (SMTP and IMAP's STARTTLS, PostgreSQL's SSLRequest) "
			  "needs the client's STARTTLS mode there, not TLS from the first byte.";
	sl_diag_fact(&d, "not_tls", 1);
	sl_diag_fact(&d, "http_response", http);
	sl_diag_fact(&d, "bytes_received", (double)s->bytes_in);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
	return 1;
}

static void tls(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	struct sl_diag d;
	if (server_refusal(x, c))
		return;
	/* a server's alert to a client that sent nothing and closed: a port probe (a load balancer's
	 * TCP health check, a script waiting for the port), answered by a TLS library that has to say
	 * something: nothing was refused */
	if (s->alert_level && s->alert_dir == 1 && s->role == SL_ROLE_SERVER && !s->bytes_in)
		return;
	if (s->alert_level && s->alert_desc != 0 && s->alert_desc != 90) {
		int sent = s->alert_dir == 1;
		sl_diag_conn(&d, c, SL_K_TLS_ALERT, SL_SEV_ERROR);
		snprintf(d.group_peer, sizeof d.group_peer, "%s/%u/%d", sl_role_name(s->role), s->alert_desc, sent);
		const char *level = s->alert_level == 2 ? "fatal" : "warning";
		if (sent && s->role == SL_ROLE_CLIENT && s->first_out == SL_FB_TLS_HELLO && s->bytes_in)
			snprintf(d.summary, sizeof d.summary,
				 "The program rejected the handshake of %s with a %s TLS alert %s (%u) after the server's "
				 "first flight: %s.", peer_or(&d, "the server"), level, alert_name(s->alert_desc),
				 s->alert_desc, alert_hint(s->alert_desc));
		else if (!sent && (s->flags2 & SL_SF2_ALERT_AFTER_FLIGHT))
			snprintf(d.summary, sizeof d.summary,
				 "The server %s refused the program's TLS handshake with a %s alert %s (%u), after the "
				 "program's certificate (or its lack) and key exchange: %s.", peer_or(&d, "(unnamed)"), level,
				 alert_name(s->alert_desc), s->alert_desc, alert_hint(s->alert_desc));
		else if (sent)
			snprintf(d.summary, sizeof d.summary, "The program sent a %s TLS alert %s (%u) %s: %s.", level,
				 alert_name(s->alert_desc), s->alert_desc,
				 s->role == SL_ROLE_SERVER ? "in answer to a client's handshake" : "as its first record",
				 alert_hint(s->alert_desc));
		else
			snprintf(d.summary, sizeof d.summary,
				 "The %s %s answered with a %s TLS alert %s (%u) instead of a handshake: %s.",
				 s->role == SL_ROLE_SERVER ? "client" : "server", peer_or(&d, "(unnamed)"), level,
				 alert_name(s->alert_desc), s->alert_desc, alert_hint(s->alert_desc));
		sl_diag_fact(&d, "alert_level", s->alert_level);
		sl_diag_fact(&d, "alert_description", s->alert_desc);
		sl_diag_fact(&d, "sent_by_program", sent);
		sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
		return;
	}
	if (rejected(x, c) || not_tls(x, c))
		return;
	if (s->role != SL_ROLE_CLIENT || s->first_out != SL_FB_TLS_HELLO || s->bytes_in ||
	    !((s->flags & SL_SF_EOF) || s->err_total))
		return;
	int reset = !(s->flags & SL_SF_EOF);
	sl_diag_conn(&d, c, SL_K_TLS_ABORTED, SL_SEV_ERROR);
	snprintf(d.summary, sizeof d.summary,
		 "The server %s %s the connection right after the program's TLS ClientHello (%llu bytes), without "
		 "an answer or an alert.",
		 peer_or(&d, "(unnamed)"), reset ? "reset" : "closed", (unsigned long long)s->bytes_out);
	sl_diag_fact(&d, "bytes_sent", (double)s->bytes_out);
	sl_diag_fact(&d, "reset", reset);
	sl_diags_add(x->out, x->img, &d, sl_conn_stack(s), 0);
}

static void reset_on_close(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (!sl_is_tcp(s) || c->open_at_end || (s->role != SL_ROLE_CLIENT && s->role != SL_ROLE_SERVER) ||
	    (s->flags & SL_SF_FROM_PARENT) || s->err_total)
		return;
	/* forked after it was opened: a child may hold the socket (and read it), so this close was not
	 * the last one (a pre-forking server's parent closing its copy of an accepted connection) */
	if (c->img->h.nforks && c->img->h.last_fork_ns > s->open_ns)
		return;
	if ((s->alert_level && s->alert_dir == 1) || (s->flags & SL_SF_TLS_ENC_ALERT))
		return; /* the program ended a TLS handshake it rejected: the tls-alert is the finding */
	if (s->first_out == SL_FB_TLS_HELLO && (s->first_in == SL_FB_OTHER || s->first_in == SL_FB_HTTP))
		return; /* ... or one the peer answered in plaintext: not_tls's finding */
	int linger0 = (s->opts_set & (1u << SL_OPT_LINGER)) && s->opt[SL_OPT_LINGER] == 0;
	uint64_t unread = s->unread_at_close;
	/* the kernel resets only a connection still open at close; the peer's TLS close_notify,
	 * come as the program closed, is all the reset lost when that is all that was unread */
	if ((!linger0 && (!unread || (s->flags2 & SL_SF2_GOODBYE_UNREAD))) ||
	    ((s->flags & SL_SF_TCPINFO) && s->tcp_state == TCP_CLOSE))
		return;
	struct sl_diag d;
	/* a server dropping a request unread makes its client lose the response: a warning; a client
	 * abandoning a response it stopped reading, or choosing {1, 0}, mostly costs the server a reset;
	 * so does a server whose client had closed its side already (its FIN came: CLOSE_WAIT at the
	 * close), which waits for no response (a gRPC client's goodbye frames as the server stops) */
	int client_gone = (s->flags & SL_SF_TCPINFO) && s->tcp_state == TCP_CLOSE_WAIT;
	sl_diag_conn(&d, c, SL_K_RESET_ON_CLOSE, s->role == SL_ROLE_SERVER && !client_gone ? SL_SEV_WARNING : SL_SEV_INFO);
	snprintf(d.group_peer, sizeof d.group_peer, "%s/%d", sl_role_name(s->role), linger0);
	if (linger0)
		snprintf(d.summary, sizeof d.summary,
			 "The connection %s %s was closed with SO_LINGER {1, 0}: the kernel sent RST, not FIN.",
			 s->role == SL_ROLE_SERVER ? "from" : "to", peer_or(&d, "(unnamed)"));
	else
		snprintf(d.summary, sizeof d.summary,
			 "The connection %s %s was closed with %llu received bytes never read: the kernel sent RST, and "
			 "the peer sees \"connection reset\" (and may lose what it was sent last).",
			 s->role == SL_ROLE_SERVER ? "from" : "to", peer_or(&d, "(unnamed)"), (unsigned long long)unread);
	sl_diag_fact(&d, "unread_bytes", (double)unread);
	sl_diag_fact(&d, "linger_zero", linger0);
	sl_diags_add(x->out, x->img, &d, s->close_stack, 0);
}

/* Whether a Go stack (an id of img) runs through runtime.gopanic: a close made while a panic
 * unwound. Connections closed from one place share the id: each is looked up once. */
static int in_panic(const struct sl_image *img, uint32_t id)
{
	/* (kept for one log: an image read again, by watch or a live report, has the same stacks;
	 * another one freed and made at the same address has not) */
	static const struct sl_image *seen_img;
	static uint64_t seen_start;
	static int seen_pid;
	static uint32_t ids[256];
	static signed char verdict[256];
	if (seen_img != img || seen_start != img->h.start_mono_ns || seen_pid != img->h.pid) {
		seen_img = img;
		seen_start = img->h.start_mono_ns;
		seen_pid = img->h.pid;
		memset(ids, 0, sizeof ids);
	}
	unsigned h = (id * 2654435761u) >> 24;
	for (unsigned k = 0; k < 256; k++, h = (h + 1) & 255) {
		if (ids[h] == id)
			return verdict[h];
		if (!ids[h])
			break;
	}
	struct sl_frame f[SL_MAX_FRAMES];
	size_t n = sl_image_symbolize_stack(img, id, f, SL_MAX_FRAMES);
	int yes = 0;
	for (size_t i = 0; i < n && !yes; i++)
		yes = !strcmp(f[i].function, "runtime.gopanic");
	if (!ids[h]) { /* (a full table looks again next time) */
		ids[h] = id;
		verdict[h] = (signed char)yes;
	}
	return yes;
}

/* A Go server's connection closed while its handler's panic unwound (net/http recovers it, logs
 * "http: panic serving" and hangs up): the client's request got no answer, or part of one. The
 * close's stack runs through runtime.gopanic, and the program's frame below it is the panic's. */
static void handler_panic(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->role != SL_ROLE_SERVER || c->open_at_end || !s->close_stack || !s->bytes_in ||
	    !(x->img->h.flags & (SL_HDR_GOROUTINES | SL_HDR_GO_UNREAD)) || !in_panic(x->img, s->close_stack))
		return;
	struct sl_diag d;
	sl_diag_conn(&d, c, SL_K_UNANSWERED_REQUEST, SL_SEV_ERROR);
	snprintf(d.group_peer, sizeof d.group_peer, "handler-panic");
	d.stack_label = "panicked at";
	char answer[64] = "no answer";
	if (s->bytes_out)
		snprintf(answer, sizeof answer, "%llu bytes of an answer, cut short", (unsigned long long)s->bytes_out);
	snprintf(d.summary, sizeof d.summary,
		 "A handler of the program panicked while serving the client %s (%llu bytes received); the server "
		 "recovered and closed the connection: the client got %s (an EOF, or an empty reply).",
		 peer_or(&d, "(unnamed)"), (unsigned long long)s->bytes_in, answer);
	d.advice = "Fix the panic at the line shown (the program's log has net/http's \"http: panic serving\" "
		   "with the whole stack). A handler that aborts a response on purpose, panic(http.ErrAbortHandler), "
		   "ends its client's request the same way.";
	sl_diag_fact(&d, "handler_panic", 1);
	sl_diag_fact(&d, "bytes_received", (double)s->bytes_in);
	sl_diag_fact(&d, "bytes_sent", (double)s->bytes_out);
	sl_diags_add(x->out, x->img, &d, s->close_stack, 0);
}

void sl_rule_exchange(struct sl_ctx *x)
{
	struct waits w;
	waits_collect(x->img, &w);
	for (size_t i = 0; i < x->nconns; i++) {
		const struct sl_conn *c = &x->conns[i];
		unanswered(x, c, &w);
		handler_panic(x, c);
		close_wait(x, c);
		nagle(x, c);
		tls(x, c);
		reset_on_close(x, c);
	}
	free(w.v);
}
