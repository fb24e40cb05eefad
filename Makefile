# EdgeAuth — build, test, benchmark.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
VENV := .venv
PYTHON := $(VENV)/bin/python3
APT_PACKAGES := libssl-dev liblmdb-dev pkg-config openssl
BENCH_NOW := 1764003600

.PHONY: deps build test bench serve python-deps clean-venv

## deps: system packages the build needs (apt-get when root, else the command to run).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
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

## python-deps: a local virtualenv with the independent JOSE implementation the differential test uses.
python-deps: $(VENV)/.ready
$(VENV)/.ready: Tests/differential/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r Tests/differential/requirements.txt
	touch $@

build: deps
	$(SWIFT) build

test: deps python-deps
	$(SWIFT) build --build-tests
	EDGEAUTH_PYTHON=$(abspath $(PYTHON)) $(SWIFT) test --skip-build

## serve: until the HTTP server exists, show the engine verifying the bundled benchmark tokens.
serve: build
	@bin=$$($(SWIFT) build --show-bin-path)/edgeauth; \
	for name in auth0-rs256 keycloak-es256 auth0-eddsa; do \
	  echo "== edgeauth verify bench-data/tokens/$$name.jwt"; \
	  $$bin verify - --jwks bench-data/jwks.json \
	    --issuer "https://edgeauth-bench.us.auth0.com/" --issuer "https://sso.edgeauth.test/realms/bench" \
	    --audience "https://api.edgeauth.test" --now $(BENCH_NOW) < bench-data/tokens/$$name.jwt || exit 1; \
	done; \
	echo "== a tampered token is rejected with a reason code"; \
	awk '{ n = length($$0) - 19; c = substr($$0, n, 1); printf "%s%s%s", substr($$0, 1, n - 1), (c == "A" ? "B" : "A"), substr($$0, n + 1) }' \
	  bench-data/tokens/auth0-rs256.jwt | $$bin verify - --jwks bench-data/jwks.json \
	  --issuer "https://edgeauth-bench.us.auth0.com/" --audience "https://api.edgeauth.test" --now $(BENCH_NOW); \
	test $$? -eq 1

bench: deps
	cd Benchmarks && $(SWIFT) package --disable-sandbox benchmark --no-progress
