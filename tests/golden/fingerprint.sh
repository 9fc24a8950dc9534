#!/usr/bin/env bash
# Prints what the golden diff depends on besides execmap itself: the layout-relevant headers of
# the pair programs and of their interpreter, the kernel's vdso block, and the ASLR sysctls.
# A golden file is only compared on a machine with the same fingerprint.
# Usage: tests/golden/fingerprint.sh CORPUSDIR
set -euo pipefail
corpus=$1
hdrs() { LC_ALL=C readelf -lW -d -n "$1" | grep -v -e "^File:" -e "Build ID" | sha256sum | cut -c1-16; }
interp=$(LC_ALL=C readelf -lW "$corpus/pair-pie" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
echo "kernel $(uname -r | cut -d. -f1-2)"
echo "pair-pie $(hdrs "$corpus/pair-pie")"
echo "pair-nopie $(hdrs "$corpus/pair-nopie")"
echo "interp $interp $(hdrs "$(realpath "$interp")")"
vdso=""
while read -r range _ _ _ _ name; do
  vdso+="$name=$((0x${range#*-} - 0x${range%-*})) "
done < <(grep -E '\[(vvar|vvar_vclock|vdso)\]' /proc/self/maps)
echo "vdso $vdso"
echo "aslr randomize_va_space=$(cat /proc/sys/kernel/randomize_va_space) mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits)"
echo "auxv $(LD_SHOW_AUXV=1 /bin/true | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
echo "platform $(LD_SHOW_AUXV=1 /bin/true | sed -n 's/^AT_PLATFORM: *//p')"
