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
