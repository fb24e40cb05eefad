#!/bin/bash
# Instructions per parse + claims check (and per identity mapping), counted exactly by
# valgrind's cachegrind: the difference between runs of 3000 and 1000 calls, / 2000.
# Wall-clock time on a virtual machine drifts by tens of percent; instruction counts
# do not, so they show what a change to the parser does.
#
#   Benchmarks/Instructions/instructions.sh [TOKEN-NAME...]   (default: every token in bench-data/tokens)
#
# valgrind 3.19 cannot read the DWARF 5 debug information Swift 6.3 writes, so the
# program and the Swift runtime libraries are copied without it (strip -g) first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
swift build -c release --product ParseInstructions >/dev/null
binary=$(swift build -c release --show-bin-path)/ParseInstructions
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/ParseInstructions"
ldd "$binary" | awk '/=>/ {print $3}' | grep -vE '/libc\.so|/libm\.so|/libpthread|/ld-linux' | while read -r library; do cp "$library" "$work/"; done
strip -g "$work"/*

count() {  # count TOKEN-FILE N [identity]
    LD_LIBRARY_PATH="$work" valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$work/ParseInstructions" "$@" 2>&1 | awk '/I *refs:/ {gsub(",", "", $NF); print $NF}'
}

tokens=("$@")
if [ ${#tokens[@]} -eq 0 ]; then
    tokens=($(cd ../../bench-data/tokens && ls *.jwt | sed 's/\.jwt$//'))
fi
printf '%-16s %14s %22s\n' token "parse+claims" "+ standard identity"
for name in "${tokens[@]}"; do
    file=../../bench-data/tokens/$name.jwt
    parse=$(( ($(count "$file" 3000) - $(count "$file" 1000)) / 2000 ))
    identity=$(( ($(count "$file" 3000 identity) - $(count "$file" 1000 identity)) / 2000 ))
    printf '%-16s %14d %22d\n' "$name" "$parse" "$identity"
done
