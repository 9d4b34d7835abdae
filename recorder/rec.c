/* rec.c - what the recorder's topics share: events about a slot, a socket's names. */
#define _GNU_SOURCE
#include "recorder.h"

struct sl_event *sl_rec_event(struct sl_rec *r, uint16_t type, uint16_t call, int fd, const struct sl_slot *s,
			      uint32_t stack, int err)
{
	struct sl_event *ev = r->log->hdr ? sl_ev_begin(r->log, type, call, fd) : NULL;
	if (!ev)
		return NULL;
	ev->err = err;
	ev->ts_ns = sl_now();
	ev->stack = stack;
	ev->tid = r->probe->tid(r->arg);
	if (s) {
		ev->conn_id = s->conn_id;
		ev->role = s->role;
		ev->addr = s->peer;
	}
	return ev;
}

void sl_rec_names(struct sl_rec *r, struct sl_slot *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (r->probe->name(r->arg, fd, 0, (struct sockaddr *)&ss, &len) == 0)
		sl_addr_set(&s->local, (struct sockaddr *)&ss, len);
	len = sizeof ss;
	if (!(s->flags & SL_SF_INJECTED) && r->probe->name(r->arg, fd, 1, (struct sockaddr *)&ss, &len) == 0)
		sl_addr_set(&s->peer, (struct sockaddr *)&ss, len);
}
