/* jitmap.c - JavaScript frames named from V8's perf map (model/perfmap.c finds the map of a
 * process, keeps a copy beside its log, and says whether its frames could be read).
 *
 * A Node.js process under socklens has V8 write /tmp/perf-<pid>.map (the shim turns it on, see
 * shim/langrt.c): a line per function V8 generated code for, "START SIZE NAME" in hex, with NAME
 * like "JS:~fetchStatus /app/client.js:3:21" (Node 20; Node 18 says "LazyCompile:") where the
 * marker says interpreted (~), baseline (^), Maglev (+) or optimized (*) and the position is
 * where the function starts in its file. The file outlives the process but not a later process
 * given the same pid, and it lands in /tmp whatever the run directory: socklens run copies the
 * lines its stacks need beside the log (p<pid>.<seq>.v8map) when the program ends, and removes
 * the map when socklens is why it was written.
 *
 * The file is untrusted input like the logs: opened without following links, read up to a bound,
 * every line parsed defensively; a line that does not parse is skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "symbols/symbols.h"

#define MAP_MAX (256u << 20) /* bytes of a map read at most */

struct jit_entry {
	uint64_t lo, hi;
	uint32_t order;              /* line number: a later line wins where code was reused */
	uint32_t name;               /* offset of the NAME text in the map's buffer */
};

struct sl_jitmap {
	char *text;
	struct jit_entry *e;
	size_t n;
};

static int by_start(const void *a, const void *b)
{
	const struct jit_entry *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Reads a map: NULL when it is absent, unreadable or not a regular file. not_before: the map
 * must have been written since then (seconds, the process's start), else it is another's. */
struct sl_jitmap *sl_jitmap_read(const char *path, long not_before)
{
	struct stat st;
	char err[256];
	int fd = sl_open_regular(path, &st, err, sizeof err);
	if (fd < 0)
		return NULL;
	if (st.st_mtime < not_before) {
		close(fd);
		return NULL;
	}
	size_t len = (size_t)st.st_size < MAP_MAX ? (size_t)st.st_size : MAP_MAX, got = 0;
	struct sl_jitmap *m = calloc(1, sizeof *m);
	m->text = malloc(len + 1);
	while (got < len) {
		ssize_t r = read(fd, m->text + got, len - got);
		if (r <= 0 && !(r < 0 && errno == EINTR))
			break;
		got += r > 0 ? (size_t)r : 0;
	}
	close(fd);
	m->text[got] = 0;
	size_t cap = 0;
	uint32_t order = 0;
	for (char *p = m->text, *nl; p < m->text + got; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(m->text + got - p));
		if (!nl)
			break; /* a line being written */
		*nl = 0;
		char *end;
		uint64_t lo = strtoull(p, &end, 16), size;
		if (end == p || *end != ' ')
			continue;
		char *s = end + 1;
		size = strtoull(s, &end, 16);
		if (end == s || *end != ' ' || !size || lo + size < lo)
			continue;
		if (m->n == cap) {
			cap = cap ? cap * 2 : 1024;
			m->e = realloc(m->e, cap * sizeof *m->e);
		}
		m->e[m->n++] = (struct jit_entry){lo, lo + size, order++, (uint32_t)(end + 1 - m->text)};
	}
	qsort(m->e, m->n, sizeof *m->e, by_start);
	return m;
}

void sl_jitmap_free(struct sl_jitmap *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->e);
	free(m);
}

/* The entry naming ip: the latest line whose range holds it. */
static const struct jit_entry *map_find(const struct sl_jitmap *m, uint64_t ip)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) { /* first entry starting above ip */
		size_t mid = (lo + hi) / 2;
		if (m->e[mid].lo <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct jit_entry *best = NULL;
	for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++)
		if (ip < m->e[i].hi && (!best || m->e[i].order > best->order))
			best = &m->e[i];
	return best;
}

/* "JS:~fetchStatus /app/client.js:3:21" into function, file and line */
static void name_frame(const char *name, struct sl_frame *f)
{
	const char *colon = strchr(name, ':'), *space = strchr(name, ' ');
	int script = !strncmp(name, "Script:", 7) || !strncmp(name, "Eval:", 5);
	if (colon && (!space || colon < space))
		name = colon + 1;
	if (*name && strchr("~*^+", *name))
		name++;
	const char *pos = strrchr(name, ' ');
	const char *fn_end = pos ? pos : name + strlen(name);
	int line = 0, col = 0;
	if (pos) {
		/* file:line:col at the end */
		const char *c2 = strrchr(pos, ':'), *c1 = NULL;
		for (const char *q = c2 ? c2 - 1 : NULL; q && q > pos; q--)
			if (*q == ':') {
				c1 = q;
				break;
			}
		if (c1 && sscanf(c1, ":%d:%d", &line, &col) == 2 && line > 0) {
			const char *file = pos + 1;
			if (!strncmp(file, "file://", 7))
				file += 7;
			snprintf(f->file, sizeof f->file, "%.*s", (int)(c1 - file), file);
			f->line = line;
			f->line_is_start = 1;
		} else {
			fn_end = name + strlen(name); /* no position: the whole text is the name */
		}
	}
	if (fn_end > name)
		snprintf(f->function, sizeof f->function, "%.*s", (int)(fn_end - name), name);
	else
		snprintf(f->function, sizeof f->function, "%s", script ? "(top level)" : "(anonymous)");
}

int sl_jit_name(const struct sl_jitmap *m, uint64_t ip, struct sl_frame *f)
{
	const struct jit_entry *e = map_find(m, ip);
	if (!e)
		return 0;
	name_frame(m->text + e->name, f);
	f->addr = 0;
	snprintf(f->module, sizeof f->module, "js");
	return 1;
}

int sl_jitmap_line(const struct sl_jitmap *m, uint64_t ip, char *out, size_t len)
{
	const struct jit_entry *e = map_find(m, ip);
	if (!e)
		return -1;
	snprintf(out, len, "%llx %llx %s", (unsigned long long)e->lo, (unsigned long long)(e->hi - e->lo),
		 m->text + e->name);
	return 0;
}
