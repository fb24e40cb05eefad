"""`edgeauth.asgi.EdgeAuthMiddleware` in a Starlette app, through Starlette's TestClient
and through an ASGI transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from edgeauth import Identity, Verifier
from edgeauth.asgi import EdgeAuthMiddleware, get_identity

from conftest import ISSUER, bench_token, server_config, user_token

RESOURCE = "http://testserver/api"
METADATA = "http://testserver/.well-known/oauth-protected-resource/api"


async def whoami(request: Request) -> JSONResponse:
    identity: Identity = request.state.edgeauth
    assert get_identity(request) is identity
    return JSONResponse({
        "subject": identity.subject,
        "roles": list(identity.roles),
        "scopes": list(identity.scopes),
        "lifespan_value": getattr(request.state, "lifespan_value", None),
    })


async def health(request: Request) -> PlainTextResponse:
    assert get_identity(request) is None
    return PlainTextResponse("ok")


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.state.edgeauth.subject)
    await websocket.close()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    yield {"lifespan_value": 7}


def make_app(**options: Any) -> Starlette:
    return Starlette(
        routes=[Route("/api/whoami", whoami), Route("/health", health), WebSocketRoute("/api/socket", socket)],
        middleware=[Middleware(EdgeAuthMiddleware, **options)],
        lifespan=lifespan,
    )


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier(server_config(RESOURCE)) as v:
        yield v


@pytest.fixture(scope="module")
def client(verifier: Verifier) -> Iterator[TestClient]:
    app = make_app(verifier=verifier, resource=RESOURCE, authorization_servers=[ISSUER],
                   required_scopes=["mcp:tools"], public_paths=["/health"])
    with TestClient(app) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_puts_the_identity_in_the_request_state(client: TestClient) -> None:
    response = client.get("/api/whoami", headers=bearer(user_token(RESOURCE)))
    assert response.status_code == 200, response.text
    assert response.json() == {"subject": "user-42", "roles": ["admin", "editor"],
                               "scopes": ["mcp:tools", "notes:read"], "lifespan_value": 7}
    # The scheme is case-insensitive and more than one space may follow it.
    response = client.get("/api/whoami", headers={"Authorization": "bEaReR   " + user_token(RESOURCE)})
    assert response.status_code == 200


def test_no_token_gets_a_challenge_without_an_error(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.get("/api/whoami", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA}", scope="mcp:tools"'
        assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "token, description",
    [
        (lambda: bench_token("keycloak-es256"), "the access token has expired"),  # long ago, by the clock
        (lambda: user_token(RESOURCE, iss="https://evil.example/"),
         "the access token was not issued by a trusted authorization server"),
        (lambda: user_token(RESOURCE, exp=1764086400), "the access token has expired"),
        (lambda: user_token("https://elsewhere.example/api"), "the access token was not issued for this resource"),
        (lambda: user_token(RESOURCE)[:-6] + "AAAAAA", "the access token is not valid"),
        (lambda: "abc.def", "the access token is malformed"),
    ],
)
def test_a_rejected_token_gets_invalid_token(client: TestClient, token: Any, description: str) -> None:
    response = client.get("/api/whoami", headers=bearer(token()))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", error_description="{description}", '
        f'resource_metadata="{METADATA}", scope="mcp:tools"'
    )
    assert response.json() == {"error": "invalid_token", "error_description": description}
    assert response.headers["cache-control"] == "no-store"


def test_a_missing_scope_gets_403_insufficient_scope(client: TestClient) -> None:
    response = client.get("/api/whoami", headers=bearer(user_token(RESOURCE, scope="notes:read")))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope", error_description="the access token lacks the scopes mcp:tools"')
    assert challenge.endswith(f'resource_metadata="{METADATA}", scope="mcp:tools"')


@pytest.mark.parametrize(
    "url, headers",
    [
        ("/api/whoami?access_token=abc", {}),
        ("/api/whoami?x=1&access_token", {}),
        ("/api/whoami?access_token=" + "t", {"Authorization": "Bearer x.y.z"}),
        ("/api/whoami", {"Authorization": "Bearer "}),
        ("/api/whoami", {"Authorization": "Bearer a b"}),  # not token68
    ],
)
def test_malformed_requests_get_400_invalid_request(client: TestClient, url: str, headers: dict[str, str]) -> None:
    response = client.get(url, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_request"')


def test_two_authorization_headers_get_400(client: TestClient) -> None:
    token = user_token(RESOURCE)
    response = client.get("/api/whoami", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")])
    assert response.status_code == 400
    assert response.json()["error_description"] == "more than one Authorization header"


def test_a_query_string_without_a_token_is_fine(client: TestClient) -> None:
    response = client.get("/api/whoami?access_tokens=1&token=2", headers=bearer(user_token(RESOURCE)))
    assert response.status_code == 200


def test_metadata_and_public_paths_need_no_token(client: TestClient) -> None:
    for path in ("/.well-known/oauth-protected-resource/api", "/.well-known/oauth-protected-resource"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"resource": RESOURCE, "authorization_servers": [ISSUER],
                                   "bearer_methods_supported": ["header"], "scopes_supported": ["mcp:tools"]}
    assert client.post("/.well-known/oauth-protected-resource/api").status_code == 405
    assert client.get("/health").text == "ok"
    assert client.get("/health/more").status_code == 401  # "/health" is one path, not a prefix


def test_websockets_are_authenticated(client: TestClient) -> None:
    with client.websocket_connect("/api/socket", headers=bearer(user_token(RESOURCE))) as ws:
        assert ws.receive_text() == "user-42"
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect("/api/socket", headers=bearer("abc.def")):
            pass
    assert closed.value.code == 1008


def test_a_configuration_instead_of_a_verifier_and_no_metadata() -> None:
    app = make_app(verifier=server_config(RESOURCE), resource_metadata_url="https://meta.example/prm")
    with TestClient(app) as test_client:
        response = test_client.get("/api/whoami")
        assert response.headers["www-authenticate"] == 'Bearer resource_metadata="https://meta.example/prm"'
        assert test_client.get("/.well-known/oauth-protected-resource/api").status_code == 401
        token = user_token(RESOURCE, scope=None)
        assert test_client.get("/api/whoami", headers=bearer(token)).json()["scopes"] == []


@pytest.mark.anyio
async def test_through_an_asgi_transport(verifier: Verifier) -> None:
    app = make_app(verifier=verifier, resource=RESOURCE, required_scopes=["notes:read"])
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:
        ok = await http.get("/api/whoami", headers=bearer(user_token(RESOURCE)))
        assert ok.status_code == 200 and ok.json()["subject"] == "user-42"
        refused = await http.get("/api/whoami", headers=bearer(user_token(RESOURCE, scope="mcp:tools")))
        assert refused.status_code == 403
        assert 'scope="notes:read"' in refused.headers["www-authenticate"]
