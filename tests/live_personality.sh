#!/usr/bin/env bash
# Live test for --personality (issue 12 section 2), 64-bit programs: every flag setarch sets
# (-L addr_compat_layout, -X read_implies_exec, -3 addr_limit_3gb, -B addr_limit_32bit,
# -Z mmap_page_zero) and two combinations, on every corpus program and on /bin/true, checked
# by `execmap verify --personality` against the running kernel (the capture sets the same
# persona in the child). The legacy layout also with --stack-limit unlimited, and at
# --stage start for the dynamic programs (ld.so's own mmaps go bottom-up too).
# Usage: live_personality.sh EXECMAP CORPUS_DIR. Exit 77 (skipped) without ptrace.
set -u
execmap=$1
corpus=$2
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the live personality test"
pass=0
fail=0
one() {  # label, verify options and program...
  local label=$1
  shift
  local got
  got=$("$execmap" verify -i --format json "$@" 2>/dev/null | verify_verdict heap)
  if [ "$got" = exact ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $label: $got"
  fi
}
progs=(/bin/true)
for p in "$corpus"/*; do
  [ -f "$p" ] && [ -x "$p" ] && head -c 4 "$p" | grep -q ELF && progs+=("$p")
done
# The flags that change nothing for a 64-bit program (the kernel clears READ_IMPLIES_EXEC and
# ignores the address limits) on the five basic shapes; the ones that change the layout on
# every program. Under a small EXECMAP_LIVE_MAX (the sanitizer build) everything takes the
# five shapes.
basic=(/bin/true)
for n in pie nopie static static-pie; do [ -x "$corpus/$n" ] && basic+=("$corpus/$n"); done
if [ "${EXECMAP_LIVE_MAX:-0}" -gt 0 ] && [ "${EXECMAP_LIVE_MAX:-0}" -lt 100 ]; then
  progs=("${basic[@]}")
fi
for flags in read_implies_exec addr_limit_3gb addr_limit_32bit read_implies_exec,addr_limit_32bit; do
  for p in "${basic[@]}"; do
    one "$flags $p" --personality "$flags" "$p" arg
  done
done
for flags in addr_compat_layout mmap_page_zero addr_compat_layout,mmap_page_zero; do
  for p in "${progs[@]}"; do
    one "$flags $p" --personality "$flags" "$p" arg
  done
done
for p in "${progs[@]}"; do
  one "addr_compat_layout unlimited $p" --personality addr_compat_layout --stack-limit unlimited "$p"
  if readelf -lW "$p" 2>/dev/null | grep -q "Requesting program interpreter"; then
    one "addr_compat_layout --stage start $p" --personality addr_compat_layout --stage start "$p"
  fi
done
# The table and JSON name the personality.
"$execmap" layout -i --personality addr_compat_layout,mmap_page_zero /bin/true >/tmp/execmap-pers.$$ 2>&1
if grep -q "personality mmap_page_zero,addr_compat_layout, legacy mmap layout" /tmp/execmap-pers.$$; then
  pass=$((pass + 1))
else
  fail=$((fail + 1))
  echo "FAIL table header: $(head -1 /tmp/execmap-pers.$$)"
fi
rm -f /tmp/execmap-pers.$$
echo "live personality: ${#progs[@]} programs; $pass exact or passed, $fail failed"
[ "$fail" -eq 0 ]
