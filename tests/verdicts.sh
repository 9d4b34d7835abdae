#!/usr/bin/env bash
# verdicts.sh - verdicts an engineer can stake a release on: what real programs do that used to be
# missed or misread (a connect given up with shutdown, a connect deadline taken for a read
# timeout, a client going away taken for a server's error...), each asserted on the JSON report.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/verdicts.sh "$@"; exit; }

# The JDK's connect(addr, timeout) gives up with shutdown(SHUT_WR) before close: by the close the
# kernel's state is CLOSE, so the SYN_SENT must be seen at the shutdown.
case_connect_given_up_with_shutdown_is_a_connect_timeout() {
	local line; line=$(line_of tests/progs/jdk_connect.c 'if (connect(fd,')
	expect_status 1 $SL run --report /dev/null --json $TMP/t.json -- $PROGS/jdk_connect timeout
	$JC $TMP/t.json "one('connect-timeout')['count'] == 1" "at(one('connect-timeout'), 'tests/progs/jdk_connect.c', $line)" \
		"one('connect-timeout')['worst_ms'] >= 400"
}

# A poll for POLLOUT is a connect deadline, not a read timeout: the blocking read after it, with no
# SO_RCVTIMEO, is a missing timeout at the read's line.
case_a_connect_deadline_is_not_a_read_timeout() {
	local line; line=$(line_of tests/progs/jdk_connect.c 'ssize_t n = recv(fd')
	$SL run --report /dev/null --json $TMP/r.json -- $PROGS/jdk_connect read
	$JC $TMP/r.json "one('missing-timeout')['count'] == 1" \
		"at(one('missing-timeout'), 'tests/progs/jdk_connect.c', $line, 'read_site')"
	$SL run --audit --report $TMP/audit.txt -- $PROGS/jdk_connect read >/dev/null
	grep -q 'no receive timeout' $TMP/audit.txt
}

# The same in Java: Debian's OpenJDK, as its users write it.
case_java_connect_timeout_and_read_without_timeout() {
	need java
	local c r
	c=$(line_of tests/lang/ConnectTimeout.java 'full.getLocalPort()), 1000);')
	r=$(line_of tests/lang/ConnectTimeout.java 'System.out.println("read "')
	$SL run --report /dev/null --json $TMP/j.json -- java tests/lang/ConnectTimeout.java > $TMP/j.out
	grep -q 'connect timed out' $TMP/j.out
	$JC $TMP/j.json "at(one('connect-timeout'), 'ConnectTimeout.java', $c)" \
		"at(one('missing-timeout'), 'ConnectTimeout.java', $r, 'read_site')"
}

# Sockets open at exit: an idle keep-alive pool (connections reused, their answers read) is not a
# leak; one-shot connections never closed are, at their call site, counted.
case_an_idle_pool_is_not_a_leak_and_one_shot_connections_are() {
	local line; line=$(line_of tests/progs/pool.c 'int fd = dial_local(port);')
	$SL run --report /dev/null --json $TMP/pool.json -- $PROGS/pool pool >/dev/null
	$JC $TMP/pool.json "len(diags()) == 0" "len(conns(role='client', open_at_end=True)) == 2"
	$SL run --report /dev/null --json $TMP/leak.json -- $PROGS/pool leak >/dev/null
	$JC $TMP/leak.json "one('socket-leak')['count'] == 10" "one('socket-leak')['severity'] == 'warning'" \
		"at(one('socket-leak'), 'tests/progs/pool.c', $line)"
}

# A program that becomes another user (as dnsmasq does: capabilities dropped to CAP_SETUID, then
# setuid) keeps being recorded, in the children it forks and the programs it execs as that user.
case_a_program_that_changes_user_is_still_recorded() {
	[ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 || skip "needs root and a user nobody"
	local line; line=$(line_of tests/progs/drop_user.c 'if (connect(fd,')
	$SL run --report $TMP/du.txt --json $TMP/du.json -- $PROGS/drop_user | grep -q "exec'd as uid 65534"
	$JC $TMP/du.json "len(diags('connect-refused')) == 2" "r['checked']['coverage'] == 'all'" \
		"all(at(d, 'tests/progs/drop_user.c', $line) for d in diags('connect-refused'))"
	! grep -q 'without a log' $TMP/du.txt
}

# dnsmasq (Debian's), started as root: it becomes nobody and forks a child per TCP query. Its
# children are recorded, its sockets meant to live as long as it are not leaks when SIGTERM ends
# it, and the read its TCP children make under alarm() is not a missing timeout.
case_dnsmasq_with_tcp_queries_then_sigterm_is_clean() {
	need dnsmasq
	[ "$(id -u)" -eq 0 ] || skip "dnsmasq starts as root"
	local port; port=$(free_port)
	$SL run --report $TMP/dm.txt --json $TMP/dm.json -- dnsmasq -k -p $port --listen-address=127.0.0.1 \
		--bind-interfaces --no-resolv --no-hosts --address=/test.local/10.0.0.1 --log-facility=- \
		--pid-file=$TMP/dm.pid > $TMP/dm.out 2>&1 &
	local run=$!
	wait_for $TMP/dm.out 'started'
	$PY - $port <<'PY'
import socket, sys
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x05local\x00\x00\x01\x00\x01"
for i in range(3):
    for n in range(400):
        try:
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
            break
        except ConnectionRefusedError:
            import time; time.sleep(0.05)
    s.settimeout(10)
    s.sendall(len(q).to_bytes(2, "big") + q)
    assert len(s.recv(512)) > 12
    s.close()
PY
	kill -TERM $(cat $TMP/dm.pid)
	wait $run || true
	cat $TMP/dm.txt
	$JC $TMP/dm.json "len(diags()) == 0" "r['checked']['coverage'] == 'all'" "len(r['processes']) == 4"
}

# --json - keeps standard output for the JSON alone: the program's own output goes to stderr, for
# a preloaded program and a traced (static) one alike.
case_json_on_stdout_is_json_alone() {
	$SL run --report /dev/null --json - -- sh -c 'echo hello from the program' 2>$TMP/err | $PY -c 'import json,sys; json.load(sys.stdin)'
	grep -q 'hello from the program' $TMP/err
	$SL run --report /dev/null --json - -- $PROGS/spawn_setuid 2>/dev/null | $PY -c 'import json,sys; json.load(sys.stdin)'
}

# --audit of a short run: connections kept for several requests (a pool, a database client) with no
# SO_KEEPALIVE are a gap already, not only once they are a minute old.
case_audit_names_a_keepalive_gap_in_a_short_run() {
	$SL run --audit --report $TMP/au.txt --json $TMP/au.json -- $PROGS/pool pool >/dev/null
	grep -q 'no SO_KEEPALIVE on 2 connections kept for several requests' $TMP/au.txt
	$JC $TMP/au.json "any('no SO_KEEPALIVE' in g for s in r['audit'] for g in s['missing'])"
}

# A short write the program ignores (non-blocking send returning less than asked, never retried) is
# the cause, at the send's line, not an unanswered request that blames the peer.
case_an_ignored_short_write_is_found_at_its_line() {
	local line; line=$(line_of tests/progs/short_write.c 'ssize_t sent = send(fd')
	$SL run --report /dev/null --json $TMP/sw.json -- $PROGS/short_write | grep -q 'reply never came'
	$JC $TMP/sw.json "one('short-write')['severity'] == 'error'" "len(diags('unanswered-request')) == 0" \
		"at(one('short-write'), 'tests/progs/short_write.c', $line, 'send_site')" \
		"one('short-write')['evidence']['bytes_asked'] == 4194304"
}

# An untrusted (self-signed) server certificate, the most common TLS failure, as Python (TLS 1.2 and
# 1.3: the client's alert) and Node.js (https.get: it closes after the handshake) clients meet it:
# found at the program's line, and not taken for a reset to be drained. The test's own server
# (a thread of the same program) may say it too, as the warning a server gets when a client refused
# its certificate.
case_an_untrusted_certificate_is_found() {
	need openssl node
	openssl req -x509 -newkey rsa:2048 -nodes -keyout $TMP/key.pem -out $TMP/cert.pem -days 2 \
		-subj /CN=localhost 2>/dev/null
	local line v; line=$(line_of tests/lang/untrusted_cert.py 'with client.wrap_socket(raw')
	for v in 1.2 1.3; do
		$SL run --report /dev/null --json $TMP/py$v.json -- $PY tests/lang/untrusted_cert.py $TMP/cert.pem $TMP/key.pem $v |
			grep -q CERTIFICATE_VERIFY_FAILED
		$JC $TMP/py$v.json \
			"len([d for d in diags('tls-alert') + diags('tls-rejected') if not d['summary'].startswith('The client ')]) == 1" \
			"all(d['severity'] == 'warning' for d in diags('tls-rejected') if d['summary'].startswith('The client '))" \
			"len(diags('reset-on-close')) == 0" \
			"any(at(d, 'untrusted_cert.py', $line - 1) or at(d, 'untrusted_cert.py', $line) for d in diags())"
	done
	line=$(line_of tests/lang/untrusted_cert.js 'https.get(')
	$SL run --report /dev/null --json $TMP/js.json -- node tests/lang/untrusted_cert.js $TMP/cert.pem $TMP/key.pem |
		grep -q DEPTH_ZERO_SELF_SIGNED_CERT
	$JC $TMP/js.json "one('tls-rejected')['severity'] == 'error'" "at(one('tls-rejected'), 'untrusted_cert.js', $line)"
}

# git daemon (Debian's) forks a child per request, which execs git upload-pack with the connection
# as its stdin: the sockets it inherits show no loader frames, the read sites are symbolized, and
# the same call site in many processes is one finding.
case_git_daemon_children_group_by_call_site() {
	need git
	local port; port=$(free_port)
	git init -q --bare $TMP/gd/repo.git
	$SL run --report $TMP/gd.txt --json $TMP/gd.json -- git daemon --reuseaddr --base-path=$TMP/gd --export-all \
		--port=$port --listen=127.0.0.1 --pid-file=$TMP/gd.pid $TMP/gd > $TMP/gd.out 2>&1 &
	local run=$! i
	for i in $(seq 400); do git ls-remote git://127.0.0.1:$port/repo.git >/dev/null 2>&1 && break; sleep 0.05; done
	for i in 1 2 3; do git ls-remote git://127.0.0.1:$port/repo.git >/dev/null; done
	kill -TERM $(cat $TMP/gd.pid); kill -TERM $run 2>/dev/null || true
	wait $run || true
	cat $TMP/gd.txt
	$JC $TMP/gd.json "2 <= len(diags('missing-timeout')) <= 2" \
		"all(d['count'] >= 3 for d in diags('missing-timeout'))" \
		"all(f['module'] for d in diags() for f in d.get('read_site', []))" "not diags('closed-by-peer')" \
		"not any('dl-init' in (f['file'] or '') for d in diags() for f in d['stack'])"
	! grep -q '_dl_init' $TMP/gd.txt
}

# C++ frames carry their namespaces and classes (and a lambda its enclosing function).
case_cpp_frames_are_qualified() {
	local line; line=$(line_of tests/progs/cpp_client.cpp 'int r = connect(fd')
	$SL run --report /dev/null --json $TMP/cpp.json -- $PROGS/cpp_client >/dev/null
	$JC $TMP/cpp.json "one('connect-refused')['stack'][0]['function'] == 'shop::net::Client::fetch'" \
		"at(one('connect-refused'), 'tests/progs/cpp_client.cpp', $line)" \
		"one('connect-refused')['stack'][1]['function'] == 'main::{lambda}::operator()'"
}

# Node.js writes from its event loop: two failing uploads from two functions are two findings, each
# at the program's function that opened the connection, not one group of libuv frames.
case_node_write_failures_show_the_programs_line() {
	need node
	$SL run --report /dev/null --json $TMP/up.json -- node tests/lang/two_uploads.js >/dev/null
	local a b; a=$(line_of tests/lang/two_uploads.js 'function uploadReport'); b=$(line_of tests/lang/two_uploads.js 'function sendMetrics')
	$JC $TMP/up.json "len(diags('broken-pipe') + diags('connection-reset')) == 2" \
		"sorted(d['stack'][0]['function'] for d in diags('broken-pipe') + diags('connection-reset')) == ['sendMetrics', 'uploadReport']"
}

# A pile-up of idle one-shot connections in a running process is a leak in the live report, and
# the final report after the process is killed says the same.
case_a_pile_up_seen_live_stays_in_the_final_report() {
	$SL run --dir $TMP/run-pile --report $TMP/final.txt --json $TMP/final.json -- $PROGS/pool pile > $TMP/pile.out &
	local run=$! i
	wait_for $TMP/pile.out piled
	# each connection must sit idle 2 s before it counts as left, and on a loaded machine they are
	# not all made at once: look until all thirty are (or 60 s)
	for i in $(seq 600); do
		$SL report --json $TMP/run-pile > $TMP/live.json
		$PY -c 'import json, sys
sys.exit(not [d for d in json.load(open(sys.argv[1]))["diagnostics"] if d["kind"] == "socket-leak" and d["count"] >= 30])' \
			$TMP/live.json && break
		sleep 0.1
	done
	$JC $TMP/live.json "one('socket-leak')['count'] == 30" "one('socket-leak')['severity'] == 'warning'" \
		"'pile up' in one('socket-leak')['summary']"
	kill -TERM $(pgrep -P $run); wait $run || true
	$JC $TMP/final.json "one('socket-leak')['count'] == 30" "one('socket-leak')['severity'] == 'warning'"
}

# Clients that hang up in the middle of a response are the server's clients going away (info),
# whether a forked child serves them (rsync, sshd, ForkingTCPServer) or the record of their
# connection was reused for later ones before the log was read (a busy server: 16 slots here).
# (Its reads without a timeout are a true finding: a client that sends nothing holds a worker.)
case_clients_hanging_up_are_info_in_forking_and_busy_servers() {
	local mode
	for mode in fork thread; do
		rm -f $TMP/$mode.port
		SOCKLENS_SLOTS=16 $SL run --json $TMP/$mode.json --report $TMP/$mode.txt -- \
			$PY tests/progs/hangup_server.py $mode $TMP/$mode.port \
			2> $TMP/$mode.err &
		local run=$!
		wait_for $TMP/$mode.port .
		$PY - $(cat $TMP/$mode.port) <<'EOF'
import socket, sys
for i in range(40):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    c.sendall(b"GET\r\n")
    got = 0
    while got < 65536:
        got += len(c.recv(65536))
    c.close()
EOF
		kill -TERM $run
		wait $run || true
		$JC $TMP/$mode.json "diags('broken-pipe') + diags('connection-reset')" \
			"all(d['severity'] == 'info' for d in diags('broken-pipe') + diags('connection-reset'))" \
			"all('Nothing to change in the server' in d['advice'] for d in diags('broken-pipe') + diags('connection-reset'))" \
			"not [d for d in diags() if d['severity'] == 'error']"
	done
	# forty children alike are three lines and a count, and count the connections they served
	grep -q '^    + 37 more python3, exited 0$' $TMP/fork.txt || { head -12 $TMP/fork.txt; return 1; }
	! grep -q 'without sockets' $TMP/fork.txt
}

# A server that cannot bind its address gives up at start (MariaDB with a socket directory it cannot
# write): the failed bind is the finding, at the program's line, not the socket it left open.
case_a_failed_bind_is_found_not_a_leak() {
	cat > $TMP/bindfail.py <<'EOF'
import socket, sys
u = socket.socket(socket.AF_UNIX)
try:
    u.bind("/nonexistent-socklens-dir/server.sock")
except OSError as e:
    print("cannot start:", e, file=sys.stderr)
t = socket.socket()
try:
    t.bind(("192.0.2.1", 0))  # TEST-NET-1: an address this host does not have
except OSError as e:
    print("cannot start:", e, file=sys.stderr)
    sys.exit(1)
EOF
	local rc=0
	$SL run --json $TMP/b.json -- $PY $TMP/bindfail.py 2> $TMP/b.err || rc=$?
	[ $rc -eq 1 ] || { cat $TMP/b.err; return 1; }
	$JC $TMP/b.json "len(diags('bind-failed')) == 2" "not diags('socket-leak')" \
		"[d for d in diags('bind-failed') if d['errno'] == 'ENOENT' and 'nonexistent-socklens-dir' in d['peer']]" \
		"[d for d in diags('bind-failed') if d['errno'] == 'EADDRNOTAVAIL' and d['peer'].startswith('192.0.2.1:')]" \
		"all(at(d, '$TMP/bindfail.py', 4 if d['errno'] == 'ENOENT' else 9) for d in diags('bind-failed'))"
}

# A unix connect to a path with no socket (sshd's PAM without dbus, a database's socket missing) is
# refused, not a connection the peer closed, even when the process then exits non-zero.
case_a_missing_unix_socket_is_refused_not_closed_by_peer() {
	cat > $TMP/unixfail.py <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("/run/socklens-no-such-dir/bus")
except OSError:
    pass
s.close()
sys.exit(255)
EOF
	$SL run --json $TMP/u.json -- $PY $TMP/unixfail.py || true
	$JC $TMP/u.json "not diags('closed-by-peer')" "one('connect-refused')['errno'] == 'ENOENT'" \
		"at(one('connect-refused'), '$TMP/unixfail.py', 4)"
}

# A listener's accept queue overflowing on this host (haproxy's backend with a backlog of 5): the
# SYNs and handshakes it dropped are sent again, and connects take seconds. One cause, said once:
# slow-connect and accept-queue-full, not a loss rate on a path loopback does not have.
case_a_full_accept_queue_is_not_packet_loss() {
	$SL run --json $TMP/q.json -- $PY tests/progs/full_queue.py
	$JC $TMP/q.json "diags('slow-connect')" "diags('accept-queue-full')" "not diags('retransmissions')"
}

# nginx without upstream keepalive: a new connection per request, its answer read in several
# chunks, then the EOF. Churn is one request and its answer, however many reads that takes.
case_churn_with_answers_read_in_chunks() {
	cat > $TMP/chunks.py <<'EOF'
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
def serve():
    while True:
        c, _ = srv.accept()
        c.recv(100)
        c.sendall(b"x" * 4000)
        c.close()
threading.Thread(target=serve, daemon=True).start()
for i in range(150):
    c = socket.create_connection(srv.getsockname())
    c.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while c.recv(512):
        pass
    c.close()
EOF
	$SL run --json $TMP/ch.json -- $PY $TMP/chunks.py
	$JC $TMP/ch.json "one('connection-churn')['evidence']['short_same_peer'] >= 100" \
		"at(one('connection-churn'), '$TMP/chunks.py', 11)"
}

# A prefork server (apache's workers): the parent sets its listener's options and forks workers that
# accept. The workers' listener is the parent's, options and all, and every connection accepted
# starts with the listener's options (Linux copies them): no gap the program does not have.
case_inherited_and_accepted_sockets_carry_their_options() {
	cat > $TMP/prefork.py <<'EOF'
import os, socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, b"\x05" + b"\0" * 15)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
if os.fork() == 0:
    a, _ = srv.accept()
    a.recv(10)
    a.close()
    os._exit(0)
c = socket.create_connection(srv.getsockname())
c.sendall(b"hi")
os.wait()
EOF
	$SL run --audit --json $TMP/pf.json -- $PY $TMP/prefork.py
	$JC $TMP/pf.json \
		"len([s for s in r['audit'] if s['role'] == 'listener']) == 2" \
		"all('SO_REUSEADDR' in s['options'] and not s['missing'] for s in r['audit'] if s['role'] == 'listener')" \
		"[s for s in r['audit'] if s['role'] == 'server' and {'SO_KEEPALIVE', 'TCP_NODELAY', 'SO_RCVTIMEO'} <= set(s['options']) and not any('no receive timeout' in m for m in s['missing'])]" \
		"not diags('missing-timeout')"
}

# A forked child closes every descriptor before it execs a helper (squid's ipcCreate): numbers it
# had closed fail with EBADF. Harmless there (one thread, the exec follows): info, not an error.
case_closing_everything_before_exec_is_not_an_error() {
	cat > $TMP/closeall.py <<'EOF'
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if os.fork() == 0:
    n = s.fileno()
    os.dup2(n, 20)  # the helper's end, at a number of its own
    os.close(n)
    for fd in range(3, 64):
        try:
            os.close(fd)
        except OSError:
            pass
    os.execv("/bin/true", ["true"])
os.wait()
EOF
	$SL run --json $TMP/ca.json -- $PY $TMP/closeall.py
	$JC $TMP/ca.json "one('use-after-close')['severity'] == 'info'" "not [d for d in diags() if d['severity'] != 'info']"
	# a double close with the program going on is still an error (anomalies.sh: use_after_close)
}

# rsync's daemon chroots into a module, then forks: the child cannot reach the run directory from
# inside the chroot. The report says that, not "a full or read-only filesystem?".
case_a_child_in_a_chroot_is_said_to_be_out_of_reach() {
	[ "$(id -u)" = 0 ] || skip "chroot needs root"
	mkdir -p $TMP/jail
	# the child uses a socket, so it needs a log, which it cannot make in the jail
	cat > $TMP/jail.py <<EOF
import os, socket
os.chroot("$TMP/jail")
os.chdir("/")
if os.fork() == 0:
    socket.socket().close()
    os._exit(0)
os.wait()
EOF
	$SL run --report $TMP/j.txt --json $TMP/j.json -- $PY $TMP/jail.py
	grep -q 'ran without a log: the run directory was not there from where they ran (a chroot' $TMP/j.txt
	grep -q 'incomplete: 1 process without a log' $TMP/j.txt
	$JC $TMP/j.json "r['run']['processes_unlogged']['no_run_dir'] == 1" "r['run']['processes_without_sockets'] == 0"
}

# haproxy's master stops its workers with SIGTERM and reaps them: the report says how each ended,
# as the master learned it, not "killed or crashed".
case_workers_a_master_stopped_are_said_killed_by_its_signal() {
	cat > $TMP/master.py <<'EOF'
import os, signal, socket, sys
r, w = os.pipe()
kids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        s = socket.socket(); s.bind(("127.0.0.1", 0))
        os.write(w, b"x")
        signal.pause()
    kids.append(pid)
os.read(r, 1); os.read(r, 1)
for pid in kids:
    os.kill(pid, signal.SIGTERM)
os.waitpid(kids[0], 0)
os.wait()
EOF
	$SL run --report $TMP/m.txt --json $TMP/m.json -- $PY $TMP/master.py
	$JC $TMP/m.json "len(r['processes']) == 3" "sorted(p['signal'] for p in r['processes'] if p['signal']) == [15, 15]"
	[ "$(grep -c 'killed by SIGTERM' $TMP/m.txt)" = 2 ] || { cat $TMP/m.txt; return 1; }
}

# haproxy logging to a /dev/log nobody listens on: thousands of failed sends from one call site.
# They are counted there; they do not push the other events out of the ring (a refused connect in
# the middle of them keeps its peer).
case_a_flood_of_one_failure_leaves_room_for_the_rest() {
	cat > $TMP/flood.py <<'EOF'
import socket
log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def flood():
    for i in range(1000):
        try:
            log.sendto(b"<14>hello", "/run/socklens-no-syslog/log")
        except OSError:
            pass
flood()
srv = socket.create_server(("127.0.0.1", 0)); port = srv.getsockname()[1]; srv.close()
try:
    socket.create_connection(("127.0.0.1", port))
except OSError:
    pass
flood()
EOF
	SOCKLENS_EVENTS=512 $SL run --json $TMP/fl.json -- $PY $TMP/flood.py
	$JC $TMP/fl.json "one('connect-refused')['peer'].startswith('127.0.0.1:')" \
		"one('connect-refused')['count'] == 1"
}

# A reset the program learns of from poll alone and never reads (libuv takes EPOLLHUP for the end:
# Node.js's "aborted" response) is still a connection-reset: the kernel closed the connection.
case_a_reset_seen_only_by_poll_is_a_reset() {
	local line; line=$(line_of tests/lang/reset_unread.py 'cl = socket.create_connection(')
	$SL run --report /dev/null --json $TMP/r.json -- $PY tests/lang/reset_unread.py | grep -q 'poll: ERR'
	$JC $TMP/r.json "[d for d in diags('connection-reset') if d['severity'] == 'error' and 'kernel had closed it' in d['summary'] and at(d, 'reset_unread.py', $line)]"
}
