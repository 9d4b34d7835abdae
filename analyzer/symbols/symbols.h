/* symbols.h - addresses to function, file and line: ELF and DWARF through libdw (C, C++, Go with
 * DWARF), Go's .gopclntab (stripped Go binaries), V8's perf map (JavaScript), and the names the
 * shim recorded for Python, Java and JavaScript frames; what kind of program a file is (static,
 * Go, setuid). Uses base/ only: a process is described by its address space (struct sl_space), not
 * by a log. */
#ifndef SL_SYMBOLS_H
#define SL_SYMBOLS_H

#include "base/base.h"

struct sl_frame {
	uint64_t addr;
	uint64_t offset;             /* addr relative to the module's load bias */
	char function[256];
	char file[512];
	int line;
	int line_is_start;           /* the line is where the function starts (JavaScript) */
	char module[256];            /* "python", "java", "js" for language frames (addr 0) */
};

/* jitmap.c: V8's perf map ("START SIZE NAME" a line), read defensively */
struct sl_jitmap;
/* NULL when path is absent, unreadable, not regular, or older than not_before (seconds). */
struct sl_jitmap *sl_jitmap_read(const char *path, long not_before);
void sl_jitmap_free(struct sl_jitmap *m);
/* 1 if ip is JavaScript code the map names (f filled), else 0. */
int sl_jit_name(const struct sl_jitmap *m, uint64_t ip, struct sl_frame *f);
/* The map's line for ip ("START SIZE NAME", no newline) into out; 0, or -1 when none. */
int sl_jitmap_line(const struct sl_jitmap *m, uint64_t ip, char *out, size_t len);

/* What symbolizing one process's addresses needs: its modules, the language frames the shim
 * named (sorted by index), its V8 perf map. */
struct sl_space {
	const struct sl_module *mods;
	uint32_t nmods;
	const struct sl_lang *langs;
	const uint32_t *lang_ids;    /* langs[k] is the record with index lang_ids[k] */
	uint32_t nlangs;
	const struct sl_jitmap *jit;
	const char *exe;             /* the program file, and the name its process was started as: */
	const char *exe_name;        /* its frames show that (Debian's redis-server is a link to
				      * redis-check-rdb); NULL: the file's name */
	const char *kept_exe;        /* the program file as it ran, kept beside the log (a build that
				      * `go test` deleted); read instead of exe; NULL: none */
};
/* The language frame record with that index (SL_LANG_IP | index in a stack), or NULL. */
const struct sl_lang *sl_space_lang(const struct sl_space *sp, uint64_t index);

/* symbolize.c: one cache for every process of a run. Symbolizes ip (a return address) into up to
 * max frames, innermost first: one per function inlined at that address, then the function
 * holding it. Always returns at least 1 (max > 0) with addr filled and what could be found. */
size_t sl_symbolize(const struct sl_space *sp, uint64_t ip, struct sl_frame *f, size_t max);
/* Drops every cached module and answer (end of a report). */
void sl_symbolizer_reset(void);

/* gopclntab.c: function, file and line of link-time address pc from a Go binary's .gopclntab;
 * 0, or -1 (no table, or not Go code). */
typedef struct Elf Elf;
/* pc's frames, innermost first (the functions inlined there, then the one holding it), into
 * f[0, max); f[0]'s address fields are copied into each. The count, 0 when pc is not Go code. */
size_t sl_gopclntab_frames(Elf *elf, uint64_t pc, struct sl_frame *f, size_t max);
/* Whether elf has a Go runtime table (a Go program, stripped or not). */
int sl_gopclntab_present(Elf *elf);
/* The link-time address range [entry, end) of the Go function called name; 0, or -1. */
int sl_gopclntab_func(Elf *elf, const char *name, uint64_t *entry, uint64_t *end);
/* The Go release ("go1.19.8") and the module information text of a Go program's build
 * information (Go 1.18+), pointing into elf's data; 0, or -1. */
int sl_go_buildinfo(Elf *elf, const char **version, size_t *vlen, const char **info, size_t *ilen);
/* The path of the main module a Go program was built from ("github.com/prometheus/node_exporter"),
 * from its build information (Go 1.18+); 0, or -1 (none: a GOPATH build, an older Go). */
int sl_go_main_module(Elf *elf, char *out, size_t len);

/* elfcheck.c: why LD_PRELOAD cannot reach the program at path (NULL: it can), the same as an enum
 * sl_untraced (0: reachable), and whether it is a Go program (it keeps frame pointers on x86-64). */
const char *sl_untraceable_reason(const char *path);
int sl_untraceable_kind(const char *path);
int sl_elf_is_go(const char *path);
/* sites.c: the code of FILE:LINE (file set) or of function func in the program file at path, as at
 * most two address ranges [lo, hi) before relocation; how many were found (0: none). */
int sl_site_ranges(const char *path, const char *file, int line, const char *func, uint64_t lo[2], uint64_t hi[2]);

/* How many of f's n frames to show: without the C library's start-up frames at the end. */
size_t sl_frames_trim(const struct sl_frame *f, size_t n);

#endif
