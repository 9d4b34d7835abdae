#!/usr/bin/env bash
# docs.sh - what socklens says about itself cannot drift: the man page is generated from --help and
# the help topics and reads clean; the README and docs/ name every environment variable, finding
# kind and option the program has, and their links lead to files and headings that exist; bash
# completion offers the program's own commands, options and kinds; `make install` and
# `make uninstall` put and take every file where the paths say.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/docs.sh "$@"; exit; }

COMMANDS="run report stuck top watch diff dump"

case_the_man_page_is_the_programs_own_help() {
	local page=$PWD/$BUILD/socklens.1 text
	[ -s "$page" ]
	# groff's own warnings (bad requests, escapes) would show on stderr
	text=$(MANWIDTH=100 man --warnings -l "$page" 2>$TMP/man.err)
	[ ! -s $TMP/man.err ] || { cat $TMP/man.err; return 1; }
	local cmd opt
	for cmd in $COMMANDS; do
		grep -q "^\.SS socklens $cmd\$" "$page" || { echo "no section for $cmd"; return 1; }
		for opt in $($SL $cmd --help | grep -oE '^ {1,4}--[a-z-]+' | tr -d ' '); do
			grep -qF -- "$opt" <<<"$text" || { echo "man page misses $cmd $opt"; return 1; }
		done
	done
	for section in FINDINGS ENVIRONMENT "EXIT STATUS" FILES; do
		grep -q "^$section" <<<"$text" || { echo "no $section"; return 1; }
	done
	grep -q "connect-refused" <<<"$text" && grep -q "SOCKLENS_SLOTS" <<<"$text"
}

case_the_docs_name_what_the_program_has() {
	local v k cmd opt missing= docs="README.md docs/*.md"
	for v in $($SL help environment | grep -oE '^  [A-Z_]+$'); do
		grep -q "| \`$v\` |" docs/reference.md || missing="$missing env:$v"
	done
	# and the environment table names nothing the program does not read
	for v in $(sed -n '/^# Environment/,/^# /p' docs/reference.md | grep -oE '^\| `[A-Z_]+`' | tr -d '|` '); do
		$SL help environment | grep -q "^  $v\$" || missing="$missing stale-env:$v"
	done
	for k in $($SL help kinds | grep -oE '^  [a-z-]+$'); do
		grep -q "\`$k\`" docs/findings.md || missing="$missing kind:$k"
	done
	for cmd in $COMMANDS; do
		for opt in $($SL $cmd --help | grep -oE '^ {1,4}--[a-z-]+' | tr -d ' '); do
			cat $docs | grep -qF -- "$opt" || missing="$missing $cmd:$opt"
		done
	done
	[ -z "$missing" ] || { echo "docs miss:$missing"; return 1; }
}

# every link between the documents leads to a file that exists and a heading it has
case_the_docs_links_lead_somewhere() {
	python3 - README.md BENCHMARKS.md docs/*.md <<'PY'
import os, re, sys
def anchors(path):
    out, fence = set(), False
    for line in open(path):
        if line.startswith("```"): fence = not fence
        m = None if fence else re.match(r"#{1,6} (.*)", line)
        if m:
            out.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out
bad = []
for doc in sys.argv[1:]:
    text = re.sub(r"```.*?```", "", open(doc).read(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target): continue
        path, _, frag = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if not os.path.exists(full): bad.append(f"{doc}: {target} (no such file)")
        elif frag and full.endswith(".md") and frag not in anchors(full): bad.append(f"{doc}: {target} (no such heading)")
for b in bad: print(b)
sys.exit(1 if bad else 0)
PY
}

case_bash_completion_offers_the_programs_words() {
	[ -r /usr/share/bash-completion/bash_completion ] || skip "bash-completion not installed (scripts/install-deps.sh)"
	cat > $TMP/comp.sh <<'EOF'
source /usr/share/bash-completion/bash_completion
source scripts/socklens.bash-completion
t() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
      COMPREPLY=(); _socklens 2>/dev/null; echo "${COMPREPLY[*]}"; }
[ "$(t socklens r)" = "run report" ] || { echo "commands: $(t socklens r)"; exit 1; }
[ "$(t socklens run --js)" = "--js-perf-map --json" ] || { echo "options: $(t socklens run --js)"; exit 1; }
[ "$(t socklens report --fail-on connect-r)" = connect-refused ] || { echo "kinds"; exit 1; }
[ "$(t socklens help exit)" = exit-status ] || { echo "topics"; exit 1; }
[ "$(t socklens top --sort i)" = idle ] || { echo "sort keys"; exit 1; }
EOF
	PATH=$PWD/$BUILD:$PATH bash $TMP/comp.sh
}

# (the Debian layout, LIBDIR=/usr/lib/x86_64-linux-gnu, is built and checked by make check-package)
case_install_and_uninstall_put_every_file_in_place() {
	local root=$TMP/root p=/usr/local port
	make -s BUILD=$BUILD DESTDIR=$root install >/dev/null
	for f in $p/bin/socklens $p/lib/socklens/libsocklens.so $p/lib/socklens/socklens-node.js \
		$p/share/man/man1/socklens.1 $p/share/bash-completion/completions/socklens; do
		[ -f "$root$f" ] || { echo "not installed: $f"; return 1; }
	done
	# the installed tree finds its shim (by its path relative to the binary) and works
	port=$(free_port)
	expect_status 7 $root$p/bin/socklens run --json $TMP/i.json --report /dev/null -- curl -s http://127.0.0.1:$port/
	$JC $TMP/i.json "one('connect-refused')['count'] == 1"
	make -s BUILD=$BUILD DESTDIR=$root uninstall >/dev/null
	[ -z "$(find $root -type f)" ] || { find $root -type f; return 1; }
}
