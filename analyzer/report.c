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
	if (o->since_ns)
		ds.since_ns = run.now_ns > o->since_ns ? run.now_ns - o->since_ns : 1;
	if (run.nprocs == 0 && !run.have_ctl)
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
	if (o->prometheus && sl_prometheus_write(o->prometheus, &run, &ds) < 0) {
		sl_error("cannot write '%s': %s", o->prometheus, strerror(errno));
		rc = -1;
	}
	if (o->otlp && sl_otlp_append(o->otlp, &run, &ds) < 0) {
		sl_error("cannot write '%s': %s", o->otlp, strerror(errno));
		rc = -1;
	}
	if (sink && sl_json_finish(sink, &run, &ds, audit) < 0) {
		sl_error("cannot write the JSON report: %s", strerror(errno));
		rc = -1;
	}
	sl_audit_free(audit);
	sl_diags_release(&ds);
	sl_run_release(&run);
	sl_symbolizer_reset();
	return rc < 0 ? rc : failed;
}
