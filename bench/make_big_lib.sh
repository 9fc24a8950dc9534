#!/usr/bin/env bash
# Generate a >=150 MB x86_64 shared library (ET_DYN, no PT_INTERP) for the execmap benchmarks.
#
#   bench/make_big_lib.sh OUT [MIB]
#
# The library carries MIB MiB (default 160) of nonzero .rodata bytes (so the file really is
# that big on disk, not sparse) plus a small .text function and a writable .data/.bss.
# It is built with `gcc -shared -nostdlib` from a tiny assembly file and takes a few seconds.
# The result is chmod +x: execve() of an ET_DYN without PT_INTERP runs it like a static-pie.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 OUT [MIB]" >&2
  exit 2
fi
out=$1
mib=${2:-160}
cc=${CC:-gcc}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/big.S" <<ASM
	.text
	.globl	big_lib_entry
	.type	big_lib_entry, @function
big_lib_entry:
	lea	.Lblob(%rip), %rax
	ret
	.size	big_lib_entry, .-big_lib_entry

	.section .rodata
	.globl	big_blob
	.type	big_blob, @object
	.balign	4096
big_blob:
.Lblob:
	.fill	$((mib * 1024 * 1024)), 1, 0xa5
	.size	big_blob, .-big_blob

	.data
	.globl	big_data
big_data:
	.quad	big_blob

	.bss
	.balign	64
	.zero	65536

	.section .note.GNU-stack,"",@progbits
ASM

"$cc" -shared -nostdlib -fPIC -Wl,-z,noexecstack -Wl,-e,big_lib_entry -o "$out.tmp" "$work/big.S"
chmod +x "$out.tmp"
mv -f "$out.tmp" "$out"

size=$(stat -c %s "$out")
min=$((150 * 1000 * 1000))
if (( size < min )); then
  echo "$0: $out is only $size bytes (want >= $min)" >&2
  exit 1
fi
# Sanity: a real ELF shared object with loadable segments.
if ! readelf -hW "$out" | grep -q 'DYN'; then
  echo "$0: $out is not ET_DYN" >&2
  exit 1
fi
echo "$out: $size bytes ($(( size / 1024 / 1024 )) MiB), $(readelf -lW "$out" | grep -c ' LOAD ') PT_LOAD segments" >&2
