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
source "$(dirname "$0")/valgrind-ready.sh" RequestInstructions
echo "instructions per request: $(( ($(instructions 3000) - $(instructions 1000)) / 2000 ))"
