/* test_model.c - the connection model and the rules, on logs written by the real writer. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/tcp.h>
#include "fixtures.h"
#include "report/report.h"

struct ctx {
	char *dir;
	struct sl_log log;
	struct sl_run run;
	struct sl_thresholds th;
	struct sl_diags ds;
	int loaded;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	struct sl_log_params p;
	sl_log_params_default(&p);
	p.slots = 64;
	c->dir = tmp_rundir();
	sl_thresholds_default(&c->th);
	assert_int_equal(sl_log_create(&c->log, c->dir, &p, 4242, 1, NULL), 0);
	c->log.hdr->end_reason = SL_END_EXIT; /* a process that has exited */
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 1000000000ull;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	if (c->loaded) {
		sl_diags_release(&c->ds);
		sl_run_release(&c->run);
		sl_symbolizer_reset();
	}
	if (c->log.hdr)
		munmap(c->log.hdr, c->log.size);
	rm_rundir(c->dir);
	free(c);
	return 0;
}

static void analyze(struct ctx *c, const char *threshold)
{
	char err[256];
	assert_int_equal(sl_run_index(&c->run, c->dir, err, sizeof err), 0);
	if (threshold)
		assert_int_equal(sl_threshold_set(&c->th, threshold), 0);
	sl_analyze(&c->run, &c->th, &c->ds, NULL, NULL);
	c->loaded = 1;
}

/* The analysis again, with other thresholds. */
static void reanalyze(struct ctx *c)
{
	sl_diags_release(&c->ds);
	sl_analyze(&c->run, &c->th, &c->ds, NULL, NULL);
}

static uint32_t stack_at(struct ctx *c, uint64_t ip)
{
	uint64_t ips[2] = {ip, 0x401000};
	return sl_stack_intern(&c->log, ips, 2, NULL);
}

static void connect_event(struct ctx *c, int err, const char *ip, int port, uint32_t stack)
{
	struct sl_event *ev = sl_ev_begin(&c->log, SL_EV_CONNECT, SL_CALL_CONNECT, 5);
	ev->ts_ns = sl_now();
	ev->err = err;
	ev->stack = stack;
	ev->dur_ns = 2000000;
	addr_in(&ev->addr, ip, port);
	sl_ev_commit(&c->log, ev);
}

static struct sl_slot *tcp_slot(struct ctx *c, int role)
{
	struct sl_slot *s = sl_slot_alloc(&c->log);
	s->fd = 9;
	s->family = AF_INET;
	s->type = SOCK_STREAM;
	s->role = (uint8_t)role;
	s->connect_state = SL_CONN_DONE;
	s->open_ns = c->log.hdr->start_mono_ns;
	s->open_stack = stack_at(c, 0x5000);
	addr_in(&s->peer, "127.0.0.1", 6379);
	return s;
}

static const struct sl_diag *only(struct ctx *c, enum sl_kind k)
{
	const struct sl_diag *found = NULL;
	for (size_t i = 0; i < c->ds.n; i++) {
		if (c->ds.v[i].kind != k)
			continue;
		assert_null(found);
		found = &c->ds.v[i];
	}
	assert_non_null(found);
	return found;
}

static void refused_connects_from_one_site_are_grouped(void **state)
{
	struct ctx *c = *state;
	uint32_t site = stack_at(c, 0x1234), other = stack_at(c, 0x4321);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 9, site);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 9, site);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 10, site); /* another peer: listed, not split */
	connect_event(c, ECONNREFUSED, "127.0.0.1", 9, other); /* another call site: its own finding */
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 2);
	assert_int_equal(c->ds.v[0].kind, SL_K_CONNECT_REFUSED);
	assert_int_equal(c->ds.v[0].count, 3); /* worst first: the larger group */
	assert_int_equal(c->ds.v[0].npeers, 2);
	assert_string_equal(c->ds.v[0].peers[0], "127.0.0.1:9");
	assert_string_equal(c->ds.v[0].peers[1], "127.0.0.1:10");
	assert_string_equal(sl_errno_name(c->ds.v[0].err), "ECONNREFUSED");
	assert_int_equal(c->ds.v[1].count, 1);
}

/* A call site's failures past what the event table keeps are counted at the site: the group's
 * last_seen is the site's last failure, not the last one kept (it said 18:46:46 for refusals that
 * went on until 18:46:52). */
static void failures_counted_past_the_event_table_date_their_group(void **state)
{
	struct ctx *c = *state;
	uint32_t site = stack_at(c, 0x1234);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 9, site);
	for (int i = 0; i < 300; i++)
		sl_site_count(&c->log, site, ECONNREFUSED, 0, SL_CALL_CONNECT, 0);
	struct sl_stack *st = sl_stack_at(&c->log, site);
	st->last_fail_ns = 0; /* (a log that did not date them: the event's time) */
	analyze(c, NULL);
	assert_int_equal(only(c, SL_K_CONNECT_REFUSED)->count, 300);
	uint64_t kept = only(c, SL_K_CONNECT_REFUSED)->wall_ns;
	st->last_fail_ns = c->log.events[0].ts_ns + 6000000000ull;
	reanalyze(c);
	assert_int_equal(only(c, SL_K_CONNECT_REFUSED)->count, 300);
	uint64_t last = only(c, SL_K_CONNECT_REFUSED)->wall_ns;
	assert_true(last >= kept + 5900000000ull && last <= kept + 6100000000ull);
}

/* More peers than a finding lists, each met several times: counted once each (a repeat of one not
 * listed was counted again: 16 leaks to 8 ports said "12 peers"). */
static void distinct_peers_are_counted_exactly_past_the_listed_few(void **state)
{
	struct ctx *c = *state;
	uint32_t site = stack_at(c, 0x1234);
	for (int round = 0; round < 3; round++)
		for (int port = 9000; port < 9008; port++)
			connect_event(c, ECONNREFUSED, "127.0.0.1", port, site);
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 1);
	assert_int_equal(c->ds.v[0].count, 24);
	assert_int_equal(c->ds.v[0].npeers, 8);
	assert_int_equal(c->ds.v[0].npids, 1);
}

/* A refused connect followed by one from the same call site to the same peer that got through is
 * a retry (a warning); another peer, another site, or a success before it is not (an error). */
/* A refused connect followed by one from the same call site to the same peer that got through is
 * a retry (a warning); another peer, another site, or a success before it is not (an error). */
static void a_refusal_retried_from_the_same_site_to_the_same_peer_is_a_warning(void **state)
{
	struct ctx *c = *state;
	uint32_t a = stack_at(c, 0x1234), b = stack_at(c, 0x4321), d = stack_at(c, 0x5555);
	struct sl_slot *early = tcp_slot(c, SL_ROLE_CLIENT); /* before d's failure: not a retry */
	early->connect_stack = d;
	early->connect_start_ns = sl_now();
	addr_in(&early->peer, "127.0.0.1", 7002);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 7000, a); /* retried */
	connect_event(c, ECONNREFUSED, "127.0.0.1", 7001, b); /* 7001 reached from a only */
	connect_event(c, ECONNREFUSED, "127.0.0.1", 7002, d); /* d reached it only before */
	for (int port = 6990; port < 7004; port++) {           /* neighbours in the index's order */
		struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
		s->connect_stack = a;
		s->connect_start_ns = sl_now() + 1;
		addr_in(&s->peer, "127.0.0.1", port);
	}
	analyze(c, NULL);
	unsigned warned = 0, errors = 0;
	for (size_t i = 0; i < c->ds.n; i++) {
		if (c->ds.v[i].kind != SL_K_CONNECT_REFUSED)
			continue;
		if (c->ds.v[i].sev == SL_SEV_WARNING) {
			warned += c->ds.v[i].count;
			assert_string_equal(c->ds.v[i].peers[0], "127.0.0.1:7000");
		} else {
			errors += c->ds.v[i].count;
		}
	}
	assert_int_equal(warned, 1);
	assert_int_equal(errors, 2);
}

static void connect_errors_map_to_kinds(void **state)
{
	struct ctx *c = *state;
	connect_event(c, ETIMEDOUT, "10.0.0.1", 80, 0);
	connect_event(c, EHOSTUNREACH, "10.0.0.2", 80, 0);
	connect_event(c, ENETUNREACH, "10.0.0.3", 80, 0);
	connect_event(c, 0, "10.0.0.4", 80, 0); /* success: nothing */
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 3);
	only(c, SL_K_CONNECT_TIMEOUT);
	unsigned unreachable = 0;
	for (size_t i = 0; i < c->ds.n; i++)
		unreachable += c->ds.v[i].kind == SL_K_CONNECT_UNREACHABLE;
	assert_int_equal(unreachable, 2);
}

static void abandoned_handshake_is_a_timeout(void **state)
{
	struct ctx *c = *state;
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->connect_state = SL_CONN_PENDING;
	s->connect_start_ns = s->open_ns;
	s->tcp_state = TCP_SYN_SENT;
	s->flags |= SL_SF_TCPINFO;
	sl_slot_close(&c->log, s, s->open_ns + 1500000000ull);
	analyze(c, NULL);
	const struct sl_diag *d = only(c, SL_K_CONNECT_TIMEOUT);
	assert_int_equal(d->worst_ns, 1500000000ull);
}

static void reset_and_epipe_come_from_failed_io(void **state)
{
	struct ctx *c = *state;
	int errs[3] = {ECONNRESET, EPIPE, EAGAIN};
	for (int i = 0; i < 3; i++) {
		struct sl_event *ev = sl_ev_begin(&c->log, SL_EV_ERROR, SL_CALL_RECV, 5);
		ev->err = errs[i];
		sl_ev_commit(&c->log, ev);
	}
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 2);
	only(c, SL_K_CONNECTION_RESET);
	only(c, SL_K_BROKEN_PIPE);
}

static void open_socket_at_exit_is_a_leak_a_listener_lives_with_its_process(void **state)
{
	struct ctx *c = *state;
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 3600000000000ull; /* a service: ran an hour */
	struct sl_slot *k = tcp_slot(c, SL_ROLE_CLIENT);
	k->opts_set = 1u << SL_OPT_KEEPALIVE | 1u << SL_OPT_KEEPIDLE; /* nothing else to say about it */
	k->opt[SL_OPT_KEEPALIVE] = 1;
	k->opt[SL_OPT_KEEPIDLE] = 60;
	struct sl_slot *l = tcp_slot(c, SL_ROLE_LISTENER);
	l->open_stack = stack_at(c, 0x6000);
	struct sl_slot *closed = tcp_slot(c, SL_ROLE_CLIENT);
	sl_slot_close(&c->log, closed, closed->open_ns + 1);
	analyze(c, NULL);
	/* the client's call site closed one and left one: a leak; the listener, the only one its call
	 * site made, is meant to live as long as the process */
	assert_int_equal(c->ds.n, 1);
	assert_int_equal(c->ds.v[0].kind, SL_K_SOCKET_LEAK);
	assert_int_equal(c->ds.v[0].sev, SL_SEV_WARNING);
	assert_string_equal(c->ds.v[0].group_peer, "client");
}

static void listeners_open_at_exit_are_no_leak_unless_piled_up(void **state)
{
	struct ctx *c = *state;
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 3600000000000ull;
	for (int i = 0; i < 4; i++) /* one call site, four ports (a server's listeners) */
		tcp_slot(c, SL_ROLE_LISTENER)->open_stack = stack_at(c, 0x6000);
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 0);
	sl_diags_release(&c->ds);
	sl_run_release(&c->run);
	for (int i = 0; i < 6; i++) /* ten from one call site: a pile-up */
		tcp_slot(c, SL_ROLE_LISTENER)->open_stack = stack_at(c, 0x6000);
	analyze(c, NULL);
	assert_int_equal(only(c, SL_K_SOCKET_LEAK)->count, 10);
}

static void a_servers_reset_on_close_is_a_warning_unless_its_client_had_gone(void **state)
{
	struct ctx *c = *state;
	struct sl_slot *s = tcp_slot(c, SL_ROLE_SERVER);
	s->unread_at_close = 30; /* a request never read */
	s->flags |= SL_SF_TCPINFO;
	s->tcp_state = 1; /* ESTABLISHED: the client waits for its response */
	sl_slot_close(&c->log, s, s->open_ns + 1000);
	analyze(c, NULL);
	assert_int_equal(only(c, SL_K_RESET_ON_CLOSE)->sev, SL_SEV_WARNING);
	sl_diags_release(&c->ds);
	sl_run_release(&c->run);
	s->tcp_state = 8; /* CLOSE_WAIT: the client had closed its side, waiting for nothing */
	analyze(c, NULL);
	assert_int_equal(only(c, SL_K_RESET_ON_CLOSE)->sev, SL_SEV_INFO);
}

/* The tracer's record of a call on a shared connection that ended unanswered, the connection left
 * open (SL_EV_SLOW, b = SL_SLOW_UNANSWERED): one unanswered-request per call at the call's stack,
 * an error under the program's deadline, info when the program cancelled it; a short one is none,
 * and a preload's log has no such events to read. */
static void calls_that_ran_out_on_an_open_connection_are_each_unanswered(void **state)
{
	struct ctx *c = *state;
	c->log.hdr->flags |= SL_HDR_PTRACE;
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 9000000000ull;
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->bytes_out = 600;
	s->bytes_in = 300;
	s->calls_out = 8;
	s->last_out_cns = s->last_in_cns = s->open_ns + 8000000000ull; /* traffic after the calls */
	uint32_t call = stack_at(c, 0x7000);
	const uint64_t durs[] = {1200000000ull, 1200000000ull, 300000000ull, 2000000000ull};
	const int64_t how[] = {SL_SLOW_BOUNDED, SL_SLOW_BOUNDED, SL_SLOW_BOUNDED, 0 /* no deadline: cancelled */};
	for (int i = 0; i < 4; i++) {
		struct sl_event *ev = sl_ev_begin(&c->log, SL_EV_SLOW, SL_CALL_READ, s->fd);
		ev->conn_id = s->conn_id;
		ev->stack = call;
		ev->ts_ns = s->open_ns + (uint64_t)(i + 1) * 1500000000ull;
		ev->dur_ns = durs[i];
		ev->a = how[i];
		ev->b = SL_SLOW_UNANSWERED;
		sl_ev_commit(&c->log, ev);
	}
	analyze(c, NULL);
	size_t errors = 0, infos = 0;
	for (size_t i = 0; i < c->ds.n; i++) {
		const struct sl_diag *d = &c->ds.v[i];
		assert_int_equal(d->kind, SL_K_UNANSWERED_REQUEST);
		if (d->sev == SL_SEV_ERROR) {
			errors += d->count;
			assert_int_equal(d->site_stack, call);
			assert_non_null(strstr(d->summary, "connection stayed open"));
		} else {
			infos += d->count;
			assert_int_equal(d->sev, SL_SEV_INFO);
			assert_non_null(strstr(d->summary, "cancelled by the program"));
		}
	}
	assert_int_equal(errors, 2);
	assert_int_equal(infos, 1);
	sl_diags_release(&c->ds);
	sl_run_release(&c->run);
	c->log.hdr->flags &= ~(uint32_t)SL_HDR_PTRACE;
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 0);
}

/* A failed client's pooled connection, idle 2 s since its last answer, closed by the server just
 * as the next request went out: the idle-timeout race, said with the idle time and its advice. */
static void a_request_on_a_connection_the_server_closed_for_idleness_says_so(void **state)
{
	struct ctx *c = *state;
	c->log.hdr->exit_status = 1;
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 5000000000ull;
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->bytes_out = 400;
	s->bytes_in = 150;
	s->last_in_cns = s->open_ns + 1000000000ull;
	s->last_out_cns = s->open_ns + 3000000000ull;
	s->eof_cns = s->last_out_cns + 2000000;
	s->flags |= SL_SF_EOF;
	sl_slot_close(&c->log, s, s->open_ns + 3100000000ull);
	analyze(c, NULL);
	const struct sl_diag *d = only(c, SL_K_UNANSWERED_REQUEST);
	assert_int_equal(d->sev, SL_SEV_ERROR);
	assert_non_null(strstr(d->summary, "the connection had sat idle 2"));
	assert_non_null(strstr(d->advice, "IdleConnTimeout"));
}

/* A record whose times no clock gives (a bit flipped high in a damaged log: a connect of 576460752
 * s, a close before the open) is left out, counted, and the run is said to be checked in part;
 * its neighbours stand. */
static void records_with_impossible_times_are_left_out_and_said(void **state)
{
	struct ctx *c = *state;
	struct sl_slot *bad = tcp_slot(c, SL_ROLE_CLIENT);
	bad->connect_ns = 1ull << 59;
	sl_slot_close(&c->log, bad, bad->open_ns + 500000000ull);
	struct sl_slot *early = tcp_slot(c, SL_ROLE_CLIENT);
	sl_slot_close(&c->log, early, early->open_ns + 500000000ull);
	early->close_ns = early->open_ns - 5000000000ull;
	struct sl_slot *fine = tcp_slot(c, SL_ROLE_CLIENT);
	fine->connect_ns = 1500000000ull; /* a slow connect, and a true one */
	sl_slot_close(&c->log, fine, fine->open_ns + 1600000000ull);
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 3000000000ull;
	analyze(c, NULL);
	assert_int_equal(c->run.damaged_records, 2);
	assert_int_equal(only(c, SL_K_SLOW_CONNECT)->conn_id, fine->conn_id);
	char why[256];
	assert_int_equal(sl_run_checked(&c->run, why, sizeof why), SL_CHECKED_PART);
	assert_non_null(strstr(why, "2 damaged records left out"));
}

static void a_commands_one_late_socket_is_info_several_are_a_leak(void **state)
{
	struct ctx *c = *state; /* the process ran a second */
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->open_ns += 700000000; /* opened late in its life: not one meant to live as long as it */
	analyze(c, NULL);
	assert_int_equal(only(c, SL_K_SOCKET_LEAK)->sev, SL_SEV_INFO);
	sl_diags_release(&c->ds);
	sl_run_release(&c->run);
	tcp_slot(c, SL_ROLE_CLIENT); /* the same call site again */
	analyze(c, NULL);
	assert_int_equal(only(c, SL_K_SOCKET_LEAK)->sev, SL_SEV_WARNING);
	assert_int_equal(only(c, SL_K_SOCKET_LEAK)->count, 2);
}

static void a_socket_being_set_up_as_the_process_ends_is_no_leak(void **state)
{
	struct ctx *c = *state; /* the process ran a second */
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->open_ns += 900000000; /* opened 100 ms before the end, its connect still going */
	s->connect_state = SL_CONN_PENDING;
	analyze(c, NULL);
	for (size_t i = 0; i < c->ds.n; i++)
		assert_int_not_equal(c->ds.v[i].kind, SL_K_SOCKET_LEAK);
	sl_diags_release(&c->ds);
	sl_run_release(&c->run);
	s->connect_state = SL_CONN_DONE; /* ... but one connected is left open */
	analyze(c, NULL);
	assert_int_equal(only(c, SL_K_SOCKET_LEAK)->sev, SL_SEV_INFO);
}

static void not_leaks_servers_clients_pairs_blocked_sockets(void **state)
{
	struct ctx *c = *state;
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 3600000000000ull;
	tcp_slot(c, SL_ROLE_SERVER);               /* a client still connected when the server stops */
	struct sl_slot *p = tcp_slot(c, SL_ROLE_PAIR); /* a runtime's wakeup pair */
	p->family = AF_UNIX;
	p = tcp_slot(c, SL_ROLE_PAIR);
	p->family = AF_UNIX;
	struct sl_slot *b = tcp_slot(c, SL_ROLE_CLIENT); /* blocked in recv when the process ended */
	b->open_stack = stack_at(c, 0x7000);
	struct sl_inflight *f = sl_inflight_claim(&c->log, 99);
	f->fd = b->fd;
	f->conn_id = b->conn_id;
	f->call = SL_CALL_RECV;
	struct sl_slot *gone = tcp_slot(c, SL_ROLE_SERVER); /* but one whose client had closed */
	gone->flags |= SL_SF_EOF;
	gone->eof_cns = gone->open_ns;
	gone->open_stack = stack_at(c, 0x8000);
	analyze(c, NULL);
	for (size_t i = 0; i < c->ds.n; i++)
		assert_int_not_equal(c->ds.v[i].kind, SL_K_SOCKET_LEAK);
	/* held an hour after the client closed: a close-wait, an error */
	assert_int_equal(only(c, SL_K_CLOSE_WAIT)->sev, SL_SEV_ERROR);
	assert_int_equal(only(c, SL_K_CLOSE_WAIT)->conn_id, gone->conn_id);
	/* the read still blocked with no timeout: missing-timeout's (not a leak, not a hung-call) */
	assert_int_equal(only(c, SL_K_MISSING_TIMEOUT)->conn_id, b->conn_id);
}

static void sockets_handed_to_exec_are_not_leaks(void **state)
{
	struct ctx *c = *state;
	tcp_slot(c, SL_ROLE_CLIENT);
	c->log.hdr->end_reason = SL_END_EXEC;
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 0);
}

static void running_process_has_no_leaks_yet(void **state)
{
	struct ctx *c = *state;
	struct sl_log live;
	struct sl_log_params p;
	sl_log_params_default(&p);
	assert_int_equal(sl_log_create(&live, c->dir, &p, getpid(), getppid(), NULL), 0);
	struct sl_slot *s = sl_slot_alloc(&live);
	s->family = AF_INET;
	s->type = SOCK_STREAM;
	s->role = SL_ROLE_CLIENT;
	analyze(c, NULL);
	for (size_t i = 0; i < c->run.nprocs; i++)
		if (c->run.procs[i].pid == getpid())
			assert_true(c->run.procs[i].alive);
	assert_int_equal(c->ds.n, 0);
	munmap(live.hdr, live.size);
}

static void blocking_read_without_timeout(void **state)
{
	struct ctx *c = *state;
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->flags |= SL_SF_BLOCKING_READ;
	s->read_max_cns = 1500000000ull;
	s->read_site = 0x7777;
	sl_slot_close(&c->log, s, s->open_ns + 2000000000ull);
	struct sl_slot *guarded = tcp_slot(c, SL_ROLE_CLIENT);
	guarded->flags |= SL_SF_BLOCKING_READ | SL_SF_GUARDED;
	sl_slot_close(&c->log, guarded, guarded->open_ns + 1);
	struct sl_slot *timed = tcp_slot(c, SL_ROLE_CLIENT);
	timed->flags |= SL_SF_BLOCKING_READ;
	timed->opts_set = 1u << SL_OPT_RCVTIMEO;
	timed->opt[SL_OPT_RCVTIMEO] = 5000000;
	sl_slot_close(&c->log, timed, timed->open_ns + 1);
	analyze(c, NULL);
	const struct sl_diag *d = only(c, SL_K_MISSING_TIMEOUT);
	assert_int_equal(d->sev, SL_SEV_ERROR); /* blocked past the 1 s default */
	assert_int_equal(d->nsite, 1);
	assert_int_equal(d->site[0].addr, 0x7777);
	assert_int_equal(c->ds.n, 1);
}

static void short_blocking_read_is_a_warning_and_threshold_is_settable(void **state)
{
	struct ctx *c = *state;
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->flags |= SL_SF_BLOCKING_READ;
	s->read_max_cns = 300000000ull;
	sl_slot_close(&c->log, s, s->open_ns + 1);
	analyze(c, "blocked=100ms");
	assert_int_equal(only(c, SL_K_MISSING_TIMEOUT)->sev, SL_SEV_ERROR);
	c->th.blocked_ns = 1000000000ull;
	reanalyze(c);
	assert_int_equal(only(c, SL_K_MISSING_TIMEOUT)->sev, SL_SEV_WARNING);
}

static void old_connection_without_keepalive(void **state)
{
	struct ctx *c = *state;
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 100000000000ull; /* a process of 100 s */
	struct sl_slot *old = tcp_slot(c, SL_ROLE_SERVER);
	sl_slot_close(&c->log, old, old->open_ns + 90000000000ull);
	struct sl_slot *young = tcp_slot(c, SL_ROLE_SERVER);
	sl_slot_close(&c->log, young, young->open_ns + 1000000000ull);
	struct sl_slot *kept = tcp_slot(c, SL_ROLE_SERVER);
	kept->opts_set = 1u << SL_OPT_KEEPALIVE;
	kept->opt[SL_OPT_KEEPALIVE] = 1;
	sl_slot_close(&c->log, kept, kept->open_ns + 90000000000ull);
	struct sl_slot *tuned = tcp_slot(c, SL_ROLE_SERVER);
	tuned->opts_set = 1u << SL_OPT_KEEPALIVE | 1u << SL_OPT_KEEPIDLE;
	tuned->opt[SL_OPT_KEEPALIVE] = 1;
	tuned->opt[SL_OPT_KEEPIDLE] = 30;
	sl_slot_close(&c->log, tuned, tuned->open_ns + 90000000000ull);
	analyze(c, NULL);
	assert_int_equal(c->ds.n, 2);
	assert_int_equal(only(c, SL_K_MISSING_KEEPALIVE)->conn_id, old->conn_id);
	/* keepalive on with the system's idle time (2 h by default, 60 s is the threshold) */
	assert_int_equal(only(c, SL_K_KEEPALIVE_INEFFECTIVE)->conn_id, kept->conn_id);
}

/* The text report of a fixed synthetic run, compared with tests/golden/report.txt byte for byte.
 * UPDATE_GOLDEN=1 rewrites the file (then review the diff). */
static void text_report_matches_golden_file(void **state)
{
	struct ctx *c = *state;
	strcpy(c->log.hdr->exe, "/usr/bin/example");
	strcpy(c->log.hdr->comm, "example");
	c->log.hdr->end_mono_ns = c->log.hdr->start_mono_ns + 3000000000ull; /* (the read below blocked 2.5 s) */
	uint32_t site = stack_at(c, 0x1234);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 6379, site);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 6379, site);
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->flags |= SL_SF_BLOCKING_READ;
	s->read_max_cns = 2500000000ull;
	s->read_site = 0x4321;
	analyze(c, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	sl_report_text(out, &c->run, &c->ds, NULL);
	fclose(out);
	const char *golden = "tests/golden/report.txt";
	if (getenv("UPDATE_GOLDEN")) {
		FILE *g = fopen(golden, "w");
		fwrite(text, 1, len, g);
		fclose(g);
	}
	FILE *g = fopen(golden, "r");
	assert_non_null(g);
	char *want = calloc(1, len + 2);
	size_t got = fread(want, 1, len + 1, g);
	fclose(g);
	if (got != len || memcmp(want, text, len) != 0)
		fprintf(stderr, "text report differs from %s; got:\n%s", golden, text);
	assert_int_equal(got, len);
	assert_memory_equal(want, text, len);
	free(want);
	free(text);
}

static void blocked_calls_at_the_end_are_hung_calls(void **state)
{
	struct ctx *c = *state;
	struct sl_log_header *h = c->log.hdr; /* ends 1 s after start, ticks in ns */
	struct sl_slot *client = tcp_slot(c, SL_ROLE_CLIENT), *server = tcp_slot(c, SL_ROLE_SERVER);
	/* reads with a deadline (a timeout, a poll): hung-calls; without, missing-timeout's; a read
	 * within its SO_RCVTIMEO is info (it ends there), past the threshold with a poll a warning */
	client->opts_set = 1u << SL_OPT_RCVTIMEO;
	client->opt[SL_OPT_RCVTIMEO] = 60000000;
	server->flags |= SL_SF_GUARDED;
	struct sl_slot *polled = tcp_slot(c, SL_ROLE_CLIENT);
	polled->flags |= SL_SF_GUARDED;
	struct { uint16_t call; const struct sl_slot *s; uint64_t since; } calls[] = {
		{SL_CALL_RECV, client, h->start_mono_ns},    /* 1 s: a client's read within its 60 s, info */
		{SL_CALL_RECV, polled, h->start_mono_ns},    /* 1 s: a polled client's read, warning */
		{SL_CALL_READ, server, h->start_mono_ns},    /* 1 s: a server waiting for a request, info */
		{SL_CALL_ACCEPT, server, h->start_mono_ns},  /* waiting for clients: never reported */
		{SL_CALL_RECV, client, h->start_mono_ns + 900000000}, /* 0.1 s: under the threshold */
	};
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		struct sl_inflight *f = sl_inflight_claim(&c->log, 100 + (uint32_t)i);
		f->fd = calls[i].s->fd;
		f->conn_id = calls[i].s->conn_id;
		f->since_cns = calls[i].since;
		f->call = calls[i].call;
	}
	analyze(c, NULL);
	unsigned warnings = 0, infos = 0;
	for (size_t i = 0; i < c->ds.n; i++) {
		if (c->ds.v[i].kind != SL_K_HUNG_CALL)
			continue;
		warnings += c->ds.v[i].sev == SL_SEV_WARNING;
		infos += c->ds.v[i].sev == SL_SEV_INFO;
		assert_int_equal(c->ds.v[i].worst_ns, 1000000000ull);
	}
	assert_int_equal(warnings, 1);
	assert_int_equal(infos, 2);
}

static void thresholds_and_fail_on_parse(void **state)
{
	(void)state;
	struct sl_thresholds th;
	uint64_t mask;
	sl_thresholds_default(&th);
	assert_int_equal(sl_threshold_set(&th, "keepalive=2m"), 0);
	assert_int_equal(th.keepalive_ns, 120000000000ull);
	assert_int_equal(sl_threshold_set(&th, "blocked=250ms"), 0);
	assert_int_equal(th.blocked_ns, 250000000ull);
	assert_int_equal(sl_threshold_set(&th, "blocked=fast"), -1);
	assert_int_equal(th.unanswered_ns, 1000000000ull);
	assert_int_equal(sl_threshold_set(&th, "close-wait=40us"), 0);
	assert_int_equal(th.close_wait_ns, 40000ull);
	assert_int_equal(sl_threshold_set(&th, "retrans=2.5%"), 0);
	assert_int_equal(th.retrans_pct, 250);
	assert_int_equal(sl_threshold_set(&th, "retrans=120%"), -1);
	assert_int_equal(sl_threshold_set(&th, "churn=50"), 0);
	assert_int_equal(th.churn, 50);
	assert_int_equal(sl_threshold_set(&th, "churn=-1"), -1);
	assert_int_equal(sl_threshold_set(&th, "churn=1s"), -1);
	assert_int_equal(sl_threshold_set(&th, "rtt=nan"), -1);
	assert_int_equal(sl_threshold_set(&th, "nosuch=1s"), -1);
	assert_int_equal(sl_threshold_set(&th, "nosuch=1s"), -1);
	assert_int_equal(sl_threshold_set(&th, "blocked"), -1);
	assert_int_equal(sl_fail_on_parse("connect-refused,socket-leak", &mask), 0);
	assert_int_equal(mask, (1ull << SL_K_CONNECT_REFUSED) | (1ull << SL_K_SOCKET_LEAK));
	assert_int_equal(sl_fail_on_parse("all", &mask), 0);
	assert_int_equal(mask, (1ull << SL_K__COUNT) - 1);
	for (int k = 0; k < SL_K__COUNT; k++)
		assert_int_equal(sl_kind_parse(sl_kind_name((enum sl_kind)k)), k);
}

static void foreign_files_in_the_run_are_skipped(void **state)
{
	struct ctx *c = *state;
	char *bad;
	assert_true(asprintf(&bad, "%s/p1.0.sllog", c->dir) > 0);
	FILE *f = fopen(bad, "w");
	fputs("this is not a log", f);
	fclose(f);
	connect_event(c, ECONNREFUSED, "127.0.0.1", 9, 0);
	analyze(c, NULL);
	assert_int_equal(c->run.bad_logs, 1);
	assert_int_equal(c->ds.n, 1);
	free(bad);
}

/* Flips bytes of a populated log, with a fixed seed, and runs the whole analyzer on each copy:
 * a damaged log may be refused or yield nonsense, but never crash or read out of bounds. */
static void mutated_logs_never_crash_the_analyzer(void **state)
{
	struct ctx *c = *state;
	connect_event(c, ECONNREFUSED, "127.0.0.1", 9, stack_at(c, 0x1234));
	struct sl_slot *s = tcp_slot(c, SL_ROLE_CLIENT);
	s->flags |= SL_SF_BLOCKING_READ;
	sl_module_add(&c->log, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1000, 0x1000, 0x900000,
		      (const uint8_t *)"0123456789abcdefghij", 20);
	char *path = log_path(c->dir, 4242, 0), err[256];
	size_t size = c->log.size;
	unsigned char *orig = malloc(size), *copy = malloc(size);
	memcpy(orig, c->log.hdr, size);
	uint64_t tables_end = c->log.hdr->tab[SL_T_MODULES].off + SL_PAGE; /* read now: the rewrites below truncate the mapped file */
	unsigned seed = 12345;
	int saved_stderr = dup(2), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2); /* hundreds of "skipping log" warnings */
	for (int round = 0; round < 300; round++) {
		memcpy(copy, orig, size);
		for (int k = 0; k < 40; k++) {
			/* half the damage in the header, the rest in the tables in use */
			size_t limit = k % 2 ? SL_HEADER_SIZE : tables_end;
			copy[rand_r(&seed) % limit] = (unsigned char)rand_r(&seed);
		}
		FILE *f = fopen(path, "w");
		fwrite(copy, 1, size, f);
		fclose(f);
		struct sl_run run;
		struct sl_diags ds = {0};
		if (sl_run_index(&run, c->dir, err, sizeof err) == 0) {
			FILE *null = fopen("/dev/null", "w");
			struct sl_thresholds th;
			sl_thresholds_default(&th);
			struct sl_renderers r = {sl_json_open(null, 1), sl_audit_new(&th)}; /* the audit reads every slot: fuzzed too */
			sl_analyze(&run, &th, &ds, sl_render_image, &r);
			sl_report_text(null, &run, &ds, r.audit);
			sl_json_finish(r.sink, &run, &ds, r.audit);
			sl_audit_free(r.audit);
			fclose(null);
		}
		sl_diags_release(&ds);
		sl_run_release(&run);
		sl_symbolizer_reset();
	}
	dup2(saved_stderr, 2);
	close(saved_stderr);
	close(devnull);
	free(orig);
	free(copy);
	free(path);
	c->log.hdr = NULL; /* the mapping outlived its file's first size: do not unmap twice */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(refused_connects_from_one_site_are_grouped),
		T(distinct_peers_are_counted_exactly_past_the_listed_few),
		T(failures_counted_past_the_event_table_date_their_group),
		T(a_refusal_retried_from_the_same_site_to_the_same_peer_is_a_warning),
		T(connect_errors_map_to_kinds),
		T(abandoned_handshake_is_a_timeout),
		T(reset_and_epipe_come_from_failed_io),
		T(open_socket_at_exit_is_a_leak_a_listener_lives_with_its_process),
		T(listeners_open_at_exit_are_no_leak_unless_piled_up),
		T(a_servers_reset_on_close_is_a_warning_unless_its_client_had_gone),
		T(calls_that_ran_out_on_an_open_connection_are_each_unanswered),
		T(a_request_on_a_connection_the_server_closed_for_idleness_says_so),
		T(records_with_impossible_times_are_left_out_and_said),
		T(a_commands_one_late_socket_is_info_several_are_a_leak),
		T(a_socket_being_set_up_as_the_process_ends_is_no_leak),
		T(not_leaks_servers_clients_pairs_blocked_sockets),
		T(sockets_handed_to_exec_are_not_leaks),
		T(running_process_has_no_leaks_yet),
		T(blocking_read_without_timeout),
		T(short_blocking_read_is_a_warning_and_threshold_is_settable),
		T(old_connection_without_keepalive),
		T(foreign_files_in_the_run_are_skipped),
		T(mutated_logs_never_crash_the_analyzer),
		T(text_report_matches_golden_file),
		T(blocked_calls_at_the_end_are_hung_calls),
		cmocka_unit_test(thresholds_and_fail_on_parse),
	};
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
