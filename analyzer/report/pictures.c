/* pictures.c - the run drawn: a self-contained HTML page (--html; the page itself is
 * analyzer/report/page.html, built in) and a Chrome Trace Event file for Perfetto (--trace).
 *
 * Both are fed per image as the analysis goes, like the JSON report, and keep one compact row per
 * connection (about 100 bytes) and per failed or slow call, so a run of 100,000 connections costs
 * some ten megabytes here. The trace holds every connection the logs kept; the page draws at most
 * PAGE_CONNS of them (every one with a problem first, then an even sample of the clean ones) and
 * says so, while its counts over time and its histograms come from all of them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/tcp.h>
#include "report/report.h"

#define PAGE_CONNS 20000u   /* connections drawn on the page's timeline */
#define PAGE_CALLS 5000u    /* failed and slow calls marked on it */
#define TRACE_CALLS 200000u /* ... and put in the trace */
#define SERIES_BINS 240u    /* points of the open-connections-over-time chart */
#define PEER_HISTS 24u      /* peers given a connect-latency histogram */
#define SITE_FRAMES 8u      /* frames of a call site kept for the page and the trace */
/* Times from the run's start need more than the reports' six digits: a microsecond in an hour */
#define TIME_REALS JSON_REAL_PRECISION(10)

/* What a connection came to, as the page colours it (the order is the legend's). */
enum outcome { O_CLEAN, O_OPEN, O_LEAKED, O_REFUSED, O_FAILED, O_RESET, O_CLOSE_WAIT, O_UNANSWERED, O_PENDING,
	       O_LISTENER, O__COUNT };
static const char *const outcome_names[O__COUNT] = {
	"clean", "open", "open at exit", "refused", "connect failed", "reset", "close-wait", "unanswered", "connecting",
	"listener"};

struct row {
	int pid;
	uint8_t role, outcome, tcp;
	uint64_t conn_id;
	uint64_t t_open, t_est, t_cw, t_end; /* CLOCK_MONOTONIC ns; t_est: connected (0: never), t_cw: the
					       * peer's FIN unanswered since (0: not a close-wait) */
	uint64_t connect_ns, bytes_in, bytes_out;
	uint32_t peer, local, site;          /* string and site indexes (0: none) */
};

struct call {
	int pid, tid;
	uint16_t call, type;
	int err;
	uint64_t ts, dur;
	uint32_t site, peer;
};

struct site_hist {
	uint32_t site;
	uint16_t call;
	uint64_t hits, fails, max_ns, lat[SL_LAT_BUCKETS];
};

/* interned strings: peers, addresses, and call sites (a site's string is its frames, one a line) */
struct strtab {
	char **v;
	size_t n, cap;
	uint32_t *index; /* open-addressed: hash -> position + 1 */
	size_t index_cap;
};

struct sl_pictures {
	struct row *rows;
	size_t nrows, caprows;
	struct call *calls;
	size_t ncalls, capcalls;
	uint64_t calls_seen;                 /* failed and slow calls in the logs (those kept: ncalls) */
	struct site_hist *hists;
	size_t nhists, caphists;
	struct strtab str;
	json_t *site_frames;                 /* site index - 1 -> frames (JSON) */
	uint32_t *stack_site;                /* per stack of the image being read: site index + 1 (0: not yet) */
	size_t nstack_site;
	uint64_t t0, t1;
};

static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return v;
	size_t c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	void *n = realloc(v, c * size);
	if (!n)
		abort(); /* as jansson does: an analyzer out of memory has nothing better to do */
	*cap = c;
	return n;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The index of s in t, from 1 (0 for an empty string). */
static uint32_t intern(struct strtab *t, const char *s)
{
	if (!s || !s[0])
		return 0;
	if (t->n * 2 >= t->index_cap) {
		size_t cap = t->index_cap ? t->index_cap * 2 : 256;
		uint32_t *ix = calloc(cap, sizeof *ix);
		if (!ix)
			abort();
		for (size_t i = 0; i < t->n; i++) {
			size_t k = str_hash(t->v[i]) & (cap - 1);
			while (ix[k])
				k = (k + 1) & (cap - 1);
			ix[k] = (uint32_t)i + 1;
		}
		free(t->index);
		t->index = ix;
		t->index_cap = cap;
	}
	size_t k = str_hash(s) & (t->index_cap - 1);
	for (; t->index[k]; k = (k + 1) & (t->index_cap - 1))
		if (!strcmp(t->v[t->index[k] - 1], s))
			return t->index[k];
	t->v = grow(t->v, &t->cap, t->n + 1, sizeof *t->v);
	t->v[t->n] = strdup(s);
	if (!t->v[t->n])
		abort();
	t->index[k] = (uint32_t)++t->n;
	return (uint32_t)t->n;
}

struct sl_pictures *sl_pictures_new(void)
{
	struct sl_pictures *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->site_frames = json_object();
	p->t0 = UINT64_MAX;
	return p;
}

void sl_pictures_free(struct sl_pictures *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->str.n; i++)
		free(p->str.v[i]);
	free(p->str.v);
	free(p->str.index);
	free(p->rows);
	free(p->calls);
	free(p->hists);
	free(p->stack_site);
	json_decref(p->site_frames);
	free(p);
}

static void span(struct sl_pictures *p, uint64_t a, uint64_t b)
{
	if (a && a < p->t0)
		p->t0 = a;
	if (b > p->t1)
		p->t1 = b;
}

/* The site of stack id of img: its frames as the findings show them, interned by their text. */
static uint32_t site_of(struct sl_pictures *p, const struct sl_image *img, uint32_t id)
{
	const struct sl_stack *st = sl_image_stack(img, id);
	if (!st)
		return 0;
	size_t k = (size_t)(st - img->stacks); /* the cache is by the stack's place in the image */
	if (p->nstack_site != img->nstacks) {
		free(p->stack_site);
		p->stack_site = calloc(img->nstacks ? img->nstacks : 1, sizeof *p->stack_site);
		if (!p->stack_site)
			abort();
		p->nstack_site = img->nstacks;
	}
	if (p->stack_site[k])
		return p->stack_site[k] - 1;
	size_t n = 0;
	struct sl_frame *f = sl_stack_frames(img, id, &n);
	uint32_t site = 0;
	if (n) {
		if (n > SITE_FRAMES)
			n = SITE_FRAMES;
		char text[SITE_FRAMES * 400], *w = text;
		text[0] = 0;
		for (size_t i = 0; i < n; i++) {
			size_t room = sizeof text - (size_t)(w - text);
			int m;
			if (f[i].file[0])
				m = snprintf(w, room, "%s%s (%s:%d)", i ? "\n" : "", f[i].function[0] ? f[i].function : "?",
					     f[i].file, f[i].line);
			else
				m = snprintf(w, room, "%s%s (%s+0x%llx)", i ? "\n" : "", f[i].function[0] ? f[i].function : "?",
					     f[i].module[0] ? f[i].module : "?", (unsigned long long)f[i].offset);
			if (m < 0 || (size_t)m >= room)
				break;
			w += m;
		}
		size_t before = p->str.n;
		site = intern(&p->str, text);
		if (p->str.n != before) {
			char key[16];
			snprintf(key, sizeof key, "%u", site);
			json_object_set_new(p->site_frames, key, sl_frames_json(f, n));
		}
	}
	free(f);
	p->stack_site[k] = site + 1;
	return site;
}

static uint32_t addr_of(struct sl_pictures *p, const struct sl_addr *a)
{
	char text[160];
	sl_addr_format(a, text, sizeof text);
	return intern(&p->str, text);
}

static enum outcome outcome_of(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->role == SL_ROLE_LISTENER)
		return O_LISTENER;
	if (s->connect_state == SL_CONN_FAILED)
		return s->connect_errno == ECONNREFUSED ? O_REFUSED : O_FAILED;
	if (s->connect_state == SL_CONN_PENDING)
		return O_PENDING;
	if (sl_met(s, ECONNRESET) || sl_met(s, EPIPE) ||
	    (sl_is_tcp(s) && (s->flags & SL_SF_TCPINFO) && s->tcp_state == TCP_CLOSE && sl_connected(s)))
		return O_RESET;
	if (sl_close_wait_ns(x, c))
		return O_CLOSE_WAIT;
	if (sl_unanswered_ns(x, c))
		return O_UNANSWERED;
	if (c->open_at_end)
		return c->proc->alive ? O_OPEN : O_LEAKED;
	return O_CLEAN;
}

static void add_row(struct sl_pictures *p, const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	p->rows = grow(p->rows, &p->caprows, p->nrows + 1, sizeof *p->rows);
	struct row *r = &p->rows[p->nrows++];
	memset(r, 0, sizeof *r);
	r->pid = c->proc->pid;
	r->role = s->role;
	r->tcp = (uint8_t)sl_is_tcp(s);
	r->conn_id = s->conn_id;
	r->outcome = (uint8_t)outcome_of(x, c);
	r->t_open = s->open_ns;
	r->t_end = sl_conn_now(x->run, c);
	if (r->t_end < r->t_open)
		r->t_end = r->t_open;
	if (s->role == SL_ROLE_CLIENT && s->connect_state == SL_CONN_DONE) {
		uint64_t start = s->connect_start_ns >= s->open_ns ? s->connect_start_ns : s->open_ns;
		r->t_est = start + s->connect_ns;
		r->connect_ns = s->connect_ns;
	} else if (sl_connected(s) || s->role == SL_ROLE_PAIR) {
		r->t_est = s->open_ns;
	}
	if (r->t_est > r->t_end)
		r->t_est = r->t_end;
	uint64_t held = sl_close_wait_ns(x, c);
	if (held)
		r->t_cw = r->t_end - held > r->t_open ? r->t_end - held : r->t_open;
	r->bytes_in = s->bytes_in;
	r->bytes_out = s->bytes_out;
	r->peer = s->peer.family ? addr_of(p, &s->peer) : 0;
	r->local = s->local.family ? addr_of(p, &s->local) : 0;
	r->site = site_of(p, c->img, sl_conn_stack(s));
	span(p, r->t_open, r->t_end);
}

static void add_calls(struct sl_pictures *p, const struct sl_ctx *x)
{
	const struct sl_image *img = x->img;
	for (uint32_t i = 0; i < img->nevents; i++) {
		const struct sl_event *ev = &img->events[i];
		int failed = (ev->type == SL_EV_ERROR || ev->type == SL_EV_CONNECT || ev->type == SL_EV_DNS) && ev->err;
		if (!failed && ev->type != SL_EV_SLOW)
			continue;
		if (ev->type == SL_EV_CONNECT && ev->err == EINPROGRESS)
			continue;
		p->calls_seen++;
		if (p->ncalls >= TRACE_CALLS)
			continue;
		p->calls = grow(p->calls, &p->capcalls, p->ncalls + 1, sizeof *p->calls);
		struct call *k = &p->calls[p->ncalls++];
		k->pid = x->proc->pid;
		k->tid = (int)ev->tid;
		k->call = ev->call;
		k->type = ev->type;
		k->err = failed ? ev->err : 0;
		k->ts = ev->ts_ns;
		k->dur = ev->dur_ns;
		k->site = site_of(p, img, ev->stack);
		k->peer = 0;
		if (ev->type == SL_EV_DNS) {
			char name[sizeof ev->addr.data + 1];
			memcpy(name, ev->addr.data, sizeof ev->addr.data);
			name[sizeof ev->addr.data] = 0;
			k->peer = intern(&p->str, name);
		} else if (ev->addr.family) {
			k->peer = addr_of(p, &ev->addr);
		}
		span(p, ev->ts_ns, ev->ts_ns + ev->dur_ns);
	}
}

/* The latency histograms the recorder kept per call site (connect, getaddrinfo). */
static void add_hists(struct sl_pictures *p, const struct sl_ctx *x)
{
	const struct sl_image *img = x->img;
	for (uint32_t k = 0; k < img->nstacks; k++) {
		const struct sl_stack *st = &img->stacks[k];
		uint64_t n = 0;
		for (unsigned b = 0; b < SL_LAT_BUCKETS; b++)
			n += st->lat[b];
		if (!st->lat_call || !n)
			continue;
		uint32_t site = site_of(p, img, sl_image_stack_id(img, k));
		struct site_hist *h = NULL;
		for (size_t i = 0; i < p->nhists && !h; i++)
			if (p->hists[i].site == site && p->hists[i].call == st->lat_call)
				h = &p->hists[i];
		if (!h) {
			p->hists = grow(p->hists, &p->caphists, p->nhists + 1, sizeof *p->hists);
			h = &p->hists[p->nhists++];
			memset(h, 0, sizeof *h);
			h->site = site;
			h->call = (uint16_t)st->lat_call;
		}
		h->hits += st->hits;
		h->fails += st->fails;
		if (st->max_ns > h->max_ns)
			h->max_ns = st->max_ns;
		for (unsigned b = 0; b < SL_LAT_BUCKETS; b++)
			h->lat[b] += st->lat[b];
	}
}

void sl_pictures_image(struct sl_pictures *p, const struct sl_ctx *x)
{
	free(p->stack_site); /* stack ids are the image's own */
	p->stack_site = NULL;
	p->nstack_site = (size_t)-1;
	for (size_t i = 0; i < x->nconns; i++)
		add_row(p, x, &x->conns[i]);
	add_calls(p, x);
	add_hists(p, x);
	const struct sl_log_header *h = &x->img->h;
	span(p, h->start_mono_ns, h->end_mono_ns);
}

/* ---- shared by both pictures ---- */

static double ms_since(const struct sl_pictures *p, uint64_t t)
{
	return t > p->t0 ? (double)(t - p->t0) / 1e6 : 0.0;
}

static const char *str_at(const struct sl_pictures *p, uint32_t i)
{
	return i && i <= p->str.n ? p->str.v[i - 1] : "";
}

static const char *proc_label(const struct sl_run *run, int pid, char *out, size_t len)
{
	for (size_t i = 0; i < run->nprocs; i++)
		if (run->procs[i].pid == pid) {
			snprintf(out, len, "%s [%d]", sl_proc_name(&run->procs[i]) ? sl_proc_name(&run->procs[i]) : "?", pid);
			return out;
		}
	snprintf(out, len, "[%d]", pid);
	return out;
}

static unsigned lat_bucket(uint64_t ns)
{
	unsigned b = 0;
	for (uint64_t top = 128000; b < SL_LAT_BUCKETS - 1 && ns >= top; top *= 2)
		b++;
	return b;
}

/* ---- the page ---- */

/* Which rows the page draws: all when they fit, else those with a problem first, then clean ones
 * evenly; keep[i] set for each. Returns how many. */
static size_t choose_rows(const struct sl_pictures *p, unsigned char *keep)
{
	if (p->nrows <= PAGE_CONNS) {
		memset(keep, 1, p->nrows);
		return p->nrows;
	}
	size_t n = 0, plain = 0;
	for (size_t i = 0; i < p->nrows; i++) {
		int o = p->rows[i].outcome;
		if (o != O_CLEAN && o != O_OPEN && o != O_LISTENER && n < PAGE_CONNS / 2) {
			keep[i] = 1;
			n++;
		} else if (o == O_LISTENER) {
			keep[i] = 1;
			n++;
		} else {
			plain++;
		}
	}
	/* the rest evenly: the k-th is taken when k * room / plain passes the next whole number */
	size_t room = n < PAGE_CONNS ? PAGE_CONNS - n : 0, seen = 0, taken = 0;
	for (size_t i = 0; i < p->nrows && taken < room; i++) {
		if (keep[i])
			continue;
		seen++;
		if ((seen * room) / plain > taken) {
			keep[i] = 1;
			taken++;
		}
	}
	return n + taken;
}

static json_t *page_conns(const struct sl_pictures *p, size_t *shown)
{
	unsigned char *keep = calloc(p->nrows ? p->nrows : 1, 1);
	if (!keep)
		abort();
	*shown = choose_rows(p, keep);
	/* columns, not objects: a third of the size */
	json_t *pid = json_array(), *id = json_array(), *role = json_array(), *out = json_array(), *t = json_array(),
	       *est = json_array(), *cw = json_array(), *end = json_array(), *cms = json_array(), *bi = json_array(),
	       *bo = json_array(), *peer = json_array(), *local = json_array(), *site = json_array();
	for (size_t i = 0; i < p->nrows; i++) {
		if (!keep[i])
			continue;
		const struct row *r = &p->rows[i];
		json_array_append_new(pid, json_integer(r->pid));
		json_array_append_new(id, json_integer((json_int_t)r->conn_id));
		json_array_append_new(role, json_string(sl_role_name(r->role)));
		json_array_append_new(out, json_integer(r->outcome));
		json_array_append_new(t, json_real(ms_since(p, r->t_open)));
		json_array_append_new(est, r->t_est ? json_real(ms_since(p, r->t_est)) : json_null());
		json_array_append_new(cw, r->t_cw ? json_real(ms_since(p, r->t_cw)) : json_null());
		json_array_append_new(end, json_real(ms_since(p, r->t_end)));
		json_array_append_new(cms, json_real((double)r->connect_ns / 1e6));
		json_array_append_new(bi, json_integer((json_int_t)r->bytes_in));
		json_array_append_new(bo, json_integer((json_int_t)r->bytes_out));
		json_array_append_new(peer, json_integer(r->peer));
		json_array_append_new(local, json_integer(r->local));
		json_array_append_new(site, json_integer(r->site));
	}
	free(keep);
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "pid", pid, "conn_id", id,
			 "role", role, "outcome", out, "open_ms", t, "established_ms", est, "close_wait_ms", cw, "end_ms", end,
			 "connect_ms", cms, "bytes_in", bi, "bytes_out", bo, "peer", peer, "local", local, "site", site);
}

static json_t *page_calls(const struct sl_pictures *p)
{
	json_t *a = json_array();
	/* failures before slow calls when they do not all fit */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < p->ncalls && json_array_size(a) < PAGE_CALLS; i++) {
			const struct call *k = &p->calls[i];
			if ((pass == 0) != (k->err != 0))
				continue;
			json_array_append_new(a, json_pack("{s:i, s:i, s:s, s:o, s:f, s:f, s:i, s:i}", "pid", k->pid, "tid",
							   k->tid, "call", sl_call_name(k->call), "errno",
							   sl_str_or_null(k->err ? sl_errno_name(k->err) : NULL), "at_ms",
							   ms_since(p, k->ts), "took_ms", (double)k->dur / 1e6, "site", k->site,
							   "peer", k->peer));
		}
	return a;
}

/* Open connections over time by state, from every row: per bin, those open at any time in it. */
static json_t *page_series(const struct sl_pictures *p)
{
	enum { S_CONNECTING, S_ESTABLISHED, S_CLOSE_WAIT, S_OTHER, S__COUNT };
	static const char *const names[S__COUNT] = {"connecting", "established", "close-wait", "other"};
	long (*d)[S__COUNT] = calloc(SERIES_BINS + 1, sizeof *d);
	if (!d)
		abort();
	/* integer arithmetic: a damaged log's times stay in range (clamped to the last bin) */
	uint64_t width = p->t1 > p->t0 ? (p->t1 - p->t0) / SERIES_BINS + 1 : 1;
	for (size_t i = 0; i < p->nrows; i++) {
		const struct row *r = &p->rows[i];
		if (r->role == SL_ROLE_LISTENER)
			continue;
		uint64_t cut[4] = {r->t_open, r->t_est ? r->t_est : r->t_end, r->t_cw ? r->t_cw : r->t_end, r->t_end};
		int st[3] = {S_CONNECTING, S_ESTABLISHED, S_CLOSE_WAIT};
		if (!r->tcp || (r->role != SL_ROLE_CLIENT && r->role != SL_ROLE_SERVER && r->role != SL_ROLE_INHERITED))
			st[0] = st[1] = st[2] = S_OTHER;
		for (int k = 0; k < 3; k++) {
			/* a connection shorter than the clock's step counts once, as what it became */
			int instant = r->t_end == r->t_open && k == (r->t_est ? 1 : 0);
			if (cut[k + 1] <= cut[k] && !instant)
				continue;
			uint64_t a = cut[k] > p->t0 ? (cut[k] - p->t0) / width : 0;
			uint64_t b = cut[k + 1] > p->t0 ? (cut[k + 1] - p->t0) / width : 0;
			if (a >= SERIES_BINS)
				a = SERIES_BINS - 1;
			if (b >= SERIES_BINS)
				b = SERIES_BINS - 1;
			d[a][st[k]]++;
			d[b + 1][st[k]]--;
		}
	}
	json_t *o = json_object(), *series[S__COUNT];
	for (int k = 0; k < S__COUNT; k++)
		series[k] = json_array();
	long run[S__COUNT] = {0};
	for (size_t b = 0; b < SERIES_BINS; b++)
		for (int k = 0; k < S__COUNT; k++) {
			run[k] += d[b][k];
			json_array_append_new(series[k], json_integer(run[k]));
		}
	for (int k = 0; k < S__COUNT; k++)
		json_object_set_new(o, names[k], series[k]);
	free(d);
	json_object_set_new(o, "bin_ms", json_real((double)width / 1e6));
	return o;
}

static json_t *hist_json(const uint64_t *lat)
{
	json_t *a = json_array();
	for (unsigned b = 0; b < SL_LAT_BUCKETS; b++)
		json_array_append_new(a, json_integer((json_int_t)lat[b]));
	return a;
}

static json_t *page_hists(const struct sl_pictures *p)
{
	json_t *sites = json_array();
	for (size_t i = 0; i < p->nhists; i++) {
		const struct site_hist *h = &p->hists[i];
		json_array_append_new(sites, json_pack("{s:i, s:s, s:I, s:I, s:f, s:o}", "site", h->site, "call",
						       sl_call_name(h->call), "calls", (json_int_t)h->hits, "failed",
						       (json_int_t)h->fails, "max_ms", (double)h->max_ns / 1e6, "buckets",
						       hist_json(h->lat)));
	}
	/* per peer: the connect latencies of every client row, the busiest PEER_HISTS peers */
	struct peer_hist {
		uint32_t peer;
		uint64_t n, max_ns, lat[SL_LAT_BUCKETS];
	} *ph = NULL;
	size_t nph = 0, capph = 0;
	for (size_t i = 0; i < p->nrows; i++) {
		const struct row *r = &p->rows[i];
		if (r->role != SL_ROLE_CLIENT || !r->t_est || !r->peer)
			continue;
		size_t k = 0;
		while (k < nph && ph[k].peer != r->peer)
			k++;
		if (k == nph) {
			if (nph >= 4096)
				continue; /* the busiest are among the first thousands */
			ph = grow(ph, &capph, nph + 1, sizeof *ph);
			memset(&ph[nph], 0, sizeof *ph);
			ph[nph++].peer = r->peer;
		}
		ph[k].n++;
		ph[k].lat[lat_bucket(r->connect_ns)]++;
		if (r->connect_ns > ph[k].max_ns)
			ph[k].max_ns = r->connect_ns;
	}
	json_t *peers = json_array();
	for (unsigned shown = 0; shown < PEER_HISTS; shown++) {
		size_t best = nph;
		for (size_t k = 0; k < nph; k++)
			if (ph[k].n && (best == nph || ph[k].n > ph[best].n))
				best = k;
		if (best == nph)
			break;
		json_array_append_new(peers, json_pack("{s:s, s:I, s:f, s:o}", "peer", str_at(p, ph[best].peer), "connects",
						       (json_int_t)ph[best].n, "max_ms", (double)ph[best].max_ns / 1e6,
						       "buckets", hist_json(ph[best].lat)));
		ph[best].n = 0;
	}
	free(ph);
	json_t *bounds = json_array(); /* each bucket's upper bound in ms; the last is open */
	for (unsigned b = 0; b < SL_LAT_BUCKETS; b++)
		json_array_append_new(bounds, json_real(0.128 * (double)(1u << b)));
	return json_pack("{s:o, s:o, s:o}", "bucket_upper_ms", bounds, "sites", sites, "peers", peers);
}

static json_t *page_procs(const struct sl_run *run)
{
	json_t *a = json_array();
	for (size_t i = 0; i < run->nprocs; i++) {
		const struct sl_proc *pr = &run->procs[i];
		char st[96];
		sl_proc_status(pr, st, sizeof st);
		json_array_append_new(a, json_pack("{s:i, s:i, s:o, s:s, s:I, s:i}", "pid", pr->pid, "ppid", pr->ppid, "name",
						   sl_str_or_null(sl_proc_name(pr)), "status", st, "sockets",
						   (json_int_t)pr->sockets, "findings", (int)pr->findings));
	}
	return a;
}

static json_t *page_data(const struct sl_pictures *p, const struct sl_run *run, const struct sl_diags *ds)
{
	size_t shown = 0;
	json_t *conns = page_conns(p, &shown);
	json_t *strings = json_array();
	for (size_t i = 0; i < p->str.n; i++)
		json_array_append_new(strings, sl_str_or_null(p->str.v[i]));
	json_t *diags = json_array();
	for (size_t i = 0; i < ds->n; i++)
		json_array_append_new(diags, sl_diag_json(&ds->v[i]));
	json_t *outcomes = json_array();
	for (int i = 0; i < O__COUNT; i++)
		json_array_append_new(outcomes, json_string(outcome_names[i]));
	char now[40], why[256];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sl_wall_format((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, now, sizeof now);
	enum sl_checked checked = sl_run_checked(run, why, sizeof why);
	json_t *o = json_object();
	json_object_set_new(o, "socklens_version", json_string(SL_VERSION));
	json_object_set_new(o, "generated", json_string(now));
	json_object_set_new(o, "run_dir", sl_str_or_null(run->dir));
	json_object_set_new(o, "checked", json_string(checked == SL_CHECKED_ALL ? "all" : checked == SL_CHECKED_PART ? "part" : "none"));
	json_object_set_new(o, "missed", sl_str_or_null(why));
	json_object_set_new(o, "span_ms", json_real(ms_since(p, p->t1)));
	json_object_set_new(o, "sockets_total", json_integer((json_int_t)run->sockets));
	json_object_set_new(o, "connections_kept", json_integer((json_int_t)p->nrows));
	json_object_set_new(o, "connections_drawn", json_integer((json_int_t)shown));
	json_object_set_new(o, "calls_seen", json_integer((json_int_t)p->calls_seen));
	json_object_set_new(o, "outcomes", outcomes);
	json_object_set_new(o, "processes", page_procs(run));
	json_object_set_new(o, "diagnostics", diags);
	json_object_set_new(o, "strings", strings);
	json_object_set_new(o, "site_frames", json_incref(p->site_frames));
	json_object_set_new(o, "connections", conns);
	json_object_set_new(o, "calls", page_calls(p));
	json_object_set_new(o, "series", page_series(p));
	json_object_set_new(o, "histograms", page_hists(p));
	return o;
}

/* the page, built in from analyzer/report/page.html; its marker line is replaced by the data */
extern const char sl_page_html[];
__asm__(".pushsection .rodata\n"
	".global sl_page_html\n"
	"sl_page_html:\n"
	".incbin \"analyzer/report/page.html\"\n"
	".byte 0\n"
	".popsection\n");
#define PAGE_MARK "<!-- socklens data -->"

int sl_pictures_html(const struct sl_pictures *p, FILE *f, const struct sl_run *run, const struct sl_diags *ds)
{
	const char *mark = strstr(sl_page_html, PAGE_MARK);
	json_t *data = page_data(p, run, ds);
	fwrite(sl_page_html, 1, (size_t)(mark - sl_page_html), f);
	fputs("<script id=\"socklens-data\" type=\"application/json\">", f);
	/* '/' escaped: no "</script>" can end the element early, whatever a name or a path holds */
	json_dumpf(data, f, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_PRESERVE_ORDER | TIME_REALS);
	fputs("</script>", f);
	fputs(mark + strlen(PAGE_MARK), f);
	json_decref(data);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* ---- the trace (Chrome Trace Event format, as Perfetto and chrome://tracing read it) ---- */

#define LANE_TID 1000000000 /* connection lanes' thread ids: above any real one (pid_max is 2^22) */

static void emit_event(FILE *f, int *first, json_t *e)
{
	fputs(*first ? "\n" : ",\n", f);
	*first = 0;
	json_dumpf(e, f, JSON_COMPACT | JSON_PRESERVE_ORDER | TIME_REALS);
	json_decref(e);
}

static int cmp_open(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->t_open < y->t_open ? -1 : x->t_open > y->t_open;
}

static double us_since(const struct sl_pictures *p, uint64_t t)
{
	return t > p->t0 ? (double)(t - p->t0) / 1e3 : 0.0;
}

int sl_pictures_trace(const struct sl_pictures *p, FILE *f, const struct sl_run *run)
{
	int first = 1;
	fprintf(f, "{\"displayTimeUnit\": \"ms\", \"otherData\": {\"socklens_version\": \"%s\", \"connections\": %zu, "
		   "\"calls_seen\": %llu, \"calls_kept\": %zu},\n\"traceEvents\": [",
		SL_VERSION, p->nrows, (unsigned long long)p->calls_seen, p->ncalls);
	char label[128];
	for (size_t i = 0; i < run->nprocs; i++)
		emit_event(f, &first, json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name", "process_name", "ph", "M", "pid",
						 run->procs[i].pid, "tid", 0, "args", "name",
						 proc_label(run, run->procs[i].pid, label, sizeof label)));
	/* connections on lanes per process: a lane is free once its last connection ended, so slices
	 * on one lane never overlap (the format nests slices of one thread) */
	const struct row **by = malloc((p->nrows ? p->nrows : 1) * sizeof *by);
	uint64_t *lane_end = NULL;
	size_t caplanes = 0;
	if (!by)
		abort();
	for (size_t i = 0; i < p->nrows; i++)
		by[i] = &p->rows[i];
	qsort(by, p->nrows, sizeof *by, cmp_open);
	size_t nlanes = 0;
	for (size_t i = 0; i < p->nrows; i++) {
		const struct row *r = by[i];
		if (i == 0 || by[i - 1]->pid != r->pid)
			nlanes = 0;
		size_t lane = 0;
		while (lane < nlanes && lane_end[lane] > r->t_open)
			lane++;
		if (lane == nlanes) {
			lane_end = grow(lane_end, &caplanes, nlanes + 1, sizeof *lane_end);
			nlanes++;
			snprintf(label, sizeof label, "connections %zu", lane + 1);
			emit_event(f, &first, json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name", "thread_name", "ph", "M",
							 "pid", r->pid, "tid", LANE_TID + (int)lane, "args", "name", label));
		}
		/* a slice of zero length still shows, at a microsecond */
		lane_end[lane] = r->t_end > r->t_open ? r->t_end : r->t_open + 1000;
		const char *peer = str_at(p, r->peer);
		char name[200];
		snprintf(name, sizeof name, "%s%s%s", sl_role_name(r->role), peer[0] ? " " : "", peer);
		json_t *args = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:s}", "conn_id", (json_int_t)r->conn_id, "outcome",
					 outcome_names[r->outcome], "local", str_at(p, r->local), "peer", peer, "bytes_sent",
					 (json_int_t)r->bytes_out, "bytes_received", (json_int_t)r->bytes_in, "stack",
					 str_at(p, r->site));
		if (r->connect_ns)
			json_object_set_new(args, "connect_ms", json_real((double)r->connect_ns / 1e6));
		double dur = r->t_end > r->t_open ? (double)(r->t_end - r->t_open) / 1e3 : 1.0;
		emit_event(f, &first, json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:o}", "name", name, "cat", "connection",
						 "ph", "X", "ts", us_since(p, r->t_open), "dur", dur, "pid", r->pid, "tid",
						 LANE_TID + (int)lane, "args", args));
	}
	free(by);
	free(lane_end);
	/* failed and slow calls on the thread that made them */
	for (size_t i = 0; i < p->ncalls; i++) {
		const struct call *k = &p->calls[i];
		char name[96];
		snprintf(name, sizeof name, "%s%s%s", sl_call_name(k->call), k->err ? " " : " slow",
			 k->err ? sl_errno_name(k->err) ? sl_errno_name(k->err) : "error" : "");
		json_t *args = json_pack("{s:s, s:s}", "peer", str_at(p, k->peer), "stack", str_at(p, k->site));
		if (k->err)
			json_object_set_new(args, "errno", json_string(sl_errno_name(k->err) ? sl_errno_name(k->err) : "?"));
		json_object_set_new(args, "took_ms", json_real((double)k->dur / 1e6));
		if (k->dur >= 1000) /* a slice when it lasted, else an instant */
			emit_event(f, &first, json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:o}", "name", name, "cat",
							 k->err ? "error" : "slow", "ph", "X", "ts", us_since(p, k->ts), "dur",
							 (double)k->dur / 1e3, "pid", k->pid, "tid", k->tid, "args", args));
		else
			emit_event(f, &first, json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:i, s:o}", "name", name, "cat",
							 "error", "ph", "i", "s", "t", "ts", us_since(p, k->ts), "pid", k->pid,
							 "tid", k->tid, "args", args));
	}
	fputs("\n]}\n", f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
