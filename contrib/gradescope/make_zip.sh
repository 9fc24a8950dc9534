#!/bin/sh
# Packs the Gradescope autograder zip: this kit at the root of the zip (Gradescope looks for
# setup.sh and run_autograder there) and execmap's sources at COMMIT in execmap/, without
# what only the tests, the fuzzer and the benchmarks build (testdata/ alone is 34 MB).
#   make_zip.sh OUT.zip [COMMIT]     (COMMIT: default HEAD)
# The kit's own files are taken as they are in the working tree, so a course's edits to
# programs.conf, rubric.json and programs/ need no commit; programs/bin is left out (setup.sh
# builds it in the image).
set -eu
out=${1:?usage: make_zip.sh OUT.zip [COMMIT]}
commit=${2:-HEAD}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cp -R "$here/." "$stage/"
rm -rf "$stage/programs/bin" "$stage/__pycache__" "$stage/make_zip.sh"
mkdir "$stage/execmap"
git -C "$repo" archive --format=tar "$commit" -- . ':(exclude)testdata' ':(exclude)tests' \
  ':(exclude)fuzz' ':(exclude)bench' ':(exclude).ci' ':(exclude)contrib/gradescope' |
  tar -x -C "$stage/execmap"
rm -f "$out"
# python3's zipfile keeps the files' modes (run_autograder stays executable); zip may be absent.
(cd "$stage" && python3 -m zipfile -c "$out" ./*)
echo "$out"
