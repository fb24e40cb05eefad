"""EdgeAuth as ASGI middleware, for Starlette, FastAPI or any ASGI application.

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from edgeauth.asgi import EdgeAuthMiddleware

    app = Starlette(routes=[...], middleware=[
        Middleware(EdgeAuthMiddleware, verifier="edgeauth.json",
                   resource="https://api.example/mcp",
                   authorization_servers=["https://issuer.example/"],
                   required_scopes=["mcp:tools"]),
    ])

    async def whoami(request):
        user = request.state.edgeauth        # edgeauth.Identity
        ...

It answers as EdgeAuth's own server does (RFC 6750, RFC 9728):

- no bearer token (or another scheme): 401, `WWW-Authenticate: Bearer resource_metadata="..."`;
- a rejected token: 401 with `error="invalid_token"` and a description that names no values;
  a token refused because the provider's keys are unavailable: 503 with `Retry-After`;
- a valid token without every required scope: 403 `error="insufficient_scope"`, `scope="..."`;
- a token in the query string (`access_token=`), several Authorization headers, or a
  malformed Authorization header: 400 `invalid_request`.

A valid token's identity goes into `scope["state"]["edgeauth"]`, which is
`request.state.edgeauth` in Starlette and FastAPI. With `resource` and
`authorization_servers`, the middleware also serves the resource's metadata document at
`/.well-known/oauth-protected-resource` (and its path-inserted form), without a token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ._core import Config, EdgeAuthError, Identity, Rejected, Verifier

__all__ = ["EdgeAuthMiddleware", "get_identity"]

logger = logging.getLogger("edgeauth")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WELL_KNOWN = "/.well-known/oauth-protected-resource"
_TOKEN68 = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._~+/=")


def _client_description(reason_code: str) -> str:
    """What a client is told about a rejected token: the reason's general meaning only."""
    if reason_code == "expired":
        return "the access token has expired"
    if reason_code in ("notYetValid", "issuedInFuture"):
        return "the access token is not valid yet"
    if reason_code == "wrongAudience":
        return "the access token was not issued for this resource"
    if reason_code == "wrongIssuer":
        return "the access token was not issued by a trusted authorization server"
    if reason_code == "revoked":
        return "the access token has been revoked"
    if reason_code == "tooOld":
        return "the access token is too old"
    if reason_code == "tokenTooLarge":
        return "the access token is too large"
    if reason_code.startswith("malformed.") or reason_code == "unsecured":
        return "the access token is malformed"
    return "the access token is not valid"


def _quoted(text: str) -> str:
    """Text for a quoted-string: quotes and backslashes would end or escape it."""
    return text.replace("\\", "'").replace('"', "'")


class EdgeAuthMiddleware:
    """Bearer-token authentication for every HTTP and WebSocket request of an ASGI app.

    verifier: an `edgeauth.Verifier`, or its configuration (mapping, JSON text or path).
    resource: the protected resource's URL (RFC 9728 `resource`, e.g.
        "https://api.example/mcp"); the metadata URL in challenges is derived from it.
    resource_metadata_url: the metadata URL to name in challenges, when it is served
        elsewhere (overrides the one derived from `resource`).
    authorization_servers: when given (with `resource`), the middleware serves the
        metadata document itself.
    required_scopes: scopes every request needs (403 `insufficient_scope` otherwise).
    scopes_supported: advertised in the metadata (default: `required_scopes`).
    public_paths: paths served without a token: an entry matches that path and,
        when it ends with "/", every path under it.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: Verifier | Config,
        *,
        resource: str | None = None,
        resource_metadata_url: str | None = None,
        authorization_servers: Sequence[str] = (),
        required_scopes: Sequence[str] = (),
        scopes_supported: Sequence[str] | None = None,
        public_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.verifier = verifier if isinstance(verifier, Verifier) else Verifier(verifier)
        self.required_scopes = tuple(required_scopes)
        self.public_paths = tuple(public_paths)
        self.metadata_paths: frozenset[str] = frozenset()
        self.metadata_document: bytes | None = None
        self.resource_metadata_url = resource_metadata_url
        if resource:
            parts = urlsplit(resource)
            path = parts.path.rstrip("/")
            if self.resource_metadata_url is None:
                self.resource_metadata_url = f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{path}"
            if authorization_servers:
                self.metadata_paths = frozenset({WELL_KNOWN, WELL_KNOWN + path})
                document = {
                    "resource": resource,
                    "authorization_servers": list(authorization_servers),
                    "bearer_methods_supported": ["header"],
                    "scopes_supported": list(scopes_supported if scopes_supported is not None else required_scopes),
                }
                self.metadata_document = json.dumps(document).encode()

    # -- ASGI -------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if self.metadata_document is not None and path in self.metadata_paths and kind == "http":
            await self._metadata(scope, send)
            return
        if self._is_public(path):
            await self.app(scope, receive, send)
            return
        outcome = await self.authenticate(scope)
        if isinstance(outcome, Identity):
            scope = dict(scope)
            scope["state"] = {**(scope.get("state") or {}), "edgeauth": outcome}
            await self.app(scope, receive, send)
            return
        status, body, headers = outcome
        if kind == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008, "reason": body.get("error", "")})
            return
        await self._send_json(send, status, body, headers)

    def _is_public(self, path: str) -> bool:
        for entry in self.public_paths:
            if path == entry or (entry.endswith("/") and path.startswith(entry)):
                return True
        return False

    async def authenticate(self, scope: Scope) -> Identity | tuple[int, dict[str, str], list[tuple[str, str]]]:
        """The request's identity, or the error answer (status, body, headers)."""
        query: bytes = scope.get("query_string", b"")
        if query and any(part == b"access_token" or part.startswith(b"access_token=") for part in query.split(b"&")):
            return self._error(400, "invalid_request", "access tokens are accepted only in the Authorization header")
        values = [value for name, value in scope.get("headers", ()) if name.lower() == b"authorization"]
        if len(values) > 1:
            return self._error(400, "invalid_request", "more than one Authorization header")
        token = _bearer_token(values[0]) if values else None
        if token is None:
            return self._error(401, "unauthorized", "this resource needs a bearer token", challenge_error=None)
        if token == b"":
            return self._error(400, "invalid_request", "the Authorization header is not \"Bearer <token>\"",
                               challenge_description="malformed Authorization header")
        try:
            identity = await self.verifier.verify_async(token)
        except Rejected as rejected:
            # A token that is not token68 can never be valid: a malformed header, not an invalid token.
            if not all(byte in _TOKEN68 for byte in token):
                return self._error(400, "invalid_request", "the Authorization header is not \"Bearer <token>\"",
                                   challenge_description="malformed Authorization header")
            logger.debug("bearer token rejected: %s", rejected.reason_code)
            if rejected.reason_code == "keysUnavailable":
                return (503, {"error": "temporarily_unavailable",
                              "error_description": "the authorization server's keys are unavailable; retry later"},
                        [("retry-after", "30")])
            return self._error(401, "invalid_token", _client_description(rejected.reason_code))
        except EdgeAuthError:
            logger.exception("bearer token could not be verified")
            return (500, {"error": "server_error", "error_description": "the token could not be verified"}, [])
        missing = [needed for needed in self.required_scopes if not identity.has_scope(needed)]
        if missing:
            return self._error(403, "insufficient_scope", "the access token lacks the scopes " + " ".join(missing),
                               scopes=self.required_scopes)
        return identity

    def challenge(self, error: str | None = None, description: str | None = None,
                  scopes: Sequence[str] | None = None) -> str:
        """A `WWW-Authenticate` value: no `error` when the request had no token."""
        parameters = []
        if error:
            parameters.append(f'error="{error}"')
        if description:
            parameters.append(f'error_description="{_quoted(description)}"')
        if self.resource_metadata_url:
            parameters.append(f'resource_metadata="{self.resource_metadata_url}"')
        scope = " ".join(self.required_scopes if scopes is None else scopes)
        if scope:
            parameters.append(f'scope="{scope}"')
        return "Bearer " + ", ".join(parameters) if parameters else "Bearer"

    def _error(self, status: int, error: str, description: str, *, challenge_error: str | None | bool = True,
               challenge_description: str | None = None, scopes: Sequence[str] | None = None,
               ) -> tuple[int, dict[str, str], list[tuple[str, str]]]:
        if challenge_error is True:
            header = self.challenge(error, challenge_description or description, scopes)
        else:
            header = self.challenge(None, None, scopes)
        return status, {"error": error, "error_description": description}, [("www-authenticate", header)]

    async def _metadata(self, scope: Scope, send: Send) -> None:
        assert self.metadata_document is not None
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await self._send_json(send, 405, {"error": "method_not_allowed"}, [("allow", "GET, HEAD")])
            return
        await self._send(send, 200, self.metadata_document, [("access-control-allow-origin", "*")],
                         with_body=method == "GET")

    @staticmethod
    async def _send_json(send: Send, status: int, body: dict[str, str], headers: list[tuple[str, str]]) -> None:
        await EdgeAuthMiddleware._send(send, status, json.dumps(body).encode(), headers)

    @staticmethod
    async def _send(send: Send, status: int, body: bytes, headers: list[tuple[str, str]], with_body: bool = True) -> None:
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
        raw += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body if with_body else b""})


def _bearer_token(value: bytes) -> bytes | None:
    """The credentials of `Bearer <token>` (the scheme case-insensitively, then one or more
    spaces): None for another scheme, b"" when the credentials are missing."""
    stripped = value.lstrip(b" ")
    scheme, _, rest = stripped.partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return rest.lstrip(b" ")


def get_identity(request_or_scope: Any) -> Identity | None:
    """The identity EdgeAuthMiddleware verified for a request: pass a Starlette/FastAPI
    `Request` (or any object with `.scope`) or an ASGI scope."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    state = scope.get("state") or {}
    identity = state.get("edgeauth") if isinstance(state, MutableMapping) else None
    return identity if isinstance(identity, Identity) else None
