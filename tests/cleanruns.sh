#!/usr/bin/env bash
# cleanruns.sh - healthy servers from Debian's packages, under load, come out clean: no warning and
# no error but the true ones the README documents (infos allowed: a load tool resetting its
# connections when it stops is normal client behaviour).
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/cleanruns.sh "$@"; exit; }



# serve NAME CMD...: starts CMD under socklens run in the background (report and JSON in $TMP)
serve() {
	local name=$1
	shift
	$SL run --report $TMP/$name.txt --json $TMP/$name.json -- "$@" > $TMP/$name.out 2>&1 &
	RUN=$!
}

# stop SIGNAL: sends SIGNAL to the program socklens runs and waits for the report
stop() {
	local pid; pid=$(pgrep -P $RUN | head -1)
	kill -$1 $pid
	wait $RUN || true
	cat $TMP/*.txt | tail -20
}

clean() { # JSON [allowed kind...]: no warning or error except the allowed kinds
	local allowed="[$(printf "'%s'," "${@:2}")]"
	$JC $1 "all(d['severity'] == 'info' or d['kind'] in $allowed for d in diags())"
}

# A server whose client has just left, and which exits before closing that connection (a program
# ending while its own server goroutine closes what it served): no leak.
case_a_connection_left_an_instant_before_the_end_is_no_leak() {
	cat > $TMP/bye.py <<'EOF'
import os, socket
srv = socket.create_server(("127.0.0.1", 0))
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
cli.close()
while conn.recv(100):
    pass
print("bye", flush=True)
os._exit(0)  # exits holding conn, the client gone a moment ago
EOF
	$SL run --json $TMP/bye.json -- $PY $TMP/bye.py | grep -q bye
	$JC $TMP/bye.json "len(diags('socket-leak')) == 0"
}

case_nginx_master_and_two_workers_under_wrk() {
	need nginx wrk
	local port; port=$(free_port)
	mkdir -p $TMP/ng
	cat > $TMP/ng/nginx.conf <<EOF
worker_processes 2;
pid $TMP/ng/nginx.pid;
error_log $TMP/ng/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $TMP/ng; proxy_temp_path $TMP/ng; fastcgi_temp_path $TMP/ng;
  uwsgi_temp_path $TMP/ng; scgi_temp_path $TMP/ng;
  server { listen 127.0.0.1:$port; location / { return 200 "ok\n"; } }
}
EOF
	serve nginx nginx -p $TMP/ng -c $TMP/ng/nginx.conf -g 'daemon off;'
	wait_port $port
	wrk -t2 -c20 -d2s http://127.0.0.1:$port/ | grep -q "Requests/sec"
	stop QUIT
	$JC $TMP/nginx.json "len(r['processes']) == 3" "all(p['exit_status'] == 0 for p in r['processes'])"
	clean $TMP/nginx.json
}

case_nginx_daemonizing_hands_its_listener_on() {
	need nginx
	local port; port=$(free_port)
	nginx_conf $TMP/nd 1 "server { listen 127.0.0.1:$port; location / { return 200 \"ok\\n\"; } }"
	# nginx forks its daemon and exits; socklens run waits for the daemon (a subreaper)
	$SL run --report $TMP/nd.txt --json $TMP/nd.json -- nginx -p $TMP/nd -c $TMP/nd/nginx.conf &
	RUN=$!
	wait_port $port
	curl -s http://127.0.0.1:$port/ | grep -q ok
	nginx -p $TMP/nd -c $TMP/nd/nginx.conf -s quit
	wait $RUN
	# the parent that handed its listener to the daemon it forked is not leaking it
	$JC $TMP/nd.json "len(r['processes']) >= 3" "len(diags('socket-leak')) == 0"
	clean $TMP/nd.json
}

case_redis_under_redis_benchmark_then_shutdown() {
	need redis-server redis-benchmark redis-cli
	local port; port=$(free_port)
	serve redis redis-server --port $port --save "" --appendonly no --dir $TMP --logfile $TMP/redis.log
	wait_port $port
	redis-benchmark -p $port -q -n 20000 -c 20 -t set,get > /dev/null
	redis-cli -p $port shutdown nosave || true
	wait $RUN
	$JC $TMP/redis.json "proc()['exit_status'] == 0" "len(diags('socket-leak')) == 0"
	# Debian's redis-server is a link to redis-check-rdb: its frames show the name it ran as
	if [ "$(basename "$(readlink -f "$(command -v redis-server)")")" != redis-server ]; then
		$JC $TMP/redis.json "any(f['module'] == 'redis-server' for c in r['connections'] for f in c['open_stack'] or [])" \
			"not [f for c in r['connections'] for f in c['open_stack'] or [] if f['module'] == 'redis-check-rdb']"
	fi
	clean $TMP/redis.json
}

case_node_http_server_under_wrk() {
	need node wrk
	cat > $TMP/server.js <<EOF
const http = require('http');
const server = http.createServer((req, res) => { res.end('ok\n'); });
server.listen(0, '127.0.0.1', () => require('fs').writeFileSync('$TMP/node.port', String(server.address().port)));
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
EOF
	serve node node $TMP/server.js
	local i; for i in $(seq 400); do [ -s $TMP/node.port ] && break; sleep 0.05; done
	wait_port $(cat $TMP/node.port)
	wrk -t2 -c20 -d2s http://127.0.0.1:$(cat $TMP/node.port)/ | grep -q "Requests/sec"
	stop TERM
	$JC $TMP/node.json "proc()['exit_status'] == 0"
	clean $TMP/node.json
}

case_java_httpserver_and_httpclient() {
	need java javac
	mkdir -p $TMP/java
	cat > $TMP/java/Main.java <<'EOF'
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class Main {
    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.createContext("/", ex -> {
            byte[] b = "ok\n".getBytes();
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
        int ok = 0;
        for (int i = 0; i < 50; i++) {
            HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build();
            if (client.send(req, HttpResponse.BodyHandlers.ofString()).statusCode() == 200)
                ok++;
        }
        server.stop(0);
        System.out.println("ok " + ok);
    }
}
EOF
	javac -d $TMP/java $TMP/java/Main.java
	[ "$($SL run --report $TMP/java.txt --json $TMP/java.json -- java -cp $TMP/java Main)" = "ok 50" ]
	# true, and harmless: HttpClient keeps its pooled connection open when a short-lived JVM exits
	# (info); the JDK's own wakeup socketpair is not a leak
	clean $TMP/java.json nagle-delay
	$JC $TMP/java.json "all(d['severity'] == 'info' for d in diags('socket-leak'))"
	# true: com.sun.net.httpserver writes a response's headers and body apart without TCP_NODELAY,
	# so each response waits for the client's delayed ACK (50 requests: 2.8 s, 0.8 s with the fix)
	$JC $TMP/java.json "one('nagle-delay')['evidence']['delayed_rounds'] >= 25"
	[ "$($SL run --json $TMP/java2.json -- java -Dsun.net.httpserver.nodelay=true -cp $TMP/java Main)" = "ok 50" ]
	$JC $TMP/java2.json "len(diags('nagle-delay')) == 0"
}

case_python_http_server_and_curl() {
	need curl
	local port; port=$(free_port)
	mkdir -p $TMP/www && echo hello > $TMP/www/index.html
	(cd $TMP/www && exec $SL run --report $TMP/pyhttp.txt --json $TMP/pyhttp.json -- \
		$PY -m http.server --bind 127.0.0.1 $port) > $TMP/pyhttp.out 2>&1 &
	RUN=$!
	wait_port $port
	local i; for i in 1 2 3 4 5; do
		[ "$($SL run --report $TMP/curl$i.txt --json $TMP/curl$i.json -- curl -s http://127.0.0.1:$port/index.html)" = hello ]
		$JC $TMP/curl$i.json "len(diags()) == 0"
	done
	stop TERM
	# true: http.server's handlers read requests with no timeout (BaseHTTPRequestHandler.timeout is
	# None), so a client that connects and says nothing holds the server forever
	clean $TMP/pyhttp.json missing-timeout
}

case_postgresql_under_pgbench() {
	local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
	[ -n "$bin" ] || skip "postgresql not installed"
	[ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 || skip "needs root and the postgres user"
	local port; port=$(free_port)
	chmod 755 $TMP && mkdir -p $TMP/pg && chown postgres $TMP/pg
	runuser -u postgres -- $bin/initdb -D $TMP/pg/data -A trust > /dev/null
	runuser -u postgres -- $SL run --report $TMP/pg/r.txt --json $TMP/pg/r.json -- \
		$bin/postgres -D $TMP/pg/data -p $port -k $TMP/pg -c listen_addresses=127.0.0.1 > $TMP/pg.out 2>&1 &
	RUN=$!
	wait_port $port
	# the port opens before the server takes connections ("the database system is starting up")
	local i
	for i in $(seq 200); do $bin/pg_isready -q -h 127.0.0.1 -p $port && break; sleep 0.1; done
	runuser -u postgres -- $bin/pgbench -h 127.0.0.1 -p $port -i postgres > $TMP/pgbench-init.out 2>&1 ||
		{ cat $TMP/pgbench-init.out; false; }
	runuser -u postgres -- $bin/pgbench -h 127.0.0.1 -p $port -c 4 -T 2 postgres > /dev/null 2>&1
	kill -INT "$(head -1 $TMP/pg/data/postmaster.pid)"   # a fast shutdown
	wait $RUN || true
	$JC $TMP/pg/r.json "len(r['processes']) > 3"
	clean $TMP/pg/r.json
}

# wrk stops in the middle of 2 MB responses: the server's writes fail with EPIPE or ECONNRESET,
# which is its clients going away, not an error of the server.
case_clients_leaving_mid_response_are_not_the_servers_error() {
	need wrk
	local port; port=$(free_port)
	mkdir -p $TMP/big && head -c 2000000 /dev/zero > $TMP/big/big.bin
	(cd $TMP/big && exec $SL run --report $TMP/big.txt --json $TMP/big.json -- \
		$PY -m http.server --bind 127.0.0.1 $port) > $TMP/big.out 2>&1 &
	RUN=$!
	wait_port $port
	# four clients: http.server listens with a backlog of 5, which sixteen at once would overflow
	wrk -t2 -c4 -d2s http://127.0.0.1:$port/big.bin | grep -q "Requests/sec"
	# and, for certain, three clients that read the first 64 KiB of 20 MB and hang up
	head -c 20000000 /dev/zero > $TMP/big/huge.bin
	$PY -c 'import socket, sys
for i in range(3):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    c.sendall(b"GET /huge.bin HTTP/1.0\r\n\r\n")
    got = 0
    while got < 65536:
        got += len(c.recv(65536))
    c.close()' $port
	stop TERM
	clean $TMP/big.json missing-timeout
	# the clients did leave in the middle of responses: it is in the report, as info
	$JC $TMP/big.json "any(d['kind'] in ('broken-pipe', 'connection-reset') and d['severity'] == 'info' for d in diags())"
}
