/* inject.c - the faults `socklens run --inject` asked for: the rules in the run's control file
 * (include/socklens/log.h), matched at connect, socket, accept and name lookups, never on the data
 * path. A fault the kernel can produce is produced by the kernel: the connect is sent to a loopback
 * port socklens run holds (refused, blackholed, or relayed to the real peer with latency, a rate,
 * a reset, silence or slicing), so read, write, poll and SO_ERROR behave as they would for real.
 * The ones the kernel reports at the call itself (no route, a full fd table, a failed lookup) are
 * returned by the wrapper, exactly as the kernel or the resolver returns them. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include "rawsys.h"
#include "real.h"
#include "record.h"

int sl_inject_on;

static struct sl_inject_table *table(void)
{
	struct sl_run_header *run = sl_g.log.run;
	return run ? (struct sl_inject_table *)((char *)run + SL_INJECT_OFF) : NULL;
}

void sl__inject_init(void)
{
	struct sl_inject_table *t = table();
	uint32_t n = t ? __atomic_load_n(&t->count, __ATOMIC_ACQUIRE) : 0;
	sl_inject_on = n > 0 && n <= SL_INJECT_MAX;
}

/* A peer as the rules compare it: IPv4-mapped IPv6 addresses are IPv4 ones. */
struct peer {
	int family;
	uint16_t port; /* host order */
	uint8_t a[16];
};

static int peer_of(const struct sockaddr *sa, socklen_t len, struct peer *p)
{
	memset(p, 0, sizeof *p);
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		p->family = AF_INET;
		p->port = ntohs(in->sin_port);
		memcpy(p->a, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		p->port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			p->family = AF_INET;
			memcpy(p->a, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			p->family = AF_INET6;
			memcpy(p->a, in6->sin6_addr.s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

static int prefix_eq(const uint8_t *x, const uint8_t *y, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(x, y, bytes))
		return 0;
	return !rest || !((x[bytes] ^ y[bytes]) & (0xffu << (8 - rest)));
}

static int peer_match(const struct sl_inject_rule *r, const struct peer *p)
{
	if (r->port && r->port != p->port)
		return 0;
	if (!r->naddr)
		return 1;
	for (unsigned i = 0; i < r->naddr && i < SL_INJECT_ADDRS; i++) {
		unsigned bits = p->family == AF_INET ? 32 : 128;
		if (r->family[i] != p->family)
			continue;
		if (i == 0 && r->prefix && r->prefix < bits)
			bits = r->prefix;
		if (prefix_eq(r->addr[i], p->a, bits))
			return 1;
	}
	return 0;
}

/* "" matches every name; ".example.com" the name and its subdomains; otherwise the name itself. */
static int host_match(const struct sl_inject_rule *r, const char *name)
{
	if (!r->host[0])
		return 1;
	if (!name)
		return 0;
	size_t n = strlen(name), h = strnlen(r->host, SL_INJECT_HOST);
	if (n && name[n - 1] == '.')
		n--;
	if (r->host[0] == '.') {
		if (n == h - 1 && !strncasecmp(name, r->host + 1, n))
			return 1;
		return n > h && !strncasecmp(name + n - h, r->host, h);
	}
	return n == h && !strncasecmp(name, r->host, n);
}

static int proc_match(const struct sl_inject_rule *r)
{
	char name[SL_COMM_MAX + 1] = {0};
	if (!r->proc[0])
		return 1;
	sl_sys3(SYS_prctl, PR_GET_NAME, (long)name, 0);
	return !strncmp(name, r->proc, SL_COMM_MAX);
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A call the rule's address, name and process matched: the window, which occurrence and the
 * probability decide. Occurrences are counted over the whole run, so nth=3 is the run's third. */
static int fire(const struct sl_inject_table *t, struct sl_inject_rule *r)
{
	uint64_t rel = sl_now() - t->start_ns;
	if (rel < r->from_ns || (r->until_ns && rel >= r->until_ns) || !proc_match(r))
		return 0;
	uint64_t k = __atomic_add_fetch(&r->seen, 1, __ATOMIC_RELAXED);
	if ((r->nth && k != r->nth) || (r->every && k % r->every))
		return 0;
	if (r->p_ppm < 1000000u && mix(r->seed ^ (k * 0x2545f4914f6cdd1dull)) % 1000000u >= r->p_ppm)
		return 0;
	uint64_t d = __atomic_fetch_add(&r->done, 1, __ATOMIC_RELAXED);
	if (r->limit && d >= r->limit) {
		__atomic_fetch_sub(&r->done, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return 1;
}

/* The index of the first rule among faults (a mask of 1 << enum sl_fault) that matches and fires;
 * -1 when none does. */
static int pick(unsigned faults, const struct peer *p, const char *name, unsigned call)
{
	struct sl_inject_table *t = table();
	uint32_t n = t ? t->count : 0;
	for (uint32_t i = 0; i < n && i < SL_INJECT_MAX; i++) {
		struct sl_inject_rule *r = &t->rule[i];
		if (r->fault >= 32 || !(faults & (1u << r->fault)))
			continue;
		if ((p && !peer_match(r, p)) || !host_match(r, name) || (call && r->calls && !(r->calls & call)))
			continue;
		if (fire(t, r))
			return (int)i;
	}
	return -1;
}

/* What was injected, where: an event with the call site's stack, naming the real peer (sa, for
 * a connect: recorded before the call, which may never return) or the name looked up. */
static void note(int rule, uint16_t call, int fd, struct sl_slot *s, int err, const char *name,
		 const struct sockaddr *sa, socklen_t salen)
{
	int e = errno;
	if (!sl__log_need()) {
		errno = e;
		return;
	}
	struct sl_event *ev = sl_rec_event(&sl_rec_shim, SL_EV_INJECT, call, fd, s, sl_stack_capture(), err);
	if (ev) {
		ev->a = rule;
		ev->b = table()->rule[rule].fault;
		if (sa) {
			sl_addr_set(&ev->addr, sa, salen);
		} else if (name) {
			size_t len = strnlen(name, SL_ADDR_DATA - 1);
			memcpy(ev->addr.data, name, len);
			ev->addr.data[len] = 0;
			ev->addr.len = (uint16_t)(len + 1);
		}
		sl_ev_commit(&sl_g.log, ev);
	}
	errno = e;
}

/* socklens run's loopback port for a redirection, as an address of the socket's family. */
static socklen_t loopback(int family, int mapped, uint16_t port4, uint16_t port6, struct sockaddr_storage *to)
{
	memset(to, 0, sizeof *to);
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)to;
		if (!port4)
			return 0;
		in->sin_family = AF_INET;
		in->sin_port = htons(port4);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *in;
	}
	struct sockaddr_in6 *in6 = (void *)to;
	in6->sin6_family = AF_INET6;
	if (mapped) { /* an IPv4 connection from an IPv6 socket stays one */
		if (!port4)
			return 0;
		in6->sin6_port = htons(port4);
		in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
		in6->sin6_addr.s6_addr[12] = 127;
		in6->sin6_addr.s6_addr[15] = 1;
	} else {
		if (!port6)
			return 0;
		in6->sin6_port = htons(port6);
		in6->sin6_addr = in6addr_loopback;
	}
	return sizeof *in6;
}

/* The relay finds the real peer by the socket's local port: bound here (to loopback, port 0)
 * when the program did not bind it, as connect would have. 0 when it cannot be known. */
static uint16_t local_port(int fd, const struct sockaddr_storage *to, socklen_t tolen)
{
	struct sockaddr_storage me;
	socklen_t len = sizeof me;
	if (sl_sys3(SYS_getsockname, fd, (long)&me, (long)&len) != 0)
		return 0;
	uint16_t port = ntohs(((struct sockaddr_in *)&me)->sin_port); /* same place in sockaddr_in6 */
	if (port)
		return port;
	struct sockaddr_storage any = *to;
	((struct sockaddr_in *)&any)->sin_port = 0;
	len = sizeof me;
	if (sl_sys3(SYS_bind, fd, (long)&any, tolen) != 0 || sl_sys3(SYS_getsockname, fd, (long)&me, (long)&len) != 0)
		return 0;
	return ntohs(((struct sockaddr_in *)&me)->sin_port);
}

static int relay_note(const struct sl_inject_table *t, int rule, int wire6, uint16_t lport, const struct peer *p,
		      const struct sockaddr *sa, const struct sl_slot *s)
{
	struct sl_run_header *run = sl_g.log.run;
	uint64_t i = (uint64_t)lport + (wire6 ? 65536u : 0);
	uint64_t off = t->map_off + i * sizeof(struct sl_relay_ent);
	if (!t->map_off || off + sizeof(struct sl_relay_ent) > sl_g.run_size)
		return -1;
	struct sl_relay_ent *e = (struct sl_relay_ent *)((char *)run + off);
	uint64_t page = off & ~(uint64_t)(SL_PAGE - 1);
	if (sl_populate((char *)run + page, SL_PAGE) < 0) /* a sparse page: no SIGBUS on a full disk */
		return -1;
	e->rule = (uint16_t)rule;
	e->family = (uint16_t)p->family;
	memcpy(e->addr, p->a, 16);
	e->port = ((const struct sockaddr_in *)sa)->sin_port;
	e->pid = sl_g.pid;
	e->conn_id = s->conn_id;
	__atomic_store_n(&e->commit, 1, __ATOMIC_RELEASE);
	return 0;
}

int sl__inject_connect(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int *ret)
{
	struct peer p;
	struct sl_slot *s = c->slot;
	if (!sa || s->type != SOCK_STREAM || (s->family != AF_INET && s->family != AF_INET6) ||
	    peer_of(sa, len, &p) < 0)
		return -1;
	int i = pick(1u << SL_FAULT_REFUSE | 1u << SL_FAULT_BLACKHOLE | 1u << SL_FAULT_UNREACHABLE | 1u << SL_FAULT_RELAY,
		     &p, NULL, 0);
	if (i < 0)
		return -1;
	struct sl_inject_table *t = table();
	struct sl_inject_rule *r = &t->rule[i];
	if (r->fault == SL_FAULT_UNREACHABLE) {
		int err = r->p[SL_FP_ERRNO] ? (int)r->p[SL_FP_ERRNO] : ENETUNREACH;
		sl_slot_flag(s, SL_SF_INJECTED);
		note(i, SL_CALL_CONNECT, c->fd, s, err, NULL, sa, len);
		*ret = -1;
		errno = err;
		return i;
	}
	int mapped = sa->sa_family == AF_INET6 && p.family == AF_INET;
	int wire6 = sa->sa_family == AF_INET6 && !mapped;
	const uint16_t *ports = r->fault == SL_FAULT_REFUSE ? t->refuse_port
				: r->fault == SL_FAULT_BLACKHOLE ? t->blackhole_port : t->relay_port;
	struct sockaddr_storage to;
	socklen_t tolen = loopback(sa->sa_family, mapped, ports[0], ports[1], &to);
	uint16_t lport = 0;
	if (tolen && r->fault == SL_FAULT_RELAY &&
	    (!(lport = local_port(c->fd, &to, tolen)) || relay_note(t, i, wire6, lport, &p, sa, s) < 0))
		tolen = 0;
	if (!tolen) { /* no such port here (no IPv6 loopback), or the relay cannot be told */
		__atomic_fetch_sub(&r->done, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&t->unredirected, 1, __ATOMIC_RELAXED);
		return -1;
	}
	sl_slot_flag(s, SL_SF_INJECTED); /* before the kernel's names could replace the real peer */
	note(i, SL_CALL_CONNECT, c->fd, s, 0, NULL, sa, len); /* a blackholed connect may never return */
	*ret = REAL(connect)(c->fd, (struct sockaddr *)&to, tolen);
	return i;
}

int sl__inject_fd_call(uint16_t call)
{
	int i = pick(1u << SL_FAULT_EMFILE | 1u << SL_FAULT_ENFILE, NULL, NULL,
		     call == SL_CALL_ACCEPT ? SL_FCALL_ACCEPT : SL_FCALL_SOCKET);
	if (i < 0)
		return 0;
	int err = table()->rule[i].fault == SL_FAULT_EMFILE ? EMFILE : ENFILE;
	note(i, call, -1, NULL, err, NULL, NULL, 0);
	return err;
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
	int i = pick(1u << SL_FAULT_NXDOMAIN | 1u << SL_FAULT_SERVFAIL | 1u << SL_FAULT_DNS_DELAY, NULL, name, 0);
	if (i < 0)
		return 0;
	const struct sl_inject_rule *r = &table()->rule[i];
	int code = r->fault == SL_FAULT_NXDOMAIN ? EAI_NONAME : r->fault == SL_FAULT_SERVFAIL ? EAI_AGAIN : 0;
	note(i, call, -1, NULL, code, name, NULL, 0);
	if (r->fault == SL_FAULT_DNS_DELAY) {
		uint64_t ms = r->p[SL_FP_DELAY_MS];
		struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	return code;
}

void sl__inject_peername(int fd, struct sockaddr *sa, socklen_t *len)
{
	uint32_t ent = sl_fd_get(fd);
	if (!sl_fd_live(ent) || !sl_g.log.hdr)
		return;
	const struct sl_slot *s = sl_slot_of(ent);
	if (!(__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & SL_SF_INJECTED) || !s->peer.family)
		return;
	struct sockaddr_storage real;
	size_t n = sizeof(sa_family_t) + s->peer.len;
	if (n > sizeof real)
		return;
	memset(&real, 0, sizeof real);
	real.ss_family = s->peer.family;
	memcpy((char *)&real + sizeof(sa_family_t), s->peer.data, s->peer.len);
	memcpy(sa, &real, n < *len ? n : *len);
	*len = (socklen_t)n;
}
