/* analyzer.h - internal interfaces of the socklens CLI: run index, per-image analysis, rules,
 * findings, symbolizer, reports.
 *
 * A run is read in two passes so memory follows the findings, not the logs: the index reads
 * every log's header (processes, their tree and fates); the analysis then loads one image at a
 * time, runs the rules on it, symbolizes what the findings need (through one cache for the whole
 * run), streams its connections to the JSON report, and frees it. */
#ifndef SL_ANALYZER_H
#define SL_ANALYZER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <jansson.h>
#include "socklens/log.h"

/* ---- log_read.c: one log, copied and validated ---- */

struct sl_image {
	char *path;
	struct sl_log_header h;      /* validated copy */
	struct sl_slot *slots;       /* the records present in each table (holes left out) */
	struct sl_event *events;     /* committed events, in the order they happened */
	struct sl_stack *stacks;     /* by sl_image_stack(id): stack_ids[k] + 1 is stacks[k]'s id */
	struct sl_module *mods;
	struct sl_inflight *infl;
	struct sl_lang *langs;       /* by sl_image_lang(index) */
	uint32_t *stack_ids, *lang_ids;
	uint32_t nslots, nevents, nstacks, nmods, ninfl, nlangs;
	struct sl_jitmap *jit;       /* V8's perf map, for a Node.js process (jitmap.c) */
};

/* Opens a file for reading without following links or blocking; -1 unless it is regular. */
int sl_open_regular(const char *path, struct stat *st, char *err, size_t errlen);
/* Reads and validates the header alone. 0, or -1 with a message in err. */
int sl_header_read(const char *path, struct sl_log_header *h, char *err, size_t errlen);
/* Reads the header and every table's materialized records. 0, or -1 with a message in err. */
int sl_image_load(struct sl_image *img, const char *path, char *err, size_t errlen);
void sl_image_release(struct sl_image *img);
const struct sl_stack *sl_image_stack(const struct sl_image *img, uint32_t id);
uint32_t sl_image_stack_id(const struct sl_image *img, uint32_t k); /* the id of stacks[k] */
/* The language frame record with that index (SL_LANG_IP | index in a stack), or NULL. */
const struct sl_lang *sl_image_lang(const struct sl_image *img, uint64_t index);
/* The run control file and its committed exec records (malloc'd). 0, or -1 if absent or bad. */
int sl_runctl_read(const char *dir, struct sl_run_header *out, struct sl_exec_rec **execs, size_t *nexecs);

/* ---- run.c: the index of a run directory ---- */

/* What the index keeps of each log: its header, minus the tables. */
struct sl_image_info {
	char *path;
	struct sl_log_header h;
};

struct sl_proc {
	int pid, ppid;
	struct sl_image_info *images; /* by seq: exec makes a new image */
	size_t nimages;
	int alive;                   /* still running (pid and start time match) */
	int have_status, wstatus;    /* from socklens run's exits file */
	uint64_t end_ns;             /* when it ended, 0 if unknown or alive */
	uint64_t sockets;            /* sockets its images created or found */
	unsigned findings;           /* set by the analysis */
	size_t index;                /* position in run->procs */
};

/* thresholds.c: --threshold NAME=VALUE, one row per field */
struct sl_thresholds {
	uint64_t blocked_ns;         /* missing-timeout turns into an error past this */
	uint64_t keepalive_ns;       /* missing-keepalive for connections older than this */
	uint64_t unanswered_ns, close_wait_ns, connect_ns, dns_ns, rtt_ns;
	uint64_t retrans_pct;        /* hundredths of a percent */
	uint64_t churn;              /* short connections to one peer from one call site */
};

struct sl_run {
	char *dir;
	struct sl_proc *procs;
	size_t nprocs;
	int have_ctl;
	struct sl_run_header ctl;    /* budget, untraced counts */
	struct sl_exec_rec *execs;
	size_t nexecs;
	uint64_t now_ns;
	struct sl_thresholds th;
	const char *main_untraced;   /* why socklens run could not trace the program it started */
	size_t bad_logs;             /* files skipped with an error */
	char bad_why[300];           /* the first one and why */
	uint64_t sockets;            /* over every process */
	uint64_t open_at_end;        /* counted by the analysis */
};

/* Indexes every log in dir (headers only). Returns 0 or -1 with err set; bad files are reported
 * on stderr and skipped. */
int sl_run_index(struct sl_run *run, const char *dir, char *err, size_t errlen);
void sl_run_release(struct sl_run *run);
void sl_thresholds_default(struct sl_thresholds *th);
/* Parses "NAME=VALUE" (blocked=1s, retrans=2%, churn=50); returns 0 or -1. */
int sl_threshold_set(struct sl_thresholds *th, const char *arg);
/* One line per threshold: name, default, meaning. */
void sl_thresholds_usage(FILE *out, const char *indent);
const char *sl_thresholds_names(void); /* "blocked, keepalive, ..." */
/* The name a process was started as (its comm), else its executable's base name. */
const char *sl_proc_name(const struct sl_proc *p);
const struct sl_image_info *sl_proc_last(const struct sl_proc *p);
/* An image of p set up an io_uring: what it submitted to the ring was not seen. */
int sl_proc_uses_io_uring(const struct sl_proc *p);
struct sl_proc *sl_run_find(const struct sl_run *run, int pid); /* the latest with pid */
/* The process with pid that was running at at_ns (the latest started by then; pids are reused). */
struct sl_proc *sl_run_find_at(const struct sl_run *run, int pid, uint64_t at_ns);
/* p's parent within the run (the process with its ppid that started before it), or NULL. */
const struct sl_proc *sl_proc_parent(const struct sl_run *run, const struct sl_proc *p);
/* When a process's image ended: its exit or exec, else the exits file, else now (alive). */
uint64_t sl_image_end(const struct sl_run *run, const struct sl_proc *p, const struct sl_image *img);

/* ---- symbolize.c: one cache for the whole run ---- */

struct sl_frame {
	uint64_t addr;
	uint64_t offset;             /* addr relative to the module's load bias */
	char function[256];
	char file[512];
	int line;
	int line_is_start;           /* the line is where the function starts (JavaScript) */
	char module[256];            /* "python", "java", "js" for language frames (addr 0) */
};

/* jitmap.c: JavaScript frames from V8's perf map. attach reads the map of a loaded image (its
 * copy in the run directory, else V8's own while it is that process's); keep copies what a run's
 * stacks need beside each log when the run ends. sl_jit_name: 1 if ip is JavaScript (f named). */
struct sl_jitmap;
void sl_jitmap_attach(struct sl_image *img);
void sl_jitmap_free(struct sl_jitmap *m);
void sl_jitmap_keep(const char *dir);
int sl_jit_name(const struct sl_image *img, uint64_t ip, struct sl_frame *f);
struct sl_image_info;
const char *sl_lang_state(const struct sl_image_info *ii, const char **runtime, const char **why);

/* Symbolizes ip (a return address) recorded in img into up to max frames, innermost first:
 * one per function inlined at that address, then the function holding it. Always returns at
 * least 1 (max > 0) with addr filled and what could be found. */
size_t sl_symbolize(const struct sl_image *img, uint64_t ip, struct sl_frame *f, size_t max);
/* Symbolizes stack id of img into at most max frames; returns how many. */
size_t sl_symbolize_stack(const struct sl_image *img, uint32_t id, struct sl_frame *f, size_t max);
/* gopclntab.c: function, file and line of link-time address pc from a Go binary's .gopclntab;
 * 0, or -1 (no table, or not Go code). */
typedef struct Elf Elf;
int sl_gopclntab_lookup(Elf *elf, uint64_t pc, struct sl_frame *f);
/* Drops every cached module and answer (end of a report). */
void sl_symbolizer_reset(void);

/* ---- diag.c: findings, kinds, grouping ---- */

enum sl_severity { SL_SEV_INFO = 0, SL_SEV_WARNING = 1, SL_SEV_ERROR = 2 };

enum sl_kind {
	SL_K_CONNECT_REFUSED, SL_K_CONNECT_TIMEOUT, SL_K_CONNECT_UNREACHABLE,
	SL_K_CONNECTION_RESET, SL_K_BROKEN_PIPE, SL_K_SOCKET_LEAK,
	SL_K_MISSING_TIMEOUT, SL_K_MISSING_KEEPALIVE, SL_K_FD_EXHAUSTION, SL_K_UNTRACED_EXEC,
	SL_K_HUNG_CALL, SL_K_CLOSED_BY_PEER,
	SL_K_UNANSWERED_REQUEST, SL_K_CLOSE_WAIT, SL_K_TLS_ALERT, SL_K_TLS_ABORTED, SL_K_NAGLE_DELAY,
	SL_K_SLOW_CONNECT, SL_K_RETRANSMISSIONS, SL_K_HIGH_RTT, SL_K_ACCEPT_QUEUE_FULL, SL_K_BACKLOG_TRUNCATED,
	SL_K_ADDR_IN_USE, SL_K_PORT_EXHAUSTION, SL_K_CONNECTION_CHURN, SL_K_RESET_ON_CLOSE, SL_K_USE_AFTER_CLOSE,
	SL_K_DNS_FAILURE, SL_K_SLOW_DNS, SL_K_KEEPALIVE_INEFFECTIVE, SL_K_SHORT_WRITE, SL_K_TLS_REJECTED,
	SL_K__COUNT
};

#define SL_EVIDENCE_MAX 8

#define SL_SHOWN_FRAMES 6
#define SL_LIST_MAX 4

/* One finding, or a group of identical ones (same kind, call site frames, errno and peer group).
 * Frames are symbolized when the finding is made, so the image can be freed. */
struct sl_diag {
	enum sl_kind kind;
	enum sl_severity sev;
	const struct sl_proc *proc;  /* the process of the instance shown */
	int fd;
	int err;                     /* errno, 0 if none */
	char peer[160];              /* the instance shown */
	char group_peer[160];        /* the part of the peer that groups findings ("" = any) */
	uint64_t conn_id;
	uint64_t worst_ns;           /* the longest duration among grouped findings */
	unsigned count;
	char summary[640];           /* the instance shown */
	struct sl_frame *stack;      /* where the connection was made (or the call failed) */
	size_t nstack;
	struct sl_frame *site;       /* the call's own site (a blocking read, a hung call) */
	size_t nsite;
	int pids[SL_LIST_MAX];       /* processes with this finding: the first few, and how many */
	unsigned npids;
	char peers[SL_LIST_MAX][160];/* distinct peers: the first few, and how many */
	unsigned npeers;
	uint32_t site_stack;         /* a second stack id to show as the site (an earlier close) */
	const char *site_label;      /* what the site is, when not the kind's ("first send at") */
	const char *stack_label;     /* what the stack is, when not the kind's ("accepted at") */
	uint64_t when_ns;            /* when the instance happened (CLOCK_MONOTONIC; 0: now) */
	uint64_t wall_ns;            /* the same as wall-clock time (set when added; a group's latest) */
	struct { const char *name; double value; } evidence[SL_EVIDENCE_MAX]; /* the instance shown */
	unsigned nevidence;
	uint64_t key;                /* grouping hash */
};

struct sl_diags {
	struct sl_diag *v;
	size_t n, cap;
	size_t *index;               /* open-addressed: key -> position + 1 */
	size_t index_cap;
	uint64_t added;              /* findings added, grouped or not */
	uint64_t since_ns;           /* --since: instances before this (CLOCK_MONOTONIC) are left out */
	struct sl_peer_count *pc;    /* instances per kind and peer (metrics), SL_PEER_COUNTS at most */
	size_t npc, cappc;
};

/* Instances of a kind for one peer: host:port for a client's peer, the host alone for the clients
 * of a server (their ports are ephemeral); past SL_PEER_COUNTS pairs, peer "other". */
#define SL_PEER_COUNTS 1000
struct sl_peer_count {
	enum sl_kind kind;
	char peer[160];
	uint64_t n;
};

/* kinds.c: the one table of kinds */
struct sl_kind_info {
	const char *name;
	const char *stack_label;     /* what the finding's stack is: "connect at", "opened at" */
	const char *site_label;      /* what its call site is: "read at", "blocked in" (NULL: none) */
	const char *site_key;        /* the call site's JSON key ("call_site" when NULL) */
	const char *advice;
};
const struct sl_kind_info *sl_kind(enum sl_kind k);
const char *sl_kind_name(enum sl_kind k);
const char *sl_kind_advice(enum sl_kind k);
const char *sl_diag_stack_label(const struct sl_diag *d); /* the finding's, else its kind's */
const char *sl_diag_site_label(const struct sl_diag *d);  /* the same for the site */
int sl_kind_parse(const char *name); /* -1 if unknown */
const char *sl_sev_name(enum sl_severity s);
json_t *sl_diag_json(const struct sl_diag *d); /* report_json.c */
/* Adds d, or folds it into an identical finding. stack (an id of img) and site (an address)
 * are symbolized here; img may be NULL when there are neither. */
void sl_diags_add(struct sl_diags *ds, const struct sl_image *img, struct sl_diag *d, uint32_t stack,
		  uint64_t site);
void sl_diags_sort(struct sl_diags *ds);
void sl_diags_release(struct sl_diags *ds);
/* The frames of stack id of img as findings show them (startup frames dropped; malloc'd, NULL
 * when none), and a hash of the first n for grouping (h: a seed, or a running hash). */
struct sl_frame *sl_stack_frames(const struct sl_image *img, uint32_t id, size_t *n);
uint64_t sl_frames_key(uint64_t h, const struct sl_frame *f, size_t n);
/* How many of f's n frames to show: without the C library's start-up frames at the end. */
size_t sl_frames_trim(const struct sl_frame *f, size_t n);
/* Lists of the first SL_LIST_MAX distinct pids and peers, *n counting every distinct one noted. */
void sl_note_pid(int *pids, unsigned *n, int pid);
void sl_note_peer(char (*peers)[160], unsigned *n, const char *peer);
/* A finding filled with what every rule sets. */
void sl_diag_init(struct sl_diag *d, enum sl_kind k, enum sl_severity sev, const struct sl_proc *p, int fd);
struct sl_conn;
/* A finding about connection c: its peer, grouped by call site and role. Returns the stack to
 * show: where it was connected, else opened. */
uint32_t sl_diag_conn(struct sl_diag *d, const struct sl_conn *c, enum sl_kind k, enum sl_severity sev);
/* A recorded fact behind the finding, by name (JSON "evidence"); name must be a literal. */
void sl_diag_fact(struct sl_diag *d, const char *name, double value);

/* ---- analyze.c: the second pass ---- */

/* A connection of the image being analyzed. */
struct sl_conn {
	struct sl_proc *proc;
	const struct sl_image *img;
	const struct sl_slot *s;
	int open_at_end;             /* the image ended (or is now) with this fd open */
	uint64_t end_ns;             /* close time, or the image's end / now */
};

struct sl_ctx {
	const struct sl_run *run;
	struct sl_proc *proc;
	const struct sl_image *img;
	struct sl_conn *conns;
	size_t nconns;
	struct sl_diags *out;
};

struct sl_audit; /* audit.c */
/* Streams each analyzed image's connections as JSON (report_json.c); NULL for none. */
struct sl_json_sink;

/* Runs every rule on every image of run; connections go to sink and call sites to audit when not NULL. */
void sl_analyze(struct sl_run *run, struct sl_diags *out, struct sl_json_sink *sink, struct sl_audit *audit);

/* rule files: each looks at one image */
void sl_rule_connect(struct sl_ctx *c);
void sl_rule_io_errors(struct sl_ctx *c);
void sl_rule_leak(struct sl_ctx *c);
void sl_rule_timeouts(struct sl_ctx *c);
void sl_rule_hung(struct sl_ctx *c);
void sl_rule_exchange(struct sl_ctx *c);
void sl_rule_network(struct sl_ctx *c);
void sl_rule_events(struct sl_ctx *c);
void sl_rule_context(struct sl_ctx *c); /* last: it speaks only when nothing else did */
/* ... and this one the run's exec table */
void sl_rule_untraced(const struct sl_run *run, struct sl_diags *out);

/* ---- tally.c: exact counts for findings made from events ---- */

struct sl_tally;
struct sl_tally *sl_tally_new(void);
/* A finding d was just made from an event of call site stack failing with err. */
void sl_tally_note(struct sl_tally *t, uint32_t stack, int err, const struct sl_diag *d);
int sl_tally_seen(const struct sl_tally *t, uint32_t stack, int err);
/* How many calls from stack failed with err, by the site's own counter. */
uint64_t sl_site_errors(const struct sl_image *img, uint32_t stack, int err);
/* Adds what the counters counted beyond the events seen to each noted group; frees t. */
void sl_tally_flush(struct sl_tally *t, const struct sl_ctx *x);

/* ---- escape.c: text from the program or the network, safe for a terminal ---- */

/* Writes in[0, n) to out (len bytes, NUL-terminated) with control characters, non-UTF-8 bytes and
 * the Unicode controls that reorder text shown as escapes; returns the length written. */
size_t sl_escape(char *out, size_t len, const char *in, size_t n);
/* The same in one of a few rotating static buffers (up to 4 KiB): for one printf's arguments. */
const char *sl_esc(const char *s);

/* ---- util.c: names and formats shared by text and JSON ---- */

const char *sl_errno_name(int err);  /* "ECONNREFUSED", or NULL */
void sl_addr_format(const struct sl_addr *a, char *out, size_t len); /* "" when unknown */
const char *sl_role_name(int role);
const char *sl_type_name(int family, int type);
const char *sl_opt_name(int opt);
const char *sl_call_name(int call);
void sl_dur_format(uint64_t ns, char *out, size_t len);
/* A duration measured on the coarse clock (slots, in-flight calls): "under 4 ms" below its resolution. */
void sl_cdur_format(const struct sl_log_header *h, uint64_t ns, char *out, size_t len);
uint64_t sl_mono_now(void);          /* CLOCK_MONOTONIC in ns: the clock every log uses */
/* State letter, parent pid and start time (clock ticks since boot) of pid, from
 * /proc/<pid>/stat; returns 0, or -1 when the process is gone. */
int sl_proc_stat(int pid, char *state, int *ppid, uint64_t *start_ticks);
/* Parses "1.5s", "250ms", "40us", "2m", "1h", "30" (seconds); returns 0 or -1. */
int sl_dur_parse(const char *s, uint64_t *ns);
/* Parses "512M", "2G", "100k", "1048576" (bytes); returns 0 or -1. */
int sl_size_parse(const char *s, uint64_t *bytes);
/* The signals socklens run passes on to the program (every catchable one but faults, SIGCHLD and
 * job control). */
void sl_forwarded_signals(sigset_t *set);
/* socklens's own fd limit raised to the hard one at start; the program's restored in its child. */
void sl_limits_raise(void);
void sl_limits_restore(void);

/* Facts about a connection several rules share. */
int sl_is_tcp(const struct sl_slot *s);
int sl_connected(const struct sl_slot *s);     /* connected, accepted, or inherited with a peer */
int sl_opt_on(const struct sl_slot *s, int opt); /* set by the program to a value above 0 */
uint32_t sl_conn_stack(const struct sl_slot *s); /* where it was connected, else opened */
uint64_t sl_conn_now(const struct sl_run *run, const struct sl_conn *c); /* now if live, else its end */
void sl_peer_host(const char *peer, char *out, size_t len); /* "10.0.0.1:80" -> "10.0.0.1" */
/* rule_exchange.c: how long the program has held c since the peer closed (0: not a close-wait) */
uint64_t sl_close_wait_ns(const struct sl_run *run, const struct sl_conn *c);
/* ... and how long a request has waited for an answer that never came (0: not that) */
uint64_t sl_unanswered_ns(const struct sl_run *run, const struct sl_conn *c);
/* rule_timeouts.c: a blocking read could hang here: no timeout, no poll */
int sl_read_unguarded(const struct sl_slot *s);

/* ---- report_text.c, report_json.c ---- */

/* Process facts both renderers print: "exited 3", "killed by SIGKILL", "running". */
void sl_proc_status(const struct sl_proc *p, char *out, size_t len);
/* Wall-clock time of a monotonic timestamp of an image, as RFC 3339 UTC with milliseconds. */
void sl_wall_time(const struct sl_log_header *h, uint64_t mono_ns, char *out, size_t len);
void sl_wall_format(uint64_t real_ns, char *out, size_t len); /* CLOCK_REALTIME ns, the same way */

enum { SL_COLOR_AUTO, SL_COLOR_ALWAYS, SL_COLOR_NEVER };
/* Colours severities on out per mode (auto: a terminal, unless NO_COLOR is set). */
void sl_text_color(int mode, FILE *out);
/* Writes text after lead, wrapped at the report's width and indented under its start. */
void sl_text_wrapped(FILE *out, const char *lead, const char *text);
void sl_report_text(FILE *out, const struct sl_run *run, const struct sl_diags *ds, struct sl_audit *audit);
/* JSON: open the sink before the analysis (connections stream into it), finish after. */
struct sl_json_sink *sl_json_open(FILE *f, int with_connections);
void sl_json_image(struct sl_json_sink *s, const struct sl_ctx *c);
/* Writes processes, findings and the audit (NULL: none) and closes the document; returns 0 or -1
 * (cannot write). */
int sl_json_finish(struct sl_json_sink *s, const struct sl_run *run, const struct sl_diags *ds,
		   const struct sl_audit *audit);

/* ---- elfcheck.c ---- */

/* Describes why LD_PRELOAD cannot reach the program at path, or returns NULL. */
const char *sl_untraceable_reason(const char *path);
/* The same as an enum sl_untraced (0: reachable). */
int sl_untraceable_kind(const char *path);
int sl_elf_is_go(const char *path); /* a Go program (it keeps frame pointers on x86-64) */

/* ---- audit.c: --audit, the options in force per call site ---- */

struct sl_audit;
struct sl_audit *sl_audit_new(void);
void sl_audit_free(struct sl_audit *a);
void sl_audit_image(struct sl_audit *a, const struct sl_ctx *c); /* during the analysis */
void sl_audit_text(FILE *out, const struct sl_run *run, struct sl_audit *a);
json_t *sl_audit_json(const struct sl_run *run, const struct sl_audit *a);
json_t *sl_frames_json(const struct sl_frame *f, size_t n); /* report_json.c */

/* ---- live.c: a running traced process, seen from outside ---- */

/* The run directory of traced process pid (its SOCKLENS_DIR); 0, or -1 with err set. */
int sl_live_run_dir(int pid, char *out, size_t len, char *err, size_t errlen);
/* A RUNDIR|PID argument: dir as given, or the run directory of process *pid; 0, or -1 with err. */
int sl_target_dir(const char *target, char *dir, size_t len, int *pid, char *err, size_t errlen);
/* The symbolized stack of thread tid of pid, blocked in a system call, read without stopping it;
 * how many frames (0 when it is not in a system call or cannot be read). */
size_t sl_live_stack(int pid, int tid, struct sl_frame *f, size_t max);

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

#define SL_VERSION "0.1.0"
/* Writes the run's metrics to path (through a temporary file renamed over it); 0, or -1 with a
 * reason in err. */
int sl_prometheus_write(const char *path, const struct sl_run *run, const struct sl_diags *ds, char *err,
			size_t errlen);
/* Appends one OTLP JSON ExportLogsServiceRequest line, a record per finding; 0, or -1 with a
 * reason in err. */
int sl_otlp_append(const char *path, const struct sl_run *run, const struct sl_diags *ds, char *err, size_t errlen);

/* ---- report.c: what run and report share ---- */

struct sl_output {
	FILE *text;                  /* text report destination, NULL for none */
	FILE *json;                  /* JSON report destination, NULL for none */
	uint64_t fail_mask;          /* bit per enum sl_kind from --fail-on */
	int color;                   /* SL_COLOR_* for the text report */
	struct sl_thresholds th;
	int audit;                   /* --audit: options per call site */
	uint64_t since_ns;           /* --since: only findings from the last this long (0: all) */
	const char *prometheus;      /* --prometheus FILE: metrics for node_exporter's textfile collector */
	const char *otlp;            /* --otlp FILE: findings as OTLP JSON log records, appended */
	int no_connections;          /* the JSON report without its connections (watch) */
	const char *main_untraced;   /* run: why the program it started cannot be traced (NULL: it can) */
};

/* Parses --color's auto, always or never; returns 0 or -1. */
int sl_color_parse(const char *arg, int *mode);
/* Parses "connect-refused,socket-leak" or "all" into a mask; returns 0 or -1. */
int sl_fail_on_parse(const char *list, uint64_t *mask);
/* How much of a run could be looked at: all of it, part (a log unreadable, lost or never made),
 * or nothing (no process left a readable log). why says what was missed. */
enum sl_checked { SL_CHECKED_ALL, SL_CHECKED_PART, SL_CHECKED_NONE };
enum sl_checked sl_run_checked(const struct sl_run *run, char *why, size_t len);
/* Notes a log that could not be read (the first one's path and reason are kept). */
void sl_run_bad_log(struct sl_run *run, const char *path, const char *why);
/* What sl_report_dir found: bits of these, or -1 on error. */
enum { SL_REPORT_FAIL_ON = 1, SL_REPORT_UNCHECKED = 2 };
/* Indexes dir, analyzes it and writes the reports. Returns -1 on error, else SL_REPORT_FAIL_ON
 * when a --fail-on kind was found, with SL_REPORT_UNCHECKED when part of the run (or all of it)
 * could not be looked at. */
int sl_report_dir(const char *dir, const struct sl_output *o);
/* The exit status a report's result gives a CI gate (--fail-on set): 0, SL_EXIT_FAIL_ON or
 * SL_EXIT_NOT_CHECKED. */
int sl_report_status(int r, const struct sl_output *o);

/* ---- commands ---- */

/* trace.c: runs cmd under ptrace and seccomp (a Go or static program), writing its logs into dir;
 * ends this process the way the program ended. program_mask is the signal mask it starts with. */
void sl_trace_exec(char **cmd, const char *dir, int no_argv, int trace_data, FILE *exits,
		   const sigset_t *program_mask)
	__attribute__((noreturn));
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_stuck(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_top(int argc, char **argv);
void sl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* exit codes, documented in the README */
enum { SL_EXIT_USAGE = 2, SL_EXIT_INTERNAL = 125, SL_EXIT_FAIL_ON = 86, SL_EXIT_NOT_CHECKED = 87 };

#endif
