#!/usr/bin/env bash
# zstd's own cost per access-log line at levels 1, 3 and -1 (the floor under the logging thread's
# throughput): generates 250,000 realistic lines, builds bench/zstd_floor.c and runs it.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 gen_access_lines.py 250000 > "$work/lines.log"
gcc -O2 zstd_floor.c -lzstd -o "$work/zstd_floor"
for level in 1 3 -1; do "$work/zstd_floor" "$work/lines.log" "$level"; done
