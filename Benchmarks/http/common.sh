# Sourced by the HTTP benchmarks (bench-http.sh, cpu-per-request.sh).

# A free loopback port.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until URL answers (10 s at most).
wait_for() { for _ in $(seq 100); do curl -s -m 2 -o /dev/null "$1" && return 0; sleep 0.1; done; echo "nothing answers at $1" >&2; exit 1; }

# start_nginx_204 WORK PORT WORKERS: nginx as a daemon answering every request with
# `return 204;`, its files and pid ($WORK/nginx.pid) under WORK.
start_nginx_204() { start_nginx "$1" "$2" "$3" 'location / { return 204; }' nginx; }

# start_nginx WORK PORT WORKERS LOCATIONS NAME: nginx as a daemon with these location blocks, its
# configuration, files and pid ($WORK/NAME.pid) under WORK/NAME.
start_nginx() {
  local work=$1 port=$2 workers=$3 locations=$4 name=$5
  mkdir -p "$work/$name"
  cat > "$work/$name.conf" <<CONF
worker_processes $workers;
daemon on;
pid $work/$name.pid;
error_log $work/$name/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/$name; proxy_temp_path $work/$name; fastcgi_temp_path $work/$name;
  uwsgi_temp_path $work/$name; scgi_temp_path $work/$name;
  upstream backend { server 127.0.0.1:${UPSTREAM_PORT:-9}; keepalive 64; }
  server { listen 127.0.0.1:$port; $locations }
}
CONF
  nginx -c "$work/$name.conf" -p "$work/$name"
}

# stop_all WORK PID…: stops these processes and every nginx daemon whose pid file is in WORK,
# then removes WORK (the benchmarks' exit trap).
stop_all() {
  local work=$1 pid
  shift
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$work"/*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null; done
  sleep 0.5
  rm -rf "$work"
}

# start_upstream WORK WORKERS: the gateway benchmarks' static upstream, nginx answering every
# request with a small JSON-RPC result; its port in UPSTREAM_PORT.
start_upstream() {
  UPSTREAM_PORT=$(port)
  start_nginx "$1" "$UPSTREAM_PORT" "$2" \
    'location / { default_type application/json; return 200 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"; }' upstream
  wait_for "http://127.0.0.1:$UPSTREAM_PORT/mcp"
}

# start_gateway BINARY WORK PORT WORKERS: a development token for a gateway at PORT (in
# GATEWAY_TOKEN), then `edgeauth serve` as that gateway in the background (its pid in
# GATEWAY_PID): /mcp proxied to the upstream at UPSTREAM_PORT (scope notes:read), forward-auth at
# /auth/verify. Its files are under WORK/gateway-PORT.
start_gateway() {
  local binary=$1 dir=$2/gateway-$3 port=$3 workers=$4 dev
  mkdir -p "$dir"
  "$binary" serve --port "$port" --workers 1 --data-dir "$dir/data" --handler identity > "$dir/dev.log" 2>&1 &
  dev=$!
  wait_for "http://127.0.0.1:$port/healthz"
  GATEWAY_TOKEN=$("$binary" dev-token --user bench --scopes "notes:read" --roles viewer --port "$port" --data-dir "$dir/data")
  kill "$dev"; wait "$dev" 2>/dev/null || true
  cat > "$dir/gateway.yaml" <<YAML
issuers: ["http://127.0.0.1:$port/"]
audiences: ["http://127.0.0.1:$port/mcp"]
keys: [{jwksFile: $dir/data/dev-jwks.json}]
cache: {directory: $dir/cache}
server: {port: $port, workers: $workers}
gateway:
  routes: [{prefix: /mcp, upstream: "http://127.0.0.1:$UPSTREAM_PORT/mcp", requirements: {scopes: [notes:read]}}]
  forwardAuth: {path: /auth/verify}
YAML
  "$binary" serve --config "$dir/gateway.yaml" --no-rate-limit > "$dir/serve.log" 2>&1 &
  GATEWAY_PID=$!
  wait_for "http://127.0.0.1:$port/healthz"
}
