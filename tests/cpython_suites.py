"""cpython_suites.py SOCKLENS - runs CPython's own test suites with and without socklens and requires
the same result for every test (make check-transparency).

Debian's /usr/bin/python3 runs its test package (libpython3.11-testsuite), each suite once plainly
and once under `socklens run`; regrtest's JUnit XML gives every test's outcome. A test whose
outcome differs is run again both ways, alone, to tell a flaky test from a real difference.
Prints a table and exits 1 if any test differs twice."""
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

PY = "/usr/bin/python3"
SUITES = [
    ("test_socket", ["-i", "ThreadedVSOCKSocketStreamTest"]),
    ("test_subprocess", []),
    ("test_posix", []),
    ("test_os", []),
    ("test_selectors", []),
    ("test_socketserver", ["-u", "network"]),
]


def outcomes(xml_path):
    """test id -> ok / failure / error / skipped"""
    res = {}
    for case in ET.parse(xml_path).iter("testcase"):
        name = "%s.%s" % (case.get("classname"), case.get("name"))
        state = "ok"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                state = child.tag
        res[name] = state
    return res


def run(sl, suite, extra, under, tmp, match=None):
    xml = os.path.join(tmp, "%s-%s%s.xml" % (suite, "sl" if under else "plain", match or ""))
    cmd = [PY, "-m", "test", "--junit-xml", xml, suite] + extra
    if match:
        cmd += ["-m", match]
    if under:
        logs = os.path.join(tmp, suite + (match or "") + ".logs")
        cmd = [sl, "run", "--dir", logs, "--report", os.path.join(tmp, suite + ".report.txt"), "--"] + cmd
    t0 = time.time()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    return (outcomes(xml) if os.path.exists(xml) else {}), time.time() - t0


def footprint(sl, logs):
    """log space on disk (KiB), number of logs, and the report's peak memory (KiB)"""
    kib = sum(os.stat(os.path.join(logs, f)).st_blocks for f in os.listdir(logs)) // 2
    n = sum(1 for f in os.listdir(logs) if f.endswith(".sllog"))
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    rss = subprocess.run([sys.executable, "-c", probe, sl, "report", "--json", logs], capture_output=True, text=True)
    return kib, n, int(rss.stdout.strip() or 0)


def main():
    sl = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="socklens-cpython-")
    bad = 0
    print("%-18s %7s %7s %8s %10s %6s %8s %10s  %s" % ("suite", "tests", "same", "plain s", "socklens s", "logs",
                                                       "log KiB", "report KiB", "differences"))
    for suite, extra in SUITES:
        plain, t_plain = run(sl, suite, extra, False, tmp)
        under, t_under = run(sl, suite, extra, True, tmp)
        if not plain:
            print("%-18s could not run (is libpython3.11-testsuite installed?)" % suite)
            bad += 1
            continue
        diff = sorted(t for t in set(plain) | set(under) if plain.get(t) != under.get(t))
        real = []
        for t in diff:  # again, alone, both ways: flaky tests differ on their own
            method = t.rsplit(".", 1)[-1]
            a, _ = run(sl, suite, extra, False, tmp, method)
            b, _ = run(sl, suite, extra, True, tmp, method)
            if a.get(t) != b.get(t):
                real.append("%s: %s without, %s with" % (t, a.get(t), b.get(t)))
        same = len(plain) - len(diff)
        kib, nlogs, rss = footprint(sl, os.path.join(tmp, suite + ".logs"))
        print("%-18s %7d %7d %8.1f %10.1f %6d %8d %10d  %s" % (suite, len(plain), same, t_plain, t_under, nlogs, kib, rss,
              "; ".join(real) or ("%d flaky, same when rerun" % len(diff) if diff else "none")))
        bad += len(real)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
