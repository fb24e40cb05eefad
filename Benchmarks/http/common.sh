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
