#!/bin/sh
# Build opsrun (the live side of `execmap --ops`): static, no libc, raw system calls.
# Usage: build.sh OUTDIR [CC]     -> OUTDIR/opsrun
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR [CC]}
cc=${2:-${CC:-gcc}}
mkdir -p "$out"
"$cc" -static -nostdlib -fno-stack-protector -fno-builtin -O1 -ffreestanding \
  -o "$out/opsrun" "$here/opsrun.c"
