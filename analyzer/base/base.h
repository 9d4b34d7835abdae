/* base.h - the bottom of the analyzer: names and formats of the log format's values, parsing,
 * escaping text for a terminal, messages and exit codes, a few facts about one slot. Depends on
 * socklens/log.h only; every other folder of the analyzer (and the tracer) may use it.
 *
 * The analyzer's folders follow the data, each using only those below it:
 *   cmd/ -> report/ -> rules/ -> model/ -> symbols/ -> base/ -> include/socklens/log.h */
#ifndef SL_BASE_H
#define SL_BASE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include "socklens/log.h"

#define SL_VERSION "0.1.0"

/* exit codes, documented in the README */
enum { SL_EXIT_USAGE = 2, SL_EXIT_INTERNAL = 125, SL_EXIT_FAIL_ON = 86, SL_EXIT_NOT_CHECKED = 87, SL_EXIT_DIFF_GATE = 88 };

/* Messages in git's style, escaped: "socklens: error: cannot open log '/x': ...". */
void sl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error's last line, as strace's: "Try 'socklens CMD --help' for more information."
 * (cmd NULL: the command list). Returns SL_EXIT_USAGE. */
int sl_usage_error(const char *cmd);

/* ---- escape.c: text from the program or the network, safe for a terminal ---- */

/* Writes in[0, n) to out (len bytes, NUL-terminated) with control characters, non-UTF-8 bytes and
 * the Unicode controls that reorder text shown as escapes; returns the length written. */
size_t sl_escape(char *out, size_t len, const char *in, size_t n);
/* The same in one of a few rotating static buffers (up to 4 KiB): for one printf's arguments. */
const char *sl_esc(const char *s);

/* ---- util.c: names and formats shared by text and JSON ---- */

const char *sl_errno_name(int err);  /* "ECONNREFUSED", or NULL */
void sl_addr_format(const struct sl_addr *a, char *out, size_t len); /* "" when unknown */
int sl_addr_port(const struct sl_addr *a); /* an IPv4 or IPv6 address's port; -1 for others */
/* Whether a connection from local to peer stays on this host (loopback, or its own address). */
int sl_addr_same_host(const struct sl_addr *local, const struct sl_addr *peer);
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
/* Opens a file for reading without following links or blocking; -1 unless it is regular. */
int sl_open_regular(const char *path, struct stat *st, char *err, size_t errlen);
/* The signals socklens run passes on to the program (every catchable one but faults, SIGCHLD and
 * job control). */
void sl_forwarded_signals(sigset_t *set);
/* socklens's own fd limit raised to the hard one at start; the program's restored in its child. */
void sl_limits_raise(void);
void sl_limits_restore(void);

/* Facts about one connection's slot that several rules and renderers read. */
int sl_is_tcp(const struct sl_slot *s);
int sl_connected(const struct sl_slot *s);     /* connected, accepted, or inherited with a peer */
int sl_opt_on(const struct sl_slot *s, int opt); /* set by the program to a value above 0 */
int sl_met(const struct sl_slot *s, int err);  /* the connection's own calls failed with err */
uint32_t sl_conn_stack(const struct sl_slot *s); /* where it was connected, else opened */
void sl_peer_host(const char *peer, char *out, size_t len); /* "10.0.0.1:80" -> "10.0.0.1" */

#endif
