"""client.py - a refused connect and a read with no timeout, each from a named function."""
import socket
import sys
import threading


def fetch_status(port):
    return socket.create_connection(("127.0.0.1", port))  # nothing listens: refused


def read_reply(srv):
    c = socket.create_connection(srv.getsockname())
    c.sendall(b"GET\n")
    return c.recv(100)  # no timeout


def main():
    try:
        fetch_status(int(sys.argv[1]))
    except OSError as e:
        print("refused:", e)
    srv = socket.create_server(("127.0.0.1", 0))

    def answer_late():
        conn, _ = srv.accept()
        conn.settimeout(10)
        conn.recv(100)
        threading.Event().wait(1.2)  # the scenario: a slow server
        conn.sendall(b"OK\n")
        conn.close()

    t = threading.Thread(target=answer_late)
    t.start()
    print("reply:", read_reply(srv))
    t.join()


main()
