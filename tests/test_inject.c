/* test_inject.c - --inject's specs become the rules they say, bad ones are refused naming the word,
 * and the rules pick exactly the calls they describe (peer, name, process, occurrence, seeded
 * probability, count). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/relay.h"
#include "recorder.h"
#include "rules/rules.h"

static void parse_ok(const char *spec, struct sl_inject_rule *r, struct sl_inject_site *site)
{
	char err[512] = "";
	if (sl_inject_parse(spec, r, site, err, sizeof err) != 0)
		fail_msg("'%s' refused: %s", spec, err);
}

static void parse_bad(const char *spec, const char *says)
{
	struct sl_inject_rule r;
	struct sl_inject_site site;
	char err[512] = "";
	assert_int_equal(sl_inject_parse(spec, &r, &site, err, sizeof err), -1);
	if (!strstr(err, says))
		fail_msg("'%s': the error '%s' does not say '%s'", spec, err, says);
}

static void specs_become_rules(void **state)
{
	(void)state;
	struct sl_inject_rule r;
	struct sl_inject_site site;
	parse_ok("blackhole,to=10.0.0.0/8:443,nth=2", &r, &site);
	assert_int_equal(r.fault, SL_FAULT_BLACKHOLE);
	assert_int_equal(r.naddr, 1);
	assert_int_equal(r.prefix, 8);
	assert_int_equal(r.port, 443);
	assert_int_equal(r.nth, 2);
	assert_int_equal(r.p_ppm, 1000000);
	parse_ok("delay=200ms,jitter=50ms,dir=in", &r, &site);
	assert_int_equal(r.fault, SL_FAULT_RELAY);
	assert_int_equal(r.p[SL_FP_DELAY_MS], 200);
	assert_int_equal(r.p[SL_FP_JITTER_MS], 50);
	assert_int_equal(r.dir, SL_FDIR_IN);
	char desc[200];
	sl_inject_describe(&r, &site, desc, sizeof desc);
	assert_string_equal(desc, "delay 200ms (+0-50ms) (to the program)");
	parse_ok("rate=64k", &r, &site);
	sl_inject_describe(&r, &site, desc, sizeof desc);
	assert_string_equal(desc, "rate 65536 B/s");
	parse_ok("delay=10ms,rate=1k", &r, &site);
	sl_inject_describe(&r, &site, desc, sizeof desc);
	assert_string_equal(desc, "delay 10ms rate 1024 B/s");
	parse_ok("reset,after=1k", &r, &site);
	assert_int_equal(r.p[SL_FP_RESET_AFTER], 1025); /* stored +1: 0 is "not set" */
	parse_ok("reset=2s", &r, &site);
	assert_int_equal(r.p[SL_FP_RESET_AT_MS], 2001);
	parse_ok("silent", &r, &site);
	assert_int_equal(r.p[SL_FP_SILENT_AFTER], 1);
	parse_ok("nxdomain,host=.corp.example.", &r, &site);
	assert_string_equal(r.host, ".corp.example");
	parse_ok("refuse,to=[::1]:80,p=30%,seed=7,count=3,from=1s,until=1500ms", &r, &site);
	assert_int_equal(r.family[0], AF_INET6);
	assert_int_equal(r.port, 80);
	assert_int_equal(r.p_ppm, 300000);
	assert_int_equal(r.seed, 7);
	assert_int_equal(r.limit, 3);
	assert_int_equal(r.from_ns, 1000000000ull);
	assert_int_equal(r.until_ns, 1500000000ull);
	parse_ok("emfile", &r, &site);
	assert_int_equal(r.calls, SL_FCALL_SOCKET | SL_FCALL_ACCEPT);
	parse_ok("refuse,site=client.py:42", &r, &site);
	assert_string_equal(site.file, "client.py");
	assert_int_equal(site.line, 42);
	parse_ok("refuse,site=main.fetch", &r, &site);
	assert_string_equal(site.func, "main.fetch");
}

static void bad_specs_name_the_word(void **state)
{
	(void)state;
	parse_bad("bogus", "unknown fault 'bogus'");
	parse_bad("delay=abc", "'delay' needs a time");
	parse_bad("refuse,to=1.2.3.4/40", "ADDRESS/BITS");
	parse_bad("refuse,color=red", "unknown key 'color'");
	parse_bad("nxdomain,to=1.2.3.4", "host=NAME");
	parse_bad("jitter=5ms", "unknown fault 'jitter'");
	parse_bad("delay=5ms,after=1", "'after' follows reset or silent");
	parse_bad("refuse,nth=0", "'nth' needs a whole number");
	parse_bad("reset,silent", "exclude each other");
	parse_bad("refuse,p=2", "'p' is a probability");
	parse_bad("refuse,to=:99999", "1 to 65535");
	parse_bad("refuse to=:80", "no spaces");
	parse_bad("nxdomain,host=", "'host' needs a value");
	parse_bad("refuse,from=2s,until=1s", "'until' must come after 'from'");
	parse_bad("", "empty");
}

static void comm_is(void *arg, char *out)
{
	strcpy(out, arg);
}

static struct sockaddr_in v4(const char *a, int port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static int pick(struct sl_inject_table *t, const struct sockaddr_in *a, const char *comm)
{
	struct sl_inject_who who = {comm_is, (void *)comm, NULL};
	return sl_inject_pick(t, ~0u, (const struct sockaddr *)a, sizeof *a, NULL, 0, &who);
}

static void add(struct sl_inject_table *t, const char *spec)
{
	parse_ok(spec, &t->rule[t->count], &t->site[t->count]);
	t->count++;
}

static void rules_pick_the_calls_they_name(void **state)
{
	(void)state;
	struct sl_inject_table *t = calloc(1, sizeof *t);
	add(t, "refuse,to=10.0.0.0/8:443,proc=worker");
	add(t, "blackhole,to=192.0.2.7,every=2");
	struct sockaddr_in in = v4("10.1.2.3", 443), other = v4("10.1.2.3", 80), out = v4("11.0.0.1", 443);
	assert_int_equal(pick(t, &in, "worker"), 0);
	assert_int_equal(pick(t, &in, "other"), -1);  /* another process */
	assert_int_equal(pick(t, &other, "worker"), -1); /* another port */
	assert_int_equal(pick(t, &out, "worker"), -1);  /* outside the CIDR */
	struct sockaddr_in b = v4("192.0.2.7", 5);
	assert_int_equal(pick(t, &b, "x"), -1); /* every 2nd: the 1st is let through */
	assert_int_equal(pick(t, &b, "x"), 1);
	assert_int_equal(pick(t, &b, "x"), -1);
	assert_int_equal(pick(t, &b, "x"), 1);
	assert_int_equal(t->rule[1].seen, 4);
	assert_int_equal(t->rule[1].done, 2);
	/* an IPv4-mapped IPv6 peer is the IPv4 one */
	struct sockaddr_in6 m = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	inet_pton(AF_INET6, "::ffff:10.9.9.9", &m.sin6_addr);
	struct sl_inject_who who = {comm_is, "worker", NULL};
	assert_int_equal(sl_inject_pick(t, ~0u, (struct sockaddr *)&m, sizeof m, NULL, 0, &who), 0);
	free(t);
}

static void names_count_and_seeded_probability(void **state)
{
	(void)state;
	struct sl_inject_table *t = calloc(1, sizeof *t);
	struct sl_inject_who who = {comm_is, "x", NULL};
	add(t, "nxdomain,host=.corp.example,count=2");
	assert_int_equal(sl_inject_pick(t, ~0u, NULL, 0, "db.corp.example", 0, &who), 0);
	assert_int_equal(sl_inject_pick(t, ~0u, NULL, 0, "CORP.example.", 0, &who), 0);
	assert_int_equal(sl_inject_pick(t, ~0u, NULL, 0, "db.corp.example", 0, &who), -1); /* count=2 */
	assert_int_equal(sl_inject_pick(t, ~0u, NULL, 0, "notcorp.example", 0, &who), -1);
	assert_int_equal(t->rule[0].done, 2);
	/* the same seed picks the same calls */
	char first[64], second[64];
	for (int run = 0; run < 2; run++) {
		struct sl_inject_table *u = calloc(1, sizeof *u);
		add(u, "refuse,p=0.5,seed=42");
		struct sockaddr_in a = v4("127.0.0.1", 1);
		for (int i = 0; i < 63; i++)
			(run ? second : first)[i] = pick(u, &a, "x") == 0 ? 'y' : 'n';
		(run ? second : first)[63] = 0;
		free(u);
	}
	assert_string_equal(first, second);
	assert_non_null(strchr(first, 'y'));
	assert_non_null(strchr(first, 'n'));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(specs_become_rules),
		cmocka_unit_test(bad_specs_name_the_word),
		cmocka_unit_test(rules_pick_the_calls_they_name),
		cmocka_unit_test(names_count_and_seeded_probability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
