/* symbolize.c - return addresses to function, file:line with elfutils libdw, offline. */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include "analyzer.h"

/*
 * One Dwfl per image, holding every module the shim recorded at the address it was
 * loaded at. Debug info is found the standard way (build-id under /usr/lib/debug,
 * .gnu_debuglink); debuginfod is left off unless the user set DEBUGINFOD_URLS.
 */
static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer {
	Dwfl *dwfl;
};

/* Reports one recorded module at its recorded load bias; frames check its build-id. */
static void report_module(Dwfl *dwfl, const struct sl_module *m)
{
	char path[SL_MODPATH_MAX];
	memcpy(path, m->path, sizeof path);
	path[sizeof path - 1] = 0;
	if (!m->commit || !path[0])
		return;
	dwfl_report_elf(dwfl, path, path, -1, m->base, false);
}

static struct symbolizer *get(struct sl_image *img)
{
	if (img->symbolizer)
		return img->symbolizer;
	struct symbolizer *sy = calloc(1, sizeof *sy);
	sy->dwfl = dwfl_begin(&callbacks);
	if (sy->dwfl) {
		dwfl_report_begin(sy->dwfl);
		for (uint32_t i = 0; i < img->nmods; i++)
			report_module(sy->dwfl, &img->mods[i]);
		dwfl_report_end(sy->dwfl, NULL, NULL);
	}
	img->symbolizer = sy;
	return sy;
}

static const struct sl_module *recorded_module(const struct sl_image *img, uint64_t ip)
{
	for (uint32_t i = 0; i < img->nmods; i++)
		if (img->mods[i].commit && ip >= img->mods[i].lo && ip < img->mods[i].hi)
			return &img->mods[i];
	return NULL;
}

static int build_id_matches(Dwfl_Module *mod, const struct sl_module *m)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	if (n <= 0 || !m || !m->buildid_len)
		return 1; /* nothing to compare: trust the path */
	return (uint32_t)n == m->buildid_len && !memcmp(bits, m->buildid, (size_t)n);
}

static void die_name(Dwarf_Die *die, char *out, size_t len)
{
	Dwarf_Attribute attr;
	const char *name = NULL;
	if (dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	if (!name && dwarf_attr_integrate(die, DW_AT_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (name)
		snprintf(out, len, "%s", name);
}

/* Where an inlined subroutine was called from: DW_AT_call_file and DW_AT_call_line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inl, struct sl_frame *f)
{
	Dwarf_Attribute attr;
	Dwarf_Word file = 0, line = 0;
	Dwarf_Files *files;
	size_t nfiles;
	f->file[0] = 0;
	f->line = 0;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &file) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || file >= nfiles)
		return;
	const char *name = dwarf_filesrc(files, file, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &line) == 0)
		f->line = (int)line;
	if (name)
		snprintf(f->file, sizeof f->file, "%s", name);
}

/* Splits one address into its chain of inlined functions, innermost first. */
static size_t expand_inlines(Dwfl_Module *mod, GElf_Addr pc, struct sl_frame *f, size_t max)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias), *scopes = NULL, inner;
	int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
	/* dwarf_getscopes follows an inlined function into its abstract origin; the
	 * physical nesting (inlined into whom) comes from the innermost DIE's parents */
	if (n > 0 && dwarf_offdie(dwfl_module_getdwarf(mod, &bias), dwarf_dieoffset(&scopes[0]), &inner)) {
		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&inner, &scopes);
	}
	size_t out = 0;
	int prev = -1; /* the scope of the frame emitted last */
	for (int i = 0; i < n && out < max; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		if (out > 0) {
			f[out] = f[out - 1];
			call_site(cu, &scopes[prev], &f[out]);
		}
		prev = i;
		f[out].function[0] = 0;
		die_name(&scopes[i], f[out].function, sizeof f[out].function);
		out++;
		if (tag == DW_TAG_subprogram)
			break;
	}
	free(scopes);
	return out;
}

size_t sl_symbolize(struct sl_image *img, uint64_t ip, struct sl_frame *f, size_t max)
{
	if (max == 0)
		return 0;
	memset(f, 0, sizeof *f);
	f->addr = ip;
	const struct sl_module *m = recorded_module(img, ip);
	if (m) {
		f->offset = ip - m->base;
		const char *slash = strrchr(m->path, '/');
		snprintf(f->module, sizeof f->module, "%.*s", (int)strnlen(slash ? slash + 1 : m->path, 400),
			 slash ? slash + 1 : m->path);
	}
	struct symbolizer *sy = get(img);
	if (!sy->dwfl || ip == 0)
		return 1;
	GElf_Addr pc = ip - 1; /* a return address points after the call */
	Dwfl_Module *mod = dwfl_addrmodule(sy->dwfl, pc);
	if (!mod)
		return 1;
	if (!build_id_matches(mod, m)) {
		snprintf(f->function, sizeof f->function, "%s", "(file changed since the run)");
		return 1;
	}
	Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
	int lineno = 0;
	const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (file) {
		snprintf(f->file, sizeof f->file, "%s", file);
		f->line = lineno;
	}
	size_t n = expand_inlines(mod, pc, f, max);
	if (n > 0 && f[n - 1].function[0])
		return n;
	GElf_Off off;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	if (name)
		snprintf(f->function, sizeof f->function, "%s", name);
	return 1;
}

size_t sl_symbolize_stack(struct sl_image *img, uint32_t id, struct sl_frame *f, size_t max)
{
	const struct sl_stack *s = sl_image_stack(img, id);
	size_t n = 0;
	for (uint32_t i = 0; s && i < s->nframes && n < max; i++)
		n += sl_symbolize(img, s->ip[i], f + n, max - n);
	return n;
}

void sl_symbolizer_release(struct sl_image *img)
{
	struct symbolizer *sy = img->symbolizer;
	if (!sy)
		return;
	if (sy->dwfl)
		dwfl_end(sy->dwfl);
	free(sy);
	img->symbolizer = NULL;
}
