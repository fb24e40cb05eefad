"""EdgeAuth for FastMCP: a `TokenVerifier` for `FastMCP(auth=...)`.

    from fastmcp import FastMCP
    from fastmcp.server.dependencies import get_access_token
    from edgeauth.fastmcp import EdgeAuthTokenVerifier, require_roles

    mcp = FastMCP("notes", auth=EdgeAuthTokenVerifier("edgeauth.json", required_scopes=["notes:read"]))

    @mcp.tool(auth=require_roles("admin"))
    def whoami() -> dict:
        token = get_access_token()            # an EdgeAuthAccessToken
        return {"sub": token.subject, "roles": token.roles}

To advertise the authorization server (RFC 9728 metadata, and `resource_metadata` in
every 401), wrap the verifier in FastMCP's `RemoteAuthProvider`:

    auth = RemoteAuthProvider(token_verifier=EdgeAuthTokenVerifier(config),
                              authorization_servers=["https://issuer.example/"],
                              base_url="https://mcp.example")

Importing this module needs FastMCP; importing `edgeauth` does not.
"""

from __future__ import annotations

import logging
from typing import Any

from fastmcp.server.auth import AccessToken, AuthContext, TokenVerificationError, TokenVerifier
from pydantic import AnyHttpUrl

from ._core import Config, EdgeAuthError, Identity, Rejected, Verifier
from .mcp import EdgeAuthFields, as_verifier, identity_of, token_fields

__all__ = [
    "EdgeAuthAccessToken", "EdgeAuthTokenVerifier", "current_identity", "require_permissions", "require_roles",
]

logger = logging.getLogger("edgeauth")


class EdgeAuthAccessToken(AccessToken, EdgeAuthFields):
    """FastMCP's `AccessToken` of a token EdgeAuth verified: `claims` is the token's claims
    set, and the identity's values are typed fields (`roles`, `permissions`, `issuer`, ...)."""


class EdgeAuthTokenVerifier(TokenVerifier):
    """FastMCP's `TokenVerifier` over an EdgeAuth verifier (issuer, audience, keys and
    claim mapping come from the EdgeAuth configuration).

    `required_scopes` are checked by FastMCP's middleware for every request (403
    `insufficient_scope`). A rejected token gives None (401 `invalid_token`); a token
    refused because the provider's keys are unavailable raises FastMCP's
    `TokenVerificationError`, its signal for "could not be decided".
    """

    def __init__(
        self,
        verifier: Verifier | Config,
        *,
        required_scopes: list[str] | None = None,
        base_url: AnyHttpUrl | str | None = None,
        resource_base_url: AnyHttpUrl | str | None = None,
    ) -> None:
        super().__init__(base_url=base_url, required_scopes=required_scopes, resource_base_url=resource_base_url)
        self.verifier = as_verifier(verifier)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            identity = await self.verifier.verify_async(token)
        except Rejected as rejected:
            if rejected.reason_code == "keysUnavailable":
                raise TokenVerificationError("the authorization server's keys are unavailable") from rejected
            logger.debug("bearer token rejected: %s", rejected.reason_code)
            return None
        except EdgeAuthError:
            logger.exception("bearer token could not be verified")
            return None
        resource = self._resource_url or self.resource_base_url or self.base_url
        access = EdgeAuthAccessToken(**token_fields(identity, token, str(resource) if resource else None))
        access._identity = identity
        return access


def current_identity() -> Identity | None:
    """The identity of the current request's bearer token, inside a FastMCP tool,
    resource or prompt (None when the request has no EdgeAuth token)."""
    from fastmcp.server.dependencies import get_access_token

    return identity_of(get_access_token())


def _identity_check(name: str, test: Any) -> Any:
    def check(context: AuthContext) -> bool:
        identity = identity_of(context.token)
        return identity is not None and test(identity)

    check.__name__ = name
    return check


def require_roles(*roles: str) -> Any:
    """A FastMCP auth check (`@mcp.tool(auth=...)`): the caller has every one of these
    roles, as EdgeAuth's claim mapping reads them (Keycloak realm roles, Auth0's
    namespaced claim, `roles`, ...)."""
    if not roles:
        raise ValueError("require_roles() needs at least one role")
    return _identity_check("require_roles", lambda identity: all(identity.has_role(role) for role in roles))


def require_permissions(*permissions: str) -> Any:
    """A FastMCP auth check: the caller has every one of these permissions."""
    if not permissions:
        raise ValueError("require_permissions() needs at least one permission")
    return _identity_check(
        "require_permissions", lambda identity: all(identity.has_permission(p) for p in permissions)
    )
