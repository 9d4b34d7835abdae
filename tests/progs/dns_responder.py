#!/usr/bin/env python3
"""dns_responder.py - a resolver for tests, on 127.0.0.1:53 of a private network namespace: names
starting with "slow." get 127.0.0.1 after DELAY seconds, names starting with "drop." get nothing,
anything else NXDOMAIN. Writes "ready" to stdout once bound."""
import socket
import struct
import sys
import threading
import time

DELAY = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def question(msg):
    i = 12
    labels = []
    while msg[i]:
        labels.append(msg[i + 1:i + 1 + msg[i]].decode("ascii", "replace"))
        i += msg[i] + 1
    qtype = struct.unpack(">H", msg[i + 1:i + 3])[0]
    return ".".join(labels), qtype, msg[12:i + 5]


def answer(sock, msg, peer):
    name, qtype, q = question(msg)
    if name.startswith("drop."):
        return
    if name.startswith("slow."):
        time.sleep(DELAY)
        an = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        ancount, rcode = (1, 0) if qtype == 1 else (0, 0)
        body = q + (an if ancount else b"")
    else:
        ancount, rcode, body = 0, 3, q
    flags = 0x8180 | rcode
    sock.sendto(msg[:2] + struct.pack(">HHHHH", flags, 1, ancount, 0, 0) + body, peer)


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    m, p = s.recvfrom(512)
    threading.Thread(target=answer, args=(s, m, p), daemon=True).start()
