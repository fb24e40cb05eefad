"""End-to-end tests of forward-auth: EdgeAuth's `/auth/verify` deciding for a reverse proxy
in front of an MCP server.

- nginx (Debian's, with auth_request) runs examples/nginx/edgeauth.conf as it is, its
  placeholders replaced by this test's ports, in front of a small HTTP server that answers
  every request with the method, path, headers and body it received (the "MCP server").
  Through it: a valid token reaches the MCP server with the identity headers and without
  its Authorization header, no token gets 401 and the challenge, a missing scope gets 403
  and the insufficient_scope challenge, identity headers sent by a client never arrive,
  server-sent events are not held back, and the OAuth endpoints of proxy mode (metadata,
  registration, the login pages, tokens) are served through nginx: the tokens used here
  are obtained through it.
- `/auth/verify` called directly the way each proxy calls it: nginx (X-Original-Method,
  X-Original-URI), Traefik's ForwardAuth (GET with X-Forwarded-Method, X-Forwarded-Uri,
  X-Forwarded-Proto, X-Forwarded-Host) and Envoy's ext_authz (the original method, and
  the original path after `/auth/verify`, its http_service `path_prefix`). Each gives the
  same answers: 200 with an empty body and the identity headers, 401, 403.

EdgeAuth runs proxy mode with the development identity provider (alice: role admin,
scopes notes:read notes:write, permission notes:delete; bob: role viewer, notes:read),
with two routes: /mcp needs notes:read, /mcp/admin notes:write. Its `server.resource` is
nginx's /mcp, so its issuer (the resource's origin) is nginx's origin too, and tokens
are issued for that resource.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 -m pytest -q Tests/mcp/test_forward_auth.py
"""

from __future__ import annotations

import grp
import http.server
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import httpx2
import pytest
from test_mcp_clients import free_port
from test_oauth_flow import HTTP_TIMEOUT, EdgeAuthServer, authorize, exchange_code, register, start_server, tokens_of

REPO_ROOT = Path(__file__).resolve().parents[2]
NGINX_EXAMPLE = REPO_ROOT / "examples" / "nginx" / "edgeauth.conf"
NGINX = Path(os.environ.get("NGINX", "/usr/sbin/nginx"))

# Generous bounds: a debug build on a loaded 2-core machine can be slow. They only cap
# how long something broken can hang the suite.
NGINX_STARTUP_TIMEOUT = 30.0
NGINX_SHUTDOWN_TIMEOUT = 15.0
# How long the MCP server holds back the second event of a stream (unless the client,
# having received the first one, releases it earlier), and how long the client waits.
STREAM_HOLD = 15.0
STREAM_TIMEOUT = 60.0

VERIFY_PATH = "/auth/verify"
IDENTITY_HEADERS = {
    "user": "X-EdgeAuth-User",
    "email": "X-EdgeAuth-Email",
    "roles": "X-EdgeAuth-Roles",
    "permissions": "X-EdgeAuth-Permissions",
    "scopes": "X-EdgeAuth-Scopes",
    "client_id": "X-EdgeAuth-Client-Id",
}
LIST_FIELDS = {"roles", "permissions", "scopes"}
JSON_RPC = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# --- the MCP server: answers with what it received -------------------------------------


class EchoServer:
    """An HTTP server on loopback answering every request with JSON: its method, path
    (with the query), headers (in order, repeats kept) and body. Under /mcp/events it
    answers a stream of server-sent events instead: "first" at once, then, once `release`
    is set (or STREAM_HOLD has passed), "released" (or "held"), and the end of the stream."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = {"method": self.command, "path": self.path, "headers": [[name, value] for name, value in self.headers.items()],
                        "body": body.decode(errors="replace")}
                outer.requests.append(seen)
                if self.path.startswith("/mcp/events"):
                    self.events()
                    return
                content = json.dumps(seen).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def events(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"event: message\ndata: first\n\n")
                self.wfile.flush()
                released = outer.release.wait(STREAM_HOLD)
                self.wfile.write(f"event: message\ndata: {'released' if released else 'held'}\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

            do_GET = do_POST = do_DELETE = do_OPTIONS = do_PUT = answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def received(self, marker: str) -> list[dict[str, Any]]:
        """The requests whose path contains `marker`."""
        return [request for request in self.requests if marker in request["path"]]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- nginx, running the example -------------------------------------------------------


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    directory: Path
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        parts = []
        for name in ("error.log", "nginx.err"):
            path = self.directory / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def stop(self) -> None:
        """SIGQUIT (graceful) to the master, then SIGKILL whatever is left of its group."""
        pid = self.process.pid
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(NGINX_SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def nginx_site(port: int, edgeauth_port: int, upstream_port: int) -> str:
    """examples/nginx/edgeauth.conf with its placeholders replaced."""
    site = NGINX_EXAMPLE.read_text()
    values = {
        "@LISTEN@": f"127.0.0.1:{port}",
        "@SERVER_NAME@": "127.0.0.1",
        "@EDGEAUTH@": f"127.0.0.1:{edgeauth_port}",
        "@MCP_SERVER@": f"127.0.0.1:{upstream_port}",
    }
    for placeholder, value in values.items():
        assert placeholder in site, f"{NGINX_EXAMPLE} has no {placeholder}"
        site = site.replace(placeholder, value)
    left = re.findall(r"@[A-Z_]+@", site)
    assert not left, f"placeholders of {NGINX_EXAMPLE} the test does not know: {left}"
    return site


def start_nginx(directory: Path, port: int, edgeauth_port: int, upstream_port: int) -> Nginx:
    """nginx in the foreground (master and one worker) with its files under `directory`:
    the example as a site included in a minimal main configuration."""
    if not NGINX.is_file():
        pytest.fail(f"nginx not found at {NGINX} (`make test` installs Debian's nginx-light; or set NGINX)")
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / "temp"
    temp.mkdir(exist_ok=True)
    (directory / "edgeauth.conf").write_text(nginx_site(port, edgeauth_port, upstream_port))
    # Run as root, nginx would switch its workers to nobody, who cannot write here.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(f"""{user}
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {directory}/edgeauth.conf;
}}
""")
    with open(directory / "nginx.out", "wb") as stdout, open(directory / "nginx.err", "wb") as stderr:
        process = subprocess.Popen(
            [str(NGINX), "-p", f"{directory}/", "-c", str(main),
             "-g", f"daemon off; pid {directory}/nginx.pid; error_log {directory}/error.log;"],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            start_new_session=True,  # its own process group, killed as one in stop()
        )
    nginx = Nginx(process, directory, port)
    deadline = time.monotonic() + NGINX_STARTUP_TIMEOUT
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"nginx exited at startup ({process.returncode}):\n{nginx.logs()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return nginx
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"nginx did not listen within {NGINX_STARTUP_TIMEOUT}s:\n{nginx.logs()}")
            time.sleep(0.05)
    except BaseException:
        nginx.stop()
        raise


# --- the deployment: MCP server, EdgeAuth, nginx ----------------------------------------------


@dataclass
class Front:
    """What clients see: nginx's origin. It has what the OAuth helpers of
    test_oauth_flow.py use of a server (`base`, `url`), so they log in through nginx."""

    base: str

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def issuer(self) -> str:
        return f"{self.base}/"

    @property
    def resource_metadata(self) -> str:
        return f"{self.base}/.well-known/oauth-protected-resource/mcp"


@dataclass
class Deployment:
    upstream: EchoServer
    edgeauth: EdgeAuthServer
    nginx: Nginx
    front: Front


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("forward-auth")
    upstream = EchoServer()
    nginx_port, edgeauth_port = free_port(), free_port()
    while edgeauth_port == nginx_port:
        edgeauth_port = free_port()
    front = Front(f"http://127.0.0.1:{nginx_port}")
    config = directory / "edgeauth.json"
    config.write_text(json.dumps({
        "oauth": {"mode": "proxy"},
        # The resource is what clients call (nginx's /mcp); the issuer, by default the
        # resource's origin, is then nginx's origin as well.
        "server": {"port": edgeauth_port, "workers": 2, "resource": front.url},
        "gateway": {
            "forwardAuth": {"path": VERIFY_PATH},
            "routes": [
                {"prefix": "/mcp", "requirements": {"scopes": ["notes:read"]}},
                {"prefix": "/mcp/admin", "requirements": {"scopes": ["notes:write"]}},
            ],
        },
    }))
    try:
        edgeauth = start_server(directory, config=config, port=edgeauth_port)
        try:
            nginx = start_nginx(directory / "nginx", nginx_port, edgeauth_port, upstream.port)
            try:
                yield Deployment(upstream, edgeauth, nginx, front)
            finally:
                nginx.stop()
        finally:
            edgeauth.stop()
    finally:
        upstream.close()


@dataclass
class Token:
    user: str
    access_token: str
    client_id: str

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture(scope="module")
async def tokens(deployment: Deployment) -> dict[str, Token]:
    """alice (notes:read notes:write) and bob (notes:read), each logged in through nginx:
    registration, the login and consent pages, the code exchange, all for the resource
    nginx's /mcp."""
    front = deployment.front
    out: dict[str, Token] = {}
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for user, scope in (("alice", "notes:read notes:write"), ("bob", "notes:read")):
            client = await register(http, front)  # type: ignore[arg-type]
            authorization = await authorize(http, front, client, user=user, scope=scope)  # type: ignore[arg-type]
            assert authorization.query.get("iss") == front.issuer, authorization.query
            body = tokens_of(await exchange_code(http, front, client, authorization))  # type: ignore[arg-type]
            out[user] = Token(user, body["access_token"], client.client_id)
    return out


# --- helpers ------------------------------------------------------------------------------


def identity(headers: Iterable[tuple[str, str]] | Iterable[list[str]]) -> dict[str, Any]:
    """The identity headers among `headers`, decoded: user, email and client_id as strings,
    roles, permissions and scopes as sorted lists. Each must appear at most once."""
    names = {header.lower(): field for field, header in IDENTITY_HEADERS.items()}
    found: dict[str, Any] = {}
    for name, value in headers:
        field = names.get(name.lower())
        if field is None:
            continue
        assert field not in found, f"{IDENTITY_HEADERS[field]} appears twice: {list(headers)}"
        found[field] = sorted(unquote(part) for part in value.split(",")) if field in LIST_FIELDS else unquote(value)
    return found


def expected_identity(token: Token) -> dict[str, Any]:
    return {
        "alice": {"user": "alice", "email": "alice@example.com", "roles": ["admin"], "permissions": ["notes:delete"],
                  "scopes": ["notes:read", "notes:write"], "client_id": token.client_id},
        # bob has no permission: no X-EdgeAuth-Permissions at all.
        "bob": {"user": "bob", "email": "bob@example.com", "roles": ["viewer"], "scopes": ["notes:read"],
                "client_id": token.client_id},
    }[token.user]


def edgeauth_headers(headers: Iterable[tuple[str, str]] | Iterable[list[str]]) -> list[tuple[str, str]]:
    """Every header whose name starts with X-EdgeAuth-."""
    return [(name, value) for name, value in headers if name.lower().startswith("x-edgeauth-")]


def challenge_parameters(challenge: str) -> dict[str, str]:
    """The auth-params of a Bearer challenge (quoted strings without escapes)."""
    assert challenge.startswith("Bearer "), challenge
    return dict(re.findall(r'([A-Za-z_]+)="([^"]*)"', challenge))


def assert_unauthorized(response: httpx2.Response, front: Front) -> dict[str, str]:
    """A 401 whose challenge names the protected-resource metadata (behind nginx)."""
    assert response.status_code == 401, f"{response.status_code} {response.headers} {response.text}"
    challenges = response.headers.get_list("WWW-Authenticate")
    assert len(challenges) == 1, challenges
    assert "resource_metadata=" in challenges[0], challenges[0]
    parameters = challenge_parameters(challenges[0])
    assert parameters["resource_metadata"] == front.resource_metadata, challenges[0]
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    assert not edgeauth_headers(response.headers.multi_items())
    return parameters


def assert_insufficient_scope(response: httpx2.Response, front: Front, scope: str) -> dict[str, str]:
    """A 403 with the insufficient_scope challenge, `scope` among the scopes it asks for."""
    assert response.status_code == 403, f"{response.status_code} {response.headers} {response.text}"
    challenges = response.headers.get_list("WWW-Authenticate")
    assert len(challenges) == 1, challenges
    assert "insufficient_scope" in challenges[0] and "scope=" in challenges[0], challenges[0]
    parameters = challenge_parameters(challenges[0])
    assert parameters["error"] == "insufficient_scope", challenges[0]
    assert scope in parameters["scope"].split(" "), challenges[0]
    assert parameters["resource_metadata"] == front.resource_metadata, challenges[0]
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    assert response.json()["error"] == "insufficient_scope", response.text
    assert not edgeauth_headers(response.headers.multi_items())
    return parameters


def marker() -> str:
    """A query value that finds this test's requests among those the MCP server saw."""
    return f"probe={uuid.uuid4().hex}"


def call(method: str = "tools/list") -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": {}}).encode()


# --- through nginx --------------------------------------------------------------------------


async def test_nginx_passes_a_valid_token_with_the_identity_and_without_the_token(deployment: Deployment,
                                                                                  tokens: dict[str, Token]) -> None:
    front, upstream = deployment.front, deployment.upstream
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for user, path in (("alice", "/mcp"), ("alice", "/mcp/admin/tools"), ("bob", "/mcp")):
            token, probe = tokens[user], marker()
            response = await http.post(f"{front.base}{path}?{probe}", content=call(), headers={**JSON_RPC, **token.authorization})
            assert response.status_code == 200, f"{user} {path}: {response.status_code} {response.headers} {response.text}"
            seen = response.json()
            assert upstream.received(probe) == [seen]
            assert (seen["method"], seen["path"], seen["body"]) == ("POST", f"{path}?{probe}", call().decode())
            assert identity(seen["headers"]) == expected_identity(token), seen["headers"]
            names = [name.lower() for name, _ in seen["headers"]]
            assert "authorization" not in names, seen["headers"]
            assert "x-original-uri" not in names and "x-original-method" not in names, seen["headers"]
            assert len(edgeauth_headers(seen["headers"])) == len(expected_identity(token)), seen["headers"]


async def test_nginx_without_a_token_answers_401_with_the_challenge(deployment: Deployment) -> None:
    front, upstream = deployment.front, deployment.upstream
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for path in ("/mcp", "/mcp/admin"):
            probe = marker()
            response = await http.post(f"{front.base}{path}?{probe}", content=call(), headers=JSON_RPC)
            assert_unauthorized(response, front)
            assert response.json()["error"] == "unauthorized", response.text
            assert upstream.received(probe) == []

        probe = marker()
        response = await http.post(f"{front.url}?{probe}", content=call(), headers={**JSON_RPC, "Authorization": "Bearer not.a.token"})
        parameters = assert_unauthorized(response, front)
        assert parameters.get("error") == "invalid_token", response.headers
        assert response.json()["error"] == "invalid_token", response.text
        assert upstream.received(probe) == []


async def test_nginx_missing_scope_answers_403_with_the_insufficient_scope_challenge(deployment: Deployment,
                                                                                    tokens: dict[str, Token]) -> None:
    """nginx gives a client WWW-Authenticate of a 401 only: the example's 403 page adds it."""
    front, upstream = deployment.front, deployment.upstream
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for path in ("/mcp/admin", "/mcp/admin/tools"):
            probe = marker()
            response = await http.post(f"{front.base}{path}?{probe}", content=call(), headers={**JSON_RPC, **tokens["bob"].authorization})
            assert_insufficient_scope(response, front, "notes:write")
            assert upstream.received(probe) == []


async def test_nginx_drops_identity_headers_a_client_sends(deployment: Deployment, tokens: dict[str, Token]) -> None:
    front, upstream = deployment.front, deployment.upstream
    forged = {
        "X-EdgeAuth-User": "mallory", "X-EdgeAuth-Email": "mallory@example.com", "X-EdgeAuth-Roles": "admin",
        "X-EdgeAuth-Permissions": "notes:delete", "X-EdgeAuth-Scopes": "notes:read,notes:write",
        "X-EdgeAuth-Client-Id": "forged", "X-EdgeAuth-Token": "forged",
    }
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for user in ("alice", "bob"):
            token, probe = tokens[user], marker()
            response = await http.post(f"{front.url}?{probe}", content=call(), headers={**JSON_RPC, **token.authorization, **forged})
            assert response.status_code == 200, f"{user}: {response.status_code} {response.text}"
            seen = response.json()["headers"]
            # EdgeAuth's values only; bob's missing permission stays missing.
            assert identity(seen) == expected_identity(token), seen
            assert "mallory" not in json.dumps(seen) and "forged" not in json.dumps(seen), seen
            assert upstream.received(probe)

        # Neither forged identity headers nor a forged original URI reach EdgeAuth's decision.
        probe = marker()
        response = await http.post(f"{front.base}/mcp/admin?{probe}", content=call(), headers={
            **JSON_RPC, **tokens["bob"].authorization, **forged,
            "X-Original-URI": "/mcp", "X-Original-Method": "OPTIONS", "X-Forwarded-Uri": "/mcp", "X-Forwarded-Method": "OPTIONS",
        })
        assert_insufficient_scope(response, front, "notes:write")
        assert upstream.received(probe) == []


def raw_get(port: int, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET `target` exactly as written (HTTP clients clean dot segments up): the status
    and the whole answer."""
    head = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *(f"{name}: {value}" for name, value in headers.items())]
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT.read) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


async def test_nginx_refuses_paths_that_are_not_in_normal_form(deployment: Deployment, tokens: dict[str, Token]) -> None:
    """A path EdgeAuth would match to one route (/mcp) and an MCP server that decodes or
    cleans paths would serve as another (/mcp/admin) never gets that far."""
    front, upstream, bob = deployment.front, deployment.upstream, tokens["bob"]
    for path in ("/mcp//admin", "/mcp/./admin", "/mcp/x/../admin", "/mcp/%61dmin", "/mcp/admin;x", "/mcp/admin\\x"):
        probe = marker()
        status, answer = await anyio.to_thread.run_sync(raw_get, deployment.nginx.port, f"{path}?{probe}", bob.authorization)
        assert status == 400, f"{path}: {answer[:300]!r}"
        assert upstream.received(probe) == []
    # The query may hold anything.
    probe = marker()
    target = f"/mcp?{probe}&next=/mcp/./admin%20//;"
    status, answer = await anyio.to_thread.run_sync(raw_get, deployment.nginx.port, target, bob.authorization)
    assert status == 200, answer[:300]
    assert len(upstream.received(probe)) == 1


async def test_nginx_lets_a_cors_preflight_through_without_identity(deployment: Deployment) -> None:
    front, upstream = deployment.front, deployment.upstream
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        probe = marker()
        response = await http.options(f"{front.base}/mcp/admin?{probe}", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "X-EdgeAuth-User": "mallory"})
        assert response.status_code == 200, f"{response.status_code} {response.text}"
        seen = response.json()
        assert seen["method"] == "OPTIONS" and upstream.received(probe) == [seen]
        assert edgeauth_headers(seen["headers"]) == [], seen["headers"]


async def test_nginx_streams_server_sent_events_as_they_come(deployment: Deployment, tokens: dict[str, Token]) -> None:
    """The MCP server sends one event and holds the next until the client has the first:
    a proxy that buffers the answer delivers nothing until the hold is over."""
    front, upstream = deployment.front, deployment.upstream
    upstream.release.clear()
    events: list[str] = []
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        headers = {"Accept": "text/event-stream", **tokens["alice"].authorization}
        with anyio.fail_after(STREAM_TIMEOUT):
            async with http.stream("GET", f"{front.url}/events", headers=headers) as response:
                assert response.status_code == 200, response.status_code
                assert response.headers["Content-Type"].startswith("text/event-stream"), response.headers
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        events.append(line.removeprefix("data: "))
                        upstream.release.set()
    assert events == ["first", "released"], f"the first event arrived only after the MCP server's {STREAM_HOLD}s hold: {events}"
    seen = upstream.received("/mcp/events")[-1]
    assert identity(seen["headers"]) == expected_identity(tokens["alice"])


async def test_nginx_serves_the_oauth_metadata_and_endpoints(deployment: Deployment) -> None:
    """The discovery an MCP client starts from a 401, all on nginx's origin (the login
    itself, through nginx, is the `tokens` fixture)."""
    front = deployment.front
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.get(front.resource_metadata)
        assert response.status_code == 200, response.text
        resource = response.json()
        assert resource["resource"] == front.url, resource
        assert resource["authorization_servers"] == [front.issuer], resource

        response = await http.get(f"{front.base}/.well-known/oauth-protected-resource")
        assert response.status_code == 200, response.text

        for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
            response = await http.get(f"{front.base}{path}")
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
            metadata = response.json()
            assert metadata["issuer"] == front.issuer, metadata
            for endpoint in ("authorization_endpoint", "token_endpoint", "registration_endpoint", "jwks_uri"):
                assert metadata[endpoint].startswith(f"{front.base}/"), (endpoint, metadata[endpoint])

        response = await http.get(f"{front.base}/jwks")
        assert response.status_code == 200 and response.json()["keys"], response.text

        response = await http.post(f"{front.base}/revoke", data={"token": "unknown", "client_id": "unknown"})
        assert response.status_code in (200, 400, 401), f"{response.status_code} {response.text}"
        assert response.headers["Content-Type"].startswith("application/json"), response.headers


async def test_nginx_does_not_expose_the_verify_endpoint(deployment: Deployment, tokens: dict[str, Token]) -> None:
    front = deployment.front
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for path in (VERIFY_PATH, f"{VERIFY_PATH}/mcp", "/_edgeauth_verify"):
            response = await http.get(f"{front.base}{path}", headers={
                **tokens["alice"].authorization, "X-Original-URI": "/mcp", "X-Original-Method": "GET"})
            assert response.status_code == 404, f"{path}: {response.status_code}"
            assert not edgeauth_headers(response.headers.multi_items()), response.headers


# --- /auth/verify as each proxy calls it ------------------------------------------------------------

SHAPES = ["nginx", "traefik", "envoy"]


async def verify(http: httpx2.AsyncClient, deployment: Deployment, shape: str, method: str, uri: str,
                 token: Token | None = None, headers: dict[str, str] | None = None) -> httpx2.Response:
    """Asks EdgeAuth about `method uri` the way `shape` does."""
    base = deployment.edgeauth.base
    sent = {**(token.authorization if token else {}), **(headers or {})}
    if shape == "nginx":  # auth_request: a GET subrequest, the original in X-Original-*
        return await http.get(f"{base}{VERIFY_PATH}", headers={"X-Original-Method": method, "X-Original-URI": uri, **sent})
    if shape == "traefik":  # ForwardAuth: a GET, the original in X-Forwarded-*
        return await http.get(f"{base}{VERIFY_PATH}", headers={
            "X-Forwarded-Method": method, "X-Forwarded-Uri": uri, "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "mcp.example.com", "X-Forwarded-For": "203.0.113.7", **sent})
    if shape == "envoy":  # ext_authz http_service: the original method, path_prefix + the original path, no body
        return await http.request(method, f"{base}{VERIFY_PATH}{uri}", headers={"Content-Length": "0", **sent})
    raise AssertionError(shape)


def assert_allowed(response: httpx2.Response, expected: dict[str, Any]) -> None:
    assert response.status_code == 200, f"{response.status_code} {response.headers} {response.text}"
    assert response.content == b"", response.content
    assert identity(response.headers.multi_items()) == expected, response.headers


@pytest.mark.parametrize("shape", SHAPES)
async def test_verify_allows_with_the_identity_headers(deployment: Deployment, tokens: dict[str, Token], shape: str) -> None:
    alice, bob = tokens["alice"], tokens["bob"]
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for method, uri in (("POST", "/mcp"), ("POST", "/mcp/admin"), ("GET", "/mcp/admin/x?y=1"), ("DELETE", "/mcp")):
            assert_allowed(await verify(http, deployment, shape, method, uri, alice), expected_identity(alice))
        for method, uri in (("POST", "/mcp"), ("GET", "/mcp"), ("POST", "/mcp?next=/mcp/admin"), ("POST", "/mcp/administrator")):
            assert_allowed(await verify(http, deployment, shape, method, uri, bob), expected_identity(bob))


@pytest.mark.parametrize("shape", SHAPES)
async def test_verify_without_a_valid_token_answers_401(deployment: Deployment, shape: str) -> None:
    front = deployment.front
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for uri in ("/mcp", "/mcp/admin"):
            response = await verify(http, deployment, shape, "POST", uri)
            parameters = assert_unauthorized(response, front)
            assert "error" not in parameters, response.headers  # RFC 6750 §3.1: no error code without credentials
            assert response.json()["error"], response.text

        response = await verify(http, deployment, shape, "POST", "/mcp", headers={"Authorization": "Bearer not.a.token"})
        parameters = assert_unauthorized(response, front)
        assert parameters["error"] == "invalid_token", response.headers
        assert response.json()["error"] == "invalid_token", response.text


@pytest.mark.parametrize("shape", SHAPES)
async def test_verify_missing_scope_answers_403_insufficient_scope(deployment: Deployment, tokens: dict[str, Token],
                                                                   shape: str) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for method, uri in (("POST", "/mcp/admin"), ("GET", "/mcp/admin/tools?x=1"), ("DELETE", "/mcp/admin")):
            response = await verify(http, deployment, shape, method, uri, tokens["bob"])
            assert_insufficient_scope(response, deployment.front, "notes:write")


@pytest.mark.parametrize("shape", SHAPES)
async def test_verify_answers_a_cors_preflight_without_identity(deployment: Deployment, tokens: dict[str, Token],
                                                                shape: str) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for token in (None, tokens["alice"], tokens["bob"]):
            response = await verify(http, deployment, shape, "OPTIONS", "/mcp/admin", token,
                                    headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
            assert_allowed(response, {})


@pytest.mark.parametrize("shape", SHAPES)
async def test_verify_refuses_a_path_no_route_covers(deployment: Deployment, tokens: dict[str, Token], shape: str) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for uri in ("/other", "/mcpx", "/"):
            response = await verify(http, deployment, shape, "GET", uri, tokens["alice"])
            assert response.status_code == 403, f"{uri}: {response.status_code} {response.headers} {response.text}"
            assert not edgeauth_headers(response.headers.multi_items()), response.headers


async def test_verify_shapes_give_the_same_answers(deployment: Deployment, tokens: dict[str, Token]) -> None:
    """The status, the identity headers and the challenge do not depend on the proxy."""
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for token in (None, tokens["alice"], tokens["bob"]):
            for method, uri in (("POST", "/mcp"), ("POST", "/mcp/admin"), ("OPTIONS", "/mcp"), ("GET", "/elsewhere")):
                answers = {}
                for shape in SHAPES:
                    response = await verify(http, deployment, shape, method, uri, token)
                    answers[shape] = (response.status_code, identity(response.headers.multi_items()),
                                      response.headers.get("WWW-Authenticate"))
                assert len(set(map(repr, answers.values()))) == 1, f"{token and token.user} {method} {uri}: {answers}"


async def test_verify_takes_the_original_request_from_the_most_specific_source(deployment: Deployment,
                                                                             tokens: dict[str, Token]) -> None:
    """X-Original-* (nginx) before X-Forwarded-* (Traefik) before the request's own method
    and path (Envoy)."""
    base, bob = deployment.edgeauth.base, tokens["bob"]
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.get(f"{base}{VERIFY_PATH}", headers={
            **bob.authorization, "X-Original-URI": "/mcp/admin", "X-Original-Method": "POST",
            "X-Forwarded-Uri": "/mcp", "X-Forwarded-Method": "OPTIONS"})
        assert_insufficient_scope(response, deployment.front, "notes:write")

        response = await http.get(f"{base}{VERIFY_PATH}", headers={
            **bob.authorization, "X-Original-URI": "/mcp", "X-Original-Method": "POST", "X-Forwarded-Uri": "/mcp/admin"})
        assert_allowed(response, expected_identity(bob))

        response = await http.post(f"{base}{VERIFY_PATH}/mcp", headers={
            **bob.authorization, "X-Forwarded-Uri": "/mcp/admin", "X-Forwarded-Method": "POST"})
        assert_insufficient_scope(response, deployment.front, "notes:write")

        response = await http.post(f"{base}{VERIFY_PATH}/mcp/admin", headers={
            **bob.authorization, "X-Forwarded-Uri": "/mcp", "X-Forwarded-Method": "POST"})
        assert_allowed(response, expected_identity(bob))

        response = await http.post(f"{base}{VERIFY_PATH}/mcp/admin", headers={**bob.authorization, "X-Forwarded-Method": "OPTIONS"})
        assert_allowed(response, {})


async def test_verify_ignores_identity_headers_a_client_sends(deployment: Deployment, tokens: dict[str, Token]) -> None:
    base, bob = deployment.edgeauth.base, tokens["bob"]
    forged = {"X-EdgeAuth-User": "mallory", "X-EdgeAuth-Scopes": "notes:write", "X-EdgeAuth-Roles": "admin",
              "X-EdgeAuth-Permissions": "notes:delete"}
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.get(f"{base}{VERIFY_PATH}", headers={
            **bob.authorization, **forged, "X-Original-URI": "/mcp", "X-Original-Method": "POST"})
        assert_allowed(response, expected_identity(bob))

        response = await http.post(f"{base}{VERIFY_PATH}/mcp/admin", headers={**bob.authorization, **forged})
        assert_insufficient_scope(response, deployment.front, "notes:write")
