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

# A log truncated under its program (logrotate's copytruncate): the program runs to its end with
# the same output as without socklens (a SIGBUS of its own still reaches its handler), and the
# report says what was lost; a CI gate says "not checked" (87) rather than passing.
case_a_truncated_log_never_kills_the_program() {
	local plain; plain=$($PROGS/truncated_log log)
	for what in log run both; do
		local rc=0
		$SL run --fail-on connect-refused --report $TMP/$what.txt --dir $TMP/run-$what -- \
			$PROGS/truncated_log $what >$TMP/$what.out || rc=$?
		[ "$(cat $TMP/$what.out)" = "$plain" ] || { echo "$what: output differs"; cat $TMP/$what.out; return 1; }
		if [ $what = run ]; then
			[ $rc -eq 87 ] && grep -q "result: .*incomplete: the run's control file was truncated" $TMP/$what.txt
			! grep -q 'records dropped' $TMP/$what.txt
		else
			[ $rc -eq 87 ] && grep -q 'result: not checked (1 log unreadable' $TMP/$what.txt
		fi
	done
	grep -q '1 log was truncated or removed while its process ran' $TMP/log.txt
	# both files truncated while two threads record: one thread's fault in the control file must
	# not meet the log's truncation inside the handler (a nested fault with SIGBUS blocked killed
	# the program in 1 run of 10 under load), nor a zeroed table size a division (the shim is the
	# same object under SANITIZE, which adds the analyzer's reading: a few runs there, CI time)
	local i
	for i in $(seq $([ -n "${SANITIZE:-}" ] && echo 4 || echo 20)); do
		rm -rf $TMP/run-again
		[ "$($SL run --report /dev/null --dir $TMP/run-again -- $PROGS/truncated_log both 2>/dev/null)" = "$plain" ] ||
			{ echo "both, run $i: output differs"; return 1; }
	done
}

# A process that execs itself 1,100 times (past the old limit of 1,000 images per pid) with a
# socket every image inherits: each image is logged at once, nothing is printed on the program's
# streams, and the socket counts once.
case_long_exec_chains_are_logged_and_counted_once() {
	local base=/dev/shm; [ -w $base ] || base=$TMP
	local dir; dir=$(mktemp -d $base/socklens-ec-XXXXXX); rmdir $dir
	$SL run --dir $dir --report $TMP/ec.txt --json $TMP/ec.json -- $PROGS/exec_chain 1100 listen \
		>$TMP/ec.out 2>$TMP/ec.err
	rm -rf $dir
	[ "$(cat $TMP/ec.out)" = "exec_chain: done" ]
	grep -v '^socklens: logs kept' $TMP/ec.err | { ! grep -q .; }
	$JC $TMP/ec.json "len(r['processes']) == 1" "proc()['images'] == 1101" "proc()['sockets'] == 1" \
		"r['checked']['coverage'] == 'all'"
}

# Two processes given the same pid in two pid namespaces, logging into one run directory, are two
# processes in the report, not one.
case_same_pid_in_two_pid_namespaces_are_two_processes() {
	[ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null || skip "needs root and unshare"
	unshare -pf --mount-proc true 2>/dev/null || skip "no pid namespaces here"
	$SL run --report /dev/null --json $TMP/ns.json -- sh -c \
		"unshare -pf --mount-proc $EX/refused; unshare -pf --mount-proc $EX/refused" >/dev/null || true
	$JC $TMP/ns.json "len([p for p in r['processes'] if p['pid'] == 1 and p['name'] == 'refused']) == 2" \
		"one('connect-refused')['count'] == 2"
}

# Root writing its outputs into a directory another user can write: links that user planted are
# refused (the file they point at is untouched), nothing is written through a predictable name,
# and root's own links (/dev/stdout) and the user's own are followed.
case_outputs_never_follow_another_users_links() {
	[ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 || skip "needs root and a user nobody"
	chmod 755 $TMP
	mkdir -m 1777 $TMP/shared
	echo precious > $TMP/victim
	for f in r.txt j.json m.prom o.otlp l.jsonl h.html t.json; do runuser -u nobody -- ln -s $TMP/victim $TMP/shared/$f; done
	$SL run --dir $TMP/run -- $EX/refused >/dev/null 2>&1 || true
	expect_status 125 $SL run --report $TMP/shared/r.txt -- true 2>$TMP/r.err
	grep -q "cannot write report '$TMP/shared/r.txt': it is a symbolic link owned by another user" $TMP/r.err
	expect_status 125 $SL run --json $TMP/shared/j.json -- true 2>/dev/null
	expect_status 1 $SL report --prometheus $TMP/shared/m.prom $TMP/run >/dev/null 2>$TMP/m.err
	grep -q 'symbolic link owned by another user' $TMP/m.err
	expect_status 1 $SL report --otlp $TMP/shared/o.otlp $TMP/run >/dev/null 2>/dev/null
	expect_status 1 $SL report --html $TMP/shared/h.html $TMP/run >/dev/null 2>/dev/null
	expect_status 125 $SL run --trace $TMP/shared/t.json -- true 2>/dev/null
	expect_status 1 $SL watch --count 1 --every 100ms --json-lines $TMP/shared/l.jsonl $TMP/run 2>$TMP/l.err
	grep -q "cannot write '$TMP/shared/l.jsonl': it is a symbolic link owned by another user" $TMP/l.err
	[ "$(cat $TMP/victim)" = precious ]
	# where the file is fine, it is written whole and renamed: no temporary file stays behind
	$SL report --prometheus $TMP/shared/ok.prom $TMP/run >/dev/null
	grep -q '^socklens_findings{' $TMP/shared/ok.prom
	[ "$(ls -A $TMP/shared | grep -vc -e '^r.txt$' -e '^j.json$' -e '^m.prom$' -e '^o.otlp$' -e '^l.jsonl$' -e '^ok.prom$' \
		-e '^h.html$' -e '^t.json$')" -eq 0 ]
	$SL run --report /dev/stdout -- $EX/refused 2>/dev/null | grep -q 'result: 1 error (connect-refused x1)'
}

# Text from the program or the network (a host name, a process name) carrying terminal escapes is
# shown escaped by run, report, stuck and top: it can neither retitle the window nor clear the
# screen nor draw a fake result line.
case_escape_sequences_from_the_program_never_reach_the_terminal() {
	cat > $TMP/evil.py <<'PY'
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b"\x1b]0;pwned\x07\x1b[2J", 0, 0, 0)   # PR_SET_NAME
try: socket.getaddrinfo("evil\x1b[2J\x1b[1;1Hsocklens: result: no findings\n.invalid", 80)
except OSError: pass
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
print("waiting", flush=True)
c.recv(1)   # nobody answers: it waits until killed
PY
	$SL run --dir $TMP/run-esc --report $TMP/run.txt -- $PY $TMP/evil.py > $TMP/out 2>&1 &
	local run=$!
	wait_for $TMP/out waiting
	local i
	for i in $(seq 100); do
		$SL stuck --min 0 $TMP/run-esc > $TMP/stuck.txt
		grep -q 'recv' $TMP/stuck.txt && break
		sleep 0.05
	done
	$SL top --once $TMP/run-esc > $TMP/top.txt
	$SL report $TMP/run-esc > $TMP/report.txt
	kill $run; wait $run || true
	grep -q 'x1b\[2J' $TMP/stuck.txt $TMP/report.txt
	grep -q 'dns-failure' $TMP/report.txt $TMP/run.txt
	for f in stuck top report run; do
		! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' $TMP/$f.txt || { echo "raw control bytes in $f"; cat -v $TMP/$f.txt; return 1; }
		! grep -q '^socklens: result: no findings' $TMP/$f.txt
	done
}

# Signals sent to socklens run other than the usual six (SIGALRM, SIGURG, a real-time one) reach
# the program, preloaded or traced, instead of ending socklens and orphaning it.
case_every_signal_reaches_the_program() {
	local prog
	for prog in catch_signals catch_signals_static; do
		: > $TMP/$prog.out
		$SL run --report $TMP/$prog.txt -- $PROGS/$prog > $TMP/$prog.out &
		local run=$! rc=0
		wait_for $TMP/$prog.out ready
		kill -ALRM $run; kill -URG $run; kill -s RTMIN+3 $run
		wait $run || rc=$?
		[ $rc -eq 5 ] || { echo "$prog: exit $rc"; cat $TMP/$prog.out $TMP/$prog.txt; return 1; }
		grep -q 'got SIGALRM, SIGURG and SIGRTMIN+3' $TMP/$prog.out
		grep -q 'result:' $TMP/$prog.txt
	done
}

# A server's children that outlive it (sshd's sessions, an rsync transfer) keep running when the
# server is stopped through socklens, as they would without it; socklens waits for them.
case_children_that_outlive_the_program_are_left_alone() {
	mkfifo $TMP/release
	cat > $TMP/outlive.py <<'EOF'
import os, signal, sys
if os.fork() == 0:
    with open(sys.argv[2], "a") as f:
        print("child", os.getpid(), file=f, flush=True)
    open(sys.argv[1]).read()  # until the test releases it
    with open(sys.argv[2], "a") as f:
        print("child done", file=f, flush=True)
    os._exit(0)
print("ready", os.getpid(), flush=True)
signal.pause()
EOF
	: > $TMP/o.ready
	$SL run --report $TMP/o.txt -- $PY $TMP/outlive.py $TMP/release $TMP/o.out > $TMP/o.ready &
	local run=$! rc=0 i parent child
	wait_for $TMP/o.ready ready
	wait_for $TMP/o.out child
	parent=$(awk '{print $2}' $TMP/o.ready); child=$(awk '/^child /{print $2}' $TMP/o.out)
	kill -TERM $run
	for i in $(seq 400); do kill -0 $parent 2>/dev/null || break; sleep 0.05; done
	! kill -0 $parent 2>/dev/null || { echo "the program did not get SIGTERM"; return 1; }
	kill -0 $child || { echo "the program's child was killed with it"; return 1; }
	echo go > $TMP/release
	wait $run || rc=$?
	[ $rc -eq 143 ] || { echo "exit $rc"; cat $TMP/o.txt; return 1; }
	grep -q 'child done' $TMP/o.out
}

# Socket operations submitted to an io_uring reach the kernel without any call socklens sees: a
# refused connect made that way cannot be found, and the report says it could not look there
# (preloaded: what liburing submits names a socket; traced: io_uring_setup was called).
case_io_uring_is_named_as_a_blind_spot() {
	local prog rc
	for prog in uring_client uring_client_static; do
		rc=0
		$SL run --fail-on all --report $TMP/$prog.txt --json $TMP/$prog.json -- $PROGS/$prog >$TMP/$prog.out || rc=$?
		grep -q 'io_uring cannot make sockets' $TMP/$prog.out && skip "io_uring sockets are not available here"
		[ $rc -eq 87 ]
		grep -q 'io_uring: what it submits to its ring is not seen' $TMP/$prog.txt
		grep -q 'incomplete: 1 process uses io_uring' $TMP/$prog.txt
		$JC $TMP/$prog.json "proc()['io_uring']" "r['checked']['coverage'] == 'part'"
	done
	# a ring that only reads files (MariaDB's data files) is no blind spot for sockets
	rc=0
	$SL run --fail-on connect-refused --report $TMP/uf.txt --json $TMP/uf.json -- $PROGS/uring_files > $TMP/uf.out || rc=$?
	[ $rc -eq 86 ] || { cat $TMP/uf.txt; return 1; }
	grep -q 'io_uring for files' $TMP/uf.txt
	! grep -q incomplete $TMP/uf.txt
	$JC $TMP/uf.json "not proc()['io_uring']" "proc()['io_uring_files']" "r['checked']['coverage'] == 'all'" \
		"one('connect-refused')"
}

# A traced (static) program starting a setuid one: run by root, the setuid program keeps its
# privileges (the same answer as without socklens); run by another user, the kernel's
# no_new_privs takes them, and socklens says so when it happens and in the report.
case_setuid_programs_under_the_tracer() {
	[ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && [ -u /usr/bin/passwd ] || skip "needs root, nobody and a setuid passwd"
	local plain; plain=$($PROGS/spawn_setuid)
	[ "$($SL run --report $TMP/root.txt -- $PROGS/spawn_setuid)" = "$plain" ]
	! grep -q 'without its privileges' $TMP/root.txt
	chmod 755 $TMP && mkdir -m 777 $TMP/nobody
	runuser -u nobody -- $SL run --report $TMP/nobody/r.txt -- $PROGS/spawn_setuid >/dev/null 2>$TMP/nobody.err || true
	grep -q 'passwd (setuid or with file capabilities) runs without its privileges' $TMP/nobody.err
	grep -q '1 setuid or file-capability program ran without its privileges' $TMP/nobody/r.txt
}

# A traced program whose child asks to be traced by it (PTRACE_TRACEME, then stops itself): the
# request fails (the tracer is socklens), socklens says so, and neither process waits forever.
case_a_child_asking_to_be_traced_never_hangs() {
	timeout -k 5 60 $SL run --report $TMP/tm.txt -- $PROGS/traceme >$TMP/tm.out 2>$TMP/tm.err
	grep -q '^traceme: child exited' $TMP/tm.out
	grep -q 'asked to be traced by its parent (PTRACE_TRACEME)' $TMP/tm.err
	grep -q '1 process asked to be traced by its parent' $TMP/tm.txt
}

# 2,000 threads released at once, each making a refused connect: every refusal is counted, none
# dropped with room to spare, and refused connects are not taken for connection churn.
case_a_burst_of_threads_is_counted_exactly() {
	for i in 1 2 3; do
		$SL run --report /dev/null --json $TMP/b$i.json -- $PROGS/burst_refused 2000 >/dev/null || true
		$JC $TMP/b$i.json "one('connect-refused')['count'] == 2000" "len(diags()) == 1" \
			"proc()['dropped']['slots'] == 0" "proc()['dropped']['events'] == 0" "proc()['sockets'] == 2001"
	done
}
