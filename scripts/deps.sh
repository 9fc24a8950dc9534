#!/usr/bin/env bash
# Installs the Debian packages execmap needs to build and test, when any is missing.
# Sourced by scripts/demo and scripts/test; safe to run again (it only installs what lacks).
set -euo pipefail

execmap_packages=(
  cmake make g++ gcc libc6-dev binutils   # build; binutils also gives ld.gold and readelf
  libcli11-dev nlohmann-json3-dev          # CLI11 2.1 and nlohmann::json 3.11 (header-only)
  catch2                                   # Catch2 v2.13 (catch2/catch.hpp)
  clang lld libclang-rt-14-dev             # corpus links with lld, clang builds, libFuzzer
  libbenchmark-dev hyperfine time valgrind  # bench/ (Google Benchmark), tests use /usr/bin/time
  qemu-system-x86 debian-archive-keyring   # live/vm.h boots Debian kernels (scripts/fetch-kernels)
  cpio                                     # tests/test_vm_wire.cc lists the initramfs with cpio -t
  libseccomp-dev                           # the grade sandbox's seccomp filter (live/sandbox.cc)
  gcc-multilib                             # its lib32 entries are in the ld.so.cache the VM goldens recorded
)

ensure_packages() {
  local missing=()
  for p in "${execmap_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "scripts: installing missing packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
