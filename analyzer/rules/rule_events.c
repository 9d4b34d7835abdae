/* rule_events.c - findings read straight from events:
 *  - use-after-close: EBADF/ENOTSOCK on a number that was a socket closed earlier (double close);
 *  - dns-failure, slow-dns: getaddrinfo/gethostbyname failing, or slower than a threshold. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include "rules/rules.h"

static void stale(const struct sl_ctx *x, const struct sl_event *ev)
{
	struct sl_diag d;
	char what[200] = "";
	sl_diag_init(&d, SL_K_USE_AFTER_CLOSE, SL_SEV_ERROR, x->proc, ev->fd);
	d.when_ns = ev->ts_ns;
	d.err = ev->err;
	d.conn_id = ev->conn_id;
	sl_addr_format(&ev->addr, d.peer, sizeof d.peer);
	snprintf(d.group_peer, sizeof d.group_peer, "%u", ev->call);
	d.site_stack = (uint32_t)ev->a; /* the earlier close */
	if (d.peer[0])
		snprintf(what, sizeof what, " (the connection to %s)", d.peer);
	/* a forked child closing every number before it execs (squid's helpers, daemon(3)-style code):
	 * one thread, nothing can have reused the number, and the exec follows */
	const struct sl_log_header *h = &x->img->h;
	int before_exec = ev->call == SL_CALL_CLOSE && h->end_reason == SL_END_EXEC && (h->flags & SL_HDR_FORKED) &&
			  h->end_mono_ns >= ev->ts_ns && h->end_mono_ns - ev->ts_ns <= 1000000000ull;
	if (before_exec) {
		d.sev = SL_SEV_INFO;
		snprintf(d.group_peer, sizeof d.group_peer, "before exec");
		snprintf(d.summary, sizeof d.summary, "close() of fd %d failed with EBADF: that socket%s was closed "
			 "already, in a forked child about to exec, which closes its descriptors first. Harmless "
			 "there: one thread, nothing reused the number.", ev->fd, what);
	} else if (ev->call == SL_CALL_CLOSE)
		snprintf(d.summary, sizeof d.summary, "close() of fd %d failed with EBADF: the program had already closed "
			 "that socket%s. A double close.", ev->fd, what);
	else
		snprintf(d.summary, sizeof d.summary, "%s() on fd %d failed with %s: the program had closed that socket%s "
			 "earlier%s.", sl_call_name(ev->call), ev->fd, sl_errno_name(ev->err), what,
			 ev->err == ENOTSOCK ? ", and the number now belongs to another file" : "");
	sl_diags_add(x->out, x->img, &d, ev->stack, 0);
}

static const char *eai_name(int code)
{
	switch (code) {
	case EAI_NONAME: return "EAI_NONAME";
	case EAI_AGAIN: return "EAI_AGAIN";
	case EAI_FAIL: return "EAI_FAIL";
	case EAI_NODATA: return "EAI_NODATA";
	case EAI_FAMILY: return "EAI_FAMILY";
	case EAI_SERVICE: return "EAI_SERVICE";
	case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
	case EAI_MEMORY: return "EAI_MEMORY";
	case EAI_SYSTEM: return "EAI_SYSTEM";
	case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
	case EAI_BADFLAGS: return "EAI_BADFLAGS";
	}
	return "EAI_?";
}

static const char *eai_meaning(int code)
{
	switch (code) {
	case EAI_NONAME: return "the name does not exist (or the service name is unknown)";
	case EAI_NODATA: case EAI_ADDRFAMILY: return "the name exists but has no address of the kind asked";
	case EAI_AGAIN: return "the resolver did not answer in time (temporary failure)";
	case EAI_FAIL: return "the resolver failed for good";
	case EAI_SYSTEM: return "a system error (often no resolver configuration)";
	}
	return "the lookup was refused as asked";
}

/* The C library's resolver, called through cgo (a Go program built with it, or asked to by
 * GODEBUG=netdns=cgo): getaddrinfo among the stack's frames. */
static int via_libc(const struct sl_ctx *x, uint32_t stack)
{
	struct sl_frame f[SL_MAX_FRAMES];
	size_t n = stack ? sl_image_symbolize_stack(x->img, stack, f, SL_MAX_FRAMES) : 0;
	for (size_t i = 0; i < n; i++)
		if (strstr(f[i].function, "getaddrinfo") || strstr(f[i].function, "gethostbyname"))
			return 1;
	return 0;
}

static void dns(const struct sl_ctx *x, const struct sl_event *ev)
{
	char name[SL_ADDR_DATA + 1], dur[32];
	snprintf(name, sizeof name, "%.*s", (int)strnlen((const char *)ev->addr.data, SL_ADDR_DATA),
		 (const char *)ev->addr.data);
	int failed = ev->err != 0;
	if (!failed && ev->dur_ns < x->th->dns_ns)
		return;
	const struct sl_stack *st = sl_image_stack(x->img, ev->stack);
	struct sl_diag d;
	sl_diag_init(&d, failed ? SL_K_DNS_FAILURE : SL_K_SLOW_DNS,
		     !failed || (ev->err != EAI_AGAIN && ev->err != EAI_FAIL) ? SL_SEV_WARNING : SL_SEV_ERROR, x->proc, -1);
	d.err = 0;
	d.when_ns = ev->ts_ns;
	d.worst_ns = ev->dur_ns;
	snprintf(d.peer, sizeof d.peer, "%s", name[0] ? name : "(no name)");
	snprintf(d.group_peer, sizeof d.group_peer, "%s/%d", name, ev->err);
	sl_dur_format(ev->dur_ns, dur, sizeof dur);
	if (failed && ev->call == SL_CALL_RESOLVE && ev->a == 1) /* ... that never came */
		snprintf(d.summary, sizeof d.summary,
			 "The lookup of \"%.100s\" by %s failed after %s: no DNS server answered it (the "
			 "resolver timed out).", name, via_libc(x, ev->stack) ? "the C library's resolver (getaddrinfo, "
			 "through cgo)" : "the program's own resolver", dur);
	else if (failed && ev->call == SL_CALL_RESOLVE) /* the program's own resolver: the server's answer */
		snprintf(d.summary, sizeof d.summary,
			 "The lookup of \"%.100s\" by %s failed after %s: the DNS server answered "
			 "%s, %s.", name, via_libc(x, ev->stack) ? "the C library's resolver (getaddrinfo, through cgo)"
								  : "the program's own resolver", dur,
			 ev->err == EAI_NONAME ? "NXDOMAIN" : ev->err == EAI_AGAIN ? "SERVFAIL" : "REFUSED",
			 ev->err == EAI_NONAME ? "the name does not exist (nor with any search domain)"
			 : ev->err == EAI_AGAIN ? "it could not resolve the name (a temporary failure upstream)"
						: "it will not answer this client");
	else if (failed)
		snprintf(d.summary, sizeof d.summary, "%s(\"%.100s\") failed with %s after %s: %s.", sl_call_name(ev->call),
			 name, eai_name(ev->err), dur, eai_meaning(ev->err));
	else
		snprintf(d.summary, sizeof d.summary, "%s(\"%.100s\") took %s.", sl_call_name(ev->call), name, dur);
	if (st && st->hits > 1 && ev->call != SL_CALL_RESOLVE) /* the resolver's sites count failures only */
		snprintf(d.summary + strlen(d.summary), sizeof d.summary - strlen(d.summary),
			 " This call site made %llu lookups; %llu failed and %llu took over 100 ms.", (unsigned long long)st->hits,
			 (unsigned long long)st->fails, (unsigned long long)st->slow);
	sl_diag_fact(&d, "eai_code", ev->err);
	sl_diag_fact(&d, "duration_ms", (double)ev->dur_ns / 1e6);
	sl_diags_add(x->out, x->img, &d, ev->stack, 0);
}

/* A program that resolves names itself (Go's own resolver) makes a UDP socket per DNS exchange,
 * connected to the server's port 53, and closes it once answered or given up: the socket's life
 * bounds the exchange. One that lived past the dns threshold is a slow or silent DNS server (the
 * tracer reads answers' headers, and keeps the name only of a lookup that failed). */
static void resolver_exchanges(struct sl_ctx *x)
{
	if (!(x->img->h.flags & SL_HDR_PTRACE))
		return;
	for (size_t i = 0; i < x->nconns; i++) {
		const struct sl_conn *c = &x->conns[i];
		const struct sl_slot *s = c->s;
		if (s->type != SOCK_DGRAM || sl_addr_port(&s->peer) != 53 || c->end_ns < s->open_ns ||
		    c->end_ns - s->open_ns < x->th->dns_ns)
			continue;
		uint64_t took = c->end_ns - s->open_ns;
		char dur[32];
		struct sl_diag d;
		uint32_t stack = sl_diag_conn(&d, c, SL_K_SLOW_DNS, SL_SEV_WARNING);
		snprintf(d.group_peer, sizeof d.group_peer, "dns/udp");
		d.stack_label = "lookup at";
		d.worst_ns = took;
		sl_dur_format(took, dur, sizeof dur);
		snprintf(d.summary, sizeof d.summary,
			 "A DNS exchange with %s (UDP) %s %s: %s %s, so the DNS server answered "
			 "slowly or not at all.",
			 d.peer[0] ? d.peer : "a DNS server", c->open_at_end ? "was still waiting after" : "lasted", dur,
			 via_libc(x, stack) ? "the C library's resolver (through cgo)" : "the program's own resolver",
			 c->open_at_end ? "was still waiting for an answer" : "kept its socket that long");
		sl_diag_fact(&d, "duration_ms", (double)took / 1e6);
		sl_diags_add(x->out, x->img, &d, stack, 0);
	}
}

void sl_rule_events(struct sl_ctx *x)
{
	resolver_exchanges(x);
	for (uint32_t i = 0; i < x->img->nevents; i++) {
		const struct sl_event *ev = &x->img->events[i];
		if (ev->type == SL_EV_STALE_FD)
			stale(x, ev);
		else if (ev->type == SL_EV_DNS)
			dns(x, ev);
	}
}
