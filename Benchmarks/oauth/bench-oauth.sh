#!/usr/bin/env bash
# The token endpoint benchmark (docs/benchmarks.md, "The authorization server's token endpoint"):
# wrk POSTing to /token of `edgeauth serve` in proxy mode, then of FastMCP's in-memory OAuth
# provider, each request with a code or refresh token prepared for it and never used before:
#   1. the durable LMDB commits per second the data directory's filesystem sustains (lmdb-commits.c:
#      one put per commit, then three puts in three tables per commit, as a code exchange writes),
#      the ceiling of a server that commits every grant with a synced write transaction;
#   2. what no server avoids here: one ES256 signature's CPU (es256-sign.c), and the harness's
#      ceiling — the same wrk script against nginx answering /token with a constant (wrk's CPU per
#      request with it), from which the end of the run works out what 10x FastMCP would leave;
#   3. edgeauth serve (WORKERS workers, no rate limits, codes valid 600 s): grant_type
#      authorization_code (PKCE S256), then grant_type refresh_token (rotation, public client);
#   4. FastMCP (one uvicorn process: its provider keeps the grants in the process): the same two runs.
# Each run: a calibration run (CALIBRATION, default 2s) measures the rate, a pool of
# rate × duration × HEADROOM (default 2) requests is prepared (prepare.py), then
# `wrk -t2 -c16 -d10s`; a run that uses up its pool is thrown away and run again with twice the pool.
# Prints requests/s, p50, p99, non-200 answers and the server's CPU per request for each server and
# grant, and the ratio EdgeAuth / FastMCP. Exits 1 when any answer was not 200 with an access token.
#
# Usage: bench-oauth.sh EDGEAUTH_BINARY [WORKERS] [DURATION]
# Environment: PYTHON (default: .build/oauth-bench-venv, with Benchmarks/oauth/requirements.txt),
#   EVENT_LOOPS (1: server.eventLoops of edgeauth serve), WRK_THREADS (2), WRK_CONNECTIONS (16),
#   CALIBRATION (2s), HEADROOM (2), CEILING_COMMITS (3000),
#   TMPDIR (where the data directory and the commit measurement live).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../http/common.sh" # start_nginx; port and wait_for are redefined below
binary=${1:?usage: bench-oauth.sh EDGEAUTH_BINARY [WORKERS] [DURATION]}
workers=${2:-2}
event_loops=${EVENT_LOOPS:-1}
duration=${3:-10s}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-16}
calibration=${CALIBRATION:-2s}
headroom=${HEADROOM:-2}
python=${PYTHON:-$here/../../.build/oauth-bench-venv/bin/python3}
seconds() { # wrk's duration in seconds: 10s, 1m, 1500ms
  case $1 in *ms) awk -v v="${1%ms}" 'BEGIN { print v / 1000 }';; *s) echo "${1%s}";; *m) echo $((${1%m} * 60));; *h) echo $((${1%h} * 3600));; *) echo "$1";; esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/edgeauth-bench-oauth.XXXXXX")
server=
fastmcp=
stop() { # stop PID: SIGTERM, then wait for it (edgeauth serve drains and stops its workers);
  # after 10 s, SIGKILL to it and to the children it had
  [ -n "$1" ] || return 0
  local children
  children=$(pgrep -P "$1" 2>/dev/null || true)
  kill "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then kill -9 "$1" $children 2>/dev/null || true; fi
  wait "$1" 2>/dev/null || true
}
cleanup() {
  stop "$server"
  stop "$fastmcp"
  if [ -f "$work/constant.pid" ]; then kill "$(cat "$work/constant.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for URL PID: until URL answers (30 s at most), failing early when PID has exited.
wait_for() {
  for _ in $(seq 300); do
    curl -s -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server at $1 exited:" >&2; cat "$work"/*.log >&2; exit 1; }
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  exit 1
}
# cpu_ticks PID…: user + system clock ticks of the processes and their children.
cpu_ticks() {
  local total=0 pid
  for pid in "$@" $(pgrep -P "$(IFS=,; echo "$*")" 2>/dev/null || true); do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
# field NAME LINE: the value of NAME=… in wrk's RESULT line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# prepare BASE CLIENT GRANT COUNT: COUNT fresh request bodies, split between the wrk threads
# (pool.0, pool.1, …: thread k reads pool.k).
prepare() {
  local base=$1 client=$2 grant=$3 count=$4 kind=codes
  [ "$grant" = refresh_token ] && kind=refresh
  rm -f "$work"/pool.*
  "$python" "$here/prepare.py" "$kind" "$base" "$client" "$count" "$work/pool.txt"
  awk -v n="$threads" -v prefix="$work/pool." '{ print > (prefix ((NR - 1) % n)) }' "$work/pool.txt"
}
# run_wrk BASE DURATION PIDS: one wrk run on the prepared pool; leaves wrk's RESULT line in $result,
# the server's CPU ticks during the run in $ticks and wrk's own CPU seconds in $wrk_seconds.
run_wrk() {
  local before output
  before=$(cpu_ticks $3)
  output=$(POOL="$work/pool" /usr/bin/time -f 'WRK_CPU %U %S' \
    wrk -t"$threads" -c"$connections" -d"$2" --timeout 5s -s "$here/token.lua" "$1" 2>&1)
  ticks=$(( $(cpu_ticks $3) - before ))
  result=$(grep '^RESULT ' <<<"$output")
  wrk_seconds=$(awk '/^WRK_CPU / { print $2 + $3 }' <<<"$output")
  if grep -q '^first failure: ' <<<"$output" && [ "$(field exhausted "$result")" = 0 ]; then grep '^first failure: ' <<<"$output" >&2; fi
}
# measure NAME BASE CLIENT GRANT PIDS: calibration, pool, measured run; appends a row to $rows.
measure() {
  local name=$1 base=$2 client=$3 grant=$4 pids=$5 pool=${INITIAL_POOL:-400} rate attempt
  # Calibration: a pool big enough for CALIBRATION at the measured rate (4× more while it runs out).
  while :; do
    prepare "$base" "$client" "$grant" "$pool"
    run_wrk "$base" "$calibration" "$pids"
    [ "$(field exhausted "$result")" = 0 ] && break
    pool=$((pool * 4))
  done
  rate=$(field rps "$result")
  pool=$(awk -v r="$rate" -v d="$(seconds "$duration")" -v h="$headroom" -v c="$connections" 'BEGIN { printf "%d", r * d * h + 4 * c }')
  for attempt in 1 2 3; do
    echo "-- $name $grant: calibration $rate requests/s; preparing $pool requests"
    prepare "$base" "$client" "$grant" "$pool"
    run_wrk "$base" "$duration" "$pids"
    [ "$(field exhausted "$result")" = 0 ] && break
    echo "-- $name $grant: the pool ran out; again with twice the pool"
    pool=$((pool * 2))
  done
  [ "$(field exhausted "$result")" = 0 ] || { echo "$name $grant: the pool ran out three times" >&2; exit 1; }
  local requests errors cpu
  requests=$(field requests "$result")
  errors=$(( $(field non200 "$result") + $(field socket_errors "$result") ))
  cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
  echo "$result"
  rows+=("$name $grant $(field rps "$result") $(field p50_us "$result") $(field p99_us "$result") $errors $cpu $requests")
  total_errors=$((total_errors + errors))
}
rows=()
total_errors=0

echo "== $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
# 1. Durable commits per second in the directory the state store will live in.
cc_command=$(command -v cc || command -v gcc || command -v clang)
"$cc_command" -O2 -o "$work/lmdb-commits" "$here/lmdb-commits.c" -llmdb
echo "== durable LMDB commits in $(df -T "$work" | awk 'NR == 2 { print $2 " (" $1 ")" }'), 400-byte records"
commits=${CEILING_COMMITS:-3000}
ceiling_1=$("$work/lmdb-commits" "$work/commits-1" "$commits" 1)
ceiling_n=$("$work/lmdb-commits" "$work/commits-n" "$commits" "$workers")
ceiling_3=$("$work/lmdb-commits" "$work/commits-3" "$commits" "$workers" 400 3)
rm -rf "$work"/commits-*
printf '%s\n' "$ceiling_1" "$ceiling_n" "$ceiling_3"

# 2. What no token server on this machine avoids: the CPU of one ES256 signature (every access token
#    is one), and the harness itself — the same wrk script against nginx answering every POST /token
#    with a constant token response (nothing verified, signed or stored), wrk's CPU per request beside it.
"$cc_command" -O2 -o "$work/es256-sign" "$here/es256-sign.c" -lcrypto
echo "== ES256 signatures on one core (es256-sign.c, OpenSSL $(openssl version | cut -d' ' -f2))"
signatures=$("$work/es256-sign" 20000)
echo "$signatures"
sign_us=$(sed -n 's/^one prepared context (as EdgeAuth signs).* \([0-9.]*\) µs each$/\1/p' <<<"$signatures")
constant_port=$(port)
constant_body='{"access_token":"'$(head -c 450 /dev/zero | tr '\0' 'a')'","token_type":"Bearer","expires_in":3600,"refresh_token":"'$(head -c 43 /dev/zero | tr '\0' 'r')'","scope":"mcp"}'
start_nginx "$work" "$constant_port" "$workers" "location /token { default_type application/json; return 200 '$constant_body'; }" constant
nginx_constant=$(cat "$work/constant.pid")
wait_for "http://127.0.0.1:$constant_port/token" "$nginx_constant"
echo "== the harness's ceiling: nginx ($workers workers) answering POST /token with a constant, wrk -t$threads -c$connections -d$duration"
lines=$(( $(seconds "$duration") * 60000 ))
for attempt in 1 2 3; do
  rm -f "$work"/pool.*
  awk -v n="$lines" -v t="$threads" -v prefix="$work/pool." 'BEGIN { for (i = 0; i < n; i++)
    printf "grant_type=refresh_token&client_id=ceiling&refresh_token=%043d\n", i > (prefix (i % t)) }'
  run_wrk "http://127.0.0.1:$constant_port" "$duration" "$nginx_constant"
  [ "$(field exhausted "$result")" = 0 ] && break
  lines=$((lines * 4))
done
[ "$(field exhausted "$result")" = 0 ] || { echo "the harness's ceiling: the pool ran out three times" >&2; exit 1; }
echo "$result"
wrk_us=$(awk -v s="$wrk_seconds" -v r="$(field requests "$result")" 'BEGIN { printf "%.1f", s * 1e6 / r }')
constant_us=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$(field requests "$result")" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
constant_rps=$(field rps "$result")
echo "wrk's CPU per request: $wrk_us µs; nginx's: $constant_us µs"
kill "$nginx_constant"
rm -f "$work/constant.pid" "$work"/pool.*

# 3. edgeauth serve in proxy mode with the development identity provider.
cat > "$work/config.json" <<JSON
{"oauth": {"mode": "proxy", "lifetimes": {"authorizationCode": 600}}, "server": {"eventLoops": $event_loops}}
JSON
edgeauth_port=$(port)
"$binary" serve --config "$work/config.json" --port "$edgeauth_port" --workers "$workers" --no-rate-limit \
  --data-dir "$work/data" > "$work/edgeauth.log" 2>&1 &
server=$!
edgeauth_url="http://127.0.0.1:$edgeauth_port"
wait_for "$edgeauth_url/healthz" "$server"
client=$("$python" "$here/prepare.py" register "$edgeauth_url")
echo "== edgeauth serve ($workers workers of $event_loops event loop(s), $binary): POST /token, wrk -t$threads -c$connections -d$duration"
measure edgeauth "$edgeauth_url" "$client" authorization_code "$server"
measure edgeauth "$edgeauth_url" "$client" refresh_token "$server"
stop "$server"
server=

# 4. FastMCP's in-memory OAuth provider, one process.
fastmcp_port=$(port)
"$python" "$here/fastmcp_oauth_server.py" --port "$fastmcp_port" > "$work/fastmcp.log" 2>&1 &
fastmcp=$!
fastmcp_url="http://127.0.0.1:$fastmcp_port"
wait_for "$fastmcp_url/.well-known/oauth-authorization-server" "$fastmcp"
fastmcp_version=$("$python" -c 'import importlib.metadata as m; print(m.version("fastmcp"))')
client=$("$python" "$here/prepare.py" register "$fastmcp_url")
echo "== FastMCP $fastmcp_version InMemoryOAuthProvider (1 uvicorn process): POST /token, wrk -t$threads -c$connections -d$duration"
measure fastmcp "$fastmcp_url" "$client" authorization_code "$fastmcp"
measure fastmcp "$fastmcp_url" "$client" refresh_token "$fastmcp"
stop "$fastmcp"
fastmcp=

echo
echo "== POST /token, wrk -t$threads -c$connections -d$duration; edgeauth serve with $workers workers of $event_loops event loop(s), FastMCP $fastmcp_version with 1 process"
printf '%-9s %-19s %10s %9s %9s %7s %13s\n' server grant "requests/s" "p50 ms" "p99 ms" errors "CPU µs/req"
for row in "${rows[@]}"; do
  read -r name grant rps p50 p99 errors cpu _ <<<"$row"
  printf '%-9s %-19s %10.0f %9.2f %9.2f %7d %13s\n' "$name" "$grant" "$rps" "$(awk -v v="$p50" 'BEGIN { print v / 1000 }')" \
    "$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" "$errors" "$cpu"
done
for grant in authorization_code refresh_token; do
  e=$(printf '%s\n' "${rows[@]}" | awk -v g="$grant" '$1 == "edgeauth" && $2 == g { print $3 " " $5 }')
  f=$(printf '%s\n' "${rows[@]}" | awk -v g="$grant" '$1 == "fastmcp" && $2 == g { print $3 }')
  awk -v e="$e" -v f="$f" -v g="$grant" 'BEGIN { split(e, a, " "); ratio = a[1] / f; p99 = a[2] / 1000
    printf "%s: EdgeAuth / FastMCP %.2fx (goal >= 10x: %s), EdgeAuth p99 %.2f ms (goal <= 10 ms: %s)\n",
      g, ratio, (ratio >= 10 ? "met" : "missed"), p99, (p99 <= 10 ? "met" : "missed") }'
done
# What 10x FastMCP's rate leaves of the machine once wrk and the signatures have their share.
for grant in authorization_code refresh_token; do
  f=$(printf '%s\n' "${rows[@]}" | awk -v g="$grant" '$1 == "fastmcp" && $2 == g { print $3 }')
  e=$(printf '%s\n' "${rows[@]}" | awk -v g="$grant" '$1 == "edgeauth" && $2 == g { print $7 }')
  awk -v f="$f" -v w="$wrk_us" -v s="$sign_us" -v c="$(nproc)" -v n="$constant_us" -v e="$e" -v g="$grant" 'BEGIN {
    target = 10 * f; left = c - target * (w + s) / 1e6
    printf "%s: 10x FastMCP is %.0f requests/s; there wrk takes %.2f and the ES256 signatures %.2f of the %d cores, leaving %.0f µs of CPU per request for the rest (nginx answering a constant: %.1f µs; edgeauth serve now: %s µs with its signature)\n",
      g, target, target * w / 1e6, target * s / 1e6, c, (left > 0 ? left / target * 1e6 : 0), n, e }'
done
echo "the harness against nginx answering a constant: $constant_rps requests/s"
echo "durable LMDB commits/s, one put each: ${ceiling_1##*: } (1 writer), ${ceiling_n##*: } ($workers writers);" \
  "three puts in three tables each (a code exchange's shape): ${ceiling_3##*: } ($workers writers)"
if [ "$total_errors" != 0 ]; then
  echo "$total_errors answers were not 200 with an access token" >&2
  exit 1
fi
