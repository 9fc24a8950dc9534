#!/usr/bin/env bash
# Records the golden kernel captures in captures/ from the real kernel, with execmap verify
# (fork + personality(ADDR_NO_RANDOMIZE) + PTRACE_TRACEME + execve, stopped at the exec trap).
# Usage: testdata/golden/record.sh path/to/execmap   (run from anywhere; needs ptrace)
set -euo pipefail
execmap=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/bin"
rec() { # name, then verify arguments
  local name=$1; shift
  "$execmap" verify --save-capture "$here/captures/$name.json" "$@" >/dev/null || {
    echo "record.sh: $name: prediction differs from the kernel (capture kept for inspection)" >&2; }
}
rec tiny-static.basic      -i --env A=1 ./tiny-static
rec tiny-static.args       -i --env LANG=C --env EMPTY= ./tiny-static "" "héllo wörld ✓" -x --y
rec hello-static.basic     -i --env A=1 --env B=two ./hello-static one two three
rec hello-static.argv0     -i --argv0 renamed ./hello-static
rec hello-static.stack1g   -i --stack-limit 1G --env X=y ./hello-static
rec hello-pie.basic        -i --env A=1 ./hello-pie alpha beta
rec hello-pie.unlimited    -i --stack-limit unlimited ./hello-pie
# At the entry point, after glibc's ld.so (--stage start): replayed where the same ld.so,
# libc and ld.so.cache size are installed (file_sizes in the capture).
rec hello-pie.start        --stage start -i --env A=1 ./hello-pie alpha beta
rec hello-nopie.start      --stage start -i --env LANG=C ./hello-nopie
stat -L -c %s /lib64/ld-linux-x86-64.so.2 > "$here/captures/ldso-size"
echo "recorded $(ls "$here/captures" | wc -l) captures"
