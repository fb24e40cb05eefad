#!/usr/bin/env bash
# The verdict cache at gateway scale (docs/benchmarks.md, "The verdict cache at gateway scale"):
# for each size, N distinct development tokens are sent to `edgeauth serve --handler identity`
# by wrk in two passes over the same stream:
#   fill    every token once (misses: verified in full, then stored);
#   replay  the same stream again for DURATION (served from the cache when it kept them);
# and the same stream against a server without a cache (every token verified in full).
# First the same stream with one token (the cached ceiling). Prints requests/s, p50/p99, non-2xx
# answers, and the cache's counters from /metrics.
# Usage: bench-cache.sh EDGEAUTH_BINARY [SIZES] [DURATION] [WORKERS]
#   SIZES: distinct tokens per run, e.g. "50000 200000 1000000" (the default)
#   env CACHE_CONFIG: JSON members merged into the cache-on server's "cache" section
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
binary=$(realpath "$1")
sizes=${2:-50000 200000 1000000}
duration=${3:-10s}
workers=${4:-2}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-64}
work=$(mktemp -d /tmp/edgeauth-bench-cache.XXXXXX)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Dev tokens name the server's address as issuer and audience: every server of the run uses one port.
server_port=$(port)
url="http://127.0.0.1:$server_port/mcp"

stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; server=; }

# start_server CONFIG_FILE: a server on the run's port, from the configuration file.
start_server() {
  "$binary" serve --config "$1" --port "$server_port" --workers "$workers" --no-rate-limit --handler identity > "$work/serve.log" 2>&1 &
  server=$!
  wait_for "http://127.0.0.1:$server_port/healthz"
}

# The development key, once: tokens for the largest size, then the issuer and audience they name.
largest=$(printf '%s\n' $sizes | sort -n | tail -1)
"$binary" serve --port "$server_port" --workers 1 --data-dir "$work/data" --no-rate-limit --handler identity > "$work/serve.log" 2>&1 &
server=$!
wait_for "http://127.0.0.1:$server_port/healthz"
echo "== $largest development tokens"
"$binary" dev-token --user bench --scopes "notes:read" --lifetime 7200 --port "$server_port" --data-dir "$work/data" --count "$largest" > "$work/tokens-all.txt"
stop_server
read -r issuer audience < <(head -1 "$work/tokens-all.txt" | python3 -c '
import base64, json, sys
payload = sys.stdin.read().split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
aud = claims["aud"] if isinstance(claims["aud"], str) else claims["aud"][0]
print(claims["iss"], aud)')

# The same verifier twice, with and without the cache.
verifier="\"issuers\": [\"$issuer\"], \"audiences\": [\"$audience\"], \"algorithms\": [\"ES256\", \"EdDSA\"], \"keys\": [{\"jwksFile\": \"$work/data/dev-jwks.json\"}]"
echo "{$verifier}" > "$work/uncached.json"
write_cached_config() {
  python3 - "$work/cached.json" "$work/cache" "${CACHE_CONFIG:-{\}}" "{$verifier}" <<'PY'
import json, sys
path, directory, extra, base = sys.argv[1:5]
config = json.loads(base)
config["cache"] = {"directory": directory, **json.loads(extra)}
json.dump(config, open(path, "w"))
PY
}

# Each wrk thread walks its own share of the tokens (every THREADS-th line); the fill pass stops
# each thread once its share was answered, the replay goes on for the duration.
cat > "$work/stream.lua" <<'LUA'
-- Each thread builds the requests of its share once: per request it only hands one over, so
-- the client's cost does not grow with the number of tokens.
local stride = tonumber(os.getenv("THREADS"))
local stop_after_share = os.getenv("FILL") == "1"
local requests, index, answered = {}, 0, 0
offset = 0  -- global: setup() gives each thread its own value through thread:set
function setup(thread) offset = offset + 1; thread:set("offset", offset) end
function init(args)
  local tokens = {}
  for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
  local first = (offset - 1) % #tokens + 1  -- fewer tokens than threads: they share
  for i = first, #tokens, stride do
    requests[#requests + 1] = wrk.format("GET", "/mcp", { ["Authorization"] = "Bearer " .. tokens[i] })
  end
  tokens = nil
  collectgarbage()
end
function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
if stop_after_share then
  -- wrk waits out its duration even when every thread stopped: a file per finished thread
  -- tells the script to interrupt it (SIGINT ends the run and prints its figures).
  function response(status, headers, body)
    answered = answered + 1
    if answered == #requests then io.open(os.getenv("DONE") .. "." .. offset, "w"):close() end
  end
end
LUA
run_stream() {  # run_stream TOKENS FILL DURATION
  rm -f "$work"/done.*
  TOKENS="$1" THREADS="$threads" FILL="$2" DONE="$work/done" \
    wrk -t"$threads" -c"$connections" -d"$3" --timeout 10s --latency -s "$work/stream.lua" "$url" > "$work/wrk.out" &
  local client=$!
  if [ "$2" = 1 ]; then
    while kill -0 "$client" 2>/dev/null && [ "$(ls "$work"/done.* 2>/dev/null | wc -l)" -lt "$threads" ]; do sleep 0.2; done
    kill -INT "$client" 2>/dev/null || true
  fi
  wait "$client"
  cat "$work/wrk.out"
}
summary() { grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors" || true; }

# The cache's counters of every worker, summed by series; the map's gauges (host-wide, the same
# from every worker) once.
cache_counters() {
  curl -s "http://127.0.0.1:$server_port/metrics" | python3 -c '
import re, sys
totals = {}
for line in sys.stdin:
    if not line.startswith("edgeauth_cache"): continue
    name, value = line.rsplit(" ", 1)
    name = re.sub(r"worker=\"[0-9]+\",?", "", name).replace("{}", "")
    gauge = name in ("edgeauth_cache_entries", "edgeauth_cache_map_fill_ratio")
    totals[name] = max(totals.get(name, 0), float(value)) if gauge else totals.get(name, 0) + float(value)
for name in sorted(totals): print("   ", name, int(totals[name]) if totals[name].is_integer() else totals[name])'
}

# The ceiling the replays are compared with: one token, the same client and stream script.
head -n 1 "$work/tokens-all.txt" > "$work/one-token.txt"
rm -rf "$work/cache"
write_cached_config
start_server "$work/cached.json"
echo
echo "== one token, $workers workers, cache on ($duration)"
run_stream "$work/one-token.txt" 0 "$duration" | summary
stop_server

for size in $sizes; do
  head -n "$size" "$work/tokens-all.txt" > "$work/tokens.txt"
  echo
  echo "== $size distinct tokens, $workers workers, cache on${CACHE_CONFIG:+ ($CACHE_CONFIG)}"
  rm -rf "$work/cache"
  write_cached_config
  start_server "$work/cached.json"
  echo "-- fill: each token once"
  run_stream "$work/tokens.txt" 1 3600s | summary
  echo "-- replay ($duration)"
  run_stream "$work/tokens.txt" 0 "$duration" | summary
  echo "-- cache counters (all workers)"
  cache_counters
  echo "   'verifying without the cache' logged: $(grep -c 'verifying without the cache' "$work/serve.log" || true) time(s)"
  echo "   cache files: $(du -sh --apparent-size "$work/cache/data.mdb" | cut -f1) apparent, $(du -sh "$work/cache/data.mdb" | cut -f1) on disk"
  echo "   workers' resident memory (KiB, the shared map's pages included): $(ps -o rss= --ppid "$server" | tr -s ' \n' ' ')"
  stop_server

  echo "== $size distinct tokens, $workers workers, no cache: the same stream ($duration)"
  start_server "$work/uncached.json"
  run_stream "$work/tokens.txt" 0 "$duration" | summary
  stop_server
done
