#!/usr/bin/env bash
# The HTTP benchmark (docs/benchmarks.md, "HTTP server"): wrk against edgeauth serve's protected
# route with a cached valid token, and against nginx answering `return 204;`, with the same worker
# count and wrk settings; then a stream of distinct tokens, each verified in full.
# Usage: bench-http.sh EDGEAUTH_BINARY [WORKERS] [DURATION]
set -euo pipefail
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
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "nothing answers at $1" >&2; exit 1; }
run_wrk() { wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@"; }

edgeauth_port=$(port)
# One user from one address at full speed: the rate limits would answer most requests with 429.
"$binary" serve --port "$edgeauth_port" --workers "$workers" --data-dir "$work/data" --no-rate-limit > "$work/serve.log" 2>&1 &
server=$!
wait_for "http://127.0.0.1:$edgeauth_port/healthz"
token=$("$binary" dev-token --user bench --scopes "notes:read" --port "$edgeauth_port" --data-dir "$work/data")
url="http://127.0.0.1:$edgeauth_port/mcp"
test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")" = 200

echo "== edgeauth serve ($workers worker(s)): GET /mcp, cached valid token, identity answered as JSON"
run_wrk -H "Authorization: Bearer $token" "$url" --timeout 5s

nginx_port=$(port)
mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<CONF
worker_processes $workers;
daemon on;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nginx_port; location / { return 204; } }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx"
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
local offset = 0
function setup(thread) offset = offset + 1; thread:set("offset", offset) end
function init(args) index = offset end
function request()
  index = index + 2
  if index > #tokens then index = offset end
  return wrk.format("GET", "/mcp", { ["Authorization"] = "Bearer " .. tokens[index] })
end
LUA
TOKENS="$work/tokens.txt" run_wrk -s "$work/distinct.lua" "$url"
