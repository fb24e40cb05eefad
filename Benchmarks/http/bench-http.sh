#!/usr/bin/env bash
# The HTTP benchmark (docs/benchmarks.md, "HTTP server"): wrk against edgeauth serve's protected
# route with a cached valid token, and against nginx answering `return 204;`, with the same worker
# count and wrk settings; then a stream of distinct tokens, each verified in full; then an
# authenticated MCP tools/call on the demo server against the same call on FastMCP with its
# JWTVerifier, the same key and the same token ("MCP tools/call").
# Usage: bench-http.sh EDGEAUTH_BINARY [WORKERS] [DURATION]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
binary=$1
workers=${2:-1}
duration=${3:-10s}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-64}
work=$(mktemp -d /tmp/edgeauth-bench-http.XXXXXX)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
run_wrk() { wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@"; }

edgeauth_port=$(port)
# One user from one address at full speed: the rate limits would answer most requests with 429.
"$binary" serve --port "$edgeauth_port" --workers "$workers" --data-dir "$work/data" --no-rate-limit --handler identity > "$work/serve.log" 2>&1 &
server=$!
wait_for "http://127.0.0.1:$edgeauth_port/healthz"
token=$("$binary" dev-token --user bench --scopes "notes:read" --port "$edgeauth_port" --data-dir "$work/data")
url="http://127.0.0.1:$edgeauth_port/mcp"
test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")" = 200

echo "== edgeauth serve ($workers worker(s)): GET /mcp, cached valid token, identity answered as JSON"
run_wrk -H "Authorization: Bearer $token" "$url" --timeout 5s

nginx_port=$(port)
start_nginx_204 "$work" "$nginx_port" $workers
wait_for "http://127.0.0.1:$nginx_port/"
echo "== nginx ($workers worker(s)): return 204"
run_wrk -H "Authorization: Bearer $token" "http://127.0.0.1:$nginx_port/"
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"

echo "== edgeauth serve: a stream of distinct tokens (each verified in full, ES256)"
"$binary" dev-token --user bench --scopes "notes:read" --port "$edgeauth_port" --data-dir "$work/data" --count "${DISTINCT_TOKENS:-200000}" > "$work/tokens.txt"
cat > "$work/distinct.lua" <<'LUA'
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local index = 0
offset = 0  -- global: setup() gives each thread its own value through thread:set
function setup(thread) offset = offset + 1; thread:set("offset", offset) end
function init(args) index = offset end
function request()
  index = index + 2
  if index > #tokens then index = offset end
  return wrk.format("GET", "/mcp", { ["Authorization"] = "Bearer " .. tokens[index] })
end
LUA
TOKENS="$work/tokens.txt" run_wrk -s "$work/distinct.lua" "$url"

# MCP tools/call of `whoami`, the same request and the same token on two servers: edgeauth serve
# with its demo MCP handler, and a FastMCP server (one uvicorn process, stateless HTTP, JSON
# answers) whose JWTVerifier trusts the same development key, issuer and audience.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fastmcp_venv=${FASTMCP_VENV:-$here/../../.build/bench-venv}
# fastmcp_server.py is written against this release's API.
fastmcp_requirement=fastmcp==4.2.3
if [ ! -x "$fastmcp_venv/bin/python3" ]; then python3 -m venv "$fastmcp_venv"; fi
if ! "$fastmcp_venv/bin/python3" -c 'import importlib.metadata as m, sys; sys.exit(m.version("fastmcp") != sys.argv[1])' \
    "${fastmcp_requirement#fastmcp==}" 2>/dev/null; then
  "$fastmcp_venv/bin/python3" -m pip install -q --disable-pip-version-check "$fastmcp_requirement"
fi

cleanup_fastmcp() {
  [ -n "${fastmcp:-}" ] && kill "$fastmcp" 2>/dev/null && wait "$fastmcp" 2>/dev/null || true
  cleanup
}
trap cleanup_fastmcp EXIT

# POSTs one tools/call of whoami; fails unless the answer is 200 and names the user.
check_whoami() {
  local answer code
  answer=$(curl -s -w '\n%{http_code}' -X POST "$1" -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}') || true
  code=${answer##*$'\n'}
  if [ "$code" != 200 ] || [[ "${answer%$'\n'*}" != *bench* ]]; then
    echo "tools/call whoami at $1 answered HTTP $code: ${answer%$'\n'*}" >&2
    exit 1
  fi
}
# Runs tools-call.lua, prints wrk's report and leaves the requests/s in $rps; fails when any answer
# was not 200 with the user's name in it. An unreported warm-up run comes first: Python builds
# schemas and imports modules lazily on the first calls, which would otherwise count against it.
run_tools_call() {
  local report
  TOKEN="$mcp_token" EXPECT=bench wrk -t"$threads" -c"$connections" -d"${WARMUP:-2s}" --timeout 5s -s "$here/tools-call.lua" "$1" > /dev/null
  report=$(TOKEN="$mcp_token" EXPECT=bench run_wrk --timeout 5s -s "$here/tools-call.lua" "$1")
  echo "$report"
  if ! grep -Eq '^tools/call check: [1-9][0-9]* answers, 0 not 200, 0 without' <<<"$report"; then
    echo "tools/call at $1: some answers were errors (see the check line above)" >&2
    exit 1
  fi
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")
}

# The identity server is idle from here on: stop it so that only the measured server runs.
kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
server=
mcp_port=$(port)
"$binary" serve --port "$mcp_port" --workers "$workers" --data-dir "$work/data" --no-rate-limit --handler mcp-demo > "$work/serve-mcp.log" 2>&1 &
server=$!
wait_for "http://127.0.0.1:$mcp_port/healthz"
mcp_token=$("$binary" dev-token --user bench --scopes "notes:read" --port "$mcp_port" --data-dir "$work/data")
mcp_url="http://127.0.0.1:$mcp_port/mcp"
check_whoami "$mcp_url" "$mcp_token"
echo "== edgeauth serve ($workers worker(s)): POST /mcp tools/call whoami, cached valid token, JSON answer"
run_tools_call "$mcp_url"
edgeauth_rps=$rps
kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
server=

fastmcp_port=$(port)
"$fastmcp_venv/bin/python3" "$here/fastmcp_server.py" --port "$fastmcp_port" --jwks "$work/data/dev-jwks.json" \
  --issuer "http://127.0.0.1:$mcp_port" --audience "$mcp_url" > "$work/fastmcp.log" 2>&1 &
fastmcp=$!
fastmcp_url="http://127.0.0.1:$fastmcp_port/mcp"
# Importing fastmcp takes seconds: wait longer than wait_for does, and stop early if it died.
for _ in $(seq 300); do
  curl -s -o /dev/null "$fastmcp_url" && break
  kill -0 "$fastmcp" 2>/dev/null || { echo "fastmcp_server.py exited:" >&2; cat "$work/fastmcp.log" >&2; exit 1; }
  sleep 0.1
done
check_whoami "$fastmcp_url" "$mcp_token"
echo "== FastMCP $("$fastmcp_venv/bin/python3" -c 'import importlib.metadata as m; print(m.version("fastmcp"))') (1 process): POST /mcp tools/call whoami, JWTVerifier ES256, same token"
run_tools_call "$fastmcp_url"
fastmcp_rps=$rps
kill "$fastmcp" 2>/dev/null && wait "$fastmcp" 2>/dev/null || true
fastmcp=

echo "tools/call requests/s: edgeauth $edgeauth_rps, fastmcp $fastmcp_rps"
awk -v a="$edgeauth_rps" -v b="$fastmcp_rps" 'BEGIN { printf "tools/call ratio: %.1fx\n", a / b }'
