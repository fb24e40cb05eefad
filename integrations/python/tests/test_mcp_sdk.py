"""An official-SDK MCP server (`mcp.server.mcpserver.MCPServer`) protected by
`edgeauth.mcp.EdgeAuthTokenVerifier`, served by uvicorn and called by the SDK's own
client over Streamable HTTP with bearer tokens."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth.utils import extract_field_from_www_auth, extract_resource_metadata_from_www_auth
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from edgeauth.mcp import EdgeAuthAccessToken, EdgeAuthTokenVerifier, current_identity

from conftest import ISSUER, bench_token, es256, free_port, serve, server_config, user_token

pytestmark = pytest.mark.anyio
TIMEOUT = httpx2.Timeout(30.0)


class Server:
    def __init__(self, base: str) -> None:
        self.base = base
        self.url = f"{base}/mcp"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app_server = MCPServer(
            "edgeauth-sdk-test",
            token_verifier=EdgeAuthTokenVerifier(server_config(url), resource_server_url=url),
            auth=AuthSettings(
                issuer_url=ISSUER,
                resource_server_url=url,
                required_scopes=["mcp:tools"],
                validate_token_resource=True,
            ),
        )

    @app_server.tool()
    def whoami() -> dict[str, Any]:
        """The caller, as the tool sees it."""
        identity = current_identity()
        token = get_access_token()
        assert identity is not None and isinstance(token, EdgeAuthAccessToken)
        return {
            "subject": identity.subject,
            "issuer": identity.issuer,
            "email": identity.email,
            "roles": list(identity.roles),
            "permissions": list(identity.permissions),
            "scopes": list(identity.scopes),
            "token_subject": token.subject,
            "token_client_id": token.client_id,
            "token_roles": token.roles,
            "token_resource": token.resource,
            "token_claims_iss": (token.claims or {}).get("iss"),
            "admin": token.has_role("admin"),
        }

    app = app_server.streamable_http_app(host="127.0.0.1")
    with serve(app, port) as base:
        yield Server(base)


@asynccontextmanager
async def connect(server: Server, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            yield client


async def raw_post(server: Server, token: str | None) -> httpx2.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        return await http.post(server.url, json=body, headers=headers)


async def test_a_valid_token_reaches_the_tool_with_its_identity(server: Server) -> None:
    async with connect(server, user_token(server.url)) as client:
        tools = await client.list_tools()
        assert [tool.name for tool in tools.tools] == ["whoami"]
        result = await client.call_tool("whoami", {})
        assert not result.is_error
        who = result.structured_content
        assert who is not None
        assert who["subject"] == who["token_subject"] == "user-42"
        assert who["issuer"] == who["token_claims_iss"] == ISSUER
        assert who["email"] == "ada@edgeauth.test"
        assert who["roles"] == who["token_roles"] == ["admin", "editor"]
        assert who["permissions"] == ["notes:delete"]
        assert who["scopes"] == ["mcp:tools", "notes:read"]
        assert who["token_client_id"] == "test-client"
        assert who["token_resource"] == server.url
        assert who["admin"] is True


@pytest.mark.parametrize(
    "make_token",
    [
        lambda url: bench_token("auth0-es256"),                     # another issuer and audience, expired
        lambda url: user_token(url, exp=1764086400),                # expired
        lambda url: user_token(url, aud="https://elsewhere.example/mcp"),
        lambda url: user_token(url)[:-6] + "AAAAAA",                 # bad signature
        lambda url: "not-a-jwt",
    ],
    ids=["bench-token", "expired", "wrong-audience", "bad-signature", "malformed"],
)
async def test_an_invalid_token_gets_401_invalid_token(server: Server, make_token: Any) -> None:
    token = make_token(server.url)
    with pytest.raises(Exception):
        async with connect(server, token) as client:
            await client.call_tool("whoami", {})
    response = await raw_post(server, token)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert extract_field_from_www_auth(response, "error") == "invalid_token"
    assert extract_resource_metadata_from_www_auth(response) == f"{server.base}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ")


async def test_no_token_gets_401(server: Server) -> None:
    response = await raw_post(server, None)
    assert response.status_code == 401
    assert extract_resource_metadata_from_www_auth(response) == f"{server.base}/.well-known/oauth-protected-resource/mcp"


async def test_a_token_without_the_required_scope_gets_403(server: Server) -> None:
    response = await raw_post(server, user_token(server.url, scope="notes:read"))
    assert response.status_code == 403
    assert extract_field_from_www_auth(response, "error") == "insufficient_scope"


async def test_an_unsigned_token_with_the_right_claims_is_refused(server: Server) -> None:
    signed = user_token(server.url)
    header, payload, _ = signed.split(".")
    unsigned = "eyJhbGciOiJub25lIn0." + payload + "."
    response = await raw_post(server, unsigned)
    assert response.status_code == 401
    # A token signed by a key the verifier does not know.
    foreign = es256({"iss": ISSUER, "aud": server.url, "sub": "x", "exp": 4102444800}, {"kid": "foreign"})
    assert (await raw_post(server, foreign)).status_code == 401
