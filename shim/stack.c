/* stack.c - call-site stacks (unwind.c) and the module map the analyzer symbolizes them with. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <string.h>
#include "shim.h"
#include "unwind.h"

static SL_TLS int t_unwinding; /* nesting guard: a signal handler inside a capture skips stacks */

/* Our own text, dropped from stacks. */
SL_START void sl_stack_init(void)
{
	struct dl_find_object self;
	sl_unwind_init();
	if (_dl_find_object((void *)(uintptr_t)&sl_stack_capture, &self) == 0) {
		sl_g.shim_lo = (uint64_t)(uintptr_t)self.dlfo_map_start;
		sl_g.shim_hi = (uint64_t)(uintptr_t)self.dlfo_map_end;
	}
	if (sl_g.log.hdr)
		sl_g.log.hdr->flags |= SL_HDR_STACKS;
}

static int is_shim_ip(uint64_t ip)
{
	return ip >= sl_g.shim_lo && ip < sl_g.shim_hi;
}

SL_START const void *sl__elf_note(const ElfW(Phdr) *ph, unsigned phnum, uint64_t bias, uint32_t type, const char *name,
				  uint32_t *len, size_t in_file)
{
	size_t nl = strlen(name) + 1;
	for (unsigned i = 0; i < phnum; i++) {
		if (ph[i].p_type != PT_NOTE || (in_file && (ph[i].p_offset > in_file || ph[i].p_filesz > in_file - ph[i].p_offset)))
			continue;
		const char *p = (const char *)(uintptr_t)(bias + (in_file ? ph[i].p_offset : ph[i].p_vaddr)),
			   *end = p + (in_file ? ph[i].p_filesz : ph[i].p_memsz);
		while (end - p >= (ptrdiff_t)sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t room = (size_t)(end - p) - sizeof *nh, nsz = (nh->n_namesz + 3) & ~(size_t)3,
			       dsz = (nh->n_descsz + 3) & ~(size_t)3;
			if (nsz > room || dsz > room - nsz)
				break;
			/* (the name counted with its NUL; Go's linker counts "Go" padded to 4 bytes) */
			if (nh->n_type == type && nh->n_namesz >= nl && nh->n_namesz <= nsz && !memcmp(p + sizeof *nh, name, nl)) {
				*len = nh->n_descsz;
				return p + sizeof *nh + nsz;
			}
			p += sizeof *nh + nsz + dsz;
		}
	}
	return NULL;
}

/* The GNU build-id note of the object whose ELF header is mapped at base, if the header and its
 * program headers sit in the first page, as the loader maps them. */
static uint32_t build_id(const char *base, uint64_t bias, const uint8_t **out)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phentsize != sizeof(ElfW(Phdr)) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(ElfW(Phdr)) > 4096)
		return 0;
	uint32_t len = 0;
	*out = sl__elf_note((const ElfW(Phdr) *)(base + eh->e_phoff), eh->e_phnum, bias, NT_GNU_BUILD_ID, "GNU", &len, 0);
	return *out ? len : 0;
}

/* Records the object holding ip, unless it is known or is no object (JIT code). Lock-free:
 * _dl_find_object instead of dl_iterate_phdr, which takes the loader's lock. */
static void note_module(uint64_t ip)
{
	struct dl_find_object obj;
	if (sl_module_known(&sl_g.log, ip) || _dl_find_object((void *)(uintptr_t)(ip - 1), &obj) != 0)
		return;
	const struct link_map *lm = obj.dlfo_link_map;
	const char *path = lm && lm->l_name && lm->l_name[0] ? lm->l_name : sl_g.log.hdr->exe;
	if (strstr(path, "linux-vdso"))
		return;
	const uint8_t *bid = NULL;
	uint32_t bidlen = build_id(obj.dlfo_map_start, lm ? lm->l_addr : 0, &bid);
	sl_module_add(&sl_g.log, path, lm ? lm->l_addr : 0, (uint64_t)(uintptr_t)obj.dlfo_map_start,
		      (uint64_t)(uintptr_t)obj.dlfo_map_end, bid, bidlen);
}

void sl_stack_note_site(uint64_t ip)
{
	if (ip && !(ip & (SL_LANG_IP | SL_SITE_STACK)) && sl_g.log.hdr && (sl_g.log.hdr->flags & SL_HDR_STACKS))
		note_module(ip);
}

/* Captures the caller's stack, drops our own frames, and interns it. Returns 0 if unavailable. */
uint32_t sl_stack_capture(void)
{
	uint64_t raw[SL_MAX_FRAMES + 8], *ip;
	if (!(sl_g.log.hdr && (sl_g.log.hdr->flags & SL_HDR_STACKS)) || t_unwinding)
		return 0;
	if (sl_t_origin) /* Node.js: the stack where the program asked for this call */
		return sl_t_origin;
	t_unwinding = 1;
	int got = sl_unwind(raw, (int)(sizeof raw / sizeof raw[0])), first = 0, inserted;
	/* everything up to our outermost frame is the shim itself */
	for (int i = 0; i < got; i++)
		if (is_shim_ip(raw[i]))
			first = i + 1;
	ip = raw + first;
	uint32_t n = (uint32_t)(got - first) > SL_MAX_FRAMES ? SL_MAX_FRAMES : (uint32_t)(got - first);
	uint32_t room = (uint32_t)(sizeof raw / sizeof raw[0]) - (uint32_t)first;
	if (room > SL_MAX_FRAMES)
		room = SL_MAX_FRAMES;
	n = sl_py_frames(ip, n, room);   /* Python's own frames */
	n = sl_java_frames(ip, n, room); /* Java's */
	uint32_t id = sl_stack_intern(&sl_g.log, ip, n, &inserted);
	/* a stack seen before had its modules noted then */
	for (uint32_t i = 0; inserted && i < n; i++)
		if (!(ip[i] & SL_LANG_IP))
			note_module(ip[i]);
	t_unwinding = 0;
	return id;
}
