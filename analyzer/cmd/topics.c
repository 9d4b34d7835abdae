/* topics.c - the reference that is not a command's options: `socklens help environment`,
 * `help exit-status`, `help kinds`, `help inject`. One source: the man page is generated from these and from each
 * command's --help (scripts/mkman.py), and tests/docs.sh checks that the README names the same
 * variables and kinds. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"

/* a topic's entries: a name, and what it means */
struct entry {
	const char *name, *text;
};

static const struct entry environment[] = {
	{"SOCKLENS_SHIM", "path of libsocklens.so for `socklens run` (default: beside the socklens binary, then "
			  "../lib/socklens/ and the library directory it was installed with)"},
	{"SOCKLENS_DIR", "set by `socklens run`: where the shim writes. Without it a preloaded shim records "
			 "nothing. A missing directory is created (mode 0700; its missing parents 0755, only under "
			 "directories root or the user owns that nobody else can write); one that is not the user's "
			 "alone is refused, with a line saying what to do"},
	{"SOCKLENS_MAX_LOG_SPACE", "the run's log space budget in bytes, when the shim creates the run's "
				   "control file itself (without `socklens run`)"},
	{"SOCKLENS_NO_ARGV", "1: store only argv[0] of each process (set by --no-argv)"},
	{"SOCKLENS_SLOTS", "connection slots per process at most (default 1048576: live sockets plus closed "
			   "ones kept; a sparse table, 664 bytes per slot used, within an eighth of RLIMIT_AS)"},
	{"SOCKLENS_EVENTS", "events per process at most (default 8192: the first half kept, the second half "
			    "a ring of the most recent)"},
	{"SOCKLENS_STACKS", "distinct call-site stacks per process at most (default 2048)"},
	{"SOCKLENS_SLOW_MS", "calls slower than this are logged as events (default 1000)"},
	{"SOCKLENS_TRACE", "1 also logs opens, closes, option changes and successful connects as events (a "
			   "timeline for `socklens dump`); by default only problems are"},
	{"SOCKLENS_NO_PTRACE", "1: Go and static programs are not traced (they run untraced, and the report "
			       "says so)"},
	{"SOCKLENS_NO_LANG_FRAMES", "1: stacks without Python's, Java's and JavaScript's frames (set by "
				    "--no-lang-frames)"},
	{"DEBUGINFOD_URLS", "honoured by the symbolizer (elfutils) only if you set it; off by default, it "
			    "fetches over the network"},
	{"NO_COLOR", "no colour in the text report with --color=auto"},
};

static const struct entry statuses[] = {
	{"0", "no error; `report` and `dump` read the run"},
	{"the program's", "`run` ends as the program did: its exit status, or the signal that killed it"},
	{"1", "`report`, `dump`, `stuck`, `top`: the run directory cannot be read (`stuck`, `top`: or holds no "
	      "run), or no such process is traced"},
	{"2", "a usage error: one line and \"Try 'socklens CMD --help'\""},
	{"86", "--fail-on KINDS matched a finding (a CI gate; --error-exitcode N chooses another status)"},
	{"87", "--fail-on (or --error-exitcode) was given and the run could not be looked at in full (untraced, a log unreadable, "
	       "an exec not followed, io_uring)"},
	{"88", "`diff`: a gate (--fail-on-new, --max-regression) failed, or a side could not be compared"},
	{"125", "socklens itself cannot work: shim not found, a --dir it refuses, an output it cannot write"},
	{"126, 127", "`run`: the program is not executable, or not found (as a shell says)"},
};

/* --inject SPEC: FAULT[=VALUE]{,KEY=VALUE} (inject_spec.c parses them) */
static const struct entry faults[] = {
	{"refuse", "connect() is refused: sent to a loopback port socklens holds bound and not listening, so the kernel "
		   "answers the SYN with an RST (ECONNREFUSED, at once or through poll and SO_ERROR)"},
	{"blackhole", "connect() gets no answer: sent to a listener whose accept queue socklens keeps full, so the kernel "
		      "drops the SYN and the program's side retransmits until its own timeout, or the kernel's "
		      "(ETIMEDOUT after about 130 s)"},
	{"unreachable", "connect() fails at once with ENETUNREACH, as with no route (errno=EHOSTUNREACH for that one)"},
	{"nxdomain, servfail", "getaddrinfo() and gethostbyname() fail: EAI_NONAME/HOST_NOT_FOUND, or "
			       "EAI_AGAIN/TRY_AGAIN; for names matching host= (all names without it; never an address). Go's "
			       "own resolver reads the server's answer with that code instead"},
	{"dns-delay=T", "the lookup is answered T later"},
	{"emfile, enfile", "socket() (IPv4, IPv6) or accept() fails with EMFILE or ENFILE; calls=socket|accept|both. "
			   "accept() leaves the connection queued, as a real EMFILE does"},
	{"eintr", "a read or write on a blocking socket that would wait fails with EINTR, as when a signal "
		  "without SA_RESTART arrives; its retry goes through (one signal a wait). to=PEER picks the "
		  "connections"},
	{"accept-stall=T", "accept() is made T later, as by a server busy elsewhere (its event loop stalled): the "
			   "connections wait in the queue, and clients see their connect succeed and no answer"},
	{"slow-close=T", "close() of a connection returns T later (to=PEER picks which)"},
	{"delay=T", "through socklens's relay: T of one-way latency in each direction (dir=in: to the program, out: from "
		    "it), jitter=J adds up to J at random without reordering; the handshake's round trip is added to "
		    "the first data (the connect itself completes on loopback at once)"},
	{"rate=SIZE", "through the relay: at most SIZE bytes per second, each direction of dir"},
	{"reset[=T]", "through the relay: an RST to the program once after=SIZE bytes reached it (default: the peer's "
		      "first byte), or T after the connection (at=T)"},
	{"silent", "through the relay: after=SIZE bytes (default 0) reach the program, then nothing more either way; "
		   "the connection stays open"},
	{"slice=SIZE", "through the relay: at most SIZE bytes per delivery to the program (short reads)"},
};

static const struct entry inject_keys[] = {
	{"to=PEER", "the peer: ADDR, ADDR/BITS, ADDR:PORT, [V6]:PORT, :PORT, or HOST[:PORT] (looked up when "
		    "socklens starts); IPv4-mapped IPv6 peers match IPv4 rules"},
	{"host=NAME", "DNS faults: the name looked up (.example.com: it and its subdomains); other faults: as to=NAME"},
	{"proc=NAME", "only in processes of this name (as ps shows it)"},
	{"site=FILE:LINE, site=FUNCTION", "only calls made from there (a frame of the call's stack): Python, Java and "
					  "JavaScript frames by name, native code by the addresses socklens run looks up in "
					  "the program file's line or symbol table before it starts"},
	{"nth=N, every=N, count=N", "only the Nth matching call of the run, every Nth, at most N injections"},
	{"p=P, seed=S", "with probability P (0.3 or 30%); the same seed picks the same calls in every run"},
	{"from=T, until=T", "only in this window after the program started"},
	{"how it works", "the shim matches the rules at connect, socket, accept and name lookups; data calls never "
			 "test them. Go and static programs get connect, socket, accept, nxdomain and servfail faults at "
			 "the tracer's stops. The report lists each rule with the calls it "
			 "matched and injected into; each injection is an 'injected' finding that says what the program "
			 "did next, and the failure it caused is shown as info"},
};

static void wrap(FILE *out, const char *text, int indent)
{
	int col = indent;
	fprintf(out, "%*s", indent, "");
	while (*text) {
		size_t n = strcspn(text, " ");
		if (col > indent && col + 1 + (int)n > 79) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)n, text);
		col += (int)n;
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

/* an entry: its name, then its text wrapped under it */
static void entry(FILE *out, const char *name, const char *text)
{
	fprintf(out, "  %s\n", name);
	wrap(out, text, 6);
}

static const char *const topic_names[] = {"environment", "exit-status", "kinds", "inject"};

int sl_help_topic(const char *name, FILE *out)
{
	if (!strcmp(name, "environment")) {
		fprintf(out, "Environment variables socklens and its shim read:\n\n");
		for (size_t i = 0; i < sizeof environment / sizeof environment[0]; i++)
			entry(out, environment[i].name, environment[i].text);
		return 1;
	}
	if (!strcmp(name, "exit-status")) {
		fprintf(out, "Exit status of socklens:\n\n");
		for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
			entry(out, statuses[i].name, statuses[i].text);
		return 1;
	}
	if (!strcmp(name, "inject")) {
		fprintf(out, "socklens run --inject FAULT[=VALUE][,KEY=VALUE]...: the faults, then the keys:\n\n");
		for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
			entry(out, faults[i].name, faults[i].text);
		for (size_t i = 0; i < sizeof inject_keys / sizeof inject_keys[0]; i++)
			entry(out, inject_keys[i].name, inject_keys[i].text);
		return 1;
	}
	if (!strcmp(name, "kinds")) {
		fprintf(out, "The kinds of finding, and what to do about each:\n\n");
		for (int k = 0; k < SL_K__COUNT; k++)
			entry(out, sl_kind_name((enum sl_kind)k), sl_kind_advice((enum sl_kind)k));
		return 1;
	}
	return 0;
}

void sl_help_topics(FILE *out)
{
	fprintf(out, "topics: ");
	for (size_t i = 0; i < sizeof topic_names / sizeof topic_names[0]; i++)
		fprintf(out, "%s%s", i ? ", " : "", topic_names[i]);
	fprintf(out, " ('socklens help TOPIC')\n");
}
