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

/* The exec'ing process's image ended by that exec (it did not fail): a new image ran. */
static int exec_happened(const struct sl_proc *p, uint64_t ts)
{
	for (size_t k = 0; p && k < p->nimages; k++) {
		const struct sl_log_header *h = &p->images[k].h;
		if (h->start_mono_ns <= ts && h->end_reason == SL_END_EXEC && h->end_mono_ns >= ts)
			return 1;
	}
	return 0;
}

/* A log of pid begun at or after the exec: the child was traced. */
static int logged_after(const struct sl_run *run, int pid, uint64_t ts)
{
	const struct sl_proc *p = sl_run_find_at(run, pid, ts);
	for (size_t k = 0; p && k < p->nimages; k++)
		if (p->images[k].h.start_mono_ns >= ts)
			return 1;
	return 0;
}

void sl_rule_untraced(const struct sl_run *run, struct sl_diags *out)
{
	for (size_t i = 0; i < run->nexecs; i++) {
		const struct sl_exec_rec *x = &run->execs[i];
		if (logged_after(run, x->pid, x->ts_ns))
			continue;
		int why = x->why ? (int)x->why : sl_untraceable_kind(x->path);
		const struct sl_proc *p = sl_run_find_at(run, x->pid, x->ts_ns);
		/* a program that should have been logged and was not, though its exec went through */
		if (!why && exec_happened(p, x->ts_ns))
			why = SL_UNTRACED_USER;
		if (!p)
			p = sl_run_find_at(run, x->ppid, x->ts_ns);
		if (!why || !p)
			continue; /* an exec that failed, or a log the budget refused (counted apart) */
		struct sl_diag d;
		sl_diag_init(&d, SL_K_UNTRACED_EXEC, SL_SEV_WARNING, p, -1);
		snprintf(d.group_peer, sizeof d.group_peer, "%d:%.150s", why, x->path);
		snprintf(d.summary, sizeof d.summary,
			 "exec of %.150s (pid %d) was not traced: %s; its sockets, and those of what it runs, "
			 "are not in this report.",
			 x->path, x->pid, reason(why));
		sl_diags_add(out, NULL, &d, 0, 0);
	}
}
