# splice_sender.py - sends 158,000 bytes to a local server through a pipe with os.splice (the kernel
# moves them; no send call carries them): socklens must count them on both ends.
import os, socket, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
got = []
def serve():
    a, _ = srv.accept(); n = 0
    while True:
        b = a.recv(65536)
        if not b: break
        n += len(b)
    got.append(n); a.close()
t = threading.Thread(target=serve); t.start()
c = socket.create_connection(srv.getsockname())
r, w = os.pipe()
total = 0
for i in range(10):
    os.write(w, b"x" * 15800)
    total += os.splice(r, c.fileno(), 15800)
c.close(); t.join()
print(total, got[0])
