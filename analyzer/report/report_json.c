/* report_json.c - the machine report (docs/json.md, docs/schema/report.schema.json), built with jansson. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "report/report.h"

struct sl_json_sink {
	FILE *f;
	int no_conns, no_stacks;
	size_t nconns;
	json_t *stacks;              /* the image's symbolized stacks, by id */
};

static json_t *stack_json(struct sl_json_sink *s, const struct sl_image *img, uint32_t id)
{
	char key[16];
	snprintf(key, sizeof key, "%u", id);
	json_t *a = json_object_get(s->stacks, key);
	if (a)
		return json_incref(a);
	struct sl_frame frames[SL_MAX_FRAMES];
	a = sl_frames_json(frames, sl_image_symbolize_stack(img, id, frames, SL_MAX_FRAMES));
	json_object_set(s->stacks, key, a);
	return a;
}

static json_t *argv_json(const struct sl_log_header *h)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < h->argv_len;) {
		size_t len = strnlen(h->argv + i, h->argv_len - i);
		json_array_append_new(a, sl_jstrn(h->argv + i, len));
		i += (uint32_t)len + 1;
	}
	return a;
}

static json_t *process_json(const struct sl_proc *p)
{
	const struct sl_log_header *h = &sl_proc_last(p)->h;
	uint64_t ev = 0, over = 0, slots = 0, stacks = 0, infl = 0, lost = 0;
	for (size_t k = 0; k < p->nimages; k++) {
		const struct sl_log_header *ih = &p->images[k].h;
		ev += ih->event_dropped;
		over += ih->event_overwritten;
		slots += ih->slot_dropped;
		stacks += ih->stack_dropped;
		infl += ih->inflight_dropped;
		lost += ih->keepers_recycled;
	}
	json_t *exit_status = json_null(), *sig = json_null();
	if (p->have_status && WIFEXITED(p->wstatus))
		exit_status = json_integer(WEXITSTATUS(p->wstatus));
	else if (p->have_status && WIFSIGNALED(p->wstatus))
		sig = json_integer(WTERMSIG(p->wstatus));
	else if (h->end_reason == SL_END_EXIT)
		exit_status = json_integer(h->exit_status & 0xff);
	char st[96];
	sl_proc_status(p, st, sizeof st);
	json_t *o = json_pack("{s:i, s:i, s:o, s:o, s:o, s:b, s:s, s:o, s:o, s:i, s:I, s:I}", "pid", p->pid, "ppid",
			      p->ppid, "name", sl_str_or_null(sl_proc_name(p)), "exe", sl_str_or_null(h->exe), "argv",
			      argv_json(h), "alive", p->alive, "status", st, "exit_status", exit_status, "signal", sig,
			      "images", (int)p->nimages, "sockets", (json_int_t)p->sockets, "findings",
			      (json_int_t)p->findings);
	json_object_set_new(o, "stacks", json_boolean((h->flags & SL_HDR_STACKS) != 0));
	json_object_set_new(o, "io_uring", json_boolean(sl_proc_uses_io_uring(p) == 2));
	json_object_set_new(o, "io_uring_files", json_boolean(sl_proc_uses_io_uring(p) == 1));
	json_object_set_new(o, "clock_resolution_ms", json_real((double)h->coarse_res_ns / 1e6));
	const char *rt, *why, *state = sl_lang_state(sl_proc_last(p), &rt, &why);
	json_object_set_new(o, "language_frames",
			    state ? json_pack("{s:s, s:s, s:o}", "runtime", rt, "state", state, "why", sl_str_or_null(why))
				  : json_null());
	json_object_set_new(o, "dropped", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "events", (json_int_t)ev,
						    "events_overwritten", (json_int_t)over, "slots", (json_int_t)slots,
						    "slots_with_findings_overwritten", (json_int_t)lost, "stacks",
						    (json_int_t)stacks, "threads", (json_int_t)infl));
	return o;
}

static json_t *options_json(const struct sl_slot *s)
{
	json_t *o = json_object();
	for (int i = 0; i < SL_OPT__COUNT; i++)
		if (s->opts_set & (1u << i))
			json_object_set_new(o, sl_opt_name(i), json_integer(s->opt[i]));
	return o;
}

static json_t *errors_json(const struct sl_slot *s)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < SL_ERRS; i++) {
		if (!s->err_no[i])
			continue;
		const char *n = sl_errno_name(s->err_no[i]);
		json_array_append_new(a, json_pack("{s:o, s:i, s:I}", "errno", sl_str_or_null(n), "code",
						   s->err_no[i], "count", (json_int_t)s->err_count[i]));
	}
	return a;
}

static json_t *connect_json(const struct sl_slot *s)
{
	static const char *const states[] = {"none", "pending", "connected", "failed"};
	if (s->connect_state == SL_CONN_NONE)
		return json_null();
	return json_pack("{s:s, s:o, s:f}", "state", s->connect_state < 4 ? states[s->connect_state] : "unknown",
			 "errno", sl_str_or_null(sl_errno_name(s->connect_errno)), "latency_ms",
			 (double)s->connect_ns / 1e6);
}

static json_t *tcp_json(const struct sl_slot *s)
{
	if (!(s->flags & SL_SF_TCPINFO))
		return json_null();
	return json_pack("{s:i, s:I, s:I, s:I}", "state", s->tcp_state, "rtt_us", (json_int_t)s->tcp_rtt_us,
			 "rttvar_us", (json_int_t)s->tcp_rttvar_us, "retransmits", (json_int_t)s->tcp_retrans);
}

static json_t *conn_json(struct sl_json_sink *sink, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	const struct sl_image *img = c->img;
	char local[160], peer[160], opened[40], closed[40];
	sl_addr_format(&s->local, local, sizeof local);
	sl_addr_format(&s->peer, peer, sizeof peer);
	sl_wall_time(&img->h, s->open_ns, opened, sizeof opened);
	sl_wall_time(&img->h, s->close_ns, closed, sizeof closed);
	json_t *o = json_pack("{s:i, s:i, s:I, s:s, s:s, s:o, s:o, s:s, s:o, s:b, s:b}", "pid", c->proc->pid,
			      "fd", s->fd, "conn_id", (json_int_t)s->conn_id, "type", sl_type_name(s->family, s->type),
			      "role", sl_role_name(s->role), "local", sl_str_or_null(local), "peer", sl_str_or_null(peer),
			      "opened", opened, "closed", s->state == SL_SLOT_CLOSED ? json_string(closed) : json_null(),
			      "open_at_end", c->open_at_end, "nonblocking", (s->flags & SL_SF_NONBLOCK) != 0);
	json_object_set_new(o, "from_parent", json_boolean((s->flags & SL_SF_FROM_PARENT) != 0));
	json_object_set_new(o, "bytes_sent", json_integer((json_int_t)s->bytes_out));
	json_object_set_new(o, "bytes_received", json_integer((json_int_t)s->bytes_in));
	json_object_set_new(o, "calls_sent", json_integer((json_int_t)s->calls_out));
	json_object_set_new(o, "calls_received", json_integer((json_int_t)s->calls_in));
	json_object_set_new(o, "blocked_ms",
			    json_real((double)(s->blocked_in_cns + s->blocked_out_cns) / 1e6));
	json_object_set_new(o, "max_read_ms", json_real((double)s->read_max_cns / 1e6));
	json_object_set_new(o, "max_write_ms", json_real((double)s->write_max_cns / 1e6));
	json_object_set_new(o, "reply_ms", s->role != SL_ROLE_LISTENER && s->reply_us ? json_real(s->reply_us / 1e3)
										     : json_null());
	/* how long a read waited, on average: a client's time waiting for answers */
	json_object_set_new(o, "read_wait_ms", s->calls_in && s->blocked_in_cns
						? json_real((double)s->blocked_in_cns / (double)s->calls_in / 1e6)
						: json_null());
	/* where the program made it: its first frame (the program's, past libraries' layers) */
	size_t nf;
	struct sl_frame *f = sl_stack_frames(img, sl_conn_stack(s), &nf);
	json_object_set_new(o, "site", nf ? json_pack("{s:o, s:o, s:o}", "function", sl_str_or_null(f[0].function), "file",
							 sl_str_or_null(f[0].file), "line",
							 f[0].line ? json_integer(f[0].line) : json_null())
					  : json_null());
	free(f);
	json_object_set_new(o, "options", options_json(s));
	json_object_set_new(o, "errors", errors_json(s));
	json_object_set_new(o, "connect", connect_json(s));
	json_object_set_new(o, "tcp_info", tcp_json(s));
	if (sink->no_stacks)
		return o;
	json_object_set_new(o, "open_stack", stack_json(sink, img, s->open_stack));
	json_object_set_new(o, "close_stack", stack_json(sink, img, s->close_stack));
	json_object_set_new(o, "first_error_stack", stack_json(sink, img, s->error_stack));
	return o;
}

static json_t *list_json(const struct sl_diag *d, int peers)
{
	json_t *a = json_array();
	unsigned n = peers ? d->npeers : d->npids;
	for (unsigned i = 0; i < n && i < SL_LIST_MAX; i++)
		json_array_append_new(a, peers ? json_string(d->peers[i]) : json_integer(d->pids[i]));
	return a;
}

json_t *sl_diag_json(const struct sl_diag *d)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:i, s:f, s:o}", "kind",
			      sl_kind_name(d->kind), "severity", sl_sev_name(d->sev), "summary", d->summary,
			      "advice", sl_diag_advice(d), "pid", d->proc ? d->proc->pid : 0, "fd",
			      d->fd >= 0 ? json_integer(d->fd) : json_null(), "peer",
			      sl_str_or_null(d->peer), "errno", sl_str_or_null(sl_errno_name(d->err)), "count",
			      (int)d->count, "worst_ms", (double)d->worst_ns / 1e6, "stack",
			      sl_frames_json(d->stack, d->nstack));
	json_object_set_new(o, "stack_label", sl_str_or_null(sl_diag_stack_label(d)));
	char when[40];
	sl_wall_format(d->wall_ns, when, sizeof when);
	json_object_set_new(o, "last_seen", json_string(when));
	const struct sl_kind_info *k = sl_kind(d->kind);
	if (d->nsite) {
		json_object_set_new(o, k->site_key ? k->site_key : "call_site", sl_frames_json(d->site, d->nsite));
		json_object_set_new(o, "site_label", json_string(sl_diag_site_label(d) ? sl_diag_site_label(d) : "call at"));
	}
	json_t *ev = json_object();
	for (unsigned i = 0; i < d->nevidence; i++) {
		double v = d->evidence[i].value;
		json_object_set_new(ev, d->evidence[i].name,
				    v == (double)(json_int_t)v ? json_integer((json_int_t)v) : json_real(v));
	}
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "pids", list_json(d, 0));
	json_object_set_new(o, "processes", json_integer(d->npids));
	json_object_set_new(o, "peers", list_json(d, 1));
	json_object_set_new(o, "distinct_peers", json_integer(d->npeers));
	json_object_set_new(o, "distinct_hosts", json_integer(d->nhosts));
	return o;
}

static const char *const untraced_names[SL_UNTRACED__COUNT] = {
	[SL_UNTRACED_ENV] = "environment", [SL_UNTRACED_SETUID] = "setuid", [SL_UNTRACED_STATIC] = "static",
	[SL_UNTRACED_BUDGET] = "budget", [SL_UNTRACED_CREATE] = "create_failed", [SL_UNTRACED_FSIZE] = "file_size_limit",
	[SL_UNTRACED_PTRACE] = "ptrace_refused", [SL_UNTRACED_USER] = "other_user",
	[SL_UNTRACED_NO_DIR] = "no_run_dir",
};

static json_t *injected_json(const struct sl_run *run)
{
	json_t *v = json_array();
	char desc[200];
	for (uint32_t i = 0; i < run->inject.count; i++) {
		const struct sl_inject_rule *r = &run->inject.rule[i];
		sl_inject_describe(r, &run->inject.site[i], desc, sizeof desc);
		json_array_append_new(v, json_pack("{s:I, s:s, s:s, s:I, s:I}", "rule", (json_int_t)i + 1, "fault",
						   sl_fault_name(r), "description", desc, "matched", (json_int_t)r->seen,
						   "injected", (json_int_t)r->done));
	}
	return v;
}

static json_t *run_json(const struct sl_run *run)
{
	if (!run->have_ctl)
		return json_null();
	json_t *u = json_object();
	for (int i = 1; i < SL_UNTRACED__COUNT; i++)
		if (untraced_names[i] && i >= SL_UNTRACED_BUDGET)
			json_object_set_new(u, untraced_names[i], json_integer((json_int_t)run->ctl.untraced[i]));
	return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:I}", "log_space_budget", (json_int_t)run->ctl.budget,
			 "log_space_used", (json_int_t)run->ctl.used, "processes_logged", (json_int_t)run->ctl.procs_logged,
			 "growth_refused", (json_int_t)run->ctl.grow_refused, "processes_unlogged", u, "logs_truncated",
			 (json_int_t)run->ctl.logs_lost, "processes_without_sockets",
			 (json_int_t)sl_run_unlogged(run, NULL), "injected", injected_json(run), "injected_unredirected",
			 (json_int_t)run->inject.unredirected);
}

/* How much of the run was looked at: "all", "part" or "none", and what was missed. */
static json_t *checked_json(const struct sl_run *run)
{
	static const char *const names[] = {[SL_CHECKED_ALL] = "all", [SL_CHECKED_PART] = "part", [SL_CHECKED_NONE] = "none"};
	char why[256];
	enum sl_checked c = sl_run_checked(run, why, sizeof why);
	return json_pack("{s:s, s:o, s:I}", "coverage", names[c], "missed", why[0] ? json_string(why) : json_null(),
			 "logs_unreadable", (json_int_t)run->bad_logs);
}

struct outbuf {
	char *p;
	size_t len, cap;
};

static int append(const char *buf, size_t n, void *data)
{
	struct outbuf *o = data;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p)
			return -1;
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buf, n);
	o->len += n;
	return 0;
}

/* One value, laid out in memory and written with one fwrite: json_dumpf writes each token with its
 * own fwrite (a lock each), which was most of the time of a report of 200,000 connections. */
static void emit(FILE *f, const char *lead, json_t *v, size_t flags)
{
	static struct outbuf o;
	o.len = 0;
	fputs(lead, f);
	if (json_dump_callback(v, append, &o, flags | JSON_PRESERVE_ORDER | SL_JSON_REALS) == 0)
		fwrite(o.p, 1, o.len, f);
	else
		json_dumpf(v, f, flags | JSON_PRESERVE_ORDER | SL_JSON_REALS);
	json_decref(v);
}

struct sl_json_sink *sl_json_open(FILE *f, int connections)
{
	struct sl_json_sink *s = calloc(1, sizeof *s);
	s->f = f;
	s->no_conns = connections == SL_JSON_NO_CONNS;
	s->no_stacks = connections == SL_JSON_CONNS_NO_STACKS;
	fprintf(f, "{\n\"socklens_report\": %d,\n\"socklens_version\": \"%s\",\n\"connections\": [", SL_JSON_REPORT_VERSION,
		SL_VERSION);
	return s;
}

void sl_json_image(struct sl_json_sink *s, const struct sl_ctx *c)
{
	if (s->no_conns)
		return;
	s->stacks = json_object();
	for (size_t i = 0; i < c->nconns; i++)
		emit(s->f, s->nconns++ ? ",\n" : "\n", conn_json(s, &c->conns[i]), JSON_COMPACT);
	json_decref(s->stacks);
	s->stacks = NULL;
}

int sl_json_finish(struct sl_json_sink *s, const struct sl_run *run, const struct sl_diags *ds,
		   const struct sl_audit *audit)
{
	FILE *f = s->f;
	struct timespec ts;
	char now[40];
	clock_gettime(CLOCK_REALTIME, &ts);
	sl_wall_format((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, now, sizeof now);
	fprintf(f, "\n],\n\"generated\": \"%s\",\n\"run_dir\": ", now);
	emit(f, "", sl_str_or_null(run->dir), JSON_ENCODE_ANY);
	fprintf(f, ",\n\"run\": ");
	emit(f, "", run_json(run), JSON_ENCODE_ANY | JSON_COMPACT);
	fprintf(f, ",\n\"checked\": ");
	emit(f, "", checked_json(run), JSON_COMPACT);
	fprintf(f, ",\n\"processes\": [");
	for (size_t i = 0; i < run->nprocs; i++)
		emit(f, i ? ",\n" : "\n", process_json(&run->procs[i]), JSON_COMPACT);
	fprintf(f, "\n],\n\"diagnostics\": [");
	for (size_t i = 0; i < ds->n; i++)
		emit(f, i ? ",\n" : "\n", sl_diag_json(&ds->v[i]), JSON_INDENT(2));
	fprintf(f, "\n]");
	if (audit) {
		fprintf(f, ",\n\"audit\": ");
		emit(f, "", sl_audit_json(audit), JSON_INDENT(2));
	}
	fprintf(f, "\n}\n");
	int r = fflush(f) == 0 && !ferror(f) ? 0 : -1;
	free(s);
	return r;
}
