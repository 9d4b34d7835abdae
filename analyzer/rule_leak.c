/* rule_leak.c - socket-leak: sockets still open when their process ended, however it ended. */
#define _GNU_SOURCE
#include <string.h>
#include "analyzer.h"

/* Sockets this image is not answerable for: passed on across exec (or closed by it), or
 * inherited at fork, where the parent that created the socket has its own record. */
static int handed_on(const struct sl_conn *c)
{
	return c->img->h.end_reason == SL_END_EXEC || (c->s->flags & SL_SF_FROM_PARENT);
}

static const char *how_ended(const struct sl_conn *c)
{
	const struct sl_proc *p = c->proc;
	if (c->img->h.end_reason == SL_END_EXIT)
		return "exited";
	if (p->have_status && (p->wstatus & 0x7f))
		return "was killed by a signal";
	return "ended";
}

void sl_rule_leak(struct sl_ctx *c)
{
	for (size_t i = 0; i < c->nconns; i++) {
		const struct sl_conn *cn = &c->conns[i];
		const struct sl_slot *s = cn->s;
		if (!cn->open_at_end || cn->proc->alive || handed_on(cn) || s->role == SL_ROLE_INHERITED)
			continue;
		struct sl_diag d;
		char what[200];
		sl_diag_init(&d, SL_K_SOCKET_LEAK, s->role == SL_ROLE_LISTENER ? SL_SEV_INFO : SL_SEV_WARNING, c->proc, s->fd);
		d.conn_id = s->conn_id;
		sl_addr_format(s->role == SL_ROLE_LISTENER ? &s->local : &s->peer, d.peer, sizeof d.peer);
		if (s->role == SL_ROLE_CLIENT)
			memcpy(d.group_peer, d.peer, sizeof d.peer);
		snprintf(what, sizeof what, "%s %s socket (fd %d%s%s)", s->role == SL_ROLE_LISTENER ? "A listening" : "A",
			 sl_type_name(s->family, s->type), s->fd, d.peer[0] ? ", " : "", d.peer);
		snprintf(d.summary, sizeof d.summary, "%s was still open when %s[%d] %s.", what,
			 sl_proc_name(c->proc), c->proc->pid, how_ended(cn));
		sl_diags_add(c->out, c->img, &d, s->open_stack, 0);
	}
}
