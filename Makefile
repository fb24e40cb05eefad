# EdgeAuth — build, test, benchmark.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
VENV := .venv
PYTHON := $(VENV)/bin/python3
# golang-go: the cgo example of the C ABI (examples/go), built offline by `make test`.
APT_PACKAGES := libssl-dev liblmdb-dev pkg-config openssl golang-go
# The browser the login-page tests drive (Tests/mcp/test_browser_login.py), installed by `make test`.
# What building the nginx module needs besides nginx: Debian's nginx sources, and the libraries its configure checks.
NGINX_MODULE_PACKAGES := nginx-dev libpcre2-dev zlib1g-dev
# faketime: the clock of `edgeauth serve` moved while it runs (Tests/faults/test_clock_jumps.py).
TEST_APT_PACKAGES := chromium chromium-driver nginx-light faketime $(NGINX_MODULE_PACKAGES)
BENCH_NOW := 1764003600
BENCH_WORKERS ?= 1

.PHONY: help deps packages build test soak fuzz fuzz-smoke fuzz-build fuzz-tokens mcp-client release bench bench-instructions bench-http bench-oauth bench-cache c-abi-bench serve python-deps install c-abi-test python-package-test nginx-module nginx-module-test bench-nginx bench-python clean
.DEFAULT_GOAL := help

## help: list these targets and what they do (also what a plain `make` prints).
# Prints every `## name: description` comment of this file; the lines after one that do not name a
# target continue its description.
help:
	@awk '/^## [a-z][a-z0-9_-]*: / { sub(/^## /, ""); n = index($$0, ":"); \
	    printf "  %-20s%s\n", substr($$0, 1, n - 1), substr($$0, n + 2); more = 1; next } \
	  more && /^## / { sub(/^## /, ""); printf "  %-20s%s\n", "", $$0; next } \
	  { more = 0 }' $(firstword $(MAKEFILE_LIST))

## deps: system packages the build needs (apt-get when root, else the command to run).
deps:
	@$(MAKE) --no-print-directory packages PACKAGES="$(APT_PACKAGES)"

## packages: install the system packages in PACKAGES (used by deps and the benchmark targets).
packages:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

## python-deps: a local virtualenv with the independent JOSE implementation the differential test uses
## and the official MCP Python SDK the client tests use.
PYTHON_REQUIREMENTS := Tests/differential/requirements.txt examples/python/requirements.txt Tests/mcp/requirements.txt
python-deps: $(VENV)/.ready
$(VENV)/.ready: $(PYTHON_REQUIREMENTS)
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check $(addprefix -r ,$(PYTHON_REQUIREMENTS))
	touch $@

## build: the Swift package (debug).
build: deps
	$(SWIFT) build

## test: build and run every test: Swift, the MCP client tests and the fault injection tests (Python), then c-abi-test.
test: deps python-deps
	@$(MAKE) --no-print-directory packages PACKAGES="$(TEST_APT_PACKAGES)"
	$(SWIFT) build --build-tests
	EDGEAUTH_PYTHON=$(abspath $(PYTHON)) $(SWIFT) test --skip-build
	EDGEAUTH_BINARY=$$($(SWIFT) build --show-bin-path)/edgeauth $(PYTHON) -m pytest -q -p no:cacheprovider Tests/mcp
	EDGEAUTH_BINARY=$$($(SWIFT) build --show-bin-path)/edgeauth $(PYTHON) Tests/soak/soak.py --seconds 120
	EDGEAUTH_BINARY=$$($(SWIFT) build --show-bin-path)/edgeauth $(PYTHON) -m pytest -q -p no:cacheprovider Tests/faults
	$(MAKE) --no-print-directory c-abi-test
	$(MAKE) --no-print-directory nginx-module-test

## soak: edgeauth serve (debug) under mixed keep-alive traffic for SOAK_SECONDS (default 1800) while its master is
## sent SIGHUP, its workers are killed and its identity provider rotates keys and goes down; fails on a wrong answer,
## a lost request, growing memory or descriptors, or an unbounded cache (Tests/soak/soak.py; docs/security.md).
## make test runs it for 120 s.
SOAK_SECONDS ?= 1800
soak: deps python-deps
	$(SWIFT) build
	EDGEAUTH_BINARY=$$($(SWIFT) build --show-bin-path)/edgeauth $(PYTHON) Tests/soak/soak.py --seconds $(SOAK_SECONDS)

## fuzz: build the libFuzzer targets (address sanitizer, .build-fuzz) and run each for FUZZ_SECONDS
## (default 60) on its kept corpus; fails on any crash, leak, time-out or violated property (Fuzz/README.md).
## FUZZ_TARGETS picks some: make fuzz FUZZ_TARGETS="http-request token" FUZZ_SECONDS=600
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= token json base64url jwk jwks http-request http-response authorization form client-registration client-metadata \
	redirect-uri configuration-json configuration-yaml
FUZZ_BINARY := $(CURDIR)/.build-fuzz/release/edgeauth-fuzz
fuzz: fuzz-build
	Fuzz/run.sh $(FUZZ_BINARY) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## fuzz-smoke: every fuzz target under libFuzzer for a few seconds. (make test runs every target without
## the sanitizer build, on its seeds and their mutations: Fuzz/Smoke.)
fuzz-smoke: fuzz-build
	Fuzz/run.sh $(FUZZ_BINARY) 3 $(FUZZ_TARGETS)

# The targets exist in the package only with EDGEAUTH_FUZZ set (Package.swift); the linker's
# notes about the sanitizer's local symbols are dropped.
fuzz-build: deps
	set -o pipefail; EDGEAUTH_FUZZ=1 $(SWIFT) build -c release --scratch-path $(CURDIR)/.build-fuzz --product edgeauth-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing 2>&1 | grep -v "Cannot export local symbol"

## release: the edgeauth binary to deploy (.build-static/release/edgeauth): optimized, with the Swift
## runtime and Foundation linked in: the machine it runs on needs no Swift toolchain (Debian's liblmdb0,
## libssl3 and libcurl4 only), and the runtime's calls skip the dynamic linker's indirection
## (docs/server.md, "Building for deployment").
## SERVER_STATIC=0 builds it with the shared Swift runtime (.build/release/edgeauth) instead.
## The benchmarks of the server (bench-http, bench-cache, bench-oauth) measure this binary.
SERVER_STATIC ?= 1
$(if $(filter-out 0 1,$(SERVER_STATIC)),$(error SERVER_STATIC is 1 (the Swift runtime linked in) or 0 (shared), not "$(SERVER_STATIC)"))
# The build with the Swift runtime and Foundation linked in, in its own build directory (also
# `make install STATIC_SWIFT_STDLIB=1`).
STATIC_RUNTIME_FLAGS := --scratch-path $(CURDIR)/.build-static -Xswiftc -static-stdlib
# Foundation's static archives link libcurl (FoundationNetworking), hence its development files.
SERVER_PACKAGES := $(if $(filter 1,$(SERVER_STATIC)),libcurl4-openssl-dev)
SERVER_BUILD_FLAGS := -c release $(if $(filter 1,$(SERVER_STATIC)),$(STATIC_RUNTIME_FLAGS))
SERVER_BINARY = $$($(SWIFT) build $(SERVER_BUILD_FLAGS) --show-bin-path)/edgeauth
release: deps
	@$(MAKE) --no-print-directory packages PACKAGES="$(SERVER_PACKAGES)"
	$(SWIFT) build $(SERVER_BUILD_FLAGS) --product edgeauth
	@echo "built $(SERVER_BINARY)"

## install: the C library into PREFIX — lib/libedgeauth.so, include/edgeauth.h, lib/pkgconfig/edgeauth.pc
## (CONFIGURATION=release by default; docs/c-api.md).
## STATIC_SWIFT_STDLIB=1 links the Swift runtime and Foundation into the library instead (own build
## directory .build-static; larger, see docs/c-api.md "Static Swift runtime").
CONFIGURATION ?= release
EDGEAUTH_VERSION := $(shell sed -n 's/^\#define EDGEAUTH_VERSION_STRING "\(.*\)"/\1/p' include/edgeauth.h)
# The library's SONAME carries the ABI major version (EDGEAUTH_VERSION_MAJOR): programs
# record libedgeauth.so.<major> and keep working across compatible updates.
EDGEAUTH_SOVERSION := $(firstword $(subst ., ,$(EDGEAUTH_VERSION)))
STATIC_BUILD_FLAGS := $(if $(filter 1,$(STATIC_SWIFT_STDLIB)),$(STATIC_RUNTIME_FLAGS))
INSTALL_BUILD_FLAGS := -c $(CONFIGURATION) $(STATIC_BUILD_FLAGS)
install: deps
	$(SWIFT) build $(INSTALL_BUILD_FLAGS) --product EdgeAuthCABI -Xlinker -soname=libedgeauth.so.$(EDGEAUTH_SOVERSION)
	@set -e; prefix="$(abspath $(PREFIX))"; \
	bin=$$($(SWIFT) build $(INSTALL_BUILD_FLAGS) --show-bin-path); \
	swiftlib=$$($(SWIFT) -print-target-info | sed -n '/"runtimeLibraryPaths"/{n;s/^[^"]*"\([^"]*\)".*/\1/p;}'); \
	if [ "$(STATIC_SWIFT_STDLIB)" = 1 ]; then swiftlib=""; fi; \
	install -d "$(DESTDIR)$$prefix/lib/pkgconfig" "$(DESTDIR)$$prefix/include"; \
	install -m 0755 "$$bin/libEdgeAuthCABI.so" "$(DESTDIR)$$prefix/lib/libedgeauth.so.$(EDGEAUTH_VERSION)"; \
	ln -sf "libedgeauth.so.$(EDGEAUTH_VERSION)" "$(DESTDIR)$$prefix/lib/libedgeauth.so.$(EDGEAUTH_SOVERSION)"; \
	ln -sf "libedgeauth.so.$(EDGEAUTH_SOVERSION)" "$(DESTDIR)$$prefix/lib/libedgeauth.so"; \
	install -m 0644 include/edgeauth.h "$(DESTDIR)$$prefix/include/edgeauth.h"; \
	sed -e "s|@PREFIX@|$$prefix|" -e "s|@VERSION@|$(EDGEAUTH_VERSION)|" -e "s|@SWIFT_LIBDIR@|$$swiftlib|" \
	  pkgconfig/edgeauth.pc.in > "$(DESTDIR)$$prefix/lib/pkgconfig/edgeauth.pc"; \
	echo "installed libedgeauth $(EDGEAUTH_VERSION) ($(CONFIGURATION)) into $(DESTDIR)$$prefix"

## c-abi-test: install the debug library under .build/c-abi/prefix and run the C, Python and Go examples against it.
CABI_DIR := $(CURDIR)/.build/c-abi
CABI_PREFIX := $(CABI_DIR)/prefix
GO_ENV := GOPATH=$(CABI_DIR)/go GOCACHE=$(CABI_DIR)/go-cache GOPROXY=off GOTOOLCHAIN=local \
	PKG_CONFIG_PATH=$(CABI_PREFIX)/lib/pkgconfig
c-abi-test: deps python-deps
	$(MAKE) --no-print-directory install PREFIX=$(CABI_PREFIX) CONFIGURATION=debug
	$(MAKE) --no-print-directory -C examples/c test PREFIX=$(CABI_PREFIX) BUILD=$(CABI_DIR)/c BENCH_DATA=$(CURDIR)/bench-data
	cd examples/python && EDGEAUTH_LIBRARY=$(CABI_PREFIX)/lib/libedgeauth.so EDGEAUTH_BENCH_DATA=$(CURDIR)/bench-data \
	  $(abspath $(PYTHON)) -m pytest -q -p no:cacheprovider
	EDGEAUTH_LIBRARY=$(CABI_PREFIX)/lib/libedgeauth.so $(PYTHON) examples/python/example.py bench-data/tokens/auth0-rs256.jwt \
	  | grep -qx "auth0|6651f0c2a5b8e3d4f7a90b12 \['call:tools', 'read:resources', 'read:tools'\] True"
	python3 examples/check_doc_snippets.py docs/c-api.md docs/quickstart.md
	cd examples/go && $(GO_ENV) go vet ./... && $(GO_ENV) go test -count=1 ./... && \
	  $(GO_ENV) go run ./cmd/verify -config testdata/config.json -now $(BENCH_NOW) < $(CURDIR)/bench-data/tokens/keycloak-es256.jwt
	cd integrations/go && $(GO_ENV) go vet ./... && $(GO_ENV) go test -count=1 ./...
	$(MAKE) --no-print-directory python-package-test

## python-package-test: install the Python package integrations/python (edgeauth: typed API, MCP SDK, FastMCP
## and ASGI adapters) into the venv and run its tests against the library c-abi-test installed.
# A virtualenv of its own: FastMCP's dependencies would otherwise move the pins the differential test needs.
INTEGRATIONS_VENV := $(CURDIR)/.build/integrations-venv
python-package-test:
	test -x $(INTEGRATIONS_VENV)/bin/python3 || python3 -m venv $(INTEGRATIONS_VENV)
	$(INTEGRATIONS_VENV)/bin/python3 -m pip install -q --disable-pip-version-check -r integrations/python/tests/requirements.txt ./integrations/python
	cd integrations/python && EDGEAUTH_LIBRARY=$(CABI_PREFIX)/lib/libedgeauth.so EDGEAUTH_BENCH_DATA=$(CURDIR)/bench-data \
	  $(INTEGRATIONS_VENV)/bin/python3 -m pytest -q -p no:cacheprovider tests

## fuzz-tokens: the fuzzed differential against joserfc (Tests/differential/fuzz_tokens.py): mutated tokens
## through the debug library c-abi-test installs and joserfc side by side for FUZZ_SECONDS (default 60);
## FUZZ_SEED to repeat a run. Disagreements go to .build/fuzz/findings/token-differential
## (docs/differential-testing.md).
FUZZ_SEED ?=
fuzz-tokens: deps python-deps
	$(MAKE) --no-print-directory install PREFIX=$(CABI_PREFIX) CONFIGURATION=debug
	$(PYTHON) Tests/differential/fuzz_tokens.py --seconds $(FUZZ_SECONDS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) \
	  --library $(CABI_PREFIX)/lib/libedgeauth.so --findings $(CURDIR)/.build/fuzz/findings/token-differential

## nginx-module: the nginx dynamic module (integrations/nginx) built against Debian's nginx-dev sources and the
## library in EDGEAUTH_PREFIX (default: the one c-abi-test installs), into .build/nginx (docs/integrations.md).
EDGEAUTH_PREFIX ?= $(CABI_PREFIX)
nginx-module: deps
	@$(MAKE) --no-print-directory packages PACKAGES="nginx-light $(NGINX_MODULE_PACKAGES)"
	@test -f $(EDGEAUTH_PREFIX)/include/edgeauth.h || $(MAKE) --no-print-directory install PREFIX=$(EDGEAUTH_PREFIX) CONFIGURATION=debug
	integrations/nginx/build.sh $(EDGEAUTH_PREFIX) $(CURDIR)/.build/nginx

## bench-nginx: nginx with the module protecting `return 204;` against plain nginx, the library in release
## (docs/benchmarks.md, "The nginx module").
bench-nginx: deps python-deps
	@$(MAKE) --no-print-directory packages PACKAGES="wrk curl nginx-light $(NGINX_MODULE_PACKAGES)"
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/.build/bench-prefix CONFIGURATION=release
	Benchmarks/http/bench-nginx-module.sh $(CURDIR)/.build/bench-prefix $(BENCH_WORKERS)

## nginx-module-test: the module in nginx from Debian (integrations/nginx/test_module.py).
nginx-module-test: nginx-module python-deps
	EDGEAUTH_PYTHON=$(abspath $(PYTHON)) EDGEAUTH_NGINX_MODULE=$(CURDIR)/.build/nginx/ngx_http_edgeauth_module.so $(PYTHON) -m pytest -q -p no:cacheprovider integrations/nginx/test_module.py

## serve: start edgeauth serve on 127.0.0.1:8080 with the embedded development default (HOST, PORT, WORKERS to change).
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 0
serve: build
	@bin=$$($(SWIFT) build --show-bin-path)/edgeauth; \
	exec $$bin serve --host $(HOST) --port $(PORT) $$( [ "$(WORKERS)" != 0 ] && echo --workers $(WORKERS) )

## mcp-client: the official MCP Python SDK client (examples/mcp-client) against MCP_URL: it logs in through
## EdgeAuth (in a browser, or headless as MCP_USER) and calls whoami and list_notes.
MCP_URL ?= http://127.0.0.1:8080/mcp
MCP_USER ?=
mcp-client: python-deps
	$(PYTHON) examples/mcp-client/client.py $(MCP_URL) $(if $(MCP_USER),--user $(MCP_USER))

## bench: the Swift benchmarks (Benchmarks/), the C ABI benchmark against the release library, then
## bench-oauth.
BENCH_DIR := $(CURDIR)/.build/bench
bench: deps
	cd Benchmarks && $(SWIFT) package --disable-sandbox benchmark --no-progress
	$(MAKE) --no-print-directory c-abi-bench
	$(MAKE) --no-print-directory bench-oauth

## bench-instructions: exact instruction counts of the parser for every bench-data token, of a full
## HS256 verification, and of the server's protected route per request without the sockets
## (valgrind; docs/benchmarks.md).
bench-instructions: deps
	@$(MAKE) --no-print-directory packages PACKAGES="valgrind binutils"
	Benchmarks/Instructions/instructions.sh
	Benchmarks/Instructions/verify-instructions.sh
	Benchmarks/Instructions/requests.sh

## bench-http: wrk against edgeauth serve and against nginx, same workers and settings, then the gateway (forward-auth
## and reverse proxy) against nginx (docs/benchmarks.md); the server built by `make release`.
bench-http: release
	@$(MAKE) --no-print-directory packages PACKAGES="wrk nginx-light curl"
	Benchmarks/http/bench-http.sh $(SERVER_BINARY) $(BENCH_WORKERS)
	Benchmarks/http/bench-gateway.sh $(SERVER_BINARY) $(BENCH_WORKERS)

## bench-cache: the verdict cache at gateway scale: wrk replaying 50 000, 200 000 and 1 000 000 distinct
## tokens against edgeauth serve with and without the cache, then the cache's own costs at 10^3-10^6
## verdicts (docs/benchmarks.md).
bench-cache: release
	@$(MAKE) --no-print-directory packages PACKAGES="wrk curl"
	$(SWIFT) build -c release --product CacheScale
	Benchmarks/http/bench-cache.sh $(SERVER_BINARY)
	$$($(SWIFT) build -c release --show-bin-path)/CacheScale

## bench-oauth: wrk against the authorization server's /token (authorization_code with PKCE, refresh_token
## with rotation), every request with a code or token of its own, against FastMCP's in-memory OAuth
## provider, beside the durable LMDB commits/s of the data directory's filesystem (docs/benchmarks.md;
## OAUTH_WORKERS, default 2).
## Its Python has a virtual environment of its own: FastMCP's Authlib needs a newer joserfc than
## the one the differential tests pin in .venv.
OAUTH_WORKERS ?= 2
OAUTH_VENV := .build/oauth-bench-venv
bench-oauth: release $(OAUTH_VENV)/.ready
	@$(MAKE) --no-print-directory packages PACKAGES="wrk curl gcc nginx-light time"
	PYTHON=$(abspath $(OAUTH_VENV))/bin/python3 Benchmarks/oauth/bench-oauth.sh $(SERVER_BINARY) $(OAUTH_WORKERS)
$(OAUTH_VENV)/.ready: Benchmarks/oauth/requirements.txt
	python3 -m venv $(OAUTH_VENV)
	$(OAUTH_VENV)/bin/python3 -m pip install -q --disable-pip-version-check -r Benchmarks/oauth/requirements.txt
	touch $@

## c-abi-bench: examples/c/bench.c against the release library (docs/benchmarks.md, "Through the C ABI").
c-abi-bench: deps
	$(MAKE) --no-print-directory install PREFIX=$(BENCH_DIR)/prefix CONFIGURATION=release
	rm -rf $(BENCH_DIR)/cache
	$(MAKE) --no-print-directory -C examples/c bench PREFIX=$(BENCH_DIR)/prefix BUILD=$(BENCH_DIR)/c \
	  BENCH_DATA=$(CURDIR)/bench-data CACHE=$(BENCH_DIR)/cache

## bench-python: EdgeAuth's Python package (edgeauth.Verifier, the FastMCP verifier) against PyJWT, joserfc and
## FastMCP's JWTVerifier, the library in release: verification alone, then a FastMCP tools/call with wrk
## (Benchmarks/python/bench_python.py; docs/benchmarks.md).
bench-python: deps
	@$(MAKE) --no-print-directory packages PACKAGES="wrk"
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/.build/bench-prefix CONFIGURATION=release
	test -x $(INTEGRATIONS_VENV)/bin/python3 || python3 -m venv $(INTEGRATIONS_VENV)
	$(INTEGRATIONS_VENV)/bin/python3 -m pip install -q --disable-pip-version-check -r Benchmarks/python/requirements.txt ./integrations/python
	EDGEAUTH_LIBRARY=$(CURDIR)/.build/bench-prefix/lib/libedgeauth.so $(INTEGRATIONS_VENV)/bin/python3 Benchmarks/python/bench_python.py

## clean: remove what the build, the tests and the benchmarks generate (.build, .build-*, .venv, the
## benchmark packages' .build, __pycache__); tracked files and the development data in .edgeauth are kept.
clean:
	rm -rf .build .build-* .build_* $(VENV) \
	  Benchmarks/.build Benchmarks/Instructions/.build Benchmarks/http/nio-floor/.build
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
