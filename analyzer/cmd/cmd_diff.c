/* cmd_diff.c - `socklens diff BEFORE AFTER`: did the fix work? Two runs (their directories, or
 * their --json reports) compared by report/diff.c, with gates for CI. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cmd/cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: socklens diff [--json] [--markdown] [--fail-on-new SEVERITY] [--max-regression GATES]\n"
		"                     [--force] BEFORE AFTER\n"
		"\n"
		"Compares two runs of the same program: findings new and gone by kind and call site, and per peer\n"
		"and call site the connections, connect and reply latency, bytes, time blocked and errors, each\n"
		"change tested against noise (Mann-Whitney U; counts by a binomial test; p < 0.01), and the\n"
		"run's span, connections and writes a second (shown, not tested: one value a side).\n"
		"BEFORE and AFTER are run directories or JSON reports (socklens run --json, socklens report --json).\n"
		"  --json                   the comparison as JSON\n"
		"  --markdown               as Markdown (a pull-request comment)\n"
		"  --fail-on-new SEVERITY   exit %d if a finding this severe (info, warning, error) is new\n"
		"  --max-regression GATES   exit %d past these, comma-separated: latency=10%% (a significant rise of\n"
		"                           the median connect, reply or read wait time), errors=N (more errors than before + N)\n"
		"  --force                  compare runs of different programs\n"
		"Exits 0, %d when a gate failed, 1 when the runs cannot be compared, 2 on a usage error.\n",
		SL_EXIT_DIFF_GATE, SL_EXIT_DIFF_GATE, SL_EXIT_DIFF_GATE);
}

/* A run directory analyzed into its JSON report, or a JSON report read; NULL with why. */
static json_t *load(const char *path, char *err, size_t len)
{
	struct stat st;
	json_t *r = NULL;
	if (stat(path, &st) < 0) {
		snprintf(err, len, "'%s': %s", sl_esc(path), strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		char *buf = NULL;
		size_t n = 0;
		FILE *mem = open_memstream(&buf, &n);
		struct sl_output o = {.json = mem, .no_conn_stacks = 1}; /* (the site is all it compares) */
		sl_thresholds_default(&o.th);
		int rc = mem ? sl_report_dir(path, &o) : -1;
		if (mem)
			fclose(mem);
		json_error_t je;
		r = rc < 0 ? NULL : json_loadb(buf, n, 0, &je);
		free(buf);
		if (!r)
			snprintf(err, len, "'%s': the run could not be analyzed", sl_esc(path));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, len, "'%s': not a run directory nor a JSON report file", sl_esc(path));
	} else {
		json_error_t je;
		if (!(r = json_load_file(path, 0, &je)))
			snprintf(err, len, "'%s': not a JSON report (%s, line %d)", sl_esc(path), je.text, je.line);
	}
	char why[256];
	if (r && sl_diff_comparable(r, why, sizeof why) < 0) {
		snprintf(err, len, "'%s': %s", sl_esc(path), why);
		json_decref(r);
		return NULL;
	}
	return r;
}

static int parse_gates(const char *arg, struct sl_diff_gates *g)
{
	char *copy = strdup(arg), *save = NULL;
	int rc = 0;
	for (char *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
		char *end;
		if (!strncmp(t, "latency=", 8)) {
			g->latency_pct = strtod(t + 8, &end);
			rc = end == t + 8 || (*end && strcmp(end, "%")) || g->latency_pct < 0 ? -1 : 0;
		} else if (!strncmp(t, "errors=", 7)) {
			g->errors = strtol(t + 7, &end, 10);
			rc = end == t + 7 || *end || g->errors < 0 ? -1 : 0;
		} else {
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},          {"markdown", no_argument, NULL, 'm'},
		{"fail-on-new", required_argument, NULL, 'n'}, {"max-regression", required_argument, NULL, 'r'},
		{"force", no_argument, NULL, 'F'},         {"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sl_diff_gates gates = {.new_severity = -1, .latency_pct = -1, .errors = -1};
	int c, as_json = 0, markdown = 0;
	while ((c = getopt_long(argc, argv, "+jmn:r:Fh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = 1; break;
		case 'm': markdown = 1; break;
		case 'F': gates.force = 1; break;
		case 'n':
			gates.new_severity = !strcmp(optarg, "info") ? 0 : !strcmp(optarg, "warning") ? 1
					     : !strcmp(optarg, "error") ? 2 : -2;
			if (gates.new_severity == -2) {
				sl_error("bad --fail-on-new '%s' (info, warning or error)", optarg);
				return SL_EXIT_USAGE;
			}
			break;
		case 'r':
			if (parse_gates(optarg, &gates) < 0) {
				sl_error("bad --max-regression '%s' (latency=10%%,errors=0)", optarg);
				return SL_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return sl_usage_error("diff");
		}
	}
	if (argc - optind != 2) {
		sl_error("diff needs two runs: BEFORE AFTER (run directories or JSON reports)");
		return sl_usage_error("diff");
	}
	char err[600];
	json_t *before = load(argv[optind], err, sizeof err), *after = before ? load(argv[optind + 1], err, sizeof err) : NULL;
	if (!before || !after) {
		sl_error("cannot compare: %s", err);
		json_decref(before);
		return 1;
	}
	int failed = 0;
	json_t *d = sl_diff(before, after, &gates, &failed, err, sizeof err);
	json_decref(before);
	json_decref(after);
	if (!d) {
		sl_error("cannot compare: %s", err);
		return 1;
	}
	if (as_json) {
		json_dumpf(d, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | SL_JSON_REALS);
		fputc('\n', stdout);
	} else {
		sl_diff_text(stdout, d, markdown);
	}
	json_decref(d);
	return failed ? SL_EXIT_DIFF_GATE : 0;
}
