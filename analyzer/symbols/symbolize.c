/* symbolize.c - return addresses to function, file:line with elfutils libdwfl, offline, through
 * one cache for the whole run: a Dwfl per module file (reported at bias 0 and asked by file
 * address, so every process that loaded the file shares it) and the answers per address. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <dwarf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/dwlib.h"
#include "symbols/symbols.h"

/*
 * Paths come from the logs, which are untrusted: a module file is opened only if it is a
 * regular file, never blocking; debug information is looked up by build-id under
 * /usr/lib/debug (Debian's -dbgsym packages), and through debuginfod only if the user set
 * DEBUGINFOD_URLS.
 */

struct module {
	char *path;
	uint8_t buildid[SL_BUILDID_MAX];
	uint32_t buildid_len;
	Dwfl *dwfl;                  /* NULL: the file cannot be read */
	int changed;                 /* the file's build-id differs from the run's */
	struct cu_range *cus;        /* compile units by address, when .debug_aranges is missing (Go) */
	size_t ncus;
	int cus_built;
	int go;                      /* 0 not known yet, 1 a Go program (.gopclntab), 2 not */
};

struct cu_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off off;
};

struct answer {
	size_t module;               /* index + 1; 0 = empty */
	uint64_t vaddr;
	struct sl_frame *f;
	size_t n;
};

static struct module *mods;
static size_t nmods, capmods;
static struct answer *answers;
static size_t nanswers, capanswers;

static int safe_open(const char *path, int nofollow)
{
	struct stat a, b;
	if (nofollow) { /* a file in the run directory: a link planted there is not followed */
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
		if (fd >= 0 && (fstat(fd, &b) != 0 || !S_ISREG(b.st_mode))) {
			close(fd);
			fd = -1;
		}
		return fd;
	}
	if (stat(path, &a) != 0 || !S_ISREG(a.st_mode))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0 && (fstat(fd, &b) != 0 || !S_ISREG(b.st_mode) || a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static char *no_path;

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	if (n > 1) {
		char path[128];
		int k = snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", bits[0]);
		for (int i = 1; i < n && k < (int)sizeof path - 8; i++)
			k += snprintf(path + k, sizeof path - (size_t)k, "%02x", bits[i]);
		snprintf(path + k, sizeof path - (size_t)k, ".debug");
		int fd = safe_open(path, 0);
		if (fd >= 0) {
			*debuginfo_file_name = strdup(path);
			return fd;
		}
	}
	if (getenv("DEBUGINFOD_URLS"))
		return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
						    debuglink_crc, debuginfo_file_name);
	return -1;
}

/* Filled at first use: libdw's functions are known once it is loaded (dwlib.h). */
static Dwfl_Callbacks callbacks = {
	.find_debuginfo = find_debuginfo,
	.debuginfo_path = &no_path,
};

static void open_module(struct module *m, int kept)
{
	int fd = safe_open(m->path, kept);
	if (fd < 0)
		return;
	callbacks.find_elf = dwfl_build_id_find_elf;
	callbacks.section_address = dwfl_offline_section_address;
	m->dwfl = dwfl_begin(&callbacks);
	if (!m->dwfl) {
		close(fd);
		return;
	}
	dwfl_report_begin(m->dwfl);
	/* at its link-time addresses, which is what the logs give (an address less the load bias):
	 * PIE executables that do not start at 0 (Go links them at 0x400000) need that too */
	Dwfl_Module *mod = dwfl_report_elf(m->dwfl, m->path, m->path, fd, 0, true); /* takes fd */
	dwfl_report_end(m->dwfl, NULL, NULL);
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = mod ? dwfl_module_build_id(mod, &bits, &vaddr) : 0;
	if (!mod) {
		dwfl_end(m->dwfl);
		m->dwfl = NULL;
	} else if (n > 0 && m->buildid_len && ((uint32_t)n != m->buildid_len || memcmp(bits, m->buildid, (size_t)n))) {
		m->changed = 1;
	}
}

/* The cache entry (index + 1) for the recorded module, read from file (the program file kept
 * beside the log, or the module's own path). */
static size_t module_for(const struct sl_module *rec, const char *file)
{
	for (size_t i = 0; i < nmods; i++)
		if (mods[i].buildid_len == rec->buildid_len && !memcmp(mods[i].buildid, rec->buildid, rec->buildid_len) &&
		    !strcmp(mods[i].path, file))
			return i + 1;
	if (nmods == capmods) {
		capmods = capmods ? capmods * 2 : 32;
		mods = realloc(mods, capmods * sizeof *mods);
	}
	struct module *m = &mods[nmods++];
	memset(m, 0, sizeof *m);
	m->path = strdup(file);
	m->buildid_len = rec->buildid_len;
	memcpy(m->buildid, rec->buildid, rec->buildid_len);
	open_module(m, file != rec->path);
	return nmods;
}

/* libstdc++'s demangler: C++ frames as people write them, node::TCPWrap::Connect(...). Loaded
 * when the first C++ name is met: linked in, libstdc++ (and libgcc_s after it) were mapped and
 * relocated at every start of socklens, 43 page faults and about 1.6 ms of `socklens run` on a VM
 * like ours, for the reports that name no C++ frame. Without libstdc++ the name stays mangled. */
typedef char *demangle_fn(const char *mangled, char *buf, size_t *len, int *status);

static demangle_fn *demangle_loaded;

static void load_demangler(void)
{
	void *lib = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (lib)
		demangle_loaded = (demangle_fn *)dlsym(lib, "__cxa_demangle");
}

static demangle_fn *demangler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, load_demangler);
	return demangle_loaded;
}

static void set_name(char *out, size_t len, const char *name)
{
	int status = -1;
	demangle_fn *demangle = name[0] == '_' && name[1] == 'Z' ? demangler() : NULL;
	char *plain = demangle ? demangle(name, NULL, NULL, &status) : NULL;
	snprintf(out, len, "%s", status == 0 && plain ? plain : name);
	free(plain);
}

/* The DIE that declares die: through its abstract origin (an inlined or out-of-line copy) and
 * its specification (a method defined outside its class), where its enclosing scopes are. */
static void declaration(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;
	*out = *die;
	for (int hops = 0; hops < 4; hops++) {
		Dwarf_Die next;
		if ((dwarf_attr(out, DW_AT_abstract_origin, &attr) || dwarf_attr(out, DW_AT_specification, &attr)) &&
		    dwarf_formref_die(&attr, &next))
			*out = next;
		else
			break;
	}
}

/* "ns::Class::" for a C++ function: the namespaces, classes and structures around its declaration,
 * outermost first; "" for C, or when there are none. */
static void scope_prefix(Dwarf_Die *decl, char *out, size_t len)
{
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes_die(decl, &scopes);
	size_t used = 0;
	out[0] = 0;
	for (int i = n - 1; i > 0 && used < len; i--) {
		int tag = dwarf_tag(&scopes[i]);
		const char *name = dwarf_diename(&scopes[i]);
		int type = tag == DW_TAG_class_type || tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
		if (!name && type)
			name = "{lambda}"; /* a closure's class has no name */
		if (!name || (!type && tag != DW_TAG_namespace && tag != DW_TAG_subprogram))
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s::", name);
	}
	free(scopes);
}

/* A function as people write it: C++ qualified (from its linkage name, demangled, without the
 * parameters; else its scopes and name), C as it is. */
static void die_name(Dwarf_Die *die, char *out, size_t len)
{
	Dwarf_Attribute attr;
	const char *name = NULL, *linkage = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr))
		linkage = dwarf_formstring(&attr);
	if (dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	if (linkage && linkage[0] == '_' && linkage[1] == 'Z') {
		set_name(out, len, linkage);
		char *paren = strchr(out, '(');
		if (paren && paren != out && !strstr(out, "operator()"))
			*paren = 0; /* the parameters make lines long; the qualified name is what is read */
		return;
	}
	if (!name)
		return;
	Dwarf_Die decl;
	char prefix[200];
	declaration(die, &decl);
	scope_prefix(&decl, prefix, sizeof prefix);
	snprintf(out, len, "%s%s", prefix, name);
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

/* libdw finds a compile unit through .debug_aranges, which the Go linker does not write: then an
 * index of every unit's address ranges, built once per module, finds it. */
static Dwarf_Die *cu_of(struct module *m, Dwfl_Module *mod, GElf_Addr pc, Dwarf_Addr *bias, Dwarf_Die *out)
{
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, bias);
	Dwarf *dw = cu ? NULL : dwfl_module_getdwarf(mod, bias);
	if (cu || !dw)
		return cu;
	if (!m->cus_built) {
		m->cus_built = 1;
		Dwarf_Off off = 0, next;
		size_t hsize;
		while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
			Dwarf_Die die;
			Dwarf_Addr base, lo, hi;
			ptrdiff_t it = 0;
			if (dwarf_offdie(dw, off + hsize, &die)) {
				while ((it = dwarf_ranges(&die, it, &base, &lo, &hi)) > 0) {
					m->cus = realloc(m->cus, (m->ncus + 1) * sizeof *m->cus);
					m->cus[m->ncus++] = (struct cu_range){lo, hi, off + hsize};
				}
			}
			off = next;
		}
	}
	for (size_t i = 0; i < m->ncus; i++)
		if (pc - *bias >= m->cus[i].lo && pc - *bias < m->cus[i].hi)
			return dwarf_offdie(dw, m->cus[i].off, out);
	return NULL;
}

/* Splits one address into its chain of inlined functions, innermost first. */
static size_t expand_inlines(struct module *m, Dwfl_Module *mod, GElf_Addr pc, struct sl_frame *f, size_t max)
{
	Dwarf_Addr bias;
	Dwarf_Die cubuf, *cu = cu_of(m, mod, pc, &bias, &cubuf), *scopes = NULL, inner;
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

/* Fills f (f[0] already has addr, offset, module) from the module's debug info and symbols. */
static size_t resolve(struct module *m, uint64_t vaddr, struct sl_frame *f, size_t max)
{
	if (!m->dwfl)
		return 1;
	if (m->changed) {
		snprintf(f->function, sizeof f->function, "%s", "(file changed since the run)");
		return 1;
	}
	GElf_Addr pc = vaddr - 1; /* a return address points after the call */
	Dwfl_Module *mod = dwfl_addrmodule(m->dwfl, pc);
	if (!mod)
		return 1;
	/* Go code: the runtime's own table, whose inlining tree pairs each inlined function with its
	 * line (the DWARF of Go 1.19 and later often has no inlined scope at a call's return address,
	 * and the line table alone gives the inlined callee's line under the caller's name) */
	if (m->go != 2) {
		Dwarf_Addr gbias;
		Elf *elf = dwfl_module_getelf(mod, &gbias);
		if (!m->go)
			m->go = sl_gopclntab_present(elf) ? 1 : 2;
		size_t k = m->go == 1 ? sl_gopclntab_frames(elf, pc, f, max) : 0;
		if (k)
			return k;
	}
	Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
	int lineno = 0;
	const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (!line) { /* no .debug_aranges: the unit from our index, the line from its table */
		Dwarf_Addr bias;
		Dwarf_Die cubuf, *cu = cu_of(m, mod, pc, &bias, &cubuf);
		Dwarf_Line *dl = cu ? dwarf_getsrc_die(cu, pc - bias) : NULL;
		file = dl ? dwarf_linesrc(dl, NULL, NULL) : NULL;
		if (dl)
			dwarf_lineno(dl, &lineno);
	}
	if (file) {
		snprintf(f->file, sizeof f->file, "%s", file);
		f->line = lineno;
	}
	size_t n = expand_inlines(m, mod, pc, f, max);
	if (n > 0 && f[n - 1].function[0])
		return n;
	GElf_Off off;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	if (name) {
		set_name(f->function, sizeof f->function, name);
	} else { /* a stripped Go binary still has the runtime's own table */
		Dwarf_Addr bias;
		size_t k = sl_gopclntab_frames(dwfl_module_getelf(mod, &bias), pc, f, max);
		return k ? k : 1;
	}
	return 1;
}

static struct answer *answer_slot(size_t module, uint64_t vaddr)
{
	if (nanswers * 2 >= capanswers) {
		size_t ncap = capanswers ? capanswers * 2 : 1024;
		struct answer *n = calloc(ncap, sizeof *n);
		for (size_t i = 0; i < capanswers; i++) {
			if (!answers[i].module)
				continue;
			size_t h = (answers[i].module * 31 + answers[i].vaddr * 0x9e3779b97f4a7c15ull) & (ncap - 1);
			while (n[h].module)
				h = (h + 1) & (ncap - 1);
			n[h] = answers[i];
		}
		free(answers);
		answers = n;
		capanswers = ncap;
	}
	size_t h = (module * 31 + vaddr * 0x9e3779b97f4a7c15ull) & (capanswers - 1);
	while (answers[h].module && (answers[h].module != module || answers[h].vaddr != vaddr))
		h = (h + 1) & (capanswers - 1);
	return &answers[h];
}

static const struct sl_module *recorded_module(const struct sl_space *sp, uint64_t ip)
{
	for (uint32_t i = 0; i < sp->nmods; i++)
		if (sp->mods[i].commit && ip >= sp->mods[i].lo && ip < sp->mods[i].hi)
			return &sp->mods[i];
	return NULL;
}

const struct sl_lang *sl_space_lang(const struct sl_space *sp, uint64_t index)
{
	uint32_t lo = 0, hi = sp->nlangs;
	while (index < UINT32_MAX && lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (sp->lang_ids[mid] == index)
			return &sp->langs[mid];
		if (sp->lang_ids[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t sl_symbolize(const struct sl_space *sp, uint64_t ip, struct sl_frame *f, size_t max)
{
	if (max == 0)
		return 0;
	memset(f, 0, sizeof *f);
	f->addr = ip;
	if (ip & SL_LANG_IP) { /* a Python, Java or JavaScript frame, named by the shim */
		uint64_t id = ip & ~SL_LANG_IP;
		const struct sl_lang *l = sl_space_lang(sp, id);
		f->addr = 0;
		snprintf(f->function, sizeof f->function, "%s", l ? l->func : "(a language frame)");
		if (l) {
			snprintf(f->file, sizeof f->file, "%s", l->file);
			f->line = l->line > 0 ? l->line : 0;
		}
		snprintf(f->module, sizeof f->module, "%s",
			 !l || l->lang == SL_LANG_PYTHON ? "python" : l->lang == SL_LANG_JAVA ? "java" : "js");
		return 1;
	}
	const struct sl_module *m = recorded_module(sp, ip);
	if (!m && ip && sp->jit && sl_jit_name(sp->jit, ip, f))
		return 1; /* JavaScript, named from V8's perf map */
	if (!m || ip == 0)
		return 1;
	f->offset = ip - m->base;
	const char *slash = strrchr(m->path, '/');
	int main_file = sp->exe && !strcmp(m->path, sp->exe);
	const char *shown = main_file && sp->exe_name && sp->exe_name[0]
				    ? sp->exe_name
				    : slash ? slash + 1 : m->path;
	snprintf(f->module, sizeof f->module, "%.200s", shown);
	size_t mi = module_for(m, main_file && sp->kept_exe ? sp->kept_exe : m->path);
	struct answer *a = answer_slot(mi, f->offset);
	if (!a->module) {
		struct sl_frame tmp[SL_MAX_FRAMES];
		tmp[0] = *f;
		a->n = resolve(&mods[mi - 1], f->offset, tmp, SL_MAX_FRAMES);
		a->f = malloc(a->n * sizeof *a->f);
		memcpy(a->f, tmp, a->n * sizeof *a->f);
		a->module = mi;
		a->vaddr = f->offset;
		nanswers++;
	}
	size_t n = a->n < max ? a->n : max;
	for (size_t i = 0; i < n; i++) {
		f[i] = a->f[i];
		f[i].addr = ip; /* the cached answer may come from another process's address */
		snprintf(f[i].module, sizeof f[i].module, "%.200s", shown); /* ... and its name */
	}
	return n;
}

void sl_symbolizer_reset(void)
{
	for (size_t i = 0; i < nmods; i++) {
		if (mods[i].dwfl)
			dwfl_end(mods[i].dwfl);
		free(mods[i].path);
		free(mods[i].cus);
	}
	for (size_t i = 0; i < capanswers; i++)
		free(answers[i].f);
	free(mods);
	free(answers);
	mods = NULL;
	answers = NULL;
	nmods = capmods = nanswers = capanswers = 0;
}

/* Frames below the program's own code: how a process or thread starts, never what to change. */
static int startup_frame(const struct sl_frame *f)
{
	static const char *const names[] = {"_start", "__libc_start_main", "__libc_start_main_impl",
					    "__libc_start_call_main", "start_thread", "clone", "clone3",
					    "runtime.main", "runtime.goexit"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(f->function, names[i]))
			return 1;
	return 0;
}

size_t sl_frames_trim(const struct sl_frame *f, size_t n)
{
	while (n > 1 && startup_frame(&f[n - 1]))
		n--;
	return n;
}
