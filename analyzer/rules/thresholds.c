/* thresholds.c - the one table of --threshold names: default, unit and what each decides. The
 * usage texts and the parser read it, so a new threshold is one row. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "rules/rules.h"

enum unit { DURATION, PERCENT, COUNT };

static const struct row {
	const char *name;
	size_t off;
	enum unit unit;
	uint64_t def;
	const char *shown;           /* the default as written */
	const char *means;
} rows[] = {
	{"blocked", offsetof(struct sl_thresholds, blocked_ns), DURATION, 1000000000ull, "1s",
	 "a read blocked this long makes missing-timeout an error, a call a hung-call"},
	{"keepalive", offsetof(struct sl_thresholds, keepalive_ns), DURATION, 60000000000ull, "60s",
	 "connections older than this need SO_KEEPALIVE with a short idle time"},
	{"unanswered", offsetof(struct sl_thresholds, unanswered_ns), DURATION, 1000000000ull, "1s",
	 "a request with no reply for this long is an unanswered-request"},
	{"close-wait", offsetof(struct sl_thresholds, close_wait_ns), DURATION, 1000000000ull, "1s",
	 "a socket kept this long after the peer closed is a close-wait"},
	{"connect", offsetof(struct sl_thresholds, connect_ns), DURATION, 1000000000ull, "1s",
	 "connects slower than this make a slow-connect"},
	{"dns", offsetof(struct sl_thresholds, dns_ns), DURATION, 500000000ull, "500ms",
	 "name lookups slower than this make a slow-dns"},
	{"rtt", offsetof(struct sl_thresholds, rtt_ns), DURATION, 200000000ull, "200ms",
	 "a smoothed round-trip time above this makes a high-rtt"},
	{"retrans", offsetof(struct sl_thresholds, retrans_pct), PERCENT, 100, "1%",
	 "retransmitted segments above this share of those sent make retransmissions"},
	{"churn", offsetof(struct sl_thresholds, churn), COUNT, 100, "100",
	 "this many one-exchange connections from one call site to one peer make connection-churn"},
};

#define NROWS (sizeof rows / sizeof rows[0])

static uint64_t *field(struct sl_thresholds *th, const struct row *r)
{
	return (uint64_t *)((char *)th + r->off);
}

void sl_thresholds_default(struct sl_thresholds *th)
{
	for (size_t i = 0; i < NROWS; i++)
		*field(th, &rows[i]) = rows[i].def;
}

/* "1.5%" or "2" (percent) in hundredths of a percent */
static int pct_parse(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || (*end && strcmp(end, "%")) || !(v >= 0) || v > 100)
		return -1;
	*out = (uint64_t)(v * 100 + 0.5);
	return 0;
}

static int count_parse(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *end || *s == '-')
		return -1;
	*out = v;
	return 0;
}

int sl_threshold_set(struct sl_thresholds *th, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return -1;
	size_t n = (size_t)(eq - arg);
	for (size_t i = 0; i < NROWS; i++) {
		if (strlen(rows[i].name) != n || strncmp(arg, rows[i].name, n))
			continue;
		uint64_t v;
		int rc = rows[i].unit == DURATION  ? sl_dur_parse(eq + 1, &v)
			 : rows[i].unit == PERCENT ? pct_parse(eq + 1, &v)
						   : count_parse(eq + 1, &v);
		if (rc < 0)
			return -1;
		*field(th, &rows[i]) = v;
		return 0;
	}
	return -1;
}

void sl_thresholds_usage(FILE *out, const char *indent)
{
	for (size_t i = 0; i < NROWS; i++)
		fprintf(out, "%s%-11s %-6s %s\n", indent, rows[i].name, rows[i].shown, rows[i].means);
}

const char *sl_thresholds_names(void)
{
	static char buf[256];
	if (!buf[0])
		for (size_t i = 0; i < NROWS; i++)
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "", rows[i].name);
	return buf;
}
