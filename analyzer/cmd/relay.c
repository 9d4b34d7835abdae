/* relay.c - the loopback ports `socklens run --inject` holds for the program, outside it: one
 * bound and never listening (a connect there is refused by the kernel's RST), one listening with
 * its accept queue kept full (the kernel drops the SYN: a blackhole, retransmissions and all),
 * and the relay, a thread of socklens run that connects each redirected connection to its real
 * peer and forwards both ways with the rule's latency, rate, reset, silence or slicing. The
 * program's socket stays an ordinary TCP socket: what it reads, when poll wakes it, the RST it
 * gets, all come from the kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cmd/relay.h"

#define QUEUE_MAX (256u << 10) /* bytes held per direction before its source is no longer read */
#define CHUNK 65536u

struct chunk {
	struct chunk *next;
	uint64_t due_ns;
	size_t len, off;
	char data[];
};

/* One direction of a relayed connection: bytes read from src, delivered to dst. */
struct half {
	struct chunk *head, *tail;
	size_t queued;
	uint64_t passed;         /* bytes delivered */
	uint64_t last_due, next_ns; /* order kept under jitter; slicing's pace */
	double tokens;
	uint64_t tokens_ns;
	int eof, shut;
	int blocked;             /* the last write found dst's buffer full: wait for POLLOUT */
	uint64_t delay_ms, rate, slice, reset_after, silent_after;
};

struct conn {
	int prog, up;
	int connecting;
	int silent;
	uint64_t start_ns, reset_at_ns;
	uint64_t extra_ms;        /* the handshake's round trip, added to the first data */
	int any_data;
	uint64_t jitter_ms;
	uint64_t rnd;
	struct half in, out;      /* in: peer to program; out: program to peer */
};

struct sl_relay {
	struct sl_inject_table *t;
	struct sl_run_header *run;
	size_t run_size;
	int refuse[2], hole[2], hole_fill[2], lis[2];
	int wake[2];
	int reserve;              /* an fd given up to accept (and reset) a connection when out of fds */
	pthread_t thread;
	int started;
	struct conn **conns;
	size_t nconns, cap;
};

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A TCP socket on 127.0.0.1 or ::1, any port; listening with backlog, or only bound (backlog < 0). */
static int loop_socket(int v6, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (v6) {
		struct sockaddr_in6 *a = (void *)&ss;
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (void *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *a;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || (backlog >= 0 && listen(fd, backlog) != 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* A listener that answers no SYN: backlog 0 admits one connection, which we make and never
 * accept; the kernel drops every later SYN for a full accept queue, as a filtered port does. */
static int blackhole(int v6, uint16_t *port, int *fill)
{
	int fd = loop_socket(v6, 0, port);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*fill = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fill < 0 || connect(*fill, (struct sockaddr *)&ss, len) != 0) {
		if (*fill >= 0)
			close(*fill);
		close(fd);
		return -1;
	}
	return fd;
}

struct sl_relay *sl_relay_open(struct sl_inject_table *t, uint32_t n, struct sl_run_header *run, size_t run_size,
			       char *err, size_t errlen)
{
	struct sl_relay *r = calloc(1, sizeof *r);
	int want[SL_FAULT__COUNT] = {0};
	if (!r) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	r->t = t;
	r->run = run;
	r->run_size = run_size;
	for (int v = 0; v < 2; v++)
		r->refuse[v] = r->hole[v] = r->hole_fill[v] = r->lis[v] = -1;
	r->wake[0] = r->wake[1] = -1;
	r->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (uint32_t i = 0; i < n && i < SL_INJECT_MAX; i++)
		want[t->rule[i].fault < SL_FAULT__COUNT ? t->rule[i].fault : 0] = 1;
	/* IPv6 only where the loopback has it; IPv4 always */
	for (int v = 0; v < 2; v++) {
		if (want[SL_FAULT_REFUSE])
			r->refuse[v] = loop_socket(v, -1, &t->refuse_port[v]);
		if (want[SL_FAULT_BLACKHOLE])
			r->hole[v] = blackhole(v, &t->blackhole_port[v], &r->hole_fill[v]);
		if (want[SL_FAULT_RELAY] && (r->lis[v] = loop_socket(v, 4096, &t->relay_port[v])) >= 0)
			nonblock(r->lis[v]);
	}
	if ((want[SL_FAULT_REFUSE] && r->refuse[0] < 0) || (want[SL_FAULT_BLACKHOLE] && r->hole[0] < 0) ||
	    (want[SL_FAULT_RELAY] && (r->lis[0] < 0 || pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0))) {
		snprintf(err, errlen, "cannot open socklens's loopback ports: %s", strerror(errno));
		sl_relay_close(r);
		return NULL;
	}
	return r;
}

static uint64_t rnd(struct conn *c)
{
	c->rnd ^= c->rnd << 13;
	c->rnd ^= c->rnd >> 7;
	c->rnd ^= c->rnd << 17;
	return c->rnd;
}

static void half_free(struct half *h)
{
	while (h->head) {
		struct chunk *k = h->head;
		h->head = k->next;
		free(k);
	}
	h->tail = NULL;
	h->queued = 0;
}

/* Ends a connection; reset: the program gets an RST, as from a peer that aborted. */
static void conn_end(struct conn *c, int reset)
{
	if (reset && c->prog >= 0) {
		struct linger l = {1, 0};
		setsockopt(c->prog, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	}
	if (c->prog >= 0)
		close(c->prog);
	if (c->up >= 0) {
		if (reset) {
			struct linger l = {1, 0};
			setsockopt(c->up, SOL_SOCKET, SO_LINGER, &l, sizeof l);
		}
		close(c->up);
	}
	c->prog = c->up = -1;
	half_free(&c->in);
	half_free(&c->out);
}

static void conn_add(struct sl_relay *r, struct conn *c)
{
	if (r->nconns == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct conn **v = realloc(r->conns, cap * sizeof *v);
		if (!v) {
			conn_end(c, 1);
			free(c);
			return;
		}
		r->conns = v;
		r->cap = cap;
	}
	r->conns[r->nconns++] = c;
}

static void half_setup(struct half *h, const struct sl_inject_rule *rule, int applies, int in)
{
	if (applies) {
		h->delay_ms = rule->p[SL_FP_DELAY_MS];
		h->rate = rule->p[SL_FP_RATE];
	}
	if (in) { /* what the program receives */
		h->slice = rule->p[SL_FP_SLICE];
		h->reset_after = rule->p[SL_FP_RESET_AFTER];
		h->silent_after = rule->p[SL_FP_SILENT_AFTER];
	}
}

/* A redirected connection: its real peer from the map, by its local port, and a connect there. */
static void accept_one(struct sl_relay *r, int lfd, int v6)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && r->reserve >= 0) {
		/* out of fds: the connection is taken and reset (the program sees a reset, not a hang,
		 * and the listener does not stay readable for ever) */
		close(r->reserve);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd >= 0) {
			struct linger l = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
			close(fd);
		}
		r->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return;
	}
	if (fd < 0)
		return;
	uint16_t port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	uint64_t i = (uint64_t)port + (v6 ? 65536u : 0);
	uint64_t off = r->t->map_off + i * sizeof(struct sl_relay_ent);
	struct sl_relay_ent *e = r->t->map_off && off + sizeof *e <= r->run_size
				 ? (struct sl_relay_ent *)((char *)r->run + off) : NULL;
	struct conn *c = calloc(1, sizeof *c);
	if (!c || !e || !__atomic_load_n(&e->commit, __ATOMIC_ACQUIRE) || e->rule >= r->t->count) {
		struct linger l = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
		close(fd);
		free(c);
		return;
	}
	struct sl_relay_ent ent = *e;
	__atomic_store_n(&e->commit, 0, __ATOMIC_RELEASE);
	const struct sl_inject_rule *rule = &r->t->rule[ent.rule];
	c->prog = fd;
	c->start_ns = sl_mono_now();
	c->rnd = c->start_ns | 1;
	c->jitter_ms = rule->p[SL_FP_JITTER_MS];
	if (rule->p[SL_FP_RESET_AT_MS])
		c->reset_at_ns = c->start_ns + (rule->p[SL_FP_RESET_AT_MS] - 1) * 1000000ull;
	half_setup(&c->in, rule, rule->dir != SL_FDIR_OUT, 1);
	half_setup(&c->out, rule, rule->dir != SL_FDIR_IN, 0);
	c->extra_ms = c->in.delay_ms + c->out.delay_ms;
	struct sockaddr_storage to = {0};
	socklen_t tolen;
	if (ent.family == AF_INET) {
		struct sockaddr_in *a = (void *)&to;
		a->sin_family = AF_INET;
		a->sin_port = ent.port;
		memcpy(&a->sin_addr, ent.addr, 4);
		tolen = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (void *)&to;
		a->sin6_family = AF_INET6;
		a->sin6_port = ent.port;
		memcpy(&a->sin6_addr, ent.addr, 16);
		tolen = sizeof *a;
	}
	c->up = socket(ent.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = c->up < 0 ? -1 : connect(c->up, (struct sockaddr *)&to, tolen);
	if (rc < 0 && errno != EINPROGRESS) {
		conn_end(c, 1); /* the real peer refused: the program, already connected, sees a reset */
		free(c);
		return;
	}
	int one = 1;
	setsockopt(c->prog, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->connecting = rc < 0;
	conn_add(r, c);
}

static void enqueue(struct conn *c, struct half *h, const char *buf, size_t n, uint64_t now)
{
	struct chunk *k = malloc(sizeof *k + n);
	if (!k)
		return;
	uint64_t ms = h->delay_ms;
	if (ms && c->jitter_ms)
		ms += rnd(c) % (c->jitter_ms + 1);
	if (!c->any_data)
		ms += c->extra_ms;
	c->any_data = 1;
	k->due_ns = now + ms * 1000000ull;
	if (k->due_ns < h->last_due)
		k->due_ns = h->last_due; /* jitter never reorders a byte stream */
	h->last_due = k->due_ns;
	k->next = NULL;
	k->len = n;
	k->off = 0;
	memcpy(k->data, buf, n);
	if (h->tail)
		h->tail->next = k;
	else
		h->head = k;
	h->tail = k;
	h->queued += n;
}

/* Reads what src has; 0 on EOF, -1 on a reset (or error), 1 otherwise. */
static int pull(struct conn *c, int src, struct half *h, uint64_t now)
{
	char buf[CHUNK];
	while (h->queued < QUEUE_MAX) {
		ssize_t n = read(src, buf, sizeof buf);
		if (n > 0) {
			enqueue(c, h, buf, (size_t)n, now);
			continue;
		}
		if (n == 0) {
			h->eof = 1;
			return 0;
		}
		return errno == EAGAIN || errno == EINTR ? 1 : -1;
	}
	return 1;
}

/* When a half has something to deliver next (ns; 0: nothing, or it waits for its destination to
 * take more, which poll says). */
static uint64_t half_wake(const struct half *h)
{
	if (!h->head || h->blocked)
		return 0;
	return h->head->due_ns > h->next_ns ? h->head->due_ns : h->next_ns;
}

/* Delivers what is due (what is not, half_wake says when). -1: the destination failed; 2: the
 * rule's reset is due; 3: its silence begins. */
static int push(struct half *h, int dst, uint64_t now)
{
	while (h->head) {
		struct chunk *k = h->head;
		if (k->due_ns > now || h->next_ns > now)
			return 0;
		size_t n = k->len - k->off;
		if (h->reset_after && h->passed + n >= h->reset_after - 1)
			n = h->reset_after - 1 - h->passed;
		if (h->silent_after && h->passed + n >= h->silent_after - 1)
			n = h->silent_after - 1 - h->passed;
		if (h->slice && n > h->slice)
			n = h->slice;
		if (h->rate) {
			h->tokens += (double)(now - h->tokens_ns) * 1e-9 * (double)h->rate;
			double cap = (double)h->rate / 20 + 1;
			if (h->tokens > cap || !h->tokens_ns)
				h->tokens = h->tokens_ns ? cap : 1;
			h->tokens_ns = now;
			if (h->tokens < 1) { /* the next delivery waits for a byte's worth of tokens */
				h->next_ns = now + (uint64_t)((1 - h->tokens) / (double)h->rate * 1e9) + 1;
				return 0;
			}
			if ((double)n > h->tokens)
				n = (size_t)h->tokens;
		}
		if (n == 0)
			return h->reset_after ? 2 : 3;
		ssize_t w = write(dst, k->data + k->off, n);
		h->blocked = w < 0 && (errno == EAGAIN || errno == EINTR);
		if (w < 0)
			return h->blocked ? 0 : -1;
		k->off += (size_t)w;
		h->passed += (uint64_t)w;
		h->queued -= (size_t)w;
		if (h->rate)
			h->tokens -= (double)w;
		if (h->slice)
			h->next_ns = now + 1000000ull; /* one slice per read the program makes, about */
		if (k->off == k->len) {
			h->head = k->next;
			if (!h->head)
				h->tail = NULL;
			free(k);
		}
		if (h->reset_after && h->passed >= h->reset_after - 1)
			return 2;
		if (h->silent_after && h->passed >= h->silent_after - 1)
			return 3;
		if ((size_t)w < n)
			return 0;
	}
	if (h->eof && !h->shut) {
		shutdown(dst, SHUT_WR);
		h->shut = 1;
	}
	return 0;
}

/* One connection's turn: 1 when it is over. */
static int conn_step(struct conn *c, const struct pollfd *pp, const struct pollfd *pu, uint64_t now)
{
	if (c->silent)
		return (pp->revents & (POLLRDHUP | POLLHUP | POLLERR)) ? (conn_end(c, 0), 1) : 0;
	if (c->connecting && (pu->revents & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->up, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_end(c, 1);
			return 1;
		}
		c->connecting = 0;
	}
	if (c->reset_at_ns && now >= c->reset_at_ns) {
		conn_end(c, 1);
		return 1;
	}
	if ((pp->revents & (POLLIN | POLLHUP | POLLERR)) && !c->out.eof && pull(c, c->prog, &c->out, now) < 0) {
		conn_end(c, 1);
		return 1;
	}
	if (!c->connecting && (pu->revents & (POLLIN | POLLHUP | POLLERR)) && !c->in.eof &&
	    pull(c, c->up, &c->in, now) < 0) {
		conn_end(c, 1);
		return 1;
	}
	int a = c->connecting ? 0 : push(&c->out, c->up, now);
	int b = push(&c->in, c->prog, now);
	if (a < 0 || b < 0 || b == 2) {
		conn_end(c, 1);
		return 1;
	}
	if (b == 3) { /* the peer falls silent: nothing more either way, both ends stay open */
		c->silent = 1;
		half_free(&c->in);
		half_free(&c->out);
		close(c->up);
		c->up = -1;
		return 0;
	}
	if (c->in.shut && c->out.shut) {
		conn_end(c, 0);
		return 1;
	}
	return 0;
}

static short want_events(const struct conn *c, int prog)
{
	if (c->silent)
		return prog ? POLLRDHUP : 0;
	/* writability only when a write found the buffer full: what waits for its time waits on poll's timeout */
	if (prog)
		return (short)((c->out.queued < QUEUE_MAX && !c->out.eof ? POLLIN : 0) | (c->in.blocked ? POLLOUT : 0));
	if (c->connecting)
		return POLLOUT;
	return (short)((c->in.queued < QUEUE_MAX && !c->in.eof ? POLLIN : 0) | (c->out.blocked ? POLLOUT : 0));
}

static void *relay_main(void *arg)
{
	struct sl_relay *r = arg;
	struct pollfd *pf = NULL;
	size_t pcap = 0;
	for (;;) {
		size_t n = 3 + 2 * r->nconns;
		if (n > pcap) {
			struct pollfd *v = realloc(pf, n * 2 * sizeof *v);
			if (!v)
				break;
			pf = v;
			pcap = n * 2;
		}
		pf[0] = (struct pollfd){r->wake[0], POLLIN, 0};
		pf[1] = (struct pollfd){r->lis[0], POLLIN, 0};
		pf[2] = (struct pollfd){r->lis[1], POLLIN, 0};
		uint64_t now = sl_mono_now(), wake = 0;
		for (size_t i = 0; i < r->nconns; i++) {
			struct conn *c = r->conns[i];
			pf[3 + 2 * i] = (struct pollfd){c->prog, want_events(c, 1), 0};
			pf[4 + 2 * i] = (struct pollfd){c->up, want_events(c, 0), 0};
			/* what is queued and due later, and a reset to come, set the timeout */
			uint64_t t[3] = {half_wake(&c->in), c->connecting ? 0 : half_wake(&c->out), c->reset_at_ns};
			for (int k = 0; k < 3; k++)
				if (t[k] && (!wake || t[k] < wake))
					wake = t[k];
		}
		int timeout = !wake ? -1 : wake <= now ? 0 : (int)((wake - now) / 1000000u) + 1;
		if (poll(pf, n, timeout) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break; /* socklens run is done: the program and its children have ended */
		for (int v = 0; v < 2; v++)
			if (pf[1 + v].revents & POLLIN)
				for (int k = 0; k < 64; k++)
					accept_one(r, r->lis[v], v);
		now = sl_mono_now();
		size_t keep = 0, before = (n - 3) / 2; /* those polled; the rest were accepted now */
		for (size_t i = 0; i < before; i++) {
			struct conn *c = r->conns[i];
			if (conn_step(c, &pf[3 + 2 * i], &pf[4 + 2 * i], now))
				free(c);
			else
				r->conns[keep++] = c;
		}
		for (size_t i = before; i < r->nconns; i++) /* accepted in this round */
			r->conns[keep++] = r->conns[i];
		r->nconns = keep;
	}
	free(pf);
	return NULL;
}

int sl_relay_start(struct sl_relay *r)
{
	if (r->lis[0] < 0)
		return 0; /* refuse and blackhole need no thread: the kernel answers */
	if (pthread_create(&r->thread, NULL, relay_main, r) != 0)
		return -1;
	r->started = 1;
	return 0;
}

void sl_relay_close(struct sl_relay *r)
{
	if (!r)
		return;
	if (r->started) {
		(void)!write(r->wake[1], "", 1);
		pthread_join(r->thread, NULL);
	}
	for (size_t i = 0; i < r->nconns; i++) {
		conn_end(r->conns[i], 0);
		free(r->conns[i]);
	}
	free(r->conns);
	if (r->reserve >= 0)
		close(r->reserve);
	int *fds[] = {r->refuse, r->hole, r->hole_fill, r->lis, r->wake};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		for (int v = 0; v < 2; v++)
			if (fds[i][v] >= 0)
				close(fds[i][v]);
	free(r);
}
