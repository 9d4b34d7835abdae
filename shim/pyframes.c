/* pyframes.c - Python's own frames in the stacks the shim captures, so a finding in a Python
 * program points at `fetch (app.py:12)`, not at the interpreter's C code.
 *
 * CPython 3.11 to 3.13 keep each thread's frames in a chain the thread owns: the thread state (found the
 * way PyGILState_GetThisThreadState finds it: a TSS key in _PyRuntime) points to its current
 * frame, each frame to its code object, its last instruction and the frame that called it. The
 * chain is read the way out-of-process profilers read it, without the GIL and without calling
 * anything that allocates or runs Python code: only loads, on the calling thread's own frames,
 * during a socket call (which runs with the GIL released, so nothing changes them meanwhile).
 *
 * The layout is checked once before it is trusted: the version (Py_Version 3.11, 3.12 or 3.13: a table
 * of offsets for each, from offsetof() against that version's own headers), the TSS key
 * read through process_vm_readv (a wrong offset reads garbage, never faults), the thread state it
 * gives against PyGILState_GetThisThreadState's answer, and the thread id stored in it. After
 * that, every object's type is checked before its fields are used. Anything else: no Python
 * frames, and the log says so (SL_HDR_PY_UNREAD). Frames are named once per (code, offset) and
 * kept in the log's language table; stacks refer to them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/uio.h>
#include "rawsys.h"
#include "record.h"

/* The layouts read, x86-64 (Include/internal/pycore_runtime.h, pycore_frame.h, cpython/code.h,
 * cpython/unicodeobject.h), as offsetof() gives them against each version's own headers. */
struct py_layout {
	unsigned version;            /* Py_Version >> 16 */
	unsigned rt_finalizing, rt_auto_interp, rt_tss_init, rt_tss_key;
	unsigned ts_cframe, ts_thread_id, cf_current; /* cf_current NO_CFRAME: ts_cframe is the frame */
	unsigned if_code, if_previous, if_prev_instr, if_owner;
	unsigned co_firstlineno, co_filename, co_qualname, co_linetable, co_firsttraceable, co_code;
	unsigned u_ascii_data, u_compact_data;
};
#define NO_CFRAME 0xffffu
static const struct py_layout layouts[] = {
	{0x030b, 24, 584, 592, 596, 56, 152, 8, 32, 48, 56, 69, 72, 112, 128, 136, 168, 184, 48, 72},
	{0x030c, 24, 2568, 1544, 1548, 56, 136, 0, 0, 8, 56, 70, 68, 112, 128, 136, 176, 192, 40, 56},
	/* 3.13: the thread state holds its current frame (no _PyCFrame); instr_ptr where 3.12 had
	 * prev_instr, read the same way (_PyInterpreterFrame_LASTI) */
	{0x030d, 608, 9888, 2160, 2164, 72, 152, NO_CFRAME, 0, 8, 56, 70, 68, 112, 128, 136, 184, 200, 40, 56},
};
static const struct py_layout *L;
enum {
	OWNED_BY_GENERATOR = 1, OWNED_BY_CSTACK = 3, /* 3.12: the C stack's entry frame, not Python code */
	OB_TYPE = 8, VAR_SIZE = 16, BYTES_DATA = 32,
	U_LENGTH = 16, U_STATE = 32,
};

static struct {
	int state;                   /* 0 not checked yet, 1 readable, -1 not (or not Python) */
	uintptr_t runtime, code_type, unicode_type, bytes_type;
	uintptr_t eval_lo, eval_hi;  /* _PyEval_EvalFrameDefault: where Python frames run */
	void *(*this_thread)(void);
} py;


/* Before 3.11 (no Py_Version): "3.10.13 (main, ..." from Py_GetVersion, a static string. */
static uint32_t version_of_string(void)
{
	const char *(*get)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
	const char *v = get ? get() : NULL;
	unsigned major = 0, minor = 0;
	if (!v || v[0] < '0' || v[0] > '9' || v[1] != '.')
		return 0;
	major = (unsigned)(v[0] - '0');
	for (const char *p = v + 2; *p >= '0' && *p <= '9' && minor < 100; p++)
		minor = minor * 10 + (unsigned)(*p - '0');
	return major << 8 | minor;
}

SL_START void sl_py_init(void)
{
	const unsigned long *ver = dlsym(RTLD_DEFAULT, "Py_Version");
	void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
	py.state = -1;
	if (!eval || !dlsym(RTLD_DEFAULT, "_PyRuntime") || sl_g.params.no_lang_frames)
		return; /* not a Python process, or asked not to */
	for (size_t i = 0; ver && i < sizeof layouts / sizeof layouts[0]; i++)
		if ((*ver >> 16) == layouts[i].version)
			L = &layouts[i];
	if (!L) { /* another version: its layout is not known here */
		sl_g.log.hdr->flags |= SL_HDR_PY_UNREAD;
		sl_g.log.hdr->lang_why = ver ? (uint32_t)(*ver >> 16) : version_of_string();
		return;
	}
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (!dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
		return;
	py.runtime = (uintptr_t)dlsym(RTLD_DEFAULT, "_PyRuntime");
	py.code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
	py.unicode_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
	py.bytes_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
	py.this_thread = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
	py.eval_lo = (uintptr_t)eval;
	py.eval_hi = py.eval_lo + sym->st_size;
	if (py.code_type && py.unicode_type && py.bytes_type && py.this_thread)
		py.state = 0;
}

/* A read that cannot fault: process_vm_readv on ourselves. */
static int safe_read(void *dst, uintptr_t src, size_t n)
{
	struct iovec l = {dst, n}, r = {(void *)src, n};
	return src >= 4096 && sl_sys6(SYS_process_vm_readv, sl_sys3(SYS_getpid, 0, 0, 0), (long)&l, 1, (long)&r, 1, 0) ==
				      (long)n ? 0 : -1;
}

static uintptr_t word(uintptr_t p)
{
	return *(const uintptr_t *)p;
}

/* The calling thread's PyThreadState, or 0: not a Python thread, or the interpreter finalizing. */
static uintptr_t thread_state(int checked)
{
	uintptr_t fin, interp;
	int inited;
	unsigned key;
	if (checked) { /* the layout is known good: plain loads from _PyRuntime */
		fin = word(py.runtime + L->rt_finalizing);
		interp = word(py.runtime + L->rt_auto_interp);
		inited = *(const int *)(py.runtime + L->rt_tss_init);
		key = *(const unsigned *)(py.runtime + L->rt_tss_key); /* re-read: a fork makes a new key */
		if (fin || !interp || !inited)
			return 0;
	} else if (safe_read(&fin, py.runtime + L->rt_finalizing, sizeof fin) || fin ||
		   safe_read(&interp, py.runtime + L->rt_auto_interp, sizeof interp) || !interp ||
		   safe_read(&inited, py.runtime + L->rt_tss_init, sizeof inited) || !inited ||
		   safe_read(&key, py.runtime + L->rt_tss_key, sizeof key)) {
		return 0;
	}
	uintptr_t ts = (uintptr_t)pthread_getspecific((pthread_key_t)key), id;
	if (!ts)
		return 0;
	if (!checked) { /* the first time: is this really the thread state? */
		if (ts != (uintptr_t)py.this_thread() || safe_read(&id, ts + L->ts_thread_id, sizeof id) ||
		    id != (uintptr_t)pthread_self()) {
			py.state = -1;
			sl_g.log.hdr->flags |= SL_HDR_PY_UNREAD;
			return 0;
		}
		py.state = 1;
		sl_g.log.hdr->flags |= SL_HDR_PY_FRAMES;
	}
	return word(ts + L->ts_thread_id) == (uintptr_t)pthread_self() ? ts : 0;
}

/* A str's characters (ASCII; anything else as '?'), or "?" for what is not a str. */
static void str_copy(uintptr_t s, char *out, size_t cap)
{
	out[0] = '?';
	out[1] = 0;
	if (!s || word(s + OB_TYPE) != py.unicode_type)
		return;
	int64_t len = *(const int64_t *)(s + U_LENGTH);
	uint32_t st = *(const uint32_t *)(s + U_STATE);
	unsigned kind = (st >> 2) & 7, compact = (st >> 5) & 1, ascii = (st >> 6) & 1;
	if (!compact || !kind || len < 0)
		return;
	const unsigned char *d = (const unsigned char *)(s + (ascii ? L->u_ascii_data : L->u_compact_data));
	size_t n = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = kind == 1 ? d[i] : kind == 2 ? ((const uint16_t *)d)[i] : ((const uint32_t *)d)[i];
		out[i] = c < 0x80 ? (char)c : '?';
	}
	out[n] = 0;
}

/* 3.11's location table (Objects/locations.md): entries of (code units, line delta, columns); the
 * line of byte offset addr, or -1 where the code has none. */
static int varint(const uint8_t **p, const uint8_t *end, unsigned *v)
{
	unsigned r, shift = 0, val = 0;
	do {
		if (*p >= end || shift > 24)
			return -1;
		r = *(*p)++;
		val |= (r & 63) << shift;
		shift += 6;
	} while (r & 64);
	*v = val;
	return 0;
}

static int line_of(const uint8_t *p, const uint8_t *end, int line, int addr)
{
	int at = 0;
	while (p < end) {
		uint8_t b = *p;
		int code = (b >> 3) & 15, delta = 0;
		const uint8_t *q = p + 1;
		unsigned u;
		if ((code == 13 || code == 14) && varint(&q, end, &u) == 0)
			delta = (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
		else if (code == 11 || code == 12)
			delta = code - 10;
		line += delta;
		at += ((b & 7) + 1) * 2;
		if (addr < at)
			return code == 15 ? -1 : line;
		do
			p++;
		while (p < end && !(*p & 0x80));
	}
	return -1;
}

/* The record of a frame: (code, offset) named once per process. -1 when the table is full. */
static int64_t name_frame(uintptr_t code, int lasti)
{
	uint64_t key = (uint64_t)code ^ ((uint64_t)lasti * 0x9e3779b97f4a7c15ull);
	int64_t known = sl_lang_cached(key);
	if (known >= 0)
		return known;
	char func[SL_LANG_FUNC], file[SL_LANG_FILE];
	int line = -1;
	uintptr_t lt = word(code + L->co_linetable);
	if (lt && word(lt + OB_TYPE) == py.bytes_type) {
		int64_t len = *(const int64_t *)(lt + VAR_SIZE);
		if (len >= 0 && len < (1 << 24))
			line = line_of((const uint8_t *)(lt + BYTES_DATA), (const uint8_t *)(lt + BYTES_DATA) + len,
				       *(const int *)(code + L->co_firstlineno), lasti * 2);
	}
	str_copy(word(code + L->co_qualname), func, sizeof func);
	str_copy(word(code + L->co_filename), file, sizeof file);
	return sl_lang_remember(key, sl_lang_add(&sl_g.log, SL_LANG_PYTHON, key, func, file, line));
}

int sl_py_active(void)
{
	return py.state == 1;
}

uint32_t sl_py_frames(uint64_t *ip, uint32_t n, uint32_t cap)
{
	if (py.state < 0)
		return n;
	uint32_t eval = n;
	for (uint32_t i = 0; i < n && eval == n; i++)
		if (ip[i] >= py.eval_lo && ip[i] < py.eval_hi)
			eval = i;
	if (eval == n)
		return n; /* not called from Python code */
	uintptr_t ts = thread_state(py.state == 1), cf, f;
	if (!ts || !(cf = word(ts + L->ts_cframe)))
		return n;
	f = L->cf_current == NO_CFRAME ? cf : word(cf + L->cf_current);
	/* the native frames above the evaluator (a C extension, the socket module), then Python's */
	uint32_t out = eval;
	for (int depth = 0; f && out < cap && depth < 256; depth++, f = word(f + L->if_previous)) {
		uintptr_t code = word(f + L->if_code);
		if (!code || word(code + OB_TYPE) != py.code_type)
			break;
		uintptr_t first = code + L->co_code, prev = word(f + L->if_prev_instr);
		int traceable = *(const int *)(code + L->co_firsttraceable);
		char owner = *(const char *)(f + L->if_owner);
		/* a frame pushed that has not begun (before its RESUME) is not a caller yet */
		if (owner == OWNED_BY_CSTACK || (owner != OWNED_BY_GENERATOR && prev < first + 2 * (uintptr_t)traceable))
			continue;
		int64_t id = name_frame(code, (int)(((intptr_t)prev - (intptr_t)first) / 2));
		if (id >= 0)
			ip[out++] = SL_LANG_IP | (uint64_t)id;
	}
	return out > eval ? out : n;
}
