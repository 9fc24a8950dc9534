#!/bin/sh
# Rebuilds the committed golden binaries in testdata/golden/bin/:
#
#   tiny-static   src/tiny.S, no libc: ET_EXEC, two PT_LOADs (R, R E), no interpreter
#   hello-static  src/hello.c, glibc static: ET_EXEC, four PT_LOADs, PT_TLS, no interpreter
#   hello-pie     src/hello.c, dynamic PIE: ET_DYN, four PT_LOADs, PT_INTERP
#   hello-nopie   src/hello.c, dynamic non-PIE: ET_EXEC at 0x400000, four PT_LOADs, PT_INTERP
#
# They are the inputs of the golden kernel captures, so they are committed and
# must not change: rebuild them only together with new captures. Unlike the
# corpus (testdata/CMakeLists.txt), which is rebuilt by every build, these
# are built once, by hand, by running this script:
#
#   sh testdata/golden/build.sh
#
# It writes bin/*, SHA256SUMS (the binaries' hashes) and TOOLCHAIN (the tool
# versions used). The builds are reproducible: the same toolchain gives
# byte-identical files (stripped, fixed relative source paths).
#
# Made with Debian 12: gcc 12.2.0 (Debian 12.2.0-14+deb12u1), GNU ld 2.40,
# glibc 2.36 (libc6-dev); see TOOLCHAIN for the exact versions.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."                       # testdata/: sources are named src/...
CC=${CC:-gcc}
out=golden/bin
mkdir -p "$out"

# No libc, no interpreter: _start does exit(0) with a raw syscall.
"$CC" -nostdlib -static -no-pie -s -o "$out/tiny-static" src/tiny.S

# glibc, linked statically (gcc's defaults otherwise: on Debian the code is
# compiled -fPIE, but -static makes a non-PIE ET_EXEC).
"$CC" -static -O2 -s -o "$out/hello-static" src/hello.c

# glibc, dynamic PIE (explicit -fPIE -pie, the Debian default).
"$CC" -O2 -fPIE -pie -s -o "$out/hello-pie" src/hello.c

# glibc, dynamic non-PIE: a fixed ET_EXEC that still needs ld.so.
"$CC" -no-pie -O2 -s -o "$out/hello-nopie" src/hello.c

for f in tiny-static hello-static hello-pie hello-nopie; do
  "$out/$f" >/dev/null              # each must run and exit 0
done

(cd golden/bin && sha256sum tiny-static hello-static hello-pie hello-nopie) > golden/SHA256SUMS
{
  echo "# Tools that built golden/bin (sh golden/build.sh)"
  echo "uname: $(uname -srm)"
  echo "cc: $("$CC" --version | head -n 1)"
  echo "ld: $(ld --version | head -n 1)"
  echo "glibc: $(ldd --version | head -n 1)"
} > golden/TOOLCHAIN

ls -l "$out"
