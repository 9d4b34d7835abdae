/* main.c - socklens: subcommand dispatch, usage, and the error/warning helpers. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"


static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{"run", cmd_run, "run a program under the shim and report its socket problems at exit"},
	{"report", cmd_report, "analyze the logs of a finished or still-running run"},
	{"stuck", cmd_stuck, "list the threads blocked in socket calls right now, with their stacks"},
	{"top", cmd_top, "a refreshing view of a running run's connections (ncurses)"},
	{"watch", cmd_watch, "write a report every interval: JSON lines, Prometheus textfile, OTLP JSON"},
	{"diff", cmd_diff, "compare two runs: findings new and gone, latency and errors, beyond noise or not"},
	{"dump", cmd_dump, "print a run's raw records (for debugging socklens)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: socklens <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'socklens <command> --help' describes each command's options; 'man socklens' all of it.\n");
	sl_help_topics(out);
}

int main(int argc, char **argv)
{
	sl_limits_raise();
	if (argc < 2) {
		usage(stderr);
		return SL_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || (!strcmp(cmd, "help") && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("socklens %s (log format %u)\n", SL_VERSION, SL_LOG_VERSION);
		return 0;
	}
	static char help[] = "--help";
	char *help_argv[] = {argv[0], NULL, help, NULL};
	if (!strcmp(cmd, "help")) { /* socklens help CMD: CMD --help; socklens help TOPIC */
		if (sl_help_topic(argv[2], stdout))
			return 0;
		cmd = argv[2];
		argc = 3;
		argv = help_argv;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name)) {
			/* getopt's messages begin with argv[0]: "socklens run: unrecognized option ..." */
			static char name[32];
			snprintf(name, sizeof name, "socklens %s", cmd);
			argv[1] = name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "socklens: unknown command '%s'\n", sl_esc(cmd));
	return sl_usage_error(NULL);
}
