"""hangup_server.py MODE PORTFILE - a server whose clients hang up in the middle of a 20 MB response:
MODE fork serves each client in a child of its own (socketserver.ForkingTCPServer, as rsync and
sshd do), MODE thread in a thread. Writes its port to PORTFILE, serves until SIGTERM."""
import signal
import socketserver
import sys


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(100)
        block = b"x" * 65536
        try:
            for _ in range(320):
                self.request.sendall(block)
        except OSError:
            pass  # the client went away: nothing to do


cls = socketserver.ForkingTCPServer if sys.argv[1] == "fork" else socketserver.ThreadingTCPServer
cls.allow_reuse_address = True
srv = cls(("127.0.0.1", 0), Handler)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with open(sys.argv[2], "w") as f:
    print(srv.server_address[1], file=f)
srv.serve_forever()
