#!/usr/bin/env python3
"""tls_aborted.py - bug (configuration): a TLS client is pointed at a port whose server does not
speak TLS (or refuses this client's hello): it reads the ClientHello and hangs up without a word.
The client only sees "EOF occurred in violation of protocol"."""
import socket
import ssl
import sys
import threading

srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]


def plain_server():
    conn, _ = srv.accept()
    conn.settimeout(10)
    conn.recv(4096)  # a ClientHello it does not understand
    conn.close()     # ... and it hangs up


t = threading.Thread(target=plain_server)
t.start()
ctx = ssl.create_default_context()
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="api.internal") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\n\r\n")
except (ssl.SSLError, ConnectionError) as e:
    print(f"tls_aborted: {e}", file=sys.stderr)
    status = 1
else:
    status = 0
t.join()
srv.close()
sys.exit(status)
