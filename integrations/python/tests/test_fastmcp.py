"""FastMCP servers protected by `edgeauth.fastmcp.EdgeAuthTokenVerifier` (alone, and
inside FastMCP's RemoteAuthProvider), served by uvicorn and called by the official MCP
SDK client over Streamable HTTP with bearer tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from fastmcp import FastMCP
from fastmcp.server.auth import RemoteAuthProvider
from fastmcp.server.dependencies import get_access_token
from mcp import Client
from mcp.client.auth.utils import extract_field_from_www_auth, extract_resource_metadata_from_www_auth
from mcp.client.streamable_http import streamable_http_client

from edgeauth.fastmcp import EdgeAuthAccessToken, EdgeAuthTokenVerifier, current_identity, require_roles

from conftest import ISSUER, bench_token, free_port, serve, server_config, user_token

pytestmark = pytest.mark.anyio
TIMEOUT = httpx2.Timeout(30.0)


class Server:
    def __init__(self, base: str) -> None:
        self.base = base
        self.url = f"{base}/mcp"


def build(url: str, *, remote: bool) -> FastMCP:
    verifier = EdgeAuthTokenVerifier(server_config(url), required_scopes=["mcp:tools"])
    auth: Any = verifier
    if remote:
        auth = RemoteAuthProvider(token_verifier=verifier, authorization_servers=[ISSUER],
                                  base_url=url.removesuffix("/mcp"))
    mcp = FastMCP("edgeauth-fastmcp-test", auth=auth)

    @mcp.tool
    def whoami() -> dict[str, Any]:
        """The caller, as the tool sees it."""
        token = get_access_token()
        identity = current_identity()
        assert isinstance(token, EdgeAuthAccessToken) and identity is not None
        return {
            "subject": token.subject,
            "client_id": token.client_id,
            "scopes": token.scopes,
            "roles": token.roles,
            "permissions": token.permissions,
            "email": token.email,
            "claims_iss": token.claims.get("iss"),
            "resource": token.resource,
            "identity_roles": list(identity.roles),
            "identity_expires_at": identity.expires_at,
        }

    @mcp.tool(auth=require_roles("admin"))
    def admin_only() -> str:
        return "granted"

    return mcp


@pytest.fixture(scope="module", params=["remote-auth-provider", "verifier"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    app = build(url, remote=request.param == "remote-auth-provider").http_app(path="/mcp")
    with serve(app, port) as base:
        server = Server(base)
        server.remote = request.param == "remote-auth-provider"  # type: ignore[attr-defined]
        yield server


@asynccontextmanager
async def connect(server: Server, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            yield client


async def raw_post(server: Server, token: str | None) -> httpx2.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        return await http.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)


async def test_the_identity_is_visible_inside_a_tool(server: Server) -> None:
    token = user_token(server.url)
    async with connect(server, token) as client:
        result = await client.call_tool("whoami", {})
        assert not result.is_error
        who = result.structured_content
        assert who is not None
        assert who["subject"] == "user-42"
        assert who["client_id"] == "test-client"
        assert who["scopes"] == ["mcp:tools", "notes:read"]
        assert who["roles"] == who["identity_roles"] == ["admin", "editor"]
        assert who["permissions"] == ["notes:delete"]
        assert who["email"] == "ada@edgeauth.test"
        assert who["claims_iss"] == ISSUER
        assert who["resource"] == server.url
        assert isinstance(who["identity_expires_at"], int)
        assert (await client.call_tool("admin_only", {})).structured_content == {"result": "granted"}


async def test_a_role_check_uses_the_mapped_roles(server: Server) -> None:
    async with connect(server, user_token(server.url, roles=["viewer"])) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"whoami"}
        # FastMCP hides a tool its auth checks refuse, and refuses calling it.
        result = await client.call_tool("admin_only", {})
        assert result.is_error and "admin_only" in result.content[0].text
        assert (await client.call_tool("whoami", {})).structured_content["roles"] == ["viewer"]


@pytest.mark.parametrize(
    "make_token",
    [
        lambda url: bench_token("keycloak-es256"),
        lambda url: user_token(url, exp=1764086400),
        lambda url: user_token(url, iss="https://evil.example/"),
        lambda url: user_token(url)[:-6] + "AAAAAA",
    ],
    ids=["bench-token", "expired", "wrong-issuer", "bad-signature"],
)
async def test_invalid_tokens_get_401(server: Server, make_token: Any) -> None:
    token = make_token(server.url)
    with pytest.raises(Exception):
        async with connect(server, token) as client:
            await client.call_tool("whoami", {})
    response = await raw_post(server, token)
    assert response.status_code == 401
    assert extract_field_from_www_auth(response, "error") == "invalid_token"
    metadata = extract_resource_metadata_from_www_auth(response)
    if server.remote:  # type: ignore[attr-defined]
        assert metadata == f"{server.base}/.well-known/oauth-protected-resource/mcp"
        async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
            document = (await http.get(metadata)).json()
        assert document["resource"] == server.url
        assert document["authorization_servers"] == [ISSUER]


async def test_a_missing_scope_gets_403(server: Server) -> None:
    response = await raw_post(server, user_token(server.url, scope="notes:read"))
    assert response.status_code == 403
    assert extract_field_from_www_auth(response, "error") == "insufficient_scope"
