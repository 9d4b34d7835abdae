/* rule_io.c - connection-reset and broken-pipe from failed data calls, judged by role: a server
 * whose client goes away (between requests, or in the middle of a response: a load generator
 * stopping, a user's cancel, a client's own timeout) sees normal client behaviour (info, a count);
 * a reset or broken pipe on a client's own connection is an error. fd-exhaustion from failed
 * socket/accept calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include "rules/rules.h"

/* What a server whose clients went away should do: nothing, mostly. */
#define SERVER_ADVICE \
	"Nothing to change in the server: clients reset or close connections when they stop, give up " \
	"or are cancelled. Often and early in responses, it says the clients' timeouts are shorter " \
	"than the responses take."

/* A connection the server closed first, which the program then wrote on. */
#define STALE_ADVICE \
	"The server closes idle connections sooner than the program stops reusing them: keep them idle for " \
	"less time than the server does (Go: http.Transport's IdleConnTimeout; a pool's maximum idle " \
	"time), or check a pooled connection before use, and retry idempotent requests that fail so."

static const struct sl_slot *slot_of(const struct sl_image *img, uint64_t conn_id)
{
	for (uint32_t i = 0; i < img->nslots; i++)
		if (img->slots[i].conn_id == conn_id && img->slots[i].state != SL_SLOT_FREE)
			return &img->slots[i];
	return NULL;
}

static enum sl_kind kind_of(int err)
{
	return err == EPIPE ? SL_K_BROKEN_PIPE : err == ECONNRESET ? SL_K_CONNECTION_RESET : SL_K_FD_EXHAUSTION;
}

static int is_read(int call)
{
	return call == SL_CALL_RECV || call == SL_CALL_READ;
}

/* ", 2.3 s after it was opened, after 1.2 KiB in and 45 KiB out" */
static void progress(const struct sl_slot *s, const struct sl_event *ev, char *out, size_t len)
{
	char age[32];
	if (!s || ev->ts_ns < s->open_ns) {
		out[0] = 0;
		return;
	}
	sl_dur_format(ev->ts_ns - s->open_ns, age, sizeof age);
	snprintf(out, len, " %s after it was opened, with %llu bytes received and %llu sent", age,
		 (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
}

/* Whether stack id holds a frame of the program's language (Python, Java, JavaScript). */
static int language_frames(const struct sl_image *img, uint32_t id)
{
	const struct sl_stack *st = sl_image_stack(img, id);
	for (uint32_t i = 0; st && i < st->nframes; i++)
		if (st->ip[i] & SL_LANG_IP)
			return 1;
	return 0;
}

static void io_error(struct sl_ctx *c, const struct sl_event *ev, struct sl_tally *t)
{
	const struct sl_slot *s = slot_of(c->img, ev->conn_id);
	/* the event says whose connection it was: on a busy server, its slot may hold another by now */
	int server = (s ? s->role : ev->role) == SL_ROLE_SERVER, between = server && is_read(ev->call);
	/* a client that refused the server's certificate (its alert after the server's first flight,
	 * tls-rejected) and then reset: the refusal is the finding, its reset no news */
	if (server && s && s->conn_id == ev->conn_id && (s->flags2 & (SL_SF2_ALERT_AFTER_FLIGHT | SL_SF2_CLIENT_ENC_ALERT)) &&
	    !s->alert_dir) {
		sl_tally_note(t, ev->stack, ev->err, NULL);
		return;
	}
	struct sl_diag d;
	char how[160];
	sl_diag_init(&d, kind_of(ev->err), server ? SL_SEV_INFO : SL_SEV_ERROR, c->proc, ev->fd);
	d.when_ns = ev->ts_ns;
	d.err = ev->err;
	d.conn_id = ev->conn_id;
	sl_addr_format(&ev->addr, d.peer, sizeof d.peer);
	if (server) { /* a server's findings group apart from a client's, never by client port */
		snprintf(d.group_peer, sizeof d.group_peer, "server");
		d.advice = SERVER_ADVICE;
	}
	progress(s, ev, how, sizeof how);
	if (between)
		snprintf(d.summary, sizeof d.summary, "The client %s reset its connection while the server waited for "
			 "its next request (%s() failed with %s)%s%s: clients do this when they stop.",
			 d.peer[0] ? d.peer : "(unnamed)", sl_call_name(ev->call), sl_errno_name(ev->err),
			 how[0] ? "," : "", how);
	else if (server)
		snprintf(d.summary, sizeof d.summary, "The client %s went away while the server was still sending its "
			 "response (%s() failed with %s)%s%s: a load generator stopping, a user's cancel or the client's "
			 "own timeout. Often and early, it says the responses take too long for the clients.",
			 d.peer[0] ? d.peer : "(unnamed)", sl_call_name(ev->call), sl_errno_name(ev->err),
			 how[0] ? "," : "", how);
	else
		snprintf(d.summary, sizeof d.summary, "%s() on the connection %s %s failed with %s: %s%s%s.",
			 sl_call_name(ev->call), server ? "from" : "to", d.peer[0] ? d.peer : "an unnamed peer",
			 sl_errno_name(ev->err), ev->err == EPIPE ? "the peer had already closed it" : "the peer reset it",
			 how[0] ? "," : "", how);
	uint32_t stack = ev->stack;
	/* Node.js writes from its event loop: a failure's own stack is libuv's alone, the same for
	 * every connection; the connection's, where the program asked for it, says which one it is */
	if ((c->img->h.flags & SL_HDR_JS_ORIGINS) && s && sl_conn_stack(s) && !language_frames(c->img, stack) &&
	    language_frames(c->img, sl_conn_stack(s))) {
		stack = sl_conn_stack(s);
		d.stack_label = s->role == SL_ROLE_SERVER ? "listener at" : "connected at";
	}
	sl_tally_note(t, ev->stack, ev->err, &d);
	sl_diags_add(c->out, c->img, &d, stack, 0);
}

/* A datagram socket's send or receive failed with ECONNREFUSED: an earlier datagram met a port
 * nothing listens on, and the ICMP port unreachable that came back is the next call's error. */
static void datagram_refused(struct sl_ctx *c, const struct sl_event *ev, struct sl_tally *t)
{
	const struct sl_slot *s = slot_of(c->img, ev->conn_id);
	if (s && s->type != SOCK_DGRAM)
		return;
	struct sl_diag d;
	sl_diag_init(&d, SL_K_CONNECT_REFUSED, SL_SEV_ERROR, c->proc, ev->fd);
	d.when_ns = ev->ts_ns;
	d.err = ev->err;
	d.conn_id = ev->conn_id;
	sl_addr_format(&ev->addr, d.peer, sizeof d.peer);
	snprintf(d.group_peer, sizeof d.group_peer, "udp/%.150s", d.peer);
	d.stack_label = is_read(ev->call) ? "received at" : "sent at";
	snprintf(d.summary, sizeof d.summary,
		 "%s() on the datagram socket to %s failed with ECONNREFUSED: nothing listens on that port (the "
		 "kernel's answer to an earlier datagram, an ICMP port unreachable, is the next call's error).",
		 sl_call_name(ev->call), d.peer[0] ? d.peer : "an unnamed peer");
	sl_tally_note(t, ev->stack, ev->err, &d);
	sl_diags_add(c->out, c->img, &d, ev->stack, 0);
}

static void exhausted(struct sl_ctx *c, const struct sl_event *ev, struct sl_tally *t)
{
	struct sl_diag d;
	sl_diag_init(&d, SL_K_FD_EXHAUSTION, SL_SEV_ERROR, c->proc, ev->fd);
	d.when_ns = ev->ts_ns;
	d.err = ev->err;
	snprintf(d.summary, sizeof d.summary, "%s() failed with %s: no file descriptor left for a new socket.",
		 sl_call_name(ev->call), sl_errno_name(ev->err));
	sl_tally_note(t, ev->stack, ev->err, &d);
	sl_diags_add(c->out, c->img, &d, ev->stack, 0);
}

/* Whether the connections that failed at call site id are a server's (their clients went away). */
static int servers_fail_here(const struct sl_ctx *c, uint32_t id)
{
	for (size_t i = 0; i < c->nconns; i++)
		if (c->conns[i].s->error_stack == id)
			return c->conns[i].s->role == SL_ROLE_SERVER;
	return 0;
}

/* Call sites none of whose failures is left in the events: a finding from the counter alone. */
static void counted_only(struct sl_ctx *c, const struct sl_tally *t)
{
	for (uint32_t n = 0; n < c->img->nstacks; n++) {
		uint32_t id = sl_image_stack_id(c->img, n);
		const struct sl_stack *st = sl_image_stack(c->img, id);
		for (uint32_t k = 0; st && !st->lat_call && k < SL_ERRS; k++) {
			int err = st->err_no[k];
			if (!st->err_count[k] || (err != ECONNRESET && err != EPIPE && err != EMFILE && err != ENFILE) ||
			    sl_tally_seen(t, id, err))
				continue;
			struct sl_diag d;
			int server = (err == EPIPE || err == ECONNRESET) && servers_fail_here(c, id);
			sl_diag_init(&d, kind_of(err), server ? SL_SEV_INFO : SL_SEV_ERROR, c->proc, -1);
			if (server) {
				snprintf(d.group_peer, sizeof d.group_peer, "server");
				d.advice = SERVER_ADVICE;
			}
			d.err = err;
			d.count = (unsigned)st->err_count[k];
			d.when_ns = sl_site_last_failure(c, st);
			snprintf(d.summary, sizeof d.summary,
				 "%llu calls from this call site failed with %s; the event table kept none of them, so their "
				 "connections are not known.", (unsigned long long)st->err_count[k], sl_errno_name(err));
			sl_diags_add(c->out, c->img, &d, id, 0);
		}
	}
}

/* The tracer sees no data calls by default, so no ECONNRESET or EPIPE comes back to it; the kernel
 * still says what happened. A connection that was established and is in TCP_CLOSE when the
 * program closes it (or at the end) was aborted: a reset from the peer, which the program's next
 * read met as ECONNRESET and its next write as EPIPE, or a retransmission or keepalive timeout.
 * A close of its own with SO_LINGER 0 resets after this look, so it does not count. The preload
 * sees every data call, but a program may learn of the reset from its poller alone (libuv takes
 * EPOLLHUP for the end without a read: Node.js's "aborted" response): a client's connection that
 * ended so, with no EOF read and no shutdown of its own (the orderly ways to TCP_CLOSE), is one
 * too. After an EOF or a shutdown of the program's own (a half-close), TCP_CLOSE is the orderly end
 * as well, and only the kernel's pending error at close tells an abort (SL_SF_RESET_PENDING). */
static void aborted(struct sl_ctx *c)
{
	int traced = (c->img->h.flags & SL_HDR_PTRACE) != 0;
	for (size_t i = 0; i < c->nconns; i++) {
		const struct sl_conn *cn = &c->conns[i];
		const struct sl_slot *s = cn->s;
		if (!sl_is_tcp(s) || !(s->flags & SL_SF_TCPINFO) || s->tcp_state != TCP_CLOSE ||
		    (s->role != SL_ROLE_SERVER && s->role != SL_ROLE_CLIENT) || s->connect_state != SL_CONN_DONE ||
		    sl_met(s, ECONNRESET) || sl_met(s, EPIPE))
			continue;
		int orderly = (s->flags & (SL_SF_EOF | SL_SF_SHUT_WR | (traced ? 0 : SL_SF_SHUT_RD))) &&
			      !(s->flags & SL_SF_RESET_PENDING);
		/* (a goodbye crossing the peer's close: the peer's reset of a close_notify; a TLS alert
		 * that ended the handshake: tls-alert or tls-rejected says why) */
		if (orderly || (s->flags2 & SL_SF2_GOODBYE_ONLY) || s->alert_level ||
		    (s->flags & (SL_SF_TLS_SERVER_ALERT | SL_SF_TLS_ENC_ALERT)) ||
		    (!traced && (s->role != SL_ROLE_CLIENT || !s->bytes_out)))
			continue;
		int server = s->role == SL_ROLE_SERVER, stale = (s->flags2 & SL_SF2_RESET_AFTER_FIN) != 0;
		/* a client that connected again from the same line at once (50 ms: not its next request)
		 * and got a reply there recovered: net/http retries a request a reused connection lost;
		 * not when the program then failed (the reply may have been a refusal: a database
		 * shutting down) */
		int retried = !server && !sl_proc_failed(cn->proc, &sl_proc_last(cn->proc)->h) && sl_retried_ok(c, sl_conn_stack(s), &s->peer, cn->end_ns, 50000000ull);
		struct sl_diag d;
		uint32_t stack = sl_diag_conn(&d, cn, SL_K_CONNECTION_RESET,
					      server ? SL_SEV_INFO : stale || retried ? SL_SEV_WARNING : SL_SEV_ERROR);
		d.err = stale ? EPIPE : ECONNRESET;
		if (server) {
			snprintf(d.group_peer, sizeof d.group_peer, "server");
			d.advice = SERVER_ADVICE;
		}
		d.stack_label = server ? "accepted at" : "connected at";
		char age[32];
		sl_dur_format(cn->end_ns > s->open_ns ? cn->end_ns - s->open_ns : 0, age, sizeof age);
		if (stale && !server) {
			d.advice = STALE_ADVICE;
			snprintf(d.summary, sizeof d.summary,
				 "%s closed the connection first (%s after it was opened, with %llu bytes received and "
				 "%llu sent), then reset it: the program sent more after that close, which the peer "
				 "refuses (writes fail with EPIPE). A request on a connection the server had already closed "
				 "is lost%s.",
				 d.peer[0] ? d.peer : "The peer", age, (unsigned long long)s->bytes_in,
				 (unsigned long long)s->bytes_out,
				 retried ? "; the program connected again from here at once and got a reply there"
					 : "; an HTTP client may have retried it on a new connection");
			sl_diags_add(c->out, c->img, &d, stack, 0);
			continue;
		}
		snprintf(d.summary, sizeof d.summary,
			 "The connection %s %s was reset by the peer (or timed out): the kernel had closed it (TCP_CLOSE) "
			 "%s, %s after it was opened, with %llu bytes received and %llu sent. Reads on such a connection "
			 "fail with ECONNRESET, writes with EPIPE.%s",
			 server ? "from" : "to", d.peer[0] ? d.peer : "an unnamed peer",
			 cn->open_at_end ? "while the program still held it" : "before the program closed it", age,
			 (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out,
			 retried ? " The program connected again from here at once and got a reply there." : "");
		sl_diags_add(c->out, c->img, &d, stack, 0);
	}
}

void sl_rule_io_errors(struct sl_ctx *c)
{
	aborted(c);
	struct sl_tally *t = sl_tally_new();
	for (uint32_t i = 0; i < c->img->nevents; i++) {
		const struct sl_event *ev = &c->img->events[i];
		if (ev->type != SL_EV_ERROR)
			continue;
		if (ev->err == EMFILE || ev->err == ENFILE)
			exhausted(c, ev, t);
		else if (ev->err == ECONNRESET || ev->err == EPIPE)
			io_error(c, ev, t);
		else if (ev->err == ECONNREFUSED && ev->call != SL_CALL_CONNECT)
			datagram_refused(c, ev, t);
	}
	counted_only(c, t);
	sl_tally_flush(t, c);
}
