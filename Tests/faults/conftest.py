"""Fault injection against `edgeauth serve` (direct mode): what keeps working, what is refused and
what is logged when the identity provider is down, slow or lying, when the verdict cache's map or
its disk is full, and when the clock jumps. docs/security.md ("Faults") lists each fault with
its test.

The fixtures here start the pieces every test needs and clean them up, whatever the outcome:

- `provider()`: a stand-in identity provider on loopback (plain HTTP is allowed for loopback
  key sources) serving documents by path, each answered at once, late, with its body stalled,
  or not at all (`down()`: connection refused; `up()`: back on the same port);
- `serve(config)`: `edgeauth serve --config … --port 0 --handler identity --no-rate-limit` in its
  own process group, its standard output and error in files (`logs()`), stopped with SIGTERM then
  SIGKILL of the group;
- `SigningKey`: EC P-256 (ES256) or RSA keys, their public JWKs, and tokens they sign.

Every bound below only caps how long something broken can hang the suite (a debug build on a
loaded 2-core machine is slow); no test relies on being fast to pass.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 -m pytest -q -p no:cacheprovider Tests/faults
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

REPO_ROOT = Path(__file__).resolve().parents[2]

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0
# One request to the server; a request that legitimately waits (an unknown kid while the
# provider is slow) has its own, larger bound in its test.
REQUEST_TIMEOUT = 30.0

ISSUER = "https://issuer.faults.test/"
RESOURCE = "https://mcp.faults.test/mcp"


def edgeauth_binary() -> Path:
    path = Path(os.environ.get("EDGEAUTH_BINARY", ".build/debug/edgeauth"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        pytest.fail(f"edgeauth binary not found at {path} (build it, or set EDGEAUTH_BINARY)")
    return path


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Polls `condition` until it returns something true (returned), or `timeout` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


# --- keys and tokens ------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_uint(value: int, length: int | None = None) -> str:
    length = length or (value.bit_length() + 7) // 8
    return b64url(value.to_bytes(length, "big"))


class SigningKey:
    """A key pair: `kind` "EC" (P-256, ES256) or "RSA" (2048 bits, RS256)."""

    def __init__(self, kid: str, kind: str = "EC") -> None:
        self.kid = kid
        self.kind = kind
        if kind == "EC":
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
        elif kind == "RSA":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
        else:
            raise ValueError(kind)

    def jwk(self, kid: str | None = None) -> dict[str, str]:
        """The public JWK, under `kid` (its own by default)."""
        numbers = self.private.public_key().public_numbers()
        if self.kind == "EC":
            return {"kty": "EC", "crv": "P-256", "kid": kid or self.kid, "use": "sig", "alg": "ES256",
                    "x": b64url_uint(numbers.x, 32), "y": b64url_uint(numbers.y, 32)}
        return {"kty": "RSA", "kid": kid or self.kid, "use": "sig", "alg": "RS256", "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}

    def token(self, *, kid: str | None = None, now: int | None = None, lifetime: int = 3600, **claims: Any) -> str:
        """A token for ISSUER and RESOURCE, issued `now` (the real time by default), valid `lifetime`
        seconds; `claims` add or replace claims (None removes one)."""
        now = int(time.time()) if now is None else now
        body: dict[str, Any] = {"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        header = {"alg": self.alg, "typ": "JWT", "kid": kid or self.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(body).encode())}".encode()
        if self.kind == "EC":
            r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{b64url(signature)}"


def jwks(*keys: SigningKey | dict[str, str]) -> bytes:
    return json.dumps({"keys": [key.jwk() if isinstance(key, SigningKey) else key for key in keys]}).encode()


def forged(token: str) -> str:
    """The token with one signature character changed: a bad signature."""
    head, _, last = token.rpartition(".")
    middle = len(last) // 2
    return f"{head}.{last[:middle]}{'A' if last[middle] != 'A' else 'B'}{last[middle + 1:]}"


# --- the identity provider --------------------------------------------------------------


@dataclass
class Answer:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0  # seconds before anything is sent (the connection is accepted at once)
    stall_body: float = 0.0  # seconds the body is held after the head and its first byte


class Provider:
    """A stand-in identity provider on 127.0.0.1. Documents are set by path (`set`), served over
    HTTP/1.0 (one request per connection, so no connection outlives `down()`), and counted.
    `release()` ends every delay and stall at once, so that no thread outlives the test."""

    def __init__(self) -> None:
        self.routes: dict[str, Answer] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.httpd: http.server.ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, answer: Answer | bytes) -> None:
        with self.lock:
            self.routes[path] = answer if isinstance(answer, Answer) else Answer(answer)

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits[path]

    def up(self) -> None:
        """Listens (again, on the same port once it had one)."""
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                with outer.lock:
                    outer.hits[path] += 1
                    answer = outer.routes.get(path)
                if answer is None:
                    answer = Answer(b'{"error":"not found"}', status=404)
                if answer.delay:
                    outer.released.wait(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    if answer.stall_body:
                        self.wfile.write(answer.body[:1])
                        self.wfile.flush()
                        outer.released.wait(answer.stall_body)
                        self.wfile.write(answer.body[1:])
                    else:
                        self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args: object) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self.httpd = httpd
        threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stops listening: connections to the port are refused."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.down()


# Every provider a test made: released before its servers stop, so that no server drains
# while a request waits for a provider that holds its answer back.
LIVE_PROVIDERS: list[Provider] = []


@pytest.fixture
def provider() -> Iterator[Callable[[], Provider]]:
    made: list[Provider] = []

    def make() -> Provider:
        made.append(Provider())
        LIVE_PROVIDERS.append(made[-1])
        return made[-1]

    yield make
    for each in made:
        each.close()
        LIVE_PROVIDERS.remove(each)


# --- edgeauth serve ----------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    directory: Path
    stdout_path: Path
    stderr_path: Path
    wrapped: bool = False  # started under a wrapper (faketime) that forks the master
    port: int = 0

    @property
    def master_pid(self) -> int:
        """The master: the process itself, or the child of the wrapper it was started under."""
        if not self.wrapped:
            return self.process.pid
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            children = []
        return int(children[0]) if children else self.process.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_lines(self, pattern: str) -> list[str]:
        """The lines of standard error that match `pattern` (a regular expression)."""
        expression = re.compile(pattern)
        return [line for line in self.stderr().splitlines() if expression.search(line)]

    def request(self, path: str, token: str | None = None, *, timeout: float = REQUEST_TIMEOUT) -> Response:
        """One GET on a connection of its own."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        started = time.monotonic()
        try:
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            return Response(answer.status, {name.lower(): value for name, value in answer.getheaders()}, body, time.monotonic() - started)
        finally:
            connection.close()

    def protected(self, token: str, *, timeout: float = REQUEST_TIMEOUT) -> Response:
        return self.request("/mcp", token, timeout=timeout)

    def readyz(self) -> Response:
        return self.request("/readyz")

    def metrics(self) -> str:
        return self.request("/metrics").body.decode()

    def metric(self, name: str, *labels: str, text: str | None = None) -> float:
        """The sum over every worker of the series `name` whose labels include each of `labels`
        (like 'result="failure"')."""
        total = 0.0
        for line in (text if text is not None else self.metrics()).splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                if all(label in line for label in labels):
                    total += float(line.rsplit(" ", 1)[1])
        return total

    def worker_pids(self) -> set[int]:
        """The workers whose series /metrics shows (a worker's disappear when it exits)."""
        return {int(pid) for pid in re.findall(r'worker="(\d+)"', self.metrics())}

    def kill_worker(self) -> int:
        """SIGKILLs one of the two workers and waits until it is dead (a zombie, or reaped): a
        connection it accepted before dying is reset (docs/server.md: a killed worker loses the
        requests it held), one sent after is not."""
        pids = self.worker_pids()
        assert len(pids) == 2, pids
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)

        def dead() -> bool:
            try:
                return "\nState:\tZ" in Path(f"/proc/{victim}/status").read_text()
            except OSError:
                return True

        assert wait_until(dead, timeout=30), f"worker {victim} survived SIGKILL"
        return victim

    def worker_exits(self) -> list[str]:
        """The master's lines about workers that exited."""
        return self.log_lines(r"edgeauth\.supervisor: .*(exited with status|could not start|crash-looping)")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM the master (it drains and stops its workers), then SIGKILL whatever is left of
        the process group, so no worker outlives a failed test (at once for a server that never
        became ready)."""
        pid = self.process.pid
        # A server that never became ready has nothing to drain: its group is killed at once.
        if self.process.poll() is None and self.port:
            try:
                os.kill(self.master_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        # Workers run in process groups of their own, within the session the server was started in.
        for member in [pid, *session_members(pid)]:
            try:
                os.killpg(member, signal.SIGKILL) if member == pid else os.kill(member, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.wait()


def session_members(session: int) -> list[int]:
    """The processes of a session (`edgeauth serve` started with start_new_session: its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # state, ppid, pgrp, session
            members.append(int(entry.name))
    return members


# --- the clock ------------------------------------------------------------------------


FAKETIME = shutil.which("faketime")


class FakeClock:
    """The offset from the real time that libfaketime gives `edgeauth serve` (and its workers,
    which inherit the preload), changed while it runs: the offset lives in a file that
    libfaketime reads on every call (FAKETIME_TIMESTAMP_FILE with FAKETIME_NO_CACHE).

    Only the wall clock moves (FAKETIME_DONT_FAKE_MONOTONIC): EdgeAuth judges tokens and
    keys' ages by it, while SwiftNIO's timers run on the monotonic clock. The process is
    started through the `faketime` wrapper, which creates the shared state libfaketime's
    processes use and hands it down in FAKETIME_SHARED: preloaded by hand, libfaketime would
    set that variable itself at start-up, reallocating `environ`, and the Swift runtime (which
    finds its arguments next to `environ` on Linux) would see no arguments at all. The wrapper's
    own FAKETIME, which would take precedence over the file, is removed by `env -u`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.set(0)

    def set(self, offset: int) -> None:
        """Moves the clock to the real time plus `offset` seconds (atomically: libfaketime never
        reads a half-written file)."""
        self.offset = offset
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(f"{offset:+d}\n")
        temporary.replace(self.path)

    def now(self) -> int:
        """The faked time, in seconds since the epoch."""
        return int(time.time()) + self.offset

    @property
    def wrapper(self) -> list[str]:
        assert FAKETIME is not None
        return [FAKETIME, "-f", "+0", "env", "-u", "FAKETIME", f"FAKETIME_TIMESTAMP_FILE={self.path}",
                "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"]


@pytest.fixture
def fake_clock(tmp_path: Path) -> FakeClock:
    if FAKETIME is None:
        pytest.skip("the faketime command (Debian's faketime package, which `make test` installs) is not installed")
    return FakeClock(tmp_path / "faketime")


def write_config(directory: Path, config: dict[str, Any]) -> Path:
    path = directory / f"edgeauth-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def direct_config(key_sources: list[dict[str, Any]], *, cache: dict[str, Any] | None = None,
                  key_refresh: dict[str, Any] | None = None, **members: Any) -> dict[str, Any]:
    """A direct-mode configuration: ISSUER, RESOURCE as the audience and the resource."""
    config: dict[str, Any] = {"issuers": [ISSUER], "audiences": [RESOURCE], "keys": key_sources,
                              "server": {"resource": RESOURCE}}
    if cache is not None:
        config["cache"] = cache
    if key_refresh is not None:
        config["keyRefresh"] = key_refresh
    config.update(members)
    return config


def launch(directory: Path, config: dict[str, Any] | Path, *, workers: int = 1, env: dict[str, str] | None = None,
           wrapper: list[str] | None = None, log_level: str = "info") -> Server:
    """Starts `edgeauth serve` without waiting for it (see `ready`)."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = config if isinstance(config, Path) else write_config(directory, config)
    name = uuid.uuid4().hex[:8]
    stdout_path, stderr_path = directory / f"serve-{name}.out", directory / f"serve-{name}.err"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("EDGEAUTH_")}
    environment["EDGEAUTH_LOG_LEVEL"] = log_level
    environment.update(env or {})
    args = [*(wrapper or []), str(edgeauth_binary()), "serve", "--config", str(config_path), "--port", "0",
            "--workers", str(workers), "--no-rate-limit", "--handler", "identity", "--data-dir", str(directory / "data")]
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=environment,
                                   start_new_session=True)  # its own process group, killed as one in stop()
    return Server(process, directory, stdout_path, stderr_path, wrapped=bool(wrapper))


def ready(server: Server) -> Server:
    """Waits for the master's first line, printed once every worker is ready, and reads the port."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        first, newline, _ = server.stdout().partition("\n")
        if newline:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", first)
            assert match, f"unexpected first line: {first!r}\n{server.stderr()}"
            server.port = int(match.group(1))
            return server
        if server.process.poll() is not None:
            pytest.fail(f"edgeauth serve exited at start-up with status {server.process.returncode}:\n{server.stderr()}")
        if time.monotonic() > deadline:
            pytest.fail(f"edgeauth serve did not start within {STARTUP_TIMEOUT}s:\n{server.stderr()}")
        time.sleep(0.05)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`serve(config, workers=1, env=None, wrapper=None, log_level="info", wait=True)`: a started
    server (or, with wait=False, a launched one), stopped at the end of the test."""
    started: list[Server] = []

    def start(config: dict[str, Any] | Path, *, wait: bool = True, **options: Any) -> Server:
        server = launch(tmp_path / f"server{len(started)}", config, **options)
        started.append(server)
        return ready(server) if wait else server

    yield start
    for each in LIVE_PROVIDERS:
        each.release()
    for server in started:
        server.stop()


def answers(server: Server, tokens: list[tuple[str, int]]) -> Counter[tuple[int, int]]:
    """(expected, actual) status counts of the tokens, sent 4 at a time."""
    def one(item: tuple[str, int]) -> tuple[int, int]:
        token, expected = item
        return expected, server.protected(token).status

    with ThreadPoolExecutor(4) as pool:
        return Counter(pool.map(one, tokens))
