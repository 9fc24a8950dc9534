#!/bin/sh
# Issue 18: grade is fair to loaders written the way students write them.
# Every loader in testdata/loader/students, correct or with planted defects, is graded on four
# programs (static, static-pie, nolibc, auxv-dump), with and without arguments, and also run
# directly on each (outside grade, as a student would try it):
#   - the failed checks are exactly the loader's planted defects, no fewer and no more;
#   - a loader without a defect gets full marks, and every program it loads behaves as when
#     the kernel runs it (same output, same exit status);
#   - a program that misbehaves under a loader (a crash at exit, another argv or envp, ...)
#     cost that loader at least the points of the failed checks, and only a loader with a
#     planted defect makes a program misbehave.
# usage: student_loaders.sh EXECMAP LOADER_DIR CORPUS_DIR   (exit 77 = skipped without ptrace)
set -u
execmap=${1:?usage: student_loaders.sh EXECMAP LOADER_DIR CORPUS_DIR}
loaders=${2:?}/students
programs=${2:?}/programs
corpus=${3:?}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$execmap" verify "$corpus/tiny" >/dev/null 2>"$tmp/why"; then
  if grep -q "needs ptrace" "$tmp/why"; then
    echo "SKIPPED: $(cat "$tmp/why")"
    exit 77
  fi
fi

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# LOADER:the checks its planted defects fail (sorted, comma-joined; empty = a correct loader).
table="skeleton:
skeleton-rdx:entry.registers
copier:
copier-defects:auxv.random_fresh,stack.executable
reserve:
reserve-argc-int:stack.argc
inplace:
inplace-defects:auxv.execfn,stack.aligned
nolibc_loader:
nolibc_loader-at-base:auxv.base,auxv.no_bogus
arraystack:
arraystack-no-argv-null:stack.envp,stack.null_terminated
arraystack-own-argv:stack.argc,stack.argv"

grades=0 misbehaved=0
for row in $table; do
  name=${row%%:*} want=${row#*:}
  if [ ! -x "$loaders/$name" ]; then bad "$name: not built"; continue; fi
  for prog in "$corpus/static" "$corpus/static-pie" "$programs/nolibc" "$programs/auxv-dump"; do
    for args in none two; do
      if [ $args = two ]; then set -- x "y z"; else set --; fi
      what="$name $(basename "$prog") ($args)"
      grades=$((grades + 1))
      "$execmap" grade --format json --timeout-ms 5000 -i --env A=1 --env B=two \
        --loader "$loaders/$name" "$prog" "$@" >"$tmp/g.json" 2>"$tmp/err"
      rc=$?
      # failed ids; score; max; the points the failed checks are worth
      res=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
f=[c for c in d["checks"] if c["status"]=="failed"]
print(",".join(sorted(c["id"] for c in f)), d["score"], d["max_score"], sum(c["max_score"] for c in f))' \
        "$tmp/g.json" 2>/dev/null) || res="? ? ? ?"
      set -- $res
      [ $# = 3 ] && set -- "" "$@"   # no failed check: the first field is empty
      got=$1 score=$2 max=$3 lost=$4
      # The same program run directly by the kernel, and by the loader.
      if [ $args = two ]; then
        env -i A=1 B=two timeout -s KILL 10 "$prog" x "y z" >"$tmp/k.out" 2>/dev/null; krc=$?
        env -i A=1 B=two timeout -s KILL 10 "$loaders/$name" "$prog" x "y z" >"$tmp/l.out" 2>/dev/null; lrc=$?
      else
        env -i A=1 B=two timeout -s KILL 10 "$prog" >"$tmp/k.out" 2>/dev/null; krc=$?
        env -i A=1 B=two timeout -s KILL 10 "$loaders/$name" "$prog" >"$tmp/l.out" 2>/dev/null; lrc=$?
      fi
      behaves=yes how=""
      [ $lrc != $krc ] && how="exit $lrc, the kernel's run $krc"
      cmp -s "$tmp/k.out" "$tmp/l.out" || how="${how:+$how, }another output"
      [ -n "$how" ] && behaves=no misbehaved=$((misbehaved + 1))
      want_rc=0; [ -n "$want" ] && want_rc=4
      if [ "$rc" != $want_rc ] || [ "$got" != "$want" ]; then
        bad "$what: exit $rc, failed [$got], want exit $want_rc and [$want] $(head -c 300 "$tmp/err")"
      elif [ -z "$want" ] && { [ "$score" != "$max" ] || [ $behaves = no ]; }; then
        bad "$what: a correct loader got $score/$max, its program behaved: $behaves $how"
      elif [ $behaves = no ] && ! python3 -c 'import sys; s,m,l=map(float,sys.argv[1:]); sys.exit(0 if l>0 and s<=m-l else 1)' "$score" "$max" "$lost"; then
        bad "$what: the program misbehaved ($how) but the loader got $score/$max"
      else
        ok "$what: $score/$max, failed [${got:-none}], runs directly: $( [ $behaves = yes ] && echo as under the kernel || echo "misbehaves ($how)")"
      fi
    done
  done
done
echo "student loaders: $grades grades, $misbehaved runs that misbehaved, each caught"
echo "student loaders: $pass passed, $fail failed"
[ "$fail" = 0 ]
