#!/usr/bin/env bash
# Live test for #! scripts (issue 12 section 3): each case is predicted by execmap and run by
# the kernel under `execmap verify` (the outcome, and where it runs the whole layout and
# stack, must agree), and the predicted outcome is checked against what the case is about:
#   a direct script; one with an interpreter argument; nesting from 1 to 5 levels and ELOOP at
#   6; a missing interpreter (ENOENT); a CRLF line ending (the \r is part of the name:
#   ENOENT); a first line of more than 255 bytes (the argument is cut, the name must end
#   within the buffer: ENOEXEC otherwise); an empty #! line (ENOEXEC); a relative interpreter;
#   both stages for the direct script.
# Exit 77 (ctest: skipped) without ptrace.
set -u
execmap=$1
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the live script test"
tmp=$(mktemp -d "$PWD/live-scripts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0
fail=0
# case NAME WANT [verify/layout options...] PATH [ARG...]
# WANT: "runs", or the errno name the kernel gives.
case_() {
  local name=$1 want=$2
  shift 2
  local got
  got=$("$execmap" verify -i --format json "$@" 2>/dev/null | verify_verdict)
  local outcome
  "$execmap" layout -i "$@" >/dev/null 2>"$tmp/err"
  case $? in
    0) outcome=runs ;;
    3) outcome=$(sed -n 's/^execmap: execve would fail: \([A-Z0-9]*\):.*/\1/p' "$tmp/err" | head -1) ;;
    *) outcome="exit $?: $(head -1 "$tmp/err")" ;;
  esac
  if [ "$got" = exact ] && [ "$outcome" = "$want" ]; then
    pass=$((pass + 1))
    echo "ok   $name: $outcome, exact"
  else
    fail=$((fail + 1))
    echo "FAIL $name: predicted $outcome (want $want); verify: $got"
  fi
}
mk() {  # mk FILE CONTENT (printf format)
  printf "$2" >"$1"
  chmod +x "$1"
}

mk direct '#!/bin/sh\necho hi\n'
case_ "direct script" runs ./direct a b
case_ "direct script, --stage start" runs --stage start ./direct a b
mk witharg '#!/bin/sh -e -u  \necho hi\n'
case_ "interpreter with an argument" runs ./witharg x
mk tabs '#!\t /bin/sh\t-x\t\n'
case_ "spaces and tabs around the name" runs ./tabs
# Nesting: n1 runs /bin/sh; nK runs nK-1 by its absolute path.
mk n1 '#!/bin/sh\n'
for k in 2 3 4 5 6; do mk "n$k" "#!$tmp/n$((k - 1))\n"; done
for k in 1 2 3 4 5; do case_ "nesting of $k" runs "./n$k" arg; done
case_ "nesting of 6" ELOOP ./n6
mk missing '#!/nonexistent/interpreter\n'
case_ "missing interpreter" ENOENT ./missing
mk crlf '#!/bin/sh\r\necho hi\r\n'
case_ "CRLF line ending" ENOENT ./crlf
mk long "#!/bin/sh $(head -c 300 /dev/zero | tr '\0' x)\n"
case_ "first line of 310 bytes (argument cut)" runs ./long
mk longname "#!/$(head -c 300 /dev/zero | tr '\0' a)\n"
case_ "interpreter name past 255 bytes" ENOEXEC ./longname
mk empty '#!\n'
case_ "empty #! line" ENOEXEC ./empty
mkdir -p sub
cp /bin/true sub/interp
mk relative '#!sub/interp\n'
case_ "relative interpreter (from the working directory)" runs ./relative
mk notelf '#!./plain\n'
mk plain 'just text\n'
case_ "interpreter that is neither ELF nor script" ENOEXEC ./notelf

echo "live scripts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
