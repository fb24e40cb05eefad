# Sourced by the HTTP benchmarks (bench-http.sh, cpu-per-request.sh).

# A free loopback port.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until URL answers (10 s at most).
wait_for() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "nothing answers at $1" >&2; exit 1; }

# start_nginx_204 WORK PORT WORKERS: nginx as a daemon answering every request with
# `return 204;`, its files and pid ($WORK/nginx.pid) under WORK.
start_nginx_204() {
  local work=$1 port=$2 workers=$3
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
  server { listen 127.0.0.1:$port; location / { return 204; } }
}
CONF
  nginx -c "$work/nginx.conf" -p "$work/nginx"
}
