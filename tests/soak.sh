#!/usr/bin/env bash
# soak.sh - `make check-soak`: services started under the shim the way a supervisor starts them
# (LD_PRELOAD and SOCKLENS_DIR in the environment, no socklens run), a minute of load each
# (SOAK_SECONDS), looked at from outside all along: stuck, top and report by PID see every process,
# the services stay healthy and answer after it, and the report is clean.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; CASE_TIMEOUT=600 suite_main tests/soak.sh "$@"; exit; }

SECONDS_LOAD=${SOAK_SECONDS:-60}

# look PID NPROCS: report, top and stuck by PID while the service runs; every process is seen
look() {
	local pid=$1 want=$2
	$SL report --json $pid > $TMP/look.json
	$JC $TMP/look.json "len([p for p in r['processes'] if p['alive']]) == $want"
	$SL top --once $pid > $TMP/top.txt
	[ "$(grep -c "running process" $TMP/top.txt)" -eq 1 ]
	grep -q "$want running process" $TMP/top.txt
	$SL stuck --all --json $pid > $TMP/stuck.json
	$PY -c 'import json,sys; json.load(open(sys.argv[1]))' $TMP/stuck.json
}

case_nginx_under_load_for_a_minute() {
	need nginx wrk curl
	local port; port=$(free_port)
	mkdir -p $TMP/ng
	cat > $TMP/ng/nginx.conf <<EOF
worker_processes 2;
pid $TMP/ng/nginx.pid;
error_log $TMP/ng/error.log;
events { worker_connections 512; }
http { access_log off; client_body_temp_path $TMP/ng; proxy_temp_path $TMP/ng; fastcgi_temp_path $TMP/ng;
  uwsgi_temp_path $TMP/ng; scgi_temp_path $TMP/ng;
  server { listen 127.0.0.1:$port; location / { return 200 "ok\n"; } } }
EOF
	env LD_PRELOAD=$SHIM SOCKLENS_DIR=$TMP/ngrun nginx -p $TMP/ng -c $TMP/ng/nginx.conf -g 'daemon off;' &
	local master=$!
	wait_port $port
	wrk -t2 -c50 -d${SECONDS_LOAD}s http://127.0.0.1:$port/ > $TMP/wrk.txt &
	local load=$! i
	for i in $(seq $((SECONDS_LOAD / 10))); do
		sleep 8
		look $master 3
	done
	wait $load
	cat $TMP/wrk.txt
	grep -q "Requests/sec" $TMP/wrk.txt
	! grep -q "Non-2xx\|Socket errors: connect [1-9]" $TMP/wrk.txt
	[ "$(curl -s http://127.0.0.1:$port/)" = ok ]
	kill -QUIT $master; wait $master || true
	$SL report --json $TMP/ngrun > $TMP/final.json
	$JC $TMP/final.json "len(r['processes']) == 3" "all(p['exit_status'] == 0 for p in r['processes'])" \
		"all(d['severity'] == 'info' for d in diags())"
}

case_redis_under_load_for_a_minute() {
	need redis-server redis-benchmark redis-cli
	local port; port=$(free_port)
	env LD_PRELOAD=$SHIM SOCKLENS_DIR=$TMP/rdrun redis-server --port $port --save "" --appendonly no \
		--dir $TMP --logfile $TMP/redis.log &
	local srv=$!
	wait_port $port
	local end=$((SECONDS + SECONDS_LOAD)) rounds=0
	while [ $SECONDS -lt $end ]; do
		redis-benchmark -p $port -q -n 20000 -c 20 -t set,get,lpush,lpop > /dev/null
		look $srv 1
		rounds=$((rounds + 1))
	done
	echo "$rounds benchmark rounds"
	[ "$(redis-cli -p $port ping)" = PONG ]
	redis-cli -p $port shutdown nosave || true
	wait $srv || true
	$SL report --json $TMP/rdrun > $TMP/final.json
	$JC $TMP/final.json "proc()['exit_status'] == 0" "all(d['severity'] == 'info' for d in diags())"
}
