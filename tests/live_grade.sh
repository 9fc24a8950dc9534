#!/bin/sh
# execmap grade (issue 6), live and from snapshots:
#   - the reference loader gets full marks on static, static-pie, tiny, tls-static, lld-static;
#   - each broken variant loses exactly the checks it breaks, and no others;
#   - the kernel itself is a perfect student (a `verify --save-capture` snapshot, full marks);
#   - a hanging, crashing or forking loader gets a verdict (exit 4) within the timeout and
#     leaves no process behind.
# usage: live_grade.sh EXECMAP LOADER_DIR CORPUS_DIR    (exit 77 = skipped without ptrace)
set -u
execmap=${1:?usage: live_grade.sh EXECMAP LOADER_DIR CORPUS_DIR}
loaders=${2:?}
corpus=${3:?}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$execmap" verify "$corpus/tiny" >/dev/null 2>"$tmp/why"; then
  if grep -q "needs ptrace" "$tmp/why"; then
    echo "SKIPPED: $(cat "$tmp/why")"
    exit 77
  fi
fi

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# failed_ids JSON: the sorted, comma-joined ids of the failed checks.
failed_ids() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join(sorted(c["id"] for c in d["checks"] if c["status"]=="failed")))' "$1"
}

# expect NAME WANT_RC WANT_FAILED execmap-grade-args...
expect() {
  name=$1 want_rc=$2 want=$3
  shift 3
  "$execmap" grade --format json --timeout-ms 5000 -i --env A=1 --env B=two "$@" \
    >"$tmp/out.json" 2>"$tmp/err"
  rc=$?
  got=$(failed_ids "$tmp/out.json" 2>/dev/null)
  if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ]; then
    ok "$name (exit $rc, failed: ${got:-none})"
  else
    bad "$name: exit $rc (want $want_rc), failed [$got] (want [$want]) $(cat "$tmp/err")"
  fi
}

# 1. The reference loader: full marks.
for p in static static-pie tiny tls-static lld-static; do
  expect "ref_loader $p" 0 "" --loader "$loaders/ref_loader" "$corpus/$p" x "y z"
done

# 2. Each broken variant loses exactly its checks.
expect "no-bss-zero static" 4 segments.bss_zero --loader "$loaders/ref_loader-no-bss-zero" "$corpus/static" x
expect "no-bss-zero static-pie" 4 segments.bss_zero --loader "$loaders/ref_loader-no-bss-zero" "$corpus/static-pie" x
expect "writable-text static" 4 segments.permissions --loader "$loaders/ref_loader-writable-text" "$corpus/static" x
expect "writable-text static-pie" 4 segments.permissions --loader "$loaders/ref_loader-writable-text" "$corpus/static-pie" x
expect "stack-misalign static" 4 stack.aligned --loader "$loaders/ref_loader-stack-misalign" "$corpus/static" x
expect "no-at-random static" 4 auxv.random --loader "$loaders/ref_loader-no-at-random" "$corpus/static" x
expect "argv-reversed static" 4 stack.argv --loader "$loaders/ref_loader-argv-reversed" "$corpus/static" x y
expect "pie-entry-unrelocated static-pie" 4 entry.rip --loader "$loaders/ref_loader-pie-entry-unrelocated" "$corpus/static-pie" x
expect "pie-entry-unrelocated static (non-PIE: harmless)" 0 "" --loader "$loaders/ref_loader-pie-entry-unrelocated" "$corpus/static" x
expect "wrong-phdr static" 4 auxv.phdr --loader "$loaders/ref_loader-wrong-phdr" "$corpus/static" x
expect "no-envp tiny" 4 stack.envp --loader "$loaders/ref_loader-no-envp" "$corpus/tiny" x
# Issue 18: the checks for defects that break real programs, and no cascades.
expect "rdx-garbage static" 4 entry.registers --loader "$loaders/ref_loader-rdx-garbage" "$corpus/static" x
expect "execfn-first-arg static" 4 auxv.execfn --loader "$loaders/ref_loader-execfn-first-arg" "$corpus/static" x y
expect "at-notelf static" 4 auxv.no_bogus --loader "$loaders/ref_loader-at-notelf" "$corpus/static" x
expect "exec-stack static" 4 stack.executable --loader "$loaders/ref_loader-exec-stack" "$corpus/static" x
expect "exec-stack execstack-static (wanted)" 0 "" --loader "$loaders/ref_loader-exec-stack" "$corpus/execstack-static" x
expect "ref_loader execstack-static" 0 "" --loader "$loaders/ref_loader" "$corpus/execstack-static" x
expect "argv-null-garbage static" 4 stack.null_terminated --loader "$loaders/ref_loader-argv-null-garbage" "$corpus/static" x
expect "argc-high static" 4 stack.argc --loader "$loaders/ref_loader-argc-high" "$corpus/static" x
expect "random-zero static" 4 auxv.random_fresh --loader "$loaders/ref_loader-random-zero" "$corpus/static" x
expect "random-fixed static" 4 auxv.random_fresh --loader "$loaders/ref_loader-random-fixed" "$corpus/static" x

# Correct loaders written another way get full marks: a 4 GiB reservation (RLIMIT_AS must not
# stop it), a read-only whole-file buffer (not a segment: a 0-point note).
expect "reserve-4g static-pie" 0 "" --loader "$loaders/ref_loader-reserve-4g" "$corpus/static-pie" x
expect "file-buffer static" 0 "" --loader "$loaders/ref_loader-file-buffer" "$corpus/static" x
expect "file-buffer static-pie" 0 "" --loader "$loaders/ref_loader-file-buffer" "$corpus/static-pie" x
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s={c["id"]:c for c in d["checks"]}
assert "read-only" in s["segments.size"]["output"] and "note (0 points)" in s["segments.size"]["output"]' "$tmp/out.json"; then
  ok "file-buffer: the buffer is reported as a note"
else bad "file-buffer: no note about the buffer"; fi
# A loader that copies the segments into anonymous memory: found at PROG's entry in the copy
# (by its bytes), and graded as a mapping loader is.
for p in static static-pie tiny tls-static; do
  expect "copy-segments $p" 0 "" --loader "$loaders/ref_loader-copy-segments" "$corpus/$p" x "y z"
done
# A loader that gives up before the entry: its own message is in the report.
# (the 64-bit reference refuses an ia32 PROG, which the prediction takes with ia32 on)
"$execmap" grade --kernel-config ia32=on --format json --loader "$loaders/ref_loader" -i \
  "$(dirname "$corpus")/corpus32/static32" >"$tmp/out.json" 2>"$tmp/err"
rc=$?
if [ $rc = 4 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
o=d["checks"][0]["output"]; assert "exited with status 127" in o and "not an x86_64 ELF executable" in o, o' "$tmp/out.json"; then
  ok "the loader's stderr is in the report"
else bad "the loader's stderr is not in the report (exit $rc) $(head -c 300 "$tmp/out.json")"; fi

# 3. Snapshots written by contrib/execmap_snapshot.h.
for v in ref:: no-bss-zero::segments.bss_zero stack-misalign::stack.aligned; do
  name=${v%%::*} want=${v#*::}
  rm -f "$loaders/snap/$name.json"
  # The loaded program itself may misbehave after the snapshot (garbage bss): bound it.
  timeout -s KILL 10 env -i A=1 B=two "$loaders/snap_loader-$name" "$corpus/static" x >/dev/null 2>&1
  rc=0; [ -n "$want" ] && rc=4
  expect "snapshot $name static" $rc "$want" --snapshot "$loaders/snap/$name.json" "$corpus/static" x
done

# 4. The kernel is a perfect student: its own state at the entry of a static program.
for p in static static-pie tiny tls-static lld-static; do
  if "$execmap" verify --save-capture "$tmp/cap.json" -i --env A=1 --env B=two "$corpus/$p" x >/dev/null 2>&1; then
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))
json.dump({"maps": c["maps"], "rip": c["rip"], "sp": c["rsp"], "image": c["stack_image"]}, open(sys.argv[2], "w"))' \
      "$tmp/cap.json" "$tmp/snap.json"
    expect "kernel snapshot $p" 0 "" --snapshot "$tmp/snap.json" "$corpus/$p" x
    # Without "memory", the contents checks are skipped with max_score 0.
    if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s={c["id"]:c for c in d["checks"]}
assert s["segments.contents"]["status"]=="skipped" and s["segments.contents"]["max_score"]==0
assert d["score"]==d["max_score"]>0' "$tmp/out.json"; then ok "kernel snapshot $p: skipped checks score 0/0"
    else bad "kernel snapshot $p: skipped checks"; fi
  else
    bad "verify --save-capture $p failed"
  fi
done

# 5. Rubric and Gradescope output.
printf '{"checks": {"stack.aligned": {"points": 5, "name": "Aligned stack"}, "auxv.optional": {"enabled": false}}}' >"$tmp/rubric.json"
"$execmap" grade --rubric "$tmp/rubric.json" --gradescope "$tmp/gs.json" --loader "$loaders/ref_loader-stack-misalign" \
  -i --env A=1 "$corpus/tiny" >/dev/null 2>&1
rc=$?
if [ $rc = 4 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t={x["name"]:x for x in d["tests"]}
assert t["Aligned stack"]["score"]==0 and t["Aligned stack"]["max_score"]==5
assert not any("Optional" in n for n in t)
assert d["score"]==sum(x["score"] for x in d["tests"])' "$tmp/gs.json"; then ok "rubric + gradescope"
else bad "rubric + gradescope (exit $rc)"; fi

# 6. Hostile loaders: a verdict (exit 4, every check failed) within the timeout, nothing left.
cc=${CC:-gcc}
marker="execmap-grade-test-$$"
cat >"$tmp/hang.c" <<'C'
int main(void) { for (;;) { } }
C
cat >"$tmp/crash.c" <<'C'
int main(void) { *(volatile int *)8 = 1; return 0; }
C
cat >"$tmp/fork.c" <<'C'
#include <unistd.h>
int main(void) { for (int i = 0; i < 4; ++i) if (fork() == 0) for (;;) pause(); for (;;) pause(); }
C
for h in hang crash fork; do
  if ! $cc -O1 -o "$tmp/$marker-$h" "$tmp/$h.c" 2>"$tmp/err"; then bad "cannot build $h loader"; continue; fi
  start=$(date +%s)
  "$execmap" grade --format json --timeout-ms 2000 --loader "$tmp/$marker-$h" -i "$corpus/tiny" >"$tmp/out.json" 2>"$tmp/err"
  rc=$?
  took=$(( $(date +%s) - start ))
  nfail=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(c["status"]=="failed" for c in d["checks"]), len(d["checks"]))' "$tmp/out.json" 2>/dev/null)
  left=$(pgrep -f "$marker-$h" | wc -l)
  if [ $rc = 4 ] && [ "$took" -le 10 ] && [ "$left" = 0 ] && [ "${nfail% *}" = "${nfail#* }" ]; then
    ok "$h loader: exit 4 in ${took}s, all checks failed, no process left ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checks"][0]["output"])' "$tmp/out.json"))"
  else
    bad "$h loader: exit $rc in ${took}s, failed/total $nfail, $left processes left $(cat "$tmp/err")"
    pkill -KILL -f "$marker-$h" 2>/dev/null
  fi
done

echo "live grade: $pass passed, $fail failed"
[ "$fail" = 0 ]
