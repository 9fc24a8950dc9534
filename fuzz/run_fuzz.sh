#!/usr/bin/env bash
# Runs the libFuzzer target fuzz_exec, or replays the kept crash inputs.
#   run_fuzz.sh BUILD_DIR SECONDS     fuzz for SECONDS from a seed corpus built from testdata
#                                     (golden binaries, corpus programs, each alone and with
#                                     ld.so as the interpreter blob) plus fuzz/regressions;
#                                     prints the number of executions.
#   run_fuzz.sh --replay BUILD_DIR    runs every file in fuzz/regressions once; exit 0 if none
#                                     crashes (for normal test runs).
# BUILD_DIR is a build configured with CC=clang CXX=clang++ -DEXECMAP_FUZZ=ON.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")

if [ "${1:-}" = "--replay" ]; then
  build=${2:?usage: run_fuzz.sh --replay BUILD_DIR}
  fuzzer=$build/fuzz/fuzz_exec
  [ -x "$fuzzer" ] || { echo "run_fuzz.sh: no $fuzzer (configure with -DEXECMAP_FUZZ=ON)"; exit 1; }
  files=()
  for f in "$here"/regressions/*; do
    case $f in *README*|*/\*) continue ;; esac
    [ -f "$f" ] && files+=("$f")
  done
  if [ ${#files[@]} -eq 0 ]; then
    echo "fuzz replay: no regression inputs"
    exit 0
  fi
  "$fuzzer" -timeout=1 -rss_limit_mb=2048 "${files[@]}" >"$build/fuzz-replay.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    tail -40 "$build/fuzz-replay.log"
    echo "fuzz replay: FAILED (exit $rc) on ${#files[@]} inputs"
    exit 1
  fi
  echo "fuzz replay: ${#files[@]} regression inputs, no crash"
  exit 0
fi

build=${1:?usage: run_fuzz.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run_fuzz.sh BUILD_DIR SECONDS}
build=$(cd "$build" && pwd)
fuzzer=$build/fuzz/fuzz_exec
[ -x "$fuzzer" ] || { echo "run_fuzz.sh: no $fuzzer (configure with -DEXECMAP_FUZZ=ON)"; exit 1; }

# Seeds (64-bit and ia32 programs): u32 exe_len, exe_pad, interp_pad, options, seed, then the executable (its first
# 4 KiB: the headers, program headers and PT_INTERP string live there) and the interpreter.
# Small inputs keep the rate high (libFuzzer's own cost grows with the input size).
# FUZZ_ONLY_ELF32=1: seed only ia32 (ELF32) programs, with a corpus of their own, for a
# campaign that spends its executions on the ELF32 readers and the compat loader.
only32=${FUZZ_ONLY_ELF32:-0}
seeds=$build/fuzz-seeds
corpus=$build/fuzz-corpus
if [ "$only32" = 1 ]; then
  seeds=$build/fuzz-seeds32
  corpus=$build/fuzz-corpus32
fi
artifacts=$build/fuzz-artifacts
mkdir -p "$seeds" "$corpus" "$artifacts"
ldso=/lib64/ld-linux-x86-64.so.2
ldso32=/lib/ld-linux.so.2
cap=4096
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
seed_one() {  # name exe [interp] [options]
  local name=$1 exe=$2 interp=${3:-} opts=${4:-0}
  local n
  n=$(head -c $cap "$exe" | wc -c)
  {
    le32 "$n"
    printf "\\x00\\x00\\x$(printf %02x "$opts")\\x01"
    head -c $cap "$exe"
    [ -n "$interp" ] && head -c $cap "$interp"
  } >"$seeds/$name"
}
progs=()
for d in "$src/testdata/golden/bin" "$build/corpus" "$src/build/corpus" "${EXECMAP_CORPUS_DIR:-/nonexistent}" \
         "$build/corpus32" "$src/build/corpus32" "$build/start32" "$src/build/start32"; do
  [ -d "$d" ] || continue
  for p in "$d"/*; do
    [ -f "$p" ] && head -c 4 "$p" | grep -q "ELF" && progs+=("$p")
  done
done
i=0
for p in "${progs[@]}"; do
  i=$((i + 1))
  b=$(basename "$p")
  # ELF32 (ia32) programs get i386's ld-linux.so.2 as the interpreter blob (libc6-i386).
  l=$ldso
  [ "$(head -c 5 "$p" | tail -c 1 | od -An -tu1 | tr -d ' ')" = 1 ] && l=$ldso32
  [ "$only32" = 1 ] && [ "$l" != "$ldso32" ] && continue
  seed_one "$i-$b" "$p"
  [ -f "$l" ] && seed_one "$i-$b+ld.so" "$p" "$l"
  seed_one "$i-$b-aslr" "$p" "$l" 1
done
[ -f "$ldso" ] && [ "$only32" != 1 ] && seed_one "ld.so-direct" "$ldso"
[ -f "$ldso32" ] && seed_one "ld.so32-direct" "$ldso32"
[ "$only32" != 1 ] && for f in "$here"/seeds/*; do [ -f "$f" ] && cp "$f" "$seeds/"; done

dirs=("$corpus" "$seeds")
[ -d "$here/regressions" ] && dirs+=("$here/regressions")
# FUZZ_JOBS=N runs N fuzzers in parallel (libFuzzer -jobs/-workers), sharing the corpus.
jobs=${FUZZ_JOBS:-1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0}
logdir=$build/fuzz-logs/$(date +%s)
mkdir -p "$logdir"
cd "$logdir" || exit 1
# FUZZ_TIMEOUT (default 1 s): a longer bound for runs that share the CPU (ASan's quarantine
# recycling under contention pushed 10 ms inputs past 1 s).
args=(-max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-1}" -rss_limit_mb=2048 -max_len=16384
      -print_final_stats=1 -artifact_prefix="$artifacts/")
if [ "$jobs" -gt 1 ]; then
  "$fuzzer" "${args[@]}" -jobs="$jobs" -workers="$jobs" "${dirs[@]}" >"$logdir/main.log" 2>&1
  rc=$?
else
  "$fuzzer" "${args[@]}" "${dirs[@]}" >"$logdir/fuzz-0.log" 2>&1
  rc=$?
fi
execs=0 execs32=0
for log in "$logdir"/fuzz-*.log; do
  n32=$(sed -n 's/^fuzz_exec: elf32_executions: *//p' "$log" | tail -1)
  execs32=$((execs32 + ${n32:-0}))
  n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$n" ] || n=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  grep -E '^#[0-9]+' "$log" | tail -1
  execs=$((execs + ${n:-0}))
  if grep -qE "ERROR: |runtime error|SUMMARY: " "$log"; then
    grep -B2 -A30 -E "ERROR: |runtime error" "$log" | head -60
    rc=1
  fi
done
echo "fuzz: $execs executions ($execs32 of them ia32/ELF32 executables) in ${seconds}s with $jobs job(s) (logs in $logdir)"
if [ $rc -ne 0 ]; then
  echo "fuzz: FAILED (exit $rc); crashing inputs are in $artifacts (copy them to fuzz/regressions)"
  exit 1
fi
