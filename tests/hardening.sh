#!/usr/bin/env bash
# hardening.sh - a hostile or unlucky environment must not crash or change the traced program, nor
# turn socklens's own outputs against the user: races on fd numbers, logs truncated under the
# program, planted links, escape sequences, crafted logs.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/hardening.sh "$@"; exit; }

# Threads reading, closing, reopening and dup2-ing the same numbers (the use-after-close race
# socklens exists to diagnose): the program must run to its end, every time.
case_fd_number_races_never_crash_the_program() {
	for i in 1 2 3; do
		$SL run --report $TMP/churn$i.txt -- $PROGS/fd_race churn 20000 >$TMP/churn$i.out
		grep -q 'churn done' $TMP/churn$i.out
	done
}

# A close of a number the shim last saw as a closed socket (reused unseen by a file) must be
# recorded before the real close: after it, another thread's accept may own the number, and its
# live connection must not be recorded as closed at birth.
case_a_close_never_records_another_threads_connection() {
	for i in 1 2 3 4; do
		$SL run --report /dev/null --json $TMP/a$i.json -- $PROGS/fd_race accept 1500 >/dev/null
		$JC $TMP/a$i.json "len(conns(role='inherited')) == 0" \
			"len(conns(role='server', open_at_end=True, bytes_received=1)) == 1500 - 1500 // 64" \
			"len(conns(role='server', open_at_end=False, bytes_received=1)) == 1500 // 64"
	done
}

# Children made without fork() (raw clone and clone3, _Fork, clone(), a clone in inline assembly)
# run no atfork handler: each still gets its own log, and nothing is charged to the parent.
case_children_made_without_fork_have_their_own_logs() {
	$SL run --report $TMP/rc.txt --json $TMP/rc.json -- $PROGS/raw_clone 500 | grep -q '500 children, 0 failed'
	$JC $TMP/rc.json "len(diags()) == 0" "len(r['processes']) == 501" \
		"sum(p['sockets'] for p in r['processes']) == 500" \
		"[p['sockets'] for p in r['processes'] if any(q['ppid'] == p['pid'] for q in r['processes'])] == [0]"
}
