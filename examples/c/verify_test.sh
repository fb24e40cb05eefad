#!/usr/bin/env bash
# Runs the `verify` example on bench-data tokens: a valid one (exit 0 and the
# identity), a tampered one (exit 1, badSignature), an expired one (exit 1,
# expired) and a broken configuration (exit 2 with a message).
#
#   verify_test.sh VERIFY_BINARY BENCH_DATA_DIR
set -uo pipefail
verify=$1
data=$(cd "$2" && pwd)
now=1764003600
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # check NAME EXPECTED_EXIT GREP_PATTERN OUTPUT_FILE ACTUAL_EXIT
  if [ "$5" -eq "$2" ] && grep -q -- "$3" "$4"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: exit $5 (expected $2), output:"; sed 's/^/  /' "$4"
  fi
}

cat > "$work/config.json" <<JSON
{
  "issuers": ["https://edgeauth-bench.us.auth0.com/", "https://sso.edgeauth.test/realms/bench"],
  "audiences": "https://api.edgeauth.test",
  "algorithms": ["RS256", "ES256", "EdDSA"],
  "keys": [{"jwksFile": "$data/jwks.json"}]
}
JSON

"$verify" "$work/config.json" $now < "$data/tokens/keycloak-es256.jwt" > "$work/out" 2>&1
check "valid keycloak-es256" 0 "email        ada@edgeauth.test" "$work/out" $?

"$verify" "$work/config.json" $now < "$data/tokens/auth0-rs256.jwt" > "$work/out" 2>&1
check "valid auth0-rs256" 0 "read:tools   yes" "$work/out" $?

# Change one character of the signature.
token=$(cat "$data/tokens/auth0-eddsa.jwt")
i=$((${#token} - 20))
c=${token:$i:1}; [ "$c" = A ] && r=B || r=A
printf '%s%s%s' "${token:0:$i}" "$r" "${token:$((i + 1))}" | "$verify" "$work/config.json" $now > "$work/out" 2>&1
check "tampered" 1 "rejected: badSignature" "$work/out" $?

"$verify" "$work/config.json" 1764100000 < "$data/tokens/auth0-rs256.jwt" > "$work/out" 2>&1
check "expired" 1 "rejected: expired" "$work/out" $?

"$verify" "$work/config.json" $now < "$data/tokens/auth0-hs256.jwt" > "$work/out" 2>&1
check "algorithm not allowed" 1 "rejected: algorithmNotAllowed" "$work/out" $?

echo '{"issuers": ["x"], "audience": ["y"], "keys": []}' > "$work/bad.json"
"$verify" "$work/bad.json" < "$data/tokens/auth0-rs256.jwt" > "$work/out" 2>&1
check "bad configuration" 2 'unknown member "audience"' "$work/out" $?

echo "verify_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
