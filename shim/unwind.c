/* unwind.c - call stacks from the loader's own unwind tables: no fd, no lock, no allocation.
 *
 * Why not libunwind: Debian's libunwind 1.6 validates memory through a pipe it opens at first use
 * (the lowest free fds) and later reads, writes and closes whatever those numbers have become in
 * the program (shim-pitfalls section 10). This walker finds each frame's object with
 * _dl_find_object (glibc >= 2.35: lock-free and async-signal-safe), its FDE through the object's
 * .eh_frame_hdr search table, runs the DWARF call-frame program to the frame's pc, and steps.
 * Frames without unwind info (JIT code, -fno-asynchronous-unwind-tables) are crossed by frame
 * pointer, with every read of that guess checked by process_vm_readv on ourselves, which fails
 * with EFAULT instead of faulting.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include "rawsys.h"
#include "logw.h"
#include "unwind.h"

/* DWARF register numbers on x86-64. Only the callee-saved registers, the stack pointer and the
 * return address survive a call, so rules are kept for those alone (a compact index). */
enum { R_RBX = 3, R_RBP = 6, R_RSP = 7, R_R12 = 12, R_R15 = 15, R_RA = 16, NREGS = 17 };
enum { K_RBX, K_RBP, K_R12, K_R13, K_R14, K_R15, K_RA, NKEPT };

static int kept(uint64_t reg)
{
	switch (reg) {
	case R_RBX: return K_RBX;
	case R_RBP: return K_RBP;
	case 12: case 13: case 14: case 15: return K_R12 + (int)(reg - 12);
	case R_RA: return K_RA;
	}
	return -1;
}

static const uint8_t kept_reg[NKEPT] = {R_RBX, R_RBP, 12, 13, 14, 15, R_RA};

enum rule_kind { RULE_SAME = 0, RULE_UNDEF, RULE_OFFSET, RULE_VAL_OFFSET, RULE_REG, RULE_EXPR, RULE_VAL_EXPR };

struct rule {
	uint8_t kind;
	uint8_t reg;
	uint32_t exprlen;
	int64_t off;           /* an offset, or the expression's address */
};

struct row {
	struct rule r[NKEPT];
	uint8_t cfa_reg;       /* 0xff: the CFA is an expression */
	uint32_t cfa_exprlen;
	int64_t cfa_off;       /* an offset, or the expression's address */
};

struct frame {
	uint64_t reg[NREGS];   /* reg[R_RA] holds the pc */
	uint32_t known;        /* bit per register whose value we know */
};

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint32_t ra_reg;
	uint8_t fde_enc;
	uint8_t signal;
	uint8_t has_z;         /* FDEs carry an augmentation length */
	const uint8_t *insns, *end;
};

#define MAX_STATES 8

/* ---- safe memory reads ---- */

static int checked_read(uint64_t addr, uint64_t *out)
{
	struct iovec local = {out, sizeof *out}, remote = {(void *)(uintptr_t)addr, sizeof *out};
	return sl_sys6(SYS_process_vm_readv, sl_sys3(SYS_getpid, 0, 0, 0), (long)&local, 1, (long)&remote, 1, 0) ==
		       (long)sizeof *out ? 0 : -1;
}

/* ---- DWARF encodings ---- */

struct cur {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t get_u(struct cur *c, int n)
{
	uint64_t v = 0;
	if (c->end - c->p < n) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, (size_t)n); /* x86-64: little-endian */
	c->p += n;
	return v;
}

static uint64_t uleb(struct cur *c)
{
	uint64_t v = 0;
	for (int shift = 0; c->p < c->end && shift < 64; shift += 7) {
		uint8_t b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = 1;
	return v;
}

static int64_t sleb(struct cur *c)
{
	uint64_t v = 0;
	int shift = 0;
	uint8_t b = 0x80;
	while (c->p < c->end && shift < 64 && (b & 0x80)) {
		b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80) {
		c->bad = 1;
		return 0;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

/* A pointer in DW_EH_PE encoding enc; datarel is relative to dbase. Indirect pointers are not
 * followed (they only appear for personality routines, which we skip). */
static uint64_t enc_ptr(struct cur *c, uint8_t enc, uint64_t dbase)
{
	const uint8_t *at = c->p;
	uint64_t v;
	if (enc == 0xff)
		return 0;
	switch (enc & 0x0f) {
	case 0x00: v = get_u(c, 8); break;
	case 0x01: v = uleb(c); break;
	case 0x02: v = get_u(c, 2); break;
	case 0x03: v = get_u(c, 4); break;
	case 0x04: v = get_u(c, 8); break;
	case 0x09: v = (uint64_t)sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)get_u(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)get_u(c, 4); break;
	case 0x0c: v = get_u(c, 8); break;
	default: c->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += (uint64_t)(uintptr_t)at; break;
	case 0x30: v += dbase; break;
	default: c->bad = 1; break;
	}
	return v;
}

/* ---- CIE and FDE ---- */

static int parse_cie(const uint8_t *p, struct cie *cie)
{
	struct cur c = {p, p + 4, 0};
	uint64_t len = get_u(&c, 4);
	if (len == 0 || len >= 0xfffffff0u)
		return -1;
	c.end = c.p + len;
	if (get_u(&c, 4) != 0)
		return -1; /* not a CIE */
	uint8_t version = (uint8_t)get_u(&c, 1);
	const char *aug = (const char *)c.p;
	size_t alen = strnlen(aug, (size_t)(c.end - c.p));
	c.p += alen + 1;
	if (c.p > c.end || (version != 1 && version != 3 && version != 4))
		return -1;
	cie->code_align = uleb(&c);
	cie->data_align = sleb(&c);
	cie->ra_reg = version == 1 ? (uint32_t)get_u(&c, 1) : (uint32_t)uleb(&c);
	cie->fde_enc = 0;
	cie->signal = 0;
	cie->has_z = aug[0] == 'z';
	if (cie->has_z) {
		uint64_t n = uleb(&c);
		const uint8_t *data_end = c.p + n;
		for (size_t i = 1; i < alen && !c.bad; i++) {
			switch (aug[i]) {
			case 'R': cie->fde_enc = (uint8_t)get_u(&c, 1); break;
			case 'L': get_u(&c, 1); break;
			case 'P': enc_ptr(&c, (uint8_t)get_u(&c, 1) & 0x7f, 0); break;
			case 'S': cie->signal = 1; break;
			default: break; /* 'B', 'G': no data we need */
			}
		}
		c.p = data_end;
	} else if (alen) {
		return -1; /* an augmentation we cannot skip */
	}
	if (c.bad || c.p > c.end || cie->ra_reg != R_RA)
		return -1;
	cie->insns = c.p;
	cie->end = c.end;
	return 0;
}

struct fde {
	struct cie cie;
	uint64_t pc_begin, pc_end;
	const uint8_t *insns, *end;
};

static int parse_fde(const uint8_t *p, uint64_t dbase, struct fde *f)
{
	struct cur c = {p, p + 4, 0};
	uint64_t len = get_u(&c, 4);
	if (len == 0 || len >= 0xfffffff0u)
		return -1;
	c.end = c.p + len;
	const uint8_t *idp = c.p;
	uint32_t cie_off = (uint32_t)get_u(&c, 4);
	if (cie_off == 0 || parse_cie(idp - cie_off, &f->cie) < 0)
		return -1;
	f->pc_begin = enc_ptr(&c, f->cie.fde_enc, dbase);
	f->pc_end = f->pc_begin + enc_ptr(&c, f->cie.fde_enc & 0x0f, 0);
	if (f->cie.has_z) {
		uint64_t skip = uleb(&c);
		c.p += skip;
	}
	if (c.bad || c.p > c.end)
		return -1;
	f->insns = c.p;
	f->end = c.end;
	return 0;
}

/* Binary search of .eh_frame_hdr's table (DW_EH_PE_datarel|sdata4 pairs, sorted by pc). */
static const uint8_t *find_fde(const uint8_t *hdr, uint64_t pc)
{
	struct cur c = {hdr, hdr + 4, 0};
	if (hdr[0] != 1 || hdr[3] != 0x3b)
		return NULL;
	uint8_t ptr_enc = hdr[1], count_enc = hdr[2];
	c.p = hdr + 4;
	c.end = c.p + 16;
	enc_ptr(&c, ptr_enc, (uint64_t)(uintptr_t)hdr);
	uint64_t n = enc_ptr(&c, count_enc, (uint64_t)(uintptr_t)hdr);
	if (c.bad || n == 0)
		return NULL;
	const int32_t *tab = (const int32_t *)c.p;
	uint64_t lo = 0, hi = n;
	uint64_t base = (uint64_t)(uintptr_t)hdr;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (base + (uint64_t)(int64_t)tab[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if (base + (uint64_t)(int64_t)tab[2 * lo] > pc)
		return NULL;
	return (const uint8_t *)(uintptr_t)(base + (uint64_t)(int64_t)tab[2 * lo + 1]);
}

/* ---- the call-frame program ---- */

struct exec {
	struct row row, init, stack[MAX_STATES];
	int depth;
};

static struct rule *rule_of(struct row *r, uint64_t reg)
{
	int k = kept(reg);
	return k < 0 ? NULL : &r->r[k];
}

static void set_rule(struct row *r, uint64_t reg, uint8_t kind, int64_t off)
{
	struct rule *ru = rule_of(r, reg);
	if (ru) {
		ru->kind = kind;
		ru->off = off;
	}
}

/* DW_CFA_expression and val_expression: the block follows as length and bytes. */
static void set_expr(struct row *r, uint64_t reg, uint8_t kind, struct cur *c)
{
	uint64_t len = uleb(c);
	struct rule *ru = rule_of(r, reg);
	if (ru) {
		ru->kind = kind;
		ru->off = (int64_t)(uintptr_t)c->p;
		ru->exprlen = (uint32_t)len;
	}
	c->p += len;
}

/* Runs instructions from p to end until the location passes pc. Returns -1 on what we do not know. */
static int run_cfa(struct exec *x, const struct cie *cie, const uint8_t *p, const uint8_t *end, uint64_t loc,
		   uint64_t pc)
{
	struct cur c = {p, end, 0};
	struct row *r = &x->row;
	while (c.p < c.end && !c.bad) {
		uint8_t op = *c.p++;
		uint64_t reg, delta = 0;
		switch (op & 0xc0) {
		case 0x40: delta = (op & 0x3f) * cie->code_align; goto advance;
		case 0x80: set_rule(r, op & 0x3f, RULE_OFFSET, (int64_t)uleb(&c) * cie->data_align); continue;
		case 0xc0: reg = op & 0x3f; if (kept(reg) >= 0) r->r[kept(reg)] = x->init.r[kept(reg)]; continue;
		}
		switch (op) {
		case 0x00: continue;
		case 0x01: loc = enc_ptr(&c, cie->fde_enc, 0); if (loc > pc) return 0; continue;
		case 0x02: delta = get_u(&c, 1) * cie->code_align; goto advance;
		case 0x03: delta = get_u(&c, 2) * cie->code_align; goto advance;
		case 0x04: delta = get_u(&c, 4) * cie->code_align; goto advance;
		case 0x05: reg = uleb(&c); set_rule(r, reg, RULE_OFFSET, (int64_t)uleb(&c) * cie->data_align); continue;
		case 0x06: reg = uleb(&c); if (kept(reg) >= 0) r->r[kept(reg)] = x->init.r[kept(reg)]; continue;
		case 0x07: set_rule(r, uleb(&c), RULE_UNDEF, 0); continue;
		case 0x08: set_rule(r, uleb(&c), RULE_SAME, 0); continue;
		case 0x09:
			reg = uleb(&c);
			set_rule(r, reg, RULE_REG, 0);
			delta = uleb(&c);
			if (kept(reg) >= 0)
				r->r[kept(reg)].reg = (uint8_t)delta;
			continue;
		case 0x0a:
			if (x->depth == MAX_STATES)
				return -1;
			x->stack[x->depth++] = *r;
			continue;
		case 0x0b:
			if (x->depth == 0)
				return -1;
			{ /* the CFA is not part of the remembered state in practice; keep both */
				struct row saved = x->stack[--x->depth];
				*r = saved;
			}
			continue;
		case 0x0c: r->cfa_reg = (uint8_t)uleb(&c); r->cfa_off = (int64_t)uleb(&c); continue;
		case 0x0d: r->cfa_reg = (uint8_t)uleb(&c); continue;
		case 0x0e: r->cfa_off = (int64_t)uleb(&c); continue;
		case 0x0f:
			r->cfa_reg = 0xff;
			r->cfa_exprlen = (uint32_t)uleb(&c);
			r->cfa_off = (int64_t)(uintptr_t)c.p;
			c.p += r->cfa_exprlen;
			continue;
		case 0x10:
		case 0x16:
			reg = uleb(&c);
			set_expr(r, reg, op == 0x10 ? RULE_EXPR : RULE_VAL_EXPR, &c);
			continue;
		case 0x11: reg = uleb(&c); set_rule(r, reg, RULE_OFFSET, sleb(&c) * cie->data_align); continue;
		case 0x12: r->cfa_reg = (uint8_t)uleb(&c); r->cfa_off = sleb(&c) * cie->data_align; continue;
		case 0x13: r->cfa_off = sleb(&c) * cie->data_align; continue;
		case 0x14: reg = uleb(&c); set_rule(r, reg, RULE_VAL_OFFSET, (int64_t)uleb(&c) * cie->data_align); continue;
		case 0x15: reg = uleb(&c); set_rule(r, reg, RULE_VAL_OFFSET, sleb(&c) * cie->data_align); continue;
		case 0x2e: uleb(&c); continue;
		case 0x2f: reg = uleb(&c); set_rule(r, reg, RULE_OFFSET, -(int64_t)uleb(&c) * cie->data_align); continue;
		default: return -1;
		}
advance:
		loc += delta;
		if (loc > pc)
			return 0;
	}
	return c.bad || c.p > c.end ? -1 : 0;
}

/* ---- DWARF expressions (signal frames, realigned stacks) ---- */

static int reg_value(const struct frame *f, uint64_t reg, uint64_t *out)
{
	if (reg >= NREGS || !(f->known & (1u << reg)))
		return -1;
	*out = f->reg[reg];
	return 0;
}

/* Evaluates a location expression with initial stack {push}; every memory read is checked. */
static int eval_expr(const uint8_t *p, uint64_t len, const struct frame *f, uint64_t push, uint64_t *out)
{
	uint64_t st[16];
	int sp = 0;
	struct cur c = {p, p + len, 0};
	st[sp++] = push;
	while (c.p < c.end && !c.bad) {
		uint8_t op = *c.p++;
		uint64_t a, b;
		if (sp >= 15)
			return -1;
		if (op >= 0x30 && op <= 0x4f) { /* lit0..31 */
			st[sp++] = op - 0x30u;
			continue;
		}
		if (op >= 0x70 && op <= 0x8f) { /* breg0..31 */
			int64_t off = sleb(&c);
			if (reg_value(f, op - 0x70u, &a) < 0)
				return -1;
			st[sp++] = a + (uint64_t)off;
			continue;
		}
		switch (op) {
		case 0x06: /* deref */
			if (sp < 1 || checked_read(st[sp - 1], &st[sp - 1]) < 0)
				return -1;
			break;
		case 0x08: st[sp++] = get_u(&c, 1); break;
		case 0x09: st[sp++] = (uint64_t)(int64_t)(int8_t)get_u(&c, 1); break;
		case 0x0a: st[sp++] = get_u(&c, 2); break;
		case 0x0b: st[sp++] = (uint64_t)(int64_t)(int16_t)get_u(&c, 2); break;
		case 0x0c: st[sp++] = get_u(&c, 4); break;
		case 0x0d: st[sp++] = (uint64_t)(int64_t)(int32_t)get_u(&c, 4); break;
		case 0x0e: case 0x0f: st[sp++] = get_u(&c, 8); break;
		case 0x10: st[sp++] = uleb(&c); break;
		case 0x11: st[sp++] = (uint64_t)sleb(&c); break;
		case 0x12: if (sp < 1) return -1; st[sp] = st[sp - 1]; sp++; break;
		case 0x13: if (sp < 1) return -1; sp--; break;
		case 0x23: if (sp < 1) return -1; st[sp - 1] += uleb(&c); break;
		case 0x92: /* bregx */
			a = uleb(&c);
			if (reg_value(f, a, &b) < 0)
				return -1;
			st[sp++] = b + (uint64_t)sleb(&c);
			break;
		case 0x96: break;
		case 0x1a: case 0x1c: case 0x1e: case 0x21: case 0x22: case 0x24: case 0x25: case 0x27:
		case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e:
			if (sp < 2)
				return -1;
			b = st[--sp];
			a = st[sp - 1];
			switch (op) {
			case 0x1a: a &= b; break;
			case 0x1c: a -= b; break;
			case 0x1e: a *= b; break;
			case 0x21: a |= b; break;
			case 0x22: a += b; break;
			case 0x24: a = b < 64 ? a << b : 0; break;
			case 0x25: a = b < 64 ? a >> b : 0; break;
			case 0x27: a ^= b; break;
			case 0x29: a = a == b; break;
			case 0x2a: a = (int64_t)a >= (int64_t)b; break;
			case 0x2b: a = (int64_t)a > (int64_t)b; break;
			case 0x2c: a = (int64_t)a <= (int64_t)b; break;
			case 0x2d: a = (int64_t)a < (int64_t)b; break;
			case 0x2e: a = a != b; break;
			}
			st[sp - 1] = a;
			break;
		default:
			return -1;
		}
	}
	if (c.bad || sp < 1)
		return -1;
	*out = st[sp - 1];
	return 0;
}

/* ---- stepping ---- */

static int cfa_of(const struct row *r, const struct frame *f, uint64_t *cfa)
{
	uint64_t v;
	if (r->cfa_reg == 0xff)
		return eval_expr((const uint8_t *)(uintptr_t)r->cfa_off, r->cfa_exprlen, f, 0, cfa);
	if (reg_value(f, r->cfa_reg, &v) < 0)
		return -1;
	*cfa = v + (uint64_t)r->cfa_off;
	return 0;
}

/* The caller's value of reg under rule r. Reads at CFA offsets follow the unwind tables, as
 * every unwinder does; only expressions (signal frames) read through the checked path. */
static int recover(const struct rule *r, uint64_t reg, const struct frame *f, uint64_t cfa, struct frame *out)
{
	uint64_t v, addr;
	switch (r->kind) {
	case RULE_SAME:
		if (reg_value(f, reg, &v) < 0)
			return 0;
		break;
	case RULE_UNDEF:
		return 0;
	case RULE_OFFSET:
		v = *(const uint64_t *)(uintptr_t)(cfa + (uint64_t)r->off);
		break;
	case RULE_VAL_OFFSET:
		v = cfa + (uint64_t)r->off;
		break;
	case RULE_REG:
		if (reg_value(f, r->reg, &v) < 0)
			return 0;
		break;
	case RULE_EXPR:
		if (eval_expr((const uint8_t *)(uintptr_t)r->off, r->exprlen, f, cfa, &addr) < 0 ||
		    checked_read(addr, &v) < 0)
			return 0;
		break;
	case RULE_VAL_EXPR:
		if (eval_expr((const uint8_t *)(uintptr_t)r->off, r->exprlen, f, cfa, &v) < 0)
			return 0;
		break;
	default:
		return 0;
	}
	out->reg[reg] = v;
	out->known |= 1u << reg;
	return 0;
}

/* ---- a cache of simple frames' rules ----
 * Most frames define the CFA from rsp or rbp and save registers at fixed offsets from it. Their
 * rules, keyed by pc, are kept compiled in a small table (private memory, shared by threads) so a
 * call site seen before costs a few loads per frame. An entry is written under its sequence word
 * (odd while written; one writer, by compare-and-swap) and read only if the word is unchanged
 * around the copy. sl_unwind_forget() (dlclose) bumps a generation that retires every entry. */

struct crule {
	uint8_t cfa_reg;        /* R_RSP or R_RBP */
	uint8_t kind[NKEPT];    /* RULE_SAME, RULE_UNDEF or RULE_OFFSET */
	int32_t cfa_off;
	int16_t off[NKEPT];
};

struct centry {
	uint32_t seq, gen;
	uint64_t pc;
	struct crule r;
};

#define CACHE_SIZE 512u
static struct centry *cache;
static uint32_t cache_gen;

SL_START void sl_unwind_init(void)
{
	long p = sl_sys6(SYS_mmap, 0, CACHE_SIZE * sizeof(struct centry), 3 /* PROT_READ|PROT_WRITE */,
			 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
	if (p > 0 || p < -4095)
		cache = (struct centry *)p;
}

void sl_unwind_forget(void)
{
	__atomic_fetch_add(&cache_gen, 1, __ATOMIC_RELEASE);
}

static struct centry *slot_for(uint64_t pc)
{
	uint64_t h = pc * 0x9e3779b97f4a7c15ull;
	return cache ? &cache[h >> 55 & (CACHE_SIZE - 1)] : NULL;
}

static int cache_get(uint64_t pc, struct crule *out)
{
	struct centry *e = slot_for(pc);
	if (!e)
		return 0;
	uint32_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if ((s1 & 1) || e->pc != pc || e->gen != __atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE))
		return 0;
	*out = e->r;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&e->seq, __ATOMIC_RELAXED) == s1;
}

static void cache_put(uint64_t pc, const struct crule *r, uint32_t gen)
{
	struct centry *e = slot_for(pc);
	uint32_t s = e ? __atomic_load_n(&e->seq, __ATOMIC_RELAXED) : 1;
	if ((s & 1) || !__atomic_compare_exchange_n(&e->seq, &s, s + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	e->pc = pc;
	e->gen = gen;
	e->r = *r;
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

/* Compiles row into r when it is simple enough to cache; returns 0 if not. */
static int compile(const struct row *row, struct crule *r)
{
	if ((row->cfa_reg != R_RSP && row->cfa_reg != R_RBP) || row->cfa_off != (int32_t)row->cfa_off)
		return 0;
	r->cfa_reg = row->cfa_reg;
	r->cfa_off = (int32_t)row->cfa_off;
	for (int k = 0; k < NKEPT; k++) {
		const struct rule *ru = &row->r[k];
		if (ru->kind > RULE_OFFSET || ru->off != (int16_t)ru->off)
			return 0;
		r->kind[k] = ru->kind;
		r->off[k] = (int16_t)ru->off;
	}
	return 1;
}

/* Applies compiled rules to f; returns 1 stepped or -1 stop. */
static int apply(const struct crule *r, struct frame *f)
{
	uint64_t cfa;
	if (reg_value(f, r->cfa_reg, &cfa) < 0)
		return -1;
	cfa += (uint64_t)(int64_t)r->cfa_off;
	if (cfa <= f->reg[R_RSP])
		return -1; /* the stack grows towards the callers */
	struct frame next = {{0}, 1u << R_RSP};
	next.reg[R_RSP] = cfa;
	for (int k = 0; k < NKEPT; k++) {
		uint8_t reg = kept_reg[k];
		if (r->kind[k] == RULE_OFFSET)
			next.reg[reg] = *(const uint64_t *)(uintptr_t)(cfa + (uint64_t)(int64_t)r->off[k]);
		else if (r->kind[k] == RULE_SAME && (f->known & (1u << reg)))
			next.reg[reg] = f->reg[reg];
		else
			continue;
		next.known |= 1u << reg;
	}
	if (!(next.known & (1u << R_RA)) || next.reg[R_RA] == 0)
		return -1; /* the outermost frame: _start, a thread's start */
	*f = next;
	return 1;
}

/* One step by the unwind tables. Returns 1 stepped, 0 no table for this pc, -1 stop. */
static int step_cfi(struct frame *f, int *signal_frame)
{
	uint64_t pc = f->reg[R_RA] - (*signal_frame ? 0 : 1);
	uint32_t gen = __atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE);
	struct crule cr;
	if (cache_get(pc, &cr)) {
		*signal_frame = 0;
		return apply(&cr, f);
	}
	struct dl_find_object obj;
	if (_dl_find_object((void *)(uintptr_t)pc, &obj) != 0 || !obj.dlfo_eh_frame)
		return 0;
	const uint8_t *fp = find_fde(obj.dlfo_eh_frame, pc);
	struct fde fde;
	if (!fp || parse_fde(fp, (uint64_t)(uintptr_t)obj.dlfo_eh_frame, &fde) < 0 || pc < fde.pc_begin ||
	    pc >= fde.pc_end)
		return 0;
	struct exec x;
	memset(&x.row, 0, sizeof x.row); /* every kept register: same value */
	x.depth = 0;
	if (run_cfa(&x, &fde.cie, fde.cie.insns, fde.cie.end, 0, UINT64_MAX) < 0)
		return -1;
	x.init = x.row;
	if (run_cfa(&x, &fde.cie, fde.insns, fde.end, fde.pc_begin, pc) < 0)
		return -1;
	if (!fde.cie.signal && compile(&x.row, &cr)) {
		cache_put(pc, &cr, gen);
		*signal_frame = 0;
		return apply(&cr, f);
	}
	uint64_t cfa;
	if (cfa_of(&x.row, f, &cfa) < 0)
		return -1;
	struct frame next = {{0}, 0};
	for (int k = 0; k < NKEPT; k++)
		recover(&x.row.r[k], kept_reg[k], f, cfa, &next);
	if (!(next.known & (1u << R_RA)) || next.reg[R_RA] == 0)
		return -1;
	next.reg[R_RSP] = cfa;
	next.known |= 1u << R_RSP;
	if (!fde.cie.signal && cfa <= f->reg[R_RSP])
		return -1; /* out of an ordinary frame the stack must grow towards the callers
			      (a signal frame may jump between the alternate and the main stack) */
	*signal_frame = fde.cie.signal;
	*f = next;
	return 1;
}

/* Pages of stack already proven readable during one walk: the frame-pointer path checks each
 * page once (one process_vm_readv) instead of each read. */
struct pages {
	uint64_t page[4];
	unsigned n;
};

static int fp_read(struct pages *pg, uint64_t addr, uint64_t *out)
{
	uint64_t page = addr & ~4095ull;
	for (unsigned i = 0; i < pg->n && i < 4; i++) {
		if (pg->page[i] == page) {
			*out = *(const uint64_t *)(uintptr_t)addr;
			return 0;
		}
	}
	if (checked_read(addr, out) < 0)
		return -1;
	pg->page[pg->n++ % 4] = page;
	return 0;
}

/* One step by frame pointer, for code without unwind tables (JIT code, hand-written assembly,
 * -fno-asynchronous-unwind-tables). The frame pointer may be anything: every read is checked. */
static int step_fp(struct frame *f, struct pages *pg)
{
	uint64_t bp = f->reg[R_RBP], nbp, ra;
	if (!(f->known & (1u << R_RBP)) || bp <= f->reg[R_RSP] || (bp & 7) || bp - f->reg[R_RSP] > (1ull << 30))
		return -1;
	if (fp_read(pg, bp, &nbp) < 0 || fp_read(pg, bp + 8, &ra) < 0 || ra == 0)
		return -1;
	f->reg[R_RSP] = bp + 16;
	f->reg[R_RBP] = nbp;
	f->reg[R_RA] = ra;
	f->known = (1u << R_RSP) | (1u << R_RBP) | (1u << R_RA);
	return 1;
}

__attribute__((noinline)) int sl_unwind(uint64_t *ips, int max)
{
	struct frame f = {{0}, 0};
	struct pages pg = {{0}, 0};
	uint64_t ip, sp, bp, bx, r12, r13, r14, r15;
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2\n\tmov %%rbx, %3\n\t"
			 "mov %%r12, %4\n\tmov %%r13, %5\n\tmov %%r14, %6\n\tmov %%r15, %7"
			 : "=&r"(ip), "=&r"(sp), "=&r"(bp), "=&r"(bx), "=&r"(r12), "=&r"(r13), "=&r"(r14), "=&r"(r15));
	f.reg[R_RA] = ip;
	f.reg[R_RSP] = sp;
	f.reg[R_RBP] = bp;
	f.reg[R_RBX] = bx;
	f.reg[R_R12] = r12;
	f.reg[R_R12 + 1] = r13;
	f.reg[R_R12 + 2] = r14;
	f.reg[R_R15] = r15;
	f.known = (1u << R_RA) | (1u << R_RSP) | (1u << R_RBP) | (1u << R_RBX) | (0xfu << R_R12);
	int n = 0, signal_frame = 1; /* our own ip is exact, not a return address */
	while (n < max) {
		int r = step_cfi(&f, &signal_frame);
		if (r == 0) {
			signal_frame = 0;
			r = step_fp(&f, &pg);
		}
		if (r <= 0)
			break;
		ips[n++] = f.reg[R_RA];
	}
	return n;
}
