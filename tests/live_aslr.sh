#!/usr/bin/env bash
# Live ASLR test: run corpus programs N times with ASLR on (execmap entropy --sample N, under
# ptrace, stopped at the exec trap) and check every observed address against the entropy model:
# strictly inside [min, max] and on the model's alignment grid, and spread over enough of the
# predicted span (>= 90% for N >= 200; >= 50% for smaller CI runs, where the expected spread of
# N uniform draws is (N-1)/(N+1)). Exit 77 (ctest: skipped) without ptrace.
# Usage: tests/live_aslr.sh EXECMAP CORPUSDIR [N]   (N defaults to 40)
set -u
execmap=$(realpath "$1")
corpus=$2
n=${3:-40}
cd "$corpus" || exit 1
command -v jq >/dev/null || { echo "SKIPPED: live ASLR test needs jq"; exit 77; }

probe=$("$execmap" entropy --sample 1 -i /bin/true 2>&1 >/dev/null)
if echo "$probe" | grep -q "needs ptrace"; then
  echo "SKIPPED: live ASLR test needs ptrace: $probe"
  exit 77
fi
if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" != 2 ]; then
  echo "SKIPPED: kernel.randomize_va_space is not 2 on this machine"
  exit 77
fi

min_spread=50
[ "$n" -ge 200 ] && min_spread=90
fail=0
printf '%-19s %-9s %-15s %-15s %6s | %-15s %-15s %8s %7s %s\n' PROGRAM REGION "MODEL MIN" \
  "MODEL MAX" BITS "OBSERVED MIN" "OBSERVED MAX" DISTINCT SPREAD CHECK
# NAME:start runs the program with --stage start: the sample stops at AT_ENTRY and the
# libraries ld.so mapped are regions of the model too.
for spec in pie nopie static static-pie align2m-pie align2m-static-pie pie:start nopie:start; do
  p=${spec%%:*}
  stage=exec
  [ "$spec" != "$p" ] && stage=${spec#*:}
  [ -x "./$p" ] || { echo "FAIL $p: not in the corpus"; fail=$((fail + 1)); continue; }
  json=$("$execmap" entropy --format json --stage "$stage" --sample "$n" -i --env A=1 "./$p" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 4 ]; then
    echo "FAIL $p: execmap entropy exited $rc: $json"
    fail=$((fail + 1))
    continue
  fi
  while IFS=$'\t' read -r name mmin mmax align bits; do
    values=$(echo "$json" | jq -r --arg r "$name" '.sample.regions[] | select(.name == $r) | (.values // [])[]')
    if [ -z "$values" ]; then
      printf '%-19s %-9s %-15s %-15s %6s | (not observable in /proc)\n' "$p" "$name" "$mmin" "$mmax" "$bits"
      continue
    fi
    lo=$((mmin)) hi=$((mmax)) al=$((align))
    omin="" omax="" bad=0 count=0
    for v in $values; do
      x=$((v))
      count=$((count + 1))
      if [ "$x" -lt "$lo" ] || [ "$x" -gt "$hi" ] || [ $(((x - lo) % al)) -ne 0 ]; then
        bad=$((bad + 1))
        [ "$bad" -le 3 ] && echo "    $p $name: observed $v outside $mmin..$mmax step $align"
      fi
      if [ -z "$omin" ] || [ "$x" -lt "$omin" ]; then omin=$x; fi
      if [ -z "$omax" ] || [ "$x" -gt "$omax" ]; then omax=$x; fi
    done
    distinct=$(echo "$values" | sort -u | wc -l)
    check=ok
    if [ "$hi" -gt "$lo" ]; then
      spread=$(((omax - omin) * 1000 / (hi - lo)))
      spread_txt="$((spread / 10)).$((spread % 10))%"
      if [ "$spread" -lt $((min_spread * 10)) ]; then check="spread<${min_spread}%"; fail=$((fail + 1)); fi
    else
      spread_txt="fixed"
    fi
    if [ "$bad" -gt 0 ]; then check="$bad OUTSIDE"; fail=$((fail + 1)); fi
    printf '%-19s %-9s %-15s %-15s %6s | %-15s %-15s %8s %7s %s\n' "$p" "$name" "$mmin" "$mmax" \
      "$bits" "$(printf '0x%x' "$omin")" "$(printf '0x%x' "$omax")" "$distinct/$count" \
      "$spread_txt" "$check"
  done < <(echo "$json" | jq -r '.regions[] | [.name, .min, .max, .align, (.bits | tostring)] | @tsv')
done
echo "live ASLR ($n runs each): $fail failure(s)"
[ "$fail" -eq 0 ]
