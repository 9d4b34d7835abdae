"""full_queue.py - a client whose server's accept queue overflows (haproxy in front of a backend
listening with a backlog of 5): eight clients connect at once to a listener with a backlog of 1
that starts accepting 2.5 s later. The kernel drops their SYNs and handshake ACKs; connects take
a second or more, and what the clients send is sent again. One cause, on loopback."""
import socket
import threading
import time

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]


def serve():
    time.sleep(2.5)  # the queue overflows meanwhile: the behaviour under test, not a wait for it
    for _ in range(8):
        c, _ = srv.accept()
        c.recv(100)
        c.sendall(b"ok\n")
        c.close()


def client():
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    c.sendall(b"hello\n")
    c.recv(100)
    c.close()


threading.Thread(target=serve).start()
clients = [threading.Thread(target=client) for _ in range(8)]
for t in clients:
    t.start()
for t in clients:
    t.join()
