#!/usr/bin/env bash
# Builds ngx_http_edgeauth_module.so against Debian's nginx-dev sources (/usr/share/nginx/src),
# configured as Debian's nginx was (its conf_flags), so that the installed nginx loads it.
#
#   build.sh EDGEAUTH_PREFIX OUTPUT_DIRECTORY
#
# EDGEAUTH_PREFIX holds include/edgeauth.h and lib/libedgeauth.so (make install PREFIX=…).
set -euo pipefail
prefix=$(cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
module=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sources=/usr/share/nginx/src
[ -f "$sources/conf_flags" ] || { echo "nginx sources not found at $sources: install nginx-dev" >&2; exit 1; }
work="$out/src"
# Configured again only when the module's build description or nginx's sources changed.
stamp="$out/.configured"
if [ ! -f "$stamp" ] || [ "$module/config" -nt "$stamp" ] || [ "$sources/conf_flags" -nt "$stamp" ]; then
  rm -rf "$work"
  cp -r "$sources" "$work"
  # shellcheck disable=SC1091
  source "$sources/conf_flags"
  (cd "$work" && EDGEAUTH_INCLUDE="$prefix/include" \
    EDGEAUTH_LIBS="-L$prefix/lib -Wl,-rpath,$prefix/lib -ledgeauth" \
    ./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$module" > "$out/configure.log" 2>&1) \
    || { tail -20 "$out/configure.log" >&2; exit 1; }
  touch "$stamp"
fi
make -C "$work" -f objs/Makefile modules > "$out/make.log" 2>&1 || { tail -30 "$out/make.log" >&2; exit 1; }
cp "$work/objs/ngx_http_edgeauth_module.so" "$out/ngx_http_edgeauth_module.so"
echo "$out/ngx_http_edgeauth_module.so"
