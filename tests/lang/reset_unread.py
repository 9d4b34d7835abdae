"""reset_unread.py - a client that learns of its server's reset from poll alone (as libuv does:
Node.js's "aborted" response) and closes without reading: the server reads the request and
closes with SO_LINGER {1, 0}. Prints what poll said."""
import select
import socket
import struct
import threading

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)


def serve():
    c, _ = srv.accept()
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


t = threading.Thread(target=serve)
t.start()
cl = socket.create_connection(srv.getsockname())
cl.sendall(b"GET / HTTP/1.0\r\n\r\n")
p = select.poll()
p.register(cl, select.POLLIN | select.POLLRDHUP)
events = p.poll(10000)
print("poll:", "ERR" if events and events[0][1] & select.POLLERR else "no error", flush=True)
t.join()
cl.close()
