#!/usr/bin/env bash
# vm.grade32: `execmap grade` of the i386 reference loader and its broken variants, run inside
# qemu on every kernel cached by scripts/fetch-kernels (this machine's kernel refuses ia32
# programs). Exit 77 (ctest: skipped) without qemu or without any kernel.
# Usage: grade32.sh VM_GRADE32 AGENT EXECMAP LOADER_DIR CORPUS32_DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
tool=$1
shift
args=("$@")
if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "SKIPPED: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
  exit 77
fi
mapfile -t lines < <("$here/../../scripts/fetch-kernels" --list)
if [ ${#lines[@]} -eq 0 ]; then
  echo "SKIPPED: no kernel image cached; run scripts/fetch-kernels first"
  exit 77
fi
images=()
for l in "${lines[@]}"; do
  set -- $l
  images+=("$2")
done
exec "$tool" "${args[@]}" "${images[@]}"
