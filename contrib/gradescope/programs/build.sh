#!/bin/sh
# Builds the programs the kit grades loaders on (programs.conf names them) into OUTDIR.
# setup.sh runs it in the image; tests/gradescope_kit.sh runs the same commands.
#   build.sh OUTDIR [CC]
# Static and static-pie only: those are what a user-space loader can load without ld.so,
# and what `execmap grade` grades. -fno-lto in case the compiler's specs turn LTO on.
set -eu
out=${1:?usage: build.sh OUTDIR [CC]}
cc=${2:-gcc}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
$cc -O2 -fno-lto -static -o "$out/hello" "$here/hello.c"
$cc -O2 -fno-lto -fPIE -static-pie -o "$out/hello-pie" "$here/hello.c"
$cc -O2 -fno-lto -static -o "$out/tls" "$here/tls.c"
# grade's sandbox may run the loader as another user, who must still be able to read PROG.
chmod 0755 "$out" "$out/hello" "$out/hello-pie" "$out/tls"
