/* test_tracer.c - the tracer's reading of a running program's memory, on buffers made here: what it
 * reads is the program's, changing under it, so any value at all must be safe. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "goroutines.h"

static void put(unsigned char *stack, uint64_t sp, uint64_t at, uint64_t v)
{
	memcpy(stack + (at - sp), &v, 8);
}

/* A chain of two frames, then a frame pointer near 2^64 (a stack being reused as it was read):
 * bp + 16 wrapped past the bound, and the walk read gigabytes outside the copy (the tracer
 * segfaulted, and the program it traced was killed with it). */
static void a_frame_pointer_near_the_top_of_the_address_space_ends_the_walk(void **state)
{
	(void)state;
	const uint64_t sp = 0x7000;
	const size_t n = 256;
	unsigned char *stack = calloc(1, n); /* exactly n bytes: ASan sees any read past them */
	put(stack, sp, sp + 16, sp + 48);      /* [bp]: the caller's bp */
	put(stack, sp, sp + 24, 0x401000);     /* [bp+8]: the return address */
	put(stack, sp, sp + 48, UINT64_MAX - 7);
	put(stack, sp, sp + 56, 0x402000);
	uint64_t pcs[SL_MAX_FRAMES];
	uint32_t npc = 0;
	int more = sl_go_walk(stack, n, sp, sp + 16, pcs, &npc);
	assert_int_equal(npc, 2);
	assert_int_equal(pcs[0], 0x401000);
	assert_int_equal(pcs[1], 0x402000);
	assert_true(more); /* (the chain goes on past what was read, as far as the walk can tell) */
	free(stack);
}

/* A frame pointer at the copy's last bytes, or past them, or below sp: nothing read outside it. */
static void a_frame_pointer_at_the_edge_of_the_copy_is_not_read(void **state)
{
	(void)state;
	const uint64_t sp = 0x10000;
	const size_t n = 64;
	unsigned char *stack = calloc(1, n);
	uint64_t pcs[SL_MAX_FRAMES];
	const uint64_t bps[] = {sp + n - 8, sp + n, sp - 8, 0, UINT64_MAX};
	for (size_t i = 0; i < sizeof bps / sizeof *bps; i++) {
		uint32_t npc = 0;
		sl_go_walk(stack, n, sp, bps[i], pcs, &npc);
		assert_int_equal(npc, 0);
	}
	uint32_t npc = 0; /* a copy too short for one frame */
	sl_go_walk(stack, 8, sp, sp, pcs, &npc);
	assert_int_equal(npc, 0);
	free(stack);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_frame_pointer_near_the_top_of_the_address_space_ends_the_walk),
		cmocka_unit_test(a_frame_pointer_at_the_edge_of_the_copy_is_not_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
