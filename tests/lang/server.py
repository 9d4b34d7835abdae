"""server.py - a socketserver whose requests are never closed: the handler returns on EOF and
the server keeps the socket "for reuse" (or, with 'noread', never reads the client's EOF at all).
The connections sit in CLOSE_WAIT until the process ends."""
import socket
import socketserver
import sys
import threading
import time


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        while sys.argv[1:] != ["noread"]:
            data = self.request.recv(100)  # returns b"" when the client is done
            if not data:
                return
            self.request.sendall(b"ACK " + data)


class KeepingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    held = []

    def shutdown_request(self, request):
        self.held.append(request)  # the bug: never closed


def main():
    srv = KeepingServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    for i in range(3):
        with socket.create_connection(srv.server_address, timeout=5) as s:
            s.sendall(b"ping%d" % i)
            if sys.argv[1:] != ["noread"]:
                s.recv(100)
    time.sleep(1.5)
    print("held", len(srv.held), flush=True)
    for r in srv.held:
        r.close()


main()
