/* gopclntab.c - function, file and line of an address in a Go binary from its .gopclntab, the
 * table Go's runtime keeps for its own tracebacks. It survives `-ldflags=-s -w` (no symbols, no
 * DWARF), so stripped Go binaries still name their frames. Layout of Go 1.18 and 1.19 (magic
 * 0xfffffff0) and 1.20+ (0xfffffff1: one more field in each function record), as Go's
 * runtime/symtab.go and debug/gosym read it. Inlined calls are expanded as the runtime's own
 * tracebacks do: a pc's inline-tree index (pcdata 2) names the function inlined there, whose
 * caller's pc is the next to look up; the tree (funcdata 3) is found through the runtime's
 * moduledata (the word in .noptrdata that points at the table; its gofunc field). Every offset
 * is checked against the section's size: the table comes from a file we did not write. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include "base/dwlib.h"
#include "symbols/symbols.h"

struct pcln {
	const uint8_t *d;
	size_t size;
	uint32_t magic;
	uint8_t quantum;
	uint64_t nfunc, text;
	uint64_t funcnames, cutab, filetab, pctab, functab; /* offsets from the start */
};

static int u32_at(const struct pcln *t, uint64_t off, uint32_t *v)
{
	if (off > t->size || t->size - off < 4)
		return -1;
	memcpy(v, t->d + off, 4);
	return 0;
}

static int u64_at(const struct pcln *t, uint64_t off, uint64_t *v)
{
	if (off > t->size || t->size - off < 8)
		return -1;
	memcpy(v, t->d + off, 8);
	return 0;
}

static const char *str_at(const struct pcln *t, uint64_t off)
{
	if (off >= t->size || !memchr(t->d + off, 0, t->size - off))
		return NULL;
	return (const char *)t->d + off;
}

static int parse(struct pcln *t, const void *data, size_t size)
{
	memset(t, 0, sizeof *t);
	t->d = data;
	t->size = size;
	uint64_t v[7];
	if (u32_at(t, 0, &t->magic) < 0 || (t->magic != 0xfffffff0u && t->magic != 0xfffffff1u) || size < 72 ||
	    t->d[7] != 8)
		return -1;
	t->quantum = t->d[6];
	for (int i = 0; i < 7; i++)
		if (u64_at(t, 8 + 8 * (uint64_t)i, &v[i]) < 0)
			return -1;
	t->nfunc = v[0];
	t->text = v[2];
	t->funcnames = v[3];
	t->cutab = v[4];
	t->filetab = v[5];
	t->pctab = v[6];
	if (u64_at(t, 64, &t->functab) < 0 || !t->quantum || t->nfunc > size / 8)
		return -1;
	return 0;
}

static int uvarint(const struct pcln *t, uint64_t *off, uint32_t *v)
{
	uint32_t r = 0;
	for (unsigned shift = 0; shift < 35; shift += 7) {
		if (*off >= t->size)
			return -1;
		uint8_t b = t->d[(*off)++];
		r |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* The value a pc-value table gives for pc: pairs of (value delta, pc delta) from the entry. */
static int pcvalue(const struct pcln *t, uint32_t tab, uint64_t entry, uint64_t pc, int32_t *out)
{
	uint64_t off = t->pctab + tab, at = entry;
	int32_t val = -1;
	for (int first = 1; tab; first = 0) {
		uint32_t u, d;
		if (uvarint(t, &off, &u) < 0 || (u == 0 && !first) || uvarint(t, &off, &d) < 0)
			return -1;
		val += (int32_t)(-(u & 1) ^ (u >> 1));
		at += (uint64_t)d * t->quantum;
		if (pc < at) {
			*out = val;
			return 0;
		}
	}
	return -1;
}

/* Fills f's function (fn's own), file and line for pc within the function record at fn. */
static int lookup_at(const struct pcln *t, uint64_t fn, uint64_t entry, uint64_t pc, struct sl_frame *f)
{
	uint32_t nameoff, pcfile, pcln, cuoff;
	if (u32_at(t, fn + 4, &nameoff) < 0 || u32_at(t, fn + 20, &pcfile) < 0 || u32_at(t, fn + 24, &pcln) < 0 ||
	    u32_at(t, fn + 32, &cuoff) < 0)
		return -1;
	const char *name = str_at(t, t->funcnames + nameoff);
	if (!name)
		return -1;
	snprintf(f->function, sizeof f->function, "%s", name);
	int32_t line, fileno;
	uint32_t fileoff;
	if (pcvalue(t, pcln, entry, pc, &line) == 0 && line > 0)
		f->line = line;
	if (pcvalue(t, pcfile, entry, pc, &fileno) == 0 && fileno >= 0 &&
	    u32_at(t, t->cutab + 4 * ((uint64_t)cuoff + (uint32_t)fileno), &fileoff) == 0 && fileoff != ~0u) {
		const char *file = str_at(t, t->filetab + fileoff);
		if (file)
			snprintf(f->file, sizeof f->file, "%s", file);
	}
	return 0;
}

/* The data of the section called name or alt (NULL: no other name), and its link-time address;
 * NULL when there is none. */
static Elf_Data *section(Elf *elf, const char *name, const char *alt, uint64_t *addr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (!n || (strcmp(n, name) && (!alt || strcmp(n, alt))))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		*addr = sh.sh_addr;
		return d && d->d_buf ? d : NULL;
	}
	return NULL;
}

/* The .gopclntab section's table, and its link-time address; 0, or -1 when there is none. */
static int table(Elf *elf, struct pcln *t, uint64_t *addr)
{
	Elf_Data *d = section(elf, ".gopclntab", ".data.rel.ro.gopclntab", addr);
	return d && parse(t, d->d_buf, d->d_size) == 0 ? 0 : -1;
}

/* A section's bytes at link-time address addr (len of them), or NULL. */
static const uint8_t *bytes_at(Elf *elf, uint64_t addr, size_t len)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || addr < sh.sh_addr ||
		    addr - sh.sh_addr > sh.sh_size || sh.sh_size - (addr - sh.sh_addr) < len)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		return d && d->d_buf && d->d_size == sh.sh_size ? (const uint8_t *)d->d_buf + (addr - sh.sh_addr) : NULL;
	}
	return NULL;
}

/* moduledata.gofunc, the base of funcdata offsets: the moduledata is the 8-aligned word of
 * .noptrdata (or .data) holding the table's address; gofunc is 304 bytes in (Go 1.18, 1.19) or
 * 320 (1.20+). One binary at a time is remembered. 0 when not found. */
static uint64_t gofunc_of(Elf *elf, const struct pcln *t, uint64_t table_addr)
{
	static Elf *last;
	static uint64_t found;
	if (elf == last)
		return found;
	last = elf;
	found = 0;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn)) && !found) {
		GElf_Shdr sh;
		const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		Elf_Data *d = name && (!strcmp(name, ".noptrdata") || !strcmp(name, ".data")) ? elf_getdata(scn, NULL) : NULL;
		unsigned off = t->magic == 0xfffffff0u ? 304 : 320;
		for (size_t i = 0; d && d->d_buf && i + off + 8 <= d->d_size; i += 8) {
			uint64_t w;
			memcpy(&w, (const uint8_t *)d->d_buf + i, 8);
			if (w == table_addr) {
				memcpy(&found, (const uint8_t *)d->d_buf + i + off, 8);
				break;
			}
		}
	}
	return found;
}

/* pc's frames, innermost first, into f[0, max): the functions inlined at pc, then the one that holds
 * it. f[0]'s address fields are copied into each. The count, or 0 when pc is not Go code. */
static size_t frames(Elf *elf, const struct pcln *t, uint64_t table_addr, uint64_t pc, struct sl_frame *f, size_t max)
{
	uint64_t lo = 0, hi = t->nfunc, ftab = t->functab;
	if (pc < t->text || !max)
		return 0;
	uint32_t rel = (uint32_t)(pc - t->text), e, funcoff, next;
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (u32_at(t, ftab + mid * 8, &e) < 0)
			return 0;
		if (e <= rel)
			lo = mid;
		else
			hi = mid;
	}
	if (u32_at(t, ftab + lo * 8, &e) < 0 || u32_at(t, ftab + lo * 8 + 4, &funcoff) < 0 ||
	    u32_at(t, ftab + (lo + 1) * 8, &next) < 0 || rel < e || rel >= next)
		return 0;
	uint64_t fn = ftab + funcoff, entry = t->text + e, hdr = t->magic == 0xfffffff0u ? 40 : 44;
	uint32_t npcdata, inl_pcdata = 0, inl_off = ~0u;
	uint8_t nfuncdata = 0;
	struct sl_frame base = f[0];
	if (u32_at(t, fn + 28, &npcdata) < 0 || fn + hdr > t->size)
		return 0;
	nfuncdata = t->d[fn + hdr - 1];
	if (npcdata > 2)
		u32_at(t, fn + hdr + 4 * 2, &inl_pcdata);
	if (nfuncdata > 3)
		u32_at(t, fn + hdr + 4 * (uint64_t)npcdata + 4 * 3, &inl_off);
	uint64_t gofunc = inl_pcdata && inl_off != ~0u ? gofunc_of(elf, t, table_addr) : 0;
	size_t n = 0;
	uint64_t at = pc;
	for (int depth = 0; gofunc && depth < 32 && n + 1 < max; depth++) {
		int32_t ix;
		unsigned width = t->magic == 0xfffffff0u ? 20 : 16;
		const uint8_t *node;
		if (pcvalue(t, inl_pcdata, entry, at, &ix) < 0 || ix < 0 ||
		    !(node = bytes_at(elf, gofunc + inl_off + (uint64_t)ix * width, width)))
			break;
		int32_t nameoff, parent_pc;
		memcpy(&nameoff, node + (width == 20 ? 12 : 4), 4);
		memcpy(&parent_pc, node + (width == 20 ? 16 : 8), 4);
		f[n] = base;
		if (lookup_at(t, fn, entry, at, &f[n]) < 0)
			break;
		const char *name = str_at(t, t->funcnames + (uint32_t)nameoff);
		snprintf(f[n].function, sizeof f[n].function, "%s", name ? name : "?");
		n++;
		at = entry + (uint64_t)(int64_t)parent_pc;
	}
	f[n] = base;
	if (lookup_at(t, fn, entry, at, &f[n]) < 0)
		return n;
	return n + 1;
}

int sl_gopclntab_present(Elf *elf)
{
	struct pcln t;
	uint64_t addr;
	return table(elf, &t, &addr) == 0;
}

size_t sl_gopclntab_frames(Elf *elf, uint64_t pc, struct sl_frame *f, size_t max)
{
	struct pcln t;
	uint64_t addr;
	if (table(elf, &t, &addr) < 0)
		return 0;
	return frames(elf, &t, addr, pc, f, max);
}

int sl_gopclntab_func(Elf *elf, const char *name, uint64_t *entry, uint64_t *end)
{
	struct pcln t;
	uint64_t addr;
	if (table(elf, &t, &addr) < 0)
		return -1;
	for (uint64_t i = 0; i < t.nfunc; i++) {
		uint32_t e, funcoff, next, nameoff;
		if (u32_at(&t, t.functab + i * 8, &e) < 0 || u32_at(&t, t.functab + i * 8 + 4, &funcoff) < 0 ||
		    u32_at(&t, t.functab + (i + 1) * 8, &next) < 0 ||
		    u32_at(&t, t.functab + funcoff + 4, &nameoff) < 0)
			return -1;
		const char *fn = str_at(&t, t.funcnames + nameoff);
		if (fn && !strcmp(fn, name)) {
			*entry = t.text + e;
			*end = t.text + next;
			return 0;
		}
	}
	return -1;
}

/* Go's build information (.go.buildinfo, Go 1.18+ with its strings inline): a 32-byte header
 * ("\xff Go buildinf:", the pointer size, flags with bit 2 for inline strings), then the Go
 * version and the module information, each a varint length and its bytes. The module information
 * is lines of tab-separated fields ("path" the main package, "mod" the main module, its version
 * and sum) between two 16-byte markers. */
int sl_go_buildinfo(Elf *elf, const char **version, size_t *vlen, const char **info, size_t *ilen)
{
	uint64_t addr;
	Elf_Data *d = section(elf, ".go.buildinfo", NULL, &addr);
	if (!d || d->d_size < 32 || memcmp(d->d_buf, "\xff Go buildinf:", 14) || !(((const uint8_t *)d->d_buf)[15] & 2))
		return -1; /* not there, or the layout before Go 1.18 */
	struct pcln t = {.d = d->d_buf, .size = d->d_size};
	uint64_t off = 32;
	uint32_t n;
	if (uvarint(&t, &off, &n) < 0 || n > t.size - off)
		return -1;
	*version = (const char *)t.d + off;
	*vlen = n;
	off += n;
	if (uvarint(&t, &off, &n) < 0 || n > t.size - off)
		return -1;
	*info = (const char *)t.d + off;
	*ilen = n;
	if (n >= 32 && memcmp(*info, "path\t", 5)) {
		*info += 16; /* the go command's 16-byte markers around the text */
		*ilen -= 16;
	}
	return 0;
}

int sl_go_main_module(Elf *elf, char *out, size_t len)
{
	const char *version, *info;
	size_t vlen, ilen;
	out[0] = 0;
	if (!len || sl_go_buildinfo(elf, &version, &vlen, &info, &ilen) < 0)
		return -1;
	/* the module; without one (a GOPATH build, as Debian's), the main package's path, less a
	 * trailing /cmd/NAME */
	const char *stop = info + ilen;
	for (int want = 0; want < 2; want++) {
		const char *key = want ? "path\t" : "mod\t";
		size_t kl = strlen(key);
		for (const char *line = info; line < stop;) {
			const char *nl = memchr(line, '\n', (size_t)(stop - line)), *eol = nl ? nl : stop;
			if ((size_t)(eol - line) > kl && !memcmp(line, key, kl)) {
				const char *f = line + kl, *tab = memchr(f, '\t', (size_t)(eol - f));
				size_t k = (size_t)((tab ? tab : eol) - f);
				if (!k || k >= len)
					return -1;
				memcpy(out, f, k);
				out[k] = 0;
				char *cmd = want ? strstr(out, "/cmd/") : NULL;
				if (cmd && cmd != out)
					*cmd = 0;
				return 0;
			}
			line = eol + 1;
		}
	}
	return -1;
}
