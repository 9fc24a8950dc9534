#!/usr/bin/env bash
# Live test of `execmap --ops`: for every testdata/ops/NN-name.ops script, run the real
# opsrun program (ASLR off, empty environment) and compare
#   - its /proc/self/maps after the operations with `execmap layout --format maps -i --ops`,
#   - each operation's result (address or -errno) with the "result" fields of
#     `execmap step --format json --no-pause -i --ops` (skipped while execmap has none).
# The exec must be identical on both sides: the scripts run from a copy of OPSDIR, as
#   cd COPY && setarch x86_64 -R env -i ./opsrun ./NN-name.ops
# (env -i is the last exec: argv = ["./opsrun", "./NN-name.ops"], no environment; the stack
# rlimit is inherited), and execmap is asked about `-i ./opsrun ./NN-name.ops` in that cwd.
# Usage: live_ops.sh EXECMAP OPSRUN_BINARY OPSDIR
# Exit 0 all passed, 1 failures, 77 (ctest: skipped) if setarch -R is not permitted.
set -u
if [ $# -ne 3 ]; then
  echo "usage: live_ops.sh EXECMAP OPSRUN_BINARY OPSDIR" >&2
  exit 2
fi
execmap=$(realpath "$1")
opsrun=$(realpath "$2")
opsdir=$(realpath "$3")

if ! probe=$(setarch x86_64 -R true 2>&1); then
  echo "SKIPPED: setarch x86_64 -R is not permitted (personality failed): $probe"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=$tmp/ops
mkdir "$work"
# Scripts and the data files they map (everything regular in OPSDIR), plus the program.
find "$opsdir" -maxdepth 1 -type f -exec cp {} "$work/" \;
cp "$opsrun" "$work/opsrun"
chmod +x "$work/opsrun"
cd "$work" || exit 1

errno_number() {  # NAME -> number (empty if unknown)
  case $1 in
    EPERM) echo 1 ;; ENOENT) echo 2 ;; EINTR) echo 4 ;; EBADF) echo 9 ;; EAGAIN) echo 11 ;;
    ENOMEM) echo 12 ;; EACCES) echo 13 ;; EFAULT) echo 14 ;; EBUSY) echo 16 ;;
    EEXIST) echo 17 ;; ENODEV) echo 19 ;; EINVAL) echo 22 ;; ENFILE) echo 23 ;;
    EMFILE) echo 24 ;; ETXTBSY) echo 26 ;; EFBIG) echo 27 ;; ENOSPC) echo 28 ;;
    EOVERFLOW) echo 75 ;; *) echo "" ;;
  esac
}
norm_hex() {  # 0x00AB / 0 / 171 -> 0xab (empty if not a number)
  local v=${1,,}
  case $v in
    0x*) v=${v#0x} ;;
    *[!0-9]* | "") echo ""; return ;;
    *) v=$(printf '%x' "$v") ;;
  esac
  [[ $v =~ ^[0-9a-f]+$ ]] || { echo ""; return; }
  v=$(echo "$v" | sed 's/^0*//')
  echo "0x${v:-0}"
}
# One predicted result against one live line "op K: R" or "op K: R brk=B".
# Returns 0 if they agree. For brk the live R is the new break or -12 (sbrk-style), and B
# is what the kernel's brk() returned; an address prediction may match either.
result_agrees() {  # predicted live_result live_brk
  local p=$1 r=$2 b=$3 n
  case $p in
    -[0-9]*) [ "$p" = "$r" ]; return ;;
    E[A-Z]*) n=$(errno_number "$p"); [ -n "$n" ] && [ "-$n" = "$r" ]; return ;;
  esac
  p=$(norm_hex "$p")
  [ -n "$p" ] || return 1
  [ "$p" = "$r" ] && return 0
  [ -n "$b" ] && [ "$p" = "$b" ] && return 0
  return 1
}

pass=0 fail=0
no_result_noted=0
for script in [0-9][0-9]-*.ops; do
  [ -f "$script" ] || continue
  name=${script%.ops}
  problems=""

  # The kernel.
  setarch x86_64 -R env -i ./opsrun "./$script" >"$tmp/live.out" 2>"$tmp/live.err"
  lrc=$?
  if [ $lrc -ne 0 ] || ! grep -qx -- '--- maps' "$tmp/live.out"; then
    fail=$((fail + 1))
    echo "FAIL $name: opsrun exited $lrc"
    sed 's/^/    /' "$tmp/live.err" "$tmp/live.out" | head -20
    continue
  fi
  awk 'f; /^--- maps$/ { f = 1 }' "$tmp/live.out" >"$tmp/live.maps"
  grep '^op [0-9]*: ' "$tmp/live.out" >"$tmp/live.ops"

  # The prediction: maps.
  "$execmap" layout --format maps -i --ops "./$script" ./opsrun "./$script" \
    >"$tmp/pred.maps" 2>"$tmp/pred.err"
  prc=$?
  if [ $prc -ne 0 ]; then
    problems+="execmap layout --ops exited $prc: $(head -3 "$tmp/pred.err")"$'\n'
  elif ! diff -u --label "execmap $name" --label "kernel $name" "$tmp/pred.maps" "$tmp/live.maps" \
         >"$tmp/maps.diff"; then
    problems+="maps differ (- predicted, + kernel):"$'\n'"$(cat "$tmp/maps.diff")"$'\n'
  fi

  # The prediction: per-operation results.
  "$execmap" step --format json --no-pause -i --ops "./$script" ./opsrun "./$script" \
    >"$tmp/step.json" 2>"$tmp/step.err"
  src=$?
  results=()
  if [ $src -eq 0 ]; then
    if command -v jq >/dev/null 2>&1; then
      mapfile -t results < <(jq -r '.. | objects | select(has("result")) | .result | tostring' \
                               "$tmp/step.json" 2>/dev/null)
    else
      mapfile -t results < <(grep -o '"result": *"[^"]*"' "$tmp/step.json" | sed 's/.*: *"\(.*\)"/\1/')
    fi
  fi
  if [ ${#results[@]} -eq 0 ]; then
    if [ $no_result_noted -eq 0 ]; then
      if [ $src -ne 0 ]; then
        echo "op results not compared: execmap has no result field (execmap step exited $src: $(head -1 "$tmp/step.err"))"
      else
        echo "op results not compared: execmap has no result field"
      fi
      no_result_noted=1
    fi
  else
    nlive=$(wc -l <"$tmp/live.ops")
    if [ "${#results[@]}" -ne "$nlive" ]; then
      problems+="execmap step gives ${#results[@]} results, the script performed $nlive operations"$'\n'
    fi
    i=0
    while read -r _ k r b; do
      k=${k%:}
      b=${b#brk=}
      p=${results[$i]:-<none>}
      if ! result_agrees "$p" "$r" "$b"; then
        problems+="op $k: predicted $p, kernel $r${b:+ (brk returned $b)}"$'\n'
      fi
      i=$((i + 1))
    done <"$tmp/live.ops"
  fi

  if [ -z "$problems" ]; then
    pass=$((pass + 1))
    echo "PASS $name"
  else
    fail=$((fail + 1))
    echo "FAIL $name"
    printf '%s' "$problems" | sed 's/^/    /'
  fi
done

echo "live ops: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
