#!/bin/sh
# Independent ops-table count over the .c/.h files under the given paths.
# Usage: count-tables.sh [-d] PATH...
#   -d  also print diagnostic records (first field "#"); see count-tables.awk
# Output: file<TAB>struct<TAB>name<TAB>line[<TAB>MACRO] records, sorted by file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
diag=0
if [ "${1:-}" = "-d" ]; then diag=1; shift; fi
if [ $# -eq 0 ]; then echo "usage: $0 [-d] PATH..." >&2; exit 2; fi
find "$@" -type f \( -name '*.c' -o -name '*.h' \) -print0 \
  | LC_ALL=C sort -z \
  | LC_ALL=C xargs -0 -r awk -v diag="$diag" -f "$here/count-tables.awk"
