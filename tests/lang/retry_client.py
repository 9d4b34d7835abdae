"""retry_client.py - a client with a retry loop, as services write them: `hang` connects with no
timeout and retries forever; `fixed` gives each try a 1 s connect timeout and gives up after three,
pausing between tries. Also `peer` (prints what getpeername says), `lookup NAME`, `socket`."""
import socket
import sys
import time

mode, port = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 0

if mode == "hang":
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.close()
            break
        except OSError as e:
            print("retrying after", e, flush=True)
elif mode == "fixed":
    for attempt in range(3):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            s.close()
            print("connected", flush=True)
            sys.exit(0)
        except OSError as e:
            print("attempt", attempt + 1, "failed:", e, flush=True)
            time.sleep(0.2 * (attempt + 1))
    sys.exit(1)
elif mode == "peer":
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    print("peer", s.getpeername()[1], flush=True)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    print("got", len(data), flush=True)
elif mode == "lookup":
    try:
        socket.getaddrinfo(sys.argv[2], 80)
        print("resolved", flush=True)
    except socket.gaierror as e:
        print("gaierror", e.errno, flush=True)
        sys.exit(3)
elif mode == "socket":
    try:
        socket.socket()
        print("socket ok", flush=True)
    except OSError as e:
        print("socket errno", e.errno, flush=True)
        sys.exit(4)
elif mode == "three":
    for i in range(3):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            print(i + 1, "ok", flush=True)
        except OSError as e:
            print(i + 1, "failed", e.errno, flush=True)
