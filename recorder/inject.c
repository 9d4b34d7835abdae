/* inject.c - the faults `socklens run --inject` asked for (the rules in the run's control file,
 * include/socklens/log.h), matched for both front ends: which rule a connect, socket, accept or
 * name lookup meets, where a redirected connect goes (socklens run's loopback ports, analyzer/cmd/
 * relay.c), the relay map entry that tells the relay the real peer, and the event that records
 * what was injected. The shim applies a rule in its wrappers, the tracer at a ptrace stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include "clock.h"
#include "rawsys.h"
#include "recorder.h"

SL_START unsigned sl_inject_faults(const struct sl_inject_table *t)
{
	unsigned m = 0;
	for (uint32_t i = 0; t && i < t->count && i < SL_INJECT_MAX; i++)
		m |= t->rule[i].fault < 32 ? 1u << t->rule[i].fault : 0;
	return m;
}

SL_START struct sl_inject_table *sl_inject_table_of(struct sl_run_header *run)
{
	struct sl_inject_table *t = run ? (struct sl_inject_table *)((char *)run + SL_INJECT_OFF) : NULL;
	uint32_t n = t ? __atomic_load_n(&t->count, __ATOMIC_ACQUIRE) : 0;
	return n && n <= SL_INJECT_MAX ? t : NULL;
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
	uint64_t rel = r->from_ns || r->until_ns ? sl_now() - t->start_ns : 0; /* a clock read only for a window */
	if (rel < r->from_ns || (r->until_ns && rel >= r->until_ns))
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

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);
	return k <= n && !strcmp(s + n - k, tail) && (k == n || s[n - k - 1] == '/' || tail[0] == '/');
}

/* A frame of stack id is the rule's site: a language frame by its file and line or its function,
 * a native one by its address in the object named. */
static int site_match(const struct sl_inject_site *site, struct sl_log *log, uint32_t id)
{
	const struct sl_stack *st = id ? sl_stack_at(log, id) : NULL;
	if (!st)
		return 0;
	for (uint32_t f = 0; f < st->nframes && f < SL_MAX_FRAMES; f++) {
		uint64_t ip = st->ip[f];
		if (ip & SL_LANG_IP) {
			uint64_t k = ip & ~SL_LANG_IP;
			const struct sl_log_header *h = log->hdr;
			if (!log->langs || k >= __atomic_load_n(&h->tab[SL_T_LANG].avail, __ATOMIC_ACQUIRE))
				continue;
			const struct sl_lang *l = &log->langs[k];
			if (!__atomic_load_n(&l->commit, __ATOMIC_ACQUIRE))
				continue;
			char file[SL_LANG_FILE + 1], func[SL_LANG_FUNC + 1];
			memcpy(file, l->file, SL_LANG_FILE);
			memcpy(func, l->func, SL_LANG_FUNC);
			file[SL_LANG_FILE] = func[SL_LANG_FUNC] = 0;
			if (site->file[0] && ends_with(file, site->file) && (!site->line || site->line == l->line))
				return 1;
			if (site->func[0] && (!strcmp(func, site->func) || (ends_with(func, site->func) &&
									    func[strlen(func) - strlen(site->func) - 1] == '.')))
				return 1;
			continue;
		}
		const struct sl_module *m = sl_module_of(log, ip);
		if (!m || !site->nranges)
			continue;
		const char *base = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
		uint64_t off = ip - 1 - m->base; /* a return address: the call is the byte before it */
		if (strncmp(base, site->module, sizeof site->module - 1))
			continue;
		for (uint32_t r = 0; r < site->nranges && r < 2; r++)
			if (off >= site->lo[r] && off < site->hi[r])
				return 1;
	}
	return 0;
}

/* The first rule from index from on among faults that matches (peer, name, call, process, site),
 * without counting it as an occurrence; -1 when none does. */
static int match_from(struct sl_inject_table *t, uint32_t from, unsigned faults, const struct sockaddr *sa,
		      socklen_t len, const char *name, unsigned call, const struct sl_inject_who *who,
		      struct sl_inject_cache *k)
{
	struct peer p;
	if (!t || (sa && peer_of(sa, len, &p) < 0))
		return -1;
	for (uint32_t i = from; i < t->count && i < SL_INJECT_MAX; i++) {
		struct sl_inject_rule *r = &t->rule[i];
		if (r->fault >= 32 || !(faults & (1u << r->fault)))
			continue;
		if ((sa && !peer_match(r, &p)) || !host_match(r, name) || (call && r->calls && !(r->calls & call)))
			continue;
		if (r->proc[0]) {
			if (!k->have_comm++) {
				memset(k->comm, 0, sizeof k->comm);
				if (who->comm)
					who->comm(who->arg, k->comm);
			}
			if (strncmp(k->comm, r->proc, SL_COMM_MAX))
				continue;
		}
		const struct sl_inject_site *site = &t->site[i];
		if (site->file[0] || site->func[0]) {
			if (!k->have_stack++ && who->rec)
				k->stack = who->rec->probe->stack(who->rec->arg);
			if (!who->rec || !site_match(site, who->rec->log, k->stack))
				continue;
		}
		return (int)i;
	}
	return -1;
}

int sl_inject_match(struct sl_inject_table *t, unsigned faults, const struct sockaddr *sa, socklen_t len,
		    const struct sl_inject_who *who)
{
	struct sl_inject_cache k = {0};
	return match_from(t, 0, faults, sa, len, NULL, 0, who, &k);
}

int sl_inject_fire(struct sl_inject_table *t, int rule)
{
	return fire(t, &t->rule[rule]);
}

int sl_inject_pick(struct sl_inject_table *t, unsigned faults, const struct sockaddr *sa, socklen_t len,
		   const char *name, unsigned call, const struct sl_inject_who *who)
{
	struct sl_inject_cache k = {0};
	for (int i = 0; (i = match_from(t, (uint32_t)i, faults, sa, len, name, call, who, &k)) >= 0; i++)
		if (fire(t, &t->rule[i]))
			return i;
	return -1;
}

socklen_t sl_inject_target(const struct sl_inject_table *t, const struct sl_inject_rule *r, const struct sockaddr *sa,
			   struct sockaddr_storage *to, int *wire6)
{
	const uint16_t *ports = r->fault == SL_FAULT_REFUSE ? t->refuse_port
				: r->fault == SL_FAULT_BLACKHOLE ? t->blackhole_port : t->relay_port;
	struct peer p;
	memset(to, 0, sizeof *to);
	if (peer_of(sa, sizeof(struct sockaddr_in6), &p) < 0 && peer_of(sa, sizeof(struct sockaddr_in), &p) < 0)
		return 0;
	int mapped = sa->sa_family == AF_INET6 && p.family == AF_INET;
	*wire6 = sa->sa_family == AF_INET6 && !mapped;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *in = (void *)to;
		if (!ports[0])
			return 0;
		in->sin_family = AF_INET;
		in->sin_port = htons(ports[0]);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *in;
	}
	struct sockaddr_in6 *in6 = (void *)to;
	in6->sin6_family = AF_INET6;
	if (mapped) { /* an IPv4 connection from an IPv6 socket stays one */
		if (!ports[0])
			return 0;
		in6->sin6_port = htons(ports[0]);
		in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
		in6->sin6_addr.s6_addr[12] = 127;
		in6->sin6_addr.s6_addr[15] = 1;
	} else {
		if (!ports[1])
			return 0;
		in6->sin6_port = htons(ports[1]);
		in6->sin6_addr = in6addr_loopback;
	}
	return sizeof *in6;
}

uint16_t sl_inject_local_port(int fd, const struct sockaddr_storage *to, socklen_t tolen)
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

int sl_inject_relay_note(struct sl_inject_table *t, struct sl_run_header *run, uint64_t run_size, int rule, int wire6,
			 uint16_t lport, const struct sockaddr *sa, int pid, uint64_t conn_id)
{
	struct peer p;
	uint64_t i = (uint64_t)lport + (wire6 ? 65536u : 0);
	uint64_t off = t->map_off + i * sizeof(struct sl_relay_ent);
	if (!t->map_off || off + sizeof(struct sl_relay_ent) > run_size ||
	    peer_of(sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6), &p) < 0)
		return -1;
	struct sl_relay_ent *e = (struct sl_relay_ent *)((char *)run + off);
	uint64_t page = off & ~(uint64_t)(SL_PAGE - 1);
	if (sl_populate((char *)run + page, SL_PAGE) < 0) /* a sparse page: no SIGBUS on a full disk */
		return -1;
	e->rule = (uint16_t)rule;
	e->family = (uint16_t)p.family;
	memcpy(e->addr, p.a, 16);
	e->port = ((const struct sockaddr_in *)sa)->sin_port; /* the same place in sockaddr_in6 */
	e->pid = pid;
	e->conn_id = conn_id;
	__atomic_store_n(&e->commit, 1, __ATOMIC_RELEASE);
	return 0;
}

void sl_inject_undo(struct sl_inject_table *t, int rule)
{
	__atomic_fetch_sub(&t->rule[rule].done, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->unredirected, 1, __ATOMIC_RELAXED);
}

void sl_rec_injected(struct sl_rec *r, const struct sl_inject_table *t, int rule, uint16_t call, int fd,
		     const struct sl_slot *s, int err, const struct sockaddr *sa, socklen_t salen, const char *name)
{
	struct sl_event *ev = sl_rec_event(r, SL_EV_INJECT, call, fd, s, r->probe->stack(r->arg), err);
	if (!ev)
		return;
	ev->a = rule;
	ev->b = t->rule[rule].fault;
	if (sa) {
		sl_addr_set(&ev->addr, sa, salen);
	} else if (name) {
		size_t len = strnlen(name, SL_ADDR_DATA - 1);
		memcpy(ev->addr.data, name, len);
		ev->addr.data[len] = 0;
		ev->addr.len = (uint16_t)(len + 1);
	}
	sl_ev_commit(r->log, ev);
}
