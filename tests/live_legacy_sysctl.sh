#!/usr/bin/env bash
# Live test for vm.legacy_va_layout = 1 (issue 12 section 2): the sysctl is set for the
# length of the test (ctest runs it alone: RUN_SERIAL) and restored on exit; execmap probes it
# as a host value, and verify must be exact at both stages on /bin/true and the basic corpus
# shapes. Exit 77 (skipped) without ptrace or where the sysctl cannot be written.
set -u
execmap=$1
corpus=$2
f=/proc/sys/vm/legacy_va_layout
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the vm.legacy_va_layout test"
old=$(cat "$f" 2>/dev/null) || { echo "SKIPPED: cannot read $f"; exit 77; }
if ! (echo 1 >"$f") 2>/dev/null; then
  echo "SKIPPED: cannot write $f (not root, or a read-only /proc/sys)"
  exit 77
fi
trap 'echo "$old" >"$f"' EXIT
pass=0
fail=0
for p in /bin/true "$corpus/pie" "$corpus/nopie" "$corpus/static" "$corpus/static-pie"; do
  for stage in exec start; do
    out=$("$execmap" verify -i --stage "$stage" "$p" 2>&1)
    if [ $? -eq 0 ] && "$execmap" layout -i "$p" 2>/dev/null | head -1 | grep -q "legacy mmap layout"; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $p --stage $stage: $(echo "$out" | head -3)"
    fi
  done
done
echo "vm.legacy_va_layout=1: $pass exact, $fail failed"
[ "$fail" -eq 0 ]
