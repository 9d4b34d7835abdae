/* export.c - findings for the monitoring people already run:
 *  - Prometheus text format (version 0.0.4), written whole to a temporary file beside FILE and
 *    renamed over it (outfile.c), as node_exporter's textfile collector wants: per kind and severity, per kind and peer, and the
 *    run's processes, sockets and log space;
 *  - OpenTelemetry logs as OTLP JSON (an ExportLogsServiceRequest per line, appended): one log
 *    record per finding, for a collector's otlpjsonfile or filelog receiver. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report/report.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *run, const char *k1, const char *v1, const char *k2,
		   const char *v2, double value)
{
	fprintf(f, "%s{run=\"", name);
	label(f, run);
	fputc('"', f);
	if (k1) {
		fprintf(f, ",%s=\"", k1);
		label(f, v1);
		fputc('"', f);
	}
	if (k2) {
		fprintf(f, ",%s=\"", k2);
		label(f, v2);
		fputc('"', f);
	}
	fprintf(f, "} %.17g\n", value);
}

static void prometheus_body(FILE *f, const struct sl_run *run, const struct sl_diags *ds)
{
	const char *r = run->dir;
	/* Gauges, not counters: a finding about connections counts those the slot table still holds
	 * (recycled ones drop out) and one about a blocked call ends when the call returns. */
	header(f, "socklens_findings", "gauge",
	       "Socket problems found in the run, by kind and severity (instances: a grouped finding counts each).");
	uint64_t per[SL_K__COUNT][3] = {{0}};
	for (size_t i = 0; i < ds->n; i++)
		per[ds->v[i].kind][ds->v[i].sev] += ds->v[i].count;
	for (int k = 0; k < SL_K__COUNT; k++)
		for (int s = 0; s < 3; s++)
			if (per[k][s])
				sample(f, "socklens_findings", r, "kind", sl_kind_name((enum sl_kind)k), "severity",
				       sl_sev_name((enum sl_severity)s), (double)per[k][s]);
	header(f, "socklens_findings_by_peer", "gauge",
	       "Instances of each kind by peer: host:port a client talked to, or the host of a server's clients; "
	       "unrecorded: instances counted at their call site past what the event table kept, peer not kept.");
	for (size_t i = 0; i < ds->npc; i++)
		sample(f, "socklens_findings_by_peer", r, "kind", sl_kind_name(ds->pc[i].kind), "peer",
		       ds->pc[i].peer[0] ? ds->pc[i].peer : "unrecorded", (double)ds->pc[i].n);
	header(f, "socklens_processes", "gauge", "Processes of the run, by state.");
	uint64_t running = 0, exited = 0, killed = 0;
	for (size_t i = 0; i < run->nprocs; i++) {
		const struct sl_proc *p = &run->procs[i];
		if (p->alive)
			running++;
		else if (p->have_status && WIFSIGNALED(p->wstatus))
			killed++;
		else
			exited++;
	}
	sample(f, "socklens_processes", r, "state", "running", NULL, NULL, (double)running);
	sample(f, "socklens_processes", r, "state", "exited", NULL, NULL, (double)exited);
	sample(f, "socklens_processes", r, "state", "killed", NULL, NULL, (double)killed);
	/* a counter: connection ids only grow, and a process's log stays in the run when it ends */
	header(f, "socklens_sockets_total", "counter", "Sockets the run's processes created or found.");
	sample(f, "socklens_sockets_total", r, NULL, NULL, NULL, NULL, (double)run->sockets);
	header(f, "socklens_open_sockets", "gauge", "Sockets open at the end of each process, or now for running ones.");
	sample(f, "socklens_open_sockets", r, NULL, NULL, NULL, NULL, (double)run->open_at_end);
	if (run->have_ctl) {
		header(f, "socklens_log_space_bytes", "gauge", "The run's log space: used, and the budget.");
		sample(f, "socklens_log_space_bytes", r, "what", "used", NULL, NULL, (double)run->ctl.used);
		sample(f, "socklens_log_space_bytes", r, "what", "budget", NULL, NULL, (double)run->ctl.budget);
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	header(f, "socklens_report_timestamp_seconds", "gauge", "When these figures were computed (Unix time).");
	sample(f, "socklens_report_timestamp_seconds", r, NULL, NULL, NULL, NULL,
	       (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

int sl_prometheus_write(const char *path, const struct sl_run *run, const struct sl_diags *ds, char *err,
			size_t errlen)
{
	struct sl_outfile o;
	if (sl_out_open(&o, path, err, errlen) < 0)
		return -1;
	prometheus_body(o.f, run, ds);
	if (ferror(o.f)) {
		sl_out_abort(&o);
		snprintf(err, errlen, "write error");
		return -1;
	}
	if (sl_out_close(&o) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- OTLP JSON ---- */

static json_t *attr(const char *key, json_t *value)
{
	return json_pack("{s:s, s:o}", "key", key, "value", value);
}

static json_t *str_value(const char *s)
{
	return json_pack("{s:s}", "stringValue", s);
}

/* protobuf's JSON mapping writes 64-bit integers as strings */
static json_t *int_value(long long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", v);
	return json_pack("{s:s}", "intValue", buf);
}

static json_t *record(const struct sl_run *run, const struct sl_diag *d, uint64_t observed)
{
	static const int sev_number[] = {9, 13, 17}; /* INFO, WARN, ERROR */
	static const char *const sev_text[] = {"INFO", "WARN", "ERROR"};
	char t[32], o[32];
	snprintf(t, sizeof t, "%llu", (unsigned long long)(d->wall_ns ? d->wall_ns : observed));
	snprintf(o, sizeof o, "%llu", (unsigned long long)observed);
	json_t *attrs = json_array();
	json_array_append_new(attrs, attr("socklens.kind", str_value(sl_kind_name(d->kind))));
	json_array_append_new(attrs, attr("socklens.count", int_value(d->count)));
	json_array_append_new(attrs, attr("socklens.run_dir", str_value(run->dir)));
	json_array_append_new(attrs, attr("socklens.advice", str_value(sl_diag_advice(d))));
	if (d->proc) {
		json_array_append_new(attrs, attr("process.pid", int_value(d->proc->pid)));
		json_array_append_new(attrs, attr("process.executable.name", str_value(sl_proc_name(d->proc))));
	}
	if (d->peer[0])
		json_array_append_new(attrs, attr("socklens.peer", str_value(d->peer)));
	if (d->err && sl_errno_name(d->err))
		json_array_append_new(attrs, attr("socklens.errno", str_value(sl_errno_name(d->err))));
	const struct sl_frame *f = d->nstack ? &d->stack[0] : NULL;
	if (f && f->function[0])
		json_array_append_new(attrs, attr("code.function", str_value(f->function)));
	if (f && f->file[0]) {
		json_array_append_new(attrs, attr("code.filepath", str_value(f->file)));
		json_array_append_new(attrs, attr("code.lineno", int_value(f->line)));
	}
	return json_pack("{s:s, s:s, s:i, s:s, s:{s:s}, s:o}", "timeUnixNano", t, "observedTimeUnixNano", o,
			 "severityNumber", sev_number[d->sev], "severityText", sev_text[d->sev], "body", "stringValue",
			 d->summary, "attributes", attrs);
}

int sl_otlp_append(const char *path, const struct sl_run *run, const struct sl_diags *ds, char *err, size_t errlen)
{
	struct timespec ts;
	char host[256] = "";
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	gethostname(host, sizeof host - 1);
	json_t *records = json_array();
	for (size_t i = 0; i < ds->n; i++)
		json_array_append_new(records, record(run, &ds->v[i], now));
	json_t *resource_attrs = json_array();
	json_array_append_new(resource_attrs, attr("service.name", str_value("socklens")));
	json_array_append_new(resource_attrs, attr("host.name", str_value(host)));
	json_t *doc = json_pack("{s:[{s:{s:o}, s:[{s:{s:s, s:s}, s:o}]}]}", "resourceLogs", "resource", "attributes",
				resource_attrs, "scopeLogs", "scope", "name", "socklens", "version", SL_VERSION,
				"logRecords", records);
	FILE *f = sl_out_append(path, err, errlen);
	if (!f) {
		json_decref(doc);
		return -1;
	}
	int rc = json_dumpf(doc, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF ? 0 : -1;
	json_decref(doc);
	if (fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		snprintf(err, errlen, "%s", strerror(errno));
	return rc;
}
