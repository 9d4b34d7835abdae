#!/usr/bin/env bash
# logspace.sh - a run's logs grow with what happened, not with how many processes ran, stay
# within the run's budget, and the report's memory follows the findings, not the logs.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/logspace.sh "$@"; exit; }

# peak_rss_kb CMD...: runs CMD and prints its peak resident memory in KiB
peak_rss_kb() {
	$PY -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

case_a_thousand_short_processes() {
	local port; port=$(free_port)
	$SL run --dir $TMP/k --report /dev/null -- sh -c \
		"i=0; while [ \$i -lt 1000 ]; do $PROGS/one_connect $port; i=\$((i+1)); done; true"
	local kb files
	kb=$(du -sk $TMP/k | cut -f1)
	files=$(ls $TMP/k | grep -c sllog)
	echo "1000 processes: $files logs, $kb KiB on disk"
	[ "$files" -ge 1000 ]
	[ "$kb" -le $((1000 * 40)) ]   # stated bound: 40 KiB per short-lived process with a socket
	local rss limit=$((48 * 1024)); rss=$(peak_rss_kb $SL report --json $TMP/k)
	[ -n "${SANITIZE:-}" ] && limit=$((limit * 4))   # ASan's shadow memory
	echo "report peak memory: $rss KiB (bound $limit KiB)"
	[ "$rss" -le $limit ]
	$SL report --json $TMP/k > $TMP/k.json
	# one call site, a thousand processes: one finding
	$JC $TMP/k.json "one('connect-refused')['count'] == 1000" "one('connect-refused')['processes'] == 1000"
}

# A client making more connections than the old 4,096-slot table, one after another, each read
# without a timeout: every one is kept (it has something to report), the count is exact.
case_connections_past_four_thousand_are_counted_exactly() {
	cat > $TMP/many.py <<'EOF'
import socket, threading
srv = socket.create_server(("127.0.0.1", 0), backlog=64)
def serve():
    while True:
        c, _ = srv.accept()
        c.recv(16)
        c.sendall(b"ok")
        c.close()
threading.Thread(target=serve, daemon=True).start()
for i in range(6000):
    c = socket.create_connection(srv.getsockname())
    c.sendall(b"ping")
    c.recv(16)          # no timeout: a silent server would hang it
    c.close()
EOF
	$SL run --json $TMP/many.json --report /dev/null -- $PY $TMP/many.py
	# the client's read and the server's, one finding each
	$JC $TMP/many.json "[d['count'] for d in diags('missing-timeout')] == [6000, 6000]" \
		"proc()['dropped']['slots'] == 0" "proc()['dropped']['slots_with_findings_overwritten'] == 0"
}

# A server holding more live connections than the old table: all of them are tracked, live and
# at exit (as many as the hard fd limit lets one process hold, both ends counted).
case_eight_thousand_live_connections_are_all_tracked() {
	local n=8000 hard; hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] || [ "$hard" -ge $((2 * n + 100)) ] || n=$(( (hard - 100) / 2 ))
	ulimit -n $((2 * n + 100))
	cat > $TMP/hold.py <<'EOF'
import os, socket, sys
n = int(sys.argv[1])
srv = socket.create_server(("127.0.0.1", 0), backlog=4096)
held = []
for i in range(n):
    held.append(socket.create_connection(srv.getsockname()))
    held.append(srv.accept()[0])
print(len(held), flush=True)
os._exit(0)             # all of them open at the end
EOF
	$SL run --json $TMP/hold.json --report /dev/null -- $PY $TMP/hold.py $n
	$JC $TMP/hold.json "proc()['sockets'] == 2 * $n + 1" "proc()['dropped']['slots'] == 0" \
		"len(conns(open_at_end=True)) >= 2 * $n"
}

# A program under an address-space limit (ulimit -v) keeps its own: the log's mapping takes at
# most an eighth of it (a smaller slot table), and the program runs as it does without socklens.
case_an_address_space_limit_keeps_the_log_small() {
	local port; port=$(free_port)
	mkdir -p $TMP/as
	local st=0 plain=0 size
	(ulimit -v 1048576; LD_PRELOAD=$SHIM SOCKLENS_DIR=$TMP/as $PROGS/one_connect $port) || st=$?
	(ulimit -v 1048576; $PROGS/one_connect $port) || plain=$?
	size=$(stat -c %s $TMP/as/p*.sllog)
	echo "exit $st (plain $plain), log file size $size bytes"
	[ "$st" = "$plain" ] && [ "$size" -le $((128 << 20)) ] && [ "$size" -gt $((2 << 20)) ]
}

case_processes_without_sockets_cost_a_page() {
	$SL run --dir $TMP/t --report /dev/null -- sh -c 'i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done'
	local kb; kb=$(du -sk $TMP/t | cut -f1)
	echo "300 /bin/true: $kb KiB"
	[ "$kb" -le $((600 * 8 + 64)) ]   # a fork child and an exec image per iteration, a page or so each
}

case_budget_reached_program_unchanged_report_says_so() {
	local port; port=$(free_port)
	printf '%s\n' 'i=0' \
		"while [ \$i -lt 300 ]; do $PROGS/one_connect $port || echo \"refused \$i\"; i=\$((i+1)); done" \
		'echo done' > $TMP/loop.sh
	sh $TMP/loop.sh > $TMP/plain.out 2>$TMP/plain.err
	$SL run --max-log-space 1M --dir $TMP/b --json $TMP/b.json --report $TMP/b.txt -- sh $TMP/loop.sh \
		> $TMP/sl.out 2>$TMP/sl.err
	diff -u $TMP/plain.out $TMP/sl.out
	diff -u $TMP/plain.err <(grep -v '^socklens: logs kept in' $TMP/sl.err)
	[ "$(du -sk $TMP/b | cut -f1)" -le 1100 ]
	grep -q "processes ran without a log: the run's log space budget was used up" $TMP/b.txt
	$JC $TMP/b.json "r['run']['processes_unlogged']['budget'] > 100" \
		"r['run']['log_space_used'] <= 1048576 + 65536" \
		"one('connect-refused')['count'] + r['run']['processes_unlogged']['budget'] >= 300"
}

# More threads blocked at once than the in-flight table holds (1,024): the calls past it are
# counted, and the report says they were not seen in flight and that its counts may be short.
case_threads_blocked_past_the_in_flight_table_are_said() {
	cat > $TMP/block.py <<'EOF2'
import os, socket, threading
n = 1100
pairs = [socket.socketpair() for _ in range(n)]
threading.stack_size(64 * 1024)
ts = [threading.Thread(target=a.recv, args=(1,)) for a, b in pairs]
for t in ts:
    t.start()
def in_recv(tid):            # blocked in recvfrom (45) right now
    try:
        with open(f"/proc/self/task/{tid}/syscall") as f:
            return f.read().split()[0] == "45"
    except OSError:
        return False
while sum(in_recv(t.native_id) for t in ts) < n:
    os.sched_yield()
for a, b in pairs:
    b.send(b"x")
for t in ts:
    t.join()
print("all", n, "were blocked at once", flush=True)
EOF2
	$SL run --json $TMP/block.json --report $TMP/block.txt -- $PY $TMP/block.py
	cat $TMP/block.txt
	grep -q "blocking calls made while 1024 threads were already blocked: not seen as in flight" $TMP/block.txt
	grep -q "; incomplete: [0-9]* connections or blocked calls were not kept" $TMP/block.txt
	$JC $TMP/block.json "proc()['dropped']['threads'] >= 76"
}
