#!/bin/bash
# Instructions per parse + claims check (and per identity mapping), counted exactly by
# valgrind's cachegrind: the difference between runs of 3000 and 1000 calls, / 2000.
# Wall-clock time on a virtual machine drifts by tens of percent; instruction counts
# do not, so they show what a change to the parser does.
#
#   Benchmarks/Instructions/instructions.sh [TOKEN-NAME...]   (default: every token in bench-data/tokens)
set -euo pipefail
source "$(dirname "$0")/valgrind-ready.sh" ParseInstructions
tokens=("$@")
if [ ${#tokens[@]} -eq 0 ]; then
    tokens=($(cd ../../bench-data/tokens && ls *.jwt | sed 's/\.jwt$//'))
fi
printf '%-16s %14s %22s\n' token "parse+claims" "+ standard identity"
for name in "${tokens[@]}"; do
    file=../../bench-data/tokens/$name.jwt
    parse=$(( ($(instructions "$file" 3000) - $(instructions "$file" 1000)) / 2000 ))
    identity=$(( ($(instructions "$file" 3000 identity) - $(instructions "$file" 1000 identity)) / 2000 ))
    printf '%-16s %14d %22d\n' "$name" "$parse" "$identity"
done
