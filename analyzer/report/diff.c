/* diff.c - `socklens diff`: two runs' JSON reports compared, findings and numbers, with a test of
 * whether each change is beyond noise.
 *
 * Findings match across rebuilds by kind and call site, the site being the first program frame's
 * function and file name (not its line, not an address: a rebuild moves both). Connections are
 * grouped by role, peer host (a client's) or local host (a server's) and the program's call site,
 * and per group the samples each connection gives (connect and reply latency, bytes, time blocked)
 * are compared with the Mann-Whitney U test, as benchstat compares benchmark samples. Counts
 * (connections, errors, retransmissions) are compared as the split of their total between the runs,
 * which an unchanged program would make even (a binomial test): so the same workload must run both
 * times. A change is "significant" when it is both unlikely under noise (p < 0.01, with at least 5
 * samples a side) and large enough to matter (the median, or the count, moves by 10% or more; a
 * connect's time by half a millisecond or more, the times the coarse clock measures, in 4 ms ticks,
 * by two ticks, with a median of 20 ms on one side at least): a diff makes dozens of tests, and a
 * run of an unchanged program must come out with none. */
#define _GNU_SOURCE
#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"

#define ALPHA 0.01
#define MIN_SAMPLES 5
#define MIN_CHANGE 0.10
#define MIN_MS 0.5      /* a connect's time: the precise clock */
#define MIN_COARSE_MS 8 /* the others come from the coarse clock (4 ms ticks): two of them, */
#define COARSE_FLOOR_MS 20 /* and a median of five ticks at least on one side (below, ticks are noise) */

/* ---- statistics ---- */

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct sample {
	double *v;
	size_t n, cap;
};

static void push(struct sample *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = x;
}

/* The q-quantile of sorted values (nearest rank). */
static double quantile(const double *v, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);
	return n ? v[i ? i - 1 : 0] : 0;
}

/* Two-sided p-value of the Mann-Whitney U test (normal approximation with tie correction and
 * continuity); 1 when a side has no samples. a and b are sorted. */
static double mann_whitney(const double *a, size_t na, const double *b, size_t nb)
{
	if (!na || !nb)
		return 1;
	size_t n = na + nb, i = 0, j = 0, k = 0;
	double r1 = 0, ties = 0;
	/* ranks of the merged sequence, ties averaged */
	while (k < n) {
		double x = i < na && (j >= nb || a[i] <= b[j]) ? a[i] : b[j];
		size_t ca = 0, cb = 0;
		while (i < na && a[i] == x)
			i++, ca++;
		while (j < nb && b[j] == x)
			j++, cb++;
		double t = (double)(ca + cb), rank = (double)k + (t + 1) / 2;
		r1 += rank * (double)ca;
		ties += t * t * t - t;
		k += ca + cb;
	}
	double u = r1 - (double)na * ((double)na + 1) / 2, mean = (double)na * (double)nb / 2;
	double var = (double)na * (double)nb / 12 * (((double)n + 1) - ties / ((double)n * ((double)n - 1)));
	if (var <= 0)
		return 1; /* all equal */
	double z = (fabs(u - mean) - 0.5) / sqrt(var);
	return z <= 0 ? 1 : erfc(z / sqrt(2));
}

/* Two-sided p-value that a total of x + y events split x : y between two equal runs: exact below
 * 1000 events, normal approximation above. */
static double binomial(uint64_t x, uint64_t y)
{
	uint64_t n = x + y, k = x < y ? x : y;
	if (!n)
		return 1;
	if (n > 1000) {
		double z = (fabs((double)x - (double)n / 2) - 0.5) / sqrt((double)n / 4);
		return z <= 0 ? 1 : erfc(z / sqrt(2));
	}
	double p = 0;
	for (uint64_t i = 0; i <= k; i++)
		p += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * log(2));
	p *= 2;
	return p > 1 ? 1 : p;
}

/* ---- reading the reports ---- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static const char *base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* "fetch (client.py)": a site that survives a rebuild. */
static void site_of(const json_t *frame, char *out, size_t len)
{
	const char *fn = str(frame, "function"), *file = str(frame, "file");
	if (!frame || !fn[0])
		snprintf(out, len, "%s", frame && str(frame, "module")[0] ? str(frame, "module") : "(no stack)");
	else if (file[0])
		snprintf(out, len, "%s (%s)", fn, base(file));
	else
		snprintf(out, len, "%s", fn);
}

static const char *const sev_names[] = {"info", "warning", "error"};

static int severity(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, sev_names[i]))
			return i;
	return -1;
}

/* ---- findings ---- */

struct finding {
	char key[600], kind[48], site[512];
	int sev;
	uint64_t before, after;
};

static void count_findings(const json_t *report, struct finding **v, size_t *n, int after)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(report, "diagnostics"), i, d) {
		char site[512], key[600];
		site_of(json_array_get(json_object_get(d, "stack"), 0), site, sizeof site);
		snprintf(key, sizeof key, "%s|%s", str(d, "kind"), site);
		size_t k = 0;
		while (k < *n && strcmp((*v)[k].key, key))
			k++;
		if (k == *n) {
			*v = realloc(*v, (*n + 1) * sizeof **v);
			memset(&(*v)[k], 0, sizeof **v);
			snprintf((*v)[k].key, sizeof (*v)[k].key, "%s", key);
			snprintf((*v)[k].kind, sizeof (*v)[k].kind, "%s", str(d, "kind"));
			snprintf((*v)[k].site, sizeof (*v)[k].site, "%s", site);
			(*n)++;
		}
		int sev = severity(str(d, "severity"));
		if (sev > (*v)[k].sev)
			(*v)[k].sev = sev;
		uint64_t c = (uint64_t)json_integer_value(json_object_get(d, "count"));
		*(after ? &(*v)[k].after : &(*v)[k].before) += c ? c : 1;
	}
}

/* New findings first, then those whose count changed, then the gone; the most severe first in each. */
static int rank(const struct finding *f)
{
	return !f->before ? 0 : !f->after ? 2 : f->before != f->after ? 1 : 3;
}

static int worst_first(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	if (rank(x) != rank(y))
		return rank(x) - rank(y);
	return y->sev - x->sev;
}

/* ---- connections, grouped ---- */

enum { M_CONNECT, M_REPLY, M_READ_WAIT, M_BLOCKED, M_SENT, M_RECEIVED, M_SAMPLES };
static const char *const sample_names[M_SAMPLES] = {"connect_ms", "reply_ms", "read_wait_ms", "blocked_ms",
						    "bytes_sent", "bytes_received"};
enum { C_CONNECTIONS, C_ERRORS, C_RETRANS, C_COUNTS };
static const char *const count_names[C_COUNTS] = {"connections", "errors", "retransmissions"};

struct group {
	char key[900], role[16], where[200], site[512];
	struct sample s[2][M_SAMPLES];
	uint64_t c[2][C_COUNTS];
	json_t *errnos[2];           /* errno -> count */
};

static struct group *group_for(struct group **v, size_t *n, const json_t *c)
{
	char site[512], key[900];
	const char *role = str(c, "role");
	/* a client's peer; a server's local address (its clients' ports change every run) */
	const char *addr = !strcmp(role, "server") || !strcmp(role, "listener") ? str(c, "local") : str(c, "peer");
	/* by host: a service's port may be another in the other run (a test's ephemeral one) */
	char where[160];
	sl_peer_host(addr, where, sizeof where);
	site_of(json_object_get(c, "site"), site, sizeof site);
	snprintf(key, sizeof key, "%s|%s|%s", role, where, site);
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].key, key))
			return &(*v)[i];
	*v = realloc(*v, (*n + 1) * sizeof **v);
	struct group *g = &(*v)[(*n)++];
	memset(g, 0, sizeof *g);
	snprintf(g->key, sizeof g->key, "%s", key);
	snprintf(g->role, sizeof g->role, "%s", role);
	snprintf(g->where, sizeof g->where, "%s", where[0] ? where : "(unnamed)");
	snprintf(g->site, sizeof g->site, "%s", site);
	g->errnos[0] = json_object();
	g->errnos[1] = json_object();
	return g;
}

/* The whole run: from the first connection opened to the last opened or closed (a connection
 * open at the end has no end time in the report), the connections and write calls in it. */
struct totals {
	double t0, t1;
	uint64_t connections, writes;
};

/* Seconds of an RFC 3339 time the report writes (2026-12-04T19:09:46.150Z); -1 if not one. */
static double wall_s(const char *t)
{
	struct tm tm = {0};
	int ms = 0;
	const char *end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.')
		ms = atoi(end + 1);
	return (double)timegm(&tm) + ms / 1000.0;
}

static void span(struct totals *t, double at)
{
	if (at < 0)
		return;
	if (t->t0 <= 0 || at < t->t0)
		t->t0 = at;
	if (at > t->t1)
		t->t1 = at;
}

static void add_connections(const json_t *report, struct group **v, size_t *n, int side, struct totals *t)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(report, "connections"), i, c) {
		const char *type = str(c, "type"), *role = str(c, "role");
		if (strncmp(type, "tcp", 3) || !strcmp(role, "listener") || !strcmp(role, "pair"))
			continue;
		struct group *g = group_for(v, n, c);
		t->connections++;
		t->writes += (uint64_t)json_integer_value(json_object_get(c, "calls_sent"));
		span(t, wall_s(str(c, "opened")));
		span(t, wall_s(str(c, "closed")));
		const json_t *conn = json_object_get(c, "connect"), *ti = json_object_get(c, "tcp_info");
		g->c[side][C_CONNECTIONS]++;
		if (json_is_number(json_object_get(conn, "latency_ms")))
			push(&g->s[side][M_CONNECT], num(conn, "latency_ms"));
		if (json_is_number(json_object_get(c, "reply_ms")))
			push(&g->s[side][M_REPLY], num(c, "reply_ms"));
		if (json_is_number(json_object_get(c, "read_wait_ms")) && !strcmp(role, "client"))
			push(&g->s[side][M_READ_WAIT], num(c, "read_wait_ms")); /* a server's is its clients' pauses */
		if (!strcmp(role, "client")) /* a server's blocked time is its clients' pace */
			push(&g->s[side][M_BLOCKED], num(c, "blocked_ms"));
		push(&g->s[side][M_SENT], (double)json_integer_value(json_object_get(c, "bytes_sent")));
		push(&g->s[side][M_RECEIVED], (double)json_integer_value(json_object_get(c, "bytes_received")));
		g->c[side][C_RETRANS] += (uint64_t)json_integer_value(json_object_get(ti, "retransmits"));
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(c, "errors"), k, e) {
			uint64_t cnt = (uint64_t)json_integer_value(json_object_get(e, "count"));
			const char *name = str(e, "errno");
			g->c[side][C_ERRORS] += cnt;
			json_int_t had = json_integer_value(json_object_get(g->errnos[side], name));
			json_object_set_new(g->errnos[side], name[0] ? name : "?", json_integer(had + (json_int_t)cnt));
		}
	}
}

static json_t *summary(struct sample *s)
{
	if (s->n) /* v is NULL when no connection gave a sample */
		qsort(s->v, s->n, sizeof *s->v, dcmp);
	return json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)s->n, "p50", quantile(s->v, s->n, 0.5), "p90",
			 quantile(s->v, s->n, 0.9), "p99", quantile(s->v, s->n, 0.99));
}

static double pct(double before, double after)
{
	return before ? (after - before) / before * 100 : after ? INFINITY : 0;
}

static json_t *group_json(struct group *g)
{
	json_t *ms = json_array();
	for (int c = 0; c < C_COUNTS; c++) {
		uint64_t a = g->c[0][c], b = g->c[1][c];
		if (!a && !b)
			continue;
		double p = binomial(a, b), change = pct((double)a, (double)b);
		json_array_append_new(ms, json_pack("{s:s, s:I, s:I, s:f, s:f, s:b}", "name", count_names[c], "before",
						    (json_int_t)a, "after", (json_int_t)b, "change_pct",
						    isinf(change) ? 1e9 : change, "p", p,
						    "significant", p < ALPHA && fabs(change) >= MIN_CHANGE * 100));
	}
	for (int m = 0; m < M_SAMPLES; m++) {
		struct sample *a = &g->s[0][m], *b = &g->s[1][m];
		if (!a->n && !b->n)
			continue;
		json_t *sa = summary(a), *sb = summary(b);
		double p = mann_whitney(a->v, a->n, b->v, b->n);
		double ma = quantile(a->v, a->n, 0.5), mb = quantile(b->v, b->n, 0.5), change = pct(ma, mb);
		int coarse = m == M_REPLY || m == M_READ_WAIT || m == M_BLOCKED;
		double least = m == M_CONNECT ? MIN_MS : coarse ? MIN_COARSE_MS : 0;
		int enough = a->n >= MIN_SAMPLES && b->n >= MIN_SAMPLES && fabs(change) >= MIN_CHANGE * 100 &&
			     fabs(mb - ma) >= least && (!coarse || fmax(ma, mb) >= COARSE_FLOOR_MS);
		json_array_append_new(ms, json_pack("{s:s, s:o, s:o, s:f, s:f, s:b}", "name", sample_names[m], "before", sa,
						    "after", sb, "change_pct", isinf(change) ? 1e9 : change, "p", p,
						    "significant", enough && p < ALPHA));
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "role", g->role, "where", g->where, "site", g->site,
			      "metrics", ms, "errors_before", g->errnos[0], "errors_after", g->errnos[1]);
	g->errnos[0] = g->errnos[1] = NULL;
	return o;
}

/* Throughput: connections and write calls a second over the run's span. Not tested: each run
 * gives one span, and with the same workload both times the counts are fixed, so the only noise is
 * the span's, of which one run a side says nothing (a test that took the counts for Poisson events
 * would call an unchanged program's jitter significant). Shown as measured, marked untested. */
static json_t *run_json(const struct totals *t)
{
	double d[2], one_ms = 0.001;
	for (int i = 0; i < 2; i++)
		d[i] = t[i].t1 - t[i].t0 > one_ms ? t[i].t1 - t[i].t0 : one_ms; /* the report's times are in ms */
	json_t *ms = json_array();
	json_array_append_new(ms, json_pack("{s:s, s:f, s:f, s:f, s:b}", "name", "span_s", "before", d[0], "after", d[1],
					    "change_pct", pct(d[0], d[1]), "tested", 0));
	for (int k = 0; k < 2; k++) {
		uint64_t a = k ? t[0].writes : t[0].connections, b = k ? t[1].writes : t[1].connections;
		if (!a && !b)
			continue;
		double ra = (double)a / d[0], rb = (double)b / d[1], change = pct(ra, rb);
		json_array_append_new(ms, json_pack("{s:s, s:f, s:f, s:f, s:b}", "name",
						    k ? "writes_per_s" : "connections_per_s", "before", ra, "after", rb,
						    "change_pct", isinf(change) ? 1e9 : change, "tested", 0));
	}
	return json_pack("{s:o}", "metrics", ms);
}

/* ---- comparing ---- */

static const char *program(const json_t *report)
{
	json_t *p = json_array_get(json_object_get(report, "processes"), 0);
	return p ? base(str(p, "exe")) : "";
}

int sl_diff_comparable(const json_t *r, char *err, size_t len)
{
	if (!json_is_object(r) || !json_is_array(json_object_get(r, "diagnostics")) ||
	    !json_is_array(json_object_get(r, "processes"))) {
		snprintf(err, len, "not a socklens JSON report");
		return -1;
	}
	if (!json_is_array(json_object_get(r, "connections"))) {
		snprintf(err, len, "a report without its connections (socklens watch writes those): use the run's "
			 "directory, or a report of socklens run --json or socklens report --json");
		return -1;
	}
	return 0;
}

json_t *sl_diff(const json_t *before, const json_t *after, const struct sl_diff_gates *gates, int *failed, char *err,
		size_t errlen)
{
	*failed = 0;
	if (!gates->force && strcmp(program(before), program(after))) {
		snprintf(err, errlen, "the runs are of different programs (%s and %s); --force compares them anyway",
			 program(before), program(after));
		return NULL;
	}
	struct finding *fv = NULL;
	size_t fn = 0;
	count_findings(before, &fv, &fn, 0);
	count_findings(after, &fv, &fn, 1);
	if (fn)
		qsort(fv, fn, sizeof *fv, worst_first);
	json_t *findings = json_array(), *gate = json_array();
	for (size_t i = 0; i < fn; i++) {
		const struct finding *f = &fv[i];
		const char *change = !f->before ? "new" : !f->after ? "gone" : f->before != f->after ? "changed" : "same";
		json_array_append_new(findings, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "change", change, "kind", f->kind,
							  "severity", sev_names[f->sev < 0 ? 0 : f->sev], "site", f->site,
							  "before", (json_int_t)f->before, "after", (json_int_t)f->after));
		if (gates->new_severity >= 0 && !f->before && f->sev >= gates->new_severity) {
			char why[800];
			snprintf(why, sizeof why, "new %s %s at %s", sev_names[f->sev], f->kind, f->site);
			json_array_append_new(gate, json_string(why));
		}
	}
	free(fv);
	struct group *gv = NULL;
	size_t gn = 0;
	struct totals tot[2] = {{0}};
	add_connections(before, &gv, &gn, 0, &tot[0]);
	add_connections(after, &gv, &gn, 1, &tot[1]);
	json_t *groups = json_array();
	for (size_t i = 0; i < gn; i++) {
		struct group *g = &gv[i];
		json_t *gj = group_json(g);
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(gj, "metrics"), k, m) {
			const char *name = str(m, "name");
			int sig = json_is_true(json_object_get(m, "significant"));
			double change = num(m, "change_pct");
			char why[800];
			if (gates->latency_pct >= 0 && sig && change > gates->latency_pct &&
			    (!strcmp(name, "reply_ms") || !strcmp(name, "connect_ms") || !strcmp(name, "read_wait_ms"))) {
				snprintf(why, sizeof why, "%s to %s at %s: median +%.0f%% (p=%.3g)", name, g->where, g->site, change,
					 num(m, "p"));
				json_array_append_new(gate, json_string(why));
			}
			if (gates->errors >= 0 && !strcmp(name, "errors") &&
			    num(m, "after") - num(m, "before") > (double)gates->errors) {
				snprintf(why, sizeof why, "errors with %s at %s: %.0f -> %.0f", g->where, g->site, num(m, "before"),
					 num(m, "after"));
				json_array_append_new(gate, json_string(why));
			}
		}
		json_array_append_new(groups, gj);
		for (int side = 0; side < 2; side++)
			for (int s = 0; s < M_SAMPLES; s++)
				free(g->s[side][s].v);
	}
	free(gv);
	*failed = json_array_size(gate) > 0;
	return json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:f}", "socklens_diff", SL_JSON_DIFF_VERSION,
			 "socklens_version", SL_VERSION, "before", program(before), "after", program(after),
			 "findings", findings, "run", run_json(tot), "groups", groups, "gates_failed", gate, "alpha", ALPHA);
}

/* ---- rendering ---- */

static void value(const json_t *v, const char *name, char *out, size_t len)
{
	if (json_is_object(v)) {
		if (!json_integer_value(json_object_get(v, "n")))
			snprintf(out, len, "-");
		else if (!strcmp(name, "bytes_sent") || !strcmp(name, "bytes_received"))
			snprintf(out, len, "%.0f", num(v, "p50"));
		else
			snprintf(out, len, "%.3g / %.3g / %.3g", num(v, "p50"), num(v, "p90"), num(v, "p99"));
	} else if (json_is_real(v) && json_real_value(v) < 100) {
		snprintf(out, len, "%.3g", json_real_value(v));
	} else {
		snprintf(out, len, "%.0f", json_number_value(v));
	}
}

static void verdict(const json_t *m, char *out, size_t len)
{
	double c = num(m, "change_pct"), p = num(m, "p");
	if (json_is_false(json_object_get(m, "tested")))
		snprintf(out, len, c >= 1e9 ? "(not tested)" : "%+.0f%% (not tested)", c);
	else if (json_is_true(json_object_get(m, "significant")))
		snprintf(out, len, c >= 1e9 ? "new (p=%.2g)" : "%+.0f%% (p=%.2g)", c >= 1e9 ? p : c, p);
	else
		snprintf(out, len, "~ (p=%.2g)", p);
}

static const char *metric_label(const char *name)
{
	return !strcmp(name, "connect_ms") ? "connect ms p50/p90/p99"
	       : !strcmp(name, "reply_ms") ? "reply ms p50/p90/p99"
	       : !strcmp(name, "read_wait_ms") ? "read wait ms p50/p90/p99"
	       : !strcmp(name, "blocked_ms") ? "blocked ms p50/p90/p99"
	       : !strcmp(name, "bytes_sent") ? "bytes sent (median)"
	       : !strcmp(name, "bytes_received") ? "bytes received (median)"
	       : !strcmp(name, "span_s") ? "span s (first to last)"
	       : !strcmp(name, "connections_per_s") ? "connections / s"
	       : !strcmp(name, "writes_per_s") ? "writes / s" : name;
}

static int changed(const json_t *g)
{
	size_t k;
	json_t *m;
	json_array_foreach(json_object_get(g, "metrics"), k, m)
		if (json_is_true(json_object_get(m, "significant")))
			return 1;
	return 0;
}

static void metrics_text(FILE *out, const json_t *metrics, const char *title, int markdown)
{
	size_t k;
	json_t *m;
	fprintf(out, markdown ? "%s\n\n| | before | after | change |\n|---|---|---|---|\n" : "%s\n", title);
	json_array_foreach(metrics, k, m) {
		char b[64], a[64], v[48];
		value(json_object_get(m, "before"), str(m, "name"), b, sizeof b);
		value(json_object_get(m, "after"), str(m, "name"), a, sizeof a);
		verdict(m, v, sizeof v);
		fprintf(out, markdown ? "| %s | %s | %s | %s |\n" : "  %-24s %22s  %22s  %s\n", metric_label(str(m, "name")), b,
			a, v);
	}
	fputc('\n', out);
}

void sl_diff_text(FILE *out, const json_t *d, int markdown)
{
	size_t i;
	json_t *f, *g;
	int nchanged = 0;
	fprintf(out, markdown ? "### socklens diff: %s, before and after\n\n" : "socklens diff: %s, before and after\n\n",
		sl_esc(str(d, "after")));
	if (markdown)
		fprintf(out, "| finding | site | before | after | |\n|---|---|---|---|---|\n");
	json_array_foreach(json_object_get(d, "findings"), i, f) {
		if (!strcmp(str(f, "change"), "same"))
			continue;
		nchanged++;
		if (markdown)
			fprintf(out, "| %s %s | %s | %lld | %lld | %s |\n", str(f, "severity"), str(f, "kind"),
				sl_esc(str(f, "site")), json_integer_value(json_object_get(f, "before")),
				json_integer_value(json_object_get(f, "after")), str(f, "change"));
		else
			fprintf(out, "  %-7s %-7s %-20s %s: %lld -> %lld\n", str(f, "change"), str(f, "severity"), str(f, "kind"),
				sl_esc(str(f, "site")), json_integer_value(json_object_get(f, "before")),
				json_integer_value(json_object_get(f, "after")));
	}
	if (!nchanged)
		fprintf(out, markdown ? "| no finding changed | | | | |\n" : "  findings: none new, none gone\n");
	fputc('\n', out);
	metrics_text(out, json_object_get(json_object_get(d, "run"), "metrics"), "the whole run", markdown);
	/* worst first: the groups with a significant change, then the others */
	for (int pass = 0; pass < 2; pass++)
		json_array_foreach(json_object_get(d, "groups"), i, g) {
			if (changed(g) != !pass)
				continue;
			char title[1024];
			snprintf(title, sizeof title, markdown ? "**%s %s**, at %s" : "%s %s, at %s", str(g, "role"),
				 sl_esc(str(g, "where")), sl_esc(str(g, "site")));
			metrics_text(out, json_object_get(g, "metrics"), title, markdown);
		}
	json_t *gates = json_object_get(d, "gates_failed");
	json_array_foreach(gates, i, g)
		fprintf(out, markdown ? "- **gate failed**: %s\n" : "gate failed: %s\n", sl_esc(json_string_value(g)));
	if (!markdown)
		fprintf(out, "(\"~\": within noise. Significant: p < %.2f with %d samples or more a side, and a change of "
			"%.0f%% or more: %.1f ms for a connect's time, %d ms for the others, around %d ms or more)\n", ALPHA,
			MIN_SAMPLES, MIN_CHANGE * 100, MIN_MS, MIN_COARSE_MS, COARSE_FLOOR_MS);
}
