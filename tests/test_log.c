/* test_log.c - the log writer and reader agree, and the reader refuses bad files cleanly. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/resource.h>
#include "fixtures.h"
#include "report/report.h"

struct ctx {
	char *dir;
	struct sl_log log;
	struct sl_log_params p;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	c->dir = tmp_rundir();
	small_params(&c->p);
	assert_int_equal(sl_log_create(&c->log, c->dir, &c->p, 4242, 1, NULL), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	munmap(c->log.hdr, c->log.size);
	rm_rundir(c->dir);
	free(c);
	return 0;
}

static void load(struct ctx *c, struct sl_image *img)
{
	char err[256], *path = log_path(c->dir, 4242, 0);
	assert_int_equal(sl_image_load(img, path, err, sizeof err), 0);
	free(path);
}

static void log_file_is_private_sparse_and_exclusive(void **state)
{
	struct ctx *c = *state;
	struct sl_log second;
	struct stat st;
	char *path = log_path(c->dir, 4242, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal((uint64_t)st.st_size, c->log.hdr->file_size);
	assert_true((uint64_t)st.st_blocks * 512 <= 2 * SL_PAGE); /* only the header is materialized */
	for (int t = 0; t < SL_T__COUNT; t++)
		assert_int_equal(c->log.hdr->tab[t].avail, 0);
	/* the same pid again (an exec) gets another number at once, never the same file */
	assert_int_equal(sl_log_create(&second, c->dir, &c->p, 4242, 1, NULL), 0);
	assert_int_not_equal(second.hdr->seq, 0);
	munmap(second.hdr, second.size);
	free(path);
}

static void tables_grow_with_use_within_the_run_budget(void **state)
{
	struct ctx *c = *state;
	struct sl_log_params p;
	struct sl_log log;
	int err;
	sl_log_params_default(&p);
	/* room for the control file, the header and about 40 KiB of records */
	struct sl_run_header *run = sl_run_create(c->dir, 3 * SL_PAGE + 40 * 1024, 0, &err);
	assert_non_null(run);
	assert_int_equal(sl_log_create(&log, c->dir, &p, 777, 1, run), 0);
	assert_int_equal(run->used, 2 * SL_PAGE);
	int live = 0;
	while (sl_slot_alloc(&log))
		live++;
	/* stopped by the budget, not the table's size: counted, never waited for */
	assert_true(live > 10 && (uint32_t)live < p.slots);
	assert_int_equal(log.hdr->tab[SL_T_SLOTS].avail, (uint32_t)live);
	assert_int_equal(log.hdr->tab[SL_T_SLOTS].full, 1);
	assert_int_equal(log.hdr->slot_dropped, 1);
	assert_true(run->grow_refused >= 1);
	assert_true(run->used <= run->budget);
	/* other processes of the run draw from the same budget: a few more headers fit, then none */
	struct sl_log other;
	int pid = 778, r;
	uint64_t left = run->budget - run->used;
	while ((r = sl_log_create(&other, c->dir, &p, pid, 1, run)) == 0) {
		munmap(other.hdr, other.size);
		pid++;
	}
	assert_int_equal(r, -ENOSPC);
	assert_true(pid - 778 <= (int)(left / SL_PAGE));
	assert_true(run->used <= run->budget);
	munmap(log.hdr, log.size);
	munmap(run, run->file_size);
}

static void slots_events_and_stacks_round_trip(void **state)
{
	struct ctx *c = *state;
	struct sl_slot *s = sl_slot_alloc(&c->log);
	assert_non_null(s);
	s->fd = 7;
	s->role = SL_ROLE_CLIENT;
	addr_in(&s->peer, "10.1.2.3", 8080);
	uint64_t ips[3] = {0x1000, 0x2000, 0x3000};
	int inserted;
	uint32_t id = sl_stack_intern(&c->log, ips, 3, &inserted);
	assert_int_not_equal(id, 0);
	assert_true(inserted);
	assert_int_equal(sl_stack_intern(&c->log, ips, 3, &inserted), id); /* deduplicated */
	assert_false(inserted);
	struct sl_event *ev = sl_ev_begin(&c->log, SL_EV_CONNECT, SL_CALL_CONNECT, 7);
	ev->err = 111;
	ev->stack = id;
	ev->addr = s->peer;
	sl_ev_commit(&c->log, ev);

	struct sl_image img;
	load(c, &img);
	assert_int_equal(img.h.pid, 4242);
	assert_int_equal(img.nevents, 1);
	assert_int_equal(img.events[0].commit, 1);
	assert_int_equal(img.events[0].err, 111);
	const struct sl_stack *st = sl_image_stack(&img, id);
	assert_non_null(st);
	assert_int_equal(st->nframes, 3);
	assert_int_equal(st->ip[2], 0x3000);
	char buf[64];
	sl_addr_format(&img.slots[s - c->log.slots].peer, buf, sizeof buf);
	assert_string_equal(buf, "10.1.2.3:8080");
	sl_image_release(&img);
}

static void events_keep_the_first_and_the_most_recent(void **state)
{
	struct ctx *c = *state;
	for (int i = 0; i < 10; i++) {
		struct sl_event *ev = sl_ev_begin(&c->log, SL_EV_OPEN, SL_CALL_SOCKET, i);
		assert_non_null(ev);
		sl_ev_commit(&c->log, ev);
	}
	assert_int_equal(c->log.hdr->event_dropped, 0);
	assert_int_equal(c->log.hdr->event_overwritten, 2);
	struct sl_image img;
	load(c, &img);
	int want[] = {0, 1, 2, 3, 6, 7, 8, 9};
	assert_int_equal(img.nevents, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(img.events[i].fd, want[i]);
	sl_image_release(&img);
}

static void full_tables_drop_and_count(void **state)
{
	struct ctx *c = *state;
	/* every slot live: allocation fails and is counted, never waits */
	for (int i = 0; i < 8; i++)
		assert_non_null(sl_slot_alloc(&c->log));
	assert_null(sl_slot_alloc(&c->log));
	assert_int_equal(c->log.hdr->slot_dropped, 1);
}

static void closed_slots_are_recycled_oldest_first(void **state)
{
	struct ctx *c = *state;
	struct sl_slot *first = sl_slot_alloc(&c->log);
	uint64_t id = first->conn_id;
	sl_slot_close(&c->log, first, 1);
	for (int i = 0; i < 7; i++)
		assert_non_null(sl_slot_alloc(&c->log));
	struct sl_slot *again = sl_slot_alloc(&c->log);
	assert_ptr_equal(again, first);
	assert_true(again->conn_id > id);
	assert_int_equal(again->gen, 2);
	assert_int_equal(c->log.hdr->slot_recycled, 1);
}

/* Recycling takes only slots handed out before: a slot materialized (its page is there) but past
 * slot_next is beyond what a reader looks at, so a connection recorded there would be lost. */
static void recycling_never_reaches_past_the_slots_handed_out(void **state)
{
	struct ctx *c = *state;
	munmap(c->log.hdr, c->log.size);
	c->p.slots = 4096;
	assert_int_equal(sl_log_create(&c->log, c->dir, &c->p, 4243, 1, NULL), 0);
	struct sl_slot *open[100];
	for (int i = 0; i < 100; i++)
		assert_non_null(open[i] = sl_slot_alloc(&c->log));
	for (int i = 0; i < 90; i++)
		sl_slot_close(&c->log, open[i], 1);
	for (int i = 0; i < 1000; i++) {
		struct sl_slot *s = sl_slot_alloc(&c->log);
		assert_non_null(s);
		assert_true((uint64_t)(s - c->log.slots) < c->log.hdr->slot_next);
		sl_slot_close(&c->log, s, 1); /* 90 closed all along: recycling is preferred */
	}
}

/* A table full of live connections: an allocation looks at a bounded number of slots, counts the
 * miss and returns (never a scan of every slot per socket), and a slot closed with something to
 * report further on is still found by the next allocations. */
static void a_full_table_costs_a_bounded_search(void **state)
{
	struct ctx *c = *state;
	munmap(c->log.hdr, c->log.size);
	c->p.slots = 2048;
	assert_int_equal(sl_log_create(&c->log, c->dir, &c->p, 4244, 1, NULL), 0);
	struct sl_slot *far = NULL;
	for (int i = 0; i < 2048; i++) {
		struct sl_slot *s = sl_slot_alloc(&c->log);
		assert_non_null(s);
		if (i == 1500)
			far = s;
	}
	far->flags |= SL_SF_KEEP;
	sl_slot_close(&c->log, far, 1);
	int misses = 0;
	struct sl_slot *got = NULL;
	while (!got && misses < 10)
		if (!(got = sl_slot_alloc(&c->log)))
			misses++;
	assert_ptr_equal(got, far);
	assert_true(misses >= 1 && misses <= 3); /* 512 slots looked at per try */
	assert_int_equal(c->log.hdr->slot_dropped, (uint64_t)misses);
}

static void uncommitted_events_are_ignored(void **state)
{
	struct ctx *c = *state;
	struct sl_event *ev = sl_ev_begin(&c->log, SL_EV_ERROR, SL_CALL_RECV, 3);
	(void)ev; /* a writer killed before its commit */
	struct sl_image img;
	load(c, &img);
	assert_int_equal(img.nevents, 0);
	sl_image_release(&img);
}

static void thread_records_are_given_back_and_reused(void **state)
{
	struct ctx *c = *state;
	/* 400 threads one after another, 4 records: each ends before the next begins */
	for (uint32_t tid = 1000; tid < 1400; tid++) {
		struct sl_inflight *f = sl_inflight_claim(&c->log, tid);
		assert_non_null(f);
		assert_int_equal(f->owner, tid);
		sl_inflight_release(f);
	}
	assert_int_equal(c->log.hdr->inflight_dropped, 0);
	for (uint32_t tid = 1; tid <= 4; tid++)
		assert_non_null(sl_inflight_claim(&c->log, tid));
	assert_null(sl_inflight_claim(&c->log, 5)); /* five alive at once: counted */
	assert_int_equal(c->log.hdr->inflight_dropped, 1);
}

static void file_size_limit_shrinks_the_log_or_refuses_it(void **state)
{
	struct ctx *c = *state;
	struct sl_log_params p;
	struct sl_log log;
	struct rlimit old, lim = {512 * 1024, RLIM_INFINITY};
	sl_log_params_default(&p);
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_max = old.rlim_max;
	setrlimit(RLIMIT_FSIZE, &lim);
	assert_int_equal(sl_log_create(&log, c->dir, &p, 901, 1, NULL), 0);
	assert_true(log.hdr->file_size <= lim.rlim_cur); /* no SIGXFSZ: the test is still alive */
	munmap(log.hdr, log.size);
	lim.rlim_cur = 16 * 1024;
	setrlimit(RLIMIT_FSIZE, &lim);
	assert_int_equal(sl_log_create(&log, c->dir, &p, 902, 1, NULL), -EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
}

/* Writes a damaged copy of the log and checks the reader's message. */
static void expect_refusal(struct ctx *c, void (*damage)(unsigned char *, size_t *), const char *msg)
{
	char *path = log_path(c->dir, 4242, 0), *bad, err[256];
	size_t size = c->log.size;
	unsigned char *copy = malloc(size);
	memcpy(copy, c->log.hdr, size);
	damage(copy, &size);
	assert_true(asprintf(&bad, "%s/p1.0.sllog", c->dir) > 0);
	FILE *f = fopen(bad, "w");
	fwrite(copy, 1, size, f);
	fclose(f);
	struct sl_image img;
	assert_int_equal(sl_image_load(&img, bad, err, sizeof err), -1);
	assert_non_null(strstr(err, msg));
	free(copy);
	free(bad);
	free(path);
}

static void truncate_half(unsigned char *b, size_t *n) { (void)b; *n /= 2; }
static void truncate_tiny(unsigned char *b, size_t *n) { (void)b; *n = 100; }
static void bad_magic(unsigned char *b, size_t *n) { (void)n; b[0] = 'X'; }
static void future_version(unsigned char *b, size_t *n) { (void)n; ((struct sl_log_header *)b)->version = 99; }
static struct sl_table_hdr *tab(unsigned char *b, int t) { return &((struct sl_log_header *)b)->tab[t]; }
static void slots_outside(unsigned char *b, size_t *n) { (void)n; tab(b, SL_T_SLOTS)->cap = 0x7fffffff; }
static void wrong_record_size(unsigned char *b, size_t *n) { (void)n; tab(b, SL_T_EVENTS)->size = 12; }
static void huge_offset(unsigned char *b, size_t *n) { (void)n; tab(b, SL_T_STACKS)->off = ~0ull - 7; }

static void damaged_logs_get_clear_errors(void **state)
{
	struct ctx *c = *state;
	expect_refusal(c, truncate_half, "size mismatch");
	expect_refusal(c, truncate_tiny, "truncated");
	expect_refusal(c, bad_magic, "not a socklens log");
	expect_refusal(c, future_version, "version 99 is not supported");
	expect_refusal(c, slots_outside, "table outside the file");
	expect_refusal(c, wrong_record_size, "table outside the file");
	expect_refusal(c, huge_offset, "table outside the file");
}

static void garbage_stack_ids_are_refused(void **state)
{
	struct ctx *c = *state;
	struct sl_image img;
	load(c, &img);
	assert_null(sl_image_stack(&img, 0));
	assert_null(sl_image_stack(&img, 17));
	assert_null(sl_image_stack(&img, 0xffffffffu));
	assert_null(sl_image_stack(&img, 1)); /* empty record */
	sl_image_release(&img);
}

/* A writer that finds another thread growing a table (its madvise can take milliseconds on a disk
 * filesystem) faults in its own record's pages and goes on: nothing is dropped with room to
 * spare, and the reader sees the record though avail has not caught up. */
static void a_writer_racing_a_grower_neither_waits_nor_drops(void **state)
{
	struct ctx *c = *state;
	struct sl_table_hdr *th = &c->log.hdr->tab[SL_T_SLOTS];
	struct sl_slot *first = sl_slot_alloc(&c->log);
	assert_non_null(first);
	uint32_t avail = th->avail;
	__atomic_store_n(&th->growing, 1, __ATOMIC_RELEASE); /* another thread is growing it */
	struct sl_slot *s = NULL;
	for (uint32_t i = 1; i <= avail; i++)
		assert_non_null(s = sl_slot_alloc(&c->log));
	s->fd = 77;
	assert_int_equal(th->avail, avail);
	assert_int_equal(c->log.hdr->slot_dropped, 0);
	__atomic_store_n(&th->growing, 0, __ATOMIC_RELEASE);
	struct sl_image img;
	load(c, &img);
	assert_int_equal(img.nslots, avail + 1);
	assert_int_equal(img.slots[avail].fd, 77);
	sl_image_release(&img);
}

/* Every table of a sparse log claimed full (avail and *_next at cap) with nothing written: the
 * reader looks only where the file holds data, so it costs no time or memory. */
static void a_sparse_log_claiming_full_tables_costs_nothing(void **state)
{
	struct ctx *c = *state;
	struct sl_log_params p;
	struct sl_log log;
	sl_log_params_default(&p);
	p.slots = p.stacks = 1u << 20;
	p.events = 1u << 22;
	assert_int_equal(sl_log_create(&log, c->dir, &p, 4343, 1, NULL), 0);
	struct sl_log_header *h = log.hdr;
	for (int t = 0; t < SL_T__COUNT; t++)
		h->tab[t].avail = h->tab[t].cap;
	h->slot_next = h->event_next = h->stack_next = h->module_next = h->lang_next = ~0ull >> 1;
	char err[256], *path = log_path(c->dir, 4343, 0);
	struct sl_image img;
	assert_int_equal(sl_image_load(&img, path, err, sizeof err), 0);
	assert_int_equal(img.nslots + img.nevents + img.nstacks + img.nmods + img.ninfl + img.nlangs, 0);
	sl_image_release(&img);
	munmap(log.hdr, log.size);
	free(path);
}

static void addresses_format_as_documented(void **state)
{
	(void)state;
	struct sl_addr a;
	char buf[160];
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	sl_addr_set(&a, (struct sockaddr *)&in6, sizeof in6);
	sl_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "[::1]:443");
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/run/app.sock"};
	sl_addr_set(&a, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 14);
	sl_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "unix:/run/app.sock");
	memset(un.sun_path, 0, sizeof un.sun_path);
	memcpy(un.sun_path + 1, "abstract", 8);
	sl_addr_set(&a, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 9);
	sl_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "unix:@abstract");
	a.family = 0;
	sl_addr_format(&a, buf, sizeof buf);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(log_file_is_private_sparse_and_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(tables_grow_with_use_within_the_run_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(events_keep_the_first_and_the_most_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(thread_records_are_given_back_and_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(file_size_limit_shrinks_the_log_or_refuses_it, setup, teardown),
		cmocka_unit_test_setup_teardown(slots_events_and_stacks_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(full_tables_drop_and_count, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_slots_are_recycled_oldest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(recycling_never_reaches_past_the_slots_handed_out, setup, teardown),
		cmocka_unit_test_setup_teardown(a_full_table_costs_a_bounded_search, setup, teardown),
		cmocka_unit_test_setup_teardown(uncommitted_events_are_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_logs_get_clear_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_stack_ids_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_writer_racing_a_grower_neither_waits_nor_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(a_sparse_log_claiming_full_tables_costs_nothing, setup, teardown),
		cmocka_unit_test(addresses_format_as_documented),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
