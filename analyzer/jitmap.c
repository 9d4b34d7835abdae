/* jitmap.c - JavaScript frames named from V8's perf map.
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analyzer.h"

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
static struct sl_jitmap *map_read(const char *path, time_t not_before)
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

int sl_jit_name(const struct sl_image *img, uint64_t ip, struct sl_frame *f)
{
	const struct jit_entry *e = img->jit ? map_find(img->jit, ip) : NULL;
	if (!e)
		return 0;
	name_frame(img->jit->text + e->name, f);
	f->addr = 0;
	snprintf(f->module, sizeof f->module, "js");
	return 1;
}

static void tmp_map_path(char *out, size_t len, int pid)
{
	snprintf(out, len, "/tmp/perf-%d.map", pid);
}

/* "dir/p12.0.sllog" -> "dir/p12.0.v8map" */
static int copy_path(const char *log, char *out, size_t len)
{
	size_t n = strlen(log);
	if (n < 6 || strcmp(log + n - 6, ".sllog") || n + 1 > len)
		return -1;
	snprintf(out, len, "%.*s.v8map", (int)(n - 6), log);
	return 0;
}

void sl_jitmap_attach(struct sl_image *img)
{
	char path[4096];
	img->jit = NULL;
	if (!(img->h.flags & SL_HDR_V8_MAP))
		return;
	if (copy_path(img->path, path, sizeof path) == 0 && (img->jit = map_read(path, 0)))
		return;
	tmp_map_path(path, sizeof path, img->h.pid);
	img->jit = map_read(path, (time_t)(img->h.start_real_ns / 1000000000ull) - 1);
}

/* Copies the lines of V8's map that name the addresses of one log's stacks beside it; removes
 * V8's map when socklens asked for it. */
static void keep_one(const char *log)
{
	struct sl_image img;
	char err[256], copy[4096], tmp[64];
	if (sl_image_load(&img, log, err, sizeof err) < 0)
		return;
	tmp_map_path(tmp, sizeof tmp, img.h.pid);
	struct sl_jitmap *m = img.jit;
	if (m && copy_path(log, copy, sizeof copy) == 0 && access(copy, F_OK) != 0) {
		int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
		for (uint32_t s = 0; out && s < img.nstacks; s++)
			for (uint32_t i = 0; img.stacks[s].commit == 2 && i < img.stacks[s].nframes && i < SL_MAX_FRAMES; i++) {
				const struct jit_entry *e = map_find(m, img.stacks[s].ip[i]);
				if (e)
					fprintf(out, "%llx %llx %s\n", (unsigned long long)e->lo,
						(unsigned long long)(e->hi - e->lo), m->text + e->name);
			}
		if (out)
			fclose(out);
		else if (fd >= 0)
			close(fd);
		if (img.h.flags & SL_HDR_V8_MAP_OURS)
			unlink(tmp);
	}
	sl_image_release(&img);
}

void sl_jitmap_keep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 6, ".sllog"))
			continue;
		struct sl_log_header h;
		char err[256];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (sl_header_read(path, &h, err, sizeof err) == 0 && (h.flags & SL_HDR_V8_MAP))
			keep_one(path);
	}
	if (d)
		closedir(d);
}

/* The language frames of a process: which runtime, and "read" or "unavailable" with why; NULL
 * when it ran no runtime socklens reads (or was asked not to). */
const char *sl_lang_state(const struct sl_image_info *ii, const char **runtime, const char **why)
{
	uint32_t fl = ii->h.flags;
	*why = NULL;
	if (fl & (SL_HDR_PY_FRAMES | SL_HDR_PY_UNREAD)) {
		*runtime = "python";
		if (fl & SL_HDR_PY_FRAMES)
			return "read";
		static char msg[96];
		unsigned v = ii->h.lang_why;
		if (v >= 0x0300 && v < 0x0400)
			snprintf(msg, sizeof msg, "CPython %u.%u; socklens reads the frames of 3.11 to 3.13", v >> 8, v & 0xff);
		else
			snprintf(msg, sizeof msg, "socklens reads the frames of CPython 3.11 to 3.13");
		*why = msg;
		return "unavailable";
	}
	if (fl & (SL_HDR_JAVA_FRAMES | SL_HDR_JAVA_UNREAD)) {
		*runtime = "java";
		if (fl & SL_HDR_JAVA_FRAMES)
			return "read";
		*why = ii->h.lang_why == SL_WHY_NO_CAPS ? "the JVM refused JVMTI's line-number capabilities"
							 : "the JVM gave no JVMTI environment";
		return "unavailable";
	}
	if (fl & (SL_HDR_JS_ORIGINS | SL_HDR_JS_UNREAD | SL_HDR_V8_MAP)) {
		char path[4096];
		struct stat st;
		*runtime = "javascript";
		if (fl & SL_HDR_JS_UNREAD) {
			*why = "socklens-node.js was not found beside libsocklens.so";
			return "unavailable";
		}
		if (!(fl & SL_HDR_V8_MAP))
			return "read";
		if (copy_path(ii->path, path, sizeof path) == 0 && stat(path, &st) == 0)
			return "read";
		tmp_map_path(path, sizeof path, ii->h.pid);
		if (stat(path, &st) == 0 && st.st_mtime >= (time_t)(ii->h.start_real_ns / 1000000000ull) - 1)
			return "read";
		*why = "V8's perf map (/tmp/perf-<pid>.map) is gone";
		return "unavailable";
	}
	return NULL;
}
