#!/usr/bin/env bash
# Wall time and peak RSS of `execmap layout --format maps` on a >=150 MB shared library.
#
#   bench/rss_big_lib.sh EXECMAP
#
# Acceptance target: under 20 ms and under 16 MB max RSS.
# Builds the library with bench/make_big_lib.sh into /tmp (BIG_LIB=PATH reuses an existing
# one), then for each of two variants (host profile = the default CLI, and --profile default -i):
#   - RUNS times (default 21) `/usr/bin/time -f '%e %M' execmap ...`: the median max RSS (%M)
#     and the median wall time of the whole /usr/bin/time process (measured by
#     bench/timerun.c, so it includes /usr/bin/time's own start-up: an upper bound);
#   - bench/timerun.c alone (posix_spawn + wait4, 200 runs): median wall ms and ru_maxrss.
# The verdict uses the timerun wall median and the larger of the two RSS medians.
# NICE (default -20 as root, else 0) runs the measurements under `nice -n NICE`.
# Exits 0 whatever the numbers: this is a report, not a test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -ne 1 ]]; then
  echo "usage: $0 EXECMAP" >&2
  exit 2
fi
execmap=$(realpath "$1")
runs=${RUNS:-21}
nice_level=${NICE:-$([[ $EUID -eq 0 ]] && echo -20 || echo 0)}
nice_cmd=(nice -n "$nice_level")

if [[ ! -x /usr/bin/time ]]; then
  echo "installing GNU time (/usr/bin/time) ..." >&2
  apt-get install -y time >/dev/null
fi

tmp=$(mktemp -d /tmp/execmap-rss.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
big=${BIG_LIB:-}
if [[ -z $big ]]; then
  big=$tmp/big.so
  "$here/make_big_lib.sh" "$big"
fi
"${CC:-cc}" -O2 -o "$tmp/timerun" "$here/timerun.c"
size=$(stat -c %s "$big")

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
check() { awk -v ms="$1" -v kb="$2" 'BEGIN { print (ms < 20 && kb < 16 * 1024) ? "yes" : "NO" }'; }

echo "big library: $big, $size bytes; runs: $runs; nice: $nice_level; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| command | wall ms (timerun, median of 200) | max RSS KB (timerun) | max RSS KB (/usr/bin/time %M, median of $runs) | wall ms of /usr/bin/time + execmap | < 20 ms and < 16 MB |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
variants=("layout --format maps" "layout --format maps --profile default -i")
for v in "${variants[@]}"; do
  read -r -a args <<<"$v"
  "$execmap" "${args[@]}" "$big" >/dev/null  # must succeed first
  : >"$tmp/walls"
  : >"$tmp/rss"
  for ((i = 0; i < runs; i++)); do
    "${nice_cmd[@]}" "$tmp/timerun" 1 0 /usr/bin/time -f '%e %M' -o "$tmp/one" \
      "$execmap" "${args[@]}" "$big" | sed -E 's/^median_ms=([0-9.]+) .*/\1/' >>"$tmp/walls"
    awk '{ print $2 }' "$tmp/one" >>"$tmp/rss"
  done
  time_wall=$(median <"$tmp/walls")
  time_rss=$(median <"$tmp/rss")
  tr=$("${nice_cmd[@]}" "$tmp/timerun" 200 20 "$execmap" "${args[@]}" "$big")
  tw=$(sed -E 's/^median_ms=([0-9.]+) .*/\1/' <<<"$tr")
  tm=$(sed -E 's/.* maxrss_kb_median=([0-9]+) .*/\1/' <<<"$tr")
  m=$(( tm > time_rss ? tm : time_rss ))
  echo "| execmap $v BIG | $tw | $tm | $time_rss | $time_wall | $(check "$tw" "$m") |"
done
# For scale: readelf on the same file.
tr=$("${nice_cmd[@]}" "$tmp/timerun" 200 20 "$(command -v readelf)" -lW "$big")
echo "| readelf -lW BIG (for scale) | $(sed -E 's/^median_ms=([0-9.]+) .*/\1/' <<<"$tr") | $(sed -E 's/.* maxrss_kb_median=([0-9]+) .*/\1/' <<<"$tr") | | | |"
