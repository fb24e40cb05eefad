#!/usr/bin/env bash
# CPU time per request (docs/benchmarks.md, "HTTP server"): the steadier figure on a virtual
# machine whose requests/s drift between minutes. Starts each given edgeauth binary (1 worker,
# identity handler, cached token), nginx answering `return 204;` and, with FLOOR=binary, the
# NIO floor server (nio-floor/); then, for ROUNDS rounds, runs wrk against each in turn and
# prints requests/s, p99 and the serving process's user and system CPU per request
# (/proc/PID/stat before and after the run).
# Usage: [ROUNDS=3] [DURATION=8s] [FLOOR=nio-floor/.build/release/NIOFloor] cpu-per-request.sh EDGEAUTH_BINARY...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
rounds=${ROUNDS:-3}
duration=${DURATION:-8s}
work=$(mktemp -d /tmp/edgeauth-cpu.XXXXXX)
pids=()
trap 'stop_all "$work" "${pids[@]}"' EXIT

names=(); processes=(); urls=(); tokens=()
for binary in "$@"; do
  p=$(port)
  "$binary" serve --port "$p" --workers 1 --data-dir "$work/data" --no-rate-limit --handler identity > "$work/serve-$p.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$p/healthz"
  names+=("$(basename "$binary")"); processes+=("$(pgrep -P "${pids[-1]}" | head -1)"); urls+=("http://127.0.0.1:$p/mcp")
  tokens+=("$("$binary" dev-token --user bench --scopes "notes:read" --port "$p" --data-dir "$work/data")")
done
if [ -n "${FLOOR:-}" ]; then
  p=$(port)
  "$FLOOR" "$p" & pids+=($!)
  wait_for "http://127.0.0.1:$p/"
  names+=("NIO floor"); processes+=("${pids[-1]}"); urls+=("http://127.0.0.1:$p/"); tokens+=("${tokens[0]:-none}")
fi
p=$(port)
start_nginx_204 "$work" "$p" 1
wait_for "http://127.0.0.1:$p/"
names+=("nginx"); processes+=("$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)"); urls+=("http://127.0.0.1:$p/"); tokens+=("${tokens[0]:-none}")

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; }
printf '%-20s %12s %10s %14s %14s\n' target requests/s p99 "user µs/req" "system µs/req"
for _ in $(seq "$rounds"); do
  for i in "${!names[@]}"; do
    read -r user0 system0 < <(cpu "${processes[$i]}")
    out=$(wrk -t2 -c64 -d"$duration" --latency -H "Authorization: Bearer ${tokens[$i]}" "${urls[$i]}")
    read -r user1 system1 < <(cpu "${processes[$i]}")
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$out" | grep -q "Non-2xx" && { echo "${names[$i]}: answers other than 2xx" >&2; exit 1; }
    printf '%-20s %12s %10s %14.2f %14.2f\n' "${names[$i]}" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
      "$(echo "$out" | awk '$1 == "99%" {print $2}')" \
      "$(echo "($user1 - $user0) * 1000000 / $ticks / $requests" | bc -l)" "$(echo "($system1 - $system0) * 1000000 / $ticks / $requests" | bc -l)"
  done
done
