"""fdcheck.py STRACE_OUTPUT - proves, from `strace -f -k` output, that the shim touched no fd the
program did not hand it.

A syscall is the shim's own when its innermost frame is in libsocklens.so (the shim makes raw
system calls; libc's are the program's, even when a wrapper forwarded them). Each such syscall may
use only fds that the wrapped call it serves was given or returned: the program's real call just
before or just after it on the same thread (the shim classifies an fd before the call, records
after), the nearest syscall that is not the shim's. The constructor (sl_init), the fork-child
handler and the log's maker (a thread of the shim's own, maker_main, or create_apart when no thread
can be had, or create_here in a process with one thread, its signals blocked) may open files of
their own, which must be closed before they return. Exits 1 and prints the offenders otherwise."""
import re
import sys

LINE = re.compile(r"^(\d+)\s+(\w+)\((.*?)\)\s+=\s+(-?\d+|\?)")
UNFINISHED = re.compile(r"^(\d+)\s+(\w+)\((.*) <unfinished \.\.\.>$")
RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>(.*?)\)\s+=\s+(-?\d+|\?)")
FRAME = re.compile(r"^ > (\S+?)\((\S*?)\+0x[0-9a-f]+\)")
SETUP = ("sl_init", "sl_after_fork_child", "create_log", "scan_inherited", "maker_main", "create_apart",
         "create_here")

# syscalls whose first argument is an fd (dirfd for the *at calls is the first too)
FD_FIRST = {
    "read", "write", "pread64", "pwrite64", "readv", "writev", "close", "fstat", "newfstatat",
    "fcntl", "ioctl", "getsockopt", "setsockopt", "getsockname", "getpeername", "connect", "bind",
    "listen", "accept", "accept4", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
    "getdents64", "lseek", "fsync", "ftruncate", "fallocate", "sendfile", "dup", "dup2", "dup3",
    "epoll_ctl", "openat", "recvmmsg", "sendmmsg", "fchmod", "fchown", "fstatfs", "mmap",
    "socket", "socketpair", "pipe2", "close_range", "fcntl64", "splice", "flock",
}
RETURNS_FD = {"openat", "open", "socket", "accept", "accept4", "dup", "dup2", "dup3", "pipe2",
              "epoll_create1", "eventfd2", "memfd_create"}


def fds_of(name, args, ret):
    """The fds a syscall uses: its fd arguments and the fd it returns."""
    parts = [a.strip() for a in re.split(r",(?![^\[{]*[\]}])", args)]
    fds = set()
    if name == "mmap" and len(parts) >= 5:
        cands = [parts[4]]
    elif name in ("dup2", "dup3", "sendfile", "splice"):
        cands = parts[:3]
    elif name == "epoll_ctl":
        cands = [parts[0], parts[2]] if len(parts) > 2 else parts[:1]
    elif name in FD_FIRST:
        cands = parts[:1]
    else:
        cands = []
    for c in cands:
        if re.fullmatch(r"\d+", c):
            fds.add(int(c))
    if name == "close_range" and len(parts) >= 2:
        lo, hi = int(parts[0]), int(parts[1], 0) if parts[1].startswith("0x") else int(parts[1])
        fds.add(("range", lo, min(hi, 1 << 20)))
    if name in ("pipe2", "socketpair"):
        for m in re.findall(r"\[(\d+), (\d+)\]", args):
            fds.update(int(x) for x in m)
    if name in RETURNS_FD and ret not in ("?",) and int(ret) >= 0:
        fds.add(int(ret))
    return fds


def covers(handed, fd):
    for h in handed:
        if h == fd or (isinstance(h, tuple) and h[1] <= fd <= h[2]):
            return True
    return False


def parse(path):
    events, pending, cur = [], {}, None
    for raw in open(path, errors="replace"):
        line = raw.rstrip("\n")
        m = FRAME.match(line)
        if m and cur is not None:
            cur["frames"].append((m.group(1), m.group(2)))
            continue
        cur = None
        m = UNFINISHED.match(line)
        if m:
            pending[m.group(1)] = (m.group(2), m.group(3))
            continue
        m = RESUMED.match(line)
        if m and m.group(1) in pending:
            name, head = pending.pop(m.group(1))
            cur = {"tid": m.group(1), "name": name, "args": head + m.group(3), "ret": m.group(4), "frames": []}
            events.append(cur)
            continue
        m = LINE.match(line)
        if m:
            cur = {"tid": m.group(1), "name": m.group(2), "args": m.group(3), "ret": m.group(4), "frames": []}
            events.append(cur)
    return events


def main():
    events = parse(sys.argv[1])
    by_tid = {}
    for e in events:
        e["fds"] = fds_of(e["name"], e["args"], e["ret"])
        e["shim"] = bool(e["frames"]) and "libsocklens.so" in e["frames"][0][0]
        e["setup"] = any(f[1] in SETUP for f in e["frames"])
        by_tid.setdefault(e["tid"], []).append(e)
    bad, own_open, checked = [], {}, 0
    for tid, evs in by_tid.items():
        for i, e in enumerate(evs):
            if not e["shim"] or not e["fds"]:
                continue
            checked += 1
            if e["setup"]:
                if e["name"] in ("openat", "open") and int(e["ret"]) >= 0:
                    own_open[(tid, int(e["ret"]))] = e
                elif e["name"] == "close":
                    own_open.pop((tid, next(iter(e["fds"]))), None)
                continue
            handed = set()
            for step in (-1, 1):  # the program's own calls around it (a wrapper may tail-call)
                j = i + step
                while 0 <= j < len(evs) and evs[j]["shim"]:
                    j += step
                if 0 <= j < len(evs):
                    handed |= evs[j]["fds"]
            for fd in e["fds"]:
                if isinstance(fd, int) and not covers(handed, fd):
                    bad.append(e)
                    break
    for (tid, fd), e in own_open.items():
        bad.append(dict(e, why="opened by the shim and never closed"))
    print("fdcheck: %d syscalls made by the shim on fds checked, %d offending" % (checked, len(bad)))
    for e in bad[:20]:
        print("  %s %s(%s) = %s %s" % (e["tid"], e["name"], e["args"], e["ret"], e.get("why", "")))
        for f in e["frames"][:6]:
            print("      %s(%s)" % f)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
