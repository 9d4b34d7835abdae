/* cmd_report.c - `socklens report`: analyze a finished or still-running run without disturbing it. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "cmd/cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: socklens report [--json] [--html FILE] [--trace FILE] [--audit] [--since DURATION]\n"
		"                       [--prometheus FILE] [--otlp FILE] [--threshold NAME=VALUE]...\n"
		"                       [--fail-on KINDS] [--error-exitcode N] RUNDIR|PID\n"
		"\n"
		"  --json                   print the JSON report on stdout instead of text\n"
		"  --html FILE              also write a self-contained HTML report: findings, a\n"
		"                           timeline of connections, latency histograms\n"
		"  --trace FILE             also write the run as a Chrome/Perfetto trace (JSON)\n"
		"  --threshold NAME=VALUE   change a threshold (durations take us, ms, s, m):\n");
	sl_thresholds_usage(out, "                             ");
	fprintf(out, "  --fail-on KINDS          exit %d if any of these kinds (comma-separated, or all) is found\n"
		"                           as a warning or an error (info never fails)\n"
		"  --error-exitcode N       exit N instead when --fail-on matches (alone: --fail-on all)\n"
		"  --audit                  also list each call site's socket options and what is missing\n"
		"  --since DURATION         only what happened in the last DURATION (10m, 90s)\n"
		"  --prometheus FILE        also write metrics in Prometheus text format (atomically)\n"
		"  --otlp FILE              also append the findings as OTLP JSON log records\n"
		"  --color WHEN             colour the text report: auto, always, never\n",
		SL_EXIT_FAIL_ON);
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"threshold", required_argument, NULL, 't'},
		{"fail-on", required_argument, NULL, 'f'},
		{"error-exitcode", required_argument, NULL, 'E'},
		{"color", required_argument, NULL, 'c'},
		{"audit", no_argument, NULL, 'A'},
		{"since", required_argument, NULL, 's'},
		{"prometheus", required_argument, NULL, 'P'},
		{"otlp", required_argument, NULL, 'O'},
		{"html", required_argument, NULL, 'H'},
		{"trace", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sl_output o = {.text = stdout};
	const char *html = NULL, *trace = NULL;
	sl_thresholds_default(&o.th);
	int c;
	while ((c = getopt_long(argc, argv, "+jt:f:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			o.audit = 1;
			break;
		case 's':
			if (sl_dur_parse(optarg, &o.since_ns) < 0 || !o.since_ns) {
				sl_error("bad --since '%s' (a duration: 10m, 1h)", optarg);
				return SL_EXIT_USAGE;
			}
			break;
		case 'P':
			o.prometheus = optarg;
			break;
		case 'O':
			o.otlp = optarg;
			break;
		case 'H':
			html = optarg;
			break;
		case 'T':
			trace = optarg;
			break;
		case 'c':
			if (sl_color_parse(optarg, &o.color) < 0)
				return SL_EXIT_USAGE;
			break;
		case 'j':
			o.text = NULL;
			o.json = stdout;
			break;
		case 't':
			if (sl_threshold_set(&o.th, optarg) < 0) {
				sl_error("bad threshold '%s' (names: %s)", optarg, sl_thresholds_names());
				return SL_EXIT_USAGE;
			}
			break;
		case 'f':
			if (sl_fail_on_parse(optarg, &o.fail_mask) < 0)
				return SL_EXIT_USAGE;
			break;
		case 'E':
			if (sl_error_exitcode_parse(optarg, &o.fail_status) < 0)
				return SL_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return sl_usage_error("report");
		}
	}
	if (optind != argc - 1) {
		sl_error("report needs exactly one run directory (or the pid of a traced process)");
		return sl_usage_error("report");
	}
	char dir[4096], err[512];
	int pid;
	if (sl_target_dir(argv[optind], dir, sizeof dir, &pid, err, sizeof err) < 0) {
		sl_error("%s", err);
		return 1;
	}
	struct sl_outfile hf, tf;
	if (html && sl_out_open(&hf, html, err, sizeof err) < 0) {
		sl_error("cannot write HTML report '%s': %s", html, err);
		return 1;
	}
	if (trace && sl_out_open(&tf, trace, err, sizeof err) < 0) {
		sl_error("cannot write trace '%s': %s", trace, err);
		if (html)
			sl_out_abort(&hf);
		return 1;
	}
	o.html = html ? hf.f : NULL;
	o.trace = trace ? tf.f : NULL;
	int r = sl_report_dir(dir, &o);
	if (html && (r < 0 ? (sl_out_abort(&hf), 0) : sl_out_close(&hf) < 0)) {
		sl_error("cannot write HTML report '%s': %s", html, strerror(errno));
		r = -1;
	}
	if (trace && (r < 0 ? (sl_out_abort(&tf), 0) : sl_out_close(&tf) < 0)) {
		sl_error("cannot write trace '%s': %s", trace, strerror(errno));
		r = -1;
	}
	return r < 0 ? 1 : sl_report_status(r, &o);
}
