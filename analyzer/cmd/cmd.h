/* cmd.h - the commands, one file each, dispatched from main.c's table. Uses report/ and everything
 * below it, and the tracer (tracer/tracer.h) for programs the preload cannot reach. */
#ifndef SL_CMD_H
#define SL_CMD_H

#include "report/report.h"

int cmd_run(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_stuck(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_top(int argc, char **argv);
/* topics.c: `socklens help TOPIC` (environment, exit-status, kinds); 0 when there is no such topic */
int sl_help_topic(const char *name, FILE *out);
void sl_help_topics(FILE *out);

#endif
