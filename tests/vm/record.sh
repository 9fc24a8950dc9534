#!/usr/bin/env bash
# Records golden captures from every kernel cached by scripts/fetch-kernels: one VM boot per
# kernel runs every case (tests/vm_capture.cc) and writes testdata/golden/vm/VERSION/:
#   facts.json                 the guest's auxv (order and values), special mappings, sysctls,
#                              ld.so --list-diagnostics
#   captures/PROG.SHAPE.json   capture files (cli::capture_to_json, plus cwd and kernel)
#   aslr/PROG.aslr.json        randomized samples of one request
#   ops/NN-name.json           opsrun's output for each testdata/ops script
# Variants boot a cached kernel again with extra qemu arguments:
#   6.12-la57   the 6.12 image on a CPU with LA57 (-cpu max,+la57): 5-level paging
# and VERSION-ia32 boots each kernel with the ia32 corpus (build/corpus32, 300 ASLR samples of
# pie32, nopie32, static32 and static-pie32; no ops runs: opsrun is a 64-bit program), and
# VERSION-start32 the AT_ENTRY captures of the ia32 start-stage corpus (build/start32) with
# i386 ld.so's --list-diagnostics and its --list output for each program.
# Usage: tests/vm/record.sh [BUILD_DIR] [VERSION...]   (default build/, every cached kernel and
# variant)
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
record() {  # VERSION IMAGE [vm_capture option...]
  local version=$1 image=$2
  shift 2
  rm -rf "${out:?}/$version"
  # shellcheck disable=SC2086
  "$build/tests/vm_capture" --agent "$build/execmap-vm-agent" --kernel "$image" \
    --corpus "$build/corpus" --out "$out" --version "$version" \
    --opsrun "$build/opsrun/opsrun" --ops-dir "$root/testdata/ops" "$@" ${VM_CAPTURE_ARGS:-} ||
    status=1
}
record_ia32() {  # VERSION IMAGE
  rm -rf "${out:?}/$1-ia32"
  # shellcheck disable=SC2086
  "$build/tests/vm_capture" --agent "$build/execmap-vm-agent" --kernel "$2" \
    --corpus "$build/corpus32" --out "$out" --version "$1-ia32" --aslr 300 \
    ${VM_CAPTURE_ARGS:-} || status=1
  rm -rf "${out:?}/$1-ia32/ops"
}
record_start32() {  # VERSION IMAGE
  rm -rf "${out:?}/$1-start32"
  # shellcheck disable=SC2086
  "$build/tests/vm_capture" --agent "$build/execmap-vm-agent" --kernel "$2" \
    --corpus "$build/start32" --out "$out" --version "$1-start32" --entry-only \
    ${VM_CAPTURE_ARGS:-} || status=1
  rm -rf "${out:?}/$1-start32/ops" "${out:?}/$1-start32/aslr"
}
versions=("$@")
wanted() { [ ${#versions[@]} -eq 0 ] || printf '%s\n' "${versions[@]}" | grep -qx "$1"; }
declare -A images
while read -r version image; do
  images[$version]=$image
  if wanted "$version"; then record "$version" "$image"; fi
  if wanted "$version-ia32"; then record_ia32 "$version" "$image"; fi
  if wanted "$version-start32"; then record_start32 "$version" "$image"; fi
done < <("$root/scripts/fetch-kernels" --list)
# VARIANT BASE-VERSION QEMU-ARGUMENTS...
while read -r version base args; do
  wanted "$version" || continue
  if [ -z "${images[$base]:-}" ]; then
    echo "record.sh: $version needs the $base kernel (scripts/fetch-kernels $base)" >&2
    status=1
    continue
  fi
  qemu=()
  for a in $args; do qemu+=("--qemu-arg=$a"); done
  record "$version" "${images[$base]}" "${qemu[@]}"
done <<'VARIANTS'
6.12-la57 6.12 -cpu max,+la57
VARIANTS
exit $status
