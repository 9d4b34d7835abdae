#!/usr/bin/python3
"""pictures.py - checks socklens's HTML report and trace against the JSON report of the same run.

  pictures.py page PAGE.html DOM.html REPORT.json   the page as written, and as Chromium left it
  pictures.py trace TRACE.json REPORT.json          the Chrome Trace Event file

REPORT.json may be "-" when the run is too large for a JSON report worth reading (the page's own
counts are then checked against each other). Exits 1 with the reasons on a mismatch."""
import json
import re
import sys

PAGE_CONNS = 20000
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def page_data(html):
    m = re.search(r'<script id="socklens-data" type="application/json">(.*?)</script>', html, re.S)
    check(m is not None, "the page holds no data element")
    return json.loads(m.group(1)) if m else {}


def check_page(page_path, dom_path, report_path):
    html = open(page_path, encoding="utf-8").read()
    dom = open(dom_path, encoding="utf-8").read()
    data = page_data(html)
    # self-contained: nothing is fetched (no src, no link, no url() or @import, no fetch)
    for pat in (r"<script[^>]*\ssrc=", r"<link[^>]*href=", r"url\(", r"@import", r"\bfetch\(", r"XMLHttpRequest"):
        check(not re.search(pat, html), "the page refers to an outside resource (%s)" % pat)
    check('data-ready="1"' in dom, "the page's script did not finish")
    m = re.search(r'data-errors="([^"]*)"', dom)
    check(m is None, "the page reported errors: %s" % (m.group(1) if m else ""))
    findings = len(re.findall(r'<div class="finding (?:error|warning|info)"', dom))
    conns = len(re.findall(r'<rect class="conn"', dom))
    procs = len(re.findall(r'<div class="proc" data-pid=', dom))
    rows = len(re.findall(r"<tr><td>", dom))
    check(findings == len(data["diagnostics"]), "findings drawn %d, in the data %d" % (findings, len(data["diagnostics"])))
    check(conns == data["connections_drawn"], "connections drawn %d, the page says %d" % (conns, data["connections_drawn"]))
    check(data["connections_drawn"] == min(data["connections_kept"], PAGE_CONNS),
          "drew %d of %d kept" % (data["connections_drawn"], data["connections_kept"]))
    legend = sum(int(n) for n in re.findall(r'data-outcome="[^"]*"><i [^>]*></i>[^<]*? (\d+)</span>', dom))
    check(legend == conns, "the legend counts %d connections, %d drawn" % (legend, conns))
    check(rows == len(data["processes"]), "process rows %d, processes %d" % (rows, len(data["processes"])))
    check(procs == len(set(data["connections"]["pid"])), "timelines %d" % procs)
    sampled = '<div class="note">The timeline draws' in dom
    check(sampled == (data["connections_drawn"] < data["connections_kept"]), "the sampling note is wrong")
    if report_path != "-":
        r = json.load(open(report_path))
        check(len(r["diagnostics"]) == findings, "findings: page %d, JSON report %d" % (findings, len(r["diagnostics"])))
        check(data["connections_kept"] == len(r["connections"]),
              "connections: page %d, JSON report %d" % (data["connections_kept"], len(r["connections"])))
        check(len(r["processes"]) == rows, "processes: page %d, JSON report %d" % (rows, len(r["processes"])))
        kinds = sorted(d["kind"] for d in r["diagnostics"])
        drawn = sorted(re.findall(r'<div class="finding \w+" data-kind="([^"]+)"', dom))
        check(kinds == drawn, "kinds: page %s, JSON report %s" % (drawn, kinds))
    print("page: %d findings, %d of %d connections drawn, %d processes, %d bytes" %
          (findings, conns, data["connections_kept"], rows, len(html.encode())))


def check_trace(trace_path, report_path):
    t = json.load(open(trace_path))
    ev = t.get("traceEvents")
    check(isinstance(ev, list), "no traceEvents list")
    ev = ev or []
    named, lanes, conns = set(), {}, 0
    for e in ev:
        for k, typ in (("name", str), ("ph", str), ("pid", int), ("tid", int)):
            check(isinstance(e.get(k), typ), "event without %s: %s" % (k, e))
        ph = e.get("ph")
        check(ph in ("X", "i", "M"), "unexpected phase %s" % ph)
        if ph == "M":
            check(e["name"] in ("process_name", "thread_name") and isinstance(e.get("args", {}).get("name"), str),
                  "bad metadata %s" % e)
            if e["name"] == "process_name":
                named.add(e["pid"])
            continue
        check(isinstance(e.get("ts"), (int, float)) and e["ts"] >= 0, "bad ts %s" % e)
        if ph == "X":
            check(isinstance(e.get("dur"), (int, float)) and e["dur"] >= 0, "bad dur %s" % e)
            if e.get("cat") == "connection":
                conns += 1
                lanes.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
        else:
            check(e.get("s") in ("t", "p", "g"), "instant without scope %s" % e)
    # slices of one track must nest; connections of one lane never overlap
    for key, spans in lanes.items():
        spans.sort()
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            check(b0 >= a1 - 1e-3, "overlapping connections on lane %s: %s %s" % (key, (a0, a1), (b0, b1)))
    pids = {e["pid"] for e in ev if e.get("ph") != "M"}
    check(pids <= named, "processes without a name: %s" % (pids - named))
    if report_path != "-":
        r = json.load(open(report_path))
        check(conns == len(r["connections"]), "trace has %d connection slices, JSON report %d connections" %
              (conns, len(r["connections"])))
    check(conns == t.get("otherData", {}).get("connections"), "otherData.connections differs")
    print("trace: %d events, %d connection slices on %d lanes" % (len(ev), conns, len(lanes)))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "page":
        check_page(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "trace":
        check_trace(*sys.argv[2:])
    else:
        sys.exit(__doc__)
    for e in errors[:20]:
        print("pictures:", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
