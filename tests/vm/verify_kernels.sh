#!/usr/bin/env bash
# vm.verify_kernels: `verify --vm` on the corpus, one boot per kernel cached by
# scripts/fetch-kernels, plus one 5-level-paging boot (-cpu max,+la57) of 6.12 when cached.
# Exit 77 (ctest: skipped) without qemu or without any kernel.
# Usage: verify_kernels.sh VM_VERIFY_KERNELS AGENT CORPUS_DIR[:CORPUS32_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
tool=$1 agent=$2 corpus=$3
if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "SKIPPED: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
  exit 77
fi
mapfile -t lines < <("$here/../../scripts/fetch-kernels" --list)
if [ ${#lines[@]} -eq 0 ]; then
  echo "SKIPPED: no kernel image cached; run scripts/fetch-kernels first"
  exit 77
fi
args=()
for l in "${lines[@]}"; do
  set -- $l
  args+=("$2")
  [ "$1" = 6.12 ] && args+=(--la57 "$2")
done
exec "$tool" "$agent" "$corpus" "${args[@]}"
