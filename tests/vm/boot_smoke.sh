#!/usr/bin/env bash
# vm.boot_smoke: boots every kernel that scripts/fetch-kernels has cached, once each, with a few
# cases (tests/vm_boot_smoke.cc). Exit 77 (ctest: skipped) without qemu or without any kernel.
# Usage: boot_smoke.sh VM_BOOT_SMOKE AGENT CORPUS_DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
smoke=$1 agent=$2 corpus=$3
if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "SKIPPED: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
  exit 77
fi
mapfile -t images < <("$here/../../scripts/fetch-kernels" --list | awk '{print $2}')
if [ ${#images[@]} -eq 0 ]; then
  echo "SKIPPED: no kernel image cached; run scripts/fetch-kernels first"
  exit 77
fi
exec "$smoke" "$agent" "$corpus" "${images[@]}"
