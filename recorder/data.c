/* data.c - a data call's end that needs more than counting (data.h counts the rest): failures,
 * EOF, slow calls, a pending connect's outcome, the first blocking read, the first bytes each
 * way (a TLS handshake or alert), short writes, a reply after several writes. */
#define _GNU_SOURCE
#include <errno.h>
#include "data.h"

uint64_t sl_slow_ns = UINT64_MAX;

static void call_event(struct sl_rec *r, struct sl_slot *s, int fd, uint16_t type, uint16_t call, int err,
		       uint64_t dur_ns, uint32_t stack, uint64_t site)
{
	struct sl_event *ev = sl_rec_event(r, type, call, fd, s, stack, err);
	if (!ev)
		return;
	ev->ts_ns -= dur_ns;
	ev->dur_ns = dur_ns;
	ev->a = (int64_t)site;
	sl_ev_commit(r->log, ev);
}

void sl_rec_failed(struct sl_rec *r, struct sl_slot *s, int fd, uint16_t call, int in, int err, uint64_t dt,
		   uint64_t site)
{
	if (err == EAGAIN || err == EWOULDBLOCK) {
		__atomic_fetch_add(in ? &s->eagain_in : &s->eagain_out, 1, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_load_n(&s->connect_state, __ATOMIC_ACQUIRE) == SL_CONN_PENDING && err != EINTR) {
		/* the error of a connect still in progress surfaces on the first I/O */
		sl_rec_connect_result(r, s, fd, err, sl_now());
		return;
	}
	sl_slot_count_error(s, err);
	uint32_t stack = r->probe->stack(r->arg);
	if (!s->error_stack)
		s->error_stack = stack;
	sl_site_count(r->log, stack, err, dt, 0, 0);
	if (stack && sl_site_failures(r->log, stack, err) > sl_rec_events_per_site(r))
		return; /* counted: a failure repeated at one site (haproxy's sends to a missing /dev/log)
			 * must not push every other event out of the ring */
	call_event(r, s, fd, SL_EV_ERROR, call, err, dt, stack, site);
}

/* What the first bytes of a direction were: a TLS handshake record, a TLS alert (level and
 * description kept), another TLS record, or something else. Only the 5-byte record header and
 * the 2 alert bytes are looked at; nothing of the payload is kept but this verdict. */
/* The client's flight after its ClientHello: a plain alert (TLS 1.2), or a TLS 1.3 alert, encrypted
 * with the handshake's keys: one 19-byte application-data record where a Finished would be (53
 * bytes or more), after an optional ChangeCipherSpec. A lone ChangeCipherSpec keeps us looking. */
enum flight { FLIGHT_CCS, FLIGHT_ALERT, FLIGHT_ENC_ALERT, FLIGHT_OTHER };

/* A flight's first record, past an optional ChangeCipherSpec (*b and *n moved past it): a lone
 * ChangeCipherSpec (keep looking), an alert in the clear (TLS 1.2: kept, sent by the program when
 * dir is 1), a TLS 1.3 alert encrypted (19 bytes), or something else. */
static enum flight flight_record(struct sl_slot *s, const unsigned char **b, long *n, uint8_t dir)
{
	if (*n == 6 && (*b)[0] == 20)
		return FLIGHT_CCS;
	if (*n >= 6 && (*b)[0] == 20 && (*b)[3] == 0 && (*b)[4] == 1) {
		*b += 6;
		*n -= 6;
	}
	const unsigned char *r = *b;
	if (*n >= 7 && r[0] == 21 && r[1] == 3 && !s->alert_level) {
		s->alert_level = r[5];
		s->alert_desc = r[6];
		s->alert_dir = dir;
		return FLIGHT_ALERT;
	}
	return *n >= 5 && r[0] == 23 && r[1] == 3 && r[3] == 0 && r[4] == 19 ? FLIGHT_ENC_ALERT : FLIGHT_OTHER;
}

static void second_flight(struct sl_slot *s, const unsigned char *b, long n)
{
	enum flight f = flight_record(s, &b, &n, 1);
	if (f == FLIGHT_CCS)
		return;
	if (f == FLIGHT_ENC_ALERT) {
		sl_slot_flag(s, SL_SF_TLS_ENC_ALERT);
	} else if (f == FLIGHT_OTHER && n >= 5 && b[0] == 23 && b[1] == 3) {
		/* TLS 1.3's Finished (and a certificate, if any): what the server sends next says whether
		 * it accepted them (a session ticket, data) or not (an alert, encrypted); what the client
		 * sends next, whether it went on (a request) or not (an alert) */
		sl_slot_flag(s, SL_SF_TLS_AWAIT | SL_SF_FIRST_IN | SL_SF_TLS_THIRD);
		return;
	} else if (f == FLIGHT_OTHER && n >= 5 && b[0] == 22 && b[1] == 3) {
		/* TLS 1.2's certificate, key exchange and Finished: the server's next record says whether
		 * it took them (its ChangeCipherSpec) or not (an alert, in the clear) */
		sl_slot_flag(s, SL_SF_TLS_THIRD | SL_SF_TLS_AWAIT | SL_SF_FIRST_IN);
		return;
	}
	__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_FIRST_OUT, __ATOMIC_RELAXED);
}

/* The client's first record after its handshake: a request, or an alert (a client that checks
 * the server's certificate against the host name after the handshake, as curl does, rejects it
 * so; a client closing a connection it never used sends one too: close_notify, alike once
 * encrypted). */
static void third_flight(struct sl_slot *s, const unsigned char *b, long n)
{
	if (n >= 5 && b[1] == 3 && ((b[0] == 23 && b[3] == 0 && b[4] == 19) || b[0] == 21))
		sl_slot_flag(s, SL_SF_TLS_LAST_ALERT);
	__atomic_fetch_and(&s->flags, ~(uint32_t)(SL_SF_TLS_THIRD | SL_SF_FIRST_OUT), __ATOMIC_RELAXED);
}

/* A server's look at the client's flight after the server's first: a ChangeCipherSpec alone keeps
 * it looking; an alert in the clear (TLS 1.2), or a TLS 1.3 one encrypted (19 bytes) where the
 * client's Finished would be, is the client refusing the server's certificate. */
static void client_flight(struct sl_slot *s, const unsigned char *b, long n)
{
	enum flight f = flight_record(s, &b, &n, 0);
	if (f == FLIGHT_CCS)
		return;
	if (n == 5 && b[0] == 21 && b[1] == 3 && !s->alert_level) {
		/* an alert's header read alone (OpenSSL's s_server reads so): its two bytes come next
		 * (first_bytes, as a client's) */
		s->first_in = SL_FB_TLS_ALERT;
		s->flags2 |= SL_SF2_ALERT_AFTER_FLIGHT;
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_TLS_AWAIT, __ATOMIC_RELAXED);
		return;
	}
	if (f == FLIGHT_ALERT)
		s->flags2 |= SL_SF2_ALERT_AFTER_FLIGHT;
	else if (f == FLIGHT_ENC_ALERT)
		s->flags2 |= SL_SF2_CLIENT_ENC_ALERT;
	__atomic_fetch_and(&s->flags, ~(uint32_t)(SL_SF_TLS_AWAIT | SL_SF_FIRST_IN), __ATOMIC_RELAXED);
}

static void first_bytes(struct sl_slot *s, int in, const unsigned char *b, long n)
{
	uint8_t kind = SL_FB_OTHER;
	if (in && s->role == SL_ROLE_SERVER && (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & SL_SF_TLS_AWAIT)) {
		client_flight(s, b, n);
		return;
	}
	if (!in && s->role == SL_ROLE_SERVER && (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & SL_SF_TLS_THIRD)) {
		/* the server's record after the client's flight: in TLS 1.2 an alert is in the clear */
		if (n >= 7 && b[0] == 21 && b[1] == 3 && !s->alert_level) {
			s->alert_level = b[5];
			s->alert_desc = b[6];
			s->alert_dir = 1;
			s->flags2 |= SL_SF2_ALERT_AFTER_FLIGHT;
		}
		__atomic_fetch_and(&s->flags, ~(uint32_t)(SL_SF_TLS_THIRD | SL_SF_FIRST_OUT), __ATOMIC_RELAXED);
		return;
	}
	if (in && (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & SL_SF_TLS_AWAIT)) {
		if (n >= 5 && b[0] == 23 && b[1] == 3 && b[3] == 0 && b[4] == 19)
			sl_slot_flag(s, SL_SF_TLS_SERVER_ALERT);
		else if (n >= 5 && b[0] == 21 && b[1] == 3 && !s->alert_level) { /* TLS 1.2's, in the clear */
			s->flags2 |= SL_SF2_ALERT_AFTER_FLIGHT;
			s->alert_dir = 0;
			if (n >= 7) {
				s->alert_level = b[5];
				s->alert_desc = b[6];
			} else { /* its two bytes come with the next read (OpenSSL reads the header alone) */
				s->first_in = SL_FB_TLS_ALERT;
				__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_TLS_AWAIT, __ATOMIC_RELAXED);
				return;
			}
		}
		__atomic_fetch_and(&s->flags, ~(uint32_t)(SL_SF_TLS_AWAIT | SL_SF_FIRST_IN), __ATOMIC_RELAXED);
		return;
	}
	if (!in && (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & SL_SF_TLS_THIRD)) {
		third_flight(s, b, n);
		return;
	}
	if (!in && s->first_out == SL_FB_TLS_HELLO) {
		second_flight(s, b, n);
		return;
	}
	if (in && s->first_in == SL_FB_TLS_ALERT && !s->alert_level && n >= 2) {
		/* the alert's body, read on its own after its 5-byte header (as OpenSSL reads) */
		s->alert_level = b[0];
		s->alert_desc = b[1];
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_FIRST_IN, __ATOMIC_RELAXED);
		return;
	}
	if (n >= 5 && b[1] == 3 && b[2] <= 4 && b[0] >= 20 && b[0] <= 24) {
		kind = b[0] == 22 ? SL_FB_TLS_HELLO : b[0] == 21 ? SL_FB_TLS_ALERT : SL_FB_TLS_OTHER;
		if (kind == SL_FB_TLS_ALERT && n >= 7 && !s->alert_level) {
			s->alert_level = b[5];
			s->alert_desc = b[6];
			s->alert_dir = (uint8_t)!in;
		}
	} else if (n >= 5 && b[0] == 'H' && b[1] == 'T' && b[2] == 'T' && b[3] == 'P' && b[4] == '/') {
		kind = SL_FB_HTTP;
	}
	if (in)
		s->first_in = kind;
	else
		s->first_out = kind;
	if (kind == SL_FB_TLS_ALERT && n == 5)
		return; /* keep looking: the next read brings the alert's two bytes */
	if (!in && kind == SL_FB_TLS_HELLO && s->role == SL_ROLE_CLIENT)
		return; /* keep looking: the client's next flight (second_flight) */
	if (!in && kind == SL_FB_TLS_HELLO && s->role == SL_ROLE_SERVER && s->first_in == SL_FB_TLS_HELLO) {
		/* a server's first flight: the client's next records say whether it took the certificate,
		 * the server's next whether it took the client's (client_flight, and above) */
		sl_slot_flag(s, SL_SF_TLS_AWAIT | SL_SF_FIRST_IN | SL_SF_TLS_THIRD);
		return;
	}
	__atomic_fetch_and(&s->flags, ~(uint32_t)(in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT), __ATOMIC_RELAXED);
}

void sl_rec_first_look(struct sl_rec *r, struct sl_slot *s, int in, const void *buf, long n)
{
	(void)r;
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	if (in && n == 0 && !(flags & SL_SF_EOF)) {
		s->eof_cns = sl_now();
		sl_slot_flag(s, SL_SF_EOF);
	} else if (n > 0 && (flags & (in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT))) {
		first_bytes(s, in, buf, n);
	}
}

/* A reply after two or more writes with Nagle on: the peer's delayed ACK held the last write
 * back for ~40 ms (Linux acks at 40 ms at the least, 200 ms at the most) if that is how long
 * the reply took. */
static void reply_after_writes(struct sl_slot *s, uint64_t now)
{
	int nodelay = (s->opts_set & (1u << SL_OPT_NODELAY)) && s->opt[SL_OPT_NODELAY];
	uint64_t gap = now - s->last_out_cns;
	s->rounds_multi++;
	if (!nodelay && s->last_out_cns && gap >= 30000000ull && gap <= 80000000ull) {
		s->nagle_rounds++;
		s->nagle_cns += gap;
	}
}

/* A write that sent less than asked: kept until the program writes again. */
static void short_write(struct sl_slot *s, size_t sent, size_t asked)
{
	s->short_asked = asked > UINT32_MAX ? UINT32_MAX : (uint32_t)asked;
	s->short_sent = sent > UINT32_MAX ? UINT32_MAX : (uint32_t)sent;
	sl_slot_flag(s, SL_SF_SHORT_WRITE);
}

/* The counters of data.h, with atomics: another thread may be in the slow path too. */
static void count(struct sl_slot *s, const struct sl_data_call *c)
{
	int in = c->in;
	__atomic_fetch_add(in ? &s->calls_in : &s->calls_out, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(in ? &s->blocked_in_cns : &s->blocked_out_cns, c->dt, __ATOMIC_RELAXED);
	uint64_t *max = in ? &s->read_max_cns : &s->write_max_cns;
	if (c->dt > __atomic_load_n(max, __ATOMIC_RELAXED))
		__atomic_store_n(max, c->dt, __ATOMIC_RELAXED);
	if (c->ret > 0 && !c->peek)
		__atomic_fetch_add(in ? &s->bytes_in : &s->bytes_out, (uint64_t)c->ret, __ATOMIC_RELAXED);
}

/* A blocking socket's first read: where it was made, and whether anything bounds it. */
static void first_blocking_read(struct sl_rec *r, struct sl_slot *s, const struct sl_data_call *c)
{
	if (!(s->read_site & SL_SITE_STACK)) { /* taken when it began, in a language's program */
		s->read_site = c->site;
		if (r->probe->note_site)
			r->probe->note_site(r->arg, c->site); /* symbolized later, even with no stack taken */
	}
	sl_slot_flag(s, SL_SF_BLOCKING_READ);
	if (c->guarded)
		sl_slot_flag(s, SL_SF_GUARDED); /* the process's alarm bounds the read */
	__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_WATCH_READ, __ATOMIC_RELAXED);
}

/* A call that moved ret >= 0 bytes. */
static void moved(struct sl_rec *r, struct sl_slot *s, int fd, const struct sl_data_call *c, uint32_t flags)
{
	int in = c->in, data = c->ret > 0 && !c->peek;
	uint32_t first = in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT;
	if (in && c->ret == 0 && !(flags & SL_SF_EOF)) {
		s->eof_cns = c->now;
		sl_slot_flag(s, SL_SF_EOF);
		/* where a Python or Java program learned the peer was done: the line that should
		 * close (its accept, for a server, is the runtime's library) */
		if (c->eof_stack)
			s->eof_stack = r->probe->stack(r->arg);
	}
	if (data && (flags & first) && c->first_buf)
		first_bytes(s, in, c->first_buf, c->ret);
	else if (data && (flags & first)) /* a vector call (writev, sendmsg): no look, and no more slow path */
		__atomic_fetch_and(&s->flags, ~first, __ATOMIC_RELAXED);
	if (in && data && s->writes_since_read > 1)
		reply_after_writes(s, c->now);
	/* the first exchange: a client's request answered, a server's request served (the first
	 * call each way comes here: the FIRST_* flags send it) */
	uint64_t asked = in ? s->last_out_cns : s->last_in_cns;
	if (data && !s->reply_us && asked && c->now >= asked && s->role == (in ? SL_ROLE_CLIENT : SL_ROLE_SERVER)) {
		uint64_t us = (c->now - asked) / 1000;
		s->reply_us = us ? (us < UINT32_MAX ? (uint32_t)us : UINT32_MAX) : 1;
	}
	if (data) {
		if (in) {
			s->last_in_cns = c->now;
			s->writes_since_read = 0;
		} else {
			s->last_out_cns = c->now;
			s->writes_since_read++;
		}
	}
	if (__atomic_load_n(&s->connect_state, __ATOMIC_RELAXED) == SL_CONN_PENDING)
		sl_rec_connect_result(r, s, fd, 0, sl_now());
}

void sl_rec_data(struct sl_rec *r, struct sl_slot *s, int fd, const struct sl_data_call *c)
{
	int in = c->in;
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	if (in && (uint32_t)(c->now >> SL_SAMPLE_SHIFT) != s->sample_epoch)
		sl_rec_sample(r, s, fd, c->now);
	if (!in && (flags & SL_SF_SHORT_WRITE)) /* the program wrote again after a short write */
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_SHORT_WRITE, __ATOMIC_RELAXED);
	if (!in && c->ret >= 0 && (size_t)c->ret < c->want)
		short_write(s, (size_t)c->ret, c->want);
	if (!r->kernel_counts) /* else the kernel's counts stand in (kernel.c) */
		count(s, c);
	if (in && (flags & SL_SF_WATCH_READ) && !(flags & SL_SF_NONBLOCK))
		first_blocking_read(r, s, c);
	if (c->ret < 0)
		sl_rec_failed(r, s, fd, c->call, in, c->err, c->dt, c->site);
	else
		moved(r, s, fd, c, flags);
	if (c->dt >= sl_slow_ns) {
		uint32_t stack = r->probe->stack(r->arg);
		sl_site_count(r->log, stack, 0, c->dt, 0, 1);
		call_event(r, s, fd, SL_EV_SLOW, c->call, c->ret < 0 ? c->err : 0, c->dt, stack, c->site);
	}
}
