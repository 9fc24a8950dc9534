#!/bin/sh
# Builds the hostile loaders of tests/hostile into OUTDIR: each NAME.c here but the shared
# headers is an attack prologue included by testdata/loader/ref_loader.c (-DHOSTILE_PROLOGUE),
# built as the reference is (static, linked at 0x10000000), into OUTDIR/NAME.
#   build.sh OUTDIR [CC]
set -eu
out=${1:?usage: build.sh OUTDIR [CC]}
cc=${2:-gcc}
here=$(cd "$(dirname "$0")" && pwd)
ref=$here/../../testdata/loader/ref_loader.c
mkdir -p "$out"
flags="-static -O2 -fno-lto -Wall -Wextra -Werror -Wl,-Ttext-segment=0x10000000 -pthread"
for src in "$here"/*.c; do
  name=$(basename "$src" .c)
  $cc $flags -I"$here" "-DHOSTILE_PROLOGUE=\"$name.c\"" -o "$out/$name.tmp" "$ref"
  mv "$out/$name.tmp" "$out/$name"
done
