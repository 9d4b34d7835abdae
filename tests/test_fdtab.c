/* test_fdtab.c - the per-fd table: bounds, states, and the high-water mark closes walk to. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fixtures.h"

static void lookups_before_init_say_unknown(void **state)
{
	(void)state;
	assert_int_equal(sl_fdcap, 0);
	assert_int_equal(sl_fd_get(3), SL_FD_UNKNOWN);
	assert_int_not_equal(sl_fd_get(3), SL_FD_OTHER);
	sl_fd_set(3, SL_FD_OTHER); /* ignored, not a crash */
}

static void states_round_trip_and_out_of_range_is_unknown(void **state)
{
	(void)state;
	assert_int_equal(sl_fdtab_init(1024), 0);
	sl_fd_set(5, SL_FD_OTHER);
	assert_int_equal(sl_fd_get(5), SL_FD_OTHER);
	sl_fd_set(6, SL_FD_SLOT0 + 42);
	assert_int_equal(sl_fd_get(6), SL_FD_SLOT0 + 42);
	
	assert_int_equal(sl_fd_get(-1), SL_FD_UNKNOWN);
	assert_int_equal(sl_fd_get(1024), SL_FD_UNKNOWN);
	assert_int_equal(sl_fd_get(0x7fffffff), SL_FD_UNKNOWN);
	
	sl_fd_set(4096, SL_FD_OTHER);
	assert_int_equal(sl_fd_get(4096), SL_FD_UNKNOWN);
}

static void hiwater_tracks_the_highest_known_fd(void **state)
{
	(void)state;
	assert_int_equal(sl_fd_hiwater(), 7); /* fd 6 above */
	sl_fd_set(100, SL_FD_OTHER);
	assert_int_equal(sl_fd_hiwater(), 101);
	sl_fd_set(50, SL_FD_SLOT0 + 1);
	assert_int_equal(sl_fd_hiwater(), 101);
	sl_fd_set(100, SL_FD_UNKNOWN);
	assert_int_equal(sl_fd_get(100), SL_FD_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookups_before_init_say_unknown),
		cmocka_unit_test(states_round_trip_and_out_of_range_is_unknown),
		cmocka_unit_test(hiwater_tracks_the_highest_known_fd),
	};
	return cmocka_run_group_tests_name("fdtab", tests, NULL, NULL);
}
