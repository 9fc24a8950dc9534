#!/usr/bin/env bash
# Live test of ld.so's stack depth at --stage start (issue 12, section 5: a stack limit of a
# few KiB kills the process before its entry point). Against the running kernel and ld.so:
#  1. depth: for the dynamic programs of the corpus, an evenly spread sample of /usr/bin
#     (EXECMAP_LIVE_MAX, default 300; 0 for all) and libraries built here with 5 to 36
#     program headers (in open_verify's buffer and past it), execmap's "ldso_stack.depth"
#     equals what stack_depth_probe measures (the lowest byte written below the initial sp
#     before AT_ENTRY), byte for byte; and for LD_LIBRARY_PATH values of several lengths.
#  2. the verdict at the boundary: with a stack limit of two pages, environments 16 bytes
#     apart put ld.so's deepest write just inside and just past what the limit allows;
#     `execmap verify --stage start` must agree with the kernel on both (runs, SIGSEGV).
#  3. the defect as reported: --stack-limit 4K --stage start /bin/true is killed (exit 3)
#     and verify agrees.
#  4. where this kernel runs ia32 programs: `verify --stage start` (which measures the depth
#     and compares it) on every start32 program, and both sides of the boundary for s-m32.
# Exit 77 (ctest: skipped) without ptrace or a C compiler.
set -u
execmap=$1
probe=$2
corpus=${3:-}
start32=${4:-}
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the live ld.so stack test"
if ! command -v gcc >/dev/null; then
  echo "SKIPPED: no gcc to build the test libraries"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {  # name want got
  if [ "$2" = "$3" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $1: expected '$2', got '$3'"
  fi
}
# predicted PROG [execmap options...] -> "DEPTH EXACT" from layout --stage start JSON
predicted() {
  local prog=$1
  shift
  "$execmap" layout --stage start --format json -i "$@" "$prog" 2>/dev/null | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    s = j["ldso_stack"]
    print(s["depth"], "exact" if s["exact"] else "bound")
except Exception as e:
    print("none", type(e).__name__)'
}
measured() {  # PROG [-e ENV]... -> DEPTH
  local prog=$1
  shift
  "$probe" "$@" "$prog" 2>&1 | sed -n 's/^depth //p'
}

# 1a. Libraries with chosen program header counts, found through DT_RUNPATH.
mkdir -p "$tmp/lib"
printf 'int x;\n' >"$tmp/e.c"
printf 'void _start(void) { __asm__ volatile("mov $60, %%eax; xor %%edi, %%edi; syscall"); }\n' >"$tmp/main.c"
gcc -nostdlib -shared -fPIC -o "$tmp/libe.so" "$tmp/e.c" || { echo "SKIPPED: gcc cannot build a library"; exit 77; }
gcc -nostdlib -fPIE -pie -o "$tmp/needs-libe" "$tmp/main.c" -Wl,--no-as-needed -L"$tmp" -le \
  -Wl,-rpath,"$tmp/lib" -Wl,-z,now
gcc -nostdlib -fPIE -pie -o "$tmp/bare" "$tmp/main.c" -Wl,-z,now
# Append N PT_NULL headers in a table moved to the end of the file (past open_verify's
# buffer): _dl_map_object_from_fd alloca's it, and its loadcmds VLA grows with l_phnum.
cat >"$tmp/addph.py" <<'EOF'
import struct, sys
src, dst, extra = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, 'rb').read())
phoff, = struct.unpack_from('<Q', b, 0x20)
phentsize, phnum = struct.unpack_from('<HH', b, 0x36)
tab = b[phoff:phoff + phentsize * phnum] + bytes(phentsize * extra)
while len(b) % 8:
    b.append(0)
struct.pack_into('<Q', b, 0x20, len(b))
struct.pack_into('<H', b, 0x38, phnum + extra)
b += tab
open(dst, 'wb').write(b)
EOF
libcases=0
one_lib() {  # NAME: $tmp/lib/libe.so is in place
  local p m
  p=$(predicted "$tmp/needs-libe")
  m=$(measured "$tmp/needs-libe")
  check "depth $1" "$m exact" "$p"
  libcases=$((libcases + 1))
}
for flags in "-Wl,-z,noseparate-code -Wl,--no-eh-frame-hdr -Wl,--build-id=none -Wl,-z,norelro" \
  "-Wl,-z,noseparate-code -Wl,--build-id=none" "-Wl,-z,noseparate-code" "" "-Wl,-z,execstack"; do
  gcc -nostdlib -shared -fPIC $flags -o "$tmp/lib/libe.so" "$tmp/e.c" 2>/dev/null || continue
  one_lib "libe.so ($(readelf -hW "$tmp/lib/libe.so" | awk '/Number of program headers/ {print $5}') headers, $flags)"
done
for extra in 0 1 2 3 8 13 30; do
  python3 "$tmp/addph.py" "$tmp/libe.so" "$tmp/lib/libe.so" "$extra"
  one_lib "libe.so with $extra PT_NULL headers appended"
done
p=$(predicted "$tmp/bare")
check "depth of a program without DT_NEEDED" "$(measured "$tmp/bare") exact" "$p"

# 1b. Real programs: the corpus and /usr/bin.
progs=()
if [ -n "$corpus" ] && [ -d "$corpus" ]; then
  for f in "$corpus"/*; do
    [ -f "$f" ] && readelf -lW "$f" 2>/dev/null | grep -q "Requesting program interpreter" &&
      readelf -hW "$f" 2>/dev/null | grep -q "X86-64" && progs+=("$f")
  done
fi
sys=()
for f in /usr/bin/*; do
  [ -f "$f" ] && [ -x "$f" ] && [ ! -u "$f" ] && [ ! -g "$f" ] || continue
  head -c 4 "$f" 2>/dev/null | grep -q ELF || continue
  readelf -lW "$f" 2>/dev/null | grep -q "Requesting program interpreter" || continue
  readelf -hW "$f" 2>/dev/null | grep -q "X86-64" || continue
  sys+=("$f")
done
max=${EXECMAP_LIVE_MAX:-300}
n=${#sys[@]}
if [ "$max" -gt 0 ] && [ "$n" -gt "$max" ]; then
  for ((i = 0; i < max; i++)); do progs+=("${sys[i * n / max]}"); done
  echo "note: $max of the $n dynamically linked programs in /usr/bin, evenly spread (EXECMAP_LIVE_MAX=0 for all)"
else
  progs+=("${sys[@]}")
fi
progcases=0 deepest=/bin/true deepest_d=0
for f in "${progs[@]}"; do
  m=$(measured "$f")
  [ -n "$m" ] || { echo "note: $f not measured: $("$probe" "$f" 2>&1 | tail -1)"; continue; }
  p=$(predicted "$f")
  check "depth $f" "$m exact" "$p"
  progcases=$((progcases + 1))
  if [ "$m" -gt "$deepest_d" ] && [ "$p" = "$m exact" ]; then deepest=$f deepest_d=$m; fi
done

# 1c. The path search: open_path's buffer holds the longest search directory and the name.
# DT_RUNPATH directories of 200 to 400 bytes (the first lookup: exact), and LD_LIBRARY_PATH
# with one long directory among short ones (a bound: equal for the first lookup measured).
searchcases=0
for len in 200 256 400; do
  d=$tmp/r
  while [ ${#d} -lt $len ]; do
    n=$((len - ${#d} - 1))
    [ $n -gt 200 ] && n=200
    d="$d/$(head -c $n /dev/zero | tr '\0' R)"
  done
  mkdir -p "$d" && cp "$tmp/libe.so" "$d/"
  gcc -nostdlib -fPIE -pie -o "$tmp/needs-runpath" "$tmp/main.c" -Wl,--no-as-needed -L"$tmp" -le \
    -Wl,-rpath,"$d" -Wl,-z,now
  check "depth with a $len-byte DT_RUNPATH directory" "$(measured "$tmp/needs-runpath") exact" \
    "$(predicted "$tmp/needs-runpath")"
  searchcases=$((searchcases + 1))
done
for len in 1000 2000 2902 2903 4000; do
  long=/$(head -c $((len - 1)) /dev/zero | tr '\0' A)
  for v in "$long" "/x:$long:/yy"; do
    p=$(predicted /bin/true --env "LD_LIBRARY_PATH=$v")
    m=$(measured /bin/true -e "LD_LIBRARY_PATH=$v")
    check "depth with LD_LIBRARY_PATH of a $len-byte directory ($v)" "$m" "${p% *}"
    searchcases=$((searchcases + 1))
  done
done

# 2. The verdict on both sides of the boundary, with a stack limit of two pages (three for a
# program that needs more even without padding). The environment
# is one variable X=AAA...; each 16 bytes more moves sp 16 bytes down. Find the first length
# execmap predicts a kill for, then verify it and the length 16 bytes shorter.
boundary() {  # PROG
  local prog=$1 len kill_at= rc limit=8192
  "$execmap" layout --stage start -i --stack-limit $limit "$prog" >/dev/null 2>&1
  [ $? -eq 3 ] && limit=12288
  for ((len = 0; len <= 4096; len += 16)); do
    "$execmap" layout --stage start --format json -i --stack-limit $limit \
      --env "X=$(head -c "$len" /dev/zero | tr '\0' A)" "$prog" >/dev/null 2>&1
    rc=$?
    if [ "$rc" -eq 3 ]; then
      kill_at=$len
      break
    fi
  done
  if [ -z "$kill_at" ] || [ "$kill_at" -lt 16 ]; then
    check "boundary $prog" "a kill within 4 KiB of padding" "${kill_at:-none}"
    return
  fi
  for len in $((kill_at - 16)) "$kill_at"; do
    v=$("$execmap" verify --stage start --format json -i --stack-limit $limit \
      --env "X=$(head -c "$len" /dev/zero | tr '\0' A)" "$prog" 2>/dev/null | verify_verdict heap)
    check "verify $prog, stack limit $limit, X of $len bytes" "exact" "$v"
    boundaries=$((boundaries + 1))
  done
}
boundaries=0
cp "$tmp/libe.so" "$tmp/lib/libe.so"
boundary /bin/true
boundary "$tmp/needs-libe"
[ "$deepest" != /bin/true ] && boundary "$deepest"

# 3. The defect: a 4 KiB stack limit.
"$execmap" layout --stage start -i --stack-limit 4K /bin/true >/dev/null 2>"$tmp/err"
check "layout --stage start --stack-limit 4K /bin/true exit" "3" "$?"
grep -q "killed before its entry point: SIGSEGV" "$tmp/err" ||
  check "layout --stage start --stack-limit 4K message" "killed before its entry point" "$(head -1 "$tmp/err")"
v=$("$execmap" verify --stage start --format json -i --stack-limit 4K /bin/true 2>/dev/null | verify_verdict)
check "verify --stage start --stack-limit 4K /bin/true" "exact" "$v"

# 4. ia32 programs (i386 ld.so's frames), where this kernel runs them.
ia32cases=0
if [ -n "$start32" ] && [ -x "$start32/s-m32" ] && "$start32/s-m32" 2>/dev/null; then
  for f in "$start32"/s-*; do
    v=$(cd "$start32" && "$execmap" verify --stage start --format json -i "./$(basename "$f")" 2>/dev/null |
      verify_verdict heap)
    check "verify --stage start (ia32) $f" "exact" "$v"
    ia32cases=$((ia32cases + 1))
  done
  boundary "$start32/s-m32"
else
  echo "SKIPPED: the ia32 cases (no start32 programs, or this kernel does not run ia32)"
fi

echo "ld.so stack depth exact: $libcases library shapes, $progcases programs, $searchcases path searches; $boundaries verdicts at the kill boundary; $ia32cases ia32 programs verified"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
