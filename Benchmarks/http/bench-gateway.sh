#!/usr/bin/env bash
# The gateway benchmark (docs/benchmarks.md, "The gateway"), with the same worker count and wrk
# settings on each side:
#  1. forward-auth: GET /auth/verify with a cached valid token, as nginx's auth_request asks it,
#     against nginx answering `return 204;`;
#  2. reverse proxy at full load: client → edgeauth (token verified, identity headers) → a static
#     nginx upstream, against client → nginx proxy_pass (no authentication) → the same upstream;
#  3. the latency the gateway adds: one connection, through edgeauth and straight to the upstream.
# Usage: bench-gateway.sh EDGEAUTH_BINARY [WORKERS] [DURATION]   (ROUNDS=3: alternating rounds)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
binary=$1
workers=${2:-1}
duration=${3:-10s}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-64}
work=$(mktemp -d /tmp/edgeauth-bench-gateway.XXXXXX)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  for pid in "$work"/*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
run_wrk() { wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@"; }
rps_of() { awk '/^Requests\/sec:/ { print $2 }' <<<"$1"; }
median_ms() { awk '/^ +50%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; print v }' <<<"$1"; }

start_upstream "$work" "$workers"
edgeauth_port=$(port)
start_gateway "$binary" "$work" "$edgeauth_port" "$workers"
server=$GATEWAY_PID token=$GATEWAY_TOKEN upstream_port=$UPSTREAM_PORT
verify="http://127.0.0.1:$edgeauth_port/auth/verify"
test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -H 'X-Original-URI: /mcp' "$verify")" = 200
test "$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$edgeauth_port/mcp")" = '{"jsonrpc":"2.0","id":1,"result":{}}'

nginx_port=$(port)
start_nginx "$work" "$nginx_port" "$workers" 'location / { return 204; }' plain
proxy_port=$(port)
start_nginx "$work" "$proxy_port" "$workers" \
  'location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }' proxy
wait_for "http://127.0.0.1:$nginx_port/"
wait_for "http://127.0.0.1:$proxy_port/mcp"

# Rounds alternate edgeauth and nginx, so that both see the same minutes of a machine whose
# speed drifts; each round's ratio is printed, then the median.
rounds=${ROUNDS:-3}
forward_ratios=() proxy_ratios=()
for round in $(seq "$rounds"); do
  echo "== round $round: edgeauth ($workers worker(s)) GET /auth/verify (forward-auth), cached valid token"
  report=$(run_wrk -H "Authorization: Bearer $token" -H 'X-Original-URI: /mcp' -H 'X-Original-Method: POST' "$verify")
  echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'; forward_rps=$(rps_of "$report")
  echo "== round $round: nginx ($workers worker(s)) return 204"
  report=$(run_wrk -H "Authorization: Bearer $token" "http://127.0.0.1:$nginx_port/")
  echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'; nginx_rps=$(rps_of "$report")
  forward_ratios+=("$(awk -v a="$forward_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')")

  echo "== round $round: edgeauth ($workers worker(s)) reverse proxy GET /mcp, cached valid token → nginx upstream"
  report=$(run_wrk -H "Authorization: Bearer $token" "http://127.0.0.1:$edgeauth_port/mcp")
  echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'; proxy_rps=$(rps_of "$report")
  echo "== round $round: nginx ($workers worker(s)) proxy_pass, no authentication → the same upstream"
  report=$(run_wrk -H "Authorization: Bearer $token" "http://127.0.0.1:$proxy_port/mcp")
  echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'; nginx_proxy_rps=$(rps_of "$report")
  proxy_ratios+=("$(awk -v a="$proxy_rps" -v b="$nginx_proxy_rps" 'BEGIN { printf "%.2f", a / b }')")
done

echo "== one connection: through edgeauth, then straight to the upstream"
report=$(wrk -t1 -c1 -d"$duration" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$edgeauth_port/mcp")
echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'; through_ms=$(median_ms "$report")
report=$(wrk -t1 -c1 -d"$duration" --latency "http://127.0.0.1:$upstream_port/mcp")
echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'; direct_ms=$(median_ms "$report")

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "forward-auth ÷ nginx return 204, by round: ${forward_ratios[*]}; median $(median "${forward_ratios[@]}")x (goal >= 0.7x)"
echo "reverse proxy ÷ nginx proxy_pass, by round: ${proxy_ratios[*]}; median $(median "${proxy_ratios[@]}")x (goal >= 0.8x)"
awk -v a="$through_ms" -v b="$direct_ms" 'BEGIN { printf "median with one connection: %.3f ms through edgeauth, %.3f ms direct: %.3f ms added (goal <= 0.3 ms)\n", a, b, a - b }'
