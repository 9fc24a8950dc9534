#!/usr/bin/env bash
# `verify --vm` (issue 11) through the command line: the error paths always (a missing image, a
# directory, a FIFO, a file without a bzImage header, a kernel older than every modelled one,
# options that the image or the VM decide, no qemu in PATH), then, where qemu and a kernel
# cached by scripts/fetch-kernels are here, real boots: exact in text and JSON, the note on
# device and inode numbers, and a mismatch (a wrong AT_CLKTCK) that must be reported; and an
# ia32 program at --stage start (i386 ld.so's stack depth compared, and the SIGSEGV a 4 KiB
# stack limit brings before the entry point).
set -u
execmap=$1
corpus=$2
start32=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
fail=0
check() {  # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$corpus" || exit 1

expect() {  # description, exit code, stderr pattern, verify arguments...
  local what=$1 code=$2 pattern=$3; shift 3
  timeout 60 env ${path_env:+PATH=$path_env} "$execmap" verify "$@" > "$tmp/o" 2> "$tmp/e"
  local rc=$?
  check "$what: exit $code (got $rc)" test $rc -eq "$code"
  check "$what: stderr starts with the error line" grep -q -- "^execmap: error: .*$pattern" "$tmp/e"
}
expect "missing image" 1 "No such file" --vm "$tmp/none" ./pie
expect "directory as image" 1 "not a regular file" --vm "$tmp" ./pie
mkfifo "$tmp/fifo"
expect "FIFO as image" 1 "not a regular file" --vm "$tmp/fifo" ./pie
expect "ELF as image" 1 "no bzImage setup header" --vm ./pie ./pie
# A setup header whose kernel_version says 4.19: refused before any boot, like --kernel 4.19.
python3 - "$tmp/old" <<'PY'
import struct, sys
img = bytearray(0x1000)
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020f)
struct.pack_into("<H", img, 0x20e, 0x400)
img[0x600:0x600 + 40] = b"4.19.0-27-amd64 (debian-kernel@lists)\0\0\0"
open(sys.argv[1], "wb").write(img)
PY
if command -v qemu-system-x86_64 > /dev/null; then
  expect "4.19 image" 2 "older than every modelled kernel (5.10, 6.1, 6.12, 6.18, 7.2)" --vm "$tmp/old" ./pie
fi
expect "--kernel with --vm" 2 "drop --kernel" --vm "$tmp/old" --kernel 6.1 ./pie
expect "--kernel-config with --vm" 2 "drop --kernel-config" --vm "$tmp/old" --kernel-config paging=5 ./pie
expect "bad --vm-accel" 2 "--vm-accel" --vm "$tmp/old" --vm-accel fast ./pie
expect "--aslr on with --vm" 2 "--aslr off" --vm "$tmp/old" --aslr on ./pie
mkdir "$tmp/empty-path"
path_env="$tmp/empty-path" expect "no qemu" 1 "Debian package qemu-system-x86" --vm "$tmp/old" ./pie

image=""
if command -v qemu-system-x86_64 > /dev/null; then
  image=$("$here/../scripts/fetch-kernels" --list | awk '$1 == "6.1" {print $2}')
  [ -n "$image" ] || image=$("$here/../scripts/fetch-kernels" --list | awk 'NR == 1 {print $2}')
fi
if [ -z "$image" ]; then
  echo "SKIPPED: the boots (no qemu-system-x86_64, or no kernel cached by scripts/fetch-kernels)"
else
  "$execmap" verify --vm "$image" --vm-accel tcg -i --env A=1 ./pie > "$tmp/o" 2> "$tmp/e"; rc=$?
  check "boot: exact, exit 0 (got $rc)" test $rc -eq 0
  check "boot: exact" grep -q "^exact: the prediction matches the kernel" "$tmp/o"
  check "boot: names the VM's kernel" grep -q "^vm: $image (Linux " "$tmp/o"
  check "boot: names the target" grep -q "^target: linux-" "$tmp/o"
  check "boot: says dev and inode are not compared" grep -q "^note: dev and inode numbers" "$tmp/o"
  "$execmap" verify --vm "$image" --format json --stage start -i ./pie > "$tmp/j" 2> "$tmp/e"; rc=$?
  check "boot json --stage start: exit 0 (got $rc)" test $rc -eq 0
  check "boot json: fields" python3 -c "
import json, sys
j = json.load(open('$tmp/j'))
assert j['exact_except_heap'] is True, j['differences']
assert j['not_compared'] == ['dev', 'inode']
assert j['vm']['release'] and j['vm']['accel'] in ('tcg', 'kvm')
assert j['target']['arch'] == 'x86_64' and j['target']['config']['vsyscall'] == 'none'
assert j['stage'] == 'start'
"
  "$execmap" verify --vm "$image" --format json -i --host-value clktck=250 ./nopie > "$tmp/j" 2> "$tmp/e"; rc=$?
  check "boot with a wrong AT_CLKTCK: mismatch, exit 4 (got $rc)" test $rc -eq 4
  check "boot with a wrong AT_CLKTCK: the auxv entry differs" python3 -c "
import json
j = json.load(open('$tmp/j'))
assert j['exact'] is False
assert any(d['predicted'] == 'AT_CLKTCK=0xfa' for d in j['differences']), j['differences']
"
  if [ -n "$start32" ] && [ -x "$start32/s-m32" ]; then
    # libm and libc through ld.so.cache: i386 ld.so's depth is exact (3872 bytes), and verify
    # compares it with the depth measured in the guest.
    "$execmap" layout --stage start --format json -i "$start32/s-m32" > "$tmp/j" 2> "$tmp/e"
    check "ia32 --stage start: an exact ld.so stack depth" python3 -c "
import json
s = json.load(open('$tmp/j'))['ldso_stack']
assert s['exact'] and s['depth'] == 3872, s
"
    "$execmap" verify --vm "$image" --format json --stage start -i "$start32/s-m32" > "$tmp/j" 2> "$tmp/e"; rc=$?
    check "boot ia32 --stage start: exact but for [heap], exit 0 (got $rc)" python3 -c "
import json
j = json.load(open('$tmp/j'))
assert j['exact'] or j['exact_except_heap'], j['differences']
"
    "$execmap" verify --vm "$image" --format json --stage start --stack-limit 4K -i "$start32/s-m32" > "$tmp/j" 2> "$tmp/e"; rc=$?
    check "boot ia32 --stage start --stack-limit 4K: killed as predicted, exit 0 (got $rc)" python3 -c "
import json
j = json.load(open('$tmp/j'))
assert j['exact'], j['differences']
"
  else
    echo "SKIPPED: the ia32 --stage start boots (no start32 programs built)"
  fi
fi
exit $fail
