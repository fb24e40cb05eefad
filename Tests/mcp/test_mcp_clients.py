"""End-to-end tests of `edgeauth serve` (the demo MCP handler) through the official
Python MCP SDK client (`mcp` 2.x) over Streamable HTTP with bearer tokens.

One server per module (a master and 2 workers, the embedded development
configuration under a temporary data directory); tokens come from
`edgeauth dev-token`. R-numbers refer to docs/requirements.md.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 -m pytest -q Tests/mcp
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.auth.utils import (
    extract_field_from_www_auth,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
)
from mcp.client.streamable_http import streamable_http_client
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR
from mcp_types.version import LATEST_HANDSHAKE_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]

# Generous bounds: a debug build on a loaded 2-core machine can be slow. They only
# cap how long a broken server can hang the suite; no test relies on them to pass.
STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0
LOG_TIMEOUT = 15.0
HTTP_TIMEOUT = httpx2.Timeout(60.0)

FORBIDDEN = -32003  # EdgeAuth's JSON-RPC code for a missing role or permission
ALL_TOOLS = {"whoami", "add_note", "list_notes", "delete_note", "admin_stats"}
USERS = [f"user{i:02d}" for i in range(20)]

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# --- the server under test ------------------------------------------------------


def edgeauth_binary() -> Path:
    path = Path(os.environ.get("EDGEAUTH_BINARY", ".build/debug/edgeauth"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        pytest.fail(f"edgeauth binary not found at {path} (build it, or set EDGEAUTH_BINARY)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class EdgeAuthServer:
    binary: Path
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    tokens: dict[str, str] = field(default_factory=dict, repr=False)  # kept out of failure reports

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/.well-known/oauth-protected-resource/mcp"

    def mint(self, name: str, user: str, *, roles: str = "", permissions: str = "", scopes: str = "") -> str:
        """Mint a development token for `user` and keep it under `name`."""
        args = [str(self.binary), "dev-token", "--user", user, "--port", str(self.port), "--data-dir", str(self.data_dir)]
        for flag, value in (("--roles", roles), ("--permissions", permissions), ("--scopes", scopes)):
            if value:
                args += [flag, value]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
        token = done.stdout.strip()
        assert token.count(".") == 2, f"dev-token printed no JWT: {done.stdout!r} {done.stderr!r}"
        self.tokens[name] = token
        return token

    def logs(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    async def audit_line(self, request_id: str) -> str:
        """The audit line of one request: workers write it around the time they answer,
        so it may land just after the response arrives."""
        pattern = re.compile(rf"edgeauth\.mcp\.audit:.*\brequest_id={re.escape(request_id)}(\s|$)")
        deadline = time.monotonic() + LOG_TIMEOUT
        while True:
            for line in self.stderr_path.read_text(errors="replace").splitlines():
                if pattern.search(line):
                    return line
            if time.monotonic() > deadline:
                pytest.fail(f"no audit line for request_id={request_id} in:\n{self.stderr_path.read_text()}")
            await anyio.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the master (it drains and stops its workers), then SIGKILL whatever
        is left of its process group, so no worker outlives a failed test."""
        pid = self.process.pid
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + SHUTDOWN_TIMEOUT
            # WNOWAIT leaves the exited master unreaped, so its pid (the group id) can't be
            # reused before the group is killed below.
            while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def start_server(binary: Path, data_dir: Path) -> EdgeAuthServer:
    # The port from free_port() can be taken by someone else before the server binds
    # it; a server that exits at startup is retried on another port.
    for attempt in range(3):
        port = free_port()
        stdout_path = data_dir / f"server-{attempt}.out"
        stderr_path = data_dir / f"server-{attempt}.err"
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                [str(binary), "serve", "--port", str(port), "--workers", "2",
                 "--data-dir", str(data_dir), "--no-rate-limit"],
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                start_new_session=True,  # its own process group, killed as one in stop()
            )
        server = EdgeAuthServer(binary, data_dir, port, process, stdout_path, stderr_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while True:
                # The first stdout line is printed once every worker is ready.
                first, newline, _ = stdout_path.read_text(errors="replace").partition("\n")
                if newline:
                    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", first)
                    assert match and int(match.group(1)) == port, f"unexpected first line: {first!r}"
                    return server
                if process.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"edgeauth serve did not start within {STARTUP_TIMEOUT}s:\n{stderr_path.read_text()}")
                time.sleep(0.05)
        except BaseException:
            server.stop()
            raise
        server.stop()
    pytest.fail(f"edgeauth serve exited at startup:\n{stderr_path.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    srv = start_server(edgeauth_binary(), tmp_path_factory.mktemp("edgeauth"))
    try:
        srv.mint("alice", "alice", roles="admin", permissions="notes:delete", scopes="notes:read notes:write")
        srv.mint("bob", "bob", roles="viewer", scopes="notes:read")
        # The same user bob with the write scope: notes follow the user, not the token.
        srv.mint("bob-writer", "bob", roles="viewer", scopes="notes:read notes:write")
        for user in USERS:
            srv.mint(user, user, scopes="notes:read notes:write")
        yield srv
    finally:
        srv.stop()


# --- clients ----------------------------------------------------------------------


@asynccontextmanager
async def mcp_client(
    server: EdgeAuthServer,
    token_name: str,
    on_response: Callable[[httpx2.Response], Awaitable[None]] | None = None,
) -> AsyncIterator[Client]:
    """An SDK client connected (discover probe, then initialize) with a bearer token."""
    async with httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {server.tokens[token_name]}"},
        timeout=HTTP_TIMEOUT,
        event_hooks={"response": [on_response]} if on_response else None,
    ) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            yield client


def rpc(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def call(tool: str, arguments: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    return rpc("tools/call", {"name": tool, "arguments": arguments or {}}, request_id)


async def post(
    http: httpx2.AsyncClient,
    server: EdgeAuthServer,
    body: dict[str, Any] | list[Any] | bytes | None,
    token: str | None = None,
) -> httpx2.Response:
    """A raw POST /mcp as a Streamable HTTP client sends it."""
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return await http.post(server.url, content=content, headers=headers)


def jsonrpc_error(response: httpx2.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body.get("jsonrpc") == "2.0" and "error" in body, body
    return body["error"]


def note_texts(result: Any) -> list[str]:
    return [note["text"] for note in result.structured_content["notes"]]


def root_cause(error: BaseException) -> BaseException:
    while (inner := error.__cause__ or error.__context__) is not None:
        error = inner
    return error


def has_field(line: str, key: str, value: str) -> bool:
    return re.search(rf"(^|\s){re.escape(key)}={re.escape(value)}(\s|$)", line) is not None


# --- tests ------------------------------------------------------------------------


async def test_alice_full_session(server: EdgeAuthServer) -> None:
    async with mcp_client(server, "alice") as client:
        # mode "auto" probes server/discover at 2026-07-28 (400 here: not a version this
        # server speaks) and falls back to initialize.
        assert client.server_info is not None and client.server_info.name == "edgeauth-demo"
        assert client.protocol_version == LATEST_HANDSHAKE_VERSION

        tools = await client.list_tools()
        assert {tool.name for tool in tools.tools} == ALL_TOOLS

        who = await client.call_tool("whoami", {})
        assert not who.is_error
        assert who.structured_content is not None
        assert who.structured_content["id"] == "alice"
        assert who.structured_content["roles"] == ["admin"]
        assert who.structured_content["permissions"] == ["notes:delete"]
        assert sorted(who.structured_content["scopes"]) == ["notes:read", "notes:write"]
        assert who.content[0].text.startswith("You are alice with roles")

        text = f"alice note {uuid.uuid4()}"
        added = await client.call_tool("add_note", {"text": text})
        assert not added.is_error
        note_id = added.structured_content["id"]
        assert added.structured_content == {"id": note_id, "text": text}
        assert added.content[0].text == f"Added note {note_id}"

        listed = await client.call_tool("list_notes", {})
        assert {"id": note_id, "text": text} in listed.structured_content["notes"]

        stats = await client.call_tool("admin_stats", {})
        assert not stats.is_error
        assert stats.structured_content["usersWithNotes"] >= 1
        assert stats.structured_content["bytes"] > 0

        resource = await client.read_resource("notes://mine")
        assert len(resource.contents) == 1
        assert str(resource.contents[0].uri) == "notes://mine"
        assert resource.contents[0].mime_type == "application/json"
        json.loads(resource.contents[0].text)  # JSON, as the mime type says
        assert text in resource.contents[0].text

        prompt = await client.get_prompt("summarize_notes")
        assert prompt.messages[0].role == "user"
        assert text in prompt.messages[0].content.text

        deleted = await client.call_tool("delete_note", {"id": note_id})
        assert not deleted.is_error
        listed = await client.call_tool("list_notes", {})
        assert note_id not in [note["id"] for note in listed.structured_content["notes"]]

        # A tool failure (unknown note) is a result with isError, not a protocol error.
        again = await client.call_tool("delete_note", {"id": note_id})
        assert again.is_error


async def test_bob_sees_and_calls_only_what_he_may(server: EdgeAuthServer) -> None:
    async with mcp_client(server, "bob") as client:
        tools = await client.list_tools()
        assert {tool.name for tool in tools.tools} == {"whoami", "add_note", "list_notes"}

        with pytest.raises(MCPError) as denied:
            await client.call_tool("admin_stats", {})
        assert denied.value.code == FORBIDDEN
        assert 'missing role "admin"' in denied.value.message
        assert denied.value.data == {"missing": {"roles": ["admin"], "permissions": [], "checks": []}}

        with pytest.raises(MCPError) as denied:
            await client.call_tool("delete_note", {"id": 1})
        assert denied.value.code == FORBIDDEN
        assert 'missing permission "notes:delete"' in denied.value.message
        assert denied.value.data == {"missing": {"roles": [], "permissions": ["notes:delete"], "checks": []}}

        # R3: a missing scope is an HTTP 403 challenge, not a JSON-RPC error. Its body is
        # an OAuth error, so the SDK transport (without an OAuth provider) cannot parse it
        # and substitutes a generic internal error; the challenge is in the header only.
        with pytest.raises(MCPError) as step_up:
            await client.call_tool("add_note", {"text": "bob may not write"})
        assert step_up.value.code == INTERNAL_ERROR
        assert step_up.value.message == "Server returned an error response"

        # R6: every request is verified on its own; a denial leaves the connection usable.
        who = await client.call_tool("whoami", {})
        assert who.structured_content["id"] == "bob"
        assert who.structured_content["scopes"] == ["notes:read"]


async def test_missing_scope_is_a_step_up_challenge(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await post(http, server, call("add_note", {"text": "x"}), server.tokens["bob"])
        assert response.status_code == 403  # R3
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert 'error="insufficient_scope"' in challenge
        assert 'scope="notes:write"' in challenge
        assert f'resource_metadata="{server.metadata_url}"' in challenge
        assert response.json()["error"] == "insufficient_scope"
        # The SDK's OAuth provider reads the challenge with these to re-authorize.
        assert extract_field_from_www_auth(response, "error") == "insufficient_scope"
        assert extract_scope_from_www_auth(response) == "notes:write"
        assert extract_resource_metadata_from_www_auth(response) == server.metadata_url

        # R1: the metadata the challenge points to names this MCP endpoint.
        metadata = await http.get(server.metadata_url)
        assert metadata.status_code == 200
        assert metadata.json()["resource"] == server.url
        assert metadata.json()["bearer_methods_supported"] == ["header"]


async def test_notes_are_keyed_by_the_verified_user(server: EdgeAuthServer) -> None:
    # R6: identity comes from each request's verified token, never from a session.
    alice_text = f"alice private {uuid.uuid4()}"
    bob_text = f"bob private {uuid.uuid4()}"
    async with (
        mcp_client(server, "alice") as alice,
        mcp_client(server, "bob-writer") as bob_writer,
        mcp_client(server, "bob") as bob,
    ):
        assert not (await alice.call_tool("add_note", {"text": alice_text})).is_error
        assert not (await bob_writer.call_tool("add_note", {"text": bob_text})).is_error

        alice_notes = note_texts(await alice.call_tool("list_notes", {}))
        assert alice_text in alice_notes
        assert bob_text not in alice_notes

        # bob's read-only token sees what bob wrote with the other token, and only that.
        assert note_texts(await bob.call_tool("list_notes", {})) == [bob_text]
        bob_resource = (await bob.read_resource("notes://mine")).contents[0].text
        assert bob_text in bob_resource and alice_text not in bob_resource


async def test_oversized_body_is_refused_with_413(server: EdgeAuthServer) -> None:
    """2 MiB against the 1 MiB limit, announced by Content-Length and sent chunked.

    The server answers before the body has arrived and closes the connection, so the
    client must still be able to read the 413 while (or after) it sends the rest:
    RFC 9112 §9.6 asks for a staged close for exactly this. Several attempts, each on
    a fresh connection, because a connection reset loses the answer only sometimes.
    """
    body = json.dumps(call("add_note", {"text": "x" * (2 * 1024 * 1024)})).encode()

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    outcomes: list[str] = []
    for attempt in range(10):
        content: bytes | AsyncIterator[bytes] = body if attempt % 2 == 0 else chunked()
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            try:
                response = await http.post(
                    server.url, content=content,
                    headers={"Authorization": f"Bearer {server.tokens['alice']}", "Content-Type": "application/json"},
                )
                outcomes.append(str(response.status_code))
            except httpx2.TransportError as error:
                outcomes.append(f"{type(error).__name__} caused by {root_cause(error)!r}")
    lost = Counter(outcome for outcome in outcomes if outcome != "413")
    assert not lost, f"{sum(lost.values())} of {len(outcomes)} attempts got no 413: {dict(lost)}"


async def test_bad_input_over_raw_http(server: EdgeAuthServer) -> None:
    alice = server.tokens["alice"]
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        # R4: malformed JSON
        response = await post(http, server, b'{"jsonrpc":"2.0","id":1,', alice)
        assert response.status_code == 400
        error = jsonrpc_error(response)
        assert error["code"] == PARSE_ERROR
        assert response.json()["id"] is None

        # A batch (JSON array) is not part of the Streamable HTTP transport any more.
        response = await post(http, server, [rpc("tools/list")], alice)
        assert response.status_code == 400
        assert jsonrpc_error(response)["code"] == INVALID_REQUEST
        assert response.json()["id"] is None

        # Missing body
        response = await post(http, server, None, alice)
        assert response.status_code == 400
        assert jsonrpc_error(response)["code"] == PARSE_ERROR

        response = await post(http, server, call("no_such_tool"), alice)
        assert response.status_code == 200
        error = jsonrpc_error(response)
        assert error["code"] == INVALID_PARAMS
        assert "no_such_tool" in error["message"]

        response = await post(http, server, call("add_note", {"text": 5}), alice)
        error = jsonrpc_error(response)
        assert error["code"] == INVALID_PARAMS
        assert re.search(r"\btext\b", error["message"]) and "string" in error["message"], error

        response = await post(http, server, call("delete_note", {"id": "x"}), alice)
        error = jsonrpc_error(response)
        assert error["code"] == INVALID_PARAMS
        assert re.search(r"\bid\b", error["message"]) and "integer" in error["message"], error

        # The 2.x client relies on this answer to fall back to initialize.
        response = await post(http, server, rpc("server/discover", {}), alice)
        assert jsonrpc_error(response)["code"] == METHOD_NOT_FOUND

        # R4: stateless server: no GET event stream, no session to DELETE.
        for method in ("GET", "DELETE"):
            response = await http.request(method, server.url, headers={"Authorization": f"Bearer {alice}"})
            assert response.status_code == 405, method
            assert "POST" in response.headers["Allow"]

        # R2: no token at all: a challenge without an error attribute (RFC 6750 §3.1).
        response = await post(http, server, rpc("tools/list"))
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert f'resource_metadata="{server.metadata_url}"' in challenge
        assert "error=" not in challenge

        # R2: an invalid token
        response = await post(http, server, rpc("tools/list"), "not.a.token")
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]

        # R6: a token in the query string is refused, not used.
        response = await http.post(
            f"{server.url}?access_token={alice}", json=rpc("tools/list"),
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert response.status_code in (400, 401)
        assert "result" not in response.text

        # After all of that, a normal call still works, raw and through the SDK.
        response = await post(http, server, call("whoami"), alice)
        assert response.status_code == 200
        assert response.json()["result"]["structuredContent"]["id"] == "alice"
    async with mcp_client(server, "alice") as client:
        assert (await client.call_tool("whoami", {})).structured_content["id"] == "alice"


async def test_initialize_on_one_worker_call_on_another(server: EdgeAuthServer) -> None:
    # The server keeps no sessions: a client whose initialize was answered by one worker
    # calls tools answered by the other. `Connection: close` gives every request a new
    # connection, which the kernel hands to either worker's accept; calls go on (bounded)
    # until one lands on a worker other than the initialize's.
    workers: list[tuple[str, str]] = []  # (JSON-RPC method, worker prefix of X-Request-Id)

    async def note(response: httpx2.Response) -> None:
        body = json.loads(response.request.content or b"{}")
        if isinstance(body, dict) and "id" in body and (request_id := response.headers.get("x-request-id")):
            workers.append((body.get("method", ""), request_id.partition("-")[0]))

    async with httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {server.tokens['alice']}", "Connection": "close"},
        timeout=HTTP_TIMEOUT,
        event_hooks={"response": [note]},
    ) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            initialized_on = next(worker for method, worker in workers if method == "initialize")
            for _ in range(100):
                result = await client.call_tool("whoami", {})
                assert not result.is_error and result.structured_content["id"] == "alice"
                if any(method == "tools/call" and worker != initialized_on for method, worker in workers):
                    break
    assert any(method == "tools/call" and worker != initialized_on for method, worker in workers), workers


async def test_concurrent_users_across_workers(server: EdgeAuthServer) -> None:
    # R6 under load: with 2 workers and 200 concurrent calls, no answer may carry
    # another caller's identity, and notes written anywhere stay with their user.
    calls_per_user = 10
    answered: list[tuple[str, str | None]] = []  # (caller, id in the answer)
    sdk_workers: set[str] = set()

    async def note_worker(response: httpx2.Response) -> None:
        if request_id := response.headers.get("x-request-id"):
            sdk_workers.add(request_id.partition("-")[0])

    async def whoami_burst(user: str) -> None:
        async with mcp_client(server, user, on_response=note_worker) as client:

            async def one() -> None:
                result = await client.call_tool("whoami", {})
                got = None if result.is_error or not result.structured_content else result.structured_content["id"]
                if got is not None and not result.content[0].text.startswith(f"You are {got} "):
                    got = f"text disagrees: {result.content[0].text}"
                answered.append((user, got))

            async with anyio.create_task_group() as calls:
                for _ in range(calls_per_user):
                    calls.start_soon(one)

    async with anyio.create_task_group() as users:
        for user in USERS:
            users.start_soon(whoami_burst, user)

    assert len(answered) == len(USERS) * calls_per_user
    mismatches = [(user, got) for user, got in answered if got != user]
    assert len(mismatches) == 0, mismatches

    # Each request id starts with the answering worker's prefix. Fresh connections
    # (no keep-alive) are spread by the kernel over the workers' accept calls; rounds
    # are bounded and end as soon as two workers have been seen.
    raw_workers: set[str] = set()
    raw_mismatches: list[tuple[str, Any]] = []
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, limits=httpx2.Limits(max_keepalive_connections=0)) as http:

        async def raw_whoami(user: str) -> None:
            response = await post(http, server, call("whoami"), server.tokens[user])
            assert response.status_code == 200, response.text
            raw_workers.add(response.headers["x-request-id"].partition("-")[0])
            got = response.json()["result"]["structuredContent"]["id"]
            if got != user:
                raw_mismatches.append((user, got))

        for _ in range(10):
            async with anyio.create_task_group() as tg:
                for user in USERS:
                    tg.start_soon(raw_whoami, user)
            if len(raw_workers) >= 2:
                break
    assert raw_mismatches == []
    assert len(raw_workers) >= 2, f"one worker answered everything: {raw_workers} (SDK traffic: {sdk_workers})"

    # Notes written concurrently through both workers land with their own user.
    notes_per_user = 3
    expected = {user: {f"{user} note {k} {uuid.uuid4()}" for k in range(notes_per_user)} for user in USERS}
    seen: dict[str, list[str]] = {}

    async def add_notes(user: str) -> None:
        async with mcp_client(server, user) as client:
            async with anyio.create_task_group() as adds:
                for text in expected[user]:
                    adds.start_soon(client.call_tool, "add_note", {"text": text})

    async def list_notes(user: str) -> None:
        async with mcp_client(server, user) as client:
            seen[user] = note_texts(await client.call_tool("list_notes", {}))

    async with anyio.create_task_group() as tg:
        for user in USERS:
            tg.start_soon(add_notes, user)
    async with anyio.create_task_group() as tg:
        for user in USERS:
            tg.start_soon(list_notes, user)

    wrong = {user: seen[user] for user in USERS if sorted(seen[user]) != sorted(expected[user])}
    assert wrong == {}


async def test_audit_log(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        denied = await post(http, server, call("admin_stats"), server.tokens["bob"])
        assert jsonrpc_error(denied)["code"] == FORBIDDEN
        line = await server.audit_line(denied.headers["x-request-id"])
        assert has_field(line, "decision", "deny"), line
        assert has_field(line, "tool", "admin_stats"), line
        assert has_field(line, "user", "bob"), line
        assert 'missing role "admin"' in line

        allowed = await post(http, server, call("whoami"), server.tokens["alice"])
        assert allowed.json()["result"]["structuredContent"]["id"] == "alice"
        line = await server.audit_line(allowed.headers["x-request-id"])
        assert has_field(line, "decision", "allow"), line
        assert has_field(line, "tool", "whoami"), line
        assert has_field(line, "user", "alice"), line

    # R9: no token, nor the signature of one, in anything the server printed so far
    # (the module's earlier tests sent every token, valid and invalid).
    logs = server.logs()
    for name, token in server.tokens.items():
        assert token not in logs, f"{name}'s token is in the server output"
        assert token.rsplit(".", 1)[1] not in logs, f"{name}'s token signature is in the server output"
    assert re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", logs) is None
