#!/usr/bin/env bash
# `execmap libs` against ldd (which runs the loader) for every dynamically linked ELF in
# /usr/bin: the sets of (name -> realpath) pairs must match. linux-vdso is ignored.
# A machine with the test dependencies has 1300 files in /usr/bin; each costs an ldd, an
# execmap and a python3, so the test takes an evenly spread sample of at most
# EXECMAP_LIVE_MAX (default 300) of them, the same on every run; EXECMAP_LIVE_MAX=0 takes all.
# Usage: libs_vs_ldd.sh EXECMAP [DIR]
set -u
EXECMAP=${1:?usage: libs_vs_ldd.sh EXECMAP [DIR]}
DIR=${2:-/usr/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
# The same environment for both sides; no LD_* variables from the caller.
unset LD_LIBRARY_PATH LD_PRELOAD
max=${EXECMAP_LIVE_MAX:-300}
files=("$DIR"/*)
n=${#files[@]}
sample=()
if [ "$max" -gt 0 ] && [ "$n" -gt "$max" ]; then
  for ((i = 0; i < max; i++)); do sample+=("${files[i * n / max]}"); done
  echo "note: $max of the $n files in $DIR, evenly spread (EXECMAP_LIVE_MAX=0 for all)"
else
  sample=("${files[@]}")
fi
for f in "${sample[@]}"; do
  real=$(readlink -f "$f") || continue
  [ -f "$real" ] || continue
  # ELF files only.
  [ "$(head -c 4 "$real" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  timeout 20 ldd "$real" >"$tmp/ldd" 2>/dev/null || continue
  grep -q 'not a dynamic executable\|statically linked' "$tmp/ldd" && continue
  # "name => path (addr)", "name => not found", "/path/ld.so (addr)"
  while read -r a b c rest; do
    case "$a" in linux-vdso*|linux-gate*) continue ;; esac
    if [ "$b" = "=>" ]; then
      if [ "$c" = "not" ]; then echo "$a not-found"; else echo "$a $(readlink -f "$c")"; fi
    else
      echo "$a $(readlink -f "$a")"
    fi
  done <"$tmp/ldd" | sort -u >"$tmp/want"
  if ! "$EXECMAP" libs --format json "$real" >"$tmp/json" 2>"$tmp/err"; then
    if [ ! -s "$tmp/json" ]; then
      echo "FAIL $real: execmap libs failed: $(head -1 "$tmp/err")"
      fail=$((fail + 1))
      continue
    fi
  fi
  python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
for o in j["objects"][1:]:
    p = o["realpath"] if o["via"] not in ("not found", "error") else "not-found"
    print(o["name"], p)
' "$tmp/json" | sort -u >"$tmp/got"
  if cmp -s "$tmp/want" "$tmp/got"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $real"
    diff "$tmp/want" "$tmp/got" | sed -n '/^[<>]/s/^/    /p' | sed 's/^    </    ldd:    /; s/^    >/    execmap:/'
  fi
done
echo "libs vs ldd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
