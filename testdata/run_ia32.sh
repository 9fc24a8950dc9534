#!/bin/sh
# Runs one ia32 (or x32) corpus program. A kernel that cannot run ia32 programs (no
# CONFIG_IA32_EMULATION, or ia32_emulation=0 on its command line) or x32 ones (no enabled
# CONFIG_X86_X32_ABI) refuses it with ENOEXEC; then the test is SKIPPED (exit 77), since only a
# kernel that runs it can say whether it works.
prog=$1
if ! head -c 20 "$prog" | od -An -tx1 | tr -d ' \n' | grep -qE '^7f454c46010101.*(0300|3e00)$'; then
  echo "run_ia32.sh: $prog is not an ELF32 i386 or x32 file" >&2
  exit 1
fi
"$prog"
rc=$?
if [ $rc -eq 126 ] || [ $rc -eq 127 ]; then
  # The shell reports 126 for ENOEXEC; tell it apart from a program that exits 126.
  if ! "$prog" 2>/dev/null && [ -n "$(sh -c "exec '$prog'" 2>&1 | grep -i 'exec format error\|cannot execute')" ]; then
    echo "SKIPPED: this kernel ($(uname -r)) cannot run ia32 programs (execve gives ENOEXEC)"
    exit 77
  fi
fi
exit $rc
