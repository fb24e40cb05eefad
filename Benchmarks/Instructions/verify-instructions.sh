#!/bin/bash
# Instructions per full uncached verification (`Verifier.verify`: parse, key selection,
# signature, claims, identity), counted exactly by valgrind's callgrind: the difference
# between runs of 3000 and 1000 calls, / 2000; and the part outside libcrypto, which is
# what EdgeAuth adds around the signature. Under valgrind OpenSSL cannot use the SHA
# instructions, so the libcrypto share here is larger than on the hardware.
#
#   Benchmarks/Instructions/verify-instructions.sh [TOKEN-NAME...]   (default: auth0-hs256 keycloak-hs256)
set -euo pipefail
source "$(dirname "$0")/valgrind-ready.sh" VerifyInstructions
tokens=("$@")
[ ${#tokens[@]} -gt 0 ] || tokens=(auth0-hs256 keycloak-hs256)

# Prints "<all instructions> <instructions in libcrypto>" for one run.
counts() {
    local out="$work/callgrind.out"
    LD_LIBRARY_PATH="$work" valgrind --tool=callgrind --callgrind-out-file="$out" "$work/VerifyInstructions" "$@" >/dev/null 2>&1
    callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); all = $1} /libcrypto/ {gsub(",", "", $1); crypto += $1} END {print all, crypto + 0}'
}

printf '%-16s %14s %20s\n' token "full verify" "outside libcrypto"
for name in "${tokens[@]}"; do
    file=../../bench-data/tokens/$name.jwt
    read -r all1 crypto1 <<<"$(counts "$file" 1000)"
    read -r all3 crypto3 <<<"$(counts "$file" 3000)"
    printf '%-16s %14d %20d\n' "$name" $(( (all3 - all1) / 2000 )) $(( (all3 - all1 - crypto3 + crypto1) / 2000 ))
done
