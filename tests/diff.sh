#!/usr/bin/env bash
# diff.sh - socklens diff: a fix shows its finding gone and its effect beyond noise, an A/A pair of
# the same program shows nothing, a regression fails the CI gate, a rebuild that moved lines still
# matches its call sites, and input that cannot be compared says so. tests/progs/exchange.py is the
# workload: clients asking an in-process server, with or without the fixes.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/diff.sh "$@"; exit; }

EXCH=tests/progs/exchange.py

# run NAME ARGS...: the workload under socklens, its run kept in $TMP/NAME, its report $TMP/NAME.json
run() {
	local name=$1
	shift
	rm -rf $TMP/$name $TMP/$name.json # (the suite's cases share $TMP)
	$SL run --dir $TMP/$name --json $TMP/$name.json -- $PY "$@" 2> $TMP/$name.err || { cat $TMP/$name.err; return 1; }
}

case_nagle_fixed_with_nodelay() {
	run before $EXCH --keepalive --clients 8 20
	run after $EXCH --keepalive --clients 8 --nodelay 20
	$SL diff --fail-on-new warning --json $TMP/before $TMP/after > $TMP/d.json
	$PY - $TMP/d.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
gone = [f for f in d["findings"] if f["kind"] == "nagle-delay"]
assert gone and gone[0]["change"] == "gone", d["findings"]
client = [g for g in d["groups"] if g["role"] == "client"][0]
wait = [m for m in client["metrics"] if m["name"] == "read_wait_ms"][0]
assert wait["significant"] and wait["change_pct"] < -50, wait
assert not d["gates_failed"]
run = {m["name"]: m for m in d["run"]["metrics"]}
assert run["span_s"]["after"] < run["span_s"]["before"] and not run["writes_per_s"]["tested"], run
EOF
	$SL diff $TMP/before.json $TMP/after.json > $TMP/d.txt
	grep -q "gone    warning nagle-delay" $TMP/d.txt
	# the other way round, a latency regression: the gate fails; no error was added, that gate holds
	local rc=0
	$SL diff --max-regression errors=0 $TMP/after.json $TMP/before.json > /dev/null || rc=$?
	[ $rc -eq 0 ] || { echo "errors=0: exit $rc"; return 1; }
	$SL diff --max-regression latency=10%,errors=0 $TMP/after.json $TMP/before.json > $TMP/r.txt || rc=$?
	[ $rc -eq 88 ] || { cat $TMP/r.txt; echo "exit $rc"; return 1; }
	grep -q "gate failed: read_wait_ms to 127.0.0.1 at .*: median +" $TMP/r.txt
	rc=0
	$SL diff --max-regression latency=ten $TMP/after.json $TMP/before.json 2> /dev/null || rc=$?
	[ $rc -eq 2 ]
}

case_a_connection_per_request_fixed_with_keepalive() {
	run before $EXCH --nodelay 150
	run after $EXCH --nodelay --keepalive 150
	$SL diff --json $TMP/before.json $TMP/after.json > $TMP/d.json
	$PY - $TMP/d.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert [f for f in d["findings"] if f["kind"] == "connection-churn" and f["change"] == "gone"], d["findings"]
client = [g for g in d["groups"] if g["role"] == "client"][0]
conns = [m for m in client["metrics"] if m["name"] == "connections"][0]
assert conns["before"] == 150 and conns["after"] == 1 and conns["significant"], conns
EOF
}

# The same program twice: nothing new, nothing gone, nothing significant.
case_a_a_pair_shows_nothing() {
	run one $EXCH --keepalive --clients 8 --nodelay --timeout 20
	run two $EXCH --keepalive --clients 8 --nodelay --timeout 20
	$SL diff --json $TMP/one.json $TMP/two.json > $TMP/d.json
	$PY - $TMP/d.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert not [f for f in d["findings"] if f["change"] in ("new", "gone")], d["findings"]
sig = [(g["role"], m["name"]) for g in d["groups"] for m in g["metrics"] if m["significant"]]
assert not sig, sig
EOF
}

# The timeout removed: the finding is new, and the CI gate fails (exit 88).
case_a_regression_fails_the_gate() {
	run before $EXCH --keepalive --nodelay --timeout 20
	run after $EXCH --keepalive --nodelay 20
	local rc=0
	$SL diff --fail-on-new warning $TMP/before.json $TMP/after.json > $TMP/d.txt || rc=$?
	[ $rc -eq 88 ] || { cat $TMP/d.txt; echo "exit $rc"; return 1; }
	grep -q "new     warning missing-timeout" $TMP/d.txt
	grep -q "gate failed: new warning missing-timeout" $TMP/d.txt
	# the same pair with no gate: the same report, exit 0
	$SL diff $TMP/before.json $TMP/after.json > /dev/null
	# Markdown for a pull request
	$SL diff --markdown $TMP/before.json $TMP/after.json > $TMP/d.md
	grep -q "^| finding | site | before | after |" $TMP/d.md
}

# A rebuild that moved every line: the call sites still match (function and file).
case_moved_lines_still_match() {
	{ printf '# moved\n# down\n# by\n# five\n# lines\n'; cat $EXCH; } > $TMP/exchange.py
	run before $EXCH --keepalive --clients 8 --nodelay 20
	run after $TMP/exchange.py --keepalive --clients 8 --nodelay 20
	$SL diff --json $TMP/before.json $TMP/after.json > $TMP/d.json
	$PY - $TMP/d.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert [f for f in d["findings"] if f["kind"] == "missing-timeout" and f["change"] == "same"], d["findings"]
assert not [f for f in d["findings"] if f["change"] in ("new", "gone")], d["findings"]
EOF
}

case_what_cannot_be_compared_is_said() {
	local rc=0
	$SL diff /etc/hostname /etc/hostname 2> $TMP/e1.txt || rc=$?
	[ $rc -eq 1 ] && grep -q "not a JSON report" $TMP/e1.txt
	echo '{"a": 1}' > $TMP/other.json
	rc=0
	$SL diff $TMP/other.json $TMP/other.json 2> $TMP/e2.txt || rc=$?
	[ $rc -eq 1 ] && grep -q "not a socklens JSON report" $TMP/e2.txt
	run py $EXCH 5
	$SL run --json $TMP/sh.json -- sh -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>/dev/null || true
	rc=0
	$SL diff $TMP/py.json $TMP/sh.json 2> $TMP/e3.txt || rc=$?
	[ $rc -eq 1 ] && grep -q "different programs" $TMP/e3.txt
	$SL diff --force $TMP/py.json $TMP/sh.json > /dev/null
	rc=0
	$SL diff $TMP/py.json $TMP/nosuch 2> $TMP/e4.txt || rc=$?
	[ $rc -eq 1 ] && grep -q "nosuch" $TMP/e4.txt
	# a FIFO is refused, not read (which would wait for a writer forever)
	rm -f $TMP/fifo && mkfifo $TMP/fifo
	rc=0
	$SL diff $TMP/fifo $TMP/py.json 2> $TMP/e5.txt || rc=$?
	[ $rc -eq 1 ] && grep -q "not a run directory nor a JSON report file" $TMP/e5.txt
}
