#!/usr/bin/env bash
# The --kernel / --kernel-config / `execmap kernels` contract (issue 11): the modelled
# versions, the nearest-older rule with a warning, usage errors, and the JSON "target".
set -u
execmap=$1
corpus=$2
corpus32=${3:-}
fail=0
check() {  # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$corpus" || exit 1

"$execmap" kernels > "$tmp/k.txt"; rc=$?
check "kernels exits 0" test $rc -eq 0
check "kernels lists the five versions" grep -q "modelled kernels (x86_64; Debian's builds were the ground truth): 5.10 6.1 6.12 6.18 7.2" "$tmp/k.txt"
check "kernels cites sources" grep -q "source: fs/binfmt_elf.c" "$tmp/k.txt"
"$execmap" kernels --format json > "$tmp/k.json"
check "kernels json has rules with since" grep -q '"since": "6.12"' "$tmp/k.json"
check "kernels json has commit subjects" grep -q '"commit": "binfmt_elf: Honor PT_LOAD alignment for static PIE"' "$tmp/k.json"

"$execmap" layout --kernel 5.4 -i ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
check "older than the oldest: exit 2" test $rc -eq 2
check "older than the oldest: lists the modelled ones" grep -q "5.10, 6.1, 6.12, 6.18, 7.2" "$tmp/e"
"$execmap" layout --kernel banana -i ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
check "not a version: exit 2" test $rc -eq 2

"$execmap" layout --kernel 6.19 --format json -i ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
check "between modelled: exit 0" test $rc -eq 0
check "between modelled: warning on stderr" grep -q "^execmap: warning: kernel 6.19 is not modelled; using the rules of 6.18" "$tmp/e"
check "between modelled: JSON warnings" grep -q '"warnings": \[$' "$tmp/o"
check "between modelled: target 6.18" grep -q '"kernel": "6.18"' "$tmp/o"

"$execmap" layout --kernel 6.1.0-57-amd64 --kernel-config vsyscall=none --format json -i ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
check "release string: exit 0, no warning" test $rc -eq 0 -a ! -s "$tmp/e"
check "release string: target kernel 6.1" grep -q '"kernel": "6.1"' "$tmp/o"
check "target config vsyscall none" grep -q '"vsyscall": "none"' "$tmp/o"
check "target config paging" grep -q '"paging": 4' "$tmp/o"

"$execmap" layout --kernel 6.1 --kernel-config vsyscall=none --format maps -i ./pie > "$tmp/o"
check "6.1: no [vvar_vclock]" bash -c "! grep -q vvar_vclock $tmp/o"
check "6.1: no [vsyscall] with vsyscall=none" bash -c "! grep -q vsyscall $tmp/o"
check "6.1: [vvar] 4 pages" grep -q "^7ffff7fc4000-7ffff7fc8000 r--p .*\[vvar\]" "$tmp/o"
"$execmap" layout --kernel 7.2 --kernel-config vsyscall=xonly --format maps -i ./pie > "$tmp/o"
check "7.2: [vvar_vclock] and [vsyscall] --xp" bash -c "grep -q vvar_vclock $tmp/o && grep -q 'ffffffffff600000-ffffffffff601000 --xp' $tmp/o"
"$execmap" stack --kernel 7.2 --format json -i ./pie > "$tmp/o"
check "7.2: AT_RSEQ_FEATURE_SIZE 33" bash -c "grep -A1 '\"type\": \"AT_RSEQ_FEATURE_SIZE\"' $tmp/o | grep -q '\"value\": \"0x21\"'"
"$execmap" layout --kernel 6.1 -i ./pie > "$tmp/o"
check "table names the target" grep -q "^target: linux-6.1-x86_64 (vsyscall=xonly, paging=4)" "$tmp/o"

"$execmap" layout --kernel-config vsyscall=maybe -i ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
check "bad --kernel-config: exit 2" test $rc -eq 2
"$execmap" layout --kernel-config paging=3 -i ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
check "paging=3: exit 2" test $rc -eq 2
# ia32=on|off: an ia32 program runs or gets the compat loader's ENOEXEC.
if [ -n "${corpus32:-}" ] && [ -x "$corpus32/pie32" ]; then
  "$execmap" layout --kernel 6.12 --kernel-config ia32=on --format json -i "$corpus32/pie32" > "$tmp/o" 2> "$tmp/e"; rc=$?
  check "ia32=on: pie32 runs" test $rc -eq 0
  check "ia32=on: the target says abi ia32 and config ia32 on" \
    python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["target"]; sys.exit(not (t["abi"]=="ia32" and t["config"]["ia32"]=="on"))' "$tmp/o"
  check "ia32=on: PIE at COMPAT_ELF_ET_DYN_BASE" grep -q '"load_bias": "0x56555000"' "$tmp/o"
  "$execmap" layout --kernel 6.12 --kernel-config ia32=off -i "$corpus32/pie32" > "$tmp/o" 2> "$tmp/e"; rc=$?
  check "ia32=off: exit 3" test $rc -eq 3
  check "ia32=off: ENOEXEC from compat_elf_check_arch" grep -q "ENOEXEC.*compat_elf_check_arch" "$tmp/e"
  "$execmap" layout --kernel-config ia32=maybe -i ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
  check "ia32=maybe: exit 2" test $rc -eq 2
  "$execmap" kernels --format json > "$tmp/k.json"
  check "kernels json has the ia32 vdso" grep -q '"sysinfo_offset": "0x1e70"' "$tmp/k.json"
fi
[ $fail -eq 0 ] && echo "cli.kernels: all checks passed"
exit $fail
