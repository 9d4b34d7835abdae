/* report.c - load, analyze, render: the path shared by `socklens run` and `socklens report`. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "analyzer.h"

int sl_fail_on_parse(const char *list, uint64_t *mask)
{
	char *copy = strdup(list), *save = NULL;
	int ok = copy != NULL;
	*mask = 0;
	for (char *tok = strtok_r(copy, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
		int k = sl_kind_parse(tok);
		if (!strcmp(tok, "all"))
			*mask |= (1ull << SL_K__COUNT) - 1;
		else if (k >= 0)
			*mask |= 1ull << k;
		else {
			sl_error("unknown diagnostic kind '%s' in --fail-on", tok);
			ok = 0;
		}
	}
	free(copy);
	return ok && *mask ? 0 : -1;
}

int sl_color_parse(const char *arg, int *mode)
{
	static const char *const names[] = {"auto", "always", "never"};
	for (int i = 0; i < 3; i++) {
		if (!strcmp(arg, names[i])) {
			*mode = i;
			return 0;
		}
	}
	sl_error("bad --color '%s' (auto, always or never)", arg);
	return -1;
}

/* Processes that ran without a log for a reason that is a loss, not a choice (the untraceable
 * children an exec record names are findings of their own). */
static uint64_t unlogged(const struct sl_run *run)
{
	static const int lost[] = {SL_UNTRACED_BUDGET, SL_UNTRACED_CREATE, SL_UNTRACED_FSIZE, SL_UNTRACED_PTRACE,
				   SL_UNTRACED_USER};
	uint64_t n = 0;
	for (size_t i = 0; run->have_ctl && i < sizeof lost / sizeof lost[0]; i++)
		n += run->ctl.untraced[lost[i]];
	return n;
}

enum sl_checked sl_run_checked(const struct sl_run *run, char *why, size_t len)
{
	uint64_t lost = run->have_ctl ? run->ctl.logs_lost : 0, none = unlogged(run);
	int n = 0;
	why[0] = 0;
	if (run->bad_logs)
		n += snprintf(why + n, len - (size_t)n, "%zu log%s unreadable", run->bad_logs, run->bad_logs == 1 ? "" : "s");
	if (lost && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%llu log%s truncated while its process ran", n ? ", " : "",
			      (unsigned long long)lost, lost == 1 ? "" : "s");
	if (none && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%llu process%s without a log", n ? ", " : "",
			      (unsigned long long)none, none == 1 ? "" : "es");
	size_t ring = 0;
	for (size_t i = 0; i < run->nprocs; i++)
		ring += sl_proc_uses_io_uring(&run->procs[i]);
	if (ring && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%zu process%s io_uring, whose ring operations are not seen",
			      n ? ", " : "", ring, ring == 1 ? " uses" : "es use");
	for (size_t i = 0; i < run->nprocs && n < (int)len; i++)
		if (sl_proc_last(&run->procs[i])->h.flags & SL_HDR_RUN_LOST) {
			n += snprintf(why + n, len - (size_t)n, "%sthe run's control file was truncated: processes "
				      "that ran without a log were not counted", n ? ", " : "");
			break;
		}
	if (run->nprocs == 0) {
		if (run->main_untraced)
			snprintf(why, len, "the program cannot be traced: %s", run->main_untraced);
		else if (!n)
			snprintf(why, len, "no process left a log");
		return SL_CHECKED_NONE;
	}
	return n ? SL_CHECKED_PART : SL_CHECKED_ALL;
}

int sl_report_status(int r, const struct sl_output *o)
{
	if (r & SL_REPORT_FAIL_ON)
		return SL_EXIT_FAIL_ON;
	if ((r & SL_REPORT_UNCHECKED) && o->fail_mask)
		return SL_EXIT_NOT_CHECKED;
	return 0;
}

int sl_report_dir(const char *dir, const struct sl_output *o)
{
	struct sl_run run;
	struct sl_diags ds = {0};
	char err[512];
	if (sl_run_index(&run, dir, err, sizeof err) < 0) {
		sl_error("%s", err);
		sl_run_release(&run);
		return -1;
	}
	run.th = o->th;
	run.main_untraced = o->main_untraced;
	if (o->since_ns)
		ds.since_ns = run.now_ns > o->since_ns ? run.now_ns - o->since_ns : 1;
	if (run.nprocs == 0 && !run.have_ctl && !run.bad_logs)
		sl_warn("no socklens logs in '%s' (was the program started by socklens run?)", dir);
	struct sl_json_sink *sink = o->json ? sl_json_open(o->json, !o->no_connections) : NULL;
	struct sl_audit *audit = o->audit ? sl_audit_new() : NULL;
	sl_analyze(&run, &ds, sink, audit);
	int failed = 0, rc = 0;
	for (size_t i = 0; i < ds.n; i++)
		if (o->fail_mask & (1ull << ds.v[i].kind))
			failed = 1;
	if (o->text) {
		sl_text_color(o->color, o->text);
		sl_report_text(o->text, &run, &ds, audit);
	}
	if (o->prometheus && sl_prometheus_write(o->prometheus, &run, &ds, err, sizeof err) < 0) {
		sl_error("cannot write '%s': %s", o->prometheus, err);
		rc = -1;
	}
	if (o->otlp && sl_otlp_append(o->otlp, &run, &ds, err, sizeof err) < 0) {
		sl_error("cannot write '%s': %s", o->otlp, err);
		rc = -1;
	}
	if (sink && sl_json_finish(sink, &run, &ds, audit) < 0) {
		sl_error("cannot write the JSON report: %s", strerror(errno));
		rc = -1;
	}
	char why[256];
	int unchecked = sl_run_checked(&run, why, sizeof why) != SL_CHECKED_ALL;
	sl_audit_free(audit);
	sl_diags_release(&ds);
	sl_run_release(&run);
	sl_symbolizer_reset();
	return rc < 0 ? rc : (failed ? SL_REPORT_FAIL_ON : 0) | (unchecked ? SL_REPORT_UNCHECKED : 0);
}
