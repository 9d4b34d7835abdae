#!/usr/bin/env bash
# langframes.sh - the user's own line in Python, Java and Node.js programs: the shim reads the
# calling thread's Python frames (CPython 3.11) and asks the JVM for its Java frames (JVMTI) when
# it captures a stack; V8 names its JavaScript code in a perf map. Findings start at the program's
# function and line, not at the runtime's C code.
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
		"one('missing-timeout')['stack'][0]['line'] == $read" "proc()['language_frames']['state'] == 'read'" \
		"one('missing-timeout')['read_site'][0]['function'] == 'read_reply'" \
		"one('missing-timeout')['read_site'][0]['line'] == $recv"
	# turned off: the interpreter's C frames, as before
	$SL run --no-lang-frames --json $TMP/off.json -- $py tests/lang/client.py $port > /dev/null
	$JC $TMP/off.json "proc()['language_frames'] is None" \
		"all(f['module'] != 'python' for f in one('connect-refused')['stack'])"
}

case_python_frames_debian_python3() { python_frames /usr/bin/python3; }

case_python_frames_python3_on_path() {
	# the python3 on PATH (a pyenv build here, with a shared libpython) where it is a 3.11
	command -v python3 >/dev/null || skip "no python3 on PATH"
	python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || skip "python3 on PATH is not 3.11"
	python_frames "$(python3 -c 'import sys; print(sys.executable)')"
}

case_python_frames_3_12_and_3_13() { # other layouts (pyenv's here), each read through its own offsets
	local p found=0
	for p in $(ls /root/.pyenv/versions/3.1[23]*/bin/python3.1[23] 2>/dev/null); do
		python_frames "$p"
		found=1
	done
	[ $found = 1 ] || skip "no CPython 3.12 or 3.13 installed"
}

case_python_of_another_version_is_said() {
	# a CPython whose frame layout is not known: native frames only, and the report says why
	local other; other=$(ls /usr/bin/python3.[0-9]* /root/.pyenv/versions/*/bin/python3.[0-9]* 2>/dev/null |
		grep -v -E 'python3.1[123]$' | grep -E 'python3\.[0-9]+$' | head -1)
	[ -n "$other" ] || skip "no CPython other than 3.11 to 3.13 installed"
	local v; v=$($other -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	$SL run --json $TMP/o.json -- $other -c 'import socket
try: socket.create_connection(("127.0.0.1", 1))
except OSError: pass' 2>&1 | tee $TMP/o.txt
	grep -q "Python frames unavailable in 1 process: CPython $v; socklens reads the frames of 3.11 to 3.13" $TMP/o.txt
	$JC $TMP/o.json "proc()['language_frames']['state'] == 'unavailable'"
}

case_java_frames() { # Debian's OpenJDK: JVMTI from the running VM, no agent flag
	command -v javac >/dev/null || skip "no javac"
	local port connect read recv
	connect=$(line_of tests/lang/Client.java 'return new Socket("127.0.0.1", port);')
	read=$(line_of tests/lang/Client.java 'Socket c = new Socket("127.0.0.1", srv.getLocalPort());')
	recv=$(line_of tests/lang/Client.java 'return in.read(); // no timeout')
	port=$(free_port)
	mkdir -p $TMP/classes && javac -d $TMP/classes tests/lang/Client.java
	# what the program prints is the same with and without socklens
	java -cp $TMP/classes Client $port > $TMP/plain.out
	$SL run --json $TMP/j.json -- java -cp $TMP/classes Client $port > $TMP/j.out
	cmp $TMP/plain.out $TMP/j.out
	$JC $TMP/j.json "one('connect-refused')['stack'][0]['function'] == 'Client.fetchStatus'" \
		"one('connect-refused')['stack'][0]['file'] == 'Client.java'" \
		"one('connect-refused')['stack'][0]['line'] == $connect" \
		"one('connect-refused')['stack'][1]['function'] == 'Client.main'" \
		"one('missing-timeout')['stack'][0]['function'] == 'Client.readReply'" \
		"one('missing-timeout')['stack'][0]['line'] == $read" \
		"one('missing-timeout')['read_site'][0]['function'] == 'Client.readReply'" \
		"one('missing-timeout')['read_site'][0]['line'] == $recv" \
		"proc()['language_frames'] == {'runtime': 'java', 'state': 'read', 'why': None}"
	# a class in a package: the source file under the package's path, as a source tree has it
	javac -d $TMP/classes tests/lang/app/Dial.java
	$SL run --json $TMP/pkg.json -- java -cp $TMP/classes app.Dial $port > /dev/null
	$JC $TMP/pkg.json "one('connect-refused')['stack'][0]['function'] == 'app.Dial.main'" \
		"one('connect-refused')['stack'][0]['file'] == 'app/Dial.java'" \
		"one('connect-refused')['stack'][0]['line'] == $(line_of tests/lang/app/Dial.java '// refused')"
	$SL run --no-lang-frames --json $TMP/off.json -- java -cp $TMP/classes Client $port > /dev/null
	$JC $TMP/off.json "proc()['language_frames'] is None" \
		"all(f['module'] != 'java' for f in one('connect-refused')['stack'])"
}

case_javascript_frames() { # Node.js: the program's functions, though Node connects from its event loop
	command -v node >/dev/null || skip "no node"
	local port pid js=tests/lang/client.js
	port=$(free_port)
	node $js $port > $TMP/plain.out
	$SL run --dir $TMP/run --json $TMP/n.json -- node $js $port > $TMP/n.out
	cmp $TMP/plain.out $TMP/n.out
	pid=$($PY -c "import json; print(json.load(open('$TMP/n.json'))['processes'][0]['pid'])")
	$JC $TMP/n.json "proc()['language_frames'] == {'runtime': 'javascript', 'state': 'read', 'why': None}" \
		"one('connect-refused')['stack'][0]['function'] == 'fetchStatus'" \
		"one('connect-refused')['stack'][0]['file'] == '$PWD/$js'" \
		"one('connect-refused')['stack'][0]['line'] == $(line_of $js "net.connect(port, '127.0.0.1'); // nothing listens")" \
		"one('connect-refused')['stack'][0]['module'] == 'js'" \
		"one('addr-in-use')['stack'][0]['function'] == 'startServer'" \
		"one('addr-in-use')['stack'][0]['line'] == $(line_of $js "srv.listen(port, '127.0.0.1'); // the port is taken")" \
		"one('unanswered-request')['stack'][0]['line'] == $(line_of $js 'const c = net.connect(silent.address().port')" \
		"not [d for d in diags('socket-leak') if d['fd'] == one('unanswered-request')['fd']]"
	# no perf map by default (V8 would hold its file open): the same fds as without socklens
	[ ! -e /tmp/perf-$pid.map ]
	local fds='console.log(require("fs").readdirSync("/proc/self/fd").length)'
	[ "$(node -e "$fds")" = "$($SL run -- node -e "$fds" 2>/dev/null)" ]
	$SL report --json $TMP/run > $TMP/again.json || true
	$JC $TMP/again.json "one('connect-refused')['stack'][0]['function'] == 'fetchStatus'"
	# --js-perf-map, and a socket connected without net.connect (no channel publishes): V8's perf
	# map names Node's own JavaScript, each function at the line where it starts; the map is
	# copied beside the log and removed from /tmp, since socklens asked for it
	mkdir -p $TMP/cwd
	(cd $TMP/cwd && $SL run --js-perf-map --dir $TMP/run2 --json $TMP/m.json -- node -e "const s = new (require('net').Socket)();
s.on('error', () => {}); s.connect($port, '127.0.0.1')")
	[ -z "$(ls $TMP/cwd)" ] # nothing written in the program's directory (V8's own log goes to /dev/null)
	$JC $TMP/m.json "one('connect-refused')['stack'][0]['function'] == 'internalConnect'" \
		"one('connect-refused')['stack'][0]['file'] == 'node:net'" \
		"one('connect-refused')['stack'][0]['line_is_function_start']"
	pid=$($PY -c "import json; print(json.load(open('$TMP/m.json'))['processes'][0]['pid'])")
	[ ! -e /tmp/perf-$pid.map ]
	ls $TMP/run2/p$pid.*.v8map > /dev/null
	$SL report --json $TMP/run2 > $TMP/again.json || true
	$JC $TMP/again.json "one('connect-refused')['stack'][0]['function'] == 'internalConnect'"
	# the program's environment is its own: the script socklens loads puts NODE_OPTIONS back
	NODE_OPTIONS=--no-warnings $SL run -- node -e 'console.log(JSON.stringify(process.env.NODE_OPTIONS))' > $TMP/env.out
	[ "$(cat $TMP/env.out)" = '"--no-warnings"' ]
	$SL run -- node -e 'console.log(process.env.NODE_OPTIONS === undefined)' > $TMP/env.out
	[ "$(cat $TMP/env.out)" = true ]
	# turned off: Node's own frames
	$SL run --no-lang-frames --json $TMP/off.json -- node $js $port > /dev/null
	$JC $TMP/off.json "proc()['language_frames'] is None" \
		"all(f['module'] != 'js' for f in one('connect-refused')['stack'])"
}

case_javascript_server_connections() { # Node.js accepts from its event loop: the listener's line
	command -v node >/dev/null || skip "no node"
	local port js=tests/lang/server.js
	port=$(free_port)
	$SL run --json $TMP/s.json -- node $js $port > $TMP/s.out
	grep -q listening $TMP/s.out
	$JC $TMP/s.json "one('close-wait')['count'] == 5" "one('close-wait')['stack_label'] == 'listener at'" \
		"one('close-wait')['stack'][0]['function'] == 'startServer'" \
		"one('close-wait')['stack'][0]['line'] == $(line_of $js "srv.listen(port, '127.0.0.1'")"
}

case_python_frames_in_a_forked_child() { # a fork child names its frames in its own log
	cat > $TMP/fk.py <<'PYEOF'
import os, socket
def dial(port):
    try: socket.create_connection(("127.0.0.1", port))
    except OSError: pass
dial(PORT)
pid = os.fork()
if pid == 0:
    dial(PORT)
    os._exit(0)
os.waitpid(pid, 0)
PYEOF
	sed -i "s/PORT/$(free_port)/" $TMP/fk.py
	$SL run --json $TMP/fk.json -- /usr/bin/python3 $TMP/fk.py
	$JC $TMP/fk.json "len(r['processes']) == 2" \
		"all(f['stack'][0]['function'] == 'dial' and f['stack'][0]['line'] == 3 for f in diags('connect-refused'))" \
		"sum(d['count'] for d in diags('connect-refused')) == 2"
}

case_python_close_wait_names_the_eof_read() { # the accept is socketserver's; the EOF read is the program's
	local py=tests/lang/server.py
	$SL run --json $TMP/cw.json -- /usr/bin/python3 $py > $TMP/cw.out
	grep -q "held 3" $TMP/cw.out
	$JC $TMP/cw.json "one('close-wait')['count'] == 3" "one('close-wait')['site_label'] == 'EOF read at'" \
		"one('close-wait')['eof_site'][0]['function'] == 'Handler.handle'" \
		"one('close-wait')['eof_site'][0]['line'] == $(line_of $py 'data = self.request.recv(100)')"
}
