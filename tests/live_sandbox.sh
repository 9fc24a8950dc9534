#!/bin/sh
# The sandbox's levels and edges (issue 15), beside the hostile suite:
#   - the default level is "namespaces"; where new namespaces are refused (deny_userns: a
#     seccomp filter of the test's own, as Docker's default profile refuses them) the grader
#     takes the chroot level as root and says why, and as a user it exits 1 with the reason;
#   - the reference loader gets full marks at every level; --no-sandbox says "none";
#   - --gradescope refuses a FIFO or a symlink target and writes through rename();
#   - an option after PROG draws a warning and reaches PROG;
#   - verify --stage start runs in the sandbox (exact at both levels), and a library
#     initializer that forks leaves no process behind.
# usage: live_sandbox.sh EXECMAP DENY_USERNS LOADER_DIR CORPUS_DIR   (77 = skipped)
set -u
execmap=${1:?usage: live_sandbox.sh EXECMAP DENY_USERNS LOADER_DIR CORPUS_DIR}
deny=${2:?}
loaders=${3:?}
corpus=${4:?}
pass=0
fail=0
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

if ! "$execmap" verify "$corpus/tiny" >/dev/null 2>"$tmp/why"; then
  if grep -q "needs ptrace" "$tmp/why"; then
    echo "SKIPPED: $(cat "$tmp/why")"
    exit 77
  fi
fi

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
field() {  # field FILE PYTHON-EXPR-ON-d
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# grade_at NAME WANT_LEVEL [ENV...] -- [PREFIX...]: the reference loader, full marks, that level.
grade_at() {
  name=$1 want=$2
  shift 2
  "$@" "$execmap" grade --format json --timeout-ms 5000 --loader "$loaders/ref_loader" -i \
    "$corpus/static" x >"$tmp/out.json" 2>"$tmp/err"
  rc=$?
  level=$(field "$tmp/out.json" 'd["sandbox"]["level"]')
  score=$(field "$tmp/out.json" '(d["score"], d["max_score"])')
  if [ $rc = 0 ] && [ "$level" = "$want" ]; then
    ok "$name: level $level, score $score"
  else
    bad "$name: exit $rc, level '$level' (want $want), score $score $(head -c 300 "$tmp/err")"
  fi
}

grade_at "default" namespaces env
grade_at "EXECMAP_SANDBOX=chroot" chroot env EXECMAP_SANDBOX=chroot
"$execmap" grade --no-sandbox --format json --loader "$loaders/ref_loader" -i "$corpus/static" x >"$tmp/out.json" 2>/dev/null
if [ "$(field "$tmp/out.json" 'd["sandbox"]["level"]')" = none ]; then ok "--no-sandbox: level none"
else bad "--no-sandbox: level $(field "$tmp/out.json" 'd["sandbox"]')"; fi

if [ "$(id -u)" = 0 ] && "$deny" true 2>/dev/null; then
  # Namespaces refused by a filter, as root: the chroot level, and the reason in the detail.
  "$deny" "$execmap" grade --format json --loader "$loaders/ref_loader" -i "$corpus/static" x \
    >"$tmp/out.json" 2>"$tmp/err"
  rc=$?
  level=$(field "$tmp/out.json" 'd["sandbox"]["level"]')
  detail=$(field "$tmp/out.json" 'd["sandbox"]["detail"]')
  case $detail in
    *"namespaces refused: clone"*"Operation not permitted"*)
      if [ $rc = 0 ] && [ "$level" = chroot ]; then ok "namespaces refused, root: chroot level ($detail)"
      else bad "namespaces refused, root: exit $rc, level $level"; fi ;;
    *) bad "namespaces refused, root: detail '$detail' $(head -c 300 "$tmp/err")" ;;
  esac
  # The Gradescope file says the level too.
  "$deny" "$execmap" grade --gradescope "$tmp/gs.json" --loader "$loaders/ref_loader" -i "$corpus/static" x >/dev/null 2>&1
  if [ "$(field "$tmp/gs.json" 'd["extra_data"]["sandbox"]["level"]')" = chroot ] &&
     field "$tmp/gs.json" 'd["output"]' | grep -q "^sandbox: chroot"; then
    ok "namespaces refused: the Gradescope output names the chroot level"
  else bad "namespaces refused: Gradescope output $(head -c 300 "$tmp/gs.json")"; fi
  # verify --stage start at the chroot level: still exact (the maps translated back).
  if "$deny" "$execmap" verify --stage start -i "$corpus/pie" x >"$tmp/v.txt" 2>&1 &&
     grep -q "^sandbox: chroot" "$tmp/v.txt" && grep -q "^exact" "$tmp/v.txt"; then
    ok "verify --stage start, namespaces refused: chroot level, exact"
  else bad "verify --stage start, namespaces refused: $(head -c 400 "$tmp/v.txt")"; fi
  # As a user where namespaces are refused: no level can be built, exit 1 with the reason.
  cp "$execmap" "$tmp/execmap" && cp "$loaders/ref_loader" "$corpus/static" "$tmp/" && chmod 755 "$tmp"/*
  setpriv --reuid=65534 --regid=65534 --clear-groups "$deny" "$tmp/execmap" grade \
    --loader "$tmp/ref_loader" -i "$tmp/static" x >"$tmp/out.txt" 2>"$tmp/err"
  rc=$?
  if [ $rc = 1 ] && grep -q "no sandbox level can be built" "$tmp/err"; then
    ok "namespaces refused, not root: exit 1, $(head -c 160 "$tmp/err")"
  else bad "namespaces refused, not root: exit $rc $(head -c 300 "$tmp/err")"; fi
  setpriv --reuid=65534 --regid=65534 --clear-groups "$deny" "$tmp/execmap" grade --no-sandbox \
    --loader "$tmp/ref_loader" -i "$tmp/static" x >/dev/null 2>&1
  rc=$?
  if [ $rc = 0 ]; then ok "namespaces refused, not root, --no-sandbox: graded (exit 0)"
  else bad "namespaces refused, not root, --no-sandbox: exit $rc"; fi
else
  echo "SKIPPED: the refused-namespaces cases need root and a working seccomp filter"
fi

# --gradescope: a FIFO or a symlink target is refused at once; a regular file is replaced.
mkfifo "$tmp/fifo"
start=$(date +%s)
"$execmap" grade --gradescope "$tmp/fifo" --loader "$loaders/ref_loader" -i "$corpus/static" x >/dev/null 2>"$tmp/err"
rc=$?
took=$(( $(date +%s) - start ))
if [ $rc = 1 ] && [ $took -le 20 ] && grep -q "not a regular file" "$tmp/err" && [ -p "$tmp/fifo" ]; then
  ok "--gradescope FIFO: refused, exit 1 in ${took}s"
else bad "--gradescope FIFO: exit $rc in ${took}s $(cat "$tmp/err")"; fi
echo keep >"$tmp/target"
ln -s "$tmp/target" "$tmp/link"
"$execmap" grade --gradescope "$tmp/link" --loader "$loaders/ref_loader" -i "$corpus/static" x >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc = 1 ] && [ "$(cat "$tmp/target")" = keep ] && [ -L "$tmp/link" ]; then
  ok "--gradescope symlink: refused, its target untouched"
else bad "--gradescope symlink: exit $rc, target '$(cat "$tmp/target")'"; fi
echo old >"$tmp/gs2.json"
ln "$tmp/gs2.json" "$tmp/gs2.hardlink"
"$execmap" grade --gradescope "$tmp/gs2.json" --loader "$loaders/ref_loader" -i "$corpus/static" x >/dev/null 2>&1
if [ "$(cat "$tmp/gs2.hardlink")" = old ] && [ "$(field "$tmp/gs2.json" 'd["score"] > 0')" = True ]; then
  ok "--gradescope: written through a new file and rename() (an old hard link keeps the old bytes)"
else bad "--gradescope: not renamed into place"; fi
ls -a "$tmp" | grep -q '\.execmap-' && bad "--gradescope left a temporary file" || ok "--gradescope: no temporary file left"

# An option after PROG: a warning, and PROG gets it (argv check still exact).
"$execmap" grade --format json --loader "$loaders/ref_loader" -i "$corpus/static" x --timeout-ms 5 \
  >"$tmp/out.json" 2>"$tmp/err"
rc=$?
if [ $rc = 0 ] && grep -q "warning: '--timeout-ms' comes after PROG" "$tmp/err"; then
  ok "option after PROG: warned, passed to PROG (exit 0)"
else bad "option after PROG: exit $rc $(cat "$tmp/err")"; fi

# verify --stage start: the default runs in the sandbox; an initializer that forks a sleeper
# leaves nothing behind.
cc=${CC:-gcc}
marker="execmap-sandbox-test-$$"
cat >"$tmp/forker.c" <<'C'
#include <unistd.h>
__attribute__((constructor)) static void fork_a_sleeper(void) {
  if (fork() == 0) { for (;;) pause(); }
}
int main(void) { return 0; }
C
if $cc -O1 -o "$tmp/$marker" "$tmp/forker.c" 2>"$tmp/err"; then
  "$execmap" verify --stage start -i "$tmp/$marker" >"$tmp/v.txt" 2>&1
  rc=$?
  sleep 0.2
  left=$(pgrep -f "$marker" | wc -l)
  if grep -q "^sandbox: namespaces" "$tmp/v.txt" && [ "$left" = 0 ] && [ $rc = 0 ]; then
    ok "verify --stage start: sandboxed, exact, the initializer's child is gone"
  else
    bad "verify --stage start with a forking initializer: exit $rc, $left left $(head -c 300 "$tmp/v.txt")"
    pkill -KILL -f "$marker" 2>/dev/null
  fi
  "$execmap" verify --stage start --no-sandbox -i "$tmp/$marker" >"$tmp/v.txt" 2>&1
  left=$(pgrep -f "$marker" | wc -l)
  if grep -q "^sandbox: none" "$tmp/v.txt" && [ "$left" = 0 ]; then
    ok "verify --stage start --no-sandbox: unconfined, the initializer's child still traced and killed"
  else bad "verify --stage start --no-sandbox: $left left"; pkill -KILL -f "$marker" 2>/dev/null; fi
else
  bad "cannot build the forking program: $(cat "$tmp/err")"
fi

echo "live sandbox: $pass passed, $fail failed"
[ "$fail" = 0 ]
