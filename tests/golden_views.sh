#!/bin/sh
# Golden tests of the picture views: `layout --format diagram` and `space` (4- and 5-level)
# for a PIE, a non-PIE and a static golden binary, diffed against tests/golden/*.txt.
#
#   tests/golden_views.sh [--update] EXECMAP GOLDEN_BIN_DIR EXPECTED_DIR
#
# The expected files were recorded from layouts `execmap verify` found exact against the
# kernel (-i --env A=1 on each binary), with --profile default so that nothing but the
# interpreter depends on the machine. The dynamic programs' pictures include ld.so's
# mappings: they are compared only where /lib64/ld-linux-x86-64.so.2 is the recorded one
# (EXPECTED_DIR/views.ld.so.sha256), and reported as skipped elsewhere. --update rewrites the
# expected files (and views.ld.so.sha256) from this machine.
set -u

update=0
args=
for a in "$@"; do
  if [ "$a" = --update ]; then update=1; else args="$args $a"; fi
done
# shellcheck disable=SC2086
set -- $args
if [ $# -ne 3 ]; then
  echo "usage: $0 [--update] EXECMAP GOLDEN_BIN_DIR EXPECTED_DIR" >&2
  exit 2
fi
execmap=$(realpath "$1")
bindir=$(realpath "$2")
expected=$(realpath "$3")
ldso=/lib64/ld-linux-x86-64.so.2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ldso_hash() { sha256sum "$(readlink -f "$ldso")" 2>/dev/null | cut -d' ' -f1; }
if [ "$update" = 1 ]; then
  mkdir -p "$expected"
  ldso_hash > "$expected/views.ld.so.sha256"
fi
same_ldso=0
[ -f "$expected/views.ld.so.sha256" ] && [ "$(ldso_hash)" = "$(cat "$expected/views.ld.so.sha256")" ] && same_ldso=1

# An ops script that grows the static program's heap to an unaligned break: the diagram then
# draws a [heap] VMA with brk inside its last page. Checked against the kernel with gdb
# (starti, then brk(0x4cd123) through a syscall instruction of the program): it returned
# 0x4cd123 and /proc/PID/maps showed [heap] 0x4ac000-0x4ce000, as predicted.
printf 'brk +0x21123\n' > "$tmp/brk.ops"

pass=0 fail=0 skip=0 skipped=
# check NAME DYNAMIC(0|1) EXECMAP-ARGS...: runs from the golden bin directory with a relative
# PATH, so that argv[0], execfn and every stack address are the same everywhere.
check() {
  name=$1 dynamic=$2
  shift 2
  if [ "$dynamic" = 1 ] && [ "$same_ldso" = 0 ] && [ "$update" = 0 ]; then
    echo "SKIP $name: this machine's $ldso is not the recorded one"
    skip=$((skip + 1)) skipped="$skipped $name"
    return
  fi
  (cd "$bindir" && NO_COLOR=1 "$execmap" "$@") > "$tmp/$name.txt" 2> "$tmp/$name.err"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL $name: execmap exited $rc: $(cat "$tmp/$name.err")"
    fail=$((fail + 1))
    return
  fi
  if [ "$update" = 1 ]; then
    cp "$tmp/$name.txt" "$expected/$name.txt"
    echo "UPDATED $name"
    pass=$((pass + 1))
  elif diff -u "$expected/$name.txt" "$tmp/$name.txt" > "$tmp/$name.diff" 2>&1; then
    echo "PASS $name"
    pass=$((pass + 1))
  else
    echo "FAIL $name"
    cat "$tmp/$name.diff"
    fail=$((fail + 1))
  fi
}

same="--profile default -i --env A=1"
# shellcheck disable=SC2086
{
  check diagram-hello-pie 1 layout --format diagram $same ./hello-pie
  check diagram-hello-nopie 1 layout --format diagram $same ./hello-nopie
  check diagram-hello-static 0 layout --format diagram $same ./hello-static
  check diagram-hello-static-brk 0 layout --format diagram --ops "$tmp/brk.ops" $same ./hello-static
  check space-hello-pie 1 space $same ./hello-pie
  check space-hello-nopie 1 space $same ./hello-nopie
  check space-hello-static 0 space $same ./hello-static
  check space5-hello-static 0 space --paging 5 $same ./hello-static
}

[ $skip -gt 0 ] && echo "($skip skipped:$skipped)"
echo "golden views: $pass passed, $fail failed"
[ $fail -eq 0 ]
