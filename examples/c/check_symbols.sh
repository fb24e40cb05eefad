#!/usr/bin/env bash
# The library exports exactly the functions include/edgeauth.h declares.
#
#   check_symbols.sh HEADER LIBRARY
#
# Declared: every `edgeauth_*(` in the preprocessed header (typedef names are
# not followed by a parenthesis). Exported: the defined dynamic `edgeauth_*`
# symbols of the library (`nm -D --defined-only`). Both lists must be equal.
set -euo pipefail
header=$1
library=$2
CC=${CC:-cc}

declared=$(mktemp)
exported=$(mktemp)
trap 'rm -f "$declared" "$exported"' EXIT

"$CC" -E -P -x c "$header" | grep -oE '\bedgeauth_[a-z0-9_]+[[:space:]]*\(' | sed -E 's/[[:space:]]*\($//' | sort -u > "$declared"
nm -D --defined-only "$library" | awk '{ print $NF }' | grep -E '^edgeauth_' | sort -u > "$exported"

missing=$(comm -23 "$declared" "$exported")
extra=$(comm -13 "$declared" "$exported")
status=0
if [ -n "$missing" ]; then
  echo "declared in $header but not exported by $library:"; echo "$missing" | sed 's/^/  /'; status=1
fi
if [ -n "$extra" ]; then
  echo "exported by $library but not declared in $header:"; echo "$extra" | sed 's/^/  /'; status=1
fi
if [ $(wc -l < "$declared") -eq 0 ]; then
  echo "no functions found in $header"; status=1
fi
echo "check_symbols: $(wc -l < "$declared") functions declared, $(wc -l < "$exported") exported"
exit $status
