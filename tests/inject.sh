#!/usr/bin/env bash
# inject.sh - socklens run --inject: each fault against real programs (curl, Python, redis-cli),
# asserting what the program does (exit status, message, time) and what the report says of it;
# a blackhole against nft dropping SYNs in a network namespace; bad specs refused before the
# program starts.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/inject.sh "$@"; exit; }

RC=tests/lang/retry_client.py

# a web server on a free port, for the length of the case
http_server() {
	PORT=$(free_port)
	mkdir -p $TMP/www && head -c 200000 /dev/urandom > $TMP/www/big.bin && echo hello > $TMP/www/index.html
	(cd $TMP/www && exec $PY -m http.server $PORT --bind 127.0.0.1 >/dev/null 2>&1) &
	SERVER=$!
	trap 'kill $SERVER 2>/dev/null' EXIT
	wait_port $PORT
}

# seconds since the epoch, as a float
now() { date +%s.%N; }
elapsed_between() { $PY -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); sys.exit(0 if $3 <= t <= $4 else (print('took', t) or 1))" "$1" "$2"; }

case_bad_specs_are_refused_before_the_program_starts() {
	local spec
	for spec in 'bogus' 'delay=abc' 'refuse,to=1.2.3.4/40' 'refuse,color=red' 'nxdomain,to=1.2.3.4' \
		'jitter=5ms' 'refuse,nth=0' 'reset,silent' 'emfile,to=:80' 'refuse,p=2' 'refuse,to=:99999' '' \
		'refuse to=:80' 'nxdomain,host=' 'refuse,site=nosuch.c:1'; do
		rm -f $TMP/ran
		expect_status 2 $SL run --inject "$spec" -- touch $TMP/ran 2>$TMP/err
		[ ! -e $TMP/ran ] || { echo "the program ran despite '$spec'"; return 1; }
		grep -q -- "--inject '$spec'" $TMP/err || grep -q -- "--inject rule 1: ${spec#*,}" $TMP/err ||
			{ echo "no word of '$spec':"; cat $TMP/err; return 1; }
	done
	grep -q "unknown key 'color'" <(\
		$SL run --inject refuse,color=red -- true 2>&1)
	grep -q "unknown fault 'bogus' (faults: refuse, blackhole" <($SL run --inject bogus -- true 2>&1)
	printf '# a comment\nrefuse,to=:1\n\nbogus,to=:2\n' > $TMP/specs
	$SL run --inject-file $TMP/specs -- true 2>&1 | grep -q "line 4"
}

# refused by the kernel (a real RST): curl's own message and status, as for a closed port; the
# report shows the refusal as info (the cause) and the injected finding with what followed
case_refuse_is_a_real_refusal() {
	need curl
	http_server
	expect_status 7 $SL run --report $TMP/r.txt --json $TMP/r.json --inject refuse,to=127.0.0.1:$PORT -- \
		curl -sS -o /dev/null http://127.0.0.1:$PORT/ 2>$TMP/curl.err
	grep -q "Failed to connect to 127.0.0.1 port $PORT" $TMP/curl.err
	$JC $TMP/r.json "one('injected')['severity'] == 'info'" "one('connect-refused')['severity'] == 'info'" \
		"'ECONNREFUSED' in one('injected')['summary']" "'exited with status 7' in one('injected')['summary']" \
		"r['run']['injected'][0]['injected'] == 1" "r['run']['injected'][0]['fault'] == 'refuse'" \
		"not diags() or all(d['severity'] == 'info' for d in diags())"
	grep -q "injected: refuse to 127.0.0.1:$PORT: into 1 of 1 matching call" $TMP/r.txt
	# the same program without the fault is served
	$SL run --report /dev/null --inject refuse,to=127.0.0.1:1 -- curl -sS -o /dev/null http://127.0.0.1:$PORT/
}

# nth and p: which occurrences; p with a seed is the same in every run
case_which_occurrence_nth_and_seeded_probability() {
	http_server
	$SL run --report /dev/null --inject refuse,to=:$PORT,nth=2 -- $PY $RC three $PORT > $TMP/nth.out
	diff <(printf '1 ok\n2 failed 111\n3 ok\n') $TMP/nth.out
	$SL run --report /dev/null --inject refuse,to=:$PORT,p=50%,seed=7 -- $PY $RC three $PORT > $TMP/p1.out
	$SL run --report /dev/null --inject refuse,to=:$PORT,p=50%,seed=7 -- $PY $RC three $PORT > $TMP/p2.out
	diff $TMP/p1.out $TMP/p2.out
	$SL run --report /dev/null --json $TMP/e.json --inject refuse,to=:$PORT,every=2 -- $PY $RC three $PORT > $TMP/e.out
	diff <(printf '1 ok\n2 failed 111\n3 ok\n') $TMP/e.out
	$JC $TMP/e.json "r['run']['injected'][0]['matched'] == 3" "r['run']['injected'][0]['injected'] == 1"
}

# The README's worked example: a retry loop with no connect timeout hangs in a blackhole (the
# injected finding is a warning: no connect timeout); its fixed version gives up after three
# bounded tries, which the report counts.
case_blackhole_hangs_a_client_without_a_connect_timeout_and_not_the_fixed_one() {
	http_server
	local line; line=$(line_of $RC 's = socket.create_connection(("127.0.0.1", port))')
	expect_status 137 $SL run --report $TMP/h.txt --json $TMP/h.json --inject blackhole,to=:$PORT -- \
		timeout -s KILL 3 $PY $RC hang $PORT
	$JC $TMP/h.json "one('injected')['severity'] == 'warning'" "'no connect timeout' in one('injected')['summary']" \
		"at(one('injected'), 'retry_client.py', $line)"
	local t0 t1; t0=$(now)
	expect_status 1 $SL run --report $TMP/f.txt --json $TMP/f.json --inject blackhole,to=:$PORT -- $PY $RC fixed $PORT > $TMP/f.out
	t1=$(now)
	elapsed_between $t0 $t1 3 30
	[ "$(grep -c 'timed out' $TMP/f.out)" -eq 3 ]
	# a CI gate on the reaction, not on the fault: the hang fails it, the bounded retries do not
	expect_status 86 $SL run --fail-on all --report /dev/null --inject blackhole,to=:$PORT -- timeout 3 $PY $RC hang $PORT
	expect_status 1 $SL run --fail-on all --report /dev/null --inject blackhole,to=:$PORT -- $PY $RC fixed $PORT >/dev/null
	$JC $TMP/f.json "diags('injected')[0]['severity'] == 'info'" "diags('injected')[0]['count'] == 3" \
		"'gave up on the connect after' in diags('injected')[0]['summary']" \
		"'tried again 2 times' in diags('injected')[0]['summary']" "'exited with status 1' in diags('injected')[0]['summary']"
}

# curl's --connect-timeout against the blackhole and against nft dropping the SYNs in a network
# namespace: the same exit status, the same time within bounds.
case_blackhole_matches_nft_dropping_syns() {
	need curl nft unshare
	unshare -n true 2>/dev/null || skip "cannot create a network namespace"
	cat > $TMP/ns.sh <<EOF
set -e
ip link set lo up
nft add table inet t
nft add chain inet t in '{ type filter hook input priority 0; }'
nft add rule inet t in tcp dport 9 tcp flags syn drop
t0=\$(date +%s.%N)
rc=0; curl -sS --connect-timeout 2 -o /dev/null http://127.0.0.1:9/ 2>/dev/null || rc=\$?
t1=\$(date +%s.%N)
echo "nft \$rc \$t0 \$t1"
t0=\$(date +%s.%N)
rc=0; $SL run --report /dev/null --inject blackhole,to=:9 -- curl -sS --connect-timeout 2 -o /dev/null http://127.0.0.1:9/ 2>/dev/null || rc=\$?
t1=\$(date +%s.%N)
echo "inject \$rc \$t0 \$t1"
EOF
	unshare -n bash $TMP/ns.sh > $TMP/ns.out || { cat $TMP/ns.out; return 1; }
	cat $TMP/ns.out
	local a b
	read -r _ a t0 t1 < <(grep ^nft $TMP/ns.out); elapsed_between $t0 $t1 1.9 6
	read -r _ b t0 t1 < <(grep ^inject $TMP/ns.out); elapsed_between $t0 $t1 1.9 6
	[ "$a" = 28 ] && [ "$b" = 28 ]
}

# latency through the relay: the handshake's round trip goes on the first data, so a request
# and its answer take what they would on a link with that delay; the bytes arrive intact
case_delay_and_rate_through_the_relay() {
	need curl
	http_server
	local t
	t=$($SL run --report /dev/null --inject delay=200ms,to=:$PORT -- curl -sS -o $TMP/got -w '%{time_total}' \
		http://127.0.0.1:$PORT/big.bin)
	cmp $TMP/got $TMP/www/big.bin
	$PY -c "import sys; t=float('$t'); sys.exit(0 if 0.75 <= t <= 10 else (print('took', t) or 1))"
	t=$($SL run --report /dev/null --inject rate=100k,to=:$PORT -- curl -sS -o $TMP/got2 -w '%{time_total}' \
		http://127.0.0.1:$PORT/big.bin)
	cmp $TMP/got2 $TMP/www/big.bin
	# 200,000 bytes at 102,400 B/s (a burst of a twentieth of a second allowed)
	$PY -c "import sys; t=float('$t'); sys.exit(0 if 1.7 <= t <= 15 else (print('took', t) or 1))"
	# while the relay waits for its rate's tokens it sleeps in poll: the two seconds of the transfer
	# cost socklens run (and curl) a fraction of a CPU second, not a spinning core's two or more
	$PY - "$SL" $PORT <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "run", "--report", "/dev/null", "--inject", "rate=100k,to=:" + sys.argv[2], "--",
                "curl", "-sS", "-o", "/dev/null", "http://127.0.0.1:%s/big.bin" % sys.argv[2]], check=True)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.exit(0 if u.ru_utime + u.ru_stime < 1.5 else (print("CPU seconds:", u.ru_utime + u.ru_stime) or 1))
PY
	# connections only slowed: the next ones are the program's next requests, not tries again
	$SL run --report /dev/null --json $TMP/s.json --inject delay=20ms,to=:$PORT -- $PY $RC three $PORT > /dev/null
	$JC $TMP/s.json "diags('injected')[0]['count'] == 3" "not any('tried again' in d['summary'] for d in diags('injected'))"
}

# a reset mid-response: curl's "Connection reset by peer" and status 56; Python's error; the
# relayed connection's getpeername is the real server's, not socklens's port
case_reset_and_silence_look_real() {
	need curl
	http_server
	expect_status 56 $SL run --report /dev/null --json $TMP/r.json --inject reset,after=1000,to=:$PORT -- \
		curl -sS -o /dev/null http://127.0.0.1:$PORT/big.bin 2>$TMP/curl.err
	grep -q 'Connection reset by peer' $TMP/curl.err
	$JC $TMP/r.json "'ECONNRESET' in one('injected')['summary'] or 'reset' in one('injected')['summary']"
	$SL run --report /dev/null --inject slice=100,to=:$PORT -- $PY $RC peer $PORT > $TMP/peer.out
	grep -q "^peer $PORT\$" $TMP/peer.out
	grep -q "^got " $TMP/peer.out
	expect_status 28 $SL run --report /dev/null --inject silent,to=:$PORT -- curl -sS -m 2 -o /dev/null \
		http://127.0.0.1:$PORT/ 2>$TMP/s.err
	grep -q 'Operation timed out' $TMP/s.err
}

# lookups: NXDOMAIN and SERVFAIL as the resolver returns them, for the name asked; other names
# and numeric addresses untouched
case_dns_faults() {
	need curl
	http_server
	expect_status 3 $SL run --report /dev/null --json $TMP/d.json --inject nxdomain,host=localhost -- \
		$PY $RC lookup localhost > $TMP/d.out
	grep -q "gaierror -2" $TMP/d.out
	$JC $TMP/d.json "one('injected')['summary'].startswith('Injected nxdomain into getaddrinfo() of localhost (--inject rule 1: nxdomain for localhost)')" \
		"all(d['severity'] == 'info' for d in diags())"
	expect_status 3 $SL run --report /dev/null --inject servfail,host=.localhost -- $PY $RC lookup localhost > $TMP/s.out
	grep -q "gaierror -3" $TMP/s.out
	# curl answers "localhost" itself: this host's own name goes to the resolver
	local me; me=$(hostname)
	getent hosts "$me" >/dev/null || skip "this host's name ($me) does not resolve"
	expect_status 6 $SL run --report /dev/null --inject nxdomain,host=$me -- curl -sS -o /dev/null http://$me:$PORT/
	local rc=0
	curl -sS -m 5 -o /dev/null http://$me:$PORT/ 2>/dev/null || rc=$?
	[ $rc -ne 6 ] # resolved without the fault (served, or refused on another loopback address)
	$SL run --report /dev/null --inject nxdomain,host=$me -- curl -sS -o /dev/null http://127.0.0.1:$PORT/
}

case_fd_exhaustion() {
	expect_status 4 $SL run --report /dev/null --json $TMP/m.json --inject emfile,calls=socket -- $PY $RC socket > $TMP/m.out
	grep -q "socket errno 24" $TMP/m.out
	$JC $TMP/m.json "one('injected')['summary'].startswith('Injected emfile into socket() (--inject rule 1: emfile)')" \
		"one('fd-exhaustion')['severity'] == 'info'"
}

# redis-cli, as Debian ships it: refused and blackholed with its own timeout
case_redis_cli() {
	need redis-server redis-cli
	local port; port=$(free_port)
	redis-server --port $port --bind 127.0.0.1 --save '' --daemonize no >/dev/null &
	SERVER=$!
	trap 'kill $SERVER 2>/dev/null' EXIT
	wait_port $port
	redis-cli -p $port ping | grep -q PONG
	$SL run --report /dev/null --inject refuse,to=:$port -- redis-cli -p $port ping > $TMP/r.out 2>&1 || true
	grep -q "Could not connect to Redis at 127.0.0.1:$port: Connection refused" $TMP/r.out
	$SL run --report /dev/null --json $TMP/b.json --inject blackhole,to=:$port -- timeout -s KILL 3 redis-cli -p $port ping \
		> /dev/null 2>&1 || true
	$JC $TMP/b.json "'no connect timeout' in one('injected')['summary']"
}

# Go, through the tracer (no libc): the connect's address is rewritten in the program's memory for
# the call alone. net.Dial with no timeout hangs in a blackhole; net.DialTimeout gives up after
# 1 s, three times; http.Get meets a reset through the relay.
case_go_client_with_and_without_dial_timeout() {
	need go
	(cd tests/go/retry && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o $TMP/retry .) ||
		{ echo "go build failed"; return 1; }
	http_server
	local line; line=$(line_of tests/go/retry/main.go 'c, err := net.Dial("tcp", addr)')
	expect_status 1 $SL run --report /dev/null --json $TMP/f.json --inject blackhole,to=:$PORT -- $TMP/retry fixed \
		127.0.0.1:$PORT > $TMP/f.out
	[ "$(grep -c 'i/o timeout' $TMP/f.out)" -eq 3 ]
	$JC $TMP/f.json "diags('injected')[0]['count'] == 3" "diags('injected')[0]['severity'] == 'info'" \
		"'tried again 2 times' in diags('injected')[0]['summary']" "r['run']['injected'][0]['injected'] == 3"
	# the hang: socklens run's logs read while it waits, then the program stopped by a signal
	$SL run --dir $TMP/h --report $TMP/h.txt --json $TMP/h.json --inject blackhole,to=:$PORT -- $TMP/retry hang \
		127.0.0.1:$PORT > /dev/null &
	local run=$! i
	for i in $(seq 200); do
		$SL report --json $TMP/h 2>/dev/null | grep -q '"kind": *"injected"' && break
		sleep 0.1
	done
	kill -TERM $run
	wait $run || true
	$JC $TMP/h.json "one('injected')['severity'] == 'warning'" "'no connect timeout' in one('injected')['summary']" \
		"at(one('injected'), 'tests/go/retry/main.go', $line)"
	expect_status 1 $SL run --report /dev/null --inject reset,to=:$PORT -- $TMP/retry get 127.0.0.1:$PORT > $TMP/g.out
	grep -q "read tcp 127.0.0.1:[0-9]*->127.0.0.1:$PORT: read: connection reset by peer" $TMP/g.out # the real peer
	$SL run --report /dev/null --inject delay=100ms,to=:$PORT -- $TMP/retry get 127.0.0.1:$PORT | grep -q '200 OK'
}

# curl's own retries meet the fault each time: the report counts them at curl's connect site
case_curl_retry_connrefused() {
	need curl
	http_server
	expect_status 7 $SL run --report /dev/null --json $TMP/c.json --inject refuse,to=:$PORT -- \
		curl -sS --retry 2 --retry-delay 1 --retry-connrefused -o /dev/null http://127.0.0.1:$PORT/ 2>/dev/null
	$JC $TMP/c.json "r['run']['injected'][0]['injected'] == 3" "one('injected')['count'] == 3" \
		"'tried again 2 times' in one('injected')['summary']"
	# the fault only for the first try: the retry gets through
	$SL run --report /dev/null --json $TMP/c2.json --inject refuse,to=:$PORT,count=1 -- \
		curl -sS --retry 2 --retry-delay 1 --retry-connrefused -o /dev/null http://127.0.0.1:$PORT/ 2>/dev/null
	$JC $TMP/c2.json "'the last try connected' in one('injected')['summary']"
}

# Java's HttpClient with a 1 s connect timeout: a blackhole is an HttpConnectTimeoutException
# after about a second; a refusal a ConnectException
case_java_http_client() {
	need java
	http_server
	expect_status 1 $SL run --report /dev/null --json $TMP/j.json --inject blackhole,to=:$PORT -- \
		java tests/lang/InjectClient.java http://127.0.0.1:$PORT/ > $TMP/j.out
	grep -q 'failed HttpConnectTimeoutException' $TMP/j.out
	# (what the report says next depends on a race in the JDK: its selector thread closes the
	# channel after the timeout, and the program's exit can come first)
	$JC $TMP/j.json "one('injected')['summary'].startswith('Injected blackhole into connect() to ')" \
		"one('injected')['peer'].endswith(':$PORT')"
	expect_status 1 $SL run --report /dev/null --inject refuse,to=:$PORT -- java tests/lang/InjectClient.java \
		http://127.0.0.1:$PORT/ > $TMP/r.out
	grep -q 'failed ConnectException' $TMP/r.out
	$SL run --report /dev/null --inject refuse,to=:1 -- java tests/lang/InjectClient.java http://127.0.0.1:$PORT/ |
		grep -q 'status 200'
}

# nginx as a proxy with two upstreams and proxy_next_upstream error: the first refused, nginx
# fails over to the second and the client gets its page; the report says where it went
case_nginx_fails_over_to_the_next_upstream() {
	need nginx curl
	http_server
	local port up2; port=$(free_port); up2=$(free_port)
	nginx_conf $TMP/ng 1 "upstream app { server 127.0.0.2:$up2; server 127.0.0.1:$PORT; }
  server { listen 127.0.0.1:$port; location / { proxy_pass http://app; proxy_next_upstream error timeout;
    proxy_connect_timeout 1s; } }"
	$SL run --json $TMP/ng.json --inject refuse,to=127.0.0.2 -- nginx -p $TMP/ng -c $TMP/ng/nginx.conf \
		-g 'daemon off;' > $TMP/ng.out 2>&1 &
	local run=$!
	wait_port $port
	[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/index.html)" = 200 ]
	kill -QUIT "$(cat $TMP/ng/nginx.pid)"
	wait $run || true
	$JC $TMP/ng.json "'ECONNREFUSED' in one('injected')['summary']" \
		"'to other peers (the last 127.0.0.1:$PORT)' in one('injected')['summary']" \
		"'the last try connected' in one('injected')['summary']"
}

# site=: only the connects made from that line (or function): Python's frames by name, a C
# program's and a Go program's by the address ranges of the line socklens run looked up
case_site_picks_the_call_site() {
	http_server
	local py c go
	py=$(line_of $RC 's = socket.create_connection(("127.0.0.1", port), timeout=1)')
	expect_status 1 $SL run --report /dev/null --inject refuse,site=retry_client.py:$py -- $PY $RC fixed $PORT > $TMP/p1.out
	[ "$(grep -c 'Connection refused' $TMP/p1.out)" -eq 3 ]
	$SL run --report /dev/null --inject refuse,site=retry_client.py:$((py + 1)) -- $PY $RC fixed $PORT | grep -q '^connected'
	c=$(line_of tests/progs/one_connect.c 'int r = connect(fd,')
	$SL run --report /dev/null --json $TMP/c.json --inject refuse,site=one_connect.c:$c -- $PROGS/one_connect $PORT || true
	$JC $TMP/c.json "r['run']['injected'][0]['injected'] == 1" "'at one_connect.c:$c' in r['run']['injected'][0]['description']"
	$SL run --report /dev/null --json $TMP/c2.json --inject refuse,site=one_connect.c:$((c - 1)) -- $PROGS/one_connect $PORT
	$JC $TMP/c2.json "r['run']['injected'][0]['injected'] == 0"
	$SL run --report /dev/null --json $TMP/c3.json --inject refuse,site=main -- $PROGS/one_connect $PORT || true
	$JC $TMP/c3.json "r['run']['injected'][0]['injected'] == 1"
	# a line the program has no code for: an error before it starts
	expect_status 2 $SL run --inject refuse,site=one_connect.c:1 -- $PROGS/one_connect $PORT 2>$TMP/e.err
	grep -q 'not in the line table' $TMP/e.err
	need go
	(cd tests/go/retry && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o $TMP/retry .) ||
		{ echo "go build failed"; return 1; }
	go=$(line_of tests/go/retry/main.go 'c, err := net.DialTimeout("tcp", addr, time.Second)')
	expect_status 1 $SL run --report /dev/null --inject refuse,site=main.go:$go -- $TMP/retry fixed 127.0.0.1:$PORT > $TMP/g.out
	[ "$(grep -c 'connection refused' $TMP/g.out)" -eq 3 ]
	$SL run --report /dev/null --inject refuse,site=main.go:$((go + 1)) -- $TMP/retry fixed 127.0.0.1:$PORT | grep -q '^connected'
}

# a server whose accept stalls once: the first request waits the 2 s out, the later ones are served
# at once (curl -m 1); a slow close holds the program's close
case_accept_stall_and_slow_close() {
	need curl
	local port; port=$(free_port)
	mkdir -p $TMP/www && echo hello > $TMP/www/index.html
	(cd $TMP/www && exec $SL run --report $TMP/srv.txt --json $TMP/srv.json --inject accept-stall=2s,nth=1 -- \
		$PY -m http.server $port --bind 127.0.0.1 >/dev/null 2>&1) &
	local run=$!
	wait_port $port
	# (wait_port's connection, queued at once, is the first accept: this request waits behind it)
	local t; t=$(curl -sS -m 10 -o /dev/null -w '%{time_total}' http://127.0.0.1:$port/)
	$PY -c "import sys; sys.exit(0 if float('$t') >= 1.5 else (print('took', '$t') or 1))"
	expect_status 0 curl -sS -m 1 -o /dev/null http://127.0.0.1:$port/
	kill -TERM $run
	wait $run || true
	$JC $TMP/srv.json "one('injected')['summary'].startswith('Injected accept-stall into accept() (--inject rule 1: accept-stall 2000ms, match #1 only)')" \
		"r['run']['injected'][0]['injected'] == 1"
	http_server
	local t0 t1; t0=$(now)
	$SL run --report /dev/null --inject slow-close=1500ms,to=:$PORT -- $PY $RC three $PORT > /dev/null
	t1=$(now)
	elapsed_between $t0 $t1 4.4 40
}

# rate= against the kernel's own shaper: a 200 KB download through tbf at 800 kbit/s in a network
# namespace, and through --inject rate=100k (102,400 B/s) there without tbf, take the same time
case_rate_matches_tbf() {
	need curl tc unshare
	unshare -n true 2>/dev/null || skip "cannot create a network namespace"
	mkdir -p $TMP/tw && head -c 200000 /dev/urandom > $TMP/tw/big.bin
	cat > $TMP/tbf.sh <<NS
set -e
ip link set lo up
ip link set lo mtu 1500
(cd $TMP/tw && exec $PY -m http.server 8099 --bind 127.0.0.1 >/dev/null 2>&1) &
srv=\$!
for i in \$(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/8099) 2>/dev/null && break; sleep 0.05; done
tc qdisc add dev lo root tbf rate 800kbit burst 32kb latency 2s
curl -sS -o /dev/null -w 'tbf %{time_total}\n' http://127.0.0.1:8099/big.bin
tc qdisc del dev lo root
$SL run --report /dev/null --inject rate=100k,dir=in -- curl -sS -o /dev/null -w 'inject %{time_total}\n' \
	http://127.0.0.1:8099/big.bin
kill \$srv
NS
	unshare -n bash $TMP/tbf.sh > $TMP/tbf.out || { cat $TMP/tbf.out; return 1; }
	cat $TMP/tbf.out
	$PY - $TMP/tbf.out <<'PY'
import sys
t = dict(line.split() for line in open(sys.argv[1]))
a, b = float(t["tbf"]), float(t["inject"])
# 200,000 bytes at 100,000 (tbf) or 102,400 (inject) B/s, less a burst: 1.6 to 2 s; within 30% of each other
sys.exit(0 if 1.2 <= a <= 6 and 1.2 <= b <= 6 and abs(a - b) <= 0.3 * max(a, b) else 1)
PY
}

# Python's urllib and http.client, as programs use them: a reset mid-response, a silent server
# against the client's timeout, a refused connect
case_python_urllib_and_http_client() {
	http_server
	cat > $TMP/u.py <<PY
import http.client, socket, sys, urllib.request, urllib.error
mode = sys.argv[1]
try:
    if mode == "urllib":
        urllib.request.urlopen("http://127.0.0.1:$PORT/big.bin", timeout=5).read()
    else:
        c = http.client.HTTPConnection("127.0.0.1", $PORT, timeout=1)
        c.request("GET", "/")
        c.getresponse().read()
    print("ok")
except Exception as e:
    print(type(e).__name__)
    sys.exit(1)
PY
	expect_status 1 $SL run --report /dev/null --inject reset,after=10k,to=:$PORT -- $PY $TMP/u.py urllib > $TMP/u1.out
	grep -qE '^(ConnectionResetError|IncompleteRead|URLError)$' $TMP/u1.out
	expect_status 1 $SL run --report /dev/null --inject refuse,to=:$PORT -- $PY $TMP/u.py urllib > $TMP/u2.out
	grep -q '^URLError$' $TMP/u2.out
	expect_status 1 $SL run --report /dev/null --json $TMP/h.json --inject silent,to=:$PORT -- $PY $TMP/u.py http > $TMP/h.out
	grep -qE '^(TimeoutError|timeout)$' $TMP/h.out
	$JC $TMP/h.json "'closed the connection after' in one('injected')['summary']"
	$SL run --report /dev/null --inject delay=50ms,to=:$PORT -- $PY $TMP/u.py urllib | grep -q '^ok$'
}

# eintr: a blocking recv that would wait fails with EINTR once; code that forgets EINTR ends, code
# that retries reads the whole answer (the delay makes the read wait, so the fault is certain)
case_eintr_on_a_blocking_read() {
	http_server
	expect_status 3 $SL run --report /dev/null --json $TMP/e.json --inject delay=200ms,to=:$PORT --inject eintr,to=:$PORT -- \
		$PROGS/eintr_client $PORT > $TMP/e.out
	grep -q 'recv: Interrupted system call' $TMP/e.out
	$JC $TMP/e.json "'did not call again' in [d for d in diags('injected') if d['summary'].startswith('Injected eintr')][0]['summary']"
	$SL run --report /dev/null --json $TMP/r.json --inject delay=200ms,to=:$PORT --inject eintr,to=:$PORT -- \
		$PROGS/eintr_client $PORT retry > $TMP/r.out
	grep -q '^read [0-9]* bytes' $TMP/r.out
	$JC $TMP/r.json "'called again and went on' in [d for d in diags('injected') if d['summary'].startswith('Injected eintr')][0]['summary']"
}

# Go's own resolver (no libc): the server's answer turned into NXDOMAIN or SERVFAIL in the
# program's buffer as it reads it; Go says "no such host" / "server misbehaving"
case_go_resolver_nxdomain_and_servfail() {
	need go
	(cd tests/go/lookup && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o $TMP/lookup .) ||
		{ echo "go build failed"; return 1; }
	dns_env 0
	cat >> $TMP/dns.sh <<RUN
$TMP/lookup slow.ok.example > $TMP/plain.out
$SL run --report /dev/null --json $TMP/n.json --inject nxdomain,host=slow.ok.example -- $TMP/lookup slow.ok.example \
	slow.other.example > $TMP/n.out
$SL run --report /dev/null --inject servfail,host=.ok.example -- $TMP/lookup slow.ok.example > $TMP/s.out
RUN
	unshare -mn bash $TMP/dns.sh
	grep -q '^slow.ok.example \[127.0.0.1\] <nil>' $TMP/plain.out
	grep -q '^slow.ok.example .*no such host' $TMP/n.out
	grep -q '^slow.other.example \[127.0.0.1\] <nil>' $TMP/n.out
	grep -q '^slow.ok.example .*server misbehaving' $TMP/s.out
	$JC $TMP/n.json "diags('injected')[0]['summary'].startswith('Injected nxdomain into the answer to a lookup of slow.ok.example')" \
		"all(d['severity'] == 'info' for d in diags())"
}
