"""EdgeAuth from Python against the Python JWT libraries (docs/benchmarks.md, "From Python").

Two parts, both on tokens minted here with the bench-data keys (the Keycloak-shaped claims of
bench-data/tokens/keycloak-*.jwt, iat and exp moved to now, a `jti` of their own; the same
header and `kid`):

1. Verification alone, one thread: every call timed with perf_counter_ns, then calls/s (calls
   over the loop's wall time), p50 and p99.
   - `edgeauth.Verifier.verify` (the identity copied into Python) and `.is_valid` (the verdict
     only), without a cache (every call a full verification: a verifier without a cache has
     no L1 either), with a cache (the same token again: L1 hits) and with a cache whose L1 is
     off (`"l1Entries": 0`: LMDB hits);
   - PyJWT `jwt.decode` and joserfc `jwt.decode` + `JWTClaimsRegistry.validate`, each with
     the key imported once, checking signature, `iss`, `aud` and `exp`;
   - the two FastMCP token verifiers as FastMCP calls them, `await verify_token(token)`:
     FastMCP's `JWTVerifier` (a PEM public key) and `edgeauth.fastmcp.EdgeAuthTokenVerifier`.
   The uncached rows (every library, and EdgeAuth without a cache) cycle through the same
   pool of distinct tokens; the cached rows send one token again and again.
   ES256 (P-256) and RS256 (RSA 2048).

2. An authenticated MCP `tools/call` of `whoami` on FastMCP (one uvicorn process, stateless
   HTTP, JSON answers, the tool answering "You are <sub>", as Benchmarks/http/fastmcp_server.py),
   protected in turn by FastMCP's `JWTVerifier` and by `edgeauth.fastmcp.EdgeAuthTokenVerifier`
   (without and with a cache), the same ES256 token every time: wrk with
   Benchmarks/http/tools-call.lua after an unreported warm-up; any answer that is not 200 with
   the user's name fails the run.

Usage: bench_python.py [--library PATH] [--duration SECONDS] [--wrk-duration 10s] ...
`make bench-python` installs the release library under .build/bench-prefix, the package and
Benchmarks/python/requirements.txt into .venv, and runs this with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BENCH = ROOT / "bench-data"
TOOLS_CALL_LUA = ROOT / "Benchmarks" / "http" / "tools-call.lua"
ISSUER = "https://sso.edgeauth.test/realms/bench"
AUDIENCE = "https://api.edgeauth.test"
ALGORITHMS = {"ES256": ("keycloak-es256", "p-256.pem"), "RS256": ("keycloak-rs256", "rsa-2048.pem")}


# ---- tokens ------------------------------------------------------------------------------


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@dataclass
class Material:
    algorithm: str
    kid: str
    private_pem: bytes
    public_jwk: dict[str, Any]
    public_pem: str
    token: str              # the one token of the cached rows and of the HTTP part
    pool: list[str]         # distinct tokens for the uncached rows
    subject: str


def material(algorithm: str, pool_size: int) -> Material:
    from cryptography.hazmat.primitives import serialization
    from joserfc import jwt
    from joserfc.jwk import import_key

    name, pem_file = ALGORITHMS[algorithm]
    header_segment, payload_segment, _ = (BENCH / "tokens" / f"{name}.jwt").read_text().strip().split(".")
    header = json.loads(b64decode(header_segment))
    claims = json.loads(b64decode(payload_segment))
    jwks = json.loads((BENCH / "jwks.json").read_text())
    public_jwk = next(key for key in jwks["keys"] if key.get("kid") == header["kid"])
    private_pem = (BENCH / "keys" / pem_file).read_bytes()
    key = import_key(private_pem, "EC" if algorithm.startswith("ES") else "RSA")
    now = int(time.time())
    # Valid for a day from now, as the bench-data tokens are for a day from their iat.
    claims.update(iat=now - 60, exp=now + 86400)
    claims.pop("nbf", None)

    def sign(jti: str) -> str:
        return jwt.encode(header, {**claims, "jti": jti}, key, algorithms=[algorithm])

    public_pem = serialization.load_pem_private_key(private_pem, None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return Material(algorithm, header["kid"], private_pem, public_jwk, public_pem, sign("bench-python"),
                    [sign(f"bench-python-{index}") for index in range(pool_size)], claims["sub"])


# ---- timing ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    tokens: str
    calls: int
    seconds: float
    samples: array

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000.0


def measure(name: str, call: Callable[[str], object], tokens: Sequence[str], duration: float) -> Row:
    """Calls `call` over `tokens` (cycled) for `duration` seconds after a short warm-up, timing
    every call; fails unless every call succeeded."""
    for token in tokens[:50]:
        call(token)
    samples = array("q")
    clock = time.perf_counter_ns
    count = len(tokens)
    index = 0
    gc.collect()
    start = clock()
    deadline = start + int(duration * 1e9)
    now = start
    while now < deadline:
        token = tokens[index]
        index = index + 1 if index + 1 < count else 0
        before = clock()
        call(token)
        now = clock()
        samples.append(now - before)
    seconds = (now - start) / 1e9
    return Row(name, "1 token" if count == 1 else f"{count} distinct", len(samples), seconds, samples)


def measure_async(name: str, verify: Callable[[str], Any], tokens: Sequence[str], duration: float) -> Row:
    """`measure` for `await verify(token)` (FastMCP's TokenVerifier.verify_token), timed inside one
    coroutine so that no event-loop round trip is counted; fails on None (a rejected token)."""

    async def run() -> Row:
        for token in tokens[:50]:
            if await verify(token) is None:
                raise AssertionError(f"{name}: the token was rejected")
        samples = array("q")
        clock = time.perf_counter_ns
        count = len(tokens)
        index = 0
        gc.collect()
        start = clock()
        deadline = start + int(duration * 1e9)
        now = start
        while now < deadline:
            token = tokens[index]
            index = index + 1 if index + 1 < count else 0
            before = clock()
            if await verify(token) is None:
                raise AssertionError(f"{name}: the token was rejected")
            now = clock()
            samples.append(now - before)
        return Row(name, "1 token" if count == 1 else f"{count} distinct", len(samples), (now - start) / 1e9, samples)

    return asyncio.run(run())


# ---- part 1: verification alone ------------------------------------------------------------


def edgeauth_config(keys: Material, cache: Path | None, l1_entries: int | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"issuers": [ISSUER], "audiences": [AUDIENCE], "algorithms": [keys.algorithm],
                              "keys": [{"jwksFile": str(BENCH / "jwks.json")}]}
    if cache is not None:
        config["cache"] = {"directory": str(cache)}
        if l1_entries is not None:
            config["cache"]["l1Entries"] = l1_entries
    return config


def verification_rows(keys: Material, duration: float, work: Path) -> list[Row]:
    import jwt as pyjwt
    from cryptography.hazmat.primitives import serialization
    from fastmcp.server.auth.providers.jwt import JWTVerifier
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import import_key

    import edgeauth
    from edgeauth.fastmcp import EdgeAuthTokenVerifier

    algorithm = keys.algorithm
    rows: list[Row] = []

    def check(verifier: edgeauth.Verifier) -> Callable[[str], object]:
        def is_valid(token: str) -> bool:
            if not verifier.is_valid(token):
                raise AssertionError(f"edgeauth rejected the token: {verifier.explain(token)}")
            return True
        return is_valid

    uncached = edgeauth.Verifier(edgeauth_config(keys, None))
    rows.append(measure("edgeauth Verifier.verify, no cache (full verification)", uncached.verify, keys.pool, duration))
    rows.append(measure("edgeauth Verifier.is_valid, no cache (full verification)", check(uncached), keys.pool, duration))
    l1 = edgeauth.Verifier(edgeauth_config(keys, work / f"cache-l1-{algorithm}"))
    rows.append(measure("edgeauth Verifier.verify, cache (L1 hit)", l1.verify, [keys.token], duration))
    rows.append(measure("edgeauth Verifier.is_valid, cache (L1 hit)", check(l1), [keys.token], duration))
    lmdb = edgeauth.Verifier(edgeauth_config(keys, work / f"cache-lmdb-{algorithm}", l1_entries=0))
    rows.append(measure("edgeauth Verifier.verify, cache without L1 (LMDB hit)", lmdb.verify, [keys.token], duration))
    statistics = l1.cache_statistics(), lmdb.cache_statistics()
    assert statistics[0] is not None and statistics[0].l1_hits > 0, statistics
    assert statistics[1] is not None and statistics[1].hits > 0 and statistics[1].l1_hits == 0, statistics

    public_key = serialization.load_pem_public_key(keys.public_pem.encode())

    def pyjwt_decode(token: str) -> dict[str, Any]:
        return pyjwt.decode(token, public_key, algorithms=[algorithm], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iss", "aud"]})

    rows.append(measure(f"PyJWT {metadata.version('PyJWT')} jwt.decode", pyjwt_decode, keys.pool, duration))

    jose_key = import_key(keys.public_jwk)
    registry = jose_jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER},
                                          aud={"essential": True, "value": AUDIENCE},
                                          exp={"essential": True})

    def joserfc_decode(token: str) -> dict[str, Any]:
        decoded = jose_jwt.decode(token, jose_key, algorithms=[algorithm])
        registry.validate(decoded.claims)
        return decoded.claims

    rows.append(measure(f"joserfc {metadata.version('joserfc')} jwt.decode + validate", joserfc_decode, keys.pool, duration))

    fastmcp_jwt = JWTVerifier(public_key=keys.public_pem, issuer=ISSUER, audience=AUDIENCE, algorithm=algorithm)
    rows.append(measure_async(f"FastMCP {metadata.version('fastmcp')} JWTVerifier.verify_token",
                              fastmcp_jwt.verify_token, keys.pool, duration))
    rows.append(measure_async("edgeauth.fastmcp verify_token, no cache",
                              EdgeAuthTokenVerifier(uncached).verify_token, keys.pool, duration))
    rows.append(measure_async("edgeauth.fastmcp verify_token, cache (L1 hit)",
                              EdgeAuthTokenVerifier(l1).verify_token, [keys.token], duration))
    return rows


# ---- part 2: FastMCP tools/call with wrk ---------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """The FastMCP server of part 2 (run as a subprocess of this script)."""
    import logging

    from fastmcp import FastMCP
    from fastmcp.server.auth import AccessToken
    from fastmcp.server.dependencies import CurrentAccessToken

    if args.verifier == "jwt":
        from fastmcp.server.auth.providers.jwt import JWTVerifier

        auth: Any = JWTVerifier(public_key=Path(args.public_key).read_text(), issuer=ISSUER, audience=AUDIENCE,
                                algorithm="ES256")
    else:
        from edgeauth.fastmcp import EdgeAuthTokenVerifier

        auth = EdgeAuthTokenVerifier(json.loads(Path(args.config).read_text()))
    mcp = FastMCP("edgeauth-bench-python", auth=auth)

    @mcp.tool(output_schema=None)
    async def whoami(token: AccessToken = CurrentAccessToken()) -> str:
        """The caller's subject."""
        return f"You are {(token.claims or {}).get('sub', token.subject)}"

    logging.disable(logging.WARNING)
    mcp.run(transport="http", host="127.0.0.1", port=args.port, path="/mcp", stateless_http=True,
            json_response=True, show_banner=False, log_level="ERROR",
            uvicorn_config={"access_log": False, "log_level": "error"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TOOLS_CALL = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'


def tools_call(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=TOOLS_CALL, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


@dataclass
class HttpRow:
    name: str
    rate: float
    p50: str
    p99: str
    answers: int


def wrk_latency(report: str, percentile: str) -> str:
    match = re.search(rf"^\s*{percentile}%\s+(\S+)", report, re.MULTILINE)
    return match.group(1) if match else "?"


def http_row(name: str, verifier: str, keys: Material, args: argparse.Namespace, work: Path) -> HttpRow:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port), "--verifier", verifier]
    if verifier == "jwt":
        (work / "public.pem").write_text(keys.public_pem)
        command += ["--public-key", str(work / "public.pem")]
    else:
        config = edgeauth_config(keys, work / "cache-http" if verifier == "edgeauth-cache" else None)
        (work / f"{verifier}.json").write_text(json.dumps(config))
        command += ["--config", str(work / f"{verifier}.json")]
    log = open(work / f"serve-{verifier}.log", "wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        # Importing FastMCP takes seconds.
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the {verifier} server exited:\n{(work / f'serve-{verifier}.log').read_text()}")
            try:
                status, body = tools_call(url, keys.token)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"nothing answers at {url}")
                time.sleep(0.1)
        if status != 200 or f"You are {keys.subject}" not in body:
            raise SystemExit(f"tools/call whoami at {url} answered HTTP {status}: {body[:300]}")
        environment = {**os.environ, "TOKEN": keys.token, "EXPECT": keys.subject}
        wrk = ["wrk", f"-t{args.wrk_threads}", f"-c{args.wrk_connections}", "--timeout", "5s", "-s", str(TOOLS_CALL_LUA)]
        # Unreported warm-up: Python builds schemas and imports modules lazily on the first calls.
        subprocess.run(wrk + [f"-d{args.warmup}", url], env=environment, check=True, stdout=subprocess.DEVNULL)
        print(f"$ TOKEN=… EXPECT={keys.subject} {shlex.join(wrk + [f'-d{args.wrk_duration}', '--latency', url])}", flush=True)
        report = subprocess.run(wrk + [f"-d{args.wrk_duration}", "--latency", url], env=environment, check=True,
                                capture_output=True, text=True).stdout
        print(report, flush=True)
        check = re.search(r"^tools/call check: (\d+) answers, (\d+) not 200, (\d+) without", report, re.MULTILINE)
        if check is None or int(check.group(1)) == 0 or check.group(2) != "0" or check.group(3) != "0":
            raise SystemExit(f"tools/call on {name}: some answers were errors (see the check line above)")
        rate = re.search(r"^Requests/sec:\s+([\d.]+)", report, re.MULTILINE)
        assert rate is not None
        return HttpRow(name, float(rate.group(1)), wrk_latency(report, "50"), wrk_latency(report, "99"),
                       int(check.group(1)))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# ---- report --------------------------------------------------------------------------------


def describe_machine(library: str) -> None:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import ssl

    import edgeauth
    from cryptography.hazmat.backends.openssl.backend import backend

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    real = os.path.realpath(library) if os.path.exists(library) else library
    print(f"machine: {model or platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; commit {commit or '?'}")
    print(f"libedgeauth {edgeauth.version()}: {real}")
    print(f"edgeauth (package) {metadata.version('edgeauth')}, PyJWT {metadata.version('PyJWT')}, joserfc {metadata.version('joserfc')}, "
          f"cryptography {metadata.version('cryptography')} ({backend.openssl_version_text()}), "
          f"fastmcp {metadata.version('fastmcp')}, mcp {metadata.version('mcp')}; Python's ssl: {ssl.OPENSSL_VERSION}")
    print()


def print_table(title: str, header: Sequence[str], rows: list[Sequence[str]]) -> None:
    print(f"### {title}")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if index == 0 else "--:" for index in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", help="libedgeauth.so to load (default: $EDGEAUTH_LIBRARY)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per verification row (default 3)")
    parser.add_argument("--pool", type=int, default=1000, help="distinct tokens of the uncached rows (default 1000)")
    parser.add_argument("--algorithms", default="ES256,RS256", help="of part 1 (default ES256,RS256)")
    parser.add_argument("--wrk-duration", default="10s", help="wrk -d of each tools/call run (default 10s)")
    parser.add_argument("--warmup", default="2s", help="wrk -d of the unreported warm-up (default 2s)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk-connections", type=int, default=64)
    parser.add_argument("--skip-verify", action="store_true", help="only part 2 (tools/call)")
    parser.add_argument("--skip-http", action="store_true", help="only part 1 (verification)")
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serving = argparse.ArgumentParser()
        serving.add_argument("serve")
        serving.add_argument("--port", type=int, required=True)
        serving.add_argument("--verifier", choices=["jwt", "edgeauth", "edgeauth-cache"], required=True)
        serving.add_argument("--public-key")
        serving.add_argument("--config")
        serve(serving.parse_args())
        return
    args = parser.parse_args()
    if args.library:
        os.environ["EDGEAUTH_LIBRARY"] = os.path.abspath(args.library)
    library = os.environ.get("EDGEAUTH_LIBRARY", "")
    if not library:
        raise SystemExit("set EDGEAUTH_LIBRARY or --library to the libedgeauth.so to measure")
    if not args.skip_http and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make packages PACKAGES=wrk), or pass --skip-http")
    os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")
    print(f"$ {shlex.join([Path(sys.executable).name, *sys.argv])}")
    describe_machine(library)

    with tempfile.TemporaryDirectory(prefix="edgeauth-bench-python.") as directory:
        work = Path(directory)
        keys = {algorithm: material(algorithm, args.pool) for algorithm in args.algorithms.split(",") if algorithm}
        if not args.skip_verify:
            for algorithm, material_of in keys.items():
                rows = verification_rows(material_of, args.duration, work)
                print_table(
                    f"Verification from Python, {algorithm}, one thread ({args.duration:g} s per row)",
                    ["call", "tokens", "calls/s", "p50 µs", "p99 µs"],
                    [[row.name, row.tokens, f"{row.rate:,.0f}".replace(",", " "), f"{row.percentile(0.50):.1f}",
                      f"{row.percentile(0.99):.1f}"] for row in rows])
        if not args.skip_http:
            es256 = keys.get("ES256") or material("ES256", 0)
            http_rows = [
                http_row(f"FastMCP {metadata.version('fastmcp')} JWTVerifier (ES256 PEM key)", "jwt", es256, args, work),
                http_row("edgeauth.fastmcp.EdgeAuthTokenVerifier, no cache", "edgeauth", es256, args, work),
                http_row("edgeauth.fastmcp.EdgeAuthTokenVerifier, cache (L1 hits)", "edgeauth-cache", es256, args, work),
            ]
            base = http_rows[0].rate
            print_table(
                f"FastMCP tools/call whoami, one uvicorn process, stateless HTTP, JSON answers "
                f"(wrk -t{args.wrk_threads} -c{args.wrk_connections} -d{args.wrk_duration}, the same ES256 token)",
                ["token verifier", "requests/s", "× JWTVerifier", "p50", "p99", "answers checked"],
                [[row.name, f"{row.rate:,.0f}".replace(",", " "), f"{row.rate / base:.2f}", row.p50, row.p99,
                  str(row.answers)] for row in http_rows])


if __name__ == "__main__":
    main()
