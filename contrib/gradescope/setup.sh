#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image from the zip
# (unpacked in /autograder/source): it installs the build dependencies, builds execmap from
# the source copy in execmap/ and installs it to /usr/local/bin, and builds the graded
# programs with programs/build.sh (the same script tests/gradescope_kit.sh runs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# 1. Packages. What building the execmap binary needs, of those scripts/deps.sh lists for the
#    whole test suite: cmake, a C and C++ compiler (static libc and libstdc++ come with them:
#    execmap is linked -static), CLI11 and nlohmann-json (header-only). libseccomp-dev and
#    pkg-config are for grade's sandbox of the loader. python3 runs merge_results.py;
#    util-linux gives setpriv, with which run_autograder builds submissions as nobody.
packages=(cmake make gcc g++ libc6-dev libcli11-dev nlohmann-json3-dev libseccomp-dev
          pkg-config python3 util-linux)
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"

# CMakeLists.txt states the oldest cmake it accepts; say so plainly instead of failing in the
# middle of a configure (Ubuntu 22.04's cmake is 3.22).
need=$(sed -n 's/^cmake_minimum_required(VERSION \([0-9.]*\)).*/\1/p' "$here/execmap/CMakeLists.txt")
have=$(cmake --version | sed -n '1s/^cmake version //p')
if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
  echo "setup.sh: error: execmap needs cmake $need or newer; this image has $have." >&2
  echo "setup.sh: choose a base image whose cmake is new enough (Debian 12, Ubuntu 24.04)." >&2
  exit 1
fi

# 2. execmap, the binary only: EXECMAP_TESTS=OFF leaves out the test suite and the test corpus
#    (which need Catch2, clang and lld), and --target execmap leaves out execmap-vm-agent
#    (only `verify --vm` uses it).
build=$(mktemp -d)
cmake -S "$here/execmap" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEXECMAP_TESTS=OFF
cmake --build "$build" --target execmap -j "$(nproc)"
install -m 0755 "$build/execmap" /usr/local/bin/execmap
rm -rf "$build"

# 3. The programs the loaders are graded on (programs.conf names them).
sh "$here/programs/build.sh" "$here/programs/bin"

# A zip made elsewhere may have lost the executable bits; Gradescope runs run_autograder.
chmod 0755 "$here/run_autograder" "$here/merge_results.py" "$here/programs/build.sh"
execmap --version
