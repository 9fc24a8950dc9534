#!/usr/bin/env bash
# Records golden captures from every kernel cached by scripts/fetch-kernels: one VM boot per
# kernel runs every case (tests/vm_capture.cc) and writes testdata/golden/vm/VERSION/:
#   facts.json                 the guest's auxv (order and values), special mappings, sysctls
#   captures/PROG.SHAPE.json   capture files (cli::capture_to_json, plus cwd and kernel)
#   aslr/PROG.aslr.json        randomized samples of one request
#   ops/NN-name.json           opsrun's output for each testdata/ops script
# Usage: tests/vm/record.sh [BUILD_DIR] [VERSION...]   (default build/, every cached kernel)
# Extra vm_capture options can be given in VM_CAPTURE_ARGS (e.g. "--accel auto --aslr 20").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(realpath "${1:-$root/build}")
shift || true
out=$root/testdata/golden/vm
for t in tests/vm_capture execmap-vm-agent corpus/MANIFEST opsrun/opsrun; do
  [ -e "$build/$t" ] || { echo "record.sh: $build/$t is missing; build first" >&2; exit 1; }
done
status=0
while read -r version image; do
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$version"; then continue; fi
  rm -rf "${out:?}/$version"
  # shellcheck disable=SC2086
  "$build/tests/vm_capture" --agent "$build/execmap-vm-agent" --kernel "$image" \
    --corpus "$build/corpus" --out "$out" --version "$version" \
    --opsrun "$build/opsrun/opsrun" --ops-dir "$root/testdata/ops" ${VM_CAPTURE_ARGS:-} || status=1
done < <("$root/scripts/fetch-kernels" --list)
exit $status
