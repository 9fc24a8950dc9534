#!/usr/bin/env bash
# Live tests for issue 12 section 4: arguments and environment exactly as execve() takes them,
# each checked with `execmap verify` against the running kernel (outcome, errno or kill
# included):
#  - stack limits under ARG_MAX with argument areas around the limit: the kernel runs the
#    program, kills it in create_elf_tables(), or refuses with E2BIG in get_arg_page(); the
#    sweep must see all three and be exact on every size;
#  - an argument longer than MAX_ARG_STRLEN through --args-file (E2BIG);
#  - --env-file entries as given: duplicate keys, an empty key, no '=', an empty line, and a
#    NUL-separated file such as /proc/PID/environ;
#  - ETXTBSY for a program held open for writing, and a layout once the writer is gone.
# Exit 77 (ctest: skipped) without ptrace.
set -u
execmap=$1
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the live argument test"
tmp=$(mktemp -d "$PWD/live-args.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {  # name want got
  if [ "$2" = "$3" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $1: expected '$2', got '$3'"
  fi
}

# 1. The sweep: one argument of n bytes under a stack limit of lim bytes.
runs=0 kills=0 e2big=0
for lim in 4096 12288 102400; do
  for ((n = lim - 1600; n <= lim + 100; n += 96)); do
    head -c "$n" /dev/zero | tr '\0' A >"$tmp/arg"
    got=$("$execmap" verify -i --stack-limit "$lim" --format json --args-file "$tmp/arg" /bin/true 2>/dev/null | verify_verdict)
    check "stack limit $lim, argument of $n bytes" exact "$got"
    "$execmap" layout -i --stack-limit "$lim" --args-file "$tmp/arg" /bin/true >/dev/null 2>"$tmp/err"
    case "$?:$(head -1 "$tmp/err")" in
      0:*) runs=$((runs + 1)) ;;
      3:*"would kill"*) kills=$((kills + 1)) ;;
      3:*E2BIG*) e2big=$((e2big + 1)) ;;
    esac
  done
done
echo "sweep: $runs run, $kills killed in create_elf_tables, $e2big E2BIG"
check "the sweep reaches all three outcomes" yes \
  "$([ "$runs" -gt 0 ] && [ "$kills" -gt 0 ] && [ "$e2big" -gt 0 ] && echo yes || echo no)"

# 2. Past MAX_ARG_STRLEN (131072 bytes with its NUL), and exactly at it, with a NUL-separated
# file of several arguments (an empty one among them).
head -c 131072 /dev/zero | tr '\0' B >"$tmp/long"
printf 'one\0\0three\0' >"$tmp/args"
cat "$tmp/long" >>"$tmp/args"
got=$("$execmap" verify -i --format json --args-file "$tmp/args" /bin/true 2>/dev/null | verify_verdict)
check "argument past MAX_ARG_STRLEN" exact "$got"
"$execmap" layout -i --args-file "$tmp/args" /bin/true >/dev/null 2>"$tmp/err"
check "argument past MAX_ARG_STRLEN: E2BIG" "3 E2BIG" "$? $(grep -o E2BIG "$tmp/err" | head -1)"
printf 'one\0\0three\0' >"$tmp/args"
head -c 131071 /dev/zero | tr '\0' B >>"$tmp/args"
got=$("$execmap" verify -i --format json --args-file "$tmp/args" /bin/true 2>/dev/null | verify_verdict)
check "argument of MAX_ARG_STRLEN" exact "$got"
got=$("$execmap" stack -i --format json --args-file "$tmp/args" /bin/true x 2>/dev/null |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print([len(a["value"]) for a in j["argv"]])')
check "argv from --args-file, then the command line" "[9, 3, 0, 5, 131071, 1]" "$got"

# 3. The environment exactly as given.
printf 'A=1\nA=2\n=empty-key\nno-equals\n\n# not a comment\nB=3\n' >"$tmp/env"
got=$("$execmap" verify -i --format json --env-file "$tmp/env" /bin/true 2>/dev/null | verify_verdict)
check "--env-file with duplicates, empty key, no '='" exact "$got"
got=$("$execmap" stack -i --format json --env-file "$tmp/env" /bin/true 2>/dev/null |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print("|".join(e["value"] for e in j["envp"]))')
check "-i --env-file is exactly the file" "A=1|A=2|=empty-key|no-equals||# not a comment|B=3" "$got"
got=$("$execmap" stack -i --format json --env-file "$tmp/env" --env A=9 /bin/true 2>/dev/null |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print("|".join(e["value"] for e in j["envp"]))')
check "--env replaces the first entry of its key" "A=9|A=2|=empty-key|no-equals||# not a comment|B=3" "$got"
env -i X=1 'Y=with
newline' Z= cat /proc/self/environ >"$tmp/environ"
got=$("$execmap" verify -i --format json --env-file "$tmp/environ" /bin/true 2>/dev/null | verify_verdict)
check "--env-file from /proc/PID/environ (NUL-separated)" exact "$got"
got=$("$execmap" stack -i --format json --env-file "$tmp/environ" /bin/true 2>/dev/null |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print(len(j["envp"]), j["envp"][1]["value"].count("\n"))')
check "NUL-separated entries keep their newlines" "3 1" "$got"

# 4. ETXTBSY while a writer holds the program open; a layout once it is closed.
cp /bin/true "$tmp/prog"
exec 3>>"$tmp/prog"
got=$("$execmap" verify -i --format json "$tmp/prog" 2>/dev/null | verify_verdict)
check "program open for writing (verify)" exact "$got"
"$execmap" layout -i "$tmp/prog" >/dev/null 2>"$tmp/err"
check "program open for writing: ETXTBSY" "3 ETXTBSY" "$? $(grep -o ETXTBSY "$tmp/err" | head -1)"
exec 3>&-
got=$("$execmap" verify -i --format json "$tmp/prog" 2>/dev/null | verify_verdict)
check "program after the writer closed (verify)" exact "$got"

echo "live args: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
