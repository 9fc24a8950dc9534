#!/usr/bin/env bash
# Differential test on damaged ELF files: generate COUNT mutants of the corpus programs with
# elf_mutator, run each under `execmap verify` (the real kernel vs the prediction) and require
# the same outcome (runs / errno / killed) and, for those that run, the same maps and stack.
# Also requires that the prediction alone (`execmap layout`) never crashes or takes > 1 s
# (EXECMAP_TIME_LIMIT_S; 3 s in the sanitizer build).
# Usage: differential_mutants.sh EXECMAP MUTATOR CORPUSDIR [COUNT=600] [SEED=1]
# Exit 77 (ctest: skipped) without ptrace.
set -u
execmap=$(realpath "$1")
mutator=$(realpath "$2")
corpus=$(realpath "$3")
count=${4:-600}
seed=${5:-1}

probe=$("$execmap" verify -i /bin/true 2>&1)
if echo "$probe" | grep -q "verify needs ptrace"; then
  echo "SKIPPED: differential mutant tests need ptrace: $probe"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inputs=()
for p in static tiny tiny-data tiny-nognustack pie nopie static-pie lld-pie lld-nopie lld-static \
         lld-norosegment holes omagic bigbss align2m-pie align2m-static-pie execstack gold-pie \
         noseparate-code tls-static; do
  [ -f "$corpus/$p" ] && inputs+=("$corpus/$p")
done
if [ ${#inputs[@]} -eq 0 ]; then
  echo "differential mutants: no corpus programs in $corpus"
  exit 1
fi
"$mutator" "$seed" "$count" "$tmp/m" "${inputs[@]}" || { echo "elf_mutator failed"; exit 1; }
cd "$tmp/m" || exit 1

pass=0 fail=0
declare -A classes agree_by_class
report=""
now_ms() { date +%s%3N; }
# A hang bound, not a benchmark: 1 s for the normal build; the sanitizer build sets 3 s through
# ctest's environment (ASan runs 2-3 times slower, more on a loaded machine).
limit_ms=$(awk "BEGIN{print int(${EXECMAP_TIME_LIMIT_S:-1} * 1000)}")

for f in m[0-9]*; do
  case $f in *.why) continue ;; esac
  # 1. The prediction alone: no crash, no hang, under the bound.
  t0=$(now_ms)
  timeout 10 "$execmap" layout "./$f" >/dev/null 2>"$tmp/layout.err"
  lrc=$?
  t1=$(now_ms)
  problem=""
  if [ $lrc -ge 124 ]; then
    problem="execmap layout crashed or hung (exit $lrc): $(head -3 "$tmp/layout.err")"
  elif [ $((t1 - t0)) -gt "$limit_ms" ]; then
    problem="execmap layout took $((t1 - t0)) ms"
  fi
  # 2. Prediction vs the kernel.
  out=$("$execmap" verify -i --env A=1 --timeout-ms 5000 --format json "./$f" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 4 ]; then
    kernel=$(echo "$out" | grep -B3 '"what": "outcome"' | sed -n 's/.*"kernel": "\(.*\)",*$/\1/p')
    if [ -z "$kernel" ]; then
      if echo "$out" | grep -q '"mappings"'; then
        kernel="runs"
      else
        sig=$(echo "$out" | sed -n 's/^ *"signal": "\(.*\)",*$/\1/p' | head -1)
        name=$(echo "$out" | sed -n 's/^ *"name": "\(.*\)",*$/\1/p' | head -1)
        if [ -n "$sig" ]; then kernel="killed by $sig"; else kernel="errno ${name:-?}"; fi
      fi
    fi
    [ $rc -eq 0 ] || problem="${problem:+$problem; }prediction differs"
  else
    kernel="verify error (exit $rc)"
    problem="${problem:+$problem; }verify exit $rc"
  fi
  classes[$kernel]=$(( ${classes[$kernel]:-0} + 1 ))
  if [ -z "$problem" ]; then
    pass=$((pass + 1))
    agree_by_class[$kernel]=$(( ${agree_by_class[$kernel]:-0} + 1 ))
  else
    fail=$((fail + 1))
    text=$("$execmap" verify -i --env A=1 --timeout-ms 5000 "./$f" 2>&1 | head -25)
    report+="FAIL $f: $problem"$'\n'"$(sed 's/^/    why: /' "$f.why")"$'\n'"$(echo "$text" | sed 's/^/    /')"$'\n'
  fi
done

echo "kernel outcome classes (mutants / agreeing):"
for k in "${!classes[@]}"; do
  printf '  %-40s %5d %5d\n' "$k" "${classes[$k]}" "${agree_by_class[$k]:-0}"
done | sort -k1,1 -s
if [ -n "$report" ]; then
  echo "disagreements:"
  printf '%s' "$report"
fi
echo "differential mutants: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
