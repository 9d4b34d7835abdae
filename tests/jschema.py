"""jschema.py FILE... - validates socklens JSON outputs against docs/schema/*.schema.json.

Each FILE is one JSON document (a report, `stuck --json`, `diff --json`) or JSON lines (`watch
--json-lines`); the schema is chosen by the document's version key (socklens_report, socklens_stuck,
socklens_diff). Prints one line per invalid document and exits 1 if any was; a FILE that is not a
socklens output is an error too (the caller chose it as one)."""
import json
import os
import sys

import jsonschema

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "schema")
KEYS = {"socklens_report": "report", "socklens_stuck": "stuck", "socklens_diff": "diff"}
schemas = {}
for name in KEYS.values():
    with open(os.path.join(HERE, name + ".schema.json")) as f:
        schemas[name] = json.load(f)
store = {s["$id"]: s for s in schemas.values()}
cls = jsonschema.Draft202012Validator
try:  # jsonschema >= 4.18 resolves references through `referencing`
    from referencing import Registry, Resource

    registry = Registry().with_resources((i, Resource.from_contents(s)) for i, s in store.items())
    validators = {n: cls(s, registry=registry) for n, s in schemas.items()}
except ImportError:  # Debian 12's 4.10
    validators = {n: cls(s, resolver=jsonschema.RefResolver.from_schema(s, store=store)) for n, s in schemas.items()}
for s in schemas.values():
    cls.check_schema(s)


def documents(path):
    text = open(path, encoding="utf-8", errors="strict").read()
    if not text.strip():
        raise ValueError("empty")
    try:
        yield "", json.loads(text)
    except json.JSONDecodeError:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f" line {n}", json.loads(line)


bad = total = 0
seen = {name: 0 for name in KEYS.values()}
for path in sys.argv[1:]:
    label = os.environ.get("JSCHEMA_LABEL", "") + path
    try:
        for where, doc in documents(path):
            total += 1
            kind = next((KEYS[k] for k in KEYS if isinstance(doc, dict) and k in doc), None)
            if kind is None:
                print(f"{label}{where}: not a socklens JSON output (no socklens_report/_stuck/_diff key)")
                bad += 1
                continue
            seen[kind] += 1
            errors = sorted(validators[kind].iter_errors(doc), key=lambda e: list(e.absolute_path))
            for e in errors[:5]:
                at = "/".join(str(p) for p in e.absolute_path)
                print(f"{label}{where}: {kind} schema: at /{at}: {e.message[:300]}")
            bad += bool(errors)
    except (ValueError, UnicodeDecodeError) as e:
        print(f"{label}: not JSON: {e}")
        bad += 1
kinds = ", ".join(f"{name} {n}" for name, n in seen.items() if n)
print(f"jschema: {total - bad} of {total} JSON outputs valid ({kinds})")
sys.exit(1 if bad else 0)
