/* audit.c - `--audit`: per call site that makes TCP connections or listeners, the socket options in
 * force on them (how many connections had each, with which values), and what is missing with why
 * it matters. Sites group like findings: by role and by the frames shown, across processes. The
 * connections are those the logs still hold (closed ones with nothing to report are recycled
 * once a process has had SOCKLENS_SLOTS of them). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "report/report.h"

struct sl_audit_site {
	int role;
	uint64_t key;
	struct sl_frame *stack;
	size_t nstack;
	uint64_t conns, blocking_reads, guarded, linger0, nagle_rounds, max_age_ns;
	uint64_t go_no_deadline, go_deadline; /* Go: connections a goroutine was seen reading without a
					       * deadline, and with one */
	uint64_t persistent;             /* connections kept for several exchanges, or open at the end */
	uint64_t on[SL_OPT__COUNT];      /* connections with the option set (timeouts: above 0) */
	int64_t lo[SL_OPT__COUNT], hi[SL_OPT__COUNT];
	int32_t backlog, backlog_kept;
	int pids[SL_LIST_MAX];
	unsigned npids;
	char peers[SL_LIST_MAX][160];
	unsigned npeers;
	struct sl_distinct seen;
};

struct sl_audit {
	struct sl_audit_site *v;
	size_t n, cap;
	const struct sl_thresholds *th;
};

struct sl_audit *sl_audit_new(const struct sl_thresholds *th)
{
	struct sl_audit *a = calloc(1, sizeof(struct sl_audit));
	a->th = th;
	return a;
}

void sl_audit_free(struct sl_audit *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].stack);
		sl_distinct_free(&a->v[i].seen);
	}
	free(a->v);
	free(a);
}

static int audited(const struct sl_slot *s)
{
	return sl_is_tcp(s) && (s->role == SL_ROLE_LISTENER || (sl_connected(s) && s->role != SL_ROLE_INHERITED));
}

/* The site of stack id in img for role: found by its frames, or added. */
static struct sl_audit_site *site_for(struct sl_audit *a, const struct sl_image *img, uint32_t id, int role)
{
	size_t n;
	struct sl_frame *f = sl_stack_frames(img, id, &n);
	uint64_t key = sl_frames_key(1469598103934665603ull ^ (uint64_t)role, f, n < SL_SHOWN_FRAMES ? n : SL_SHOWN_FRAMES);
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].key == key && a->v[i].role == role) {
			free(f);
			return &a->v[i];
		}
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = realloc(a->v, a->cap * sizeof *a->v);
	}
	struct sl_audit_site *st = &a->v[a->n++];
	memset(st, 0, sizeof *st);
	st->role = role;
	st->key = key;
	st->stack = f;
	st->nstack = n;
	return st;
}

static void count(struct sl_audit_site *st, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	char peer[160];
	sl_addr_format(s->role == SL_ROLE_LISTENER ? &s->local : &s->peer, peer, sizeof peer);
	sl_note_pid(st->pids, &st->npids, &st->seen, c->proc->pid);
	sl_note_peer(st->peers, &st->npeers, NULL, &st->seen, peer);
	st->conns++;
	for (int o = 0; o < SL_OPT__COUNT; o++) {
		int on = o == SL_OPT_LINGER ? (s->opts_set & (1u << o)) && s->opt[o] >= 0 : sl_opt_on(s, o);
		if (!on)
			continue;
		if (!st->on[o] || s->opt[o] < st->lo[o])
			st->lo[o] = s->opt[o];
		if (!st->on[o] || s->opt[o] > st->hi[o])
			st->hi[o] = s->opt[o];
		st->on[o]++;
	}
	st->go_no_deadline += (s->flags & SL_SF_PARKED_READ) != 0;
	st->go_deadline += (s->flags & SL_SF_DEADLINE_READ) != 0;
	/* a goroutine's read is the netpoller's, never a blocking one to time out with SO_RCVTIMEO */
	st->blocking_reads += (s->flags & (SL_SF_BLOCKING_READ | SL_SF_PARKED_READ)) == SL_SF_BLOCKING_READ;
	st->guarded += (s->flags & SL_SF_GUARDED) != 0;
	st->linger0 += (s->opts_set & (1u << SL_OPT_LINGER)) && s->opt[SL_OPT_LINGER] == 0;
	st->nagle_rounds += s->nagle_rounds;
	uint64_t age = c->end_ns > s->open_ns ? c->end_ns - s->open_ns : 0;
	if (age > st->max_age_ns)
		st->max_age_ns = age;
	/* a connection meant to last (a database client's, a pool's): keepalive matters whatever its
	 * age in a short staging run */
	st->persistent += c->open_at_end || s->calls_out >= 3;
	if (s->role == SL_ROLE_LISTENER) {
		st->backlog = s->listen_backlog;
		st->backlog_kept = (int32_t)s->listen_limit;
	}
}

void sl_audit_image(struct sl_audit *a, const struct sl_ctx *x)
{
	/* one symbolization per stack of the image: the last site found is usually the next one's */
	uint32_t last_id = 0;
	int last_role = -1;
	struct sl_audit_site *last = NULL;
	for (size_t i = 0; i < x->nconns; i++) {
		const struct sl_slot *s = x->conns[i].s;
		if (!audited(s))
			continue;
		uint32_t id = s->role == SL_ROLE_SERVER || s->role == SL_ROLE_LISTENER ? s->open_stack : sl_conn_stack(s);
		if (!last || id != last_id || s->role != last_role) {
			last = site_for(a, x->img, id, s->role);
			last_id = id;
			last_role = s->role;
		}
		count(last, &x->conns[i]);
	}
}

/* ---- what is missing, and why ---- */

static long system_keepalive_time(void)
{
	long v = 7200;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_keepalive_time", "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 7200;
		fclose(f);
	}
	return v;
}

/* Calls add(ctx, text) for each gap of st, most important first. */
static void gaps(const struct sl_thresholds *th, const struct sl_audit_site *st, void (*add)(void *, const char *),
		 void *ctx)
{
	char buf[320], dur[32];
	if (st->role == SL_ROLE_LISTENER) {
		if (st->on[SL_OPT_REUSEADDR] < st->conns)
			add(ctx, "no SO_REUSEADDR: a restart fails with EADDRINUSE while connections of the previous run "
				 "sit in TIME_WAIT");
		if (st->backlog > 0 && st->backlog_kept && st->backlog > st->backlog_kept) {
			snprintf(buf, sizeof buf, "backlog %d asked, %d kept (net.core.somaxconn)", st->backlog,
				 st->backlog_kept);
			add(ctx, buf);
		}
		return;
	}
	if (st->go_no_deadline) {
		snprintf(buf, sizeof buf, "no read deadline on %llu connection%s a goroutine was seen reading%s: a silent "
			 "peer holds the goroutine forever (conn.SetReadDeadline; an http.Server's ReadHeaderTimeout and "
			 "IdleTimeout; an http.Client's Timeout)",
			 (unsigned long long)st->go_no_deadline, st->go_no_deadline == 1 ? "" : "s",
			 st->go_deadline ? " (others had one)" : "");
		add(ctx, buf);
	}
	uint64_t unguarded = st->blocking_reads > st->guarded ? st->blocking_reads - st->guarded : 0;
	if (unguarded && st->on[SL_OPT_RCVTIMEO] < st->conns) {
		snprintf(buf, sizeof buf, "no receive timeout on %llu connection%s read in blocking mode without poll: a "
			 "silent peer blocks the read forever", (unsigned long long)unguarded, unguarded == 1 ? "" : "s");
		add(ctx, buf);
	}
	sl_dur_format(st->max_age_ns, dur, sizeof dur);
	if (!st->on[SL_OPT_KEEPALIVE] && st->max_age_ns >= th->keepalive_ns) {
		snprintf(buf, sizeof buf, "no SO_KEEPALIVE, on connections that lived up to %s: a dead peer or a dropped "
			 "NAT entry goes unnoticed", dur);
		add(ctx, buf);
	} else if (!st->on[SL_OPT_KEEPALIVE] && st->persistent && st->role == SL_ROLE_CLIENT) {
		snprintf(buf, sizeof buf, "no SO_KEEPALIVE on %llu connection%s kept for several requests or open at the "
			 "end (here up to %s old): once they live long, a dead peer or a dropped NAT entry goes unnoticed",
			 (unsigned long long)st->persistent, st->persistent == 1 ? "" : "s", dur);
		add(ctx, buf);
	} else if (st->on[SL_OPT_KEEPALIVE] > st->on[SL_OPT_KEEPIDLE]) {
		snprintf(buf, sizeof buf, "SO_KEEPALIVE without TCP_KEEPIDLE: the first probe after %ld s of silence "
			 "(net.ipv4.tcp_keepalive_time)", system_keepalive_time());
		add(ctx, buf);
	}
	if (st->nagle_rounds && !st->on[SL_OPT_NODELAY]) {
		snprintf(buf, sizeof buf, "TCP_NODELAY off, and %llu replies waited for a delayed ACK (nagle-delay)",
			 (unsigned long long)st->nagle_rounds);
		add(ctx, buf);
	}
	if (st->linger0)
		add(ctx, "SO_LINGER {1, 0}: every close sends RST, and the peer may lose the last data sent");
	for (int o = SL_OPT_RCVBUF; o <= SL_OPT_SNDBUF; o++) {
		if (!st->on[o])
			continue;
		snprintf(buf, sizeof buf, "%s fixed at %lld bytes: the kernel's buffer autotuning is off, which caps "
			 "throughput on a fast or distant path", sl_opt_name(o), (long long)st->hi[o]);
		add(ctx, buf);
	}
}

/* "5 s", "on", "60 s".."300 s" */
static void opt_value(int o, int64_t v, char *out, size_t len)
{
	switch (o) {
	case SL_OPT_RCVTIMEO: case SL_OPT_SNDTIMEO:
		sl_dur_format((uint64_t)v * 1000, out, len);
		break;
	case SL_OPT_KEEPIDLE: case SL_OPT_KEEPINTVL: case SL_OPT_LINGER:
		snprintf(out, len, "%lld s", (long long)v);
		break;
	case SL_OPT_USER_TIMEOUT:
		snprintf(out, len, "%lld ms", (long long)v);
		break;
	case SL_OPT_KEEPCNT: case SL_OPT_RCVBUF: case SL_OPT_SNDBUF:
		snprintf(out, len, "%lld", (long long)v);
		break;
	default:
		snprintf(out, len, "on");
	}
}

static const char *role_label(int role)
{
	return role == SL_ROLE_LISTENER ? "opened" : role == SL_ROLE_SERVER ? "accepted" : "connected";
}

struct text_ctx {
	FILE *out;
	unsigned n;
};

static void text_gap(void *p, const char *gap)
{
	struct text_ctx *t = p;
	sl_text_wrapped(t->out, t->n++ ? "              " : "        gaps: ", gap);
}

static int site_cmp(const void *x, const void *y)
{
	const struct sl_audit_site *a = x, *b = y;
	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	return a->conns > b->conns ? -1 : a->conns < b->conns;
}

void sl_audit_text(FILE *out, struct sl_audit *a)
{
	if (a->n)
		qsort(a->v, a->n, sizeof *a->v, site_cmp);
	fprintf(out, "Socket options by call site (%zu site%s):\n\n", a->n, a->n == 1 ? "" : "s");
	for (size_t i = 0; i < a->n; i++) {
		const struct sl_audit_site *st = &a->v[i];
		const struct sl_frame *f = st->nstack ? &st->stack[0] : NULL;
		fprintf(out, "%-8s %llu %s%s", sl_role_name(st->role), (unsigned long long)st->conns,
			st->role == SL_ROLE_LISTENER ? "listener" : "connection", st->conns == 1 ? "" : "s");
		if (st->npeers)
			fprintf(out, " %s %s%s", st->role == SL_ROLE_CLIENT ? "to" : st->role == SL_ROLE_SERVER ? "from" : "on",
				sl_esc(st->peers[0]),
				st->npeers > 1 ? " and others" : "");
		fprintf(out, ", %s at ", role_label(st->role));
		if (f && f->function[0] && f->file[0])
			fprintf(out, "%s (%s:%d)\n", sl_esc(f->function), sl_esc(f->file), f->line);
		else if (f && f->function[0])
			fprintf(out, "%s (%s)\n", sl_esc(f->function), sl_esc(f->module));
		else if (f)
			fprintf(out, "%s+0x%llx\n", sl_esc(f->module), (unsigned long long)f->offset);
		else
			fprintf(out, "(no stack recorded)\n");
		char line[1024] = "";
		size_t len = 0;
		for (int o = 0; o < SL_OPT__COUNT; o++) {
			char lo[32], hi[32];
			if (!st->on[o])
				continue;
			opt_value(o, st->lo[o], lo, sizeof lo);
			opt_value(o, st->hi[o], hi, sizeof hi);
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%s %s%s%s", len ? ", " : "", sl_opt_name(o), lo,
						st->lo[o] != st->hi[o] ? ".." : "", st->lo[o] != st->hi[o] ? hi : "");
			if (st->on[o] < st->conns && len < sizeof line)
				len += (size_t)snprintf(line + len, sizeof line - len, " (%llu of %llu)",
							(unsigned long long)st->on[o], (unsigned long long)st->conns);
			if (len >= sizeof line)
				break;
		}
		if ((st->go_deadline || st->go_no_deadline) && len < sizeof line)
			len += (size_t)snprintf(line + len, sizeof line - len, "%sread deadline (Go) on %llu of %llu read",
						len ? ", " : "", (unsigned long long)st->go_deadline,
						(unsigned long long)(st->go_deadline + st->go_no_deadline));
		sl_text_wrapped(out, "        options: ", line[0] ? line : "none set (kernel defaults)");
		struct text_ctx t = {out, 0};
		gaps(a->th, st, text_gap, &t);
		fputc('\n', out);
	}
}

static void json_gap(void *p, const char *gap)
{
	json_array_append_new(p, json_string(gap));
}

json_t *sl_audit_json(const struct sl_audit *a)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < a->n; i++) {
		const struct sl_audit_site *st = &a->v[i];
		json_t *opts = json_object(), *missing = json_array(), *peers = json_array(), *pids = json_array();
		for (int o = 0; o < SL_OPT__COUNT; o++)
			if (st->on[o])
				json_object_set_new(opts, sl_opt_name(o),
						    json_pack("{s:I, s:I, s:I}", "connections", (json_int_t)st->on[o], "min",
							      (json_int_t)st->lo[o], "max", (json_int_t)st->hi[o]));
		gaps(a->th, st, json_gap, missing);
		for (unsigned k = 0; k < st->npeers && k < SL_LIST_MAX; k++)
			json_array_append_new(peers, json_string(st->peers[k]));
		for (unsigned k = 0; k < st->npids && k < SL_LIST_MAX; k++)
			json_array_append_new(pids, json_integer(st->pids[k]));
		if (st->go_deadline || st->go_no_deadline)
			json_object_set_new(opts, "go_read_deadline",
					    json_pack("{s:I, s:I}", "with", (json_int_t)st->go_deadline, "without",
						      (json_int_t)st->go_no_deadline));
		json_t *frames = sl_frames_json(st->stack, st->nstack < SL_SHOWN_FRAMES ? st->nstack : SL_SHOWN_FRAMES);
		json_array_append_new(arr, json_pack("{s:s, s:I, s:o, s:I, s:o, s:I, s:o, s:o, s:o, s:f}", "role",
						     sl_role_name(st->role), "connections", (json_int_t)st->conns,
						     "peers", peers, "distinct_peers", (json_int_t)st->npeers, "pids", pids,
						     "processes", (json_int_t)st->npids, "stack", frames, "options", opts,
						     "missing", missing, "max_age_ms", (double)st->max_age_ns / 1e6));
	}
	return arr;
}
