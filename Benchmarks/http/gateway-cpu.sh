#!/usr/bin/env bash
# The gateway's CPU and memory per request (docs/benchmarks.md, "The gateway"): the steadier
# figures on a virtual machine whose requests/s drift between minutes. Starts each given edgeauth
# binary as a gateway (1 worker, a cached token, forward-auth at /auth/verify, /mcp proxied to a
# static nginx upstream); then, for ROUNDS rounds, runs wrk against each binary in turn, forward-auth
# then the reverse proxy, and prints requests/s, p50, the worker's user and system CPU per request
# (/proc/PID/stat) and how much its anonymous memory grew during the run (/proc/PID/status RssAnon).
# Usage: [ROUNDS=2] [DURATION=6s] [CONNECTIONS=64] gateway-cpu.sh EDGEAUTH_BINARY...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
rounds=${ROUNDS:-2}
duration=${DURATION:-6s}
connections=${CONNECTIONS:-64}
threads=$(( connections < 2 ? 1 : 2 ))
work=$(mktemp -d /tmp/edgeauth-gateway-cpu.XXXXXX)
pids=()
trap 'stop_all "$work" "${pids[@]}"' EXIT
start_upstream "$work" 1

names=(); workers=(); bases=(); tokens=()
for binary in "$@"; do
  p=$(port)
  start_gateway "$binary" "$work" "$p" 1
  pids+=("$GATEWAY_PID"); tokens+=("$GATEWAY_TOKEN")
  names+=("$(basename "$binary")"); workers+=("$(pgrep -P "$GATEWAY_PID" | head -1)"); bases+=("http://127.0.0.1:$p")
done

cpu() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
# measure INDEX NAME PATH HEADERS…: one wrk run, then its line.
measure() {
  local i=$1 what=$2 path=$3; shift 3
  local worker=${workers[$i]} user0 system0 user1 system1 memory0 report requests
  # A short warm-up: connections open, the upstream pool fills, the token is in the cache.
  wrk -t"$threads" -c"$connections" -d1s -H "Authorization: Bearer ${tokens[$i]}" "$@" "${bases[$i]}$path" > /dev/null
  read -r user0 system0 < <(cpu "$worker"); memory0=$(anon "$worker")
  report=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -H "Authorization: Bearer ${tokens[$i]}" "$@" "${bases[$i]}$path")
  read -r user1 system1 < <(cpu "$worker")
  requests=$(awk '/requests in/ { print $1 }' <<<"$report")
  awk -v name="${names[$i]}" -v what="$what" -v rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")" \
      -v p50="$(awk '/^ +50%/ { print $2 }' <<<"$report")" -v n="$requests" -v hz="$(getconf CLK_TCK)" \
      -v u=$((user1 - user0)) -v s=$((system1 - system0)) -v grown=$(( $(anon "$worker") - memory0 )) \
      'BEGIN { printf "%-24s %-14s %10s req/s  p50 %8s  user %5.1f µs  system %5.1f µs  memory %+d KiB\n", name, what, rps, p50, u / hz * 1e6 / n, s / hz * 1e6 / n, grown }'
}

echo "== $connections connection(s), wrk -t$threads -d$duration, 1 worker each"
for round in $(seq "$rounds"); do
  echo "-- round $round"
  for i in "${!names[@]}"; do
    measure "$i" forward-auth /auth/verify -H 'X-Original-URI: /mcp' -H 'X-Original-Method: POST'
    measure "$i" reverse-proxy /mcp
  done
done
