"""fuzz.py - runs the analyzer (built with ASan and UBSan) on damaged copies of real run directories.

Logs and run directories are untrusted input: each run must end with one of socklens's own exit
statuses (never a signal or a sanitizer report), within 10 s and 256 MiB of memory. The damage is
aimed at what the reader trusts least: the header's counters and table entries, each record's
fields, strings without their NUL, module paths naming devices and FIFOs, pid cycles between logs,
truncated and extended files, garbage in the exits file, random bytes.

usage: fuzz.py --socklens BIN --layout BIN --seeds DIR [--runs N] [--jobs J] [--seed S] [--keep DIR]
"""
import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

TIME_LIMIT = 10.0
RSS_LIMIT_KB = 256 * 1024
OK_STATUS = {0, 1, 86, 87}

INTERESTING = [0, 1, 2, 7, 0x7F, 0x80, 0xFF, 0x100, 0xFFF, 0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
               0x8000000000000000, 0xFFFFFFFFFFFFFFFF]


def put(buf, off, size, value):
    if off < 0 or off + size > len(buf):
        return
    fmt = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}.get(size)
    if fmt:
        buf[off:off + size] = struct.pack(fmt, value & ((1 << (8 * size)) - 1))
    else:  # an array or a string: random bytes, no NUL anywhere
        buf[off:off + size] = bytes(rng.randrange(1, 256) for _ in range(size))


def interesting(size):
    v = rng.choice(INTERESTING)
    if rng.random() < 0.3:
        v = rng.randrange(0, 1 << min(8 * size, 64))
    return v


class Damage:
    """Mutations of one copy of a run directory."""

    def __init__(self, layout, run_dir):
        self.l = layout
        self.dir = run_dir
        self.logs = sorted(f for f in os.listdir(run_dir) if f.endswith(".sllog"))

    def header_field(self, buf):
        name, off, size = rng.choice(self.l["header"])
        put(buf, off, size, interesting(size))

    def header_string(self, buf):
        name, off, size = rng.choice(self.l["header_strings"])
        junk = rng.choice([b"\x1b]0;x\x07\x1b[2J", b"\xff\xfe\xfd", b"%s%n%x", b"../../../etc/shadow", b"\n\r\t"])
        data = (junk * (size // len(junk) + 1))[:size]
        buf[off:off + size] = data  # no NUL: the reader must stop on its own

    def record_field(self, buf):
        kind = rng.choice(["slot", "event", "stack", "module", "lang", "inflight"])
        table = {"slot": 0, "event": 1, "stack": 2, "module": 4, "inflight": 5, "lang": 6}[kind]
        tab = [f for f in self.l["header"] if f[0].startswith("tab%d." % table)]
        off_field = [f for f in tab if f[0].endswith(".off")][0]
        (toff,) = struct.unpack_from("<Q", buf, off_field[1]) if off_field[1] + 8 <= len(buf) else (0,)
        size = self.l[kind + "_size"]
        if toff <= 0 or toff >= len(buf):
            return
        count = max(1, min(64, (len(buf) - toff) // size))
        base = toff + rng.randrange(count) * size
        name, off, width = rng.choice(self.l[kind])
        if kind == "module" and name == "path" and rng.random() < 0.5:
            target = rng.choice(["/dev/zero", "/dev/urandom", "/proc/self/mem", "/etc/shadow", "/",
                                 os.path.join(self.dir, "fifo"), "/nonexistent/" + "x" * 300])
            data = target.encode()[:width - 1] + b"\0"
            buf[base + off:base + off + len(data)] = data
        else:
            put(buf, base + off, width, interesting(width) if width <= 8 else 0)

    def random_bytes(self, buf):
        for _ in range(rng.randrange(1, 17)):
            if buf:
                buf[rng.randrange(len(buf))] = rng.randrange(256)

    def resize(self, buf):
        if rng.random() < 0.7:
            del buf[rng.randrange(len(buf) + 1):]
        else:
            buf.extend(b"\0" * rng.randrange(1, 1 << 16))

    def log(self, mutate_n):
        if not self.logs:
            return
        path = os.path.join(self.dir, rng.choice(self.logs))
        with open(path, "rb") as f:
            buf = bytearray(f.read())
        for _ in range(mutate_n):
            rng.choices([self.header_field, self.header_string, self.record_field, self.random_bytes, self.resize],
                        weights=[4, 1, 6, 2, 1])[0](buf)
        with open(path, "wb") as f:
            f.write(buf)

    def pid_cycle(self):
        """Two logs each naming the other as parent."""
        if len(self.logs) < 2:
            return
        a, b = rng.sample(self.logs, 2)
        hdr = {n: (o, s) for n, o, s in self.l["header"]}
        bufs = {}
        for name in (a, b):
            with open(os.path.join(self.dir, name), "rb") as f:
                bufs[name] = bytearray(f.read())
        pid_a = struct.unpack_from("<i", bufs[a], hdr["pid"][0])[0]
        pid_b = struct.unpack_from("<i", bufs[b], hdr["pid"][0])[0]
        put(bufs[a], hdr["ppid"][0], 4, pid_b)
        put(bufs[b], hdr["ppid"][0], 4, pid_a)
        for name, buf in bufs.items():
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(buf)

    def run_file(self):
        path = os.path.join(self.dir, "run.slctl")
        if not os.path.exists(path):
            return
        with open(path, "rb") as f:
            buf = bytearray(f.read())
        name, off, size = rng.choice(self.l["run"])
        put(buf, off, min(size, 8), interesting(min(size, 8)))
        if rng.random() < 0.3:
            self.random_bytes(buf)
        with open(path, "wb") as f:
            f.write(buf)

    def exits(self):
        lines = [b"%d %d %d" % (rng.randrange(-5, 1 << 31), rng.randrange(-1, 1 << 16), rng.randrange(1 << 63))
                 for _ in range(rng.randrange(1, 50))]
        lines.append(bytes(rng.randrange(256) for _ in range(200)))
        with open(os.path.join(self.dir, "exits"), "ab") as f:
            f.write(b"\n".join(lines))

    def apply(self):
        os.mkfifo(os.path.join(self.dir, "fifo"))
        for _ in range(rng.randrange(1, 4)):
            self.log(rng.randrange(1, 9))
        if rng.random() < 0.2:
            self.pid_cycle()
        if rng.random() < 0.2:
            self.run_file()
        if rng.random() < 0.1:
            self.exits()
        if rng.random() < 0.05:  # a FIFO or a directory named like a log
            os.mkfifo(os.path.join(self.dir, "p99999.0.sllog"))


def run_one(args, seeds, layout, i, results):
    seed_dir = seeds[i % len(seeds)]
    work = tempfile.mkdtemp(prefix="socklens-fuzz-")
    run_dir = os.path.join(work, "run")
    shutil.copytree(seed_dir, run_dir)
    os.chmod(run_dir, 0o700)
    Damage(layout, run_dir).apply()
    cmd = [args.socklens, "report"] + rng.choice([["--json"], [], ["--audit"], ["--json", "--audit"]]) + [run_dir]
    if rng.random() < 0.1:
        cmd = [args.socklens, "dump", run_dir]
    env = dict(os.environ, ASAN_OPTIONS="exitcode=99:detect_leaks=0:abort_on_error=0",
               UBSAN_OPTIONS="exitcode=98:halt_on_error=1:print_stacktrace=1")
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    timer = threading.Timer(TIME_LIMIT, lambda: p.send_signal(signal.SIGKILL))
    timer.start()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = status
    timer.cancel()
    took = time.monotonic() - start
    why = None
    if os.WIFSIGNALED(status):
        why = "killed by signal %d" % os.WTERMSIG(status) + (" (over %d s)" % TIME_LIMIT if took >= TIME_LIMIT else "")
    elif os.WEXITSTATUS(status) not in OK_STATUS:
        why = "exit status %d" % os.WEXITSTATUS(status)
    elif usage.ru_maxrss > RSS_LIMIT_KB:
        why = "%d MiB of memory" % (usage.ru_maxrss // 1024)
    results.append((took, usage.ru_maxrss, why))
    if why:
        kept = os.path.join(args.keep, "case-%d" % i)
        shutil.copytree(run_dir, kept, symlinks=True, ignore=lambda d, names: [n for n in names if n == "fifo"])
        with open(os.path.join(kept, "why.txt"), "wb") as f:
            f.write(("%s\n%s\n" % (why, " ".join(cmd))).encode() + err[-20000:])
        print("FAIL case %d: %s (kept in %s)" % (i, why, kept), flush=True)
    shutil.rmtree(work, ignore_errors=True)


def main():
    global rng
    ap = argparse.ArgumentParser()
    ap.add_argument("--socklens", required=True)
    ap.add_argument("--layout", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", default="fuzz-failures")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    layout = json.loads(subprocess.check_output([args.layout]))
    seeds = sorted(os.path.join(args.seeds, d) for d in os.listdir(args.seeds))
    os.makedirs(args.keep, exist_ok=True)
    results = []
    print("fuzz: %d runs on %d seed run directories, seed %d" % (args.runs, len(seeds), args.seed), flush=True)
    for start in range(0, args.runs, args.jobs):
        threads = [threading.Thread(target=run_one, args=(args, seeds, layout, i, results))
                   for i in range(start, min(start + args.jobs, args.runs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if (start // args.jobs) % 500 == 0 and start:
            print("fuzz: %d runs" % start, flush=True)
    bad = [r for r in results if r[2]]
    slowest = max(r[0] for r in results)
    biggest = max(r[1] for r in results)
    print("fuzz: %d runs, %d failures, slowest %.2f s, most memory %d MiB (limits %d s, %d MiB)"
          % (len(results), len(bad), slowest, biggest // 1024, TIME_LIMIT, RSS_LIMIT_KB // 1024))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
