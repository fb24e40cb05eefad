#!/bin/bash
# Instructions per request of the server's protected route (docs/benchmarks.md, "HTTP
# server"), counted exactly by valgrind's cachegrind: RequestInstructions (the request
# handler of the embedded default in a channel driven by hand: no sockets, no event loop)
# answering 3000 and 1000 requests of `make bench-http`'s kind; the difference / 2000.
# The sockets' and the event loop's share is not in it; everything EdgeAuth does per
# request is, so this shows what a change to the request path does where wall-clock
# figures on a virtual machine drift.
#
#   Benchmarks/Instructions/requests.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
swift build -c release --product RequestInstructions >/dev/null
binary=$(swift build -c release --show-bin-path)/RequestInstructions
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF 5 debug information Swift 6.3 writes (instructions.sh).
cp "$binary" "$work/RequestInstructions"
ldd "$binary" | awk '/=>/ {print $3}' | grep -vE '/libc\.so|/libm\.so|/libpthread|/ld-linux' | while read -r library; do cp "$library" "$work/"; done
strip -g "$work"/* 2>/dev/null || true

count() {
    LD_LIBRARY_PATH="$work" valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$work/RequestInstructions" "$1" 2>&1 | awk '/I *refs:/ {gsub(",", "", $NF); print $NF}'
}
echo "instructions per request: $(( ($(count 3000) - $(count 1000)) / 2000 ))"
