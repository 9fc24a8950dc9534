#!/usr/bin/env bash
# Records tests/golden/diff-pair.json, the expected `execmap diff --format json` of the corpus
# pair (pair-pie vs pair-nopie), from real runs: both layouts must first match the running
# kernel exactly (execmap verify, ASLR off), and every address of 100 runs of each with ASLR on
# must lie inside the entropy model (execmap entropy --sample 100). Needs ptrace.
# Usage: tests/golden/record_diff.sh EXECMAP CORPUSDIR
set -euo pipefail
execmap=$(realpath "$1")
corpus=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
cd "$corpus"
for p in pair-pie pair-nopie; do
  "$execmap" verify --stack-limit 8M -i --env A=1 "./$p" >/dev/null ||
    { echo "record_diff.sh: $p: the prediction differs from the kernel; not recording" >&2; exit 1; }
  "$execmap" entropy --sample 100 --stack-limit 8M -i --env A=1 "./$p" >/dev/null ||
    { echo "record_diff.sh: $p: a live address fell outside the entropy model; not recording" >&2; exit 1; }
done
"$execmap" diff --format json --stack-limit 8M -i --env A=1 ./pair-pie ./pair-nopie >"$here/diff-pair.json"
"$here/fingerprint.sh" "$corpus" >"$here/diff-pair.fingerprint"
echo "recorded $here/diff-pair.json"
