"""exchange.py [--keepalive] [--nodelay] [--timeout] [--clients K] [N] - K clients (default 1) each
asking an in-process server N questions (default 40), each in two writes (a header, then the body)
before reading the answer: one connection per question unless --keepalive; with Nagle on unless
--nodelay (on a warm connection the second write then waits for the server's delayed ACK, ~40
ms); its reads with a timeout only with --timeout. Before-and-after material for socklens diff."""
import socket
import sys
import threading

args, flags, k = [], set(), 1
argv = sys.argv[1:]
while argv:
    a = argv.pop(0)
    if a == "--clients":
        k = int(argv.pop(0))
    elif a.startswith("--"):
        flags.add(a)
    else:
        args.append(a)
n = int(args[0]) if args else 40
srv = socket.create_server(("127.0.0.1", 0))
served = []


def serve(c):
    f = c.makefile("rb")
    while f.readline():
        c.sendall(b"ok\n")
    f.close()
    c.close()


def accept():
    while True:
        try:
            c, _ = srv.accept()
        except OSError:
            return
        t = threading.Thread(target=serve, args=(c,))
        served.append(t)
        t.start()


def connect():
    c = socket.create_connection(srv.getsockname())
    if "--nodelay" in flags:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if "--timeout" in flags:
        c.settimeout(10)
    return c


def ask(c):
    c.sendall(b"GET /item HTTP/1.0 ")  # the header, without its end
    c.sendall(b"x\n")
    got = b""
    while not got.endswith(b"\n"):
        got += c.recv(16)


def client():
    c = connect() if "--keepalive" in flags else None
    for i in range(n):
        if c:
            ask(c)
        else:
            one = connect()
            ask(one)
            one.close()
    if c:
        c.close()


threading.Thread(target=accept, daemon=True).start()
clients = [threading.Thread(target=client) for _ in range(k)]
for t in clients:
    t.start()
for t in clients:
    t.join()
for t in list(served):
    t.join()
srv.close()
