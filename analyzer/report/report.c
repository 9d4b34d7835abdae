/* report.c - load, analyze, render: the path shared by `socklens run` and `socklens report`. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"


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

void sl_render_image(void *renderers, const struct sl_ctx *c)
{
	const struct sl_renderers *r = renderers;
	if (r->sink)
		sl_json_image(r->sink, c);
	if (r->audit)
		sl_audit_image(r->audit, c);
	if (r->pictures)
		sl_pictures_image(r->pictures, c);
}

/* The kinds a CI gate fails on: --fail-on's, or all of them when only --error-exitcode was given. */
static uint64_t gate_kinds(const struct sl_output *o)
{
	return o->fail_mask ? o->fail_mask : o->fail_status ? (1ull << SL_K__COUNT) - 1 : 0;
}

int sl_report_status(int r, const struct sl_output *o)
{
	if (r & SL_REPORT_FAIL_ON)
		return o->fail_status ? o->fail_status : SL_EXIT_FAIL_ON;
	if ((r & SL_REPORT_UNCHECKED) && gate_kinds(o))
		return SL_EXIT_NOT_CHECKED;
	return 0;
}

int sl_error_exitcode_parse(const char *arg, int *status)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end || v < 1 || v > 255) {
		sl_error("bad --error-exitcode '%s' (a status from 1 to 255)", arg);
		return -1;
	}
	*status = (int)v;
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
	run.main_untraced = o->main_untraced;
	if (run.nprocs == 0 && !run.have_ctl && !run.bad_logs)
		sl_warn("no socklens logs in '%s' (was the program started by socklens run?)", dir);
	if (o->since_ns)
		ds.since_ns = run.now_ns > o->since_ns ? run.now_ns - o->since_ns : 1;
	int conns = o->no_connections ? SL_JSON_NO_CONNS : o->no_conn_stacks ? SL_JSON_CONNS_NO_STACKS : SL_JSON_CONNS;
	struct sl_json_sink *sink = o->json ? sl_json_open(o->json, conns) : NULL;
	struct sl_audit *audit = o->audit ? sl_audit_new(&o->th) : NULL;
	struct sl_pictures *pictures = o->html || o->trace ? sl_pictures_new() : NULL;
	struct sl_renderers r = {sink, audit, pictures};
	sl_analyze(&run, &o->th, &ds, sl_render_image, &r);
	int failed = 0, rc = 0;
	/* an info finding states a fact with nothing to change (a listener open at exit, a wait the
	 * program ended as it was told to stop): never a reason to fail. Under --inject, the failure
	 * asked for is none either: an injected finding gates only as a warning (the program hung or
	 * leaked after the fault) */
	for (size_t i = 0; i < ds.n; i++)
		if ((gate_kinds(o) & (1ull << ds.v[i].kind)) && !ds.v[i].injected && ds.v[i].sev >= SL_SEV_WARNING)
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
	if (o->html && sl_pictures_html(pictures, o->html, &run, &ds) < 0) {
		sl_error("cannot write the HTML report: %s", strerror(errno));
		rc = -1;
	}
	if (o->trace && sl_pictures_trace(pictures, o->trace, &run) < 0) {
		sl_error("cannot write the trace: %s", strerror(errno));
		rc = -1;
	}
	sl_pictures_free(pictures);
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
