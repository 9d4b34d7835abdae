/* inject_spec.c - `--inject SPEC`: a fault and the connections it applies to, compiled into the
 * rules the shim reads from the run's control file (struct sl_inject_rule). A spec that cannot be
 * understood is an error before the program starts, naming the word and what was expected.
 *
 *   SPEC  := FAULT[=VALUE] {,KEY=VALUE}
 *   FAULT := refuse | blackhole | unreachable | nxdomain | servfail | dns-delay=T | emfile | enfile
 *          | delay=T | rate=SIZE | reset[=T] | silent | slice=SIZE       (the last five: the relay)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "cmd/relay.h"
#include "symbols/symbols.h"

static const char *const fault_words = "refuse, blackhole, unreachable, nxdomain, servfail, dns-delay=T, emfile, "
				       "enfile, eintr, accept-stall=T, slow-close=T, delay=T, rate=SIZE, reset[=T], silent, slice=SIZE";

struct spec_ctx {
	const char *spec;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int bad(struct spec_ctx *c, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "--inject '%s': %s", c->spec, what);
	return -1;
}

/* "200ms", "2s", "1.5s", "3m", "100us" as every duration socklens reads (sl_dur_parse), rounded up
 * to ms, at most a day; a bare number is milliseconds here (a fault's times are short), not seconds. */
static int duration_ms(const char *v, uint64_t *out)
{
	char *end;
	uint64_t ns;
	double x = strtod(v, &end);
	if (end != v && !*end) {
		if (!(x >= 0 && x <= 86400e3))
			return -1;
		ns = (uint64_t)(x * 1e6);
	} else if (sl_dur_parse(v, &ns) < 0 || ns > 86400000000000ull) {
		return -1;
	}
	*out = ns / 1000000u + (ns % 1000000u != 0);
	return 0;
}

/* "64k", "1M", "512" as every size socklens reads (sl_size_parse; "512b" too), at most a TiB. */
static int size_bytes(const char *v, uint64_t *out)
{
	char b[64];
	size_t n = strlen(v);
	if (!n || n >= sizeof b)
		return -1;
	memcpy(b, v, n + 1);
	if (b[n - 1] == 'b')
		b[n - 1] = 'B';
	return sl_size_parse(b, out) < 0 || *out > (1ull << 40) ? -1 : 0;
}

static int count(const char *v, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (end == v || *end || errno || *v == '-' || x == 0 || x > 1000000000ul)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* "30%", "0.3" */
static int probability(const char *v, uint32_t *ppm)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (end == v || errno)
		return -1;
	if (!strcmp(end, "%"))
		x /= 100;
	else if (*end)
		return -1;
	if (x < 0 || x > 1)
		return -1;
	*ppm = (uint32_t)(x * 1e6 + 0.5);
	return 0;
}

static int add_addr(struct sl_inject_rule *r, int family, const void *a)
{
	if (r->naddr >= SL_INJECT_ADDRS)
		return 0; /* the first ones are enough to tell a host */
	r->family[r->naddr] = (uint16_t)family;
	memcpy(r->addr[r->naddr], a, family == AF_INET ? 4 : 16);
	r->naddr++;
	return 0;
}

/* A host name's addresses, looked up now: the rule matches connections to any of them. */
static int resolve_host(struct spec_ctx *c, struct sl_inject_rule *r, const char *host)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int e = getaddrinfo(host, NULL, &hints, &res);
	if (e)
		return bad(c, "cannot resolve '%s': %s", host, gai_strerror(e));
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family == AF_INET)
			add_addr(r, AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr);
		else if (a->ai_family == AF_INET6)
			add_addr(r, AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr);
	}
	freeaddrinfo(res);
	return 0;
}

/* to=ADDR | ADDR/BITS | ADDR:PORT | [V6]:PORT | V6 | V6/BITS | :PORT | HOST | HOST:PORT */
static int parse_to(struct spec_ctx *c, struct sl_inject_rule *r, const char *v)
{
	char buf[300], *host = buf, *port = NULL, *slash;
	uint8_t a[16];
	if (strlen(v) >= sizeof buf || !*v)
		return bad(c, "'to=%s': expected an address, a CIDR, a host name and/or :PORT", v);
	strcpy(buf, v);
	if (*host == '[') { /* [v6]:port */
		char *close = strchr(host, ']');
		if (!close || (close[1] && close[1] != ':'))
			return bad(c, "'to=%s': expected [IPV6]:PORT", v);
		*close = 0;
		host++;
		port = close[1] ? close + 2 : NULL;
	} else if (strchr(host, ':') == strrchr(host, ':') && strchr(host, ':')) { /* one colon: host:port */
		port = strchr(host, ':');
		*port++ = 0;
	}
	if (port) {
		uint32_t p;
		if (count(port, &p) < 0 || p > 65535)
			return bad(c, "'to=%s': the port must be 1 to 65535", v);
		r->port = (uint16_t)p;
	}
	if (!*host)
		return port ? 0 : bad(c, "'to=%s': expected an address or a port", v);
	if ((slash = strchr(host, '/'))) {
		uint32_t bits;
		*slash++ = 0;
		int fam = inet_pton(AF_INET, host, a) == 1 ? AF_INET : inet_pton(AF_INET6, host, a) == 1 ? AF_INET6 : 0;
		if (!fam || count(slash, &bits) < 0 || bits > (fam == AF_INET ? 32u : 128u))
			return bad(c, "'to=%s': expected ADDRESS/BITS (10.0.0.0/8, fd00::/8)", v);
		add_addr(r, fam, a);
		r->prefix = (uint8_t)bits;
		return 0;
	}
	if (inet_pton(AF_INET, host, a) == 1)
		return add_addr(r, AF_INET, a);
	if (inet_pton(AF_INET6, host, a) == 1)
		return add_addr(r, AF_INET6, a);
	return resolve_host(c, r, host);
}

static int is_relay_word(const char *k)
{
	return !strcmp(k, "delay") || !strcmp(k, "rate") || !strcmp(k, "reset") || !strcmp(k, "silent") ||
	       !strcmp(k, "slice") || !strcmp(k, "jitter") || !strcmp(k, "dir") || !strcmp(k, "after") ||
	       !strcmp(k, "at");
}

/* The first word: the fault, and its value when it takes one. */
static int parse_fault(struct spec_ctx *c, struct sl_inject_rule *r, const char *k, const char *v)
{
	static const struct { const char *word; uint16_t fault; } plain[] = {
		{"refuse", SL_FAULT_REFUSE}, {"blackhole", SL_FAULT_BLACKHOLE}, {"unreachable", SL_FAULT_UNREACHABLE},
		{"nxdomain", SL_FAULT_NXDOMAIN}, {"servfail", SL_FAULT_SERVFAIL}, {"emfile", SL_FAULT_EMFILE},
		{"enfile", SL_FAULT_ENFILE}, {"eintr", SL_FAULT_EINTR},
	};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (!strcmp(k, plain[i].word)) {
			if (v)
				return bad(c, "'%s' takes no value", k);
			r->fault = plain[i].fault;
			return 0;
		}
	if (!strcmp(k, "dns-delay") || !strcmp(k, "accept-stall") || !strcmp(k, "slow-close")) {
		r->fault = !strcmp(k, "dns-delay") ? SL_FAULT_DNS_DELAY : !strcmp(k, "accept-stall") ? SL_FAULT_ACCEPT_STALL
			   : SL_FAULT_SLOW_CLOSE;
		if (!v || duration_ms(v, &r->p[SL_FP_DELAY_MS]) < 0 || !r->p[SL_FP_DELAY_MS])
			return bad(c, "'%s' needs a time, as in %s=2s", k, k);
		return 0;
	}
	if (!strcmp(k, "delay") || !strcmp(k, "rate") || !strcmp(k, "reset") || !strcmp(k, "silent") || !strcmp(k, "slice")) {
		r->fault = SL_FAULT_RELAY;
		return 1; /* read again as a relay key */
	}
	return bad(c, "unknown fault '%s' (faults: %s)", k, fault_words);
}

static int relay_key(struct spec_ctx *c, struct sl_inject_rule *r, const char *k, const char *v, int *reset, int *silent)
{
	uint64_t x;
	if (!strcmp(k, "delay")) {
		if (!v || duration_ms(v, &x) < 0 || !x)
			return bad(c, "'delay' needs a time, as in delay=200ms");
		r->p[SL_FP_DELAY_MS] = x;
	} else if (!strcmp(k, "jitter")) {
		if (!v || duration_ms(v, &x) < 0)
			return bad(c, "'jitter' needs a time, as in jitter=50ms");
		r->p[SL_FP_JITTER_MS] = x;
	} else if (!strcmp(k, "rate")) {
		if (!v || size_bytes(v, &x) < 0 || x < 1)
			return bad(c, "'rate' needs bytes per second, as in rate=64k");
		r->p[SL_FP_RATE] = x;
	} else if (!strcmp(k, "slice")) {
		if (!v || size_bytes(v, &x) < 0 || x < 1 || x > 65536)
			return bad(c, "'slice' needs a size from 1 to 64k, as in slice=1");
		r->p[SL_FP_SLICE] = x;
	} else if (!strcmp(k, "reset")) {
		*reset = 1;
		if (v && (duration_ms(v, &x) < 0))
			return bad(c, "'reset=%s': expected a time after the connection, as in reset=2s", v);
		if (v)
			r->p[SL_FP_RESET_AT_MS] = x + 1;
	} else if (!strcmp(k, "silent")) {
		if (v)
			return bad(c, "'silent' takes no value (silent,after=SIZE)");
		*silent = 1;
	} else if (!strcmp(k, "after")) {
		if (!v || size_bytes(v, &x) < 0)
			return bad(c, "'after' needs a size, as in after=1k");
		if (!*reset && !*silent)
			return bad(c, "'after' follows reset or silent (reset,after=1k)");
		r->p[*reset ? SL_FP_RESET_AFTER : SL_FP_SILENT_AFTER] = x + 1;
	} else if (!strcmp(k, "at")) {
		if (!v || duration_ms(v, &x) < 0 || !*reset)
			return bad(c, "'at' is reset's time, as in reset,at=2s");
		r->p[SL_FP_RESET_AT_MS] = x + 1;
	} else if (!strcmp(k, "dir")) {
		if (!v || (strcmp(v, "in") && strcmp(v, "out") && strcmp(v, "both")))
			return bad(c, "'dir' is in (to the program), out (from it) or both");
		r->dir = !strcmp(v, "in") ? SL_FDIR_IN : !strcmp(v, "out") ? SL_FDIR_OUT : SL_FDIR_BOTH;
	}
	return 0;
}

/* site=FILE:LINE or site=FUNCTION */
static int parse_site(struct spec_ctx *c, struct sl_inject_site *site, const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end;
	memset(site, 0, sizeof *site);
	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		long line = strtol(colon + 1, &end, 10);
		if ((size_t)(colon - v) >= sizeof site->file || colon == v || line < 1 || line > 10000000)
			return bad(c, "'site=%s': expected FILE:LINE (a file name of at most 55 characters) or a function", v);
		memcpy(site->file, v, (size_t)(colon - v));
		site->line = (int32_t)line;
		return 0;
	}
	if (strlen(v) >= sizeof site->func || strchr(v, ':') || !*v)
		return bad(c, "'site=%s': expected FILE:LINE or a function name of at most 39 characters", v);
	snprintf(site->func, sizeof site->func, "%s", v);
	return 0;
}

static int common_key(struct spec_ctx *c, struct sl_inject_rule *r, struct sl_inject_site *site, const char *k,
		      const char *v)
{
	int dns = r->fault == SL_FAULT_NXDOMAIN || r->fault == SL_FAULT_SERVFAIL || r->fault == SL_FAULT_DNS_DELAY;
	int fdc = r->fault == SL_FAULT_EMFILE || r->fault == SL_FAULT_ENFILE || r->fault == SL_FAULT_ACCEPT_STALL;
	uint64_t ms;
	if (!v || !*v)
		return bad(c, "'%s' needs a value (%s=...)", k, k);
	if (!strcmp(k, "to")) {
		if (dns || fdc)
			return bad(c, "'%s' names a peer; %s", k,
				   dns ? "DNS faults match the name looked up: host=NAME" : "emfile, enfile and accept-stall have none");
		return parse_to(c, r, v);
	}
	if (!strcmp(k, "host")) {
		if (fdc)
			return bad(c, "'host' names a peer; emfile, enfile and accept-stall have none");
		if (dns) {
			if (strlen(v) >= SL_INJECT_HOST)
				return bad(c, "'host=%s' is too long", v);
			snprintf(r->host, sizeof r->host, "%s", v);
			size_t n = strlen(r->host);
			if (n > 1 && r->host[n - 1] == '.')
				r->host[n - 1] = 0;
			return 0;
		}
		return resolve_host(c, r, v);
	}
	if (!strcmp(k, "site"))
		return parse_site(c, site, v);
	if (!strcmp(k, "proc")) {
		if (strlen(v) >= SL_COMM_MAX)
			return bad(c, "'proc=%s': a process name has at most 15 characters (as ps shows it)", v);
		snprintf(r->proc, sizeof r->proc, "%s", v);
		return 0;
	}
	if (!strcmp(k, "nth") || !strcmp(k, "every") || !strcmp(k, "count")) {
		uint32_t *to = !strcmp(k, "nth") ? &r->nth : !strcmp(k, "every") ? &r->every : &r->limit;
		return count(v, to) < 0 ? bad(c, "'%s' needs a whole number of at least 1", k) : 0;
	}
	if (!strcmp(k, "p"))
		return probability(v, &r->p_ppm) < 0 ? bad(c, "'p' is a probability: 0.3 or 30%%") : 0;
	if (!strcmp(k, "seed")) {
		char *end;
		r->seed = strtoull(v, &end, 0);
		return *end || end == v ? bad(c, "'seed' needs a number") : 0;
	}
	if (!strcmp(k, "from") || !strcmp(k, "until")) {
		if (duration_ms(v, &ms) < 0)
			return bad(c, "'%s' needs a time since the program started, as in %s=5s", k, k);
		*(!strcmp(k, "from") ? &r->from_ns : &r->until_ns) = ms * 1000000ull;
		return 0;
	}
	if (!strcmp(k, "calls")) {
		if (!fdc)
			return bad(c, "'calls' applies to emfile and enfile");
		r->calls = !strcmp(v, "socket") ? SL_FCALL_SOCKET : !strcmp(v, "accept") ? SL_FCALL_ACCEPT
			   : !strcmp(v, "both") ? SL_FCALL_SOCKET | SL_FCALL_ACCEPT : 0;
		return r->calls ? 0 : bad(c, "'calls' is socket, accept or both");
	}
	if (!strcmp(k, "errno")) {
		if (r->fault != SL_FAULT_UNREACHABLE)
			return bad(c, "'errno' applies to unreachable");
		r->p[SL_FP_ERRNO] = !strcmp(v, "ENETUNREACH") ? ENETUNREACH : !strcmp(v, "EHOSTUNREACH") ? EHOSTUNREACH : 0;
		return r->p[SL_FP_ERRNO] ? 0 : bad(c, "'errno' is ENETUNREACH or EHOSTUNREACH");
	}
	return bad(c, "unknown key '%s' (keys: to, host, proc, site, nth, every, count, p, seed, from, until; "
		      "delay, jitter, rate, dir, reset, at, silent, after, slice for the relay; calls; errno)", k);
}

int sl_inject_parse(const char *spec, struct sl_inject_rule *r, struct sl_inject_site *site, char *err,
		    size_t errlen)
{
	struct spec_ctx c = {spec, err, errlen};
	char *copy = strdup(spec), *save = NULL;
	int reset = 0, silent = 0, first = 1, rc = 0;
	memset(r, 0, sizeof *r);
	memset(site, 0, sizeof *site);
	r->p_ppm = 1000000u;
	if (!copy)
		return bad(&c, "%s", strerror(ENOMEM));
	for (char *w = strtok_r(copy, ",", &save); w && rc == 0; w = strtok_r(NULL, ",", &save), first = 0) {
		while (isspace((unsigned char)*w))
			w++;
		char *v = strchr(w, '=');
		if (v)
			*v++ = 0;
		if (strpbrk(w, " \t")) {
			rc = bad(&c, "'%s': a spec has no spaces; its words are separated by commas (refuse,to=10.0.0.5:443)", w);
			continue;
		}
		if (first && (rc = parse_fault(&c, r, w, v)) <= 0)
			continue;
		rc = 0;
		if (is_relay_word(w)) {
			if (r->fault != SL_FAULT_RELAY)
				rc = bad(&c, "'%s' is one of the relay's (delay, rate, reset, silent, slice), not of this fault", w);
			else
				rc = relay_key(&c, r, w, v, &reset, &silent);
		} else {
			rc = common_key(&c, r, site, w, v);
		}
	}
	free(copy);
	if (rc == 0 && first)
		rc = bad(&c, "empty (expected a fault: %s)", fault_words);
	if (rc == 0 && r->fault == SL_FAULT_RELAY && reset && silent)
		rc = bad(&c, "reset and silent exclude each other");
	if (rc == 0 && r->fault == SL_FAULT_RELAY && reset && !r->p[SL_FP_RESET_AFTER] && !r->p[SL_FP_RESET_AT_MS])
		r->p[SL_FP_RESET_AFTER] = 1; /* at the first byte the peer sends */
	if (rc == 0 && r->fault == SL_FAULT_RELAY && silent && !r->p[SL_FP_SILENT_AFTER])
		r->p[SL_FP_SILENT_AFTER] = 1;
	if (rc == 0 && r->p[SL_FP_JITTER_MS] && !r->p[SL_FP_DELAY_MS])
		rc = bad(&c, "'jitter' goes with delay=T");
	if (rc == 0 && r->until_ns && r->until_ns <= r->from_ns)
		rc = bad(&c, "'until' must come after 'from'");
	if (rc == 0 && (r->fault == SL_FAULT_EMFILE || r->fault == SL_FAULT_ENFILE) && !r->calls)
		r->calls = SL_FCALL_SOCKET | SL_FCALL_ACCEPT;
	return rc;
}

/* One spec per line; blank lines and lines starting with '#' are skipped. */
int sl_inject_file(const char *path, struct sl_inject_rule *rules, struct sl_inject_site *sites, uint32_t *n,
		   char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int rc = 0, lineno = 0;
	if (!f) {
		snprintf(err, errlen, "--inject-file '%s': %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f)) {
		char *s = line, *e;
		lineno++;
		while (isspace((unsigned char)*s))
			s++;
		for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
			*--e = 0;
		if (!*s || *s == '#')
			continue;
		if (*n >= SL_INJECT_MAX) {
			snprintf(err, errlen, "--inject-file '%s' line %d: more than %u faults", path, lineno, SL_INJECT_MAX);
			rc = -1;
		} else if (sl_inject_parse(s, &rules[*n], &sites[*n], err, errlen) < 0) {
			size_t len = strlen(err);
			snprintf(err + len, errlen - len, " (%s line %d)", path, lineno);
			rc = -1;
		} else {
			(*n)++;
		}
	}
	fclose(f);
	return rc;
}

/* A source file a language runtime runs (its frames are named by the shim, not found by address). */
static int language_file(const char *file)
{
	static const char *const ext[] = {".py", ".java", ".js", ".mjs", ".cjs", ".kt", ".scala", ".groovy"};
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		size_t n = strlen(file), k = strlen(ext[i]);
		if (n > k && !strcmp(file + n - k, ext[i]))
			return 1;
	}
	return 0;
}

int sl_inject_sites(const char *exe, struct sl_inject_site *sites, uint32_t n, char *err, size_t errlen)
{
	char real[4096];
	const char *base;
	if (!realpath(exe, real))
		snprintf(real, sizeof real, "%s", exe);
	base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	for (uint32_t i = 0; i < n; i++) {
		struct sl_inject_site *s = &sites[i];
		if ((!s->file[0] && !s->func[0]) || (s->file[0] && language_file(s->file)))
			continue;
		s->nranges = (uint32_t)sl_site_ranges(real, s->file, s->line, s->func, s->lo, s->hi);
		if (snprintf(s->module, sizeof s->module, "%s", base) >= (int)sizeof s->module)
			s->module[sizeof s->module - 1] = 0; /* the shim compares the first 31 characters */
		if (!s->nranges && s->file[0]) {
			snprintf(err, errlen, "--inject rule %u: site=%s:%d is not in the line table of %s (built without -g, "
				 "a line with no code, or code in another file than the program socklens starts)",
				 i + 1, s->file, s->line, real);
			return -1;
		}
	}
	return 0;
}
