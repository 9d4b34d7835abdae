/* cmd_watch.c - `socklens watch RUNDIR|PID`: a report every interval, for the tools that ship logs
 * and metrics. Each tick appends one line of JSON (what was found in the interval) to a JSON-lines
 * file, appends the same findings as OTLP JSON log records, and rewrites a Prometheus textfile with
 * the run's totals. Nothing is written to the run directory: watching is reading. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd/cmd.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: socklens watch [--every DURATION] [--json-lines FILE] [--prometheus FILE] [--otlp FILE]\n"
		     "                      [--count N] [--threshold NAME=VALUE]... RUNDIR|PID\n"
		     "\n"
		     "  --every DURATION     how often (default 60s)\n"
		     "  --json-lines FILE    append one line per interval: the JSON report of what was found in\n"
		     "                       that interval, without the connections\n"
		     "  --prometheus FILE    rewrite FILE (atomically) with the run's metrics each interval\n"
		     "  --otlp FILE          append the interval's findings as OTLP JSON log records\n"
		     "  --count N            stop after N intervals (default: until SIGINT or SIGTERM, or once\n"
		     "                       every process of the run has ended: the last interval is written)\n");
}

/* Every process of the run has ended (at least one having been seen: a watch may start before the
 * program does), or, for a PID, that process has: nothing more can be found. */
static int run_over(const char *dir, int pid)
{
	struct sl_run run;
	char err[512];
	if (sl_run_index(&run, dir, err, sizeof err) < 0) {
		sl_run_release(&run);
		return 0;
	}
	size_t alive = 0, of_pid = 0;
	for (size_t i = 0; i < run.nprocs; i++) {
		alive += run.procs[i].alive;
		if (run.procs[i].pid == pid)
			of_pid += run.procs[i].alive ? 2 : 1;
	}
	int over = pid ? of_pid == 1 : run.nprocs && !alive;
	sl_run_release(&run);
	return over;
}

/* The interval's JSON report, compacted onto one line and appended to path. */
static int json_line(const char *dir, struct sl_output o, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return -1;
	o.json = mem;
	o.no_connections = 1;
	int rc = sl_report_dir(dir, &o);
	fclose(mem);
	json_error_t jerr;
	json_t *doc = rc < 0 ? NULL : json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!doc)
		return -1;
	char err[256];
	FILE *f = sl_out_append(path, err, sizeof err);
	rc = f && json_dumpf(doc, f, JSON_COMPACT | JSON_PRESERVE_ORDER | SL_JSON_REALS) == 0 && fputc('\n', f) != EOF ? 0 : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	json_decref(doc);
	return rc;
}

/* Sleeps until t (CLOCK_MONOTONIC), or until a signal asks to stop. */
static void sleep_until(const struct timespec *t)
{
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

/* Every output path is tried before the first interval: a path that cannot be written is an error
 * now, not a minute later. */
static int check_outputs(const char *jsonl, const char *prom, const char *otlp)
{
	const char *append[] = {jsonl, otlp};
	char err[256];
	for (size_t i = 0; i < 2; i++) {
		FILE *f = append[i] ? sl_out_append(append[i], err, sizeof err) : NULL;
		if (append[i] && !f) {
			sl_error("cannot write '%s': %s", append[i], err);
			return -1;
		}
		if (f)
			fclose(f);
	}
	struct sl_outfile o;
	if (prom && sl_out_open(&o, prom, err, sizeof err) < 0) {
		sl_error("cannot write '%s': %s", prom, err);
		return -1;
	}
	if (prom)
		sl_out_abort(&o);
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{"every", required_argument, NULL, 'e'}, {"json-lines", required_argument, NULL, 'j'},
		{"prometheus", required_argument, NULL, 'P'}, {"otlp", required_argument, NULL, 'O'},
		{"count", required_argument, NULL, 'n'}, {"threshold", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	uint64_t every = 60000000000ull;
	const char *jsonl = NULL, *prom = NULL, *otlp = NULL;
	long count = -1;
	struct sl_thresholds th;
	sl_thresholds_default(&th);
	int c;
	while ((c = getopt_long(argc, argv, "+e:j:P:O:n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (sl_dur_parse(optarg, &every) < 0 || every < 100000000ull) {
				sl_error("bad --every '%s' (a duration of at least 100ms: 30s, 5m)", optarg);
				return SL_EXIT_USAGE;
			}
			break;
		case 'j': jsonl = optarg; break;
		case 'P': prom = optarg; break;
		case 'O': otlp = optarg; break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			if (count <= 0) {
				sl_error("bad --count '%s'", optarg);
				return SL_EXIT_USAGE;
			}
			break;
		case 't':
			if (sl_threshold_set(&th, optarg) < 0) {
				sl_error("bad threshold '%s' (names: %s)", optarg, sl_thresholds_names());
				return SL_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return sl_usage_error("watch");
		}
	}
	if (optind != argc - 1 || (!jsonl && !prom && !otlp)) {
		if (optind == argc - 1)
			sl_error("watch needs at least one of --json-lines, --prometheus, --otlp");
		else
			sl_error("watch needs exactly one run directory (or the pid of a traced process)");
		return sl_usage_error("watch");
	}
	char dir[4096], err[512];
	int pid;
	if (sl_target_dir(argv[optind], dir, sizeof dir, &pid, err, sizeof err) < 0) {
		sl_error("%s", err);
		return 1;
	}
	if (check_outputs(jsonl, prom, otlp) < 0)
		return 1;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	int failures = 0;
	for (long tick = 0; !stop && (count < 0 || tick < count); tick++) {
		next.tv_sec += (time_t)(every / 1000000000ull);
		next.tv_nsec += (long)(every % 1000000000ull);
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		sleep_until(&next);
		if (stop)
			break;
		struct sl_output window = {.th = th, .since_ns = every, .otlp = otlp};
		struct sl_output totals = {.th = th, .prometheus = prom};
		int rc = 0;
		if (jsonl)
			rc |= json_line(dir, window, jsonl);
		else if (otlp)
			rc |= sl_report_dir(dir, &window) < 0 ? -1 : 0;
		if (prom)
			rc |= sl_report_dir(dir, &totals) < 0 ? -1 : 0;
		if (rc) {
			sl_warn("interval %ld: could not write every output", tick + 1);
			failures++;
		}
		if (count < 0 && run_over(dir, pid)) {
			if (pid)
				fprintf(stderr, "socklens: process %d has ended: watch stops after interval %ld\n", pid, tick + 1);
			else
				fprintf(stderr, "socklens: every process of the run has ended: watch stops after interval %ld\n", tick + 1);
			break;
		}
	}
	return failures ? 1 : 0;
}
