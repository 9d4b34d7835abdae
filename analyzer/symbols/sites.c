/* sites.c - a call site named by its source (FILE:LINE, or a function) as the address ranges of a
 * program file's code, for `--inject ...,site=`: the shim and the tracer compare a stack's return
 * addresses with them, at no cost of symbolizing inside the program. The line table (libdw) gives
 * a line's ranges; the symbol table (libelf), or Go's .gopclntab in a stripped Go program, a
 * function's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "base/dwlib.h"
#include "symbols/symbols.h"

static int file_is(const char *path, const char *tail)
{
	size_t n = strlen(path), k = strlen(tail);
	return k <= n && !strcmp(path + n - k, tail) && (k == n || path[n - k - 1] == '/' || tail[0] == '/');
}

static void add(uint64_t *lo, uint64_t *hi, unsigned *n, uint64_t a, uint64_t b)
{
	for (unsigned i = 0; i < *n; i++)
		if (a <= hi[i] && b >= lo[i]) { /* touching or overlapping: one range */
			lo[i] = a < lo[i] ? a : lo[i];
			hi[i] = b > hi[i] ? b : hi[i];
			return;
		}
	if (*n < 2) {
		lo[*n] = a;
		hi[*n] = b;
		(*n)++;
	}
}

static void by_line(Elf *elf, const char *file, int line, uint64_t *lo, uint64_t *hi, unsigned *n)
{
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dw && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Lines *lines;
		size_t nlines;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_getsrclines(&cu, &lines, &nlines) == 0) {
			for (size_t i = 0; i + 1 < nlines; i++) {
				Dwarf_Line *l = dwarf_onesrcline(lines, i), *after = dwarf_onesrcline(lines, i + 1);
				int ln;
				Dwarf_Addr a, b;
				const char *src = dwarf_linesrc(l, NULL, NULL);
				if (!src || dwarf_lineno(l, &ln) != 0 || ln != line || !file_is(src, file) ||
				    dwarf_lineaddr(l, &a) != 0 || dwarf_lineaddr(after, &b) != 0 || b <= a)
					continue;
				add(lo, hi, n, a, b);
			}
		}
		off = next;
	}
	if (dw)
		dwarf_end(dw);
}

static void by_symbol(Elf *elf, const char *func, uint64_t *lo, uint64_t *hi, unsigned *n)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;
			if (gelf_getsym(d, (int)i, &s) && GELF_ST_TYPE(s.st_info) == STT_FUNC && s.st_value && s.st_size &&
			    (name = elf_strptr(elf, sh.sh_link, s.st_name)) && !strcmp(name, func))
				add(lo, hi, n, s.st_value, s.st_value + s.st_size);
		}
	}
	uint64_t entry, end;
	if (!*n && sl_gopclntab_func(elf, func, &entry, &end) == 0)
		add(lo, hi, n, entry, end);
}

int sl_site_ranges(const char *path, const char *file, int line, const char *func, uint64_t lo[2], uint64_t hi[2])
{
	unsigned n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && file && *file)
		by_line(elf, file, line, lo, hi, &n);
	else if (elf && func && *func)
		by_symbol(elf, func, lo, hi, &n);
	if (elf)
		elf_end(elf);
	close(fd);
	return (int)n;
}
