#!/usr/bin/env bash
# Golden test for `execmap diff --format json` on the corpus pair (pair-pie vs pair-nopie),
# against tests/golden/diff-pair.json (recorded by tests/golden/record_diff.sh from verified
# real runs). The output must carry no inode or device numbers. Exit 77 (skipped) when this
# machine's toolchain, interpreter, vdso or ASLR settings differ from the recording's.
# Usage: tests/golden_diff.sh EXECMAP CORPUSDIR
set -u
execmap=$(realpath "$1")
corpus=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
golden=$here/golden/diff-pair.json
command -v jq >/dev/null || { echo "SKIPPED: needs jq"; exit 77; }
if ! diff <("$here/golden/fingerprint.sh" "$corpus") "$here/golden/diff-pair.fingerprint" >/tmp/execmap-fp.$$; then
  echo "SKIPPED: this machine differs from the one that recorded $golden:"
  cat /tmp/execmap-fp.$$
  rm -f /tmp/execmap-fp.$$
  echo "re-record with tests/golden/record_diff.sh EXECMAP CORPUSDIR"
  exit 77
fi
rm -f /tmp/execmap-fp.$$
cd "$corpus" || exit 1
out=$("$execmap" diff --format json --stack-limit 8M -i --env A=1 ./pair-pie ./pair-nopie) || { echo "FAIL: execmap diff exited $?"; exit 1; }
fail=0
if echo "$out" | jq -e '[paths | map(tostring) | .[] | select(test("inode|^dev$"))] | length > 0' >/dev/null; then
  echo "FAIL: diff JSON contains inode/dev fields"
  fail=1
fi
if ! diff -u <(jq -S . "$golden") <(echo "$out" | jq -S .); then
  echo "FAIL: execmap diff differs from $golden"
  fail=1
fi
# The contract a tool relies on: what changed between PIE and non-PIE.
echo "$out" | jq -e '
  (.regions[] | select(.name == "exe") | .randomization == "lost" and .right.bits == 0) and
  (.hardening[] | select(.name == "pie") | .left == "yes" and .right == "no" and .differs)' >/dev/null ||
  { echo "FAIL: exe/pie rows do not show the PIE difference"; fail=1; }
[ "$fail" -eq 0 ] && echo "golden diff: pair-pie vs pair-nopie matches"
exit "$fail"
