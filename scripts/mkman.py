#!/usr/bin/env python3
"""mkman.py SOCKLENS OUT - writes the socklens(1) man page from the program itself: the command
list (`socklens --help`), each command's options (`socklens CMD --help`), and the reference topics
(`socklens help environment|exit-status|kinds|inject`, analyzer/cmd/topics.c). One source: the man page
cannot say what --help does not."""
import re
import subprocess
import sys

exe, out_path = sys.argv[1], sys.argv[2]


def run(*args):
    return subprocess.run([exe, *args], check=True, capture_output=True, text=True).stdout


def esc(text):
    """roff: backslashes, leading dots and quotes, hyphens in options"""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]*)`", r"\\fB\1\\fR", text)
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.M)


def paragraphs(lines):
    """plain text lines into .PP paragraphs (blank lines separate them)"""
    out, para = [], []
    for line in lines + [""]:
        if line.strip():
            para.append(line.strip())
        elif para:
            out += [".PP", esc(" ".join(para))]
            para = []
    return out


def usage(text):
    """the usage line and its continuation lines (indented by eight or more)"""
    lines = text.splitlines()
    n = 1
    while n < len(lines) and re.match(r"^ {8,}\S", lines[n]):
        n += 1
    return " ".join(l.strip() for l in lines[:n]).replace("usage: ", ""), lines[n:]


def help_body(text):
    """a command's --help: option lines become .TP entries, other lines paragraphs"""
    out, prose = [], []
    lines = usage(text)[1]  # the usage is the synopsis
    i = 0
    while i < len(lines):
        m = re.match(r"^ {1,4}(-\S.*?)(?: {2,}(.*))?$", lines[i])
        if m:
            out += paragraphs(prose)
            prose = []
            desc = [m.group(2) or ""]
            i += 1
            while i < len(lines) and re.match(r"^ {6,}\S", lines[i]):
                desc.append(lines[i].strip())
                i += 1
            out += [".TP", "\\fB" + esc(m.group(1).strip()) + "\\fR", esc(" ".join(d for d in desc if d))]
            continue
        prose.append(lines[i])
        i += 1
    return out + paragraphs(prose)


def topic(name):
    """`socklens help TOPIC`: a title line, then entries: a name, its text indented by six"""
    out, lines = [], run("help", name).splitlines()[1:]
    entry = None
    for line in lines:
        if re.match(r"^  \S", line):
            entry = line.strip()
            out += [".TP", "\\fB" + esc(entry) + "\\fR"]
        elif line.strip():
            out.append(esc(line.strip()))
    return out


top = run("--help")
commands = re.findall(r"^  (\w+) +(.*)$", top, flags=re.M)
version = run("-V").split()[1]
page = [
    '.TH SOCKLENS 1 "" "socklens %s" "User Commands"' % version,
    ".SH NAME",
    "socklens \\- why a program's network connections fail, hang, leak or are slow",
    ".SH SYNOPSIS",
]
helps = {name: run(name, "--help") for name, _ in commands}
for name, _ in commands:
    page += [".PP", esc(usage(helps[name])[0])]
page += [".SH DESCRIPTION"] + paragraphs([
    "socklens runs an unmodified program (and every process it starts) with a preloaded library "
    "that records each socket's life: timing, errors, peers, bytes, options and the call sites, into "
    "shared-memory logs; Go and statically linked programs are traced with ptrace instead. It then "
    "turns those logs into findings, each with the line of code to change, as text or JSON.",
    "",
    "socklens help TOPIC prints the parts of this page below on its own.",
])
page += [".SH COMMANDS"]
for name, summary in commands:
    page += [".SS socklens %s" % name, esc(summary[0].upper() + summary[1:] + ".")] + help_body(helps[name])
page += [".SH FINDINGS"] + topic("kinds")
page += [".SH ENVIRONMENT"] + topic("environment")
page += [".SH EXIT STATUS"] + topic("exit-status")
page += [".SH FAULT INJECTION"] + topic("inject")
page += [".SH FILES"] + paragraphs([
    "A run directory (socklens run --dir DIR, or a temporary one) holds run.slctl, the run's control "
    "file and log budget, and one pNNN.SEQ.sllog per process image: sparse files, 0600, in a 0700 "
    "directory of the user's.",
])
page += [".SH SEE ALSO", "strace(1), ss(8), valgrind(1), ld.so(8)"]
with open(out_path, "w") as f:
    f.write("\n".join(page) + "\n")
