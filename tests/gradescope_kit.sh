#!/bin/sh
# The Gradescope kit (contrib/gradescope) run the way Gradescope runs it, in a temporary
# /autograder-shaped tree (source/, submission/, results/): the kit in source/, its programs
# built by programs/build.sh as setup.sh builds them (no apt-get and no install here: execmap
# comes from EXECMAP), then run_autograder on these submissions:
#   - ref_loader.c alone (no Makefile: gcc with the reference flags): full marks;
#   - ref_loader.c with a Makefile adding -DBUG_NO_BSS_ZERO: it loses the bss check on every
#     program, and nothing else;
#   - a .c file that does not compile: score 0, the compiler's error in the output;
#   - ref_loader.c with an execmap that cannot run: still a results.json, score 0.
# Each run must exit 0, leave only results.json in results/, and sum its scores.
# usage: gradescope_kit.sh EXECMAP LOADER_SRC_DIR    (exit 77 = skipped without ptrace)
set -u
execmap=${1:?usage: gradescope_kit.sh EXECMAP LOADER_SRC_DIR}
loader_src=${2:?usage: gradescope_kit.sh EXECMAP LOADER_SRC_DIR}
execmap=$(realpath "$execmap")
loader_src=$(realpath "$loader_src")
kit=$(cd "$(dirname "$0")/../contrib/gradescope" && pwd)
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# mktemp's 0700 would hide the tree from an unprivileged sandboxed loader; /autograder is not so.
chmod 755 "$tmp"
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# The tree: the kit as the zip unpacks it (make_zip.sh adds execmap/, which setup.sh alone uses).
root=$tmp/autograder
mkdir -p "$root/submission" "$root/results"
cp -R "$kit" "$root/source"
rm -rf "$root/source/programs/bin"
if sh "$root/source/programs/build.sh" "$root/source/programs/bin" >"$tmp/build.log" 2>&1; then
  ok "programs/build.sh built $(cd "$root/source/programs/bin" && echo *)"
else
  bad "programs/build.sh: $(cat "$tmp/build.log")"
  echo "gradescope kit: $pass passed, $fail failed"
  exit 1
fi

if ! "$execmap" verify "$root/source/programs/bin/hello" >/dev/null 2>"$tmp/why"; then
  if grep -q "needs ptrace" "$tmp/why"; then
    echo "SKIPPED: $(cat "$tmp/why")"
    exit 77
  fi
fi

# submit NAME EXECMAP: runs run_autograder on what submission/ holds; checks what every run
# must give (exit 0, results.json alone in results/, score = the sum of the tests' scores).
submit() {
  rm -f "$root/results/"* "$root/results/".[!.]* 2>/dev/null
  AUTOGRADER_ROOT=$root EXECMAP=$2 "$root/source/run_autograder" >"$tmp/$1.log" 2>&1
  rc=$?
  left=$(cd "$root/results" && for f in * .[!.]*; do [ -e "$f" ] && printf '%s ' "$f"; done)
  if [ $rc = 0 ] && [ "$left" = "results.json " ] &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert abs(d["score"] - sum(t["score"] for t in d["tests"])) < 1e-9, d["score"]' \
      "$root/results/results.json" 2>"$tmp/err"; then
    ok "$1: run_autograder exit 0, results.json written alone, score = sum of its tests"
  else
    bad "$1: run_autograder exit $rc, results/ holds [$left] $(cat "$tmp/err") $(tail -5 "$tmp/$1.log")"
  fi
}

# check NAME PYTHON: asserts PYTHON about the results: d (results.json), tests (by name),
# progs (programs.conf's names, in order), rubric (check id -> its rubric entry).
check() {
  if python3 - "$root/results/results.json" "$root/source/programs.conf" \
    "$root/source/rubric.json" >"$tmp/err" 2>&1 <<PY
import json, shlex, sys
d = json.load(open(sys.argv[1]))
tests = {t["name"]: t for t in d["tests"]}
progs = [shlex.split(l)[0] for l in open(sys.argv[2]) if l.strip() and not l.lstrip().startswith("#")]
rubric = json.load(open(sys.argv[3]))["checks"]
enabled = [c for c in rubric.values() if c.get("enabled", True)]
max_score = sum(t["max_score"] for t in d["tests"])
$2
PY
  then ok "$1"
  else
    bad "$1: $(tail -3 "$tmp/err")"
    # What run_autograder told the student, and the first test that lost points: the cause.
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("output", "")[:600])
lost = [t for t in d.get("tests", []) if t["score"] < t["max_score"] or t["max_score"] == 0]
print(lost[0]["name"] + ": " + lost[0].get("output", "")[:400] if lost else "")' \
      "$root/results/results.json" 2>&1 | sed 's/^/       /'
  fi
}

# 1. The reference loader, built without a Makefile: full marks on every program.
cp "$loader_src/ref_loader.c" "$root/submission/"
submit ref "$execmap"
check "ref_loader.c: full marks on every program" '
assert d["score"] == max_score > 0, (d["score"], max_score)
# Every program has every enabled rubric check (grade may have more than the rubric names).
counts = set()
for p in progs:
    mine = [t for t in d["tests"] if t["name"].startswith(p + ": ")]
    counts.add(len(mine))
    for c in enabled:
        assert p + ": " + c["name"] in tests, (p, c["name"])
assert len(counts) == 1 and len(d["tests"]) == len(progs) * counts.pop(), len(d["tests"])
assert "gcc" in d["output"] and "Total:" in d["output"], d["output"]'

# 2. A Makefile that builds the no-bss-zero variant: the bss check fails, alone, everywhere.
rm -f "$root/submission/"*
cp "$loader_src/ref_loader.c" "$root/submission/"
printf 'loader: ref_loader.c\n\tgcc -static -O2 -fno-lto -Wl,-Ttext-segment=0x10000000 -DBUG_NO_BSS_ZERO -o loader ref_loader.c\n' \
  >"$root/submission/Makefile"
submit no-bss-zero "$execmap"
check "no-bss-zero (Makefile): score < max, the bss check failed on every program, nothing else" '
assert 0 < d["score"] < max_score, (d["score"], max_score)
bss = rubric["segments.bss_zero"]["name"]
for p in progs:
    t = tests[p + ": " + bss]
    assert t["score"] == 0 < t["max_score"], t
lost = sorted(t["name"] for t in d["tests"] if t["score"] < t["max_score"])
assert lost == sorted(p + ": " + bss for p in progs), lost
assert "make" in d["output"], d["output"]'

# 3. A submission that does not compile: score 0 and gcc's own message.
rm -f "$root/submission/"*
printf 'int main(void) { return not_declared_anywhere; }\n' >"$root/submission/loader.c"
submit no-compile "$execmap"
check "a submission that does not compile: score 0, the compiler error in the output" '
assert d["score"] == 0, d["score"]
assert "not_declared_anywhere" in d["output"] and "error" in d["output"], d["output"]
assert [t["name"] for t in d["tests"]] == ["Build the loader"], d["tests"]'

# 4. A grade that cannot run at all does not stop the script: every program scores 0.
rm -f "$root/submission/"*
cp "$loader_src/ref_loader.c" "$root/submission/"
submit no-execmap "$tmp/no-such-execmap"
check "an execmap that cannot run: results.json anyway, each program 0 with the reason" '
assert d["score"] == 0, d["score"]
assert sorted(tests) == sorted(p + ": could not be graded" for p in progs), sorted(tests)
assert all("no-such-execmap" in t["output"] for t in d["tests"]), d["tests"]'

echo "gradescope kit: $pass passed, $fail failed"
[ "$fail" = 0 ]
