#!/bin/sh
# Builds the reference ELF loader and its deliberately broken variants into OUTDIR.
#   build.sh OUTDIR [CC]
# snap_loader-* are the reference (and two broken variants) built with
# contrib/execmap_snapshot.h: before the jump they write OUTDIR/snap/<name>.json.
set -eu
out=${1:?usage: build.sh OUTDIR [CC]}
cc=${2:-gcc}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
# Linked at 0x10000000 so a non-PIE PROG (0x400000, 0x200000) can be mapped at its address.
flags="-static -O2 -fno-lto -Wall -Wextra -Werror -Wl,-Ttext-segment=0x10000000"
$cc $flags -o "$out/ref_loader" "$here/ref_loader.c"
bugs="NO_BSS_ZERO WRITABLE_TEXT STACK_MISALIGN NO_AT_RANDOM ARGV_REVERSED PIE_ENTRY_UNRELOCATED
      WRONG_PHDR NO_ENVP RDX_GARBAGE EXECFN_FIRST_ARG AT_NOTELF EXEC_STACK ARGV_NULL_GARBAGE
      RANDOM_ZERO RANDOM_FIXED"
for bug in $bugs ARGC_HIGH; do
  name=$(echo "$bug" | tr 'A-Z_' 'a-z-')
  $cc $flags -DBUG_$bug -o "$out/ref_loader-$name" "$here/ref_loader.c"
done
# Correct loaders built another way: a 4 GiB reservation for a PIE, a whole-file buffer, copies
# of the segments in anonymous memory.
for how in RESERVE_4G FILE_BUFFER COPY_SEGMENTS; do
  name=$(echo "$how" | tr 'A-Z_' 'a-z-')
  $cc $flags -D$how -o "$out/ref_loader-$name" "$here/ref_loader.c"
done
# The same for i386 programs (gcc -m32): ref_loader32, ref_loader32-<bug>, loaders of ia32
# programs that only a kernel with ia32 emulation runs (tests/vm/grade32.sh runs them in qemu).
$cc $flags -m32 -o "$out/ref_loader32" "$here/ref_loader.c"
for bug in $bugs; do
  name=$(echo "$bug" | tr 'A-Z_' 'a-z-')
  $cc $flags -m32 -DBUG_$bug -o "$out/ref_loader32-$name" "$here/ref_loader.c"
done
for how in FILE_BUFFER COPY_SEGMENTS; do
  name=$(echo "$how" | tr 'A-Z_' 'a-z-')
  $cc $flags -m32 -D$how -o "$out/ref_loader32-$name" "$here/ref_loader.c"
done
# Snapshot writers: the reference and two broken ones, writing to $out/snap/<name>.json.
mkdir -p "$out/snap"
for v in ref:"" no-bss-zero:-DBUG_NO_BSS_ZERO stack-misalign:-DBUG_STACK_MISALIGN; do
  name=${v%%:*}; def=${v#*:}
  $cc $flags $def -I"$here/../../contrib" "-DEXECMAP_SNAPSHOT=\"$out/snap/$name.json\"" \
    -o "$out/snap_loader-$name" "$here/ref_loader.c"
done
# Loaders written the way students write them (issue 18), each in its own style, correct and
# with planted defects: students/<name>[-<defect>]. tests/student_loaders.sh says which
# checks each defect must fail.
mkdir -p "$out/students"
for v in skeleton: skeleton-rdx:-DDEFECT_RDX copier: copier-defects:-DDEFECTS \
         reserve: reserve-argc-int:-DDEFECT_ARGC_INT inplace: inplace-defects:-DDEFECTS \
         arraystack: arraystack-no-argv-null:-DDEFECT_NO_ARGV_NULL \
         arraystack-own-argv:-DDEFECT_OWN_ARGV; do
  name=${v%%:*}; def=${v#*:}
  $cc $flags $def -o "$out/students/$name" "$here/students/${name%%-*}.c"
done
nolibc_flags="-nostdlib -static -ffreestanding -fno-builtin -fno-stack-protector -fno-pie -no-pie
              -O2 -Wall -Wextra -Werror -Wl,-Ttext-segment=0x10000000"
$cc $nolibc_flags -o "$out/students/nolibc_loader" "$here/students/nolibc_loader.c"
$cc $nolibc_flags -DDEFECT_AT_BASE -o "$out/students/nolibc_loader-at-base" "$here/students/nolibc_loader.c"
# The programs they are graded on besides the corpus's static and static-pie: one without
# any libc, and one that prints what it sees at startup.
mkdir -p "$out/programs"
$cc -nostdlib -static -ffreestanding -fno-builtin -fno-stack-protector -fno-pie -no-pie -O2 \
  -Wall -Wextra -Werror -o "$out/programs/nolibc" "$here/programs/nolibc.c"
$cc -static-pie -fPIE -O2 -Wall -Wextra -Werror -o "$out/programs/auxv-dump" "$here/programs/auxv_dump.c"
