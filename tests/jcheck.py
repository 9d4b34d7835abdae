"""jcheck.py REPORT.json EXPR... - evaluates each EXPR against a socklens JSON report; exits 1 on the first false one."""
import json
import sys

r = json.load(open(sys.argv[1]))


def diags(kind=None):
    return [d for d in r["diagnostics"] if kind is None or d["kind"] == kind]


def one(kind):
    ds = diags(kind)
    assert len(ds) == 1, "expected one %s, got %s" % (kind, [d["kind"] for d in r["diagnostics"]])
    return ds[0]


def frames(d, key="stack"):
    return d.get(key) or []


def at(d, file_suffix, line, key="stack"):
    """the call site file:line appears among the frames (inline frames included)"""
    return any((f["file"] or "").endswith(file_suffix) and f["line"] == line for f in frames(d, key))


def conns(**match):
    return [c for c in r["connections"] if all(c.get(k) == v for k, v in match.items())]


def proc(pid=None):
    ps = [p for p in r["processes"] if pid is None or p["pid"] == pid]
    assert ps, "no process %s" % pid
    return ps[0]


for expr in sys.argv[2:]:
    try:
        ok = eval(expr)
    except AssertionError as e:
        ok, why = False, str(e)
    else:
        why = ""
    if not ok:
        brief = [(d["kind"], d["pid"], d["peer"], d["count"], [(f["file"], f["line"]) for f in d["stack"][:3]])
                 for d in r["diagnostics"]]
        print("diagnostics:", json.dumps(brief))
        print("processes:", json.dumps([(p["pid"], p["exe"], p["status"]) for p in r["processes"]]))
        print("assertion failed: %s %s" % (expr, why))
        sys.exit(1)
