#!/usr/bin/env bash
# Live test for ia32 and x32 programs (issue 12 section 1) on this machine's kernel: every
# program of the ia32 corpus, plain and with arguments, environment and a 64 KiB stack limit, is
# predicted by execmap and run by the kernel under `execmap verify`. On a kernel that runs ia32
# programs that compares the whole layout and stack; on one that refuses them (this development
# machine: IA32_EMULATION built in, ia32 refused) the predicted ENOEXEC must be the kernel's
# verdict, and the probe (--kernel-config ia32) must say which of the two this kernel is.
# Exit 77 (ctest: skipped) without ptrace.
set -u
execmap=$1 corpus=$2
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the live ia32 test"
pass=0
fail=0
runs_ia32=no
if "$corpus/tiny32" 2>/dev/null; then runs_ia32=yes; fi
echo "this kernel ($(uname -r)) runs ia32 programs: $runs_ia32"
# The probe's answer, as the JSON target reports it.
probe=$("$execmap" layout --format json "$corpus/tiny32" 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target"]["config"]["ia32"])' 2>/dev/null)
if [ "$runs_ia32" = yes ]; then want_probe=on; else want_probe=off; fi
# A refused exec prints no JSON target: ask the error instead.
if [ -z "$probe" ]; then
  "$execmap" layout "$corpus/tiny32" 2>&1 | grep -q "does not run ia32 programs" && probe=off
fi
if [ "$probe" = "$want_probe" ]; then
  pass=$((pass + 1)); echo "ok   probe: ia32=$probe"
else
  fail=$((fail + 1)); echo "FAIL probe: ia32=$probe, the kernel says $want_probe"
fi
while read -r prog; do
  [ -n "$prog" ] || continue
  for shape in plain args env stack64k; do
    opts=()
    args=()
    case $shape in
      args) args=(one "two words" "") ;;
      env) opts=(-i --env A=1 --env B=) ;;
      stack64k) opts=(--stack-limit 64k) ;;
    esac
    got=$("$execmap" verify --format json "${opts[@]}" "$corpus/$prog" "${args[@]}" 2>/dev/null | verify_verdict)
    if [ "$got" = exact ]; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $prog $shape: $got"
    fi
  done
done < "$corpus/MANIFEST"
echo "live ia32: $pass passed, $fail failed (ia32 runs here: $runs_ia32)"
[ $fail -eq 0 ]
