#!/usr/bin/env bash
# langframes.sh - the user's own line in interpreted programs: the shim reads the calling thread's
# Python frames (CPython 3.11) into the stacks it captures, and findings start at the script's
# function and line, not at the interpreter's C code.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/langframes.sh "$@"; exit; }

python_frames() { # PYTHON: a refused connect and a read with no timeout, at the script's lines
	local py=$1 connect read port
	connect=$(line_of tests/lang/client.py 'return socket.create_connection(("127.0.0.1", port))')
	read=$(line_of tests/lang/client.py 'c = socket.create_connection(srv.getsockname())')
	local recv; recv=$(line_of tests/lang/client.py 'return c.recv(100)  # no timeout')
	port=$(free_port)
	$SL run --json $TMP/py.json -- $py tests/lang/client.py $port > $TMP/py.out
	grep -q "reply: b'OK" $TMP/py.out
	$JC $TMP/py.json "one('connect-refused')['stack'][0]['function'] == 'fetch_status'" \
		"one('connect-refused')['stack'][0]['file'].endswith('tests/lang/client.py')" \
		"one('connect-refused')['stack'][0]['line'] == $connect" \
		"one('connect-refused')['stack'][1]['function'] == 'main'" \
		"one('missing-timeout')['stack'][0]['function'] == 'read_reply'" \
		"one('missing-timeout')['stack'][0]['line'] == $read" "proc()['python_frames'] == 'read'" \
		"one('missing-timeout')['read_site'][0]['function'] == 'read_reply'" \
		"one('missing-timeout')['read_site'][0]['line'] == $recv"
	# turned off: the interpreter's C frames, as before
	$SL run --no-lang-frames --json $TMP/off.json -- $py tests/lang/client.py $port > /dev/null
	$JC $TMP/off.json "proc()['python_frames'] is None" \
		"all(f['module'] != 'python' for f in one('connect-refused')['stack'])"
}

case_python_frames_debian_python3() { python_frames /usr/bin/python3; }

case_python_frames_python3_on_path() {
	# the python3 on PATH (a pyenv build here, with a shared libpython) where it is a 3.11
	command -v python3 >/dev/null || skip "no python3 on PATH"
	python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || skip "python3 on PATH is not 3.11"
	python_frames "$(python3 -c 'import sys; print(sys.executable)')"
}

case_python_of_another_version_is_said() {
	# a CPython whose frame layout is not known: native frames only, and the report says why
	local other; other=$(ls /usr/bin/python3.[0-9]* /root/.pyenv/versions/*/bin/python3.[0-9]* 2>/dev/null |
		grep -v 'python3.11$' | grep -E 'python3\.[0-9]+$' | head -1)
	[ -n "$other" ] || skip "no CPython other than 3.11 installed"
	$SL run --json $TMP/o.json -- $other -c 'import socket
try: socket.create_connection(("127.0.0.1", 1))
except OSError: pass' 2>&1 | tee $TMP/o.txt
	grep -q "Python frames unavailable" $TMP/o.txt
}
