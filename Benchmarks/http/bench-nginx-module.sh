#!/usr/bin/env bash
# The nginx module's benchmark (docs/benchmarks.md, "The nginx module"): nginx with the module
# protecting `return 204;` against plain nginx `return 204;`, the same workers and wrk settings,
# a cached token; rounds alternate between the two.
# Usage: bench-nginx-module.sh EDGEAUTH_PREFIX [WORKERS] [DURATION]   (ROUNDS=3)
# EDGEAUTH_PREFIX holds the library the module links (make install PREFIX=… CONFIGURATION=release).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/common.sh"
prefix=$(cd "$1" && pwd)
workers=${2:-1}
duration=${3:-10s}
python=${PYTHON:-$here/../../.venv/bin/python3}
work=$(mktemp -d /tmp/edgeauth-bench-nginx.XXXXXX)
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

module=$("$here/../../integrations/nginx/build.sh" "$prefix" "$here/../../.build/nginx-bench")
# An ES256 key published in a JWKS file, and a token it signed.
token=$("$python" - "$work" <<'PY'
import json, sys, time
from joserfc import jwt
from joserfc.jwk import ECKey
key = ECKey.generate_key("P-256", parameters={"kid": "bench", "alg": "ES256"})
open(sys.argv[1] + "/jwks.json", "w").write(json.dumps({"keys": [key.as_dict(private=False)]}))
print(jwt.encode({"alg": "ES256", "kid": "bench"}, {"iss": "https://issuer.bench/", "aud": "https://mcp.bench/mcp", "sub": "bench",
                  "scope": "notes:read", "exp": int(time.time()) + 86400}, key))
PY
)
cat > "$work/verifier.yaml" <<YAML
issuers: [https://issuer.bench/]
audiences: [https://mcp.bench/mcp]
keys: [{jwksFile: $work/jwks.json}]
cache: {directory: $work/cache}
YAML
protected=$(port) plain=$(port)
mkdir -p "$work/nginx"
# As root, nginx's workers would run as nobody, who cannot read the files above.
cat > "$work/nginx.conf" <<CONF
load_module $module;
$([ "$(id -u)" = 0 ] && echo "user root;")
worker_processes $workers;
daemon on;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  edgeauth_config $work/verifier.yaml;
  server {
    listen 127.0.0.1:$protected;
    location / {
      edgeauth on;
      edgeauth_require "scope:notes:read";
      edgeauth_resource_metadata https://mcp.bench/.well-known/oauth-protected-resource/mcp;
      return 204;
    }
  }
  server { listen 127.0.0.1:$plain; location / { return 204; } }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx"
wait_for "http://127.0.0.1:$plain/"
test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$protected/")" = 204
test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$protected/")" = 401

run_wrk() { wrk -t"${WRK_THREADS:-2}" -c"${WRK_CONNECTIONS:-64}" -d"$duration" --latency -H "Authorization: Bearer $token" "$1"; }
ratios=()
for round in $(seq "${ROUNDS:-3}"); do
  echo "== round $round: nginx ($workers worker(s)) with the module, return 204, cached token"
  report=$(run_wrk "http://127.0.0.1:$protected/"); echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'
  with=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")
  echo "== round $round: plain nginx ($workers worker(s)), return 204"
  report=$(run_wrk "http://127.0.0.1:$plain/"); echo "$report" | grep -E 'Requests/sec|^ +(50|99)%'
  without=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")
  ratios+=("$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.2f", a / b }')")
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "module ÷ plain nginx, by round: ${ratios[*]}; median ${median}x (goal >= 0.9x)"
