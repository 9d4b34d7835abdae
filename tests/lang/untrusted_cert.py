"""untrusted_cert.py CERT KEY VERSION - a TLS server with a self-signed certificate, and a client that
verifies it as clients do by default: the handshake fails with "certificate verify failed". The
client's side is what socklens must name (TLS 1.2: a plain alert; 1.3: an encrypted one)."""
import socket
import ssl
import sys
import threading

cert, key, version = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.create_server(("127.0.0.1", 0))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3


def serve():
    conn, _ = srv.accept()
    conn.settimeout(10)
    try:
        with ctx.wrap_socket(conn, server_side=True) as s:
            s.recv(1)
    except (ssl.SSLError, OSError):
        pass


t = threading.Thread(target=serve)
t.start()
client = ssl.create_default_context()  # verifies the server against the system's CAs
try:
    with socket.create_connection(srv.getsockname(), timeout=10) as raw:
        with client.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
except ssl.SSLCertVerificationError as e:
    print("untrusted_cert:", e.reason)
t.join()
