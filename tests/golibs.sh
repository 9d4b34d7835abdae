#!/usr/bin/env bash
# golibs.sh - `make check-golibs`: Go programs built on libraries from Debian's packages (gRPC), in
# GOPATH mode (needs ./scripts/install-deps.sh --golibs). A separate target: building gRPC from
# source takes a minute.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/golibs.sh "$@"; exit; }

# builds tests/golibs/$1 into $2 against /usr/share/gocode
golib_build() {
	need go
	[ -d /usr/share/gocode/src/google.golang.org/grpc ] ||
		{ echo "golang-google-grpc-dev missing: run ./scripts/install-deps.sh --golibs"; return 1; }
	(cd tests/golibs/$1 && GO111MODULE=off GOPATH=/usr/share/gocode:$TMP/gopath CGO_ENABLED=0 \
		GOCACHE=${GOCACHE:-$HOME/.cache/socklens-golibs} go build -o $2 .) || { echo "go build $1 failed"; return 1; }
}

# A gRPC call is waited for by the program's goroutine (waitOnHeader) while the connection's
# reader goroutine reads whatever the server sends: the reader was taken for an idle pool, so a
# call to a server that never answers, with no deadline, was "No socket problems found". It is a
# missing-timeout error at the program's call (under a deadline it is not: the next case); a
# healthy call, and the server's own reader of its client's connection (idle between streams), are
# no finding.
case_grpc_call_without_a_deadline() {
	local bin=$TMP/grpccall src=tests/golibs/grpccall/main.go line
	golib_build grpccall $bin || return 1
	line=$(line_of $src "resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: \"x\"}) // the program's call")
	$SL run --json $TMP/ok.json -- $bin ok > $TMP/ok.out 2>&1
	grep -q "grpccall: SERVING" $TMP/ok.out
	$JC $TMP/ok.json "not [d for d in diags() if d['severity'] != 'info']"
	expect_status 1 $SL run --json $TMP/nd.json -- $bin nodeadline > $TMP/nd.out 2>&1
	grep -q "grpccall: gave up" $TMP/nd.out
	$JC $TMP/nd.json "one('missing-timeout')['severity'] == 'error'" "at(one('missing-timeout'), '$src', $line, 'read_site')" \
		"not [d for d in diags() if d['severity'] != 'info' and d['kind'] not in ('missing-timeout', 'unanswered-request')]"
}

# A call whose deadline runs out on a connection that stays open (the call's cancel goes out as
# RST_STREAM; the next call goes on on the same connection): the connection's traffic hid it, and
# the report was "No socket problems found". Each such call is an unanswered-request error at the
# program's call line, told from a call answered in time by its context's error
# (DeadlineExceeded, not Canceled). Calls answered at once, one after another, are none.
case_grpc_call_whose_deadline_ran_out() {
	local bin=$TMP/grpccall src=tests/golibs/grpccall/main.go line
	golib_build grpccall $bin || return 1
	line=$(line_of $src "_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: \"x\"}) // a call that may time out")
	expect_status 1 $SL run --json $TMP/deaf.json -- $bin deaf > $TMP/deaf.out 2>&1
	[ "$(grep -c "try .* DeadlineExceeded" $TMP/deaf.out)" = 3 ] || { cat $TMP/deaf.out; return 1; }
	$JC $TMP/deaf.json "one('unanswered-request')['severity'] == 'error'" \
		"one('unanswered-request')['count'] == 3" "at(one('unanswered-request'), '$src', $line, 'send_site')" \
		"len(diags()) == 1"
	# the server's handler ends at the deadline it was given, and its status races the client's
	# own deadline: the call is unanswered either way, and under its deadline no missing-timeout
	line=$(line_of $src "resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: \"x\"}) // the program's call")
	expect_status 1 $SL run --json $TMP/dl.json -- $bin deadline > $TMP/dl.out 2>&1
	grep -q "context deadline exceeded" $TMP/dl.out
	$JC $TMP/dl.json "one('unanswered-request')['severity'] == 'error'" "at(one('unanswered-request'), '$src', $line, 'send_site')" \
		"not diags('missing-timeout')"
	$SL run --json $TMP/many.json -- $bin many > $TMP/many.out 2>&1
	grep -q "grpccall: SERVING" $TMP/many.out || { cat $TMP/many.out; return 1; }
	$JC $TMP/many.json "not [d for d in diags() if d['severity'] != 'info']"
}

# gRPC dials in a goroutine of its own (an addrConn's): a refused connection's stack was all gRPC's
# (DialContext.func2 ... createTransport). It is the program's goroutine's that waits for it: a
# blocking Dial here (or a call waiting to pick a connection).
case_grpc_refused_dial_at_the_programs_line() {
	local bin=$TMP/grpccall src=tests/golibs/grpccall/main.go line
	golib_build grpccall $bin || return 1
	line=$(line_of $src "grpc.DialContext(ctx, ln.Addr().String(), grpc.WithInsecure(), grpc.WithBlock()) // the program's dial")
	expect_status 1 $SL run --json $TMP/dead.json -- $bin dead > $TMP/dead.out 2>&1
	grep -q "grpccall: context deadline exceeded" $TMP/dead.out
	$JC $TMP/dead.json "[d for d in diags('connect-refused') if at(d, '$src', $line)]"
}
