/* inject.c - the faults `socklens run --inject` asked for, applied in the wrappers: matched at
 * connect, socket, accept and name lookups (recorder/inject.c), never on the data path. A fault
 * the kernel can produce is produced by the kernel: the connect is sent to a loopback port socklens
 * run holds (refused, blackholed, or relayed to the real peer with latency, a rate, a reset,
 * silence or slicing), so read, write, poll and SO_ERROR behave as they would for real. The ones
 * the kernel reports at the call itself (no route, a full fd table) and the resolver's failures are
 * returned by the wrapper, exactly as libc returns them. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include "rawsys.h"
#include "real.h"
#include "record.h"

unsigned sl_inject_on; /* the faults the run's rules inject (1 << enum sl_fault), 0: none */

static struct sl_inject_table *table(void)
{
	return sl_inject_table_of(sl_g.log.run);
}

SL_START void sl__inject_init(void)
{
	sl_inject_on = sl_inject_faults(table());
}

static void comm_of(void *arg, char *out)
{
	(void)arg;
	sl_sys3(SYS_prctl, PR_GET_NAME, (long)out, 0);
}

static int pick(unsigned faults, const struct sockaddr *sa, socklen_t len, const char *name, unsigned call)
{
	struct sl_inject_who who = {comm_of, NULL, &sl_rec_shim};
	if (!(faults & sl_inject_on))
		return -1; /* no rule of those faults */
	if (!sl__log_need())
		who.rec = NULL; /* no log, no stack: a rule with a site does not match */
	return sl_inject_pick(table(), faults, sa, len, name, call, &who);
}

/* What was injected, where; before a connect is made (a blackholed one may never return). */
static void note(int rule, uint16_t call, int fd, struct sl_slot *s, int err, const struct sockaddr *sa,
		 socklen_t salen, const char *name)
{
	int e = errno;
	if (sl__log_need())
		sl_rec_injected(&sl_rec_shim, table(), rule, call, fd, s, err, sa, salen, name);
	errno = e;
}

int sl__inject_connect(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int *ret)
{
	struct sl_slot *s = c->slot;
	if (!sa || s->type != SOCK_STREAM || (s->family != AF_INET && s->family != AF_INET6) ||
	    __atomic_load_n(&s->connect_state, __ATOMIC_RELAXED) != SL_CONN_NONE)
		return -1; /* (a connect retried after EINTR is the same one) */
	int i = pick(1u << SL_FAULT_REFUSE | 1u << SL_FAULT_BLACKHOLE | 1u << SL_FAULT_UNREACHABLE | 1u << SL_FAULT_RELAY,
		     sa, len, NULL, 0);
	if (i < 0)
		return -1;
	struct sl_inject_table *t = table();
	const struct sl_inject_rule *r = &t->rule[i];
	if (r->fault == SL_FAULT_UNREACHABLE) {
		int err = r->p[SL_FP_ERRNO] ? (int)r->p[SL_FP_ERRNO] : ENETUNREACH;
		sl_slot_flag(s, SL_SF_INJECTED);
		note(i, SL_CALL_CONNECT, c->fd, s, err, sa, len, NULL);
		*ret = -1;
		errno = err;
		return i;
	}
	struct sockaddr_storage to;
	int wire6;
	uint16_t lport;
	socklen_t tolen = sl_inject_target(t, r, sa, &to, &wire6);
	if (tolen && r->fault == SL_FAULT_RELAY &&
	    (!(lport = sl_inject_local_port(c->fd, &to, tolen)) ||
	     sl_inject_relay_note(t, sl_g.log.run, sl_g.run_size, i, wire6, lport, sa, sl_g.pid, s->conn_id) < 0))
		tolen = 0;
	if (!tolen) { /* no such port here (no IPv6 loopback), or the relay cannot be told */
		sl_inject_undo(t, i);
		return -1;
	}
	sl_slot_flag(s, SL_SF_INJECTED); /* before the kernel's names could replace the real peer */
	note(i, SL_CALL_CONNECT, c->fd, s, 0, sa, len, NULL);
	*ret = REAL(connect)(c->fd, (struct sockaddr *)&to, tolen);
	return i;
}

int sl__inject_fd_call(uint16_t call)
{
	int i = pick(1u << SL_FAULT_EMFILE | 1u << SL_FAULT_ENFILE, NULL, 0, NULL,
		     call == SL_CALL_ACCEPT ? SL_FCALL_ACCEPT : SL_FCALL_SOCKET);
	if (i < 0)
		return 0;
	int err = table()->rule[i].fault == SL_FAULT_EMFILE ? EMFILE : ENFILE;
	note(i, call, -1, NULL, err, NULL, 0, NULL);
	return err;
}

void sl__inject_mark_eintr(int fd)
{
	struct sl_inject_who who = {comm_of, NULL, &sl_rec_shim};
	struct sockaddr_storage peer;
	uint32_t ent = sl_fd_get(fd);
	if (!sl_fd_live(ent) || !sl_g.log.hdr)
		return;
	struct sl_slot *s = sl_slot_of(ent);
	socklen_t len = sl_addr_get(&s->peer, &peer);
	if (len && sl_rec_is_tcp(s) && sl_inject_match(table(), 1u << SL_FAULT_EINTR, (struct sockaddr *)&peer, len, &who) >= 0)
		sl_slot_flag(s, SL_SF_INJECT_EINTR);
}

/* A signal arriving while the call waits: only a call that would block (nothing to read, no room
 * to write) on a blocking socket can see EINTR, and its retry goes through (one signal a wait). */
int sl__inject_eintr(struct sl_slot *s, uint8_t dir)
{
	int fd = s->fd;
	uint32_t f = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	struct sockaddr_storage peer;
	socklen_t len;
	if (f & SL_SF_NONBLOCK)
		return 0;
	if (f & SL_SF_EINTR_DONE) {
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_EINTR_DONE, __ATOMIC_RELAXED);
		return 0;
	}
	int e = errno;
	struct pollfd pfd = {fd, (short)(dir == SL_DIR_OUT ? POLLOUT : POLLIN), 0};
	int ready = (int)sl_sys3(SYS_poll, (long)&pfd, 1, 0);
	struct sl_inject_who who = {comm_of, NULL, &sl_rec_shim};
	int i = ready == 0 && (len = sl_addr_get(&s->peer, &peer)) ? sl_inject_match(table(), 1u << SL_FAULT_EINTR,
									    (struct sockaddr *)&peer, len, &who) : -1;
	if (i < 0 || !sl_inject_fire(table(), i)) {
		errno = e;
		return 0;
	}
	sl_slot_flag(s, SL_SF_EINTR_DONE);
	note(i, dir == SL_DIR_OUT ? SL_CALL_SEND : SL_CALL_RECV, fd, s, EINTR, (struct sockaddr *)&peer, len, NULL);
	errno = EINTR;
	return 1;
}

int sl__unusual_call(struct sl_slot *s, uint8_t dir, const void *buf)
{
	uint32_t f = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	if ((f & SL_SF_INJECT_EINTR) && sl__inject_eintr(s, dir))
		return -1;
	if (f & (dir == SL_DIR_IN ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT))
		sl__first_call(s, dir, buf);
	return 0;
}

/* The call is held ms milliseconds (a server busy elsewhere, a close that lingers); errno kept. */
static void hold(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	int e = errno;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	errno = e;
}

void sl__inject_accept_stall(int fd)
{
	int i = pick(1u << SL_FAULT_ACCEPT_STALL, NULL, 0, NULL, SL_FCALL_ACCEPT);
	if (i < 0)
		return;
	note(i, SL_CALL_ACCEPT, fd, NULL, 0, NULL, 0, NULL);
	hold(table()->rule[i].p[SL_FP_DELAY_MS]);
}

void sl__inject_close(int fd, uint32_t ent)
{
	if (!sl_fd_live(ent) || !sl_g.log.hdr)
		return;
	struct sl_slot *s = sl_slot_of(ent);
	struct sockaddr_storage peer;
	socklen_t n = sl_addr_get(&s->peer, &peer);
	if ((s->role != SL_ROLE_CLIENT && s->role != SL_ROLE_SERVER) || !n)
		return;
	int i = pick(1u << SL_FAULT_SLOW_CLOSE, (struct sockaddr *)&peer, n, NULL, 0);
	if (i < 0)
		return;
	note(i, SL_CALL_CLOSE, fd, s, 0, (struct sockaddr *)&peer, (socklen_t)n, NULL);
	hold(table()->rule[i].p[SL_FP_DELAY_MS]);
}

/* A name that is an address is no lookup: no DNS fault applies to it. */
static int numeric(const char *name)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

int sl__inject_lookup(uint16_t call, const char *name)
{
	if (!name || numeric(name))
		return 0;
	int i = pick(1u << SL_FAULT_NXDOMAIN | 1u << SL_FAULT_SERVFAIL | 1u << SL_FAULT_DNS_DELAY, NULL, 0, name, 0);
	if (i < 0)
		return 0;
	const struct sl_inject_rule *r = &table()->rule[i];
	int code = r->fault == SL_FAULT_NXDOMAIN ? EAI_NONAME : r->fault == SL_FAULT_SERVFAIL ? EAI_AGAIN : 0;
	note(i, call, -1, NULL, code, NULL, 0, name);
	if (r->fault == SL_FAULT_DNS_DELAY)
		hold(r->p[SL_FP_DELAY_MS]);
	return code;
}

void sl__inject_peername(int fd, struct sockaddr *sa, socklen_t *len)
{
	uint32_t ent = sl_fd_get(fd);
	if (!sl_fd_live(ent) || !sl_g.log.hdr)
		return;
	const struct sl_slot *s = sl_slot_of(ent);
	struct sockaddr_storage real;
	socklen_t n = sl_addr_get(&s->peer, &real);
	if (!(__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & SL_SF_INJECTED) || !n)
		return;
	memcpy(sa, &real, n < *len ? n : *len);
	*len = n;
}
