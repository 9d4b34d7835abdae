/* util.c - the one table of names (errno, roles, options, calls) and formats that text and JSON share. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "base/base.h"

#define E(x) [x] = #x
static const char *const errnames[] = {
	E(EPERM), E(ENOENT), E(EINTR), E(EIO), E(EBADF), E(EAGAIN), E(ENOMEM), E(EACCES),
	E(EFAULT), E(EBUSY), E(EEXIST), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOSPC), E(EPIPE),
	E(ENOTSOCK), E(EDESTADDRREQ), E(EMSGSIZE), E(EPROTOTYPE), E(ENOPROTOOPT),
	E(EPROTONOSUPPORT), E(EOPNOTSUPP), E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL),
	E(ENETDOWN), E(ENETUNREACH), E(ENETRESET), E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS),
	E(EISCONN), E(ENOTCONN), E(ESHUTDOWN), E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTDOWN),
	E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS), E(ENOSYS),
};
#undef E

const char *sl_errno_name(int err)
{
	if (err <= 0 || (size_t)err >= sizeof errnames / sizeof errnames[0])
		return NULL;
	return errnames[err];
}

int sl_addr_port(const struct sl_addr *a)
{
	if ((a->family != AF_INET && a->family != AF_INET6) || a->len < 2)
		return -1;
	return a->data[0] << 8 | a->data[1]; /* sin_port and sin6_port come first, in network order */
}

static void format_inet(const struct sl_addr *a, char *out, size_t len)
{
	struct sockaddr_storage ss;
	size_t n = a->len > SL_ADDR_DATA ? SL_ADDR_DATA : a->len; /* len comes from the log */
	memset(&ss, 0, sizeof ss);
	ss.ss_family = a->family;
	memcpy((char *)&ss + sizeof(sa_family_t), a->data, n);
	char host[INET6_ADDRSTRLEN];
	if (a->family == AF_INET && n + sizeof(sa_family_t) >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (a->family == AF_INET6 && n + sizeof(sa_family_t) >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, len, "%s", "");
	}
}

/* The address's IP as 16 bytes (IPv4 mapped into IPv6); 0, or -1 when it is not an IP address. */
static int ip_of(const struct sl_addr *a, unsigned char ip[16])
{
	struct sockaddr_storage ss;
	size_t n = a->len > SL_ADDR_DATA ? SL_ADDR_DATA : a->len;
	memset(&ss, 0, sizeof ss);
	memcpy((char *)&ss + sizeof(sa_family_t), a->data, n);
	memset(ip, 0, 16);
	if (a->family == AF_INET && n + sizeof(sa_family_t) >= sizeof(struct sockaddr_in)) {
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		return 0;
	}
	if (a->family == AF_INET6 && n + sizeof(sa_family_t) >= sizeof(struct sockaddr_in6)) {
		memcpy(ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

int sl_addr_same_host(const struct sl_addr *local, const struct sl_addr *peer)
{
	static const unsigned char v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	unsigned char l[16], p[16];
	if (ip_of(peer, p) < 0)
		return 0;
	if ((!memcmp(p, v4, 12) && p[12] == 127) || !memcmp(p, one, 16))
		return 1; /* 127.0.0.0/8, ::1 */
	return ip_of(local, l) == 0 && !memcmp(l, p, 16); /* this host's own address */
}

/* unix:/path, unix:@abstract (NULs in abstract names shown as @), or "unix:" when unnamed. */
static void format_unix(const struct sl_addr *a, char *out, size_t len)
{
	size_t n = a->len > SL_ADDR_DATA ? SL_ADDR_DATA : a->len;
	char name[SL_ADDR_DATA + 1];
	size_t k = 0;
	int abstract = n > 0 && a->data[0] == 0;
	for (size_t i = abstract; i < n; i++) {
		unsigned char ch = a->data[i];
		if (!abstract && ch == 0)
			break;
		name[k++] = (ch < 0x20 || ch >= 0x7f) ? (ch == 0 ? '@' : '?') : (char)ch;
	}
	name[k] = 0;
	snprintf(out, len, "unix:%s%s", abstract ? "@" : "", name);
}

void sl_addr_format(const struct sl_addr *a, char *out, size_t len)
{
	if (a->family == AF_UNIX)
		format_unix(a, out, len);
	else if (a->family == AF_INET || a->family == AF_INET6)
		format_inet(a, out, len);
	else
		snprintf(out, len, "%s", "");
}

const char *sl_role_name(int role)
{
	static const char *const names[] = {"none", "client", "server", "listener", "pair", "inherited"};
	return role >= 0 && (size_t)role < sizeof names / sizeof names[0] ? names[role] : "unknown";
}

const char *sl_type_name(int family, int type)
{
	if (family == AF_UNIX)
		return type == SOCK_STREAM ? "unix-stream" : type == SOCK_DGRAM ? "unix-dgram" : "unix-seqpacket";
	if (family == AF_INET || family == AF_INET6) {
		int v6 = family == AF_INET6;
		if (type == SOCK_STREAM)
			return v6 ? "tcp6" : "tcp";
		if (type == SOCK_DGRAM)
			return v6 ? "udp6" : "udp";
		return v6 ? "inet6-other" : "inet-other";
	}
	if (family == AF_NETLINK)
		return "netlink";
	return "other";
}

const char *sl_opt_name(int opt)
{
	static const char *const names[SL_OPT__COUNT] = {
		[SL_OPT_RCVTIMEO] = "SO_RCVTIMEO", [SL_OPT_SNDTIMEO] = "SO_SNDTIMEO",
		[SL_OPT_KEEPALIVE] = "SO_KEEPALIVE", [SL_OPT_KEEPIDLE] = "TCP_KEEPIDLE",
		[SL_OPT_KEEPINTVL] = "TCP_KEEPINTVL", [SL_OPT_KEEPCNT] = "TCP_KEEPCNT",
		[SL_OPT_USER_TIMEOUT] = "TCP_USER_TIMEOUT", [SL_OPT_NODELAY] = "TCP_NODELAY",
		[SL_OPT_LINGER] = "SO_LINGER", [SL_OPT_RCVBUF] = "SO_RCVBUF",
		[SL_OPT_SNDBUF] = "SO_SNDBUF", [SL_OPT_REUSEADDR] = "SO_REUSEADDR",
		[SL_OPT_REUSEPORT] = "SO_REUSEPORT",
	};
	return opt >= 0 && opt < SL_OPT__COUNT ? names[opt] : "?";
}

const char *sl_call_name(int call)
{
	static const char *const names[SL_CALL__COUNT] = {
		"?", "socket", "socketpair", "connect", "accept", "bind", "listen", "send", "recv",
		"read", "write", "sendfile", "setsockopt", "getsockopt", "shutdown", "close", "fcntl", "exec",
		"getaddrinfo", "gethostbyname", "splice", "resolve",
	};
	return call >= 0 && call < SL_CALL__COUNT ? names[call] : "?";
}

uint64_t sl_mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sl_proc_stat(int pid, char *state, int *ppid, uint64_t *start_ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* fields 3 on, after the command name, which may itself hold spaces and parentheses */
	const char *p = strrchr(buf, ')');
	unsigned long long ticks;
	if (!p || sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 state, ppid, &ticks) != 3)
		return -1;
	*start_ticks = ticks;
	return 0;
}

void sl_dur_format(uint64_t ns, char *out, size_t len)
{
	if (ns < 1000000ull)
		snprintf(out, len, "%.1f ms", (double)ns / 1e6);
	else if (ns < 10000000000ull)
		snprintf(out, len, "%.0f ms", (double)ns / 1e6);
	else
		snprintf(out, len, "%.1f s", (double)ns / 1e9);
}

void sl_cdur_format(const struct sl_log_header *h, uint64_t ns, char *out, size_t len)
{
	if (ns < h->coarse_res_ns)
		snprintf(out, len, "under %.0f ms", (double)h->coarse_res_ns / 1e6);
	else
		sl_dur_format(ns, out, len);
}

int sl_dur_parse(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double mul = 1e9;
	if (end == s || !(v >= 0))
		return -1;
	if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "m"))
		mul = 60e9;
	else if (!strcmp(end, "h"))
		mul = 3600e9;
	else if (strcmp(end, "s") && *end)
		return -1;
	if (v * mul > 1e18)
		return -1;
	*ns = (uint64_t)(v * mul);
	return 0;
}

int sl_size_parse(const char *s, uint64_t *bytes)
{
	char *end;
	double v = strtod(s, &end);
	double mul = 1;
	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1024.0; end++; break;
	case 'm': case 'M': mul = 1048576.0; end++; break;
	case 'g': case 'G': mul = 1073741824.0; end++; break;
	case 't': case 'T': mul = 1099511627776.0; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || v * mul > 1.8e19)
		return -1;
	*bytes = (uint64_t)(v * mul);
	return 0;
}

/* Messages in git's style: "socklens: error: cannot open log '/x': No such file or directory". */
static void message(const char *level, const char *fmt, va_list ap)
{
	char text[2048];
	/* paths and names in messages may come from the program: escaped whole */
	vsnprintf(text, sizeof text, fmt, ap);
	fprintf(stderr, "socklens: %s: %s\n", level, sl_esc(text));
}

void sl_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	message("error", fmt, ap);
	va_end(ap);
}

void sl_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	message("warning", fmt, ap);
	va_end(ap);
}

int sl_usage_error(const char *cmd)
{
	fprintf(stderr, "Try 'socklens %s%s--help' for more information.\n", cmd ? cmd : "", cmd ? " " : "");
	return SL_EXIT_USAGE;
}

/* ---- facts about one connection that several rules read ---- */

int sl_is_tcp(const struct sl_slot *s)
{
	return (s->family == AF_INET || s->family == AF_INET6) && s->type == SOCK_STREAM;
}

int sl_connected(const struct sl_slot *s)
{
	return (s->role == SL_ROLE_CLIENT && s->connect_state == SL_CONN_DONE) || s->role == SL_ROLE_SERVER ||
	       (s->role == SL_ROLE_INHERITED && s->peer.family);
}

int sl_met(const struct sl_slot *s, int err)
{
	for (unsigned k = 0; k < SL_ERRS; k++)
		if (s->err_no[k] == err && s->err_count[k])
			return 1;
	return 0;
}

int sl_opt_on(const struct sl_slot *s, int opt)
{
	return (s->opts_set & (1u << opt)) && s->opt[opt] > 0;
}

uint32_t sl_conn_stack(const struct sl_slot *s)
{
	return s->connect_stack ? s->connect_stack : s->open_stack;
}


void sl_peer_host(const char *peer, char *out, size_t len)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon && colon != peer ? (size_t)(colon - peer) : strlen(peer);
	snprintf(out, len, "%.*s", (int)n, peer);
}

/* The fd limit the program is to run with: socklens raises its own soft limit to the hard one
 * (a run with thousands of logs, under `ulimit -n 5`, must still open them all), and the program's
 * child restores it before exec. */
static struct rlimit program_nofile;
static int have_program_nofile;

void sl_limits_raise(void)
{
	struct rlimit raised;
	if (getrlimit(RLIMIT_NOFILE, &program_nofile) != 0)
		return;
	have_program_nofile = 1;
	raised = program_nofile;
	raised.rlim_cur = raised.rlim_max;
	setrlimit(RLIMIT_NOFILE, &raised);
}

void sl_limits_restore(void)
{
	if (have_program_nofile)
		setrlimit(RLIMIT_NOFILE, &program_nofile);
}

/* Signals a supervisor passes on to the program, as a shell would: every catchable one but those a
 * fault raises in the receiver itself, SIGCHLD (its own), and the job-control ones (Ctrl-Z stops the
 * whole process group, socklens with it, so the shell's job control keeps working). */
void sl_forwarded_signals(sigset_t *set)
{
	static const int own[] = {SIGKILL, SIGSTOP, SIGCHLD, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
				  SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT};
	sigfillset(set);
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		sigdelset(set, own[i]);
	/* glibc keeps its two lowest real-time signals for itself (threads, timers) */
	for (int sig = SIGRTMIN - 2; sig < SIGRTMIN; sig++)
		if (sig > SIGSYS)
			sigdelset(set, sig);
}

/* Opens path without following links or blocking (a FIFO planted in the run directory must
 * not hang us) and checks it is a regular file of ours to read. */
int sl_open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		snprintf(err, errlen, "not a regular file");
		return -1;
	}
	return fd;
}
