/* rule_inject.c - injected: each fault socklens run --inject put into a call, at its call site,
 * with what the program did next: the outcome of the connection it hit (refused, its own connect
 * timeout, the kernel's, still waiting when it ended, reset, leaked), how often the same call site
 * tried again and at what intervals, whether a later try succeeded or went elsewhere, and how the
 * process ended. The failure itself is the cause (diag.c shows it as info); the reaction is the
 * finding. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules/rules.h"

const char *sl_fault_name(const struct sl_inject_rule *r)
{
	static const char *const names[SL_FAULT__COUNT] = {
		[SL_FAULT_REFUSE] = "refuse", [SL_FAULT_BLACKHOLE] = "blackhole", [SL_FAULT_UNREACHABLE] = "unreachable",
		[SL_FAULT_NXDOMAIN] = "nxdomain", [SL_FAULT_SERVFAIL] = "servfail", [SL_FAULT_DNS_DELAY] = "dns-delay",
		[SL_FAULT_EMFILE] = "emfile", [SL_FAULT_ENFILE] = "enfile", [SL_FAULT_ACCEPT_STALL] = "accept-stall",
		[SL_FAULT_SLOW_CLOSE] = "slow-close", [SL_FAULT_EINTR] = "eintr",
	};
	if (r->fault == SL_FAULT_RELAY)
		return r->p[SL_FP_RESET_AFTER] || r->p[SL_FP_RESET_AT_MS] ? "reset"
		       : r->p[SL_FP_SILENT_AFTER] ? "silent" : r->p[SL_FP_DELAY_MS] ? "delay"
		       : r->p[SL_FP_RATE] ? "rate" : "slice";
	return r->fault < SL_FAULT__COUNT && names[r->fault] ? names[r->fault] : "fault";
}

static void cat(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *out, size_t len, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;
	if (n >= len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, len - n, fmt, ap);
	va_end(ap);
}

void sl_inject_describe(const struct sl_inject_rule *r, const struct sl_inject_site *site, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	snprintf(out, len, "%s", sl_fault_name(r));
	const uint64_t *p = r->p;
	if (r->fault == SL_FAULT_DNS_DELAY || r->fault == SL_FAULT_ACCEPT_STALL || r->fault == SL_FAULT_SLOW_CLOSE ||
	    (r->fault == SL_FAULT_RELAY && p[SL_FP_DELAY_MS]))
		cat(out, len, " %llums", (unsigned long long)p[SL_FP_DELAY_MS]);
	if (p[SL_FP_JITTER_MS])
		cat(out, len, " (+0-%llums)", (unsigned long long)p[SL_FP_JITTER_MS]);
	if (r->fault == SL_FAULT_RELAY && p[SL_FP_RATE])
		cat(out, len, " %s%llu B/s", strcmp(sl_fault_name(r), "rate") ? "rate " : "", (unsigned long long)p[SL_FP_RATE]);
	if (p[SL_FP_RESET_AFTER] > 1)
		cat(out, len, " after %llu bytes", (unsigned long long)p[SL_FP_RESET_AFTER] - 1);
	if (p[SL_FP_RESET_AT_MS])
		cat(out, len, " at %llums", (unsigned long long)p[SL_FP_RESET_AT_MS] - 1);
	if (p[SL_FP_SILENT_AFTER] > 1)
		cat(out, len, " after %llu bytes", (unsigned long long)p[SL_FP_SILENT_AFTER] - 1);
	if (p[SL_FP_SLICE])
		cat(out, len, " slices of %llu bytes", (unsigned long long)p[SL_FP_SLICE]);
	if (r->fault == SL_FAULT_RELAY && r->dir)
		cat(out, len, r->dir == SL_FDIR_IN ? " (to the program)" : " (from the program)");
	for (unsigned i = 0; i < r->naddr && i < SL_INJECT_ADDRS; i++) {
		inet_ntop(r->family[i], r->addr[i], a, sizeof a);
		cat(out, len, "%s%s", i ? "|" : " to ", a);
		if (i == 0 && r->prefix)
			cat(out, len, "/%u", r->prefix);
	}
	if (r->port)
		cat(out, len, "%s%u", r->naddr ? ":" : " to port ", r->port);
	if (r->host[0])
		cat(out, len, " for %s", r->host);
	if (r->proc[0])
		cat(out, len, " in %s", r->proc);
	if (site && site->file[0])
		cat(out, len, " at %s:%d", site->file, site->line);
	else if (site && site->func[0])
		cat(out, len, " in %s()", site->func);
	if (r->nth)
		cat(out, len, ", match #%u only", r->nth);
	if (r->every)
		cat(out, len, ", every %u", r->every);
	if (r->p_ppm < 1000000u)
		cat(out, len, ", p=%.3g", r->p_ppm / 1e6);
	if (r->limit)
		cat(out, len, ", at most %u", r->limit);
	if (r->from_ns || r->until_ns)
		cat(out, len, ", %.3g s to %s", r->from_ns / 1e9, r->until_ns ? "" : "the end");
	if (r->until_ns)
		cat(out, len, "%.3g s", r->until_ns / 1e9);
}

static const char *call_name(uint16_t call)
{
	switch (call) {
	case SL_CALL_CONNECT: return "connect()";
	case SL_CALL_SOCKET: return "socket()";
	case SL_CALL_ACCEPT: return "accept()";
	case SL_CALL_GETADDRINFO: return "getaddrinfo()";
	case SL_CALL_GETHOSTBYNAME: return "gethostbyname()";
	case SL_CALL_RESOLVE: return "the answer to a lookup";
	case SL_CALL_CLOSE: return "close()";
	case SL_CALL_SEND: return "a send";
	case SL_CALL_RECV: return "a read";
	}
	return "a call";
}

/* The image's connections indexed once: by id (the event names one), and by call site then time
 * (a site's later connects are what follows it): an injection costs a lookup and the rest of its
 * site, not a scan of every connection. */
struct index {
	const struct sl_conn **byid;
	struct site_conn {
		uint64_t key, start;
		const struct sl_conn *c;
	} *bysite;
	size_t n, nsite;
};

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = (*(const struct sl_conn *const *)a)->s->conn_id, y = (*(const struct sl_conn *const *)b)->s->conn_id;
	return x < y ? -1 : x > y;
}

static int cmp_site(const void *a, const void *b)
{
	const struct site_conn *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Two connects from the same call site: the same code called connect, whatever called it (nginx's
 * first try and its next upstream come through different callers of one ngx_event_connect_peer). */
static uint64_t site_key(const struct sl_ctx *x, uint32_t stack)
{
	const struct sl_stack *st = sl_image_stack(x->img, stack);
	return st && st->nframes ? st->ip[0] : ~(uint64_t)stack;
}

static void index_build(const struct sl_ctx *x, struct index *ix)
{
	ix->n = x->nconns;
	ix->byid = malloc((x->nconns ? x->nconns : 1) * sizeof *ix->byid);
	ix->bysite = malloc((x->nconns ? x->nconns : 1) * sizeof *ix->bysite);
	ix->nsite = 0;
	if (!ix->byid || !ix->bysite) {
		ix->n = 0;
		return;
	}
	for (size_t i = 0; i < x->nconns; i++) {
		const struct sl_conn *c = &x->conns[i];
		ix->byid[i] = c;
		if (c->s->connect_stack)
			ix->bysite[ix->nsite++] = (struct site_conn){site_key(x, c->s->connect_stack), c->s->connect_start_ns, c};
	}
	qsort(ix->byid, ix->n, sizeof *ix->byid, cmp_id);
	qsort(ix->bysite, ix->nsite, sizeof *ix->bysite, cmp_site);
}

static void index_free(struct index *ix)
{
	free(ix->byid);
	free(ix->bysite);
}

static const struct sl_conn *conn_of(const struct index *ix, uint64_t id)
{
	struct sl_slot key_slot = {.conn_id = id};
	struct sl_conn key = {.s = &key_slot};
	const struct sl_conn *k = &key, **hit = ix->n ? bsearch(&k, ix->byid, ix->n, sizeof *ix->byid, cmp_id) : NULL;
	return hit ? *hit : NULL;
}

/* The call a thread was blocked in on the connection when the image was read (0: none). */
static uint32_t blocked_in(const struct sl_ctx *x, uint64_t conn_id)
{
	for (uint32_t i = 0; i < x->img->ninfl; i++) {
		const struct sl_inflight *f = &x->img->infl[i];
		if (f->owner && f->call && f->conn_id == conn_id)
			return f->call;
	}
	return 0;
}

struct reaction {
	char text[400];
	int hung, leaked;
};

/* What became of the connection the fault went into. */
static void outcome(const struct sl_ctx *x, const struct sl_conn *c, uint64_t injected_ns, struct reaction *rx)
{
	const struct sl_slot *s = c->s;
	char t[32];
	uint64_t until = sl_conn_now(x->run, c), from = s->connect_start_ns ? s->connect_start_ns : injected_ns;
	uint32_t blocked = c->open_at_end ? blocked_in(x, s->conn_id) : 0;
	sl_dur_format(until > from ? until - from : 0, t, sizeof t);
	int ended = !x->proc->alive;
	if (blocked == SL_CALL_CONNECT || (s->connect_state == SL_CONN_NONE && c->open_at_end)) {
		/* a blocking connect that never returned: its outcome was never recorded */
		cat(rx->text, sizeof rx->text, "the program was still waiting in connect() %s after it began, when it %s: "
		    "no connect timeout", t, ended ? "ended" : "was looked at");
		rx->hung = 1;
	} else if (s->connect_state == SL_CONN_FAILED) {
		const char *en = sl_errno_name(s->connect_errno);
		char ct[32];
		sl_dur_format(s->connect_ns, ct, sizeof ct);
		if (s->connect_errno == ETIMEDOUT)
			cat(rx->text, sizeof rx->text, "the kernel gave up on the connect after %s (ETIMEDOUT): the program "
			    "set no connect timeout of its own", ct);
		else
			cat(rx->text, sizeof rx->text, "the connect failed with %s after %s", en ? en : "an error", ct);
	} else if (s->connect_state == SL_CONN_PENDING) {
		if (c->open_at_end) {
			cat(rx->text, sizeof rx->text, "the program was still waiting for the connect %s after it began, "
			    "when it %s: no connect timeout", t, ended ? "ended" : "was looked at");
			rx->hung = 1;
		} else {
			cat(rx->text, sizeof rx->text, "the program gave up on the connect after %s (a timeout of its own) "
			    "and closed the socket", t);
		}
	} else if (s->err_total) {
		const char *en = sl_errno_name(s->err_no[0]);
		cat(rx->text, sizeof rx->text, "a call on the connection failed with %s after %llu bytes in, %llu out",
		    en ? en : "an error", (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
	} else if (blocked) {
		cat(rx->text, sizeof rx->text, "the program was still blocked on the connection %s after it began, "
		    "when it %s: no read timeout", t, ended ? "ended" : "was looked at");
		rx->hung = 1;
	} else if (c->open_at_end && ended && !(s->flags & SL_SF_FROM_PARENT)) {
		cat(rx->text, sizeof rx->text, "the socket was never closed (%llu bytes in, %llu out)",
		    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
		rx->leaked = 1;
	} else if (c->open_at_end) {
		cat(rx->text, sizeof rx->text, "the connection is still open (%llu bytes in, %llu out)",
		    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
	} else {
		cat(rx->text, sizeof rx->text, "the program closed the connection after %s (%llu bytes in, %llu out%s)", t,
		    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out,
		    (s->flags & SL_SF_EOF) ? ", the peer's end seen" : "");
	}
}

/* The same call site's later connects: retries (to the same peer) and fail-overs (elsewhere), made
 * once the injected connection had ended (failed, or closed); those opened while it was still up
 * are the program's other connections (a pool, a load generator), not tries again. */
static void retries(const struct sl_ctx *x, const struct index *ix, const struct sl_conn *c, struct sl_diag *d,
		    struct reaction *rx)
{
	const struct sl_slot *s = c->s;
	unsigned same = 0, other = 0, ok = 0;
	uint64_t ended = s->connect_state == SL_CONN_FAILED ? s->connect_start_ns + s->connect_ns
			 : !c->open_at_end ? c->end_ns : UINT64_MAX;
	uint64_t prev = ended, gap_min = UINT64_MAX, gap_max = 0;
	const struct sl_slot *last = NULL;
	char buf[160];
	struct site_conn key = {site_key(x, s->connect_stack), s->connect_start_ns, c};
	const struct site_conn *at = ix->nsite ? bsearch(&key, ix->bysite, ix->nsite, sizeof key, cmp_site) : NULL;
	/* (connects at the same instant: the first of them; those after it in time are the tries) */
	for (size_t i = at ? (size_t)(at - ix->bysite) : ix->nsite; i < ix->nsite && ix->bysite[i].key == key.key; i++) {
		const struct sl_slot *o = ix->bysite[i].c->s;
		if (o == s || o->connect_start_ns <= s->connect_start_ns || o->connect_start_ns < ended)
			continue;
		int to_same = o->peer.len == s->peer.len && !memcmp(o->peer.data, s->peer.data, s->peer.len);
		same += to_same;
		other += !to_same;
		ok += o->connect_state == SL_CONN_DONE;
		last = o;
		uint64_t gap = o->connect_start_ns > prev ? o->connect_start_ns - prev : 0; /* the pause before it */
		gap_min = gap < gap_min ? gap : gap_min;
		gap_max = gap > gap_max ? gap : gap_max;
		prev = o->connect_state == SL_CONN_FAILED ? o->connect_start_ns + o->connect_ns
		       : o->close_ns ? o->close_ns : o->connect_start_ns; /* where the next pause starts */
	}
	if (!same && !other) {
		if (ended != UINT64_MAX)
			cat(rx->text, sizeof rx->text, "; it did not try again from this call site");
		return;
	}
	char a[32], b[32];
	sl_dur_format(gap_min, a, sizeof a);
	sl_dur_format(gap_max, b, sizeof b);
	if (same)
		cat(rx->text, sizeof rx->text, "; it tried again %u time%s from this call site, %s%s%s after the failure "
		    "before it", same, same == 1 ? "" : "s", a, strcmp(a, b) ? " to " : "", strcmp(a, b) ? b : "");
	if (other) {
		sl_addr_format(&last->peer, buf, sizeof buf);
		cat(rx->text, sizeof rx->text, "%s connected %u time%s to other peers (the last %s)", same ? " and" : "; it",
		    other, other == 1 ? "" : "s", buf);
	}
	const char *how = "the last try failed too";
	if (last->connect_state == SL_CONN_DONE)
		how = "the last try connected";
	else if (last->connect_state == SL_CONN_PENDING)
		how = last->state == SL_SLOT_CLOSED ? "the program gave up on the last try too"
						     : "the last try was still connecting";
	cat(rx->text, sizeof rx->text, "; %s", how);
	sl_diag_fact(d, "tries_after", (double)(same + other));
	sl_diag_fact(d, "tries_connected", (double)ok);
	sl_diag_fact(d, "retry_pause_min_s", gap_min / 1e9);
}

static void process_end(const struct sl_ctx *x, struct sl_diag *d, struct reaction *rx)
{
	const struct sl_proc *p = x->proc;
	if (p->alive)
		cat(rx->text, sizeof rx->text, ". The process is still running.");
	else if (p->have_status && WIFSIGNALED(p->wstatus))
		cat(rx->text, sizeof rx->text, ". The process was killed by signal %d (%s).", WTERMSIG(p->wstatus),
		    sigabbrev_np(WTERMSIG(p->wstatus)) ? sigabbrev_np(WTERMSIG(p->wstatus)) : "?");
	else if (p->have_status)
		cat(rx->text, sizeof rx->text, ". The process exited with status %d.", WEXITSTATUS(p->wstatus));
	else if (x->img->h.end_reason == SL_END_EXIT)
		cat(rx->text, sizeof rx->text, ". The process exited with status %d.", x->img->h.exit_status);
	else
		cat(rx->text, sizeof rx->text, ".");
	if (p->have_status)
		sl_diag_fact(d, "exit_status", WIFSIGNALED(p->wstatus) ? -(double)WTERMSIG(p->wstatus) : WEXITSTATUS(p->wstatus));
}

/* A lookup or socket call: what the call site's counters say came of the calls made there. */
static void site_calls(const struct sl_ctx *x, const struct sl_event *ev, struct reaction *rx)
{
	const struct sl_stack *st = ev->stack ? sl_image_stack(x->img, ev->stack) : NULL;
	if (!st || !st->hits)
		return;
	cat(rx->text, sizeof rx->text, "; the program made %llu such call%s from this call site, %llu failed",
	    (unsigned long long)st->hits, st->hits == 1 ? "" : "s", (unsigned long long)st->fails);
}

void sl_rule_inject(struct sl_ctx *x)
{
	const struct sl_inject_table *t = &x->run->inject;
	struct index ix;
	uint64_t *done_sites = NULL;
	size_t ndone = 0;
	if (!x->img->inject_calls)
		return;
	index_build(x, &ix);
	for (uint32_t i = 0; i < x->img->nevents; i++) {
		const struct sl_event *ev = &x->img->events[i];
		if (ev->type != SL_EV_INJECT || ev->a < 0 || (uint64_t)ev->a >= t->count)
			continue;
		const struct sl_inject_rule *r = &t->rule[ev->a];
		struct sl_diag d;
		struct reaction rx = {{0}};
		char desc[200], peer[160] = "";
		sl_inject_describe(r, &t->site[ev->a], desc, sizeof desc);
		sl_diag_init(&d, SL_K_INJECTED, SL_SEV_INFO, x->proc, ev->fd);
		d.when_ns = ev->ts_ns;
		d.conn_id = ev->conn_id;
		if (ev->call == SL_CALL_GETADDRINFO || ev->call == SL_CALL_GETHOSTBYNAME || ev->call == SL_CALL_RESOLVE) {
			size_t n = ev->addr.len && ev->addr.len <= SL_ADDR_DATA ? ev->addr.len - 1u : 0;
			snprintf(peer, sizeof peer, "%.*s", (int)n, (const char *)ev->addr.data);
		} else {
			sl_addr_format(&ev->addr, peer, sizeof peer);
		}
		snprintf(d.peer, sizeof d.peer, "%s", peer);
		snprintf(d.group_peer, sizeof d.group_peer, "%s", sl_fault_name(r));
		const struct sl_conn *c = ev->conn_id ? conn_of(&ix, ev->conn_id) : NULL;
		if (c && r->fault == SL_FAULT_EINTR) {
			/* the interrupted call was not counted: any data that way after it means it was retried */
			int in = ev->call == SL_CALL_RECV;
			uint64_t moved = in ? c->s->bytes_in : c->s->bytes_out;
			cat(rx.text, sizeof rx.text, "%s; ", moved || (in && (c->s->flags & SL_SF_EOF))
				? "the program called again and went on" : "the program did not call again on the connection");
			outcome(x, c, ev->ts_ns, &rx);
		} else if (c) {
			outcome(x, c, ev->ts_ns, &rx);
			/* the first injection at a call site tells what followed it there; the later ones fold
			 * into its finding (their own outcomes still set its severity) */
			uint64_t k = site_key(x, c->s->connect_stack) ^ ((uint64_t)ev->a << 56);
			size_t j = 0;
			while (j < ndone && done_sites[j] != k)
				j++;
			/* retries follow a failure: a connection only slowed (delay, rate, slice) has next ones,
			 * not tries again */
			int failing = r->fault != SL_FAULT_RELAY || r->p[SL_FP_RESET_AFTER] || r->p[SL_FP_RESET_AT_MS] ||
				      r->p[SL_FP_SILENT_AFTER];
			if (j == ndone && c->s->connect_stack && failing) {
				uint64_t *v = realloc(done_sites, (ndone + 1) * sizeof *v);
				if (v) {
					done_sites = v;
					done_sites[ndone++] = k;
					retries(x, &ix, c, &d, &rx);
				}
			}
		} else if (r->fault == SL_FAULT_ACCEPT_STALL || r->fault == SL_FAULT_DNS_DELAY) {
			cat(rx.text, sizeof rx.text, "the call was held for %llu ms", (unsigned long long)r->p[SL_FP_DELAY_MS]);
			site_calls(x, ev, &rx);
		} else {
			cat(rx.text, sizeof rx.text, "the call failed as asked");
			site_calls(x, ev, &rx);
		}
		process_end(x, &d, &rx);
		if (x->img->h.event_overwritten || x->img->h.event_dropped)
			cat(rx.text, sizeof rx.text, " (This process's event table overflowed: the count here is of the "
			    "injections it kept; the run's line for the rule counts them all.)");
		if (rx.hung || rx.leaked)
			d.sev = SL_SEV_WARNING;
		sl_diag_fact(&d, "rule", (double)ev->a + 1);
		if (snprintf(d.summary, sizeof d.summary, "Injected %s into %s%s%s%s (--inject rule %lld: %s). Then %s",
			     sl_fault_name(r), r->fault == SL_FAULT_RELAY ? "the connection" : call_name(ev->call),
			     peer[0] ? " " : "",
			     ev->call == SL_CALL_CONNECT || ev->call == SL_CALL_CLOSE ? "to "
			     : ev->call == SL_CALL_SEND ? "to " : ev->call == SL_CALL_RECV ? "from "
			     : ev->call == SL_CALL_SOCKET || ev->call == SL_CALL_ACCEPT ? "" : "of ",
			     peer, (long long)ev->a + 1, desc, rx.text) >= (int)sizeof d.summary)
			memcpy(d.summary + sizeof d.summary - 4, "...", 4); /* cut, and says so */
		sl_diags_add(x->out, x->img, &d, ev->stack, 0);
	}
	free(done_sites);
	index_free(&ix);
}
