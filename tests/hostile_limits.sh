#!/usr/bin/env bash
# Hostile input classes (issue 3): each gets its exact one-line message and exit code, in
# under 1 s and 64 MB of RSS. The files are made here from the corpus program `tiny`.
set -u
execmap=$(realpath "$1")
corpus=$(realpath "$2")
tiny=$corpus/tiny
w=$(mktemp -d)
cleanup() { mountpoint -q "$w/mnt" 2>/dev/null && umount "$w/mnt"; rm -rf "$w"; }
trap cleanup EXIT
cd "$w" || exit 1

patch() {  # out offset bytes(printf format)
  cp "$tiny" "$1"
  printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
  chmod +x "$1"
}
ph=64  # tiny's program headers: LOAD R, LOAD RX, NOTE (at 0x120), GNU_STACK
head -c 40 "$tiny" >trunc40
head -c 100 "$tiny" >trunc-phdrs
head -c 4096 /dev/zero | tr '\0' 'Z' >garbage
chmod +x trunc40 trunc-phdrs garbage
patch phentsize48 54 '\x30\x00'
patch phnum65535 56 '\xff\xff'
patch phnum0 56 '\x00\x00'
patch phoff-near-2to64 32 '\xf8\xff\xff\xff\xff\xff\xff\xff'
patch etype-rel 16 '\x01\x00'
patch machine-i386 18 '\x03\x00'
patch machine-aarch64 18 '\xb7\x00'
patch filesz-gt-memsz $((ph + 56 + 32)) '\x00\x20'
patch vaddr-past-task $((ph + 56 + 16)) '\x00\x10\x00\x00\x00\x80\x00\x00'
patch interp-size1 $((ph + 112)) '\x03\x00\x00\x00'
printf '\x01' | dd of=interp-size1 bs=1 seek=$((ph + 112 + 32)) conv=notrunc status=none
patch interp-nonul $((ph + 112)) '\x03\x00\x00\x00'
cp interp-nonul interp-missing
printf '/nonexistent/ld.so\x00' | dd of=interp-missing bs=1 seek=$((0x120)) conv=notrunc status=none
printf '\x13' | dd of=interp-missing bs=1 seek=$((ph + 112 + 32)) conv=notrunc status=none
cp interp-nonul interp-dir
printf '/tmp\x00' | dd of=interp-dir bs=1 seek=$((0x120)) conv=notrunc status=none
printf '\x05' | dd of=interp-dir bs=1 seek=$((ph + 112 + 32)) conv=notrunc status=none
printf '#!/nonexistent/sh -e\necho hi\n' >script.sh
chmod +x script.sh
cp "$tiny" no-x-bit && chmod 644 no-x-bit
mkfifo fifo && chmod +x fifo
truncate -s 4G sparse4g && chmod +x sparse4g
mkdir adir

pass=0 fail=0 skip=0
# The bounds hold for the normal build; the sanitizer build (ASan's shadow memory and
# quarantine, 2-3 times slower) sets looser ones through ctest's environment.
rss_limit_kb=${EXECMAP_RSS_LIMIT_KB:-65536}
time_limit=${EXECMAP_TIME_LIMIT_S:-1.0}
live=yes
if "$execmap" verify -i /bin/true 2>&1 | grep -q "verify needs ptrace"; then
  live=no
  echo "SKIPPED: the kernel's own verdicts (verify) need ptrace; messages and limits still checked"
fi
check() {  # label exit-code exact-stderr path...
  local label=$1 want=$2 msg=$3; shift 3
  /usr/bin/time -f '%e %M' -o "$w/time" timeout 5 "$execmap" layout "$@" >/dev/null 2>"$w/err" </dev/null
  local rc=$?
  local secs kb
  # /usr/bin/time writes "Command exited with non-zero status N" before its own line.
  read -r secs kb < <(tail -n 1 "$w/time") || { secs=99; kb=0; }
  [ "$rc" -eq 124 ] && secs=99
  local got
  got=$(tail -n 1 "$w/err")
  local lines
  lines=$(wc -l <"$w/err")
  # The kernel agrees: verify runs the file for real.
  local kernel=ok
  if [ "$live" = yes ]; then
    "$execmap" verify -i "$@" >"$w/verify" 2>&1 </dev/null || kernel="differs: $(head -3 "$w/verify" | tr '\n' ' ')"
  fi
  if [ "$rc" -eq "$want" ] && { [ "$got" = "$msg" ] || [ "$got" = "${alt:-}" ]; } &&
     [ "$lines" -eq 1 ] && [ "$kernel" = ok ] &&
     awk "BEGIN{exit !($secs < $time_limit)}" && [ "$kb" -lt "$rss_limit_kb" ]; then
    pass=$((pass + 1))
    printf 'ok   %-22s exit %d  %4ss %6d KB\n' "$label" "$rc" "$secs" "$kb"
  else
    fail=$((fail + 1))
    printf 'FAIL %-22s exit %d (want %d), %ss, %s KB, %s stderr lines\n' "$label" "$rc" "$want" "$secs" "$kb" "$lines"
    printf '     got:  %s\n     want: %s\n     kernel: %s\n' "$got" "$msg" "$kernel"
  fi
}
E="execmap: execve would fail:"
K="execmap: execve would kill the process:"
check truncated-40 3 "$E ENOEXEC: e_phentsize is 0, the kernel requires 56 (load_elf_phdrs)" ./trunc40
check truncated-phdrs 3 "$E ENOEXEC: program header table at 0x40 (224 bytes) lies past the end of the file (load_elf_phdrs)" ./trunc-phdrs
check garbage 3 "$E ENOEXEC: not an ELF file and no other binary format claims it (search_binary_handler)" ./garbage
check e_phentsize-48 3 "$E ENOEXEC: e_phentsize is 48, the kernel requires 56 (load_elf_phdrs)" ./phentsize48
check e_phnum-65535 3 "$E ENOEXEC: e_phnum is 65535: the program header table is 3669960 bytes, the kernel accepts 1 to 65536 (load_elf_phdrs)" ./phnum65535
check e_phnum-0 3 "$E ENOEXEC: e_phnum is 0: the program header table is 0 bytes, the kernel accepts 1 to 65536 (load_elf_phdrs)" ./phnum0
check e_phoff-near-2^64 3 "$E ENOEXEC: program header table at 0xfffffffffffffff8 (224 bytes) lies past the end of the file (load_elf_phdrs)" ./phoff-near-2to64
check e_type-ET_REL 3 "$E ENOEXEC: e_type is ET_REL, not ET_EXEC or ET_DYN (load_elf_binary)" ./etype-rel
check e_machine-aarch64 3 "$E ENOEXEC: e_machine is 183, the kernel requires 62 (EM_X86_64) or 3 (EM_386) (elf_check_arch)" ./machine-aarch64
# EM_386 in an ELF64 layout: a kernel that runs ia32 programs reads it as ELF32 (e_phentsize is
# then bytes 42-43, 0); one that does not (this machine's) refuses it in compat_elf_check_arch.
# Either way ENOEXEC, and verify checks that this kernel agrees.
alt="$E ENOEXEC: an ia32 program (e_machine 3), and this kernel does not run ia32 programs (ia32 emulation is off: CONFIG_IA32_EMULATION, ia32_emulation=) (compat_elf_check_arch)"
check e_machine-i386 3 "$E ENOEXEC: e_phentsize is 0, the kernel requires 32 (load_elf_phdrs)" ./machine-i386
alt=
check p_filesz-gt-p_memsz 3 "$K SIGSEGV: segment 1 has p_filesz > p_memsz (EINVAL after the point of no return) (load_elf_binary: segment bounds)" ./filesz-gt-memsz
check past-TASK_SIZE 3 "$K SIGSEGV: mapping segment 1 at 0x800000001000 failed: ENOMEM (ENOMEM after the point of no return) (elf_load)" ./vaddr-past-task
check PT_INTERP-size-1 3 "$E ENOEXEC: PT_INTERP p_filesz is 1, the kernel accepts 2 to 4096 (load_elf_binary: PT_INTERP)" ./interp-size1
check PT_INTERP-no-NUL 3 "$E ENOEXEC: the PT_INTERP string is not NUL-terminated (load_elf_binary: PT_INTERP)" ./interp-nonul
check PT_INTERP-missing 3 "$E ENOENT: interpreter /nonexistent/ld.so: No such file or directory (open_exec(interpreter): path lookup)" ./interp-missing
check PT_INTERP-directory 3 "$E EACCES: interpreter /tmp: is a directory (open_exec(interpreter): do_open_execat: S_ISREG)" ./interp-dir
check script-no-interpreter 3 "$E ENOENT: #! interpreter /nonexistent/sh of ./script.sh: No such file or directory (load_script: open_exec: path lookup)" ./script.sh
check no-execute-bit 3 "$E EACCES: ./no-x-bit: no execute permission (may_open: MAY_EXEC)" ./no-x-bit
check directory 3 "$E EACCES: ./adir: is a directory (do_open_execat: S_ISREG)" ./adir
check fifo 3 "$E EACCES: ./fifo: not a regular file (do_open_execat: S_ISREG)" ./fifo
check /dev/zero 3 "$E EACCES: /dev/zero: not a regular file (do_open_execat: S_ISREG)" /dev/zero
check sparse-4GiB 3 "$E ENOEXEC: not an ELF file and no other binary format claims it (search_binary_handler)" ./sparse4g
check missing 3 "$E ENOENT: ./no-such-file: No such file or directory (path lookup)" ./no-such-file
if command -v python3 >/dev/null && python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('$w/sock')" 2>/dev/null; then
  check socket 3 "$E EACCES: ./sock: not a regular file (do_open_execat: S_ISREG)" ./sock
else
  skip=$((skip + 1)); echo "SKIPPED socket: cannot create a unix socket here"
fi
mkdir mnt
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o noexec tmpfs mnt 2>/dev/null; then
  cp "$tiny" mnt/tiny
  check noexec-mount 3 "$E EACCES: ./mnt/tiny: on a noexec mount (do_open_execat: path_noexec)" ./mnt/tiny
else
  skip=$((skip + 1)); echo "SKIPPED noexec-mount: cannot mount a noexec tmpfs here"
fi
echo "hostile limits: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
