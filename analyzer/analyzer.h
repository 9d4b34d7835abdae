/* analyzer.h - internal interfaces of the socklens CLI: run model, rules, symbolizer, reports. */
#ifndef SL_ANALYZER_H
#define SL_ANALYZER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "socklens/log.h"

/* ---- log_read.c: one log file, copied and validated ---- */

struct sl_image {
	char *path;
	unsigned char *buf;          /* private copy of the whole file */
	size_t size;
	const struct sl_log_header *h;
	const struct sl_slot *slots;
	const struct sl_event *events;
	const struct sl_stack *stacks;
	const struct sl_module *mods;
	const struct sl_inflight *infl;
	uint32_t nevents, nmods, ninfl; /* reserved records within capacity */
	double ns_per_tick;          /* from the log's calibration pairs (1 for SL_TICK_NS) */
	int clock_guessed;           /* no usable calibration: durations are estimates */
	void *symbolizer;            /* symbolize.c state, created on first use */
};

/* Reads and validates path. Returns 0, or -1 with a message in err ("not a socklens log"). */
int sl_image_load(struct sl_image *img, const char *path, char *err, size_t errlen);
void sl_image_release(struct sl_image *img);
const struct sl_stack *sl_image_stack(const struct sl_image *img, uint32_t id);
/* A duration in ticks (slots, in-flight records) as nanoseconds. */
uint64_t sl_image_ns(const struct sl_image *img, uint64_t ticks);
/* A point in ticks as CLOCK_MONOTONIC nanoseconds. */
uint64_t sl_image_mono(const struct sl_image *img, uint64_t ticks);

/* ---- run.c: a run directory as processes and connections ---- */

struct sl_diags;

struct sl_proc {
	int pid, ppid;
	struct sl_image **images;    /* by seq: exec makes a new image */
	size_t nimages;
	int alive;                   /* still running (pid and start time match) */
	int have_status, wstatus;    /* from socklens run's exits file */
	uint64_t end_ns;             /* when it ended, 0 if unknown or alive */
};

struct sl_conn {
	struct sl_proc *proc;
	struct sl_image *img;
	const struct sl_slot *s;
	int open_at_end;             /* the image ended (or is now) with this fd open */
	uint64_t end_ns;             /* close time, or the image's end / now */
};

struct sl_thresholds {
	uint64_t blocked_ns;         /* missing-timeout turns into an error past this */
	uint64_t keepalive_ns;       /* missing-keepalive for connections older than this */
};

struct sl_run {
	char *dir;
	struct sl_proc *procs;
	size_t nprocs;
	struct sl_conn *conns;
	size_t nconns;
	uint64_t now_ns;
	struct sl_thresholds th;
	size_t bad_logs;             /* files skipped with an error */
};

/* Loads every log in dir. Returns 0 or -1 with err set; bad files are reported on stderr and skipped. */
int sl_run_load(struct sl_run *run, const char *dir, char *err, size_t errlen);
void sl_run_release(struct sl_run *run);
void sl_thresholds_default(struct sl_thresholds *th);
/* Parses "NAME=VALUE" (blocked=1s, keepalive=60s); returns 0 or -1. */
int sl_threshold_set(struct sl_thresholds *th, const char *arg);
const char *sl_proc_name(const struct sl_proc *p);
/* Calls fn for every image of every process (the rules that read events or in-flight calls). */
void sl_run_each_image(const struct sl_run *run, struct sl_diags *out,
		       void (*fn)(const struct sl_run *, const struct sl_proc *, struct sl_image *, struct sl_diags *));
struct sl_image *sl_proc_last(const struct sl_proc *p);

/* ---- diag.c: diagnostics, kinds, grouping ---- */

enum sl_severity { SL_SEV_INFO = 0, SL_SEV_WARNING = 1, SL_SEV_ERROR = 2 };

enum sl_kind {
	SL_K_CONNECT_REFUSED, SL_K_CONNECT_TIMEOUT, SL_K_CONNECT_UNREACHABLE,
	SL_K_CONNECTION_RESET, SL_K_BROKEN_PIPE, SL_K_SOCKET_LEAK,
	SL_K_MISSING_TIMEOUT, SL_K_MISSING_KEEPALIVE, SL_K_FD_EXHAUSTION, SL_K_UNTRACED_EXEC,
	SL_K_HUNG_CALL, SL_K__COUNT
};

struct sl_diag {
	enum sl_kind kind;
	enum sl_severity sev;
	const struct sl_proc *proc;
	struct sl_image *img;
	int fd;
	int err;                     /* errno, 0 if none */
	char peer[160];
	char group_peer[160];        /* the part of the peer that groups findings ("" = any) */
	uint32_t stack;              /* stack id in img, 0 if none */
	uint64_t site;               /* the call's own site (a blocking read, a hung call), 0 if none */
	uint64_t conn_id;
	uint64_t worst_ns;           /* the longest duration among grouped findings */
	unsigned count;
	char summary[320];
};

struct sl_diags {
	struct sl_diag *v;
	size_t n, cap;
};

const char *sl_kind_name(enum sl_kind k);
const char *sl_kind_advice(enum sl_kind k);
int sl_kind_parse(const char *name); /* -1 if unknown */
const char *sl_sev_name(enum sl_severity s);
/* Adds d, or folds it into an identical finding from the same call site. */
void sl_diags_add(struct sl_diags *ds, const struct sl_diag *d);
void sl_diags_sort(struct sl_diags *ds);
void sl_diags_release(struct sl_diags *ds);
/* Runs every rule over run. */
void sl_analyze(const struct sl_run *run, struct sl_diags *out);

/* rule files */
void sl_rule_connect(const struct sl_run *run, struct sl_diags *out);
void sl_rule_io_errors(const struct sl_run *run, struct sl_diags *out);
void sl_rule_leak(const struct sl_run *run, struct sl_diags *out);
void sl_rule_timeouts(const struct sl_run *run, struct sl_diags *out);
void sl_rule_untraced(const struct sl_run *run, struct sl_diags *out);
void sl_rule_hung(const struct sl_run *run, struct sl_diags *out);

/* ---- util.c: names and formats shared by text and JSON ---- */

const char *sl_errno_name(int err);  /* "ECONNREFUSED", or NULL */
void sl_addr_format(const struct sl_addr *a, char *out, size_t len); /* "" when unknown */
const char *sl_role_name(int role);
const char *sl_type_name(int family, int type);
const char *sl_opt_name(int opt);
const char *sl_call_name(int call);
void sl_dur_format(uint64_t ns, char *out, size_t len);
uint64_t sl_mono_now(void);          /* CLOCK_MONOTONIC in ns: the clock every log uses */
/* State letter, parent pid and start time (clock ticks since boot) of pid, from
 * /proc/<pid>/stat; returns 0, or -1 when the process is gone. */
int sl_proc_stat(int pid, char *state, int *ppid, uint64_t *start_ticks);
/* Parses "1.5s", "250ms", "2m", "30" (seconds); returns 0 or -1. */
int sl_dur_parse(const char *s, uint64_t *ns);

/* ---- symbolize.c ---- */

struct sl_frame {
	uint64_t addr;
	uint64_t offset;             /* addr relative to the module's load bias */
	char function[256];
	char file[512];
	int line;
	char module[512];
};

/* Symbolizes ip (a return address) recorded in img into up to max frames, innermost
 * first: one per function inlined at that address, then the function holding it.
 * Always returns at least 1 (max > 0) with addr filled and what could be found. */
size_t sl_symbolize(struct sl_image *img, uint64_t ip, struct sl_frame *f, size_t max);
/* Symbolizes stack id of img into at most max frames; returns how many. */
size_t sl_symbolize_stack(struct sl_image *img, uint32_t id, struct sl_frame *f, size_t max);
void sl_symbolizer_release(struct sl_image *img);

/* ---- report_text.c, report_json.c ---- */

/* Process facts both renderers print: "exited 3", "killed by SIGKILL", "running". */
void sl_proc_status(const struct sl_proc *p, char *out, size_t len);
/* Wall-clock time of a monotonic timestamp of img, as RFC 3339 UTC with milliseconds. */
void sl_wall_time(const struct sl_image *img, uint64_t mono_ns, char *out, size_t len);

void sl_report_text(FILE *out, const struct sl_run *run, const struct sl_diags *ds);
/* Returns 0 or -1 (cannot write). */
int sl_report_json(const char *path, const struct sl_run *run, const struct sl_diags *ds);

/* ---- elfcheck.c ---- */

/* Describes why LD_PRELOAD cannot reach the program at path, or returns NULL. */
const char *sl_untraceable_reason(const char *path);

/* ---- report.c: what run and report share ---- */

struct sl_output {
	FILE *text;                  /* text report destination, NULL for none */
	const char *json_path;       /* "-" for stdout, NULL for none */
	unsigned fail_mask;          /* bit per enum sl_kind from --fail-on */
	struct sl_thresholds th;
};

/* Parses "connect-refused,socket-leak" or "all" into a mask; returns 0 or -1. */
int sl_fail_on_parse(const char *list, unsigned *mask);
/* Loads dir, analyzes it and writes the reports. Returns -1 on error, else 1 when a
 * --fail-on kind was found and 0 otherwise. */
int sl_report_dir(const char *dir, const struct sl_output *o);

/* ---- commands ---- */

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dump(int argc, char **argv);
void sl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* exit codes, documented in the README */
enum { SL_EXIT_USAGE = 2, SL_EXIT_INTERNAL = 125, SL_EXIT_FAIL_ON = 86 };

#endif
