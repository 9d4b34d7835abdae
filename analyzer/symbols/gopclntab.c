/* gopclntab.c - function, file and line of an address in a Go binary from its .gopclntab, the
 * table Go's runtime keeps for its own tracebacks. It survives `-ldflags=-s -w` (no symbols, no
 * DWARF), so stripped Go binaries still name their frames. Layout of Go 1.18 and 1.19 (magic
 * 0xfffffff0) and 1.20+ (0xfffffff1: one more field in each function record), as Go's
 * runtime/symtab.go and debug/gosym read it. Inlined calls are not expanded here (their tree
 * hangs off the runtime's moduledata); the line is the innermost code's. Every offset is checked
 * against the section's size: the table comes from a file we did not write. */
#define _GNU_SOURCE
#include <gelf.h>
#include <stdint.h>
#include <string.h>
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

/* Fills f's function, file and line for the link-time address pc; 0, or -1 when pc is not Go code. */
static int lookup(const struct pcln *t, uint64_t pc, struct sl_frame *f)
{
	uint64_t lo = 0, hi = t->nfunc, ftab = t->functab;
	if (pc < t->text)
		return -1;
	uint32_t rel = (uint32_t)(pc - t->text), e, funcoff;
	/* the last function whose entry is at or below pc */
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (u32_at(t, ftab + mid * 8, &e) < 0)
			return -1;
		if (e <= rel)
			lo = mid;
		else
			hi = mid;
	}
	uint32_t next;
	if (u32_at(t, ftab + lo * 8, &e) < 0 || u32_at(t, ftab + lo * 8 + 4, &funcoff) < 0 ||
	    u32_at(t, ftab + (lo + 1) * 8, &next) < 0 || rel < e || rel >= next)
		return -1;
	uint64_t fn = ftab + funcoff;
	uint32_t nameoff, pcfile, pcln, cuoff;
	if (u32_at(t, fn + 4, &nameoff) < 0 || u32_at(t, fn + 20, &pcfile) < 0 || u32_at(t, fn + 24, &pcln) < 0 ||
	    u32_at(t, fn + 32, &cuoff) < 0)
		return -1;
	const char *name = str_at(t, t->funcnames + nameoff);
	if (!name)
		return -1;
	snprintf(f->function, sizeof f->function, "%s", name);
	uint64_t entry = t->text + e;
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

int sl_gopclntab_lookup(Elf *elf, uint64_t pc, struct sl_frame *f)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -1;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (!name || (strcmp(name, ".gopclntab") && strcmp(name, ".data.rel.ro.gopclntab")))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		struct pcln t;
		if (!d || !d->d_buf || parse(&t, d->d_buf, d->d_size) < 0)
			return -1;
		return lookup(&t, pc, f);
	}
	return -1;
}
