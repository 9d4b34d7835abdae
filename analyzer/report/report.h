/* report.h - findings and connections rendered: the text report (report_text.c), the JSON report
 * (report_json.c, streamed; render.c what every renderer uses), the options audit (audit.c),
 * Prometheus and OTLP (export.c), the files they are written to (outfile.c), two runs compared
 * (diff.c); report.c is the path `run`, `report` and `watch` share: index, analyze, render. Uses
 * rules/ and everything below. */
#ifndef SL_REPORT_H
#define SL_REPORT_H

#include <jansson.h>
#include "rules/rules.h"

/* Every JSON output socklens writes: reals with six significant digits (docs/json.md), and the
 * versions of its formats, each raised on a change a reader must know of (docs/schema/). */
#define SL_JSON_REALS JSON_REAL_PRECISION(6)
#define SL_JSON_REPORT_VERSION 2
#define SL_JSON_STUCK_VERSION 1
#define SL_JSON_DIFF_VERSION 1

/* ---- render.c: what every renderer uses ---- */

json_t *sl_frames_json(const struct sl_frame *f, size_t n);
/* A JSON string of the first n bytes of s; bytes that are not valid UTF-8 become '?'. */
json_t *sl_jstrn(const char *s, size_t n);
json_t *sl_str_or_null(const char *s); /* NULL or empty: null */
/* Wall-clock time of a monotonic timestamp of an image, as RFC 3339 UTC with milliseconds. */
void sl_wall_time(const struct sl_log_header *h, uint64_t mono_ns, char *out, size_t len);
void sl_wall_format(uint64_t real_ns, char *out, size_t len); /* CLOCK_REALTIME ns, the same way */
/* Writes text after lead, wrapped at the report's width and indented under its start. */
void sl_text_wrapped(FILE *out, const char *lead, const char *text);

/* ---- audit.c: --audit, the options in force per call site ---- */

struct sl_audit;
struct sl_audit *sl_audit_new(const struct sl_thresholds *th);
void sl_audit_free(struct sl_audit *a);
void sl_audit_image(struct sl_audit *a, const struct sl_ctx *c); /* during the analysis */
void sl_audit_text(FILE *out, struct sl_audit *a);
json_t *sl_audit_json(const struct sl_audit *a);

/* ---- report_text.c ---- */

enum { SL_COLOR_AUTO, SL_COLOR_ALWAYS, SL_COLOR_NEVER };
/* Parses --color's auto, always or never; returns 0 or -1. */
int sl_color_parse(const char *arg, int *mode);
/* Colours severities on out per mode (auto: a terminal, unless NO_COLOR is set). */
void sl_text_color(int mode, FILE *out);
void sl_report_text(FILE *out, const struct sl_run *run, const struct sl_diags *ds, struct sl_audit *audit);

/* ---- report_json.c ---- */

/* Streams each analyzed image's connections (open it before the analysis, finish it after). */
struct sl_json_sink;
enum { SL_JSON_NO_CONNS, SL_JSON_CONNS, SL_JSON_CONNS_NO_STACKS };
struct sl_json_sink *sl_json_open(FILE *f, int connections);
void sl_json_image(struct sl_json_sink *s, const struct sl_ctx *c);
json_t *sl_diag_json(const struct sl_diag *d);
/* Writes processes, findings and the audit (NULL: none) and closes the document; returns 0 or -1
 * (cannot write). */
int sl_json_finish(struct sl_json_sink *s, const struct sl_run *run, const struct sl_diags *ds,
		   const struct sl_audit *audit);

/* ---- outfile.c: files written for the user, never through another user's link ---- */

struct sl_outfile {
	FILE *f;                     /* write here */
	char *path, *tmp;            /* renamed from tmp to path at close (NULL: written in place) */
};
/* Opens path ("-": stdout) to be written whole: a temporary file beside it, renamed over it by
 * sl_out_close; a device or pipe is written in place. 0, or -1 with a reason in err. */
int sl_out_open(struct sl_outfile *o, const char *path, char *err, size_t errlen);
int sl_out_close(struct sl_outfile *o); /* 0, or -1 with errno (nothing is left behind) */
void sl_out_abort(struct sl_outfile *o);
/* Opens path to append records: a regular file with one link (or a device or pipe). */
FILE *sl_out_append(const char *path, char *err, size_t errlen);

/* ---- export.c: Prometheus text format and OTLP JSON logs ---- */

/* Writes the run's metrics to path (through a temporary file renamed over it); 0, or -1 with a
 * reason in err. */
int sl_prometheus_write(const char *path, const struct sl_run *run, const struct sl_diags *ds, char *err,
			size_t errlen);
/* Appends one OTLP JSON ExportLogsServiceRequest line, a record per finding; 0, or -1 with a
 * reason in err. */
int sl_otlp_append(const char *path, const struct sl_run *run, const struct sl_diags *ds, char *err, size_t errlen);

/* ---- pictures.c: the run drawn, as a self-contained HTML page and a Perfetto trace ---- */

struct sl_pictures;
struct sl_pictures *sl_pictures_new(void);
void sl_pictures_free(struct sl_pictures *p);
void sl_pictures_image(struct sl_pictures *p, const struct sl_ctx *c); /* during the analysis */
/* Write the page or the trace to f; 0, or -1 (cannot write). */
int sl_pictures_html(const struct sl_pictures *p, FILE *f, const struct sl_run *run, const struct sl_diags *ds);
int sl_pictures_trace(const struct sl_pictures *p, FILE *f, const struct sl_run *run);

/* ---- report.c: what run, report and watch share ---- */

struct sl_output {
	FILE *text;                  /* text report destination, NULL for none */
	FILE *json;                  /* JSON report destination, NULL for none */
	uint64_t fail_mask;          /* bit per enum sl_kind from --fail-on */
	int fail_status;             /* --error-exitcode: the status for a match (0: SL_EXIT_FAIL_ON); alone,
				      * it gates on every kind */
	int color;                   /* SL_COLOR_* for the text report */
	struct sl_thresholds th;
	int audit;                   /* --audit: options per call site */
	uint64_t since_ns;           /* --since: only findings from the last this long (0: all) */
	const char *prometheus;      /* --prometheus FILE: metrics for node_exporter's textfile collector */
	const char *otlp;            /* --otlp FILE: findings as OTLP JSON log records, appended */
	FILE *html;                  /* --html FILE: the self-contained page (NULL: none) */
	FILE *trace;                 /* --trace FILE: Chrome Trace Event JSON for Perfetto (NULL: none) */
	int no_connections;          /* the JSON report without its connections (watch) */
	int no_conn_stacks;          /* ... with them, but not their stacks (diff: a run of 100,000
				      * connections read back was 3.5 GB of JSON objects) */
	const char *main_untraced;   /* run: why the program it started cannot be traced (NULL: it can) */
};

/* What sl_report_dir found: bits of these, or -1 on error. */
enum { SL_REPORT_FAIL_ON = 1, SL_REPORT_UNCHECKED = 2 };
/* Indexes dir, analyzes it and writes the reports. Returns -1 on error, else SL_REPORT_FAIL_ON
 * when a --fail-on kind was found, with SL_REPORT_UNCHECKED when part of the run (or all of it)
 * could not be looked at. */
int sl_report_dir(const char *dir, const struct sl_output *o);
/* The exit status a report's result gives a CI gate (--fail-on set): 0, SL_EXIT_FAIL_ON or
 * SL_EXIT_NOT_CHECKED. */
int sl_report_status(int r, const struct sl_output *o);
/* --error-exitcode N: 1 to 255 (0 is success, and a gate must be told apart from it); 0, or -1
 * after saying why. */
int sl_error_exitcode_parse(const char *arg, int *status);

/* ---- diff.c: socklens diff, two runs' reports compared ---- */

struct sl_diff_gates {
	int new_severity;            /* fail on a new finding this severe (enum sl_severity), -1: not asked */
	double latency_pct;          /* fail on a significant latency median rise above this, -1: not asked */
	long errors;                 /* fail when errors grow by more than this, -1: not asked */
	int force;                   /* compare runs of different programs */
};
/* 0 when r is a JSON report diff can use, else -1 with why. */
int sl_diff_comparable(const json_t *r, char *err, size_t len);
/* The comparison (NULL with why when the runs cannot be compared); *failed when a gate failed. */
json_t *sl_diff(const json_t *before, const json_t *after, const struct sl_diff_gates *gates, int *failed, char *err,
		size_t errlen);
/* Short text, or a Markdown table for a pull-request comment. */
void sl_diff_text(FILE *out, const json_t *d, int markdown);

/* The renderers an analysis feeds as it goes (sl_analyze's visit): the JSON sink and the audit,
 * any NULL. */
struct sl_renderers {
	struct sl_json_sink *sink;
	struct sl_audit *audit;
	struct sl_pictures *pictures;
};
void sl_render_image(void *renderers, const struct sl_ctx *c);

#endif
