/* rule_untraced.c - untraced-exec: children the preload could not follow, and why. The shim
 * records every exec in the run's exec table; a child that left no log afterwards is named here,
 * with the reason read off its program file (static, Go, setuid) or the environment it got. */
#define _GNU_SOURCE
#include <string.h>
#include "rules/rules.h"

static const char *reason(int why)
{
	switch (why) {
	case SL_UNTRACED_ENV:
		return "the new environment drops LD_PRELOAD or SOCKLENS_DIR (env -i, sudo, a sanitized env)";
	case SL_UNTRACED_SETUID:
		return "it is setuid/setgid or has file capabilities, so the loader ignores LD_PRELOAD";
	case SL_UNTRACED_STATIC:
		return "it is statically linked or a Go program, so it never calls libc's socket functions";
	case SL_UNTRACED_USER:
		return "it left no log: the shim could not write in the run directory (it said why on the "
		       "program's stderr), or the program ended before its log was made";
	}
	return "unknown reason";
}

/* What to do about it, for that reason (the kind's own text covers them all). */
static const char *advice(int why)
{
	switch (why) {
	case SL_UNTRACED_ENV:
		return "The program that ran it gave it an environment without socklens's variables: to "
		       "follow it, pass LD_PRELOAD and SOCKLENS_DIR through (env -i VAR=..., sudo "
		       "--preserve-env, a test driver's environment reset).";
	case SL_UNTRACED_SETUID:
		return "A setuid or setgid program can only be traced by running a copy without the bit.";
	case SL_UNTRACED_STATIC:
		return "A Go or static program is followed when socklens run starts it, or starts the script, "
		       "shell or launcher (env, timeout, tini...) that runs it; not when a debugger or strace "
		       "traces the process that runs it, nor when another kind of program runs it.";
	}
	return NULL;
}

/* The program that made the exec x: the one its process ran then (sl_run_arrived_at). The finding
 * is told in the log of the nearest process that has one, whose name may be another program's (a
 * shell's, whose child ran a test driver that cleared the environment). */
static const char *exec_by(const struct sl_run *run, const struct sl_exec_rec *x)
{
	const struct sl_exec_rec *by = sl_run_arrived_at(run, x->pid, x->ts_ns);
	return by && by->path[0] ? by->path : NULL;
}

void sl_rule_untraced(const struct sl_run *run, struct sl_diags *out)
{
	for (size_t i = 0; i < run->nexecs; i++) {
		const struct sl_exec_rec *x = &run->execs[i];
		const struct sl_proc *p;
		int why = sl_exec_untraced(run, x, &p);
		if (!why)
			continue;
		/* a gap in what was looked at (the result says "incomplete"), not a defect of the program:
		 * sshd gives its sessions a clean environment by design */
		struct sl_diag d;
		sl_diag_init(&d, SL_K_UNTRACED_EXEC, SL_SEV_INFO, p, -1);
		snprintf(d.group_peer, sizeof d.group_peer, "%d:%.150s", why, x->path);
		const char *by = exec_by(run, x);
		snprintf(d.summary, sizeof d.summary,
			 "exec of %.150s (pid %d%s%.150s) was not traced: %s; its sockets, and those of what it "
			 "runs, are not in this report.",
			 x->path, x->pid, by ? ", by " : "", by ? by : "", reason(why));
		d.advice = advice(why);
		sl_diags_add(out, NULL, &d, 0, 0);
	}
}
