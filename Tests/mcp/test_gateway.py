"""End-to-end tests of the gateway: `edgeauth serve` in proxy mode as an authenticating
reverse proxy in front of a real MCP server.

The upstream is Tests/gateway/upstream_mcp.py, an MCP server built with the official
`mcp` SDK (tools `headers`, `slow`, `delete_note`, `echo`); Tests/gateway/bad_upstream.py
plays the upstreams that answer garbage, never answer, or die in the middle of an SSE
stream. Tokens for alice (role admin, scopes notes:read notes:write) and bob (viewer,
notes:read) come from the OAuth flow through the development identity provider (the
helpers of test_oauth_flow.py); the clients are the official `mcp` Python client and raw
HTTP. R-numbers refer to docs/requirements.md.

Servers: one gateway per module in front of one upstream (the upstream is killed and
started again by one test), and one gateway whose routes lead to the misbehaving upstreams.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 -m pytest -q Tests/mcp/test_gateway.py
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from mcp import Client, MCPError
from mcp.client.auth.utils import extract_field_from_www_auth, extract_resource_metadata_from_www_auth, extract_scope_from_www_auth
from mcp.client.streamable_http import streamable_http_client
from test_mcp_clients import FORBIDDEN, edgeauth_binary, free_port
from test_oauth_flow import (
    HTTP_TIMEOUT, NO_KEEPALIVE, STARTUP_TIMEOUT, EdgeAuthServer, Registration, login, make_test_pki, register, start_server,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY_DIR = REPO_ROOT / "Tests" / "gateway"

# Generous bounds: a debug build on a loaded 2-core machine can be slow. They only cap how
# long a broken server can hang the suite; no test relies on them to pass.
STATE_TIMEOUT = 60.0  # for /readyz to notice an upstream going down or coming back
STREAM_TIMEOUT = 30.0  # for a stream whose upstream died to end
UPSTREAM_TOKEN_LIFETIME = 60

MODERN = "2026-07-28"  # the protocol revision the `mcp` 2.x client negotiates with this upstream
LEGACY = "2025-11-25"  # the last handshake (initialize, Mcp-Session-Id) revision
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "edgeauth-gateway-test (raw)", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
ACCEPT = "application/json, text/event-stream"
UPSTREAM_TOOLS = {"headers", "slow", "delete_note", "echo"}

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# --- the upstreams ---------------------------------------------------------------------


@dataclass
class Upstream:
    """A script of Tests/gateway/ run as its own process group on a fixed port."""

    args: list[str]  # after the interpreter: script and arguments, the port last
    port: int
    log_dir: Path
    ready_text: str
    process: subprocess.Popen[bytes] | None = None
    stdout_path: Path | None = None
    stderr_path: Path | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        name = Path(self.args[0]).stem
        self.stdout_path = self.log_dir / f"{name}-{self.port}-{self.starts}.out"
        self.stderr_path = self.stdout_path.with_suffix(".err")
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, *self.args, str(self.port)], cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while self.ready_text not in self.stdout_path.read_text(errors="replace"):
            if self.process.poll() is not None:
                pytest.fail(f"{self.args[0]} exited at startup:\n{self.logs()}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"{self.args[0]} did not start within {STARTUP_TIMEOUT}s:\n{self.logs()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, no goodbye: what a crashed upstream looks like to the gateway."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def logs(self) -> str:
        paths = [path for path in (self.stdout_path, self.stderr_path) if path is not None and path.exists()]
        return "".join(path.read_text(errors="replace") for path in paths)

    def received(self) -> list[dict[str, str]]:
        """Every request upstream_mcp.py logged, over all its runs: method, path and body."""
        lines = []
        for path in sorted(self.log_dir.glob(f"{Path(self.args[0]).stem}-{self.port}-*.err")):
            lines += [json.loads(line[len("request: "):]) for line in path.read_text(errors="replace").splitlines()
                      if line.startswith("request: ")]
        return lines

    async def received_containing(self, marker: str, settle: float = 1.0) -> list[dict[str, str]]:
        """The logged requests whose body contains `marker`, after `settle` seconds for a
        request in flight to arrive."""
        await anyio.sleep(settle)
        return [request for request in self.received() if marker in request["body"]]


def mcp_upstream(log_dir: Path) -> Upstream:
    return Upstream([str(GATEWAY_DIR / "upstream_mcp.py")], free_port(), log_dir, "upstream ready on")


def bad_upstream(mode: str, log_dir: Path) -> Upstream:
    return Upstream([str(GATEWAY_DIR / "bad_upstream.py"), mode], free_port(), log_dir, f"bad upstream ({mode}) ready")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    server = mcp_upstream(tmp_path_factory.mktemp("upstream"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --- the gateway ----------------------------------------------------------------------------


@dataclass
class Caller:
    """A user logged in through the OAuth flow: the client, the token and its subject."""

    name: str
    client: Registration
    token: str = field(repr=False)
    subject: str


@dataclass
class Gateway:
    server: EdgeAuthServer
    callers: dict[str, Caller]

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/.well-known/oauth-protected-resource/mcp"

    def token(self, name: str) -> str:
        return self.callers[name].token


def start_gateway(directory: Path, gateway: dict[str, Any], **oauth: Any) -> EdgeAuthServer:
    port = free_port()
    config = directory / "edgeauth.json"
    config.write_text(json.dumps({"oauth": {"mode": "proxy", **oauth}, "server": {"port": port, "workers": 2}, "gateway": gateway}, indent=2))
    return start_server(directory, config=config, port=port)


async def log_in(server: EdgeAuthServer, *users: str) -> dict[str, Caller]:
    callers = {}
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        jwks = KeySet.import_key_set((await http.get(f"{server.base}/jwks")).json())
        for user in users:
            client = await register(http, server)
            token = (await login(http, server, client, user=user))["access_token"]
            claims = jwt.decode(token, jwks).claims
            callers[user] = Caller(user, client, token, claims["sub"])
    return callers


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Gateway]:
    """The gateway in front of the upstream MCP server: delete_note only for admins and
    `slow` only with notes:write; a token minted for the upstream in X-EdgeAuth-Token."""
    server = start_gateway(tmp_path_factory.mktemp("gateway"), {
        "routes": [{
            "prefix": "/mcp",
            "upstream": upstream.url,
            "tools": {"delete_note": {"roles": ["admin"]}, "slow": {"scopes": ["notes:write"]}},
        }],
        "upstreamToken": {"header": "X-EdgeAuth-Token", "lifetime": UPSTREAM_TOKEN_LIFETIME},
    })
    try:
        yield Gateway(server, anyio.run(log_in, server, "alice", "bob"))
    finally:
        server.stop()


# A development user whose every value needs encoding in a header: non-ASCII, spaces, the
# list separator, the escape character, and a line break that would start a header of its own.
ODD_USER = {
    "name": "zoë o'brien,jr",
    "roles": ["ops,eu", "100%", "viewer"],
    "permissions": [],
    "scopes": ["notes:read"],
    "email": "zoë@example.com\r\nX-Injected: yes",
}
DEFAULT_USERS = [
    {"name": "alice", "roles": ["admin"], "permissions": ["notes:delete"], "scopes": ["notes:read", "notes:write"], "email": "alice@example.com"},
    {"name": "bob", "roles": ["viewer"], "permissions": [], "scopes": ["notes:read"], "email": "bob@example.com"},
]


def header_encoded(value: str) -> str:
    """An identity header value as specified: bytes outside 0x21..0x7E, '%' and ',' percent-encoded."""
    return "".join(chr(byte) if 0x21 <= byte <= 0x7E and byte not in b"%," else f"%{byte:02X}" for byte in value.encode())


@dataclass
class FailingGateway(Gateway):
    upstreams: dict[str, Upstream] = field(default_factory=dict)


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[FailingGateway]:
    """A gateway whose routes under /mcp lead to misbehaving upstreams (and /mcp itself to
    the healthy one), answering within 2 seconds or not at all; its development identity
    provider also has ODD_USER."""
    directory = tmp_path_factory.mktemp("failing")
    bad = {mode: bad_upstream(mode, directory) for mode in ("garbage", "hang", "die-mid-stream")}
    server = None
    try:
        for process in bad.values():
            process.start()
        server = start_gateway(directory, {
            "routes": [{"prefix": "/mcp", "upstream": upstream.url}]
            + [{"prefix": f"/mcp/{mode}", "upstream": process.url} for mode, process in bad.items()],
            "timeouts": {"response": 2},
        }, developmentUsers=[*DEFAULT_USERS, ODD_USER])
        yield FailingGateway(server, anyio.run(log_in, server, "alice", ODD_USER["name"]), bad)
    finally:
        if server is not None:
            server.stop()
        for process in bad.values():
            process.kill()


# --- clients ---------------------------------------------------------------------------------------


@asynccontextmanager
async def mcp_client(gateway: Gateway, user: str, *, mode: str = "auto", hooks: dict[str, list[Any]] | None = None,
                     headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """The official client through the gateway, with `user`'s bearer token."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {gateway.token(user)}", **(headers or {})},
                                  timeout=HTTP_TIMEOUT, event_hooks=hooks) as http:
        async with Client(streamable_http_client(gateway.url, http_client=http), mode=mode) as client:
            yield client


def modern_call(tool: str, arguments: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    """A self-contained 2026-07-28 tools/call, as the `mcp` client sends it."""
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments or {}, "_meta": MODERN_META}}


def modern_list(request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": {"_meta": MODERN_META}}


async def post(http: httpx2.AsyncClient, url: str, message: dict[str, Any], token: str | None = None,
               headers: dict[str, str] | None = None) -> httpx2.Response:
    """A raw POST of one 2026-07-28 message, with its routing headers."""
    sent = {"Content-Type": "application/json", "Accept": ACCEPT, "MCP-Protocol-Version": MODERN, "Mcp-Method": message["method"]}
    if message["method"] == "tools/call":
        sent["Mcp-Name"] = message["params"]["name"]
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return await http.post(url, content=json.dumps(message).encode(), headers={**sent, **(headers or {})})


def messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of an answer, whether JSON or an SSE stream."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = response.json()
        return body if isinstance(body, list) else [body]
    assert content_type.startswith("text/event-stream"), f"{response.status_code} {content_type}: {response.text[:500]}"
    found = []
    for event in response.text.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].removeprefix(" ") for line in event.split("\n") if line.startswith("data:"))
        if data:
            found.append(json.loads(data))
    return found


def answer(response: httpx2.Response, request_id: int | str) -> dict[str, Any]:
    """The response (result or error) to `request_id` in an answer."""
    found = [message for message in messages(response) if message.get("id") == request_id and ("result" in message or "error" in message)]
    assert len(found) == 1, f"{response.status_code}: {response.text[:1000]}"
    return found[0]


def tool_text(result: dict[str, Any]) -> str:
    assert "result" in result, result
    assert not result["result"].get("isError"), result
    return result["result"]["content"][0]["text"]


def seen_headers(text: str) -> dict[str, list[str]]:
    """What the `headers` tool answered: lower-cased name -> every value it received."""
    received = json.loads(text)
    assert all(name == name.lower() for name in received), received
    return received


def single(received: dict[str, list[str]], name: str) -> str:
    values = received.get(name)
    assert values is not None and len(values) == 1, f"{name}: {values} in {received}"
    return values[0]


def identity_list(value: str) -> set[str]:
    return {unquote(item) for item in value.split(",")}


def gateway_error(response: httpx2.Response, status: int, request_id: int | str | None) -> dict[str, Any]:
    """A failure the gateway answers itself: a JSON-RPC error for the request's id."""
    assert response.status_code == status, f"{response.status_code}: {response.text[:1000]}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body.get("jsonrpc") == "2.0" and body.get("id") == request_id and "result" not in body, body
    error = body.get("error")
    assert isinstance(error, dict) and isinstance(error.get("code"), int) and error["code"] < 0, body
    assert isinstance(error.get("message"), str) and error["message"], body
    return error


async def readiness(http: httpx2.AsyncClient, gateway: Gateway) -> tuple[int, dict[str, Any]]:
    response = await http.get(f"{gateway.base}/readyz")
    return response.status_code, response.json()


def upstream_state(body: dict[str, Any], url: str) -> str | None:
    states = [entry.get("state") for entry in body.get("upstreams", []) if entry.get("url") == url]
    assert len(states) <= 1, body
    return states[0] if states else None


# --- identity, not tokens, reaches the upstream ----------------------------------------------------


async def test_r7_upstream_gets_identity_headers_and_never_the_token(gateway: Gateway) -> None:
    alice = gateway.callers["alice"]
    async with mcp_client(gateway, "alice") as client:
        tools = await client.list_tools()
        assert {tool.name for tool in tools.tools} == UPSTREAM_TOOLS
        result = await client.call_tool("headers", {})
        assert not result.is_error
        received = seen_headers(result.content[0].text)

    assert "authorization" not in received, received
    assert all(alice.token not in value for values in received.values() for value in values)
    assert single(received, "x-edgeauth-user") == alice.subject
    assert identity_list(single(received, "x-edgeauth-scopes")) == {"notes:read", "notes:write"}
    assert identity_list(single(received, "x-edgeauth-roles")) == {"admin"}
    assert identity_list(single(received, "x-edgeauth-permissions")) == {"notes:delete"}
    assert unquote(single(received, "x-edgeauth-email")) == "alice@example.com"
    assert unquote(single(received, "x-edgeauth-client-id")) == alice.client.client_id
    assert "127.0.0.1" in single(received, "x-forwarded-for")
    assert single(received, "x-forwarded-proto") == "http"
    assert single(received, "x-forwarded-host") == f"127.0.0.1:{gateway.server.port}"
    # The SDK's own headers made it through.
    assert single(received, "mcp-protocol-version") == MODERN
    assert single(received, "mcp-name") == "headers"

    # bob has no permission at all: no permissions header rather than an empty one.
    async with mcp_client(gateway, "bob") as client:
        received = seen_headers((await client.call_tool("headers", {})).content[0].text)
    assert single(received, "x-edgeauth-user") == gateway.callers["bob"].subject
    assert identity_list(single(received, "x-edgeauth-roles")) == {"viewer"}
    assert identity_list(single(received, "x-edgeauth-scopes")) == {"notes:read"}
    assert "x-edgeauth-permissions" not in received, received
    assert "authorization" not in received


async def test_r7_spoofed_identity_headers_and_edgeauth_cookies_never_reach_the_upstream(gateway: Gateway) -> None:
    alice = gateway.callers["alice"]
    spoofed = {
        "X-EdgeAuth-User": "mallory",
        "X-EdgeAuth-Roles": "admin",
        "X-EdgeAuth-Scopes": "notes:read,notes:write,admin:all",
        "X-EdgeAuth-Email": "mallory@example.com",
        "X-EdgeAuth-Token": "forged.token.value",
        "X-EdgeAuth-Anything-Else": "spoofed",
        "Cookie": "edgeauth_session=stolen; theme=dark; edgeauth-csrf=stolen-too",
        "X-Custom": "kept",
        "Last-Event-ID": "event-17",
    }
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await post(http, gateway.url, modern_call("headers", request_id=41), alice.token, spoofed)
        assert response.status_code == 200, response.text
        received = seen_headers(tool_text(answer(response, 41)))

    assert single(received, "x-edgeauth-user") == alice.subject
    assert identity_list(single(received, "x-edgeauth-roles")) == {"admin"}  # alice's own role, once
    assert identity_list(single(received, "x-edgeauth-scopes")) == {"notes:read", "notes:write"}
    assert "x-edgeauth-anything-else" not in received
    assert all(value != "forged.token.value" for value in received.get("x-edgeauth-token", []))
    assert all("mallory" not in value and "spoofed" not in value for values in received.values() for value in values), received
    assert "authorization" not in received
    cookies = "; ".join(received.get("cookie", []))
    assert "stolen" not in cookies and "edgeauth" not in cookies, cookies
    assert "theme=dark" in cookies, cookies
    assert single(received, "x-custom") == "kept"
    assert single(received, "last-event-id") == "event-17"

    # The same spoofing without a token is not even forwarded.
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await post(http, gateway.url, modern_call("headers", request_id=42), None, spoofed)
        assert response.status_code == 401


async def test_r2_no_token_or_a_bad_one_is_challenged(gateway: Gateway) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for message in (modern_call("echo", {"text": "hello"}), modern_list()):
            response = await post(http, gateway.url, message)
            assert response.status_code == 401, response.text
            challenge = response.headers["WWW-Authenticate"]
            assert challenge.startswith("Bearer ")
            assert "resource_metadata=" in challenge
            assert extract_resource_metadata_from_www_auth(response) == gateway.metadata_url
            assert "error=" not in challenge  # RFC 6750 §3.1: no token, no error attribute
            assert "result" not in response.text

        response = await post(http, gateway.url, modern_call("echo", {"text": "hello"}), "not.a.token")
        assert response.status_code == 401
        assert extract_field_from_www_auth(response, "error") == "invalid_token"
        assert extract_resource_metadata_from_www_auth(response) == gateway.metadata_url

        # GET and DELETE under the prefix are verified too.
        for method in ("GET", "DELETE"):
            response = await http.request(method, gateway.url, headers={"Accept": "text/event-stream", "Mcp-Session-Id": "x"})
            assert response.status_code == 401, method
            assert extract_resource_metadata_from_www_auth(response) == gateway.metadata_url

        # R1: the metadata the challenge points to names this endpoint.
        metadata = await http.get(gateway.metadata_url)
        assert metadata.status_code == 200
        assert metadata.json()["resource"] == gateway.url


async def test_path_and_query_after_the_prefix_are_forwarded(gateway: Gateway) -> None:
    alice = gateway.callers["alice"]
    body = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "ping"})  # the gateway reads POST bodies as JSON-RPC
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for method in ("GET", "POST", "DELETE"):
            response = await http.request(method, f"{gateway.url}/request-info?a=1&b=two%20words&c=%2F",
                                          headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "application/json"},
                                          content=body.encode() if method == "POST" else None)
            assert response.status_code == 200, f"{method}: {response.status_code} {response.text}"
            info = response.json()
            assert info["method"] == method
            assert info["path"] == "/mcp/request-info"
            assert info["query"] == "a=1&b=two%20words&c=%2F"
            assert info["body"] == (body if method == "POST" else "")
            assert "authorization" not in info["headers"]
            assert single(info["headers"], "x-edgeauth-user") == alice.subject

        # Outside the protected prefix nothing is forwarded, and inside it nothing without a token.
        response = await http.get(f"{gateway.base}/mcpx/request-info")
        assert response.status_code == 404, response.text
        response = await http.get(f"{gateway.url}/request-info")
        assert response.status_code == 401, response.text


# --- streaming ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_notifications_stream_through_one_by_one(gateway: Gateway, mode: str) -> None:
    stamps: list[tuple[float, float]] = []  # (arrival, progress)

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        stamps.append((time.monotonic(), progress))

    async with mcp_client(gateway, "alice", mode=mode) as client:
        started = time.monotonic()
        result = await client.call_tool("slow", {"steps": 5}, progress_callback=on_progress)
        finished = time.monotonic()
    assert not result.is_error and result.content[0].text == "done"
    assert [progress for _, progress in stamps] == [1, 2, 3, 4, 5]
    arrivals = [arrival - started for arrival, _ in stamps]
    # The upstream sends them 0.3 s apart: buffered until the end, they would arrive together.
    assert arrivals[-1] - arrivals[0] >= 0.8, f"progress arrived at {arrivals}, result at {finished - started}"
    assert finished - stamps[0][0] >= 0.8, f"the first progress came with the result: {arrivals}, result at {finished - started}"


# --- the token minted for the upstream ------------------------------------------------------------------


async def test_r7_upstream_token_is_minted_for_the_upstream(gateway: Gateway, upstream: Upstream) -> None:
    alice = gateway.callers["alice"]
    async with mcp_client(gateway, "alice") as client:
        received = seen_headers((await client.call_tool("headers", {})).content[0].text)
    minted = single(received, "x-edgeauth-token")
    assert minted != alice.token and minted.count(".") == 2

    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        jwks = KeySet.import_key_set((await http.get(f"{gateway.base}/jwks")).json())
    token = jwt.decode(minted, jwks)  # raises unless a published key signed it
    claims = token.claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": gateway.server.issuer},
        sub={"essential": True, "value": alice.subject},
        exp={"essential": True},
    ).validate(claims)  # also: not expired, not used before its time
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert audience == [upstream.url], claims
    now = time.time()
    assert now < claims["exp"] <= now + UPSTREAM_TOKEN_LIFETIME + 5, claims
    if "iat" in claims:
        assert 0 < claims["exp"] - claims["iat"] <= UPSTREAM_TOKEN_LIFETIME, claims
    assert set(claims["scope"].split()) == {"notes:read", "notes:write"}, claims
    assert claims.get("client_id") == alice.client.client_id, claims
    assert "admin" in claims.get("roles", []), claims
    # The client's token is not valid at the upstream's audience, nor is the minted one at the gateway.
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await post(http, gateway.url, modern_call("echo", {"text": "x"}), minted)
        assert response.status_code == 401, response.text


# --- requirements per tool ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # tools/list answered as JSON, then as SSE
async def test_r3_tool_requirements_filter_the_list_and_refuse_the_call(gateway: Gateway, mode: str) -> None:
    async with mcp_client(gateway, "alice", mode=mode) as alice:
        assert {tool.name for tool in (await alice.list_tools()).tools} == UPSTREAM_TOOLS
        assert (await alice.call_tool("delete_note", {"id": 1})).content[0].text == "deleted"

    async with mcp_client(gateway, "bob", mode=mode) as bob:
        assert {tool.name for tool in (await bob.list_tools()).tools} == {"headers", "echo"}
        with pytest.raises(MCPError) as denied:
            await bob.call_tool("delete_note", {"id": 1})
        assert denied.value.code == FORBIDDEN
        assert denied.value.message.startswith("Forbidden"), denied.value.message
        assert denied.value.data["missing"]["roles"] == ["admin"], denied.value.data
        assert denied.value.data["missing"].get("permissions", []) == [], denied.value.data
        # A denial leaves the session usable.
        assert (await bob.call_tool("echo", {"text": "still here"})).content[0].text == "still here"


async def test_r3_raw_tool_denials(gateway: Gateway, upstream: Upstream) -> None:
    bob = gateway.token("bob")
    marker = 700_000 + int.from_bytes(os.urandom(3))
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        # Only a role missing: HTTP 200, a JSON-RPC error for that request.
        response = await post(http, gateway.url, modern_call("delete_note", {"id": marker}, request_id=17), bob)
        assert response.status_code == 200, response.text
        error = answer(response, 17)["error"]
        assert error["code"] == FORBIDDEN and error["message"].startswith("Forbidden"), error
        assert error["data"]["missing"]["roles"] == ["admin"], error

        # A scope missing: a step-up challenge naming it.
        response = await post(http, gateway.url, modern_call("slow", {"steps": marker}, request_id=18), bob)
        assert response.status_code == 403, response.text
        assert extract_field_from_www_auth(response, "error") == "insufficient_scope"
        assert extract_scope_from_www_auth(response) == "notes:write"
        assert extract_resource_metadata_from_www_auth(response) == gateway.metadata_url
        assert "result" not in response.text

        # The filtered list, raw.
        response = await post(http, gateway.url, modern_list(request_id=19), bob)
        assert response.status_code == 200, response.text
        assert {tool["name"] for tool in answer(response, 19)["result"]["tools"]} == {"headers", "echo"}
        response = await post(http, gateway.url, modern_list(request_id=20), gateway.token("alice"))
        assert {tool["name"] for tool in answer(response, 20)["result"]["tools"]} == UPSTREAM_TOOLS

        # What bob may call goes through.
        response = await post(http, gateway.url, modern_call("echo", {"text": f"bob {marker}"}, request_id=21), bob)
        assert tool_text(answer(response, 21)) == f"bob {marker}"

    # Only that one reached the upstream.
    reached = await upstream.received_containing(str(marker))
    assert [json.loads(request["body"])["params"]["name"] for request in reached] == ["echo"], reached


async def test_r3_every_element_of_a_batch_is_checked(gateway: Gateway, upstream: Upstream) -> None:
    bob = gateway.token("bob")
    marker = uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {bob}", "Content-Type": "application/json", "Accept": ACCEPT, "MCP-Protocol-Version": MODERN}
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        # A scope missing for one element: the whole batch gets the step-up challenge.
        batch = [modern_call("echo", {"text": f"{marker} a"}, request_id="a"), modern_call("slow", {"steps": 1}, request_id="b")]
        response = await http.post(gateway.url, content=json.dumps(batch).encode(), headers=headers)
        assert response.status_code == 403, response.text
        assert extract_field_from_www_auth(response, "error") == "insufficient_scope"
        assert extract_scope_from_www_auth(response) == "notes:write"

        # A role missing for one element: whatever the answer, that element is refused.
        batch = [modern_call("echo", {"text": f"{marker} c"}, request_id="c"),
                 modern_call("delete_note", {"id": 1}, request_id="d")]
        response = await http.post(gateway.url, content=json.dumps(batch).encode(), headers=headers)
        assert response.status_code < 500, response.text
        assert "deleted" not in response.text, response.text
        if response.status_code == 200:
            for message in messages(response):
                if message.get("id") == "d":
                    assert message["error"]["code"] == FORBIDDEN, message

    reached = await upstream.received_containing(marker)
    assert all("delete_note" not in request["body"] and '"slow"' not in request["body"] for request in reached), reached


# --- sessions ---------------------------------------------------------------------------------------


async def test_session_id_passes_through(gateway: Gateway) -> None:
    sent: list[str | None] = []
    answered: list[str | None] = []

    async def on_request(request: httpx2.Request) -> None:
        if request.method == "POST":
            sent.append(request.headers.get("mcp-session-id"))

    async def on_response(response: httpx2.Response) -> None:
        if response.request.method == "POST":
            answered.append(response.headers.get("mcp-session-id"))

    async with mcp_client(gateway, "alice", mode="legacy", hooks={"request": [on_request], "response": [on_response]}) as client:
        assert client.protocol_version == LEGACY
        assert (await client.call_tool("echo", {"text": "in a session"})).content[0].text == "in a session"
        received = seen_headers((await client.call_tool("headers", {})).content[0].text)
    session = answered[0]
    assert session, f"no Mcp-Session-Id on the initialize answer: {answered}"
    assert sent[0] is None and all(value == session for value in sent[1:]), sent
    assert single(received, "mcp-session-id") == session

    # The same, raw: initialize, a call, the GET stream, DELETE; then the upstream has forgotten it.
    headers = {"Authorization": f"Bearer {gateway.token('alice')}", "Content-Type": "application/json", "Accept": ACCEPT}
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.post(gateway.url, headers=headers, json={
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
        assert response.status_code == 200, response.text
        assert answer(response, 1)["result"]["protocolVersion"] == LEGACY
        session = response.headers["mcp-session-id"]
        in_session = {**headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY}
        response = await http.post(gateway.url, headers=in_session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert response.status_code == 202, response.text
        response = await http.post(gateway.url, headers=in_session, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "raw session"}}})
        assert tool_text(answer(response, 2)) == "raw session"

        with anyio.fail_after(STREAM_TIMEOUT):
            async with http.stream("GET", gateway.url, headers={**in_session, "Accept": "text/event-stream"}) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")

        response = await http.delete(gateway.url, headers=in_session)
        assert response.status_code == 200, response.text
        # The upstream's own answer for a session it no longer has.
        response = await http.post(gateway.url, headers=in_session, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
        assert response.status_code == 404, response.text
        assert "Session not found" in response.text
        response = await http.post(gateway.url, headers={**in_session, "Mcp-Session-Id": uuid.uuid4().hex},
                                   json={"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
        assert response.status_code == 404, response.text


# --- an upstream that goes away ----------------------------------------------------------------------------


async def test_upstream_down_is_502_and_not_ready_until_it_is_back(gateway: Gateway, upstream: Upstream) -> None:
    alice = gateway.token("alice")
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, limits=NO_KEEPALIVE) as http:
        status, body = await readiness(http, gateway)
        assert status == 200 and upstream_state(body, upstream.url) == "up", body

        upstream.kill()
        try:
            for attempt in range(4):  # either worker, with or without a connection to the upstream kept from before
                response = await post(http, gateway.url, modern_call("echo", {"text": "anyone?"}, request_id=30 + attempt), alice)
                gateway_error(response, 502, 30 + attempt)

            deadline = time.monotonic() + STATE_TIMEOUT
            while True:
                status, body = await readiness(http, gateway)
                if status == 503 and upstream_state(body, upstream.url) == "down":
                    break
                assert time.monotonic() < deadline, f"/readyz still {status}: {body}"
                await anyio.sleep(0.2)
        finally:
            upstream.start()

        deadline = time.monotonic() + STATE_TIMEOUT
        while True:
            response = await post(http, gateway.url, modern_call("echo", {"text": "back"}, request_id=40), alice)
            if response.status_code == 200:
                assert tool_text(answer(response, 40)) == "back"
                break
            assert time.monotonic() < deadline, f"still {response.status_code} after the restart: {response.text}"
            await anyio.sleep(0.2)

        deadline = time.monotonic() + STATE_TIMEOUT
        ready_in_a_row = 0
        while ready_in_a_row < 4:  # fresh connections: both workers
            status, body = await readiness(http, gateway)
            ready_in_a_row = ready_in_a_row + 1 if status == 200 and upstream_state(body, upstream.url) == "up" else 0
            assert ready_in_a_row or time.monotonic() < deadline, f"/readyz still {status}: {body}"
            if not ready_in_a_row:
                await anyio.sleep(0.2)

    async with mcp_client(gateway, "alice") as client:
        assert (await client.call_tool("echo", {"text": "all good"})).content[0].text == "all good"


async def test_identity_header_values_are_percent_encoded(failing: FailingGateway) -> None:
    odd = failing.callers[ODD_USER["name"]]
    async with mcp_client(failing, odd.name) as client:
        received = seen_headers((await client.call_tool("headers", {})).content[0].text)
    assert "x-injected" not in received, received
    identity = {name: values for name, values in received.items() if name.startswith("x-edgeauth-")}
    for name, values in identity.items():
        assert len(values) == 1 and all(0x21 <= ord(char) <= 0x7E for char in values[0]), (name, values)
    user = single(received, "x-edgeauth-user")
    assert unquote(user) == odd.subject
    if odd.subject == ODD_USER["name"]:
        assert user.upper() == header_encoded(ODD_USER["name"]).upper(), user
    assert unquote(single(received, "x-edgeauth-email")) == ODD_USER["email"]
    roles = single(received, "x-edgeauth-roles")
    assert identity_list(roles) == set(ODD_USER["roles"]), roles
    assert sorted(roles.upper().split(",")) == sorted(header_encoded(role).upper() for role in ODD_USER["roles"]), roles
    assert identity_list(single(received, "x-edgeauth-scopes")) == {"notes:read"}
    assert "x-edgeauth-permissions" not in received, received


# --- upstreams that misbehave ------------------------------------------------------------------------------


async def test_upstream_answering_garbage_is_502(failing: FailingGateway) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await post(http, f"{failing.base}/mcp/garbage", modern_call("echo", {"text": "x"}, request_id=51), failing.token("alice"))
        gateway_error(response, 502, 51)
        assert "not HTTP" not in response.text  # the upstream's bytes are not relayed
    assert "POST /mcp" in failing.upstreams["garbage"].logs()  # it did reach the upstream


async def test_upstream_that_never_answers_is_504(failing: FailingGateway) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        started = time.monotonic()
        response = await post(http, f"{failing.base}/mcp/hang", modern_call("echo", {"text": "x"}, request_id="hang-1"), failing.token("alice"))
        elapsed = time.monotonic() - started
        gateway_error(response, 504, "hang-1")
        assert elapsed >= 1.5, f"answered after {elapsed:.1f}s, before the 2-second response timeout"


async def test_upstream_dying_mid_stream_ends_the_clients_stream(failing: FailingGateway) -> None:
    alice = failing.token("alice")
    events: list[str] = []
    ending = "the stream ended"
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        with anyio.fail_after(STREAM_TIMEOUT):
            async with http.stream(
                "POST", f"{failing.base}/mcp/die-mid-stream", content=json.dumps(modern_call("slow", {"steps": 3}, request_id=61)).encode(),
                headers={"Authorization": f"Bearer {alice}", "Content-Type": "application/json", "Accept": ACCEPT,
                         "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "slow"},
            ) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                try:
                    async for line in stream.aiter_lines():
                        if line.startswith("data:"):
                            events.append(line)
                except httpx2.TransportError as error:  # an abrupt end is as good as a clean one
                    ending = f"the stream broke: {type(error).__name__}"
    # The event sent before the upstream died, then at most an error for the request, never a result.
    assert events and "notifications/progress" in events[0], (events, ending)
    for event in events[1:]:
        message = json.loads(event[5:])
        assert message.get("id") == 61 and "error" in message and "result" not in message, (events, ending)

    # Right after, the gateway answers on every worker, through a healthy route too.
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, limits=NO_KEEPALIVE) as http:
        for attempt in range(6):
            assert (await http.get(f"{failing.base}/healthz")).status_code == 200
            response = await post(http, failing.url, modern_call("echo", {"text": f"after {attempt}"}, request_id=70 + attempt), alice)
            assert response.status_code == 200, response.text
            assert tool_text(answer(response, 70 + attempt)) == f"after {attempt}"
    async with mcp_client(failing, "alice") as client:
        assert (await client.call_tool("echo", {"text": "fine"})).content[0].text == "fine"


# --- an https upstream ------------------------------------------------------------------------------------


class TLSUpstream:
    """An https upstream on 127.0.0.1, its certificate from a test CA, answering every POST
    with one JSON-RPC result."""

    ANSWER = {"jsonrpc": "2.0", "id": 71, "result": {"over": "tls"}}

    def __init__(self, certificate: Path, key: Path) -> None:
        answer = json.dumps(self.ANSWER).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_https_upstream_is_verified_against_gateway_trusted_certificates(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    ca, certificate, key = make_test_pki(tmp_path / "pki")
    upstream = TLSUpstream(certificate, key)
    routes = [{"prefix": "/mcp", "upstream": f"https://127.0.0.1:{upstream.port}/mcp"}]
    servers: list[EdgeAuthServer] = []
    try:
        for name, gateway, status in (("trusted", {"routes": routes, "trustedCertificates": str(ca)}, 200), ("untrusted", {"routes": routes}, 502)):
            (tmp_path / name).mkdir()
            server = start_gateway(tmp_path / name, gateway)
            servers.append(server)
            token = (await log_in(server, "alice"))["alice"].token
            async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
                for _ in range(2):  # the second over the connection the first left open
                    response = await post(http, f"{server.base}/mcp", modern_call("echo", {"text": "x"}, request_id=71), token)
                    if status == 200:
                        assert response.status_code == 200 and response.json() == TLSUpstream.ANSWER, response.text
                    else:
                        gateway_error(response, 502, 71)  # never an unverified connection
    finally:
        for server in servers:
            server.stop()
        upstream.stop()


def test_unreadable_gateway_trusted_certificates_stop_the_start(tmp_path: Path) -> None:
    config = tmp_path / "edgeauth.json"
    config.write_text(json.dumps({"oauth": {"mode": "proxy"}, "gateway": {
        "routes": [{"prefix": "/mcp", "upstream": "https://127.0.0.1:9/mcp"}], "trustedCertificates": str(tmp_path / "missing.pem")}}))
    result = subprocess.run([str(edgeauth_binary()), "serve", "--config", str(config), "--port", str(free_port()), "--data-dir", str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=STARTUP_TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode != 0, result.stdout
    assert "gateway.trustedCertificates: cannot read" in result.stderr, result.stderr
