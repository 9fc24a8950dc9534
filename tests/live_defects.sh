#!/usr/bin/env bash
# Live tests for the defects of issue 12 (section 5), each against the running kernel:
#  1. --stage start: the thread is at AT_ENTRY, so `layout --stage start` reports rip = AT_ENTRY
#     and `verify --stage start` compares rip with the traced thread's (and agrees).
#  2. The credentials of a set-ID exec: AT_UID, AT_EUID, AT_GID, AT_EGID and AT_SECURE as a
#     program prints them with getauxval(), against `execmap stack` for the same file, for a
#     plain file, set-group-ID, set-user-ID, NoNewPrivs, an unprivileged caller, and under
#     `verify` with an unprivileged tracer (the kernel keeps the old euid/egid).
# Needs root (to chown and to switch to nobody) and ptrace; exit 77 (ctest: skipped) otherwise.
set -u
execmap=$1
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: the set-ID cases need root (chown, setpriv)"
  exit 77
fi
source "$(dirname "$0")/live_lib.sh"
require_ptrace "$execmap" "the live defect test"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# A directory that user nobody can reach, on a mount that honours set-ID bits: the build tree
# if its parents let nobody in (a clone under /root does not), else /var/tmp or /tmp.
tmp=
for base in "$PWD" /var/tmp /tmp; do
  findmnt -no OPTIONS -T "$base" | tr , '\n' | grep -qx nosuid && continue
  d=$(mktemp -d "$base/live-defects.XXXXXX") || continue
  chmod 755 "$d"
  if as_nobody test -x "$d"; then
    tmp=$d
    break
  fi
  rm -rf "$d"
done
if [ -z "$tmp" ]; then
  echo "SKIPPED: no directory reachable by nobody on a mount that honours set-ID bits"
  exit 77
fi
trap 'rm -rf "$tmp"' EXIT
# nobody runs execmap too: a copy in that directory.
cp "$execmap" "$tmp/execmap"
execmap=$tmp/execmap
fail=0
pass=0
check() {  # name want got
  if [ "$2" = "$3" ]; then
    pass=$((pass + 1))
    echo "ok   $1: $3"
  else
    fail=$((fail + 1))
    echo "FAIL $1: expected '$2', got '$3'"
  fi
}

# 1. rip at the entry point.
json=$("$execmap" layout --stage start --format json -i /bin/true 2>"$tmp/err")
got=$(printf '%s' "$json" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("rip=entry" if j["rip"] == j["entry"] else "rip=%s entry=%s" % (j["rip"], j["entry"]))' 2>&1)
check "layout --stage start rip" "rip=entry" "$got"
"$execmap" verify --stage start --format json -i /bin/true >"$tmp/v.json" 2>"$tmp/err"
rc=$?
got=$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print("exact" if j.get("exact") or j.get("exact_except_heap") else "differs: %r" % j["differences"][:3])
' "$tmp/v.json" 2>&1)
check "verify --stage start /bin/true (rip compared) exit $rc" "exact" "$got"

# 2. Credentials.
cat >"$tmp/creds.c" <<'EOF'
#include <stdio.h>
#include <sys/auxv.h>
int main(void) {
  printf("%lu %lu %lu %lu %lu\n", getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID),
         getauxval(AT_EGID), getauxval(AT_SECURE));
  return 0;
}
EOF
if ! gcc -O -o "$tmp/creds" "$tmp/creds.c" 2>"$tmp/err"; then
  echo "SKIPPED: gcc cannot build the credentials printer: $(head -1 "$tmp/err")"
  exit 77
fi
predict() {  # execmap stack --format json FILE -> "uid euid gid egid secure"
  "$execmap" stack --format json -i "$1" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
a = {e["type"]: int(e["value"], 16) for e in j["auxv"]}
print(a["AT_UID"], a["AT_EUID"], a["AT_GID"], a["AT_EGID"], a["AT_SECURE"])' 2>&1
}
nogroup=$(getent group nogroup >/dev/null && echo nogroup || echo 65534)

f=$tmp/creds
check "plain file" "$(env -i "$f")" "$(predict "$f")"
chgrp "$nogroup" "$f"
chmod 2755 "$f"
check "set-group-ID (group nogroup)" "$(env -i "$f")" "$(predict "$f")"
chmod 2745 "$f"
check "set-group-ID without group execute" "$(env -i "$f")" "$(predict "$f")"
chgrp 0 "$f"
chown 65534 "$f"
chmod 4755 "$f"
check "set-user-ID (owner nobody)" "$(env -i "$f")" "$(predict "$f")"
check "set-user-ID under NoNewPrivs" "$(setpriv --no-new-privs env -i "$f")" \
  "$(setpriv --no-new-privs bash -c "execmap=$execmap; $(declare -f predict); predict $f" 2>&1)"
chown 0 "$f"
chmod 4755 "$f"
check "set-user-ID root, run by nobody" "$(as_nobody env -i "$f")" \
  "$(as_nobody bash -c "execmap=$execmap; $(declare -f predict); predict $f" 2>&1)"
# Under verify, run by nobody: the tracer may not trace the new credentials, so the kernel keeps
# euid 65534 (a secure exec all the same). Set-ID forces ASLR, so only the credential entries of
# auxv are compared here.
as_nobody "$execmap" verify --format json -i "$f" >"$tmp/v.json" 2>"$tmp/err"
got=$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
bad = [d for d in j["differences"] if d["what"].startswith("auxv[") and
       d["predicted"].split("=")[0] in ("AT_UID", "AT_EUID", "AT_GID", "AT_EGID", "AT_SECURE")]
print("credentials agree" if not bad else "differ: %r" % bad)' "$tmp/v.json" 2>&1)
check "set-user-ID root traced by nobody (verify)" "credentials agree" "$got"

echo "live defects: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
