#!/usr/bin/env bash
# CLI contract: documented exit codes, the one-line stderr error, and the JSON error object.
set -u
execmap=$1
corpus=$2
pass=0 fail=0
expect() {  # expected-code label cmd...
  local want=$1 label=$2; shift 2
  "$@" >/tmp/execmap-cli.out 2>/tmp/execmap-cli.err </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $label: exit $got, expected $want"; cat /tmp/execmap-cli.err; fi
}
expect_out() {  # regex label
  if grep -qE "$1" /tmp/execmap-cli.out /tmp/execmap-cli.err; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $2: output does not match /$1/"; cat /tmp/execmap-cli.out /tmp/execmap-cli.err; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect 0 "layout maps" "$execmap" layout --format maps -i "$corpus/static"
expect_out '\[stack\]$' "maps has [stack]"
expect 0 "layout json" "$execmap" layout --format json -i "$corpus/pie"
expect_out '"interp_base": "0x7ffff7fca000"|"interp_base": "0x' "json has interp_base"
expect 0 "program words starting with - stay the program's" "$execmap" stack --format json -i "$corpus/static" --format -i --env X
expect_out '"value": "--format"' "argv keeps --format"
expect 2 "no subcommand" "$execmap"
expect 2 "no PATH" "$execmap" layout
expect 2 "unknown option" "$execmap" layout --frobnicate "$corpus/static"
expect 2 "bad format" "$execmap" layout --format xml "$corpus/static"
expect 2 "bad --env" "$execmap" layout --env NOEQUALS "$corpus/static"
expect 3 "missing file" "$execmap" layout /nonexistent/prog
expect_out '^execmap: execve would fail: ENOENT' "ENOENT line"
expect 3 "missing file json" "$execmap" layout --format json /nonexistent/prog
expect_out '"errno": 2' "json errno"
expect 3 "directory" "$execmap" layout /tmp
expect_out 'EACCES' "directory is EACCES"
mkfifo "$tmp/fifo"; chmod +x "$tmp/fifo"
expect 3 "fifo" "$execmap" layout "$tmp/fifo"
expect_out 'EACCES' "fifo is EACCES"
printf 'hello' >"$tmp/text"; chmod +x "$tmp/text"
expect 3 "not ELF" "$execmap" layout "$tmp/text"
expect_out 'ENOEXEC' "text is ENOEXEC"
cp "$corpus/static" "$tmp/noexec"; chmod -x "$tmp/noexec"
expect 3 "no execute permission" "$execmap" layout "$tmp/noexec"
expect_out 'EACCES' "non-executable is EACCES"
expect 0 "script" "$execmap" layout /usr/bin/ldd
expect_out 'script: /usr/bin/ldd runs #!/bin/bash' "a script's layout names the #! line"
echo "cli exit codes: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
