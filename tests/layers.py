#!/usr/bin/python3
"""layers.py BUILD - the layout's dependency rules, checked on the built objects (nm): the shim and
the tracer use the recorder, never the other way; the recorder uses nothing outside it; in the
analyzer each folder uses only those below it (cmd -> report -> rules -> model -> symbols -> base);
and no two files call each other."""
import glob, os, subprocess, sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
ANALYZER = ["base", "symbols", "model", "rules", "report", "cmd"]


def folder(obj):
    rel = os.path.relpath(obj, build).split(os.sep)
    return rel[1] if rel[0] == "analyzer" else rel[0]


def symbols(obj, *flags):
    out = subprocess.run(["nm", *flags, obj], capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.split()]


objs = [o for d in ("recorder", "shim", "tracer") for o in glob.glob(f"{build}/{d}/*.o")]
objs += glob.glob(f"{build}/analyzer/*/*.o")
sources = {o: os.path.relpath(o, build)[:-2] + ".c" for o in objs}
objs = [o for o in objs if os.path.exists(sources[o])]  # not one left from a moved file
defined = {}
for o in objs:
    for s in symbols(o, "--defined-only", "-g"):
        if s.startswith(("sl_", "sl__", "cmd_")):  # not the libc functions the shim interposes
            defined[s] = o


def allowed(user, used):
    if user == used:
        return True
    if user == "recorder":
        return False
    if user == "shim":
        return used == "recorder"
    if user == "tracer":
        return used in ("recorder", "base", "symbols")
    if user in ANALYZER:
        return used == "recorder" or (used in ANALYZER and ANALYZER.index(used) < ANALYZER.index(user)) or \
            (user == "cmd" and used == "tracer")
    return True


bad = []
calls = {}
for o in objs:
    calls[o] = set()
    for s in symbols(o, "-u"):
        d = defined.get(s)
        if not d:
            continue
        calls[o].add(d)
        if not allowed(folder(o), folder(d)):
            bad.append(f"{sources[o]} uses {s} from {sources[d]}")
for a in objs:
    for b in calls[a]:
        if a < b and a in calls.get(b, ()):
            bad.append(f"{sources[a]} and {sources[b]} call each other")
for line in sorted(set(bad)):
    print("layers:", line)
print(f"layers: {len(objs)} objects, {len(set(bad))} problems")
sys.exit(1 if bad else 0)
