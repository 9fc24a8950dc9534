#!/usr/bin/env bash
# Live test for --stage start (issue 7): every dynamically linked program in /usr/bin, run as
# `PROG --version` with the environment LANG=C only, stopped by `execmap verify --stage start`
# at its own entry point (AT_ENTRY) after ld.so, and compared with the prediction.
# Passes when at least 95% are identical once [heap] lines are ignored (initializers may
# allocate before the entry point; the model does not run them). Prints both counts and
# every failure with its reason. Exit 77 (ctest: skipped) without ptrace.
# Each program costs a traced run (about 0.6 s), and a machine with the test dependencies
# has over 1000 of them, so the test takes an evenly spread sample of at most
# EXECMAP_LIVE_MAX (default 200, above the 150 the acceptance asks for), the same on every
# run; EXECMAP_LIVE_MAX=0 takes all.
set -u
execmap=$1
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the live --stage start test"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
progs=()
for f in /usr/bin/*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  head -c 4 "$f" 2>/dev/null | grep -q ELF || continue
  readelf -lW "$f" 2>/dev/null | grep -q "Requesting program interpreter" || continue
  progs+=("$f")
done
max=${EXECMAP_LIVE_MAX:-200}
n=${#progs[@]}
if [ "$max" -gt 0 ] && [ "$n" -gt "$max" ]; then
  sample=()
  for ((i = 0; i < max; i++)); do sample+=("${progs[i * n / max]}"); done
  progs=("${sample[@]}")
  echo "note: $max of the $n dynamically linked programs in /usr/bin, evenly spread (EXECMAP_LIVE_MAX=0 for all)"
fi
total=${#progs[@]}
if [ "$total" -lt 150 ]; then
  echo "note: only $total dynamically linked programs in /usr/bin (the acceptance asks for 150)"
fi
exact=0 heap_only=0 fail=0
for p in "${progs[@]}"; do
  out=$(timeout 30 "$execmap" verify --stage start --format json -i --env LANG=C "$p" --version 2>"$tmp/err")
  rc=$?
  verdict=$(printf '%s' "$out" | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
except Exception:
    print("error"); sys.exit()
print("exact" if j.get("exact") else "heap" if j.get("exact_except_heap") else "diff")' 2>/dev/null)
  case "$verdict" in
    exact) exact=$((exact + 1)) ;;
    heap) heap_only=$((heap_only + 1)) ;;
    *)
      fail=$((fail + 1))
      reason="differs"
      if [ -u "$p" ] || [ -g "$p" ]; then
        reason="set-user/group-ID program: the kernel clears ADDR_NO_RANDOMIZE (PER_CLEAR_ON_SETID), so the live layout is randomized"
      elif [ "$rc" -ne 4 ]; then
        reason="verify exited $rc: $(head -1 "$tmp/err")"
      fi
      echo "FAIL $p: $reason"
      printf '%s' "$out" | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    for d in j["differences"][:4]:
        print("    %s: predicted %r kernel %r" % (d["what"], d["predicted"], d["kernel"]))
except Exception:
    pass' 2>/dev/null
      ;;
  esac
done
ok=$((exact + heap_only))
echo "stage start: $total programs; $exact fully identical; $ok identical ignoring [heap]; $fail differ"
# At least 95%, in integers: ok * 100 >= total * 95.
if [ "$total" -gt 0 ] && [ $((ok * 100)) -ge $((total * 95)) ]; then
  echo "PASS: $ok/$total >= 95%"
  exit 0
fi
echo "FAIL: $ok/$total below 95%"
exit 1
