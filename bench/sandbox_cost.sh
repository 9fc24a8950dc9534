#!/bin/sh
# The sandbox's cost per submission (issue 15): whole processes, hyperfine, the reference
# loader on a static program, at each level; and verify --stage start with and without it.
# A figure, never an assertion. usage: bench/sandbox_cost.sh BUILD_DIR [RUNS]
set -eu
build=${1:?usage: sandbox_cost.sh BUILD_DIR [RUNS]}
runs=${2:-30}
x=$build/execmap
l=$build/loader/ref_loader
p=$build/corpus/static
command -v hyperfine >/dev/null || { echo "hyperfine is missing (scripts/deps.sh installs it)"; exit 1; }
hyperfine -N --warmup 3 --runs "$runs" --style basic --export-markdown "${out:-/dev/null}" \
  -n "grade --no-sandbox" "$x grade --no-sandbox --loader $l -i $p x" \
  -n "grade (namespaces)" "$x grade --loader $l -i $p x" \
  -n "grade (chroot)" "env EXECMAP_SANDBOX=chroot $x grade --loader $l -i $p x"
hyperfine -N --warmup 3 --runs "$runs" --style basic --export-markdown "${out:-/dev/null}" \
  -n "verify --stage start --no-sandbox" "$x verify --stage start --no-sandbox -i $build/corpus/pie" \
  -n "verify --stage start (namespaces)" "$x verify --stage start -i $build/corpus/pie"
