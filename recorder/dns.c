/* dns.c - name lookups: counted at their call site; failed or slow ones are events naming what
 * was looked up. */
#define _GNU_SOURCE
#include <netdb.h>
#include <string.h>
#include "recorder.h"

/* Lookups at least this slow are events whatever the analyzer's threshold (it is higher). */
#define SL_DNS_SLOW_NS 100000000ull

static void dns_event(struct sl_rec *r, uint16_t call, const char *name, int code, uint64_t dur_ns, int unanswered)
{
	uint32_t stack = r->probe->stack(r->arg);
	sl_site_count(r->log, stack, code, dur_ns, call, dur_ns >= SL_DNS_SLOW_NS);
	if (!code && dur_ns < SL_DNS_SLOW_NS)
		return;
	struct sl_event *ev = sl_rec_event(r, SL_EV_DNS, call, -1, NULL, stack, code);
	if (!ev)
		return;
	ev->a = unanswered;
	size_t len = name ? strnlen(name, SL_ADDR_DATA - 1) : 0;
	ev->dur_ns = dur_ns;
	ev->ts_ns -= dur_ns;
	if (name)
		memcpy(ev->addr.data, name, len);
	ev->addr.data[len] = 0;
	ev->addr.len = (uint16_t)(len + 1);
	sl_ev_commit(r->log, ev);
}

void sl_rec_dns(struct sl_rec *r, uint16_t call, const char *name, int code, uint64_t dur_ns)
{
	dns_event(r, call, name, code, dur_ns, 0);
}

void sl_rec_dns_unanswered(struct sl_rec *r, const char *name, uint64_t dur_ns)
{
	dns_event(r, SL_CALL_RESOLVE, name, EAI_AGAIN, dur_ns, 1);
}
