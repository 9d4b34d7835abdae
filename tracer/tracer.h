/* tracer.h - the second front end: socklens run's tracer for programs the preload cannot reach
 * (Go, static). It writes the same logs as the shim, through the same recorder. */
#ifndef SL_TRACER_H
#define SL_TRACER_H

#include <signal.h>
#include <stdio.h>

/* Runs cmd under ptrace and seccomp, writing its logs into dir; ends this process the way the
 * program ended. With execs_only (cmd is a script or a launcher, recorded by the preload), its
 * processes are followed without the filter, and only the Go and static programs they exec get it.
 * program_mask is the signal mask it starts with; in_child, if not NULL, is called in the
 * program's process before it execs (socklens run gives the program its own limits back). */
void sl_trace_exec(char **cmd, const char *dir, int no_argv, int trace_data, int execs_only, FILE *exits,
		   const sigset_t *program_mask, void (*in_child)(void)) __attribute__((noreturn));

#endif
