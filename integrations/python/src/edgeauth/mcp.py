"""EdgeAuth for the official MCP Python SDK (`mcp`): a `TokenVerifier`.

    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from edgeauth.mcp import EdgeAuthTokenVerifier, current_identity

    server = MCPServer(
        "notes",
        token_verifier=EdgeAuthTokenVerifier("edgeauth.json", resource_server_url="https://mcp.example/mcp"),
        auth=AuthSettings(
            issuer_url="https://issuer.example/",
            resource_server_url="https://mcp.example/mcp",
            required_scopes=["notes:read"],
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def whoami() -> dict:
        user = current_identity()          # edgeauth.Identity of the request's token
        return {"sub": user.subject, "roles": list(user.roles)}

`verify_token` returns an `EdgeAuthAccessToken`, the SDK's `AccessToken` with the
identity's values added as typed fields (`roles`, `permissions`, `issuer`, `audience`,
`email`, `name`, ...); `claims` holds the token's whole claims set and `subject` its
`sub`. The SDK keeps the returned object as it is, so `get_access_token()` in a tool
gives it back.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from pydantic import BaseModel, PrivateAttr

from ._core import Config, EdgeAuthError, Identity, Rejected, Verifier

__all__ = ["EdgeAuthAccessToken", "EdgeAuthFields", "EdgeAuthTokenVerifier", "current_identity", "identity_of"]

logger = logging.getLogger("edgeauth")


class EdgeAuthFields(BaseModel):
    """The identity's values an access token carries besides the SDK's own fields."""

    issuer: str | None = None
    audience: list[str] = []
    roles: list[str] = []
    permissions: list[str] = []
    email: str | None = None
    name: str | None = None
    username: str | None = None
    organization: str | None = None
    token_id: str | None = None
    issued_at: int | None = None

    _identity: Identity | None = PrivateAttr(default=None)

    @property
    def identity(self) -> Identity:
        """The `edgeauth.Identity` the token was verified into (rebuilt from the fields
        when the token was serialized and read back)."""
        if self._identity is not None:
            return self._identity
        claims: dict[str, Any] = dict(getattr(self, "claims", None) or {})
        client_id = claims.get("client_id") or claims.get("azp")
        return Identity(
            subject=getattr(self, "subject", None) or "",
            issuer=self.issuer or "",
            audience=tuple(self.audience),
            scopes=tuple(getattr(self, "scopes", ())),
            roles=tuple(self.roles),
            permissions=tuple(self.permissions),
            client_id=client_id if isinstance(client_id, str) else None,
            email=self.email,
            name=self.name,
            username=self.username,
            organization=self.organization,
            token_id=self.token_id,
            expires_at=getattr(self, "expires_at", None),
            issued_at=self.issued_at,
            claims=claims,
        )

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions

    def has_scope(self, scope: str) -> bool:
        return scope in getattr(self, "scopes", ())


class EdgeAuthAccessToken(AccessToken, EdgeAuthFields):
    """The SDK's `AccessToken` of a token EdgeAuth verified, with the identity's values."""


def _same_url(a: str, b: str) -> bool:
    """URLs equal up to the case of scheme and host, a default port and a trailing slash."""

    def key(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
        return scheme, f"{host}:{port}", parts.path.rstrip("/"), parts.query

    try:
        return key(a) == key(b)
    except ValueError:
        return a == b


def select_resource(audience: tuple[str, ...] | list[str], resource_server_url: str | None) -> str | None:
    """The token's resource: the audience entry that is `resource_server_url` (as a URL),
    else the first audience, else None."""
    if resource_server_url:
        for entry in audience:
            if _same_url(entry, resource_server_url):
                return entry
    return audience[0] if audience else None


def token_fields(identity: Identity, token: str, resource_server_url: str | None) -> dict[str, Any]:
    """The keyword arguments of an access token built from an identity."""
    return {
        "token": token,
        # AccessToken.client_id is required: the OAuth client (client_id, else azp), else the subject.
        "client_id": identity.client_id or identity.subject,
        "scopes": list(identity.scopes),
        "expires_at": identity.expires_at,
        "resource": select_resource(identity.audience, resource_server_url),
        "subject": identity.subject or None,
        "claims": dict(identity.claims),
        "issuer": identity.issuer or None,
        "audience": list(identity.audience),
        "roles": list(identity.roles),
        "permissions": list(identity.permissions),
        "email": identity.email,
        "name": identity.name,
        "username": identity.username,
        "organization": identity.organization,
        "token_id": identity.token_id,
        "issued_at": identity.issued_at,
    }


def as_verifier(verifier: Verifier | Config) -> Verifier:
    return verifier if isinstance(verifier, Verifier) else Verifier(verifier)


class EdgeAuthTokenVerifier:
    """The SDK's `TokenVerifier` protocol (`async verify_token(token) -> AccessToken | None`)
    over an EdgeAuth verifier.

    `verifier`: an `edgeauth.Verifier` or its configuration. `resource_server_url`: the
    server's `AuthSettings.resource_server_url`; `AccessToken.resource` is then the
    token's audience entry equal to it (EdgeAuth has already checked the audience against
    the configured "audiences"). A rejected token gives None (the SDK answers 401
    `invalid_token`); the reason is logged at DEBUG on the "edgeauth" logger.
    """

    def __init__(self, verifier: Verifier | Config, *, resource_server_url: str | None = None) -> None:
        self.verifier = as_verifier(verifier)
        self.resource_server_url = str(resource_server_url) if resource_server_url else None

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            identity = await self.verifier.verify_async(token)
        except Rejected as rejected:
            logger.debug("bearer token rejected: %s", rejected.reason_code)
            return None
        except EdgeAuthError:
            logger.exception("bearer token could not be verified")
            return None
        access = EdgeAuthAccessToken(**token_fields(identity, token, self.resource_server_url))
        access._identity = identity
        return access


if TYPE_CHECKING:

    def _implements_the_protocol(verifier: EdgeAuthTokenVerifier) -> TokenVerifier:
        return verifier


def identity_of(access_token: object) -> Identity | None:
    """The identity behind an access token EdgeAuth verified (None for any other token)."""
    if isinstance(access_token, EdgeAuthFields):
        return access_token.identity
    return None


def current_identity() -> Identity | None:
    """The identity of the current request's bearer token, inside a tool, resource or
    prompt of a server protected by `EdgeAuthTokenVerifier` (None without one)."""
    return identity_of(get_access_token())
