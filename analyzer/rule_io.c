/* rule_io.c - connection-reset and broken-pipe from failed data calls; fd-exhaustion from failed
 * socket/accept calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "analyzer.h"

void sl_rule_io_errors(struct sl_ctx *c)
{
	for (uint32_t i = 0; i < c->img->nevents; i++) {
		const struct sl_event *ev = &c->img->events[i];
		if (ev->type != SL_EV_ERROR)
			continue;
		int exhausted = ev->err == EMFILE || ev->err == ENFILE;
		if (ev->err != ECONNRESET && ev->err != EPIPE && !exhausted)
			continue;
		struct sl_diag d;
		sl_diag_init(&d, exhausted ? SL_K_FD_EXHAUSTION : ev->err == EPIPE ? SL_K_BROKEN_PIPE : SL_K_CONNECTION_RESET,
			     SL_SEV_ERROR, c->proc, ev->fd);
		d.err = ev->err;
		d.conn_id = ev->conn_id;
		sl_addr_format(&ev->addr, d.peer, sizeof d.peer);
		if (exhausted)
			snprintf(d.summary, sizeof d.summary, "%s() failed with %s: no file descriptor left for a new "
				 "socket.", sl_call_name(ev->call), sl_errno_name(ev->err));
		else
			snprintf(d.summary, sizeof d.summary, "%s() on the connection to %s failed with %s: %s.",
				 sl_call_name(ev->call), d.peer[0] ? d.peer : "an unnamed peer", sl_errno_name(ev->err),
				 ev->err == EPIPE ? "the peer had already closed it" : "the peer reset it");
		sl_diags_add(c->out, c->img, &d, ev->stack, 0);
	}
}
