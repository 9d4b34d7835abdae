/* diag.c - findings, and grouping of identical ones by call site. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rules/rules.h"

void sl_diag_init(struct sl_diag *d, enum sl_kind k, enum sl_severity sev, const struct sl_proc *p, int fd)
{
	memset(d, 0, sizeof *d);
	d->kind = k;
	d->sev = sev;
	d->proc = p;
	d->fd = fd;
	d->count = 1;
}

const char *sl_diag_stack_label(const struct sl_diag *d)
{
	return d->stack_label ? d->stack_label : sl_kind(d->kind)->stack_label;
}

const char *sl_diag_site_label(const struct sl_diag *d)
{
	return d->site_label ? d->site_label : sl_kind(d->kind)->site_label;
}

uint32_t sl_diag_conn(struct sl_diag *d, const struct sl_conn *c, enum sl_kind k, enum sl_severity sev)
{
	sl_diag_init(d, k, sev, c->proc, c->s->fd);
	d->conn_id = c->s->conn_id;
	d->when_ns = c->end_ns;
	sl_addr_format(&c->s->peer, d->peer, sizeof d->peer);
	/* grouped by call site and role, never by peer address: a test suite opens a listener on a
	 * fresh port per test, and clients come from fresh ports; the peers are listed instead */
	snprintf(d->group_peer, sizeof d->group_peer, "%s", sl_role_name(c->s->role));
	const char *label = sl_kind(k)->stack_label;
	if (c->s->role == SL_ROLE_SERVER && c->img && (c->img->h.flags & SL_HDR_JS_ORIGINS))
		d->stack_label = "listener at"; /* Node.js: accepted from the event loop; the listener's stack */
	else if (c->s->role == SL_ROLE_SERVER && label && !strcmp(label, "connected at"))
		d->stack_label = "accepted at"; /* a server's connection began at its accept */
	else if (c->s->role == SL_ROLE_INHERITED && !sl_conn_stack(c->s) && label)
		d->stack_label = "inherited"; /* open when the program started: its parent made it */
	return sl_conn_stack(c->s);
}

void sl_diag_fact(struct sl_diag *d, const char *name, double value)
{
	if (d->nevidence < SL_EVIDENCE_MAX) {
		d->evidence[d->nevidence].name = name;
		d->evidence[d->nevidence].value = value;
		d->nevidence++;
	}
}

static uint64_t mix(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* A frame as it is shown: function and line, or module and offset when there are no symbols. */
uint64_t sl_frames_key(uint64_t h, const struct sl_frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h = mix(h, f[i].function, strlen(f[i].function));
		h = mix(h, f[i].file, strlen(f[i].file));
		h = mix(h, &f[i].line, sizeof f[i].line);
		h = mix(h, f[i].module, strlen(f[i].module));
		if (!f[i].function[0]) /* unnamed: where it is, in its module or in memory */
			h = mix(h, f[i].module[0] ? &f[i].offset : &f[i].addr, sizeof f[i].offset);
	}
	return h;
}

/* The frames a call site is known by: those shown; for JavaScript, the call and its caller (the
 * frames beyond are whichever timer, promise or event ran it, which do not make it another site). */
static size_t key_frames(const struct sl_frame *f, size_t n)
{
	size_t k = n < SL_SHOWN_FRAMES ? n : SL_SHOWN_FRAMES;
	return n && !strcmp(f[0].module, "js") && k > 2 ? 2 : k;
}

/* Findings group when kind, errno, peer group and the frames a call site is known by are the same. */
static uint64_t group_key(const struct sl_diag *d)
{
	uint64_t h = 1469598103934665603ull;
	h = mix(h, &d->kind, sizeof d->kind);
	h = mix(h, &d->err, sizeof d->err);
	h = mix(h, d->group_peer, strlen(d->group_peer));
	h = sl_frames_key(h, d->stack, key_frames(d->stack, d->nstack));
	h = mix(h, "|", 1);
	h = sl_frames_key(h, d->site, key_frames(d->site, d->nsite));
	return h | 1;
}

/* A frame of Go's own runtime and standard library (under GOROOT/src). */
/* A frame of Go's standard library, told by its function's package path (whose first element has
 * no dot: "net/http.(*Transport).dial", not "github.com/x/y.F" nor "main.f"), so -trimpath builds
 * are recognised too; or by a file under GOROOT. */
static int goroot_frame(const struct sl_frame *f)
{
	size_t fl = strlen(f->file);
	if (fl > 3 && (!strcmp(f->file + fl - 3, ".go") || !strcmp(f->file + fl - 2, ".s")) && f->function[0]) {
		const char *slash = strrchr(f->function, '/');
		const char *pkg_end = strchr(slash ? slash : f->function, '.');
		size_t first = strcspn(f->function, "/.");
		if (pkg_end && strncmp(f->function, "main.", 5) && !memchr(f->function, '.', first) &&
		    f->function[first] != 0 && strncmp(f->function, "command-line-arguments.", 23))
			return 1;
		if (pkg_end)
			return 0;
	}
	const char *src = strstr(f->file, "/src/");
	return src && (strstr(f->file, "/go/src/") || (strstr(f->file, "/go-1.") && src > strstr(f->file, "/go-1.")));
}

/* Go's own layers under a network call: the runtime, the poller, the net package's plumbing. */
static int go_call_layer(const struct sl_frame *f)
{
	static const char *const pkgs[] = {"runtime.", "runtime/", "internal/", "syscall.", "net.", "bufio.", "io."};
	for (size_t i = 0; i < sizeof pkgs / sizeof pkgs[0]; i++)
		if (!strncmp(f->function, pkgs[i], strlen(pkgs[i])))
			return 1;
	return 0;
}

/* A frame of the C library's system call wrappers in a statically linked program. */
static int libc_wrapper_frame(const struct sl_frame *f)
{
	static const char *const names[] = {"socket", "connect", "accept", "accept4", "bind", "listen", "close",
					    "setsockopt", "getsockopt", "shutdown", "socketpair", "dup", "dup2",
					    "dup3", "fcntl", "fcntl64", "syscall"};
	if (!strncmp(f->function, "__", 2) || !strncmp(f->file, "../sysdeps/", 11))
		return 1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(f->function, names[i]))
			return 1;
	return 0;
}

/* A language frame of the runtime's own library: Python's standard library (a frozen module, or
 * one under .../lib/python3.N/ that is neither an installed package nor CPython's test suite),
 * the JDK's classes, Node.js's built-in modules. */
static int runtime_library_frame(const struct sl_frame *f)
{
	static const char *const jdk[] = {"java.", "javax.", "jdk.", "sun.", "com.sun.", "(frames left out)"};
	if (!strcmp(f->module, "java")) {
		for (size_t i = 0; i < sizeof jdk / sizeof jdk[0]; i++)
			if (!strncmp(f->function, jdk[i], strlen(jdk[i])))
				return 1;
		return 0;
	}
	if (!strcmp(f->module, "js"))
		return !strncmp(f->file, "node:", 5) || !f->file[0] || strstr(f->file, "/socklens-node.js");
	const char *lib = strstr(f->file, "/lib/python3");
	return !strncmp(f->file, "<frozen ", 8) || (lib && !strstr(lib, "-packages/") && !strstr(lib, "/test/"));
}

/* A stack taken by the tracer begins inside the system call layer: Go's syscall and runtime
 * packages (and the net package that called them) or libc's wrappers; one with Python frames
 * begins in the interpreter's C code and the standard library's modules. What a person changes
 * is the first frame of the program's own code, so the frames before it are dropped. */
static size_t skip_call_layer(const struct sl_image *img, const struct sl_frame *f, size_t n)
{
	size_t i = 0;
	if (img && (img->h.flags & (SL_HDR_PY_FRAMES | SL_HDR_JAVA_FRAMES | SL_HDR_V8_MAP | SL_HDR_JS_ORIGINS))) {
		while (i < n && (f[i].addr || runtime_library_frame(&f[i])))
			i++;
		if (i < n)
			return i;
		for (i = 0; i < n && f[i].addr; i++) /* all library code: from the first language frame */
			;
		return i < n ? i : 0;
	}
	if (!img || !(img->h.flags & SL_HDR_PTRACE))
		return 0;
	while (i < n && goroot_frame(&f[i]))
		i++;
	if (i > 0 && i < n)
		return i;
	if (i > 0) { /* all standard library (net/http's own goroutines): from above its plumbing */
		for (i = 0; i < n && go_call_layer(&f[i]); i++)
			;
		return i < n ? i : 0;
	}
	while (i + 1 < n && libc_wrapper_frame(&f[i]))
		i++;
	return i;
}

struct sl_frame *sl_stack_frames(const struct sl_image *img, uint32_t id, size_t *n)
{
	struct sl_frame tmp[SL_MAX_FRAMES];
	size_t got = img && id ? sl_image_symbolize_stack(img, id, tmp, SL_MAX_FRAMES) : 0;
	*n = 0;
	if (!got)
		return NULL;
	*n = sl_frames_trim(tmp, got);
	size_t skip = skip_call_layer(img, tmp, *n);
	*n -= skip;
	if (!*n)
		return NULL;
	struct sl_frame *f = malloc(*n * sizeof *f);
	memcpy(f, tmp + skip, *n * sizeof *f);
	return f;
}

static struct sl_frame *frames_of_site(const struct sl_image *img, uint64_t site, size_t *n)
{
	struct sl_frame tmp[SL_SHOWN_FRAMES];
	*n = img && site ? sl_symbolize(&img->space, site, tmp, SL_SHOWN_FRAMES) : 0;
	if (!*n)
		return NULL;
	struct sl_frame *f = malloc(*n * sizeof *f);
	memcpy(f, tmp, *n * sizeof *f);
	return f;
}

void sl_note_pid(int *pids, unsigned *n, int pid)
{
	for (unsigned i = 0; i < *n && i < SL_LIST_MAX; i++)
		if (pids[i] == pid)
			return;
	if (*n < SL_LIST_MAX)
		pids[*n] = pid;
	(*n)++;
}

void sl_note_peer(char (*peers)[160], unsigned *n, const char *peer)
{
	if (!peer[0])
		return;
	for (unsigned i = 0; i < *n && i < SL_LIST_MAX; i++)
		if (!strcmp(peers[i], peer))
			return;
	if (*n < SL_LIST_MAX)
		snprintf(peers[*n], sizeof peers[0], "%s", peer);
	(*n)++;
}

static void index_grow(struct sl_diags *ds)
{
	size_t cap = ds->index_cap ? ds->index_cap * 2 : 64;
	size_t *ix = calloc(cap, sizeof *ix);
	for (size_t i = 0; i < ds->n; i++) {
		size_t h = ds->v[i].key & (cap - 1);
		while (ix[h])
			h = (h + 1) & (cap - 1);
		ix[h] = i + 1;
	}
	free(ds->index);
	ds->index = ix;
	ds->index_cap = cap;
}

static void fold(struct sl_diag *g, struct sl_diag *d)
{
	g->count += d->count;
	if (d->wall_ns > g->wall_ns)
		g->wall_ns = d->wall_ns;
	if (d->sev > g->sev)
		g->sev = d->sev;
	sl_note_pid(g->pids, &g->npids, d->proc ? d->proc->pid : 0);
	sl_note_peer(g->peers, &g->npeers, d->peer);
	if (d->worst_ns > g->worst_ns) { /* the worst instance is the one shown, header and summary alike */
		g->worst_ns = d->worst_ns;
		g->proc = d->proc;
		g->fd = d->fd;
		g->conn_id = d->conn_id;
		memcpy(g->peer, d->peer, sizeof g->peer);
		memcpy(g->summary, d->summary, sizeof g->summary);
		memcpy(g->evidence, d->evidence, sizeof g->evidence);
		g->nevidence = d->nevidence;
	}
	free(d->stack);
	free(d->site);
}

/* The wall-clock time of monotonic time t in img's process (now, for t == 0). */
static uint64_t wall_of(const struct sl_image *img, uint64_t t)
{
	struct timespec ts;
	if (t && img && t >= img->h.start_mono_ns)
		return img->h.start_real_ns + (t - img->h.start_mono_ns);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void count_peer(struct sl_diags *ds, const struct sl_diag *d)
{
	char peer[160];
	if (!strncmp(d->group_peer, "server", 6))
		sl_peer_host(d->peer, peer, sizeof peer);
	else
		snprintf(peer, sizeof peer, "%s", d->peer);
	size_t i;
	for (i = 0; i < ds->npc; i++)
		if (ds->pc[i].kind == d->kind && !strcmp(ds->pc[i].peer, peer))
			break;
	if (i == ds->npc && ds->npc == SL_PEER_COUNTS) {
		for (i = 0; i < ds->npc; i++)
			if (ds->pc[i].kind == d->kind && !strcmp(ds->pc[i].peer, "other"))
				break;
		if (i == ds->npc)
			i = ds->npc - 1; /* the table is full of other kinds: the last pair takes it */
		snprintf(peer, sizeof peer, "other");
	}
	if (i == ds->npc) {
		if (ds->npc == ds->cappc) {
			ds->cappc = ds->cappc ? ds->cappc * 2 : 16;
			ds->pc = realloc(ds->pc, ds->cappc * sizeof *ds->pc);
		}
		ds->pc[i].kind = d->kind;
		snprintf(ds->pc[i].peer, sizeof ds->pc[i].peer, "%s", peer);
		ds->pc[i].n = 0;
		ds->npc++;
	}
	ds->pc[i].n += d->count;
}

void sl_diags_add(struct sl_diags *ds, const struct sl_image *img, struct sl_diag *d, uint32_t stack, uint64_t site)
{
	if (ds->since_ns && d->when_ns && d->when_ns < ds->since_ns)
		return; /* before the window asked for */
	d->wall_ns = wall_of(img, d->when_ns);
	count_peer(ds, d);
	d->stack = sl_stack_frames(img, stack, &d->nstack);
	if (d->site_stack) {
		d->site = sl_stack_frames(img, d->site_stack, &d->nsite);
		if (d->nsite > SL_SHOWN_FRAMES)
			d->nsite = SL_SHOWN_FRAMES;
	} else {
		d->site = frames_of_site(img, site, &d->nsite);
	}
	d->key = group_key(d);
	ds->added += d->count;
	if (ds->n * 2 >= ds->index_cap)
		index_grow(ds);
	size_t h = d->key & (ds->index_cap - 1);
	for (; ds->index[h]; h = (h + 1) & (ds->index_cap - 1)) {
		struct sl_diag *g = &ds->v[ds->index[h] - 1];
		if (g->key == d->key && g->kind == d->kind && g->err == d->err && !strcmp(g->group_peer, d->group_peer)) {
			fold(g, d);
			return;
		}
	}
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 16;
		ds->v = realloc(ds->v, ds->cap * sizeof *ds->v);
	}
	unsigned count = d->count;
	d->npids = 0;
	d->npeers = 0;
	sl_note_pid(d->pids, &d->npids, d->proc ? d->proc->pid : 0);
	sl_note_peer(d->peers, &d->npeers, d->peer);
	d->count = count;
	ds->v[ds->n] = *d;
	ds->index[h] = ++ds->n;
}

static int cmp_diag(const void *a, const void *b)
{
	const struct sl_diag *x = a, *y = b;
	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	int px = x->proc ? x->proc->pid : 0, py = y->proc ? y->proc->pid : 0;
	if (px != py)
		return px < py ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

void sl_diags_sort(struct sl_diags *ds)
{
	if (ds->n)
		qsort(ds->v, ds->n, sizeof *ds->v, cmp_diag);
	free(ds->index); /* positions moved: the index is for adding, which is over */
	ds->index = NULL;
	ds->index_cap = 0;
}

void sl_diags_release(struct sl_diags *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		free(ds->v[i].stack);
		free(ds->v[i].site);
	}
	free(ds->v);
	free(ds->index);
	free(ds->pc);
	memset(ds, 0, sizeof *ds);
}

