/* rule_untraced.c - untraced-exec: children the preload could not follow, and why. */
#define _GNU_SOURCE
#include <string.h>
#include "analyzer.h"

static const char *reason(int why)
{
	switch (why) {
	case SL_UNTRACED_ENV:
		return "the new environment drops LD_PRELOAD or SOCKLENS_DIR (env -i, sudo, a sanitized env)";
	case SL_UNTRACED_SETUID:
		return "it is setuid/setgid, so the loader ignores LD_PRELOAD";
	case SL_UNTRACED_STATIC:
		return "it is statically linked, so nothing loads the shim";
	}
	return "unknown reason";
}

static void from_image(const struct sl_run *run, const struct sl_proc *p, struct sl_image *img,
		       struct sl_diags *out)
{
	(void)run;
	for (uint32_t i = 0; i < img->nevents; i++) {
		const struct sl_event *ev = &img->events[i];
		if (ev->commit != i + 1 || ev->type != SL_EV_UNTRACED_EXEC)
			continue;
		char path[SL_ADDR_DATA + 1];
		memcpy(path, ev->addr.data, SL_ADDR_DATA);
		path[SL_ADDR_DATA] = 0; /* terminated by the shim, but the log is untrusted */
		struct sl_diag d;
		memset(&d, 0, sizeof d);
		d.kind = SL_K_UNTRACED_EXEC;
		d.sev = SL_SEV_WARNING;
		d.proc = p;
		d.img = img;
		d.fd = -1;
		d.stack = ev->stack;
		d.count = 1;
		snprintf(d.group_peer, sizeof d.group_peer, "%d:%.150s", ev->err, path);
		snprintf(d.summary, sizeof d.summary,
			 "exec of %.150s (pid %lld) was not traced: %s; its sockets, and those of what it runs, "
			 "are not in this report.",
			 path, (long long)ev->a, reason(ev->err));
		sl_diags_add(out, &d);
	}
}

void sl_rule_untraced(const struct sl_run *run, struct sl_diags *out)
{
	sl_run_each_image(run, out, from_image);
}
