/* rule_io.c - connection-reset and broken-pipe from failed data calls; fd-exhaustion from failed
 * socket/accept calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "analyzer.h"

static void from_image(const struct sl_run *run, const struct sl_proc *p, struct sl_image *img,
		       struct sl_diags *out)
{
	(void)run;
	for (uint32_t i = 0; i < img->nevents; i++) {
		const struct sl_event *ev = &img->events[i];
		if (ev->commit != i + 1 || ev->type != SL_EV_ERROR)
			continue;
		int exhausted = ev->err == EMFILE || ev->err == ENFILE;
		if (ev->err != ECONNRESET && ev->err != EPIPE && !exhausted)
			continue;
		struct sl_diag d;
		memset(&d, 0, sizeof d);
		d.kind = exhausted ? SL_K_FD_EXHAUSTION : ev->err == EPIPE ? SL_K_BROKEN_PIPE : SL_K_CONNECTION_RESET;
		d.sev = SL_SEV_ERROR;
		d.proc = p;
		d.img = img;
		d.fd = ev->fd;
		d.err = ev->err;
		d.stack = ev->stack;
		d.conn_id = ev->conn_id;
		d.count = 1;
		sl_addr_format(&ev->addr, d.peer, sizeof d.peer);
		if (exhausted)
			snprintf(d.summary, sizeof d.summary, "%s() failed with %s: no file descriptor left for a new "
				 "socket.", sl_call_name(ev->call), sl_errno_name(ev->err));
		else
			snprintf(d.summary, sizeof d.summary, "%s() on the connection to %s failed with %s: %s.",
				 sl_call_name(ev->call), d.peer[0] ? d.peer : "an unnamed peer", sl_errno_name(ev->err),
				 ev->err == EPIPE ? "the peer had already closed it" : "the peer reset it");
		sl_diags_add(out, &d);
	}
}

void sl_rule_io_errors(const struct sl_run *run, struct sl_diags *out)
{
	sl_run_each_image(run, out, from_image);
}
