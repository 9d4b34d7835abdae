/* goroutines.c - a Go program's goroutines parked on the network, read from outside.
 *
 * The route needs no symbol and no walk of every goroutine: the netpoller registers each socket's
 * poll descriptor (runtime.pollDesc) with epoll, and /proc/PID/fdinfo of the epoll fd lists, per
 * watched fd, the pointer Go gave epoll (tagged from Go 1.21: the pointer shifted left 16 bits, a
 * 19-bit sequence number below it). A descriptor's rg and wg hold the goroutine parked reading
 * and writing (0, 1 or 2 when none), rd and wd the deadlines in absolute CLOCK_MONOTONIC
 * nanoseconds (0 none, negative expired). The goroutine's saved registers (g.sched) and its stack
 * give its frames by frame pointers. Everything is read with process_vm_readv while the program
 * runs; a goroutine that moved while we read (its status or stack pointer changed) is dropped.
 *
 * net/http's client reads responses in a goroutine of its own (persistConn.readLoop): the one
 * parked on the socket is the transport's, not the program's. The program's goroutine waits in a
 * select in persistConn.roundTrip, on channels it shares with the connection's writeLoop, which
 * readLoop's creator started right after it. To name the program's line, every goroutine is read
 * (runtime.allgs: from the symbol table, or in a stripped binary from runtime.forEachG's code),
 * the round trips and writeLoops are paired by the channels of their waits (g.waiting's sudogs),
 * and a writeLoop with the readLoop created just before it by the same goroutine.
 *
 * The layouts differ between Go releases; those of 1.19 to 1.24 on amd64 are known (read from
 * the runtime's DWARF and checked against pprof's goroutine dumps). The release comes from the
 * binary's .go.buildinfo; any other is refused with a reason, never guessed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "base/dwlib.h"
#include "goroutines.h"
#include "symbols/symbols.h"

/* Offsets in runtime.g and runtime.pollDesc (amd64). In every release: g.stack.lo 0, hi 8,
 * g.m 48, g.sched.sp 56, pc 64, bp 104; m.g0 0; pollDesc.fd 8. */
struct layout {
	int minor;
	unsigned g_status, g_goid, g_waitreason, g_parent, g_waiting;
	unsigned pd_fdseq, pd_rg, pd_wg, pd_rseq, pd_rd, pd_wseq, pd_wd, pd_self, pd_size;
	int tagged;                  /* epoll data is a tagged pointer */
};

static const struct layout layouts[] = {
	{19, 144, 152, 176, 0, 328, 0, 24, 32, 56, 136, 144, 224, 232, 240, 0},
	{20, 144, 152, 176, 0, 328, 0, 24, 32, 56, 136, 144, 224, 232, 240, 0},
	{21, 144, 152, 176, 272, 312, 16, 32, 40, 64, 144, 152, 232, 240, 248, 1},
	{22, 144, 152, 176, 272, 312, 16, 32, 40, 64, 144, 152, 232, 240, 248, 1},
	{23, 152, 160, 184, 280, 320, 16, 32, 40, 64, 160, 168, 264, 272, 280, 1},
	{24, 152, 160, 184, 280, 320, 16, 32, 40, 64, 160, 168, 264, 272, 280, 1},
};

enum { G_SYSCALL = 3, G_WAITING = 4, G_SCAN = 0x1000, WAIT_IO = 2, WAIT_SELECT = 9, G_HEADER = 336, STACK_READ = 65536 };

/* The functions net/http's client and net's resolver run their goroutines in, as run-time address
 * ranges: the resolver asks each question in a goroutine of its own (tryOneName), made by the one
 * that waits for the answers (goLookupIPCNAMEOrder), itself, for a lookup shared through
 * singleflight, made for the program's goroutine waiting in lookupIPAddr. */
enum { F_ROUNDTRIP, F_WRITELOOP, F_READLOOP, F_DIALCONN, F_GETCONN, F_BGREAD, F_TRYONENAME, F_GOLOOKUP, F_LOOKUPIP,
       F_TLS_HANDSHAKE, F_TLS_INTERRUPT, F_CGO_GETADDRINFO, F_CGO_LOOKUPIP, F_SINGLEFLIGHT, F_REQ_TIMER,
       F_H2_READLOOP, F_XH2_READLOOP, F_GRPC_READER, F_H2_SERVER, F_XH2_SERVER, F_RESP_BODY, F_TLS_CLOSE, F_GRPC_WAITHDR,
       F_GRPC_SERVER, F_GRPC_DIAL, F_GRPC_PICK, F_GRPC_DIALCTX, F_COUNT };
static const char *const http_funcs[F_COUNT] = {
	"net/http.(*persistConn).roundTrip", "net/http.(*persistConn).writeLoop", "net/http.(*persistConn).readLoop",
	"net/http.(*Transport).dialConn", "net/http.(*Transport).getConn", "net/http.(*connReader).backgroundRead",
	"net.(*Resolver).tryOneName", "net.(*Resolver).goLookupIPCNAMEOrder", "net.(*Resolver).lookupIPAddr",
	/* crypto/tls's handshake, and the goroutine it starts when its context can end (Go 1.17+) */
	"crypto/tls.(*Conn).handshakeContext", "crypto/tls.(*Conn).handshakeContext.func2",
	/* a cgo build's lookup through glibc, in a goroutine of its own too (when its context can
	 * end), for one waiting in cgoLookupIP (Go 1.19) or, from its creator, anywhere (1.21+) but
	 * in singleflight's helper */
	"net._C2func_getaddrinfo", "net.cgoLookupIP", "internal/singleflight.(*Group).doCall",
	/* the goroutine an http.Client with a Timeout starts for each request, to cancel it at the
	 * deadline (the same closure, func4, in 1.19 to 1.24) */
	"net/http.setRequestCancel.func4",
	/* an HTTP/2 client connection's reader, always reading frames whatever its streams do (the
	 * standard library's bundled copy, golang.org/x/net's, gRPC's): waiting for the server, not a
	 * call; each request has its own bound */
	"net/http.(*http2clientConnReadLoop).run", "golang.org/x/net/http2.(*clientConnReadLoop).run",
	"google.golang.org/grpc/internal/transport.(*http2Client).reader",
	/* ... and a server's: an HTTP/2 connection idles between streams, ended by IdleTimeout */
	"net/http.(*http2serverConn).readFrames", "golang.org/x/net/http2.(*serverConn).readFrames",
	/* a client reading a response's body (a stream: server-sent events, a download): its
	 * request's context or Timeout, watched by the connection's readLoop, may end it */
	"net/http.(*bodyEOFSignal).Read",
	/* a TLS connection's close: its close_notify, then the socket's */
	"crypto/tls.(*Conn).Close",
	/* a gRPC call waiting for its response to begin (a unary call, a stream's first message) */
	"google.golang.org/grpc/internal/transport.(*Stream).waitOnHeader",
	/* a gRPC server's connection, read between and across its streams (keepalive bounds it) */
	"google.golang.org/grpc/internal/transport.(*http2Server).HandleStreams",
	/* gRPC dials in a goroutine of its own too (an addrConn's), for a call waiting for a
	 * connection to pick, or a blocking Dial waiting for the connection to be ready */
	"google.golang.org/grpc.(*addrConn).createTransport", "google.golang.org/grpc.(*pickerWrapper).pick",
	"google.golang.org/grpc.DialContext",
};

/* The context package's types, by the itab that makes each a context.Context ("go:itab." from Go
 * 1.20, "go.itab." before; in the symbol table only: a stripped program has none). Every one
 * holds its parent context as its first field but the ends of a chain. */
enum { CTX_CANCEL, CTX_TIMER, CTX_VALUE, CTX_STOP, CTX_EMPTY, CTX_BACKGROUND, CTX_TODO, CTX_WITHOUT, CTX_COUNT };
static const char *const ctx_types[CTX_COUNT] = {
	"*context.cancelCtx", "*context.timerCtx", "*context.valueCtx", "context.stopCtx",
	"*context.emptyCtx", "context.backgroundCtx", "context.todoCtx", "context.withoutCancelCtx",
};

struct sl_goproc {
	pid_t pid;
	char version[32];
	const struct layout *l;
	uint64_t allgs;              /* &runtime.allgs (run-time address; 0: not found) */
	int eps[8];                  /* its epoll fds, found once (the netpoller makes one at start) */
	size_t neps;
	struct { void *p; size_t size; } scratch[4]; /* buffers kept from read to read: fresh pages cost
						      * a page fault each, more than the read itself */
	uint64_t fn[F_COUNT][2];     /* [entry, end) of http_funcs (0: not in the program) */
	uint64_t itab[CTX_COUNT];    /* run-time addresses of ctx_types' itabs (0: not found) */
	uint64_t deadline_err;       /* ... and of context.DeadlineExceeded's as an error */
	uint64_t start_nano;         /* &time.startNano: a time.Time's monotonic reading is from it */
	int64_t start_nano_v;        /* ... its value, once read (0: not yet) */
};

const char *sl_go_version(const struct sl_goproc *gp)
{
	return gp->version;
}

static int peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	return addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static uint64_t u64(const unsigned char *b, unsigned off)
{
	uint64_t v;
	memcpy(&v, b + off, 8);
	return v;
}

/* The Go release from .go.buildinfo (Go 1.18+: the version string follows the 32-byte header,
 * with its length as a uvarint); 0, or -1. */
static int buildinfo_version(Elf *elf, char *out, size_t len)
{
	const char *v, *info;
	size_t n, ilen;
	if (sl_go_buildinfo(elf, &v, &n, &info, &ilen) < 0 || !n || n >= len)
		return -1;
	memcpy(out, v, n);
	out[n] = 0;
	return 0;
}

/* A symbol's address from the symbol table (size too, if wanted); 0, or -1. */
static int symbol(Elf *elf, const char *name, uint64_t *addr, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym sym;
			const char *s = gelf_getsym(d, (int)i, &sym) ? elf_strptr(elf, sh.sh_link, sym.st_name) : NULL;
			if (s && !strcmp(s, name)) {
				*addr = sym.st_value;
				if (size)
					*size = sym.st_size;
				return 0;
			}
		}
	}
	return -1;
}

/* The bytes at link-time address addr, from the section that holds them. */
static const unsigned char *code_at(Elf *elf, uint64_t addr, size_t len)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || addr < sh.sh_addr ||
		    addr + len > sh.sh_addr + sh.sh_size)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		return d && d->d_buf && d->d_size >= addr + len - sh.sh_addr ? (const unsigned char *)d->d_buf + (addr - sh.sh_addr)
									    : NULL;
	}
	return NULL;
}

/* &runtime.allgs in a stripped binary: runtime.forEachG loads the slice's pointer and length,
 * two RIP-relative MOVs (REX.W 8B /r, mod 00 r/m 101) whose targets are 8 bytes apart. */
static uint64_t allgs_by_code(Elf *elf)
{
	uint64_t entry, end, prev = 0;
	const unsigned char *b;
	if (sl_gopclntab_func(elf, "runtime.forEachG", &entry, &end) < 0 || end <= entry || end - entry > 4096 ||
	    !(b = code_at(elf, entry, end - entry)))
		return 0;
	for (uint64_t i = 0; i + 7 <= end - entry; i++) {
		if ((b[i] != 0x48 && b[i] != 0x4c) || b[i + 1] != 0x8b || (b[i + 2] & 0xc7) != 0x05)
			continue;
		int32_t disp;
		memcpy(&disp, b + i + 3, 4);
		uint64_t target = entry + i + 7 + (uint64_t)(int64_t)disp;
		if (prev && target == prev + 8)
			return prev;
		prev = target;
	}
	return 0;
}

/* Where the program file is loaded, less where it was linked (0 unless it is position-independent). */
static uint64_t load_bias(Elf *elf, pid_t pid)
{
	GElf_Ehdr eh;
	size_t n;
	uint64_t low = UINT64_MAX;
	if (!gelf_getehdr(elf, &eh) || eh.e_type != ET_DYN || elf_getphdrnum(elf, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < low)
			low = ph.p_vaddr & ~0xfffull;
	}
	char path[64], exe[4096], line[4352];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t k = readlink(path, exe, sizeof exe - 1);
	if (k <= 0 || low == UINT64_MAX)
		return 0;
	exe[k] = 0;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	uint64_t bias = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long long lo, off;
		char file[4096];
		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %4095s", &lo, &off, file) == 3 && off == 0 && !strcmp(file, exe)) {
			bias = lo - low;
			break;
		}
	}
	if (f)
		fclose(f);
	return bias;
}

/* What the net/http pairing needs: runtime.allgs and the client's functions. */
static void find_addresses(struct sl_goproc *gp, Elf *elf)
{
	uint64_t bias = load_bias(elf, gp->pid), a, size;
	if (symbol(elf, "runtime.allgs", &a, NULL) == 0 || (a = allgs_by_code(elf)))
		gp->allgs = a + bias;
	for (int i = 0; i < F_COUNT; i++) {
		uint64_t entry, end;
		if (symbol(elf, http_funcs[i], &entry, &size) == 0 && size)
			end = entry + size;
		else if (sl_gopclntab_func(elf, http_funcs[i], &entry, &end) < 0)
			continue;
		gp->fn[i][0] = entry + bias;
		gp->fn[i][1] = end + bias;
	}
	for (int i = 0; i < CTX_COUNT; i++) {
		char name[128];
		snprintf(name, sizeof name, "go:itab.%s,context.Context", ctx_types[i]);
		if (symbol(elf, name, &a, NULL) == 0 || (name[2] = '.', symbol(elf, name, &a, NULL) == 0))
			gp->itab[i] = a + bias;
	}
	char name[] = "go:itab.context.deadlineExceededError,error";
	if (symbol(elf, name, &a, NULL) == 0 || (name[2] = '.', symbol(elf, name, &a, NULL) == 0))
		gp->deadline_err = a + bias;
	if (symbol(elf, "time.startNano", &a, NULL) == 0)
		gp->start_nano = a + bias;
}

struct sl_goproc *sl_go_open(pid_t pid, char *why, size_t len)
{
	char path[64], version[32] = "";
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "cannot open its program file: %s", strerror(errno));
		return NULL;
	}
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int r = elf ? buildinfo_version(elf, version, sizeof version) : -1;
	int major = 0, minor = 0;
	if (r < 0 || sscanf(version, "go%d.%d", &major, &minor) != 2) {
		if (elf)
			elf_end(elf);
		close(fd);
		snprintf(why, len, "not a Go program (or one built before Go 1.18)");
		return NULL;
	}
	const struct layout *l = NULL;
	for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
		if (major == 1 && layouts[i].minor == minor)
			l = &layouts[i];
	if (!l) {
		elf_end(elf);
		close(fd);
		snprintf(why, len, "built with %s, whose runtime layout socklens does not know (Go 1.19 to 1.24 "
			 "are read)", version);
		return NULL;
	}
	unsigned char probe[8];
	struct iovec lo = {probe, 1}, re = {(void *)(uintptr_t)4096, 1};
	if (process_vm_readv(pid, &lo, 1, &re, 1, 0) < 0 && errno == EPERM) {
		elf_end(elf);
		close(fd);
		snprintf(why, len, "its memory cannot be read (another user's process: run as root or as that user)");
		return NULL;
	}
	struct sl_goproc *gp = calloc(1, sizeof *gp);
	gp->pid = pid;
	gp->l = l;
	snprintf(gp->version, sizeof gp->version, "%s", version);
	find_addresses(gp, elf);
	elf_end(elf);
	close(fd);
	return gp;
}

void sl_go_close(struct sl_goproc *gp)
{
	for (int i = 0; gp && i < 4; i++)
		free(gp->scratch[i].p);
	free(gp);
}

enum { SCRATCH_PDS, SCRATCH_HEADERS, SCRATCH_STACKS, SCRATCH_ALL };

/* A buffer of at least size bytes, kept for the next read. */
static unsigned char *scratch(struct sl_goproc *gp, int which, size_t size)
{
	if (gp->scratch[which].size < size) {
		free(gp->scratch[which].p);
		gp->scratch[which].size = size + size / 2;
		gp->scratch[which].p = malloc(gp->scratch[which].size);
	}
	return gp->scratch[which].p;
}

/* Reads n remote ranges into local buffers in as few system calls as it takes; ok[i] says which
 * arrived whole. process_vm_readv stops at the first range it cannot read: the rest goes on after
 * it. */
static void batch_read(pid_t pid, size_t n, const uint64_t *addr, const size_t *len, unsigned char **buf, char *ok)
{
	enum { IOV = 512 };
	struct iovec lo[IOV], re[IOV];
	size_t i = 0;
	while (i < n) {
		size_t k = 0, want = 0;
		for (; k < IOV && i + k < n; k++) {
			lo[k] = (struct iovec){buf[i + k], len[i + k]};
			re[k] = (struct iovec){(void *)(uintptr_t)addr[i + k], len[i + k]};
			want += len[i + k];
		}
		ssize_t got = addr[i] ? process_vm_readv(pid, lo, k, re, k, 0) : -1;
		size_t done = 0;
		for (size_t j = 0; j < k && got > 0 && (size_t)got >= done + len[i + j]; j++) {
			done += len[i + j];
			ok[i + j] = 1;
		}
		size_t whole = 0;
		while (whole < k && ok[i + whole])
			whole++;
		if (whole < k)
			ok[i + whole] = 0; /* the one that stopped it */
		i += whole < k ? whole + 1 : k;
		(void)want;
	}
}

/* Walks the frame pointers of a stack read from sp: the return address at [bp+8], the caller's bp
 * at [bp]. bp comes from a stack that may be changing under us, any value at all: it is compared
 * as an offset into what was read, never added to (bp + 16 near 2^64 wrapped past the bound, and
 * the tracer read far outside the buffer: a segfault that killed the program it traced). */
int sl_go_walk(const unsigned char *stack, size_t n, uint64_t sp, uint64_t bp, uint64_t *pcs, uint32_t *npc)
{
	while (*npc < SL_MAX_FRAMES && bp >= sp && n >= 16 && bp - sp <= n - 16) {
		uint64_t ret = u64(stack, (unsigned)(bp - sp + 8)), next = u64(stack, (unsigned)(bp - sp));
		if (!ret)
			return 0;
		pcs[(*npc)++] = ret;
		if (next <= bp)
			return 0;
		bp = next;
	}
	return *npc < SL_MAX_FRAMES && bp >= sp; /* 1: the chain goes on past what was read */
}

/* Whether the goroutine header h has its stack pointer inside its stack. */
static int sp_sane(const unsigned char *h)
{
	uint64_t lo = u64(h, 0), hi = u64(h, 8), sp = u64(h, 56);
	return sp >= lo && sp < hi && hi - lo <= (1ull << 30);
}

/* Reads the top of a parked goroutine's stack (header h) into buf: up to max bytes from its stack
 * pointer, never past the stack's end. The bytes read, or 0. */
static size_t stack_top(const struct sl_goproc *gp, const unsigned char *h, unsigned char *buf, size_t max)
{
	uint64_t hi = u64(h, 8), sp = u64(h, 56);
	size_t n = hi - sp < max ? hi - sp : max;
	return buf && sp_sane(h) && peek(gp->pid, sp, buf, n) == 0 ? n : 0;
}

/* The frames of the goroutine parked at g whose header is h, read off its stack; 0, or -1 when it
 * moved while we read (its stack pointer changed). */
static int frames(const struct sl_goproc *gp, uint64_t g, const unsigned char *h, uint64_t *pcs, uint32_t *npc)
{
	unsigned char again[8];
	uint64_t sp = u64(h, 56);
	if (!sp_sane(h))
		return -1;
	*npc = 0;
	pcs[(*npc)++] = u64(h, 64);
	unsigned char *stack = malloc(STACK_READ);
	size_t n = stack_top(gp, h, stack, STACK_READ);
	if (n)
		sl_go_walk(stack, n, sp, u64(h, 104), pcs, npc);
	free(stack);
	return peek(gp->pid, g + 56, again, 8) == 0 && u64(again, 0) == sp ? 0 : -1;
}

/* The frames of n parked goroutines (g[i], header h[i]) in two batched reads: their stacks, then
 * their stack pointers again (one that moved while we read is dropped: moved[i] = 1). */
static void batch_frames(struct sl_goproc *gp, size_t n, const uint64_t *g, unsigned char *const *h,
			 struct sl_gowait *w, char *moved)
{
	enum { STACK_FIRST = 1024 }; /* most waits' frames fit: more is read only for those that need it */
	uint64_t *addr = calloc(n + 1, sizeof *addr);
	size_t *lens = calloc(n + 1, sizeof *lens);
	unsigned char **bufs = calloc(n + 1, sizeof *bufs), *again = malloc(n * 8 + 1);
	unsigned char *stacks = scratch(gp, SCRATCH_STACKS, n * STACK_FIRST + 1);
	char *ok = calloc(n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = u64(h[i], 0), hi = u64(h[i], 8), sp = u64(h[i], 56);
		moved[i] = sp < lo || sp >= hi || hi - lo > (1ull << 30);
		addr[i] = moved[i] ? 0 : sp;
		lens[i] = moved[i] ? 1 : hi - sp < STACK_FIRST ? hi - sp : STACK_FIRST;
		bufs[i] = stacks + i * STACK_FIRST;
	}
	batch_read(gp->pid, n, addr, lens, bufs, ok);
	for (size_t i = 0; i < n; i++) {
		w[i].npc = 0;
		w[i].pc[w[i].npc++] = u64(h[i], 64);
		int on = ok[i] && !moved[i] && sl_go_walk(bufs[i], lens[i], addr[i], u64(h[i], 104), w[i].pc, &w[i].npc);
		uint64_t hi = u64(h[i], 8), rest = hi - addr[i];
		if (on && rest > lens[i]) {
			/* the chain went on past what was read: the whole stack, up to STACK_READ */
			size_t more = rest < STACK_READ ? rest : STACK_READ;
			unsigned char *all = malloc(more);
			if (all && peek(gp->pid, addr[i], all, more) == 0) {
				w[i].npc = 1;
				sl_go_walk(all, more, addr[i], u64(h[i], 104), w[i].pc, &w[i].npc);
			}
			free(all);
		}
		addr[i] = g[i] + 56;
		lens[i] = 8;
		bufs[i] = again + i * 8;
	}
	memset(ok, 0, n + 1);
	batch_read(gp->pid, n, addr, lens, bufs, ok);
	for (size_t i = 0; i < n; i++)
		moved[i] |= !ok[i] || u64(bufs[i], 0) != u64(h[i], 56);
	free(ok);
	free(again);
	free(bufs);
	free(lens);
	free(addr);
}

/* Whether the goroutine whose header is h is parked for reason. */
static int parked(const struct sl_goproc *gp, const unsigned char *h, int reason)
{
	uint32_t status;
	memcpy(&status, h + gp->l->g_status, 4);
	return (status & ~(uint32_t)G_SCAN) == G_WAITING && h[gp->l->g_waitreason] == reason;
}

static int runs_in(const struct sl_goproc *gp, int fn, const uint64_t *pcs, uint32_t n)
{
	for (uint32_t i = 0; gp->fn[fn][0] && i < n; i++)
		if (pcs[i] > gp->fn[fn][0] && pcs[i] <= gp->fn[fn][1]) /* return addresses: just after a call */
			return 1;
	return 0;
}

/* A goroutine of net/http's client parked in a select: a round trip, or a connection's writeLoop. */
struct selecting {
	int fn;
	uint64_t goid, parent;
	uint64_t chans[8];           /* the channels its select waits on (g.waiting's sudogs) */
	int nchans;
	uint64_t holder;             /* a writeLoop's persistConn (0: not found) */
	const unsigned char *gh;     /* its header (in http_callers' copy) */
	uint64_t g;
	uint64_t pc[SL_MAX_FRAMES];
	uint32_t npc;
};

static void channels(const struct sl_goproc *gp, const unsigned char *h, struct selecting *s)
{
	uint64_t sg = u64(h, gp->l->g_waiting);
	unsigned char sd[88];
	for (s->nchans = 0; sg && s->nchans < 8 && peek(gp->pid, sg, sd, sizeof sd) == 0; sg = u64(sd, 64))
		s->chans[s->nchans++] = u64(sd, 80); /* sudog.c; sudog.waitlink at 64 */
}

/* Which call a select waits for: its channels, in any order (sl_gowait.call) */
static uint64_t call_of(const struct selecting *s)
{
	uint64_t id = 0;
	for (int k = 0; k < s->nchans; k++)
		id += s->chans[k];
	return id;
}

/* The object that holds every channel a parked goroutine's select waits on, found from the words
 * of its stack without knowing the object's layout: a writeLoop's persistConn, whose writech and
 * closech are neighbouring fields (0: none found). Words pointing into the stack itself (the
 * select's own cases) are not it, nor is a run of sudogs, which holds the channels apart. The
 * objects the words may point at are read in one batch. */
static uint64_t holder_of(const struct sl_goproc *gp, const unsigned char *gh, const struct selecting *s)
{
	enum { STACK_LOOK = 1024, WORDS = STACK_LOOK / 8, OBJECT = 512 };
	unsigned char stack[STACK_LOOK];
	uint64_t lo = u64(gh, 0), hi = u64(gh, 8), c0 = s->chans[0], addr[WORDS];
	size_t n = s->nchans ? stack_top(gp, gh, stack, STACK_LOOK) : 0, na = 0, lens[WORDS];
	if (!n)
		return 0;
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t p = u64(stack, i);
		if (!(p & 7) && (p < lo || p >= hi) && p + (1ull << 32) >= c0 && p <= c0 + (1ull << 32))
			addr[na] = p, lens[na++] = OBJECT;
	}
	unsigned char *objs = malloc(na * OBJECT + 1), *bufs[WORDS];
	char ok[WORDS] = {0};
	uint64_t found = 0;
	for (size_t i = 0; objs && i < na; i++)
		bufs[i] = objs + i * OBJECT;
	if (objs)
		batch_read(gp->pid, na, addr, lens, bufs, ok);
	for (size_t i = 0; objs && i < na && !found; i++)
		for (size_t j = 0; ok[i] && j + 8 * (size_t)s->nchans <= OBJECT && !found; j += 8) {
			int all = 1;
			for (int c = 0; c < s->nchans && all; c++) {
				all = 0;
				for (int k = 0; k < s->nchans && !all; k++)
					all = u64(bufs[i], j + 8 * (size_t)k) == s->chans[c];
			}
			found = all ? addr[i] : 0;
		}
	free(objs);
	return found;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Which of the sorted words v[0..n) the stack of a parked goroutine (header h) holds near its top:
 * its index, or -1. */
static long stack_holds(const struct sl_goproc *gp, const unsigned char *h, const uint64_t *v, size_t n)
{
	enum { STACK_LOOK = 8192 };
	unsigned char *stack = n ? malloc(STACK_LOOK) : NULL;
	size_t len = stack_top(gp, h, stack, STACK_LOOK);
	long found = -1;
	for (size_t i = 0; i + 8 <= len && found < 0; i += 8) {
		uint64_t w = u64(stack, i);
		const uint64_t *hit = bsearch(&w, v, n, sizeof *v, cmp_u64);
		found = hit ? hit - v : -1;
	}
	free(stack);
	return found;
}

/* Which of ctx_types an itab is (CTX_COUNT: none, or another package's type). */
static int ctx_type(const struct sl_goproc *gp, uint64_t tab)
{
	int t = 0;
	while (t < CTX_COUNT && (!tab || gp->itab[t] != tab))
		t++;
	return t;
}

/* What a context (its interface words: itab, data) says of a wait under it: whether a deadline is
 * in its chain (1), none is (0), or it cannot be told (-1: a type of another package, a chain
 * that cannot be read); *cancelable counts the contexts in it that can be cancelled, and *timer
 * (unless NULL) is the address of the timerCtx that holds the deadline. */
static int ctx_deadline(const struct sl_goproc *gp, uint64_t tab, uint64_t data, int *cancelable, uint64_t *timer)
{
	*cancelable = 0;
	for (int depth = 0; depth < 32; depth++) {
		int t = ctx_type(gp, tab);
		if (t == CTX_TIMER) {
			++*cancelable;
			if (timer)
				*timer = data;
			return 1;
		}
		if (t == CTX_EMPTY || t == CTX_BACKGROUND || t == CTX_TODO || t == CTX_WITHOUT)
			return 0; /* (WithoutCancel drops its parent's deadline and cancellation) */
		unsigned char parent[16];
		if (t == CTX_COUNT || peek(gp->pid, data, parent, sizeof parent) < 0)
			return -1;
		*cancelable += t == CTX_CANCEL || t == CTX_STOP;
		tab = u64(parent, 0);
		data = u64(parent, 8);
	}
	return -1;
}

/* The context of the request a parked round trip (the program's goroutine, header h, at g), or a
 * readLoop waiting for its body to be read, waits for: the first *http.Request its stack points
 * at from the top, as the transport's frames hold it (after Client.send gave it its Timeout's
 * deadline: Go 1.21+), its ctx field's deadline and cancelable count as ctx_deadline says (-1:
 * none found). A Request is known by its fields: a
 * method string of 1 to 16 bytes, a URL (a heap pointer), ProtoMajor 0 to 2 and ProtoMinor 0 or 1, and a ctx
 * of the context package's types (or nil, which is Background), at 232 (248 from Go 1.23, after
 * Pattern). The transport's own cancelable context (Go 1.21+) is transportRequest's, not the
 * Request's. */
static int round_trip_ctx(const struct sl_goproc *gp, const unsigned char *h, uint64_t g, int *cancelable)
{
	enum { STACK_LOOK = 16384, WORDS = STACK_LOOK / 8, REQ = 264 };
	uint64_t lo = u64(h, 0), hi = u64(h, 8);
	size_t n, na = 0, at_ctx = gp->l->minor >= 23 ? 248 : 232;
	*cancelable = 0;
	if (!gp->itab[CTX_CANCEL] || !sp_sane(h))
		return -1;
	unsigned char *stack = malloc(STACK_LOOK), *objs = malloc((size_t)WORDS * REQ), **bufs = calloc(WORDS, sizeof *bufs);
	uint64_t *addr = calloc(WORDS, sizeof *addr);
	size_t *lens = calloc(WORDS, sizeof *lens);
	char *ok = calloc(WORDS, 1);
	int r = -1;
	if (!objs || !bufs || !addr || !lens || !ok || !(n = stack_top(gp, h, stack, STACK_LOOK)))
		goto out;
	for (size_t i = 0; i + 8 <= n; i += 8) { /* pointers into the heap, near the g's own */
		uint64_t p = u64(stack, i);
		if (p && !(p & 7) && (p < lo || p >= hi) && p + (1ull << 36) > g && p < g + (1ull << 36)) {
			addr[na] = p;
			lens[na] = REQ;
			bufs[na] = objs + na * REQ;
			na++;
		}
	}
	batch_read(gp->pid, na, addr, lens, bufs, ok);
	for (size_t i = 0; i < na && r < 0; i++) {
		const unsigned char *q = bufs[i];
		uint64_t mlen = u64(q, 8), tab = u64(q, at_ctx), data = u64(q, at_ctx + 8);
		uint64_t url = u64(q, 16); /* (a heap pointer: a Response has its StatusCode there) */
		if (!ok[i] || !u64(q, 0) || !mlen || mlen > 16 || (url & 7) || url + (1ull << 36) <= g ||
		    url >= g + (1ull << 36) || u64(q, 40) > 2 || u64(q, 48) > 1)
			continue;
		if (!tab && !data) { /* no context: Background */
			r = 0;
			break;
		}
		if (ctx_type(gp, tab) < CTX_COUNT)
			r = ctx_deadline(gp, tab, data, cancelable, NULL);
	}
	/* ... or, from Go 1.21, the transport's transportRequest (its *Request first, its own
	 * cancelable context at 24, whose parent is the request's): the readLoop holds that */
	for (size_t i = 0; i < na && r < 0 && gp->l->minor >= 21; i++) {
		const unsigned char *q = bufs[i];
		uint64_t req = u64(q, 0), tab = u64(q, 24), data = u64(q, 32);
		if (!ok[i] || !req || (req & 7) || ctx_type(gp, tab) == CTX_COUNT || !data)
			continue;
		r = ctx_deadline(gp, tab, data, cancelable, NULL);
		if (r >= 0 && *cancelable)
			--*cancelable; /* (the transport's own) */
	}
out:
	free(ok);
	free(lens);
	free(addr);
	free(bufs);
	free(objs);
	free(stack);
	return r;
}

/* Every goroutine's header, read in batches. */
static unsigned char *all_headers(const struct sl_goproc *gp, uint64_t **gs, size_t *n)
{
	unsigned char slice[16];
	*gs = NULL;
	*n = 0;
	if (peek(gp->pid, gp->allgs, slice, sizeof slice) < 0 || u64(slice, 8) > (1u << 20))
		return NULL;
	*n = u64(slice, 8);
	*gs = malloc(*n * 8 + 8);
	unsigned char *h = malloc(*n * G_HEADER + 1);
	if (!*n || peek(gp->pid, u64(slice, 0), *gs, *n * 8) < 0) {
		*n = 0;
		return h;
	}
	struct iovec lo[64], re[64];
	for (size_t i = 0; i < *n; i += 64) {
		size_t k = *n - i < 64 ? *n - i : 64;
		for (size_t j = 0; j < k; j++) {
			lo[j] = (struct iovec){h + (i + j) * G_HEADER, G_HEADER};
			re[j] = (struct iovec){(void *)(uintptr_t)(*gs)[i + j], G_HEADER};
		}
		if (process_vm_readv(gp->pid, lo, k, re, k, 0) != (ssize_t)(k * G_HEADER))
			memset(h + i * G_HEADER, 0, k * G_HEADER); /* a g being freed? none are: a torn read */
	}
	return h;
}

/* How many of a select's channels carry no data (chan struct{}): hchan.elemsize, at 24 in every
 * release. */
static int empty_chans(const struct sl_goproc *gp, const struct selecting *s)
{
	int n = 0;
	for (int i = 0; i < s->nchans; i++) {
		unsigned char h[26];
		n += peek(gp->pid, s->chans[i], h, sizeof h) == 0 && h[24] == 0 && h[25] == 0;
	}
	return n;
}

/* Whether the round trip rt ends when the program's bound is reached, though the readLoop reading
 * its response has no deadline (1), cannot be told (-1), or waits for as long as the server
 * likes (0). In Go 1.19 and 1.20 the round trip's select waits on the request's Cancel channel
 * (an http.Client's Timeout sets one) or its context's Done when there is a bound, both
 * chan struct{} like the connection's closech, which it always waits on. From 1.21 the transport
 * wraps every request's context in a cancelable one, so Done is there either way, and a Timeout
 * is a context deadline, which leaves no trace outside the context; only a Timeout on a request
 * with its own Cancel channel, or through another RoundTripper, starts a goroutine (found by its
 * creator). */
static int round_trip_bounded(const struct sl_goproc *gp, const struct selecting *rt, const uint64_t *timers,
			      size_t ntimers)
{
	if (!gp->l->g_parent)
		return empty_chans(gp, rt) >= 2;
	for (size_t i = 0; i < ntimers; i++)
		if (timers[i] == rt->goid)
			return 1;
	return -1;
}

/* Whether two selects wait on a channel in common. */
static int share(const struct selecting *a, const struct selecting *b)
{
	for (int i = 0; i < a->nchans; i++)
		for (int j = 0; j < b->nchans; j++)
			if (a->chans[i] == b->chans[j])
				return 1;
	return 0;
}

/* The writeLoop among sel[0..ns) whose persistConn is holder (NULL: none). */
static const struct selecting *writeloop_of(const struct selecting *sel, size_t ns, uint64_t holder)
{
	for (size_t k = 0; k < ns; k++)
		if (sel[k].fn == F_WRITELOOP && sel[k].holder == holder)
			return &sel[k];
	return NULL;
}

/* net/http's client: the program's goroutine behind each readLoop parked on a socket, and whether
 * its round trip is bounded (a read that cannot hang forever). */
static void http_callers(const struct sl_goproc *gp, struct sl_gowait *w, size_t nw)
{
	size_t loops = 0, bodies = 0;
	for (size_t i = 0; i < nw; i++) {
		loops += !w[i].write && runs_in(gp, F_READLOOP, w[i].pc, w[i].npc);
		if (!w[i].write && runs_in(gp, F_BGREAD, w[i].pc, w[i].npc))
			w[i].pool = 1; /* an http.Server watching for its client's close while a handler runs */
		if (!w[i].write && (runs_in(gp, F_H2_READLOOP, w[i].pc, w[i].npc) ||
				    runs_in(gp, F_XH2_READLOOP, w[i].pc, w[i].npc) ||
				    runs_in(gp, F_GRPC_READER, w[i].pc, w[i].npc)))
			w[i].pool = w[i].idle_reader = 1;
		if (!w[i].write && (runs_in(gp, F_H2_SERVER, w[i].pc, w[i].npc) ||
				    runs_in(gp, F_XH2_SERVER, w[i].pc, w[i].npc) ||
				    runs_in(gp, F_GRPC_SERVER, w[i].pc, w[i].npc)))
			w[i].pool = 1;
		if (!w[i].write && !w[i].deadline && runs_in(gp, F_RESP_BODY, w[i].pc, w[i].npc)) {
			w[i].bound_unseen = 1; /* (what bounds it is the readLoop's: below) */
			bodies++;
		}
	}
	if ((!loops && !bodies) || !gp->allgs || !gp->fn[F_ROUNDTRIP][0] || !gp->fn[F_WRITELOOP][0])
		return;
	uint64_t *gs;
	size_t n, ns = 0, ntimers = 0;
	unsigned char *h = all_headers(gp, &gs, &n);
	struct selecting *sel = calloc(n ? n : 1, sizeof *sel);
	uint64_t *timers = calloc(n ? n : 1, sizeof *timers); /* their creators */
	for (size_t i = 0; h && i < n; i++) {
		const unsigned char *gh = h + i * G_HEADER;
		struct selecting *s = &sel[ns];
		if (!parked(gp, gh, WAIT_SELECT) || frames(gp, gs[i], gh, s->pc, &s->npc) < 0)
			continue;
		if (runs_in(gp, F_REQ_TIMER, s->pc, s->npc)) { /* (creators from Go 1.21; before, 0) */
			timers[ntimers++] = gp->l->g_parent ? u64(gh, gp->l->g_parent) : 0;
			continue;
		}
		/* (a readLoop in a select: waiting for its response's body to be read) */
		s->fn = runs_in(gp, F_ROUNDTRIP, s->pc, s->npc)  ? F_ROUNDTRIP
			: runs_in(gp, F_WRITELOOP, s->pc, s->npc) ? F_WRITELOOP
			: runs_in(gp, F_READLOOP, s->pc, s->npc)  ? F_READLOOP
								   : -1;
		if (s->fn < 0)
			continue;
		s->goid = u64(gh, gp->l->g_goid);
		s->parent = gp->l->g_parent ? u64(gh, gp->l->g_parent) : 0;
		channels(gp, gh, s);
		s->gh = gh;
		s->g = gs[i];
		ns++;
	}
	/* the persistConns of the writeLoops a round trip, or a readLoop waiting for a body to be
	 * read, shares a channel with (closech): the connections with a request in flight; an idle
	 * pool costs no more reads */
	for (size_t k = 0; k < ns; k++)
		for (size_t j = 0; sel[k].fn == F_WRITELOOP && j < ns; j++)
			if ((sel[j].fn == F_ROUNDTRIP || sel[j].fn == F_READLOOP) && share(&sel[j], &sel[k])) {
				sel[k].holder = holder_of(gp, sel[k].gh, &sel[k]);
				break;
			}
	/* the writeLoops' persistConns, sorted */
	uint64_t *holders = calloc(ns + 1, sizeof *holders);
	size_t nh = 0;
	for (size_t k = 0; k < ns; k++)
		if (sel[k].holder)
			holders[nh++] = sel[k].holder;
	qsort(holders, nh, sizeof *holders, cmp_u64);
	for (size_t i = 0; i < nw && bodies; i++) {
		unsigned char bh[G_HEADER];
		if (w[i].write || w[i].deadline || !runs_in(gp, F_RESP_BODY, w[i].pc, w[i].npc) ||
		    peek(gp->pid, w[i].g, bh, sizeof bh) < 0)
			continue;
		/* a response's body read by the program: bounded by its request's context or Timeout,
		 * which its connection's readLoop watches (found through the persistConn both stacks
		 * hold, and the closech its writeLoop shares) */
		long at = stack_holds(gp, bh, holders, nh);
		const struct selecting *wl = at >= 0 ? writeloop_of(sel, ns, holders[at]) : NULL, *rl = NULL;
		for (size_t k = 0; wl && k < ns && !rl; k++)
			if (sel[k].fn == F_READLOOP && share(&sel[k], wl))
				rl = &sel[k];
		int cancels, dl = rl ? round_trip_ctx(gp, rl->gh, rl->g, &cancels) : -1;
		if (dl >= 0) { /* (known: bounded, or nothing can end the wait) */
			w[i].ctx_bounded = dl > 0 || cancels > 0;
			w[i].bound_unseen = 0;
		}
	}
	for (size_t i = 0; i < nw; i++) {
		unsigned char rh[G_HEADER];
		if (w[i].write || !runs_in(gp, F_READLOOP, w[i].pc, w[i].npc))
			continue;
		w[i].pool = w[i].idle_reader = 1; /* until a round trip is found waiting on it */
		if (peek(gp->pid, w[i].g, rh, sizeof rh) < 0)
			continue;
		/* its writeLoop: the one whose persistConn its stack holds (the receiver of readLoop and
		 * of persistConn.Read). Failing that, the next one started by the same goroutine
		 * (dialConn's starts both, the readLoop first); goroutine ids come from per-P batches,
		 * so when dialConn moved to another P between the two, the writeLoop's id is the lower
		 * and this finds none. */
		uint64_t parent = gp->l->g_parent ? u64(rh, gp->l->g_parent) : 0;
		long at = stack_holds(gp, rh, holders, nh);
		int held = at >= 0;
		const struct selecting *wl = held ? writeloop_of(sel, ns, holders[at]) : NULL, *rt = NULL;
		for (size_t k = 0; k < ns && !held; k++)
			if (sel[k].fn == F_WRITELOOP && !sel[k].holder && sel[k].goid > w[i].goid &&
			    sel[k].parent == parent && (!wl || sel[k].goid < wl->goid))
				wl = &sel[k];
		/* the round trip sharing a channel with it (the connection's closech) */
		for (size_t k = 0; wl && k < ns && !rt; k++)
			if (sel[k].fn == F_ROUNDTRIP && share(&sel[k], wl))
				rt = &sel[k];
		if (!rt)
			continue;
		w[i].pool = w[i].idle_reader = 0;
		w[i].caller_goid = rt->goid;
		w[i].call = call_of(rt);
		memcpy(w[i].caller_pc, rt->pc, rt->npc * sizeof *rt->pc);
		w[i].caller_npc = rt->npc;
		int bounded = round_trip_bounded(gp, rt, timers, ntimers), cancels, timed = 0;
		for (size_t k = 0; k < ntimers; k++)
			timed |= timers[k] == rt->goid;
		/* its context: a deadline there bounds it (a Client.Timeout from Go 1.21); none, but a
		 * context the program can cancel and no Client.Timeout (no request timer: in Go 1.19
		 * and 1.20, none anywhere, their creators unknown), and only the program's own logic
		 * ends the wait (an errgroup's other member failing) */
		int dl = round_trip_ctx(gp, rt->gh, rt->g, &cancels);
		if (dl > 0)
			bounded = 1;
		else if (dl == 0 && cancels && !timed && (gp->l->g_parent || !ntimers)) {
			bounded = 1;
			w[i].cancel_only = 1;
		}
		w[i].ctx_bounded = bounded > 0;
		w[i].bound_unseen = bounded < 0;
	}
	free(holders);
	free(timers);
	free(sel);
	free(h);
	free(gs);
}

/* A timerCtx's err (at 48 in a cancelCtx from Go 1.19 to 1.24), its interface words into err[2]
 * (nil while not done); 0, or -1 when it cannot be read. */
static int timer_err(const struct sl_goproc *gp, uint64_t timer, uint64_t err[2])
{
	unsigned char b[16];
	if (!timer || peek(gp->pid, timer + 48, b, sizeof b) < 0)
		return -1;
	err[0] = u64(b, 0);
	err[1] = u64(b, 8);
	return 0;
}

/* Whether a context (its interface words) has a deadline in its chain (ctx_deadline) that has not
 * yet passed: its timerCtx not done. */
static int ctx_live_deadline(const struct sl_goproc *gp, uint64_t tab, uint64_t data, uint64_t *timer)
{
	int cancelable;
	uint64_t err[2];
	*timer = 0;
	return ctx_deadline(gp, tab, data, &cancelable, timer) == 1 && timer_err(gp, *timer, err) == 0 && !err[0] &&
	       !err[1];
}

int sl_go_deadline_passed(const struct sl_goproc *gp, uint64_t timer)
{
	uint64_t err[2];
	if (!gp->deadline_err || timer_err(gp, timer, err) < 0)
		return -1;
	return err[0] == gp->deadline_err;
}

int sl_go_ctx_deadline(struct sl_goproc *gp, uint64_t timer, uint64_t *mono)
{
	/* timerCtx: its cancelCtx (64 bytes; 80 from Go 1.20, with its cause), the timer, then the
	 * deadline: wall (its top bit: a monotonic reading in ext), ext, loc */
	unsigned char t[16], sn[8];
	uint64_t at = timer + (gp->l->minor >= 20 ? 88 : 72);
	if (!timer || !gp->start_nano || peek(gp->pid, at, t, sizeof t) < 0 || !(u64(t, 0) >> 63))
		return -1;
	if (!gp->start_nano_v && peek(gp->pid, gp->start_nano, sn, sizeof sn) == 0)
		gp->start_nano_v = (int64_t)u64(sn, 0);
	int64_t ns = (int64_t)u64(t, 8) + gp->start_nano_v; /* runtime nanotime: CLOCK_MONOTONIC */
	if (!gp->start_nano_v || ns <= 0)
		return -1;
	*mono = (uint64_t)ns;
	return 0;
}

/* Whether the stack of the goroutine whose header is h holds a context with a deadline not yet
 * passed (ctx_live_deadline), within max bytes of its top (read into buf); its timerCtx into
 * *timer unless NULL. */
static int stack_deadline(const struct sl_goproc *gp, const unsigned char *h, unsigned char *buf, size_t max,
			  uint64_t *timer)
{
	size_t n = stack_top(gp, h, buf, max);
	uint64_t tm;
	for (size_t j = 0; j + 16 <= n; j += 8) {
		uint64_t tab = u64(buf, j), data = u64(buf, j + 8);
		if (data && !(data & 7) && ctx_type(gp, tab) < CTX_COUNT && ctx_live_deadline(gp, tab, data, timer ? timer : &tm))
			return 1;
	}
	return 0;
}

/* A read with no deadline on its socket, under a context that has one: a library that takes a
 * context (database/sql and its drivers, go-redis, gRPC) ends the wait when it expires, by a
 * deadline it sets on the connection then or by closing it from a goroutine watching the context,
 * neither of which the socket's deadline shows while it waits. The context is one the reading
 * goroutine's stack holds, as its callers keep it (an interface: a context type's itab, then its
 * data). A frame's slot may still hold an earlier call's context: one whose deadline has passed
 * (done) bounds nothing now, and a Background is passed over. At most 256 readers a look (8 KiB
 * of stack each); net/http's are known already (http_callers). */
static void ctx_readers(const struct sl_goproc *gp, struct sl_gowait *w, size_t nw)
{
	enum { STACK_LOOK = 8192, MAX_READERS = 256 };
	if (!gp->itab[CTX_TIMER])
		return; /* no context in the program can have a deadline */
	unsigned char *stack = malloc(STACK_LOOK), h[G_HEADER];
	size_t looked = 0;
	for (size_t i = 0; stack && i < nw && looked < MAX_READERS; i++) {
		if (w[i].write || w[i].deadline || w[i].ctx_bounded || w[i].bound_unseen || w[i].pool ||
		    w[i].caller_goid || peek(gp->pid, w[i].g, h, sizeof h) < 0)
			continue;
		looked++;
		w[i].ctx_bounded = stack_deadline(gp, h, stack, STACK_LOOK, NULL);
	}
	free(stack);
}

/* A gRPC client's connection is read by a goroutine of its own (http2Client.reader), which reads
 * whatever the server sends (settings, pings, other calls' frames): idle between calls, and no
 * sign of whether a call is answered. A call waiting for its response to begin (waitOnHeader) is
 * the program's: it makes the reader of its connection a call's wait, with the program's stack,
 * bounded when the call's context has a deadline (read off its stack as ctx_readers does). Its
 * connection: the only one being read, or the one whose reader's stack holds a word of the object
 * that holds the call's channels (the Stream, whose ct is the reader's http2Client), when exactly
 * one does. */
static void grpc_callers(const struct sl_goproc *gp, struct sl_gowait *w, size_t nw)
{
	enum { STACK_LOOK = 8192, OBJECT = 512 };
	size_t nr = 0, last = 0;
	for (size_t i = 0; i < nw; i++)
		if (!w[i].write && runs_in(gp, F_GRPC_READER, w[i].pc, w[i].npc))
			nr++, last = i;
	if (!nr || !gp->allgs || !gp->fn[F_GRPC_WAITHDR][0])
		return;
	uint64_t *gs;
	size_t n;
	unsigned char *h = all_headers(gp, &gs, &n), *stack = malloc(STACK_LOOK), rh[G_HEADER], obj[OBJECT];
	struct selecting s;
	for (size_t i = 0; h && stack && i < n; i++) {
		const unsigned char *gh = h + i * G_HEADER;
		memset(&s, 0, sizeof s);
		if (!parked(gp, gh, WAIT_SELECT) || frames(gp, gs[i], gh, s.pc, &s.npc) < 0 ||
		    !runs_in(gp, F_GRPC_WAITHDR, s.pc, s.npc))
			continue;
		long r = nr == 1 ? (long)last : -1;
		uint64_t holder, words[OBJECT / 8];
		channels(gp, gh, &s);
		if (r < 0 && (holder = holder_of(gp, gh, &s)) && peek(gp->pid, holder, obj, sizeof obj) == 0) {
			for (size_t k = 0; k < OBJECT / 8; k++)
				words[k] = u64(obj, k * 8);
			qsort(words, OBJECT / 8, sizeof *words, cmp_u64);
			for (size_t k = 0; k < nw && r != -2; k++)
				if (!w[k].write && runs_in(gp, F_GRPC_READER, w[k].pc, w[k].npc) &&
				    peek(gp->pid, w[k].g, rh, sizeof rh) == 0 && stack_holds(gp, rh, words, OBJECT / 8) >= 0)
					r = r < 0 ? (long)k : -2;
		}
		if (r < 0 || w[r].caller_goid)
			continue; /* not told apart, or another call on it was found first */
		w[r].pool = w[r].idle_reader = 0;
		w[r].grpc_call = 1;
		w[r].caller_goid = u64(gh, gp->l->g_goid);
		w[r].call = call_of(&s);
		memcpy(w[r].caller_pc, s.pc, s.npc * sizeof *s.pc);
		w[r].caller_npc = s.npc;
		w[r].ctx_bounded = w[r].deadline == 0 && stack_deadline(gp, gh, stack, STACK_LOOK, &w[r].ctx_timer);
	}
	free(stack);
	free(h);
	free(gs);
}

/* crypto/tls's handshake under a context that can end (a dialer's timeout, a request's context)
 * starts an "interrupter" goroutine that closes the connection when the context ends: a read in
 * such a handshake is bounded though the socket has no deadline. Paired by the creator's id (Go
 * 1.21+); without it, only when every handshake waiting has an interrupter. */
static void tls_bounded(const struct sl_goproc *gp, struct sl_gowait *w, size_t nw)
{
	size_t hs = 0, ni = 0;
	for (size_t i = 0; i < nw; i++)
		hs += !w[i].write && !w[i].deadline && runs_in(gp, F_TLS_HANDSHAKE, w[i].pc, w[i].npc);
	if (!hs || !gp->allgs || !gp->fn[F_TLS_INTERRUPT][0])
		return;
	uint64_t *gs, *parents;
	size_t n;
	unsigned char *h = all_headers(gp, &gs, &n);
	parents = calloc(n ? n : 1, sizeof *parents);
	for (size_t i = 0; h && i < n; i++) {
		const unsigned char *gh = h + i * G_HEADER;
		uint64_t pc[SL_MAX_FRAMES];
		uint32_t k;
		if (parked(gp, gh, WAIT_SELECT) && frames(gp, gs[i], gh, pc, &k) == 0 &&
		    runs_in(gp, F_TLS_INTERRUPT, pc, k))
			parents[ni++] = gp->l->g_parent ? u64(gh, gp->l->g_parent) : 0;
	}
	for (size_t i = 0; i < nw; i++) {
		if (w[i].write || w[i].deadline || !runs_in(gp, F_TLS_HANDSHAKE, w[i].pc, w[i].npc))
			continue;
		for (size_t k = 0; k < ni && !w[i].ctx_bounded; k++)
			w[i].ctx_bounded = parents[k] ? parents[k] == w[i].goid : ni >= hs;
	}
	free(parents);
	free(h);
	free(gs);
}

/* The epoll fds of the process. */
static size_t epoll_fds(pid_t pid, int *out, size_t max)
{
	char dir[64], link[96], target[64];
	size_t n = 0;
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)) && n < max) {
		snprintf(link, sizeof link, "%s/%.20s", dir, de->d_name);
		ssize_t k = readlink(link, target, sizeof target - 1);
		if (k > 0 && (target[k] = 0, !strcmp(target, "anon_inode:[eventpoll]")))
			out[n++] = atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static void add(struct sl_gowait **v, size_t *n, size_t *cap, const struct sl_gowait *w)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*v = realloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = *w;
}


/* One fd epoll watches for the netpoller, and what its descriptor says. */
struct watched {
	int fd;
	uint64_t data, pd;
	unsigned char *d;            /* the descriptor's bytes */
	char ok;
};

/* The netpoller's registrations: every "tfd" line of the epoll fds' fdinfo. */
static struct watched *registrations(struct sl_goproc *gp, size_t *n, char *why, size_t len)
{
	struct watched *v = NULL;
	size_t cap = 0;
	*n = 0;
	if (!gp->neps)
		gp->neps = epoll_fds(gp->pid, gp->eps, 8);
	for (size_t e = 0; e < gp->neps; e++) {
		char path[64], line[256];
		snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)gp->pid, gp->eps[e]);
		FILE *f = fopen(path, "re");
		if (!f) {
			snprintf(why, len, "cannot read %s: %s", path, strerror(errno));
			free(v);
			gp->neps = 0; /* look for them again next time */
			return NULL;
		}
		while (fgets(line, sizeof line, f)) {
			int tfd;
			unsigned events;
			unsigned long long data;
			if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				v = realloc(v, cap * sizeof *v);
			}
			v[(*n)++] = (struct watched){tfd, data, 0, NULL, 0};
		}
		fclose(f);
	}
	return v;
}

int sl_go_waits(struct sl_goproc *gp, struct sl_gowait **out, size_t *n, char *why, size_t len)
{
	const struct layout *l = gp->l;
	size_t nr, cap = 0;
	*out = NULL;
	*n = 0;
	struct watched *r = registrations(gp, &nr, why, len);
	if (!r)
		return nr ? -1 : 0;
	/* every descriptor in one pass */
	uint64_t *addr = calloc(2 * nr + 1, sizeof *addr);
	size_t *lens = calloc(2 * nr + 1, sizeof *lens);
	unsigned char **bufs = malloc((2 * nr + 1) * sizeof *bufs), *pds = scratch(gp, SCRATCH_PDS, nr * l->pd_size + 1);
	char *ok = calloc(2 * nr + 1, 1);
	for (size_t i = 0; i < nr; i++) {
		r[i].pd = l->tagged ? (uint64_t)(((int64_t)r[i].data >> 19) << 3) : r[i].data;
		addr[i] = r[i].pd;
		lens[i] = l->pd_size;
		bufs[i] = r[i].d = pds + i * l->pd_size;
	}
	batch_read(gp->pid, nr, addr, lens, bufs, ok);
	/* the goroutines parked on them: live descriptors only (not the runtime's own wakeup fd) */
	struct cand { size_t r; int dir; uint64_t g; } *c = malloc((2 * nr + 1) * sizeof *c);
	size_t nc = 0;
	for (size_t i = 0; i < nr; i++) {
		const unsigned char *pd = r[i].d;
		if (!ok[i] || u64(pd, l->pd_self) != r[i].pd || u64(pd, 8) != (uint64_t)r[i].fd ||
		    (l->tagged && (u64(pd, l->pd_fdseq) & 0x7ffff) != (r[i].data & 0x7ffff)))
			continue;
		for (int dir = 0; dir < 2; dir++) {
			uint64_t g = u64(pd, dir ? l->pd_wg : l->pd_rg);
			if (g > 2) /* 0: nobody, 1: ready, 2: about to park */
				c[nc++] = (struct cand){i, dir, g};
		}
	}
	unsigned char *hs = scratch(gp, SCRATCH_HEADERS, nc * G_HEADER + 1);
	memset(ok, 0, 2 * nr + 1);
	for (size_t i = 0; i < nc; i++) {
		addr[i] = c[i].g;
		lens[i] = G_HEADER;
		bufs[i] = hs + i * G_HEADER;
	}
	batch_read(gp->pid, nc, addr, lens, bufs, ok);
	/* those parked in IO wait, with their frames */
	size_t np = 0;
	uint64_t *pg = malloc((nc + 1) * sizeof *pg);
	unsigned char **ph = malloc((nc + 1) * sizeof *ph);
	size_t *which = malloc((nc + 1) * sizeof *which);
	for (size_t i = 0; i < nc; i++)
		if (ok[i] && parked(gp, hs + i * G_HEADER, WAIT_IO)) {
			pg[np] = c[i].g;
			ph[np] = hs + i * G_HEADER;
			which[np++] = i;
		}
	struct sl_gowait *w = calloc(np + 1, sizeof *w);
	char *moved = calloc(np + 1, 1);
	batch_frames(gp, np, pg, ph, w, moved);
	for (size_t k = 0; k < np; k++) {
		size_t i = which[k];
		const unsigned char *pd = r[c[i].r].d;
		if (moved[k])
			continue; /* it moved while we read */
		w[k].g = c[i].g;
		w[k].goid = u64(ph[k], l->g_goid);
		w[k].fd = r[c[i].r].fd;
		w[k].write = c[i].dir;
		w[k].deadline = (int64_t)u64(pd, c[i].dir ? l->pd_wd : l->pd_rd);
		w[k].seq = u64(pd, c[i].dir ? l->pd_wseq : l->pd_rseq);
		add(out, n, &cap, &w[k]);
	}
	free(moved);
	free(w);
	free(which);
	free(ph);
	free(pg);
	free(c);
	free(ok);
	free(bufs);
	free(lens);
	free(addr);
	free(r);
	http_callers(gp, *out, *n);
	tls_bounded(gp, *out, *n);
	grpc_callers(gp, *out, *n);
	ctx_readers(gp, *out, *n);
	return 0;
}

/* ---- the goroutine a connection is dialed for ---- */

int sl_go_dialing(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n)
{
	return runs_in(gp, F_DIALCONN, pcs, n) ? SL_GO_DIAL_HTTP : runs_in(gp, F_GRPC_DIAL, pcs, n) ? SL_GO_DIAL_GRPC : 0;
}

int sl_go_tls_closing(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n)
{
	return runs_in(gp, F_TLS_CLOSE, pcs, n);
}

/* The index in all (n headers) of the goroutine whose id is goid, or n. */
static size_t by_goid(const struct sl_goproc *gp, const unsigned char *all, size_t n, uint64_t goid)
{
	size_t i = 0;
	while (i < n && u64(all + i * G_HEADER, gp->l->g_goid) != goid)
		i++;
	return i;
}

/* Candidates for a waiting goroutine (Go before 1.21 keeps no creator): one is the answer, and so
 * are several whose stacks are the same, call for call (goroutines a loop started at one line:
 * whichever it is, the line is that line). Keeps the first in pcs; 1 while still an answer. */
#define SAME_MAX 64
static int candidate(int *seen, uint64_t *pcs, uint32_t *npc, const uint64_t *pc, uint32_t k)
{
	if (!(*seen)++) {
		memcpy(pcs, pc, k * sizeof *pc);
		*npc = k;
		return 1;
	}
	return *seen <= SAME_MAX && k == *npc && !memcmp(pcs, pc, k * sizeof *pc);
}

int sl_go_asker(struct sl_goproc *gp, int dialing, uint64_t g, uint64_t *pcs, uint32_t *npc)
{
	unsigned char h[G_HEADER];
	uint64_t parent = 0, *gs;
	size_t n;
	int grpc = dialing == SL_GO_DIAL_GRPC;
	if (!gp->allgs || !gp->fn[grpc ? F_GRPC_PICK : F_GETCONN][0] || peek(gp->pid, g, h, sizeof h) < 0)
		return -1;
	/* (gRPC's dialer is started by the connection's own machinery, not by the call) */
	if (gp->l->g_parent && !grpc)
		parent = u64(h, gp->l->g_parent);
	unsigned char *all = all_headers(gp, &gs, &n);
	int found = 0, one = 1;
	for (size_t i = 0; all && i < n && one; i++) {
		const unsigned char *gh = all + i * G_HEADER;
		uint64_t pc[SL_MAX_FRAMES];
		uint32_t k;
		if ((parent && u64(gh, gp->l->g_goid) != parent) || !parked(gp, gh, WAIT_SELECT) ||
		    frames(gp, gs[i], gh, pc, &k) < 0 ||
		    !(grpc ? runs_in(gp, F_GRPC_PICK, pc, k) || runs_in(gp, F_GRPC_DIALCTX, pc, k) : runs_in(gp, F_GETCONN, pc, k)))
			continue;
		/* with the creator's id (Go 1.21+), the one; without, the one, or the same many */
		one = candidate(&found, pcs, npc, pc, k);
		if (parent)
			break;
	}
	free(all);
	free(gs);
	return found && one ? 0 : -1;
}

/* ---- the goroutine a name is looked up for ---- */

int sl_go_resolving(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n)
{
	return runs_in(gp, F_TRYONENAME, pcs, n);
}

static int waiting(const struct sl_goproc *gp, const unsigned char *h)
{
	uint32_t status;
	memcpy(&status, h + gp->l->g_status, 4);
	return (status & ~(uint32_t)G_SCAN) == G_WAITING;
}

int sl_go_lookup_asker(struct sl_goproc *gp, uint64_t g, uint64_t *pcs, uint32_t *npc, uint64_t *who)
{
	*who = 0;
	unsigned char h[G_HEADER];
	uint64_t *gs, pc[SL_MAX_FRAMES];
	uint32_t k;
	size_t n;
	if (!gp->allgs || !gp->fn[F_GOLOOKUP][0] || peek(gp->pid, g, h, sizeof h) < 0)
		return -1;
	unsigned char *all = all_headers(gp, &gs, &n);
	int found = -1;
	if (all && gp->l->g_parent) {
		/* up the creators (Go 1.21+): the question's waits in goLookupIPCNAMEOrder; above it,
		 * for a shared lookup, the program's in lookupIPAddr */
		uint64_t want = u64(h, gp->l->g_parent);
		for (int up = 0; up < 2 && want; up++) {
			size_t i = by_goid(gp, all, n, want);
			if (i == n || frames(gp, gs[i], all + i * G_HEADER, pc, &k) < 0)
				break;
			int ip = runs_in(gp, F_LOOKUPIP, pc, k);
			if (ip || (!up && runs_in(gp, F_GOLOOKUP, pc, k))) {
				memcpy(pcs, pc, k * sizeof *pc);
				*npc = k;
				*who = gs[i];
				found = 0;
			}
			if (ip)
				break;
			want = u64(all + i * G_HEADER, gp->l->g_parent);
		}
	} else if (all) {
		/* Go 1.19 and 1.20 keep no creator: the one goroutine waiting in a lookup, if only one
		 * does (one in lookupIPAddr is the program's; the one in goLookupIPCNAMEOrder then is
		 * singleflight's helper) */
		int in_ip = 0, in_go = 0, ip_one = 1, go_one = 1;
		uint64_t gopc[SL_MAX_FRAMES], ip_g = 0, go_g = 0;
		uint32_t gok = 0;
		for (size_t i = 0; i < n; i++) {
			const unsigned char *gh = all + i * G_HEADER;
			if (gs[i] == g || !waiting(gp, gh) || frames(gp, gs[i], gh, pc, &k) < 0)
				continue;
			if (runs_in(gp, F_LOOKUPIP, pc, k)) {
				ip_one &= candidate(&in_ip, pcs, npc, pc, k);
				ip_g = gs[i];
			} else if (runs_in(gp, F_GOLOOKUP, pc, k)) {
				go_one &= candidate(&in_go, gopc, &gok, pc, k);
				go_g = gs[i];
			}
		}
		if (in_ip && ip_one) {
			found = 0;
			*who = ip_g;
		} else if (!in_ip && in_go && go_one) {
			memcpy(pcs, gopc, gok * sizeof *gopc);
			*npc = gok;
			*who = go_g;
			found = 0;
		}
	}
	free(all);
	free(gs);
	return found;
}

/* ---- the goroutine a thread in C code runs for ---- */

int sl_go_cgo_resolving(const struct sl_goproc *gp, const uint64_t *pcs, uint32_t n)
{
	return runs_in(gp, F_CGO_GETADDRINFO, pcs, n);
}

int sl_go_cgo_asker(struct sl_goproc *gp, uint64_t g, uint64_t *pcs, uint32_t *npc)
{
	unsigned char h[G_HEADER];
	uint64_t *gs = NULL, pc[SL_MAX_FRAMES];
	uint32_t k;
	size_t n;
	if (!gp->allgs || peek(gp->pid, g, h, sizeof h) < 0)
		return -1;
	unsigned char *all = all_headers(gp, &gs, &n);
	int found = -1;
	if (all && gp->l->g_parent) {
		/* up the creators, past singleflight's helper (a lookup shared by net.Dial's) */
		uint64_t want = u64(h, gp->l->g_parent);
		for (int up = 0; up < 3 && want && found < 0; up++) {
			size_t i = by_goid(gp, all, n, want);
			if (i == n || frames(gp, gs[i], all + i * G_HEADER, pc, &k) < 0)
				break;
			if (!runs_in(gp, F_SINGLEFLIGHT, pc, k)) {
				memcpy(pcs, pc, k * sizeof *pc);
				*npc = k;
				found = 0;
			}
			want = u64(all + i * G_HEADER, gp->l->g_parent);
		}
	} else if (all) {
		/* Go 1.19: the one goroutine waiting in cgoLookupIP, or the same many */
		int seen = 0, one = 1;
		for (size_t i = 0; i < n && one; i++) {
			const unsigned char *gh = all + i * G_HEADER;
			if (gs[i] == g || !waiting(gp, gh) || frames(gp, gs[i], gh, pc, &k) < 0 ||
			    !runs_in(gp, F_CGO_LOOKUPIP, pc, k))
				continue;
			one = candidate(&seen, pcs, npc, pc, k);
		}
		found = seen && one ? 0 : -1;
	}
	free(all);
	free(gs);
	return found;
}

int sl_go_cgo_caller(struct sl_goproc *gp, uint64_t rsp, uint64_t *pcs, uint32_t *npc, uint64_t *g)
{
	uint64_t *gs = NULL;
	size_t n;
	unsigned char *all = gp->allgs ? all_headers(gp, &gs, &n) : NULL;
	int found = -1;
	for (size_t i = 0; all && i < n && found < 0; i++) {
		const unsigned char *gh = all + i * G_HEADER;
		uint32_t status;
		memcpy(&status, gh + gp->l->g_status, 4);
		uint64_t m = u64(gh, 48), g0, bounds[2]; /* g.m; m.g0 at 0; a g's stack bounds at 0 and 8 */
		if ((status & ~(uint32_t)G_SCAN) != G_SYSCALL || !m || peek(gp->pid, m, &g0, 8) < 0 || !g0 ||
		    peek(gp->pid, g0, bounds, sizeof bounds) < 0 || rsp < bounds[0] || rsp >= bounds[1])
			continue;
		/* its M's system stack holds the thread's: asmcgocall saved where the goroutine was */
		if (frames(gp, gs[i], gh, pcs, npc) == 0) {
			*g = gs[i];
			found = 0;
		}
	}
	free(all);
	free(gs);
	return found;
}

uint64_t sl_go_id(const struct sl_goproc *gp, uint64_t g)
{
	unsigned char h[G_HEADER];
	return peek(gp->pid, g, h, sizeof h) == 0 ? u64(h, gp->l->g_goid) : 0;
}
