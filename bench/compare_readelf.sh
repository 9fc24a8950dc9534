#!/usr/bin/env bash
# Whole-process timing: `execmap layout --format maps` against `readelf -lW` on the same files.
#
#   bench/compare_readelf.sh EXECMAP [FILES...]
#
# Acceptance target: execmap takes at most 1.5x the whole-process time of readelf -lW on the
# same file. Two execmap variants are timed for each file:
#   default: execmap layout --format maps --profile default -i FILE   (no /proc reads)
#   host:    execmap layout --format maps FILE       (host profile, inherited environment;
#            reads /proc/self/auxv, /proc/self/maps, /proc/sys/vm/mmap_min_addr)
#
# Default FILES: /usr/bin/ls /usr/bin/git /usr/bin/gdb /usr/lib/x86_64-linux-gnu/libc.so.6
# and a 160 MiB generated shared library (bench/make_big_lib.sh; BIG_LIB=PATH reuses one).
#
# Timer: hyperfine (-N, no shell) when installed, else bench/timerun.c compiled on the fly.
# To resist drift in the load of a shared machine, the three commands of a file are measured
# in ROUNDS interleaved rounds of RUNS runs each, and the median of the round medians is
# reported.
#
# Environment:
#   RUNS    runs per command per round (default 100)     WARMUP  warmup runs (default 10)
#   ROUNDS  interleaved rounds (default 5)               TIMER   hyperfine|timerun
#   NICE    nice level of the timer and the timed commands (default -20 as root, else 0)
#   INSNS   1: also count user-space instructions with valgrind --tool=callgrind (default 1
#           when valgrind is installed): deterministic, so immune to other load
# Prints markdown tables on stdout, progress on stderr. Exits 0 whatever the ratios: a
# benchmark is a report, not a test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -lt 1 ]]; then
  echo "usage: $0 EXECMAP [FILES...]" >&2
  exit 2
fi
execmap=$(realpath "$1")
shift
runs=${RUNS:-100}
warmup=${WARMUP:-10}
rounds=${ROUNDS:-5}
readelf=$(command -v readelf)
nice_level=${NICE:-$([[ $EUID -eq 0 ]] && echo -20 || echo 0)}
nice_cmd=(nice -n "$nice_level")
insns=${INSNS:-$(command -v valgrind >/dev/null && echo 1 || echo 0)}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

big=""
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  files=(/usr/bin/ls /usr/bin/git /usr/bin/gdb /usr/lib/x86_64-linux-gnu/libc.so.6)
  big=${BIG_LIB:-}
  if [[ -z $big ]]; then
    big=$tmp/big.so
    "$here/make_big_lib.sh" "$big"
  fi
  files+=("$big")
fi

timer=${TIMER:-}
if [[ -z $timer ]]; then
  if command -v hyperfine >/dev/null; then timer=hyperfine; else timer=timerun; fi
fi
if [[ $timer == timerun ]]; then
  "${CC:-cc}" -O2 -o "$tmp/timerun" "$here/timerun.c"
fi

# measure CMD [ARG...]: prints "WALL_MS CPU_MS": the median whole-process wall time and the
# child's user+system CPU time (hyperfine: mean; timerun: median), in milliseconds.
measure() {
  if [[ $timer == hyperfine ]]; then
    local q
    q=$(printf '%q ' "$@")
    "${nice_cmd[@]}" hyperfine -N --style none --warmup "$warmup" --runs "$runs" \
      --export-json "$tmp/h.json" "$q" >/dev/null 2>&1 || {
      echo "hyperfine failed for: $*" >&2
      return 1
    }
    if command -v jq >/dev/null; then
      jq -r '.results[0] | "\(.median * 1000) \((.user + .system) * 1000)"' "$tmp/h.json"
    else
      python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["median"]*1000, (r["user"]+r["system"])*1000)' "$tmp/h.json"
    fi
  else
    "${nice_cmd[@]}" "$tmp/timerun" "$runs" "$warmup" "$@" |
      sed -E 's/^median_ms=([0-9.]+) .* cpu_ms_median=([0-9.]+) .*/\1 \2/'
  fi
}

# insns CMD [ARG...]: user-space instructions executed (callgrind "I refs"), ld.so included.
insns() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -nE 's/.*I\s+refs:\s+([0-9,]+).*/\1/p' | tr -d ,
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
fmt() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }
over() { awk -v x="$1" 'BEGIN { exit !(x > 1.5) }'; }
kinsns() { awk -v a="$1" 'BEGIN { printf "%.0f k", a / 1000 }'; }

echo "timer: $timer, $rounds rounds x $runs runs (+$warmup warmup), nice: $nice_level, $(nproc) CPUs, kernel $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
wall="| file | size | readelf -lW | execmap default -i | ratio | execmap host | ratio | <=1.5x |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
cpu="| file | readelf -lW | execmap default -i | ratio | execmap host | ratio |
| --- | ---: | ---: | ---: | ---: | ---: |"
ins="| file | readelf -lW | execmap default -i | ratio | execmap host | ratio |
| --- | ---: | ---: | ---: | ---: | ---: |"
for f in "${files[@]}"; do
  echo "timing $f ..." >&2
  "$execmap" layout --format maps "$f" >/dev/null  # must succeed before it is timed
  cmds=("$readelf -lW" "$execmap layout --format maps --profile default -i" "$execmap layout --format maps")
  for i in 0 1 2; do : >"$tmp/m$i"; done
  for ((r = 0; r < rounds; r++)); do
    for i in 0 1 2; do
      read -r -a c <<<"${cmds[$i]}"
      measure "${c[@]}" "$f" >>"$tmp/m$i"
    done
  done
  for i in 0 1 2; do
    w[i]=$(awk '{ print $1 }' "$tmp/m$i" | median)
    u[i]=$(awk '{ print $2 }' "$tmp/m$i" | median)
  done
  ok=yes
  if over "$(ratio "${w[1]}" "${w[0]}")" || over "$(ratio "${w[2]}" "${w[0]}")"; then ok=NO; fi
  size=$(stat -c %s "$f" | awk '{ printf "%.1f MB", $1 / 1e6 }')
  name=$f
  [[ -n $big && $f == "$big" ]] && name="big.so (make_big_lib.sh)"
  wall+="
| $name | $size | $(fmt "${w[0]}") | $(fmt "${w[1]}") | $(ratio "${w[1]}" "${w[0]}") | $(fmt "${w[2]}") | $(ratio "${w[2]}" "${w[0]}") | $ok |"
  cpu+="
| $name | $(fmt "${u[0]}") | $(fmt "${u[1]}") | $(ratio "${u[1]}" "${u[0]}") | $(fmt "${u[2]}") | $(ratio "${u[2]}" "${u[0]}") |"
  if [[ $insns == 1 ]]; then
    for i in 0 1 2; do
      read -r -a c <<<"${cmds[$i]}"
      n[i]=$(insns "${c[@]}" "$f")
    done
    ins+="
| $name | $(kinsns "${n[0]}") | $(kinsns "${n[1]}") | $(ratio "${n[1]}" "${n[0]}") | $(kinsns "${n[2]}") | $(ratio "${n[2]}" "${n[0]}") |"
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "Whole-process wall time, ms: median of $rounds interleaved rounds of $runs runs ($timer, nice $nice_level, load $(cut -d' ' -f1 /proc/loadavg)):"
echo
echo "$wall"
echo
echo "User+system CPU time of the child, ms (less sensitive to other load on the machine):"
echo
echo "$cpu"
if [[ $insns == 1 ]]; then
  echo
  echo "User-space instructions, valgrind --tool=callgrind (deterministic; excludes the kernel's exec, page-fault and syscall time):"
  echo
  echo "$ins"
fi
