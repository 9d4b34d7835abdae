#!/bin/sh
# tls_version_mismatch.sh - bug (configuration): a client limited to TLS 1.2 talks to a server that
# only accepts TLS 1.3. The server answers the ClientHello with a fatal protocol_version alert;
# the client prints an OpenSSL error. Uses Debian's openssl command; run it under socklens:
#   socklens run -- sh examples/tls_version_mismatch.sh
set -eu
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
port=${PORT:-44330}
mkfifo "$dir/stdin"
openssl s_server -naccept 1 -tls1_3 -accept "127.0.0.1:$port" -cert "$dir/cert.pem" -key "$dir/key.pem" \
	<"$dir/stdin" >"$dir/server.log" 2>&1 &
server=$!
exec 3>"$dir/stdin" # the server's stdin stays open: at its end, s_server would hang up
# the server says ACCEPT once it listens
i=0
until grep -q ACCEPT "$dir/server.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not start" >&2; exit 2; }
	sleep 0.1
done
status=0
openssl s_client -connect "127.0.0.1:$port" -tls1_2 </dev/null >"$dir/client.log" 2>&1 || status=$?
grep -m1 -o 'alert protocol version' "$dir/client.log" >&2 || true
exit $status
