#!/usr/bin/env python3
"""Soak test of `edgeauth serve`: mixed traffic for a long time under injected faults, on loopback.

What runs:

- a local identity provider (threaded HTTP server in this process) serving OIDC discovery and
  a JWKS of keys generated here (ES256 and RS256 in turn). On a schedule it rotates keys
  (publishes a new key, signs with it, drops the previous one later) and flaps (answers 503,
  or closes its listening socket so connections are refused, for a few seconds; in runs of
  300 s and more, also an outage longer than keyRefresh.maxStaleness);
- `edgeauth serve --workers 2 --port 0 --no-rate-limit --handler identity`, configured with
  `provider: custom` for that provider, a verdict cache in a temporary directory and an admin
  listener for /metrics and /readyz;
- keep-alive clients sending valid tokens of many users (fresh ones and again the same ones),
  tokens of previous keys, expired tokens, forged signatures, wrong audiences, tokens without
  the required scope, garbage `Authorization` headers and no token; another client sends
  malformed HTTP on connections of its own;
- faults: SIGHUP to the master every 20 s (60 s in runs of 300 s and more), `kill -9` of a
  worker every minute (at 75 s, 135 s, ...), key rotation and provider flaps every 120 s; runs
  of 300 s and more end with an outage past maxStaleness during which a worker is killed;
- a sampler: RSS and open descriptors of the master and of each worker, the LMDB data file,
  and /metrics.

Every answer is checked against what that request must get; the rules for the answers that
depend on the injected faults (a key the server has not fetched yet, a key the provider has
dropped, keys older than maxStaleness) are in `TokenRules` below and in docs/security.md
("Soak and faults"), as are the checks at the end and their tolerances.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 Tests/soak/soak.py --seconds 120
(`make soak` runs it for SOAK_SECONDS, 1800 by default; `make test` for 120 s.)
Exit status 0 when every check passed, 1 otherwise, 2 when the server could not be started.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import bisect
import heapq
import http.server
import itertools
import json
import math
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

MiB = 1024 * 1024

# --- the server's configuration (short times, so that a few minutes see every path) -----------

WORKERS = 2
KEY_MAX_AGE = 10  # the JWKS's Cache-Control max-age: the server refreshes at 4/5 of it
MINIMUM_LIFETIME = 5
COOL_DOWN = 3  # keyRefresh.coolDown
MAX_STALENESS = 30  # keyRefresh.maxStaleness
CONNECT_TIMEOUT = 1  # keyRefresh.connectTimeout
FETCH_TIMEOUT = 3  # keyRefresh.fetchTimeout
# A fetch claimed by a worker that dies is taken over by another process after this (KeyRing).
ABANDON_AFTER = FETCH_TIMEOUT + CONNECT_TIMEOUT + 2
CACHE_MAP_BYTES = 64 * MiB
CACHE_MAX_TTL = 30  # cache.maxTTL: verdicts expire soon, so the cache reaches its steady size early
CACHE_NEGATIVE_TTL = 10
AUDIENCE = "https://soak.edgeauth.test/mcp"
OTHER_AUDIENCE = "https://other.edgeauth.test/mcp"
SCOPE = "soak:read"

# --- the load -----------------------------------------------------------------------------------

CLIENTS = 6
USERS = 30000  # distinct subjects, spread over the clients
NEW_TOKEN_SHARE = 0.3  # of valid requests: a token never sent before (a new cache entry)
OLD_TOKENS_PER_KEY = 300  # tokens of previous keys each client keeps sending
OLD_KEY_USE_AFTER_REMOVAL = 90  # seconds: tokens of a dropped key are still sent this long
MALFORMED_INTERVAL = 0.2  # seconds between malformed requests
OUTAGE = MAX_STALENESS + 20  # the provider outages of long runs: the keys are past maxStaleness for their end
# Runs of 300 s and more end with an outage during which a worker is killed once the keys are
# past maxStaleness: the outage lasts long enough after the kill for the master's crash-loop
# limit (more than 5 exits in 60 s) to be reached if the replacements cannot start.
FINAL_OUTAGE = MAX_STALENESS + 45
FINAL_PHASE = FINAL_OUTAGE + 45

# --- bounds of the checks (docs/security.md, "Soak and faults") ---------------------------------

RESPONSE_TIMEOUT = 60.0  # an answer that takes longer is a hang: a failure
STARTUP_TIMEOUT = 120.0
# Seconds of provider up-time within which the server must accept a newly published key, and
# stop accepting a dropped one. What it needs: a cool-down, a claim abandoned by a killed
# worker, and (for a dropped key) a lifetime; the rest is slack for a slow machine.
ADOPT_BOUND = COOL_DOWN + ABANDON_AFTER + 30
REMOVE_BOUND = KEY_MAX_AGE + COOL_DOWN + ABANDON_AFTER + 30
# Keys are unusable from fetchedAt + maxStaleness (whole seconds, fetchedAt taken around the
# download): 503 is allowed from this many seconds before, and required this many after.
STALE_ALLOW_MARGIN = 5
STALE_REQUIRE_MARGIN = 10
# A serve of the JWKS counts for the staleness rules once the process that fetched it lived
# this long after it (a worker killed right after a fetch may not have stored it).
SERVE_CONFIRMATION = 3.0
LOSS_WINDOW = 60.0  # a request lost on a killed worker's connection is noticed within this
RESTART_BOUND = 30.0  # the master replaces a killed worker within this
RELOAD_BOUND = 60.0  # a SIGHUP starts new workers within this
RSS_GROWTH_FACTOR = 1.20
RSS_GROWTH_SLACK = 8 * MiB
FD_GROWTH = 10  # a worker's descriptors (other than client connections), largest of the quarter
MASTER_FD_GROWTH = 3  # the master's descriptors when no reload or restart is under way, smallest of the quarter
QUIET_AGE = 5.0  # seconds since the youngest worker started, for a sample to count as quiet
LMDB_GROWTH_FACTOR = 1.5
LMDB_GROWTH_SLACK = 2 * MiB


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


# --- keys and tokens ----------------------------------------------------------------------------


class SigningKey:
    """A key of the provider: ES256 (P-256) or RS256 (RSA 2048), with its times (monotonic)."""

    def __init__(self, index: int, alg: str) -> None:
        self.index = index
        self.alg = alg
        self.kid = f"soak-{index}-{alg.lower()}-{os.urandom(3).hex()}"
        if alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            numbers = self.private.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                        "y": b64url(numbers.y.to_bytes(32, "big")), "kid": self.kid, "alg": alg, "use": "sig"}
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            numbers = self.private.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "n": b64url(numbers.n.to_bytes(256, "big")), "e": b64url(numbers.e.to_bytes(3, "big")),
                        "kid": self.kid, "alg": alg, "use": "sig"}
        self.published: float | None = None
        self.signing_from: float | None = None
        self.removed: float | None = None

    def sign(self, claims: dict) -> str:
        header = {"alg": self.alg, "typ": "JWT", "kid": self.kid}
        signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
        if self.alg == "ES256":
            r, s = utils.decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode() + "." + b64url(signature)


# --- /proc ------------------------------------------------------------------------------------


def tcp_sockets() -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket of the host (IPv4 and IPv6)."""
    sockets = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as table:
                next(table)
                for line in table:
                    parts = line.split()
                    sockets.append((int(parts[1].rsplit(":", 1)[1], 16), int(parts[2].rsplit(":", 1)[1], 16), parts[3], parts[9]))
        except OSError:
            pass
    return sockets


def socket_inodes(pid: int) -> dict[str, int]:
    """inode → how many descriptors of `pid` refer to that socket."""
    inodes: Counter[str] = Counter()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] += 1
    except OSError:
        pass
    return inodes


def wait_stopped(pid: int, timeout: float = 5.0) -> bool:
    """Waits until every thread of `pid` is stopped (SIGSTOP is delivered asynchronously: a thread
    finishing an accept() would otherwise add a descriptor after we looked)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = []
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/stat") as stat:
                    states.append(stat.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            return False
        if all(state in ("T", "t") for state in states):
            return True
        time.sleep(0.001)
    return False


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as listing:
                    found += [int(child) for child in listing.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return sorted(set(found))


def descriptor_kind(target: str) -> str:
    if target.startswith("/"):
        return "file"
    return target.split(":[", 1)[0] if ":[" in target else target


def process_figures(pid: int, connection_inodes: set[str], kinds: Counter | None = None) -> tuple[int, int, int, int] | None:
    """(VmRSS bytes, RssAnon bytes, open descriptors, descriptors other than client connections);
    `kinds` counts the descriptors other than client connections by kind (pipe, socket, file, …)."""
    try:
        rss = anon = 0
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1]) * 1024
        fds = 0
        connections = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            fds += 1
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in connection_inodes:
                connections += 1
            elif kinds is not None:
                kinds[descriptor_kind(target)] += 1
        return rss, anon, fds, fds - connections
    except OSError:
        return None


# --- the identity provider ----------------------------------------------------------------------


@dataclass
class Serve:
    """A JWKS document the provider handed out."""
    time: float
    kids: tuple[str, ...]
    pid: int | None  # the server process that fetched it, when found


class Provider:
    """OIDC discovery and a JWKS on 127.0.0.1; up, answering 503, or refusing connections."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.lock = threading.Lock()
        self.keys: list[SigningKey] = []
        self.signing: SigningKey | None = None
        self.mode = "up"
        self.down: list[list] = []  # [start, end or None, mode]
        self.serves: list[Serve] = []
        self.requests: Counter[str] = Counter()
        self.httpd: http.server.ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.port = 0
        self.listen(0)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection

            def do_GET(self) -> None:  # noqa: N802
                provider.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def listen(self, port: int) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), self.handler())
                break
            except OSError:
                if port == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        httpd.daemon_threads = True
        self.httpd = httpd
        self.port = httpd.server_address[1]
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="provider")
        self.thread.start()

    def close(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def set_mode(self, mode: str) -> None:
        now = time.monotonic()
        with self.lock:
            previous = self.mode
            self.mode = mode
            if previous == "up" and mode != "up":
                self.down.append([now, None, mode])
            elif previous != "up" and mode == "up":
                self.down[-1][1] = now
        if mode == "refuse":
            self.close()
        elif previous == "refuse":
            self.listen(self.port)

    def add_key(self, key: SigningKey) -> None:
        with self.lock:
            key.published = time.monotonic()
            self.keys.append(key)

    def sign_with(self, key: SigningKey) -> None:
        with self.lock:
            key.signing_from = time.monotonic()
            self.signing = key

    def drop_key(self, key: SigningKey) -> None:
        with self.lock:
            key.removed = time.monotonic()

    def answer(self, request: http.server.BaseHTTPRequestHandler) -> None:
        path = request.path
        with self.lock:
            mode = self.mode
            published = [key for key in self.keys if key.published is not None and key.removed is None]
        with self.lock:
            self.requests[f"{path} {mode}"] += 1
        if mode != "up":
            self.send(request, 503, {"error": "temporarily_unavailable"})
            return
        if path == "/.well-known/openid-configuration":
            issuer = self.issuer
            self.send(request, 200, {"issuer": issuer, "jwks_uri": issuer + "/jwks", "response_types_supported": ["code"],
                                     "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["ES256", "RS256"]})
        elif path == "/jwks":
            fetcher = self.soak.fetcher(request.client_address[1], self.port)
            # Timed before sending: the server may verify with these keys, and its answer be
            # received, before this thread runs again after the send.
            served = time.monotonic()
            self.send(request, 200, {"keys": [key.jwk for key in published]}, {"Cache-Control": f"max-age={KEY_MAX_AGE}"})
            with self.lock:
                self.serves.append(Serve(served, tuple(key.kid for key in published), fetcher))
        else:
            self.send(request, 404, {"error": "not_found"})

    @staticmethod
    def send(request: http.server.BaseHTTPRequestHandler, status: int, body: dict, headers: dict | None = None) -> None:
        content = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(content)
        request.wfile.flush()

    def down_between(self, start: float, end: float) -> float:
        """Seconds the provider was down within [start, end]."""
        total = 0.0
        for began, ended, _ in self.down:
            ended = ended if ended is not None else float("inf")
            total += max(0.0, min(end, ended) - max(start, began))
        return total

    def up_between(self, start: float, end: float) -> float:
        return max(0.0, end - start - self.down_between(start, end))


# --- HTTP on raw sockets ------------------------------------------------------------------------


class ConnectionClosed(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None

    @property
    def closes(self) -> bool:
        return any("close" in value.lower() for value in self.headers.get("connection", []))


def read_response(sock: socket.socket, buffer: bytearray) -> Response:
    def fill() -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("connection closed before the whole answer" if buffer else "connection closed with no answer")
        buffer.extend(chunk)

    while b"\r\n\r\n" not in buffer:
        fill()
    end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    del buffer[:end + 4]
    status = int(head[0].split(" ", 2)[1])
    headers: dict[str, list[str]] = defaultdict(list)
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()].append(value.strip())
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        body = bytearray()
        while True:
            while b"\r\n" not in buffer:
                fill()
            line_end = buffer.index(b"\r\n")
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            del buffer[:line_end + 2]
            while len(buffer) < size + 2:
                fill()
            body += buffer[:size]
            del buffer[:size + 2]
            if size == 0:
                break
        return Response(status, headers, bytes(body))
    length = headers.get("content-length")
    if length is not None:
        size = int(length[0])
        while len(buffer) < size:
            fill()
        body = bytes(buffer[:size])
        del buffer[:size]
        return Response(status, headers, body)
    if status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b"")
    body = bytearray(buffer)
    buffer.clear()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    headers["connection"].append("close")
    return Response(status, headers, bytes(body))


# --- what a request must get --------------------------------------------------------------------

# Requests whose answer depends on the keys (recorded, judged at the end by TokenRules).
VALID, OLD_KEY, NO_SCOPE, EXPIRED, FORGED, WRONG_AUDIENCE = range(6)
TOKEN_CATEGORIES = ["valid", "old-key", "no-scope", "expired", "forged", "wrong-audience"]
TOKEN_BASE_STATUS = {VALID: 200, OLD_KEY: 200, NO_SCOPE: 403, EXPIRED: 401, FORGED: 401, WRONG_AUDIENCE: 401}

# Requests whose answer never depends on the keys or the faults: (weight, status).
FIXED_REQUESTS = {
    "no-token": (5, 401),
    "basic-scheme": (2, 401),
    "other-scheme": (1, 401),
    "bearer-empty": (1, 400),
    "bearer-not-token68": (2, 400),
    "bearer-junk": (2, 401),
    "bearer-dots": (2, 401),
    "alg-none": (2, 401),
    "two-authorizations": (1, 400),
    "token-in-query": (1, 400),
    "healthz": (1, 200),
    "metadata": (1, 200),
    "metrics-on-public-port": (1, 404),
}
TOKEN_WEIGHTS = {VALID: 55, OLD_KEY: 8, NO_SCOPE: 5, EXPIRED: 5, FORGED: 5, WRONG_AUDIENCE: 5}

# Malformed HTTP, each on a connection of its own: the answer, then the connection closed.
MALFORMED_REQUESTS = {
    "length-and-chunked": (b"POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    # Bare LF line endings (the head still ends with CRLF CRLF: with LF alone it never ends, and
    # the connection is closed at requestTimeout without an answer, like any incomplete head).
    "bare-lf": (b"GET /mcp HTTP/1.1\nHost: h\n\n\r\n\r\n", 400),
    "space-before-colon": (b"GET /mcp HTTP/1.1\r\nHost : h\r\n\r\n", 400),
    "two-lengths": (b"POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
    "no-host": (b"GET /mcp HTTP/1.1\r\n\r\n", 400),
    "control-character": (b"GET /mcp HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", 400),
    "folded-line": (b"GET /mcp HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400),
    "bad-chunk-size": (b"POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", 400),
    "relative-target": (b"GET mcp HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    "header-too-large": (b"GET /mcp HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),
}


class Records:
    """The requests with a token one client sent, in the order it sent them, as compact columns
    (a 30-minute run sends millions)."""

    def __init__(self) -> None:
        self.columns = (array("d"), array("d"), array("b"), array("H"), array("b"), array("h"))

    def append(self, sent: float, received: float, category: int, key: int, fresh: bool, status: int) -> None:
        for column, value in zip(self.columns, (sent, received, category, key, fresh, status)):
            column.append(value)

    def __len__(self) -> int:
        return len(self.columns[0])

    def __iter__(self):
        """(sent, received, category, key index, fresh, status) tuples."""
        return zip(*self.columns)


@dataclass
class Issued:
    """A token this run minted."""
    id: int
    key: SigningKey
    subject: str
    jti: str
    text: str


@dataclass
class Loss:
    """A request that got no answer: the connection closed (or timed out) under it."""
    sent: float
    failed: float
    connection: int
    local_port: int
    connected: float
    what: str
    error: str


# --- clients ------------------------------------------------------------------------------------


class Connection:
    ids = itertools.count(1)

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=RESPONSE_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.id = next(Connection.ids)
        self.local_port = self.sock.getsockname()[1]
        self.connected = time.monotonic()
        self.buffer = bytearray()

    def closed_by_peer(self) -> bool:
        """Whether the server closed this idle connection (what a keep-alive client checks before reusing it)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        try:
            data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
        if data:
            raise AssertionError("the server sent bytes nobody asked for")
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Client(threading.Thread):
    def __init__(self, soak: Soak, index: int) -> None:
        super().__init__(daemon=True, name=f"client-{index}")
        self.soak = soak
        self.index = index
        self.random = random.Random(soak.seed * 1000 + index)
        self.connection: Connection | None = None
        self.tokens: dict[int, Issued] = {}  # user → the token it sends
        self.old_tokens: dict[int, list[Issued]] = defaultdict(list)  # key index → tokens of that key
        self.records = Records()
        self.fixed: Counter[tuple[str, int]] = Counter()
        self.losses: list[Loss] = []
        self.idle_closes = 0
        self.connections = 0
        self.latencies: Counter[int] = Counter()  # LatencyHistogram buckets
        choices = [(category, weight) for category, weight in TOKEN_WEIGHTS.items()]
        choices += [(name, weight) for name, (weight, _) in FIXED_REQUESTS.items()]
        self.choices = [choice for choice, _ in choices]
        self.weights = [weight for _, weight in choices]

    # tokens

    def mint(self, key: SigningKey, subject: str, *, scope: str = SCOPE, audience: str = AUDIENCE, expires_in: int | None = None) -> Issued:
        now = int(time.time())
        token_id = next(self.soak.token_ids)
        jti = f"t{token_id}"
        claims = {"iss": self.soak.provider.issuer, "sub": subject, "aud": audience, "iat": now - 5, "nbf": now - 5,
                  "exp": now + (expires_in if expires_in is not None else self.soak.seconds + 3600), "jti": jti}
        if scope:
            claims["scope"] = scope
        return Issued(token_id, key, subject, jti, key.sign(claims))

    def subject(self) -> tuple[int, str]:
        user = self.random.randrange(self.index, USERS, CLIENTS)
        return user, f"soak-user-{user:06d}"

    def valid_token(self) -> tuple[Issued, bool]:
        key = self.soak.provider.signing
        user, subject = self.subject()
        current = self.tokens.get(user)
        if current is not None and current.key is key and self.random.random() >= NEW_TOKEN_SHARE:
            return current, False
        if current is not None and current.key is not key:
            kept = self.old_tokens[current.key.index]
            if len(kept) < OLD_TOKENS_PER_KEY:
                kept.append(current)
        issued = self.mint(key, subject)
        self.tokens[user] = issued
        return issued, True

    def old_key_token(self) -> Issued | None:
        now = time.monotonic()
        current = self.soak.provider.signing
        candidates = [index for index, kept in self.old_tokens.items()
                      if kept and kept[0].key is not current
                      and (kept[0].key.removed is None or now - kept[0].key.removed < OLD_KEY_USE_AFTER_REMOVAL)]
        if not candidates:
            return None
        return self.random.choice(self.old_tokens[self.random.choice(candidates)])

    # requests

    def request(self, target: str, authorizations: list[str], method: str = "GET") -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{self.soak.port}", "User-Agent: edgeauth-soak"]
        lines += [f"Authorization: {value}" for value in authorizations]
        body = b""
        if method == "POST":
            body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def build(self) -> tuple[object, bytes, Issued | None, bool]:
        """(category or fixed name, request bytes, the token, whether it was never sent before)."""
        choice = self.random.choices(self.choices, self.weights)[0]
        method = "POST" if self.random.random() < 0.3 else "GET"
        key = self.soak.provider.signing
        if choice == OLD_KEY:
            token = self.old_key_token()
            if token is None:
                choice = VALID
            else:
                return OLD_KEY, self.request("/mcp", [f"Bearer {token.text}"], method), token, False
        if choice == VALID:
            token, fresh = self.valid_token()
            return VALID, self.request("/mcp", [f"Bearer {token.text}"], method), token, fresh
        _, subject = self.subject()
        if choice == NO_SCOPE:
            token = self.mint(key, subject, scope="")
        elif choice == EXPIRED:
            token = self.mint(key, subject, expires_in=-600)
        elif choice == WRONG_AUDIENCE:
            token = self.mint(key, subject, audience=OTHER_AUDIENCE)
        elif choice == FORGED:
            token = self.mint(key, subject)
            head, payload, signature = token.text.split(".")
            middle = len(signature) // 2
            flipped = "A" if signature[middle] != "A" else "B"
            token = Issued(token.id, key, subject, token.jti, f"{head}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1:]}")
        if choice in TOKEN_BASE_STATUS:
            return choice, self.request("/mcp", [f"Bearer {token.text}"], method), token, True
        name = choice
        if name == "no-token":
            raw = self.request("/mcp", [], method)
        elif name == "basic-scheme":
            raw = self.request("/mcp", ["Basic c29hazpzb2Fr"], method)
        elif name == "other-scheme":
            raw = self.request("/mcp", ["Token abcdef"], method)
        elif name == "bearer-empty":
            raw = self.request("/mcp", ["Bearer"], method)
        elif name == "bearer-not-token68":
            raw = self.request("/mcp", ["Bearer abc def{}"], method)
        elif name == "bearer-junk":
            raw = self.request("/mcp", ["Bearer " + b64url(os.urandom(self.random.randrange(8, 300)))], method)
        elif name == "bearer-dots":
            raw = self.request("/mcp", ["Bearer " + ".".join(b64url(os.urandom(12)) for _ in range(3))], method)
        elif name == "alg-none":
            claims = {"iss": self.soak.provider.issuer, "sub": subject, "aud": AUDIENCE, "exp": int(time.time()) + 600, "scope": SCOPE}
            raw = self.request("/mcp", [f"Bearer {b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(claims)}."], method)
        elif name == "two-authorizations":
            token, _ = self.valid_token()
            raw = self.request("/mcp", [f"Bearer {token.text}", f"Bearer {token.text}"], method)
        elif name == "token-in-query":
            token, _ = self.valid_token()
            raw = self.request("/mcp?access_token=abc", [f"Bearer {token.text}"], method)
        elif name == "healthz":
            raw = self.request("/healthz", [])
        elif name == "metadata":
            raw = self.request("/.well-known/oauth-protected-resource/mcp", [])
        else:
            raw = self.request("/metrics", [])
        return name, raw, None, False

    def run(self) -> None:
        try:
            while not self.soak.stopping.is_set():
                self.exchange(*self.build())
        except Exception as error:  # a bug of this script: say so, and fail the run
            self.soak.fail("client error", f"{self.name}: {type(error).__name__}: {error}")
            raise
        finally:
            if self.connection is not None:
                self.connection.close()

    def exchange(self, what: object, raw: bytes, token: Issued | None, fresh: bool) -> None:
        soak = self.soak
        if self.connection is not None and self.connection.closed_by_peer():
            self.idle_closes += 1
            self.connection.close()
            self.connection = None
        if self.connection is None:
            try:
                self.connection = Connection(soak.port)
            except OSError as error:
                if soak.server_going_away():
                    soak.stopping.set()  # the master exited: reported by the fault thread
                    return
                soak.fail("connect failed", f"{self.name}: {error}")
                time.sleep(0.5)
                return
            self.connections += 1
        connection = self.connection
        sent = time.monotonic()
        try:
            connection.sock.sendall(raw)
            response = read_response(connection.sock, connection.buffer)
        except (OSError, ConnectionClosed) as error:
            failed = time.monotonic()
            label = TOKEN_CATEGORIES[what] if isinstance(what, int) else str(what)
            self.losses.append(Loss(sent, failed, connection.id, connection.local_port, connection.connected, label,
                                    f"{type(error).__name__}: {error}"))
            connection.close()
            self.connection = None
            return
        received = time.monotonic()
        self.latencies[latency_bucket(received - sent)] += 1
        if response.closes or connection.buffer:
            if connection.buffer:
                soak.fail("bytes after an answer", f"{len(connection.buffer)} bytes after a {response.status}")
            connection.close()
            self.connection = None
        self.check_headers(what, response)
        if isinstance(what, int):
            self.records.append(sent, received, what, token.key.index, fresh, response.status)
            if response.status == 200:
                self.check_identity(token, response)
        else:
            expected = FIXED_REQUESTS[what][1]
            self.fixed[(what, response.status)] += 1
            if response.status != expected:
                soak.fail("wrong status", f"{what}: {response.status}, expected {expected}: {response.body[:200]!r}")
            elif what == "metadata":
                try:
                    if json.loads(response.body).get("resource") != AUDIENCE:
                        soak.fail("wrong metadata", response.body[:200].decode(errors="replace"))
                except ValueError:
                    soak.fail("wrong metadata", repr(response.body[:200]))

    def check_headers(self, what: object, response: Response) -> None:
        soak = self.soak
        label = TOKEN_CATEGORIES[what] if isinstance(what, int) else str(what)
        if response.header("x-request-id") is None:
            soak.fail("no X-Request-Id", f"{label}: {response.status}")
        if response.status >= 400 and what != "metrics-on-public-port" and "no-store" not in (response.header("cache-control") or ""):
            soak.fail("error without Cache-Control: no-store", f"{label}: {response.status}")
        if response.status == 401 and response.header("www-authenticate") is None:
            soak.fail("401 without WWW-Authenticate", label)
        if response.status == 503 and response.header("retry-after") is None:
            soak.fail("503 without Retry-After", label)

    def check_identity(self, token: Issued, response: Response) -> None:
        try:
            identity = json.loads(response.body)
        except ValueError:
            self.soak.fail("200 without an identity", repr(response.body[:200]))
            return
        if identity.get("id") != token.subject or identity.get("tokenId") != token.jti:
            self.soak.fail("200 with another token's identity",
                           f"sent {token.subject}/{token.jti}, got {identity.get('id')}/{identity.get('tokenId')}")


class MalformedClient(threading.Thread):
    """Malformed HTTP, each request on a connection of its own: the expected status, then the
    connection closed by the server."""

    def __init__(self, soak: Soak) -> None:
        super().__init__(daemon=True, name="malformed")
        self.soak = soak
        self.random = random.Random(soak.seed * 1000 + 999)
        self.counts: Counter[tuple[str, int]] = Counter()
        self.losses: list[Loss] = []
        self.names = sorted(MALFORMED_REQUESTS)

    def run(self) -> None:
        try:
            while not self.soak.stopping.wait(MALFORMED_INTERVAL):
                self.once(self.random.choice(self.names))
        except Exception as error:
            self.soak.fail("client error", f"{self.name}: {type(error).__name__}: {error}")
            raise

    def once(self, name: str) -> None:
        raw, expected = MALFORMED_REQUESTS[name]
        try:
            connection = Connection(self.soak.port)
        except OSError as error:
            if not self.soak.server_going_away():
                self.soak.fail("connect failed", f"{self.name}: {error}")
            return
        sent = time.monotonic()
        try:
            connection.sock.sendall(raw)
            response = read_response(connection.sock, connection.buffer)
        except (OSError, ConnectionClosed) as error:
            self.losses.append(Loss(sent, time.monotonic(), connection.id, connection.local_port, connection.connected, name,
                                    f"{type(error).__name__}: {error}"))
            connection.close()
            return
        self.counts[(name, response.status)] += 1
        if response.status != expected:
            self.soak.fail("wrong status", f"malformed {name}: {response.status}, expected {expected}")
        # The server closes the connection after refusing a request (it may read what is left first).
        try:
            deadline = time.monotonic() + 15
            closed = False
            while time.monotonic() < deadline:
                connection.sock.settimeout(max(0.1, deadline - time.monotonic()))
                if not connection.sock.recv(65536):
                    closed = True
                    break
            if not closed:
                self.soak.fail("connection kept after a refused request", name)
        except ConnectionResetError:
            pass  # closed, with a reset: the answer was read already
        except OSError as error:
            self.soak.fail("connection kept after a refused request", f"{name}: {error}")
        finally:
            connection.close()


# --- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(self, binary: str, directory: str, config: str, started=lambda pid: None) -> None:
        self.directory = directory
        self.stdout_path = os.path.join(directory, "server.out")
        self.stderr_path = os.path.join(directory, "server.err")
        run_directory = os.path.join(directory, "run")
        os.makedirs(run_directory, exist_ok=True)
        # Notices and above: the refused requests (info) would fill the log.
        environment = dict(os.environ, TMPDIR=run_directory, EDGEAUTH_LOG_LEVEL="notice")
        environment.pop("EDGEAUTH_PORT", None)
        environment.pop("EDGEAUTH_WORKERS", None)
        args = [binary, "serve", "--config", config, "--workers", str(WORKERS), "--port", "0", "--no-rate-limit", "--handler", "identity"]
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=environment,
                                            start_new_session=True)
        self.pid = self.process.pid
        started(self.pid)
        self.port = 0
        self.admin_port = 0
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            text = open(self.stdout_path, errors="replace").read()
            first, newline, rest = text.partition("\n")
            if newline and "admin: http://127.0.0.1:" in rest:
                self.port = int(first.split("127.0.0.1:", 1)[1].split()[0].rstrip(")/"))
                self.admin_port = int(rest.split("admin: http://127.0.0.1:", 1)[1].split()[0])
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"edgeauth serve did not start (status {self.process.poll()}):\n{self.stderr_tail()}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.process.poll() is None

    def workers(self) -> list[int]:
        return children_of(self.pid)

    def stderr_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log, without one-per-request warnings and crash dumps' details."""
        try:
            text = open(self.stderr_path, errors="replace").read().splitlines()
        except OSError:
            return ""
        kept = [line for line in text if line.startswith("20") and "token refused: the provider's keys are unavailable" not in line
                or line.startswith("*** Program crashed")]
        return "\n".join(kept[-lines:])

    def stop(self, timeout: float = 40.0) -> int | None:
        """SIGTERM (the master drains its workers), then SIGKILL to the whole group."""
        status = self.process.poll()
        if status is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                status = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                status = None
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.wait()
        return status


# --- faults -------------------------------------------------------------------------------------


def schedule(seconds: int) -> list[tuple[float, str, object]]:
    """The faults of a run: (time, action, argument), sorted.

    SIGHUP every 20 s (60 s in runs of 300 s and more); kill -9 of a worker at 75 s and every
    minute after; every 120 s, two key rotations (one while the provider is up, one while it
    refuses connections) and two flaps (503, then refused connections). In runs of 300 s and
    more, every fifth cycle's second flap is an outage longer than maxStaleness, and the run ends
    with another one during which a worker is killed (FINAL_PHASE)."""
    long_run = seconds >= 300
    regular_end = seconds - (FINAL_PHASE + 5 if long_run else 5)
    events: list[tuple[float, str, object]] = []
    hup_period, hup_offset = (60, 40) if long_run else (20, 20)
    events += [(float(t), "sighup", None) for t in range(hup_offset, int(regular_end) - 5, hup_period)]
    events += [(float(t), "kill", None) for t in range(75, int(regular_end) - 5, 60)]
    cycle = 0
    while cycle * 120 + 25 < regular_end:
        base = cycle * 120
        groups = [[(base + 25, "publish", "up"), (base + 27, "sign", None)], [(base + 55, "drop", None)],
                  [(base + 45, "down", "503"), (base + 51, "up", None)],
                  [(base + 85, "publish", "down"), (base + 86, "sign", None)], [(base + 110, "drop", None)]]
        if long_run and cycle % 5 == 1:
            # Longer than maxStaleness: the keys become unusable, then come back; a reload
            # while they are unusable is refused (its workers cannot load keys).
            groups.append([(base + 80, "down", "refuse"), (base + 80 + OUTAGE - 5, "sighup", None), (base + 80 + OUTAGE, "up", None)])
        else:
            groups.append([(base + 83, "down", "refuse"), (base + 90, "up", None)])
        events += [event for group in groups if group[-1][0] < regular_end for event in group]
        cycle += 1
    if long_run:
        start = seconds - FINAL_PHASE
        events += [(start, "down", "refuse"), (start + MAX_STALENESS + 12, "kill", "outage"), (start + FINAL_OUTAGE, "up", None)]
    return sorted(events, key=lambda event: event[0])


@dataclass
class Kill:
    time: float
    pid: int
    client_ports: set[int]  # the local ports of the client connections the worker held
    in_outage: bool = False
    replaced: float | None = None  # when the master had its workers again


# --- the soak -----------------------------------------------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.seconds = args.seconds
        self.binary = args.binary
        self.seed = args.seed
        self.keep = args.keep
        self.stopping = threading.Event()
        self.failures: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()
        self.token_ids = itertools.count(1)
        self.directory = tempfile.mkdtemp(prefix="edgeauth-soak-")
        self.cache_directory = os.path.join(self.directory, "cache")
        self.server: Server | None = None
        self.provider: Provider | None = None
        self.port = 0
        self.kills: list[Kill] = []
        self.hups: list[float] = []
        self.master_exited_at: float | None = None
        self.master_pid: int | None = None
        self.samples: list[dict] = []
        self.pid_seen: dict[int, list[float]] = {}  # pid → [first seen, last seen]
        self.scrapes: list[tuple[float, dict[str, float]]] = []
        self.scrape_failures = 0
        self.key_index = itertools.count(0)
        self.started = 0.0
        self.clients: list[Client] = []
        self.fault_answers: Counter[str] = Counter()
        self.cleaned = False

    # bookkeeping

    def fail(self, kind: str, detail: str = "") -> None:
        with self.lock:
            self.failures[kind] += 1
            if len(self.examples[kind]) < 5:
                self.examples[kind].append(detail)

    def at(self, moment: float) -> str:
        return f"{moment - self.started:.1f}s"

    def fetcher(self, peer_port: int, provider_port: int) -> int | None:
        """The server process whose connection to the provider comes from `peer_port`."""
        if self.master_pid is None:
            return None
        inode = next((inode for local, remote, _, inode in tcp_sockets() if local == peer_port and remote == provider_port), None)
        if inode is None:
            return None
        for pid in [self.master_pid] + children_of(self.master_pid):
            if inode in socket_inodes(pid):
                return pid
        return None

    # set-up and clean-up

    def cleanup(self) -> None:
        if self.cleaned:
            return
        self.cleaned = True
        self.stopping.set()
        if self.server is not None:
            self.server.stop(timeout=10)
        if self.provider is not None:
            self.provider.close()
        if self.keep:
            log(f"kept {self.directory}")
        else:
            shutil.rmtree(self.directory, ignore_errors=True)

    def write_config(self) -> str:
        config = {
            "provider": {"name": "custom", "issuer": self.provider.issuer, "audience": AUDIENCE},
            "cache": {"directory": self.cache_directory, "mapSizeBytes": CACHE_MAP_BYTES, "maxTTL": CACHE_MAX_TTL,
                      "negativeTTL": CACHE_NEGATIVE_TTL},
            "keyRefresh": {"minimumLifetime": MINIMUM_LIFETIME, "defaultLifetime": KEY_MAX_AGE, "coolDown": COOL_DOWN,
                           "maxStaleness": MAX_STALENESS, "connectTimeout": CONNECT_TIMEOUT, "fetchTimeout": FETCH_TIMEOUT},
            "server": {"port": 0, "workers": WORKERS, "resource": AUDIENCE, "requiredScopes": [SCOPE],
                       "admin": {"host": "127.0.0.1", "port": 0}},
        }
        path = os.path.join(self.directory, "edgeauth.json")
        with open(path, "w") as file:
            json.dump(config, file, indent=2)
        return path

    def new_key(self) -> SigningKey:
        index = next(self.key_index)
        return SigningKey(index, "ES256" if index % 2 == 0 else "RS256")

    # the run

    def run(self) -> int:
        self.provider = Provider(self)
        first = self.new_key()
        self.provider.add_key(first)
        self.provider.sign_with(first)
        config = self.write_config()
        log(f"provider {self.provider.issuer}; starting {self.binary} serve ({WORKERS} workers) for {self.seconds}s, seed {self.seed}")
        try:
            self.server = Server(self.binary, self.directory, config, started=lambda pid: setattr(self, "master_pid", pid))
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 2
        self.port = self.server.port
        log(f"server on 127.0.0.1:{self.port} (admin {self.server.admin_port}), master pid {self.server.pid}")
        self.started = time.monotonic()
        clients = self.clients = [Client(self, index) for index in range(CLIENTS)]
        malformed = MalformedClient(self)
        threads = [threading.Thread(target=self.sampler, daemon=True, name="sampler"),
                   threading.Thread(target=self.scraper, daemon=True, name="scraper")]
        for thread in clients + [malformed] + threads:
            thread.start()
        self.faults(schedule(self.seconds))
        self.stopping.set()
        for thread in clients + [malformed]:
            thread.join(RESPONSE_TIMEOUT + 30)
            if thread.is_alive():
                self.fail("client did not stop", thread.name)
        for thread in threads:
            thread.join(30)
        ended = time.monotonic()
        if not self.master_died():
            ready = self.readyz()
            if ready != 200:
                self.fail("not ready at the end", f"/readyz answered {ready}")
            self.settle_workers()
            self.sample()
            status = self.server.stop()
            if status != 0:
                self.fail("master did not drain and exit 0 on SIGTERM", f"status {status}")
        return self.report(clients, malformed, ended)

    def faults(self, events: list[tuple[float, str, object]]) -> None:
        provider = self.provider
        next_key: SigningKey | None = None
        retiring: list[SigningKey] = []
        for moment, action, argument in events:
            while True:
                remaining = self.started + moment - time.monotonic()
                if remaining <= 0:
                    break
                time.sleep(min(remaining, 1.0))
                if self.master_died():
                    return
            if action == "sighup":
                os.kill(self.server.pid, signal.SIGHUP)
                self.hups.append(time.monotonic())
            elif action == "kill":
                self.kill_worker(in_outage=argument == "outage")
            elif action == "publish":
                next_key = self.new_key()
                provider.add_key(next_key)
            elif action == "sign":
                retiring.append(provider.signing)
                provider.sign_with(next_key)
            elif action == "drop":
                provider.drop_key(retiring.pop(0))
            elif action == "down":
                provider.set_mode(str(argument))
            elif action == "up":
                provider.set_mode("up")
        end = self.started + self.seconds
        while time.monotonic() < end:
            time.sleep(min(1.0, end - time.monotonic()))
            if self.master_died():
                return

    def server_going_away(self) -> bool:
        """After a refused connection: whether the master exits within a few seconds (its
        listening socket closes first)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not self.server.alive():
                return True
            time.sleep(0.1)
        return False

    def master_died(self) -> bool:
        """Whether the master exited (a failure whatever the reason: the run stops there)."""
        if self.master_exited_at is not None:
            return True
        if self.server.alive():
            return False
        self.master_exited_at = time.monotonic()
        last_kill = f"; the last kill -9 was at {self.at(self.kills[-1].time)}" + (" during a provider outage" if self.kills[-1].in_outage else "") \
            if self.kills else ""
        reasons = [line for line in self.server.stderr_tail(100).splitlines() if " critical " in line or " error " in line or "crashed" in line]
        self.fail("master exited", f"status {self.server.process.poll()} at {self.at(self.master_exited_at)}{last_kill}:\n        "
                  + "\n        ".join(reasons[-8:]))
        return True

    def kill_worker(self, in_outage: bool = False) -> None:
        """SIGSTOP a worker, note the client connections it holds, SIGKILL it."""
        now = time.monotonic()
        workers = [pid for pid in self.server.workers() if now - self.pid_seen.get(pid, [now])[0] >= 2]
        if not workers:
            workers = self.server.workers()
        if not workers:
            self.fail("no worker to kill", self.at(now))
            return
        pid = random.Random(self.seed + len(self.kills)).choice(workers)
        # The kill's time is the stop's: nothing the worker holds can fail before, and a
        # connection opened after cannot be its (a stopped worker accepts nothing).
        stopped = time.monotonic()
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        try:
            if not wait_stopped(pid):
                self.fail("worker did not stop", f"pid {pid}: SIGSTOP not complete after 5 s")
            inodes = socket_inodes(pid)
            ports = {remote for local, remote, state, inode in tcp_sockets() if local == self.port and inode in inodes and state != "0A"}
        finally:
            os.kill(pid, signal.SIGKILL)
        self.kills.append(Kill(stopped, pid, ports, in_outage))
        threading.Thread(target=self.await_restart, args=(self.kills[-1],), daemon=True).start()

    def await_restart(self, kill: Kill) -> None:
        """Notes when the master has its workers again after a kill."""
        while not self.stopping.is_set() and self.server.alive():
            if len([worker for worker in self.server.workers() if worker != kill.pid]) >= WORKERS:
                kill.replaced = time.monotonic()
                return
            time.sleep(0.2)

    def settle_workers(self) -> None:
        """Old generations drain: at the end the master has exactly its workers."""
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            if len(self.server.workers()) == WORKERS:
                return
            time.sleep(0.5)
        self.fail("workers left over", f"{len(self.server.workers())} children of the master 45 s after the traffic stopped")

    # measurements

    def sampler(self) -> None:
        interval = 1.0 if self.seconds < 300 else 2.0
        next_progress = self.started + 60
        while not self.stopping.is_set():
            self.sample()
            if time.monotonic() >= next_progress:
                next_progress += 60
                answered = sum(len(client.records) + sum(client.fixed.values()) for client in self.clients)
                # The cache's file against what it holds: the LMDB check's bound is judged on the first.
                cache = ""
                if self.samples:
                    cache = f", LMDB file {self.samples[-1]['lmdb'][0] / MiB:.2f} MiB"
                if self.scrapes:
                    metrics = self.scrapes[-1][1]
                    cache += (f", {metrics.get('edgeauth_cache_entries', 0):.0f} cache entries, "
                              f"map fill {metrics.get('edgeauth_cache_map_fill_ratio', 0) * 100:.1f} %")
                log(f"{self.at(time.monotonic())}: {answered} answers, {len(self.hups)} SIGHUP, {len(self.kills)} kill -9, "
                    f"{len(self.provider.keys)} keys, provider {self.provider.mode}{cache}, {sum(self.failures.values())} problems so far")
            self.stopping.wait(interval)
        self.sample()

    def sample(self) -> None:
        server = self.server
        now = time.monotonic()
        ports = {self.port, server.admin_port}
        connections = {inode for local, _, state, inode in tcp_sockets() if local in ports and state != "0A"}
        kinds: Counter[str] = Counter()
        master = process_figures(server.pid, connections, kinds)
        if master is None:
            return
        workers = {}
        for pid in server.workers():
            figures = process_figures(pid, connections)
            if figures is None:
                continue
            workers[pid] = figures
            seen = self.pid_seen.setdefault(pid, [now, now])
            seen[1] = now
        try:
            data = os.stat(os.path.join(self.cache_directory, "data.mdb"))
            lmdb = (data.st_size, data.st_blocks * 512)
        except OSError:
            lmdb = (0, 0)
        # Quiet: the master has exactly its workers, all started a while ago (no reload or restart under way).
        quiet = len(workers) == WORKERS and all(now - self.pid_seen[pid][0] >= QUIET_AGE for pid in workers)
        self.samples.append({"t": now, "master": master, "workers": workers, "lmdb": lmdb, "quiet": quiet, "kinds": kinds})

    def http_get(self, port: int, path: str) -> tuple[int, bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            response = read_response(sock, bytearray())
        return response.status, response.body

    def readyz(self) -> int | None:
        for _ in range(5):
            try:
                return self.http_get(self.server.admin_port, "/readyz")[0]
            except (OSError, ConnectionClosed, ValueError):
                time.sleep(1)
        return None

    def scraper(self) -> None:
        while not self.stopping.wait(5):
            try:
                status, body = self.http_get(self.server.admin_port, "/metrics")
                if status != 200:
                    raise ValueError(f"status {status}")
            except (OSError, ConnectionClosed, ValueError):
                # A scrape queued on a draining worker can be reset during a reload (docs/server.md).
                self.scrape_failures += 1
                continue
            self.scrapes.append((time.monotonic(), parse_metrics(body.decode(errors="replace"))))

    # the end

    def report(self, clients: list[Client], malformed: MalformedClient, ended: float) -> int:
        duration = ended - self.started
        def records():  # every client's, merged in the order they were sent
            return heapq.merge(*(iter(client.records) for client in clients))

        TokenRules(self).judge(records)
        losses = [loss for client in clients for loss in client.losses] + malformed.losses
        allowed_losses = self.judge_losses(losses)
        self.judge_faults()
        figures = self.judge_resources()

        fixed = Counter()
        for client in clients:
            fixed.update(client.fixed)
        token_statuses = Counter((TOKEN_CATEGORIES[record[2]], record[5]) for client in clients for record in client.records)
        total = sum(fixed.values()) + sum(len(client.records) for client in clients) + sum(malformed.counts.values())
        statuses = Counter()
        for counter in (fixed, token_statuses, malformed.counts):
            for (_, status), count in counter.items():
                statuses[status] += count
        latencies: Counter[int] = Counter()
        for client in clients:
            latencies.update(client.latencies)

        print()
        print(f"EdgeAuth soak: {duration:.0f} s, {WORKERS} workers, {CLIENTS} keep-alive clients + 1 malformed-HTTP client, seed {self.seed}")
        print(f"  requests answered: {total} ({total / duration:.0f}/s); statuses: "
              + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())))
        if latencies:
            print(f"  latency: p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
                  f"max {percentile(latencies, 1.0) * 1000:.0f} ms")
        print("  by request: " + "; ".join(f"{name} {status}×{count}" for (name, status), count in sorted(
            (token_statuses + fixed + malformed.counts).items())))
        print(f"  answers explained by the faults: " + (", ".join(f"{name}: {count}" for name, count in sorted(self.fault_answers.items())) or "none"))
        print(f"  faults: {len(self.hups)} SIGHUP, {len(self.kills)} kill -9, {len(self.provider.keys)} keys "
              f"(rotations while up and while refusing connections), provider down {self.provider.down_between(self.started, ended):.0f}s "
              f"in {len(self.provider.down)} periods")
        print(f"  no answer: {len(losses)} requests ({allowed_losses} on connections of a killed worker); "
              f"{sum(client.connections for client in clients)} client connections, "
              f"{sum(client.idle_closes for client in clients)} closed by the server between requests")
        serves = self.provider.serves
        print(f"  provider: {len(serves)} JWKS served ({len([serve for serve in serves if serve.pid is not None])} traced to a server process), "
              f"{sum(self.provider.requests.values())} requests in all")
        for line in figures:
            print("  " + line)
        if self.scrapes:
            last = self.scrapes[-1][1]
            print(f"  /metrics ({len(self.scrapes)} scrapes, {self.scrape_failures} failed): cache entries "
                  f"{self.scrapes[0][1].get('edgeauth_cache_entries', 0):.0f} → {last.get('edgeauth_cache_entries', 0):.0f}, "
                  f"map fill {last.get('edgeauth_cache_map_fill_ratio', 0) * 100:.2f} %, "
                  f"evictions {last.get('edgeauth_cache_evictions_total', 0):.0f} (live workers' counters)")
        elif self.seconds >= 30:
            self.fail("no /metrics scrape succeeded")
        problems = sum(self.failures.values())
        if problems:
            print(f"FAILED: {problems} problems")
            for kind, count in self.failures.most_common():
                print(f"  {kind}: {count}")
                for example in self.examples[kind]:
                    print(f"      {example}")
            print("server stderr (last lines):")
            print(self.server.stderr_tail(30))
            return 1
        print("PASSED")
        return 0

    def judge_losses(self, losses: list[Loss]) -> int:
        """A request may go unanswered only on a connection the killed worker held, once per connection."""
        used: set[int] = set()
        allowed = 0
        for loss in sorted(losses, key=lambda loss: loss.failed):
            if self.master_exited_at is not None and loss.failed >= self.master_exited_at - 10:
                allowed += 1  # the whole server went away (reported as such)
                continue
            excused = any(kill.time <= loss.failed <= kill.time + LOSS_WINDOW and loss.local_port in kill.client_ports
                          and loss.connected < kill.time for kill in self.kills)
            if excused and loss.connection not in used:
                used.add(loss.connection)
                allowed += 1
            else:
                near = [kill for kill in self.kills if abs(kill.time - loss.failed) < LOSS_WINDOW]
                self.fail("request lost", f"{loss.what} sent at {self.at(loss.sent)} on connection {loss.connection} "
                          f"(port {loss.local_port}, opened at {self.at(loss.connected)}), failed at {self.at(loss.failed)}: {loss.error}"
                          + "".join(f"; kill -9 of {kill.pid} at {self.at(kill.time)} held ports {sorted(kill.client_ports)}" for kill in near))
        return allowed

    def judge_faults(self) -> None:
        for kill in self.kills:
            # A worker killed while the provider is down may be able to start only once it is back.
            reference = kill.time
            for began, ended, _ in self.provider.down:
                if began <= kill.time and (ended is None or kill.time <= ended):
                    reference = ended if ended is not None else float("inf")
            if self.master_exited_at is not None and self.master_exited_at < reference + RESTART_BOUND:
                continue
            if kill.replaced is None or kill.replaced > reference + RESTART_BOUND:
                self.fail("killed worker not replaced", f"kill at {self.at(kill.time)}"
                          + (f", provider back at {self.at(reference)}" if reference != kill.time else "")
                          + f": fewer than {WORKERS} workers {RESTART_BOUND:.0f}s later")
        for hup in self.hups:
            if self.reload_may_fail(hup):
                continue  # new workers cannot load keys past maxStaleness from a provider that is down: the reload is refused
            fresh = [pid for pid, (first, _) in self.pid_seen.items() if hup < first <= hup + RELOAD_BOUND]
            if not fresh and hup + RELOAD_BOUND < time.monotonic() - 5:
                self.fail("SIGHUP started no new worker", f"SIGHUP at {self.at(hup)}")

    def reload_may_fail(self, hup: float) -> bool:
        """Whether the workers a SIGHUP starts may find the stored keys past maxStaleness with the
        provider down (they then cannot start, and the reload is abandoned)."""
        window = 20.0
        if self.provider.down_between(hup, hup + window) == 0:
            return False
        serves = sorted(serve.time for serve in self.provider.serves)
        return hup + window - TokenRules.last_before(serves, hup + window) >= MAX_STALENESS - STALE_ALLOW_MARGIN

    def judge_resources(self) -> list[str]:
        """RSS and descriptors flat (last quarter against the first after the warm-up), LMDB bounded."""
        lines = []
        samples = self.samples
        if len(samples) < 8:
            self.fail("too few samples", str(len(samples)))
            return lines
        warm = self.started + max(30.0, 0.2 * self.seconds)
        steady = [sample for sample in samples if sample["t"] >= warm]
        if len(steady) < 8:
            steady = samples[len(samples) // 4:]
        quarter = max(1, len(steady) // 4)
        first, last = steady[:quarter], steady[-quarter:]

        def series(name: str, group: list[dict], index: int) -> float:
            if name == "master":
                return max(sample["master"][index] for sample in group)
            return max((figures[index] for sample in group for figures in sample["workers"].values()), default=0)

        for name in ("master", "workers"):
            rss0, rss1 = series(name, first, 0), series(name, last, 0)
            anon0, anon1 = series(name, first, 1), series(name, last, 1)
            total0, total1 = series(name, first, 2), series(name, last, 2)
            lines.append(f"{name} (largest{' over live workers' if name == 'workers' else ''}): RSS {rss0 / MiB:.1f} → {rss1 / MiB:.1f} MiB "
                         f"(anonymous {anon0 / MiB:.1f} → {anon1 / MiB:.1f}), descriptors {total0} → {total1}")
            for label, before, after in (("RSS", rss0, rss1), ("anonymous RSS", anon0, anon1)):
                if after > before * RSS_GROWTH_FACTOR + RSS_GROWTH_SLACK:
                    self.fail(f"{name} {label} grew", f"{before / MiB:.1f} MiB → {after / MiB:.1f} MiB "
                              f"(bound {RSS_GROWTH_FACTOR:.2f}× + {RSS_GROWTH_SLACK // MiB} MiB)")
        # Descriptors: the master's when quiet (smallest of each quarter: a reload's new workers'
        # pipes come and go), the workers' without their client connections (largest).
        quiet_first = [sample for sample in first if sample["quiet"]]
        quiet_last = [sample for sample in last if sample["quiet"]]
        if quiet_first and quiet_last:
            before = min(quiet_first, key=lambda sample: sample["master"][3])
            after = min(quiet_last, key=lambda sample: sample["master"][3])
            grown = after["kinds"] - before["kinds"]
            started = len([pid for pid, (seen, _) in self.pid_seen.items() if before["t"] < seen <= after["t"]])
            lines.append(f"master descriptors when quiet: {before['master'][3]} at {self.at(before['t'])} → {after['master'][3]} at "
                         f"{self.at(after['t'])} ({started} workers started in between"
                         + (f"; more: {', '.join(f'{kind} +{count}' for kind, count in sorted(grown.items()))})" if grown else ")"))
            if after["master"][3] > before["master"][3] + MASTER_FD_GROWTH:
                self.fail("master descriptors grew", f"{before['master'][3]} → {after['master'][3]} (bound +{MASTER_FD_GROWTH}) while "
                          f"{started} workers were started: " + ", ".join(f"{kind} +{count}" for kind, count in sorted(grown.items())))
        else:
            lines.append("master descriptors: no quiet sample in the first or the last quarter")
        fds0, fds1 = series("workers", first, 3), series("workers", last, 3)
        lines.append(f"worker descriptors without client connections (largest over live workers): {fds0} → {fds1}")
        if fds1 > fds0 + FD_GROWTH:
            self.fail("worker descriptors grew", f"{fds0} → {fds1} (bound +{FD_GROWTH})")
        generations = len(self.pid_seen)
        lines.append(f"worker processes seen: {generations}; samples: {len(samples)}")
        lmdb_warm_at = self.started + max(30.0, 0.2 * self.seconds, 2 * (CACHE_MAX_TTL + CACHE_NEGATIVE_TTL))
        warm_samples = [sample for sample in samples if sample["t"] >= lmdb_warm_at]
        size_end, allocated_end = samples[-1]["lmdb"]
        if warm_samples:
            size_warm = warm_samples[0]["lmdb"][0]
            bound = size_warm * LMDB_GROWTH_FACTOR + LMDB_GROWTH_SLACK
            lines.append(f"LMDB data file: {samples[0]['lmdb'][0] / MiB:.2f} MiB at start, {size_warm / MiB:.2f} MiB once warm "
                         f"({self.at(warm_samples[0]['t'])}), {size_end / MiB:.2f} MiB at the end ({allocated_end / MiB:.2f} MiB allocated); "
                         f"map {CACHE_MAP_BYTES // MiB} MiB")
            if size_end > bound:
                self.fail("LMDB file grew after the cache was warm", f"{size_warm / MiB:.2f} → {size_end / MiB:.2f} MiB "
                          f"(bound {LMDB_GROWTH_FACTOR}× + {LMDB_GROWTH_SLACK // MiB} MiB)")
        else:
            lines.append(f"LMDB data file: {size_end / MiB:.2f} MiB at the end")
        if size_end > CACHE_MAP_BYTES:
            self.fail("LMDB file larger than its map", f"{size_end} > {CACHE_MAP_BYTES}")
        return lines


class TokenRules:
    """What each request with a token must get, given the keys' history.

    A key k is *adopted* once the server answered 200 (403 for a token without the scope) to
    a k-token: from then on every k-token sent must get that answer, until the provider drops
    k. Before that, 401 is allowed too (the server has not fetched k yet: the provider published
    it less than a cool-down ago, or while it was down); but once the provider has been up for
    ADOPT_BOUND seconds since k was published, k must be accepted.

    Once the provider drops k, its tokens may still get 200 until the server refreshes; once the
    server refused a k-token (401), every later k-token must get 401, and so must every k-token
    sent after REMOVE_BOUND seconds of provider up-time since the drop.

    503 `temporarily_unavailable` is allowed only when the keys may be older than
    maxStaleness: the last JWKS the server is known to have stored was served at least
    maxStaleness - STALE_ALLOW_MARGIN before the answer. It is required once maxStaleness +
    STALE_REQUIRE_MARGIN have passed since the last JWKS served at all, for every token: the keys
    are then dropped and a token they would have verified is refused (docs/keys.md), so a verdict
    cached before is no exception.

    Expired, forged and wrong-audience tokens get 401 whatever the keys (or 503, as above).
    """

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.provider = soak.provider
        self.keys = {key.index: key for key in soak.provider.keys}
        serves = sorted(soak.provider.serves, key=lambda serve: serve.time)
        self.serve_times = [serve.time for serve in serves]
        confirmed = []
        for serve in serves:
            seen = soak.pid_seen.get(serve.pid) if serve.pid is not None else None
            if seen is not None and seen[1] >= serve.time + SERVE_CONFIRMATION:
                confirmed.append(serve.time)
            elif serve.pid == (soak.server.pid if soak.server else None):
                confirmed.append(serve.time)
        self.confirmed_times = confirmed

    @staticmethod
    def last_before(times: list[float], moment: float) -> float:
        index = bisect.bisect_right(times, moment)
        return times[index - 1] if index else float("-inf")

    def judge(self, records) -> None:
        """`records()` iterates over every request with a token, in the order they were sent."""
        soak = self.soak
        adopted: dict[int, float] = {}
        refused_after_drop: dict[int, float] = {}
        for sent, received, category, key_index, _, status in records():
            key = self.keys[key_index]
            if (category in (VALID, OLD_KEY) and status == 200) or (category == NO_SCOPE and status == 403):
                adopted[key_index] = min(adopted.get(key_index, received), received)
        for sent, received, category, key_index, _, status in records():
            key = self.keys[key_index]
            if (category in (VALID, OLD_KEY, NO_SCOPE) and status == 401 and key.removed is not None and sent > key.removed
                    and key_index in adopted and adopted[key_index] < sent):
                refused_after_drop[key_index] = min(refused_after_drop.get(key_index, received), received)
        soak.fault_answers = Counter()
        for sent, received, category, key_index, fresh, status in records():
            key = self.keys[key_index]
            name = TOKEN_CATEGORIES[category]
            where = f"{name} token of key {key.index} ({key.alg}) sent at {soak.at(sent)}, answered {status} at {soak.at(received)}"
            confirmed = self.last_before(self.confirmed_times, sent - STALE_ALLOW_MARGIN)
            stale_allowed = received >= confirmed + MAX_STALENESS - STALE_ALLOW_MARGIN
            stale_required = sent >= self.last_before(self.serve_times, received) + MAX_STALENESS + STALE_REQUIRE_MARGIN
            if status == 503:
                if stale_allowed:
                    soak.fault_answers["503 while the keys were past maxStaleness"] += 1
                else:
                    soak.fail("503 with usable keys", where)
                continue
            if stale_required:
                # docs/keys.md: past maxStaleness the keys are dropped and a token they would have
                # verified is rejected with keysUnavailable (503), whether or not a verdict was cached.
                if not fresh and status == 200:  # a token sent before: its verdict was cached
                    soak.fail("200 from the verdict cache with keys past maxStaleness", where)
                else:
                    soak.fail("token verified with keys past maxStaleness", where)
                continue
            base = TOKEN_BASE_STATUS[category]
            if category in (EXPIRED, FORGED, WRONG_AUDIENCE):
                if status != base:
                    soak.fail("wrong status", where + f", expected {base}")
                continue
            if key.removed is not None and sent > key.removed:
                must_refuse = (key_index in refused_after_drop and sent > refused_after_drop[key_index]) \
                    or self.provider.up_between(key.removed, sent) > REMOVE_BOUND
                if status == 401:
                    if not must_refuse:
                        soak.fault_answers["401 for a key the provider dropped"] += 1
                elif status == base and not must_refuse:
                    soak.fault_answers[f"{base} for a dropped key before the server refreshed"] += 1
                else:
                    soak.fail("dropped key still accepted" if status == base else "wrong status",
                              where + (f" (the server refused this key from {soak.at(refused_after_drop[key_index])})"
                                       if key_index in refused_after_drop else f" (dropped at {soak.at(key.removed)})"))
                continue
            must_accept = (key_index in adopted and sent > adopted[key_index]) \
                or self.provider.up_between(key.published, sent) > ADOPT_BOUND
            if status == base:
                continue
            if status == 401 and not must_accept:
                soak.fault_answers["401 for a key the server had not fetched yet"] += 1
                continue
            soak.fail("known key refused" if status == 401 else "wrong status",
                      where + (f", expected {base} (the server accepted this key from {soak.at(adopted[key_index])})"
                               if key_index in adopted else f", expected {base} (published at {soak.at(key.published)})"))


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text → sum over workers of each metric name (gauges of host-wide values: max)."""
    sums: dict[str, float] = defaultdict(float)
    maxima: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0]
        try:
            number = float(value)
        except ValueError:
            continue
        sums[name] += number
        maxima[name] = max(maxima.get(name, number), number)
    for name in ("edgeauth_cache_entries", "edgeauth_cache_map_fill_ratio"):
        if name in maxima:
            sums[name] = maxima[name]
    return dict(sums)


def latency_bucket(seconds: float) -> int:
    """Buckets 2 % wide, from 10 µs."""
    return int(math.log(max(seconds, 1e-5) / 1e-5) / math.log(1.02))


def percentile(buckets: Counter[int], fraction: float) -> float:
    """The upper bound of the bucket holding that fraction of the values."""
    total = sum(buckets.values())
    seen = 0
    for bucket in sorted(buckets):
        seen += buckets[bucket]
        if seen >= fraction * total:
            return 1e-5 * 1.02 ** (bucket + 1)
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=1800, help="how long to run (default 1800)")
    parser.add_argument("--binary", default=os.environ.get("EDGEAUTH_BINARY"), help="the edgeauth executable (default: $EDGEAUTH_BINARY)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the traffic's random choices (default: random)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (configuration, logs, cache)")
    args = parser.parse_args()
    if not args.binary or not os.access(args.binary, os.X_OK):
        parser.error("give the edgeauth executable with --binary or EDGEAUTH_BINARY")
    if args.seconds < 20:
        parser.error("--seconds must be at least 20")
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    soak = Soak(args)
    atexit.register(soak.cleanup)

    def interrupted(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        return soak.run()
    finally:
        soak.cleanup()


if __name__ == "__main__":
    sys.exit(main())
