"""EdgeAuth for Python: OAuth 2.1 / JWT bearer-token verification through libedgeauth.

    from edgeauth import Verifier, Rejected

    verifier = Verifier({
        "issuers": ["https://issuer.example/"],
        "audiences": ["https://mcp.example/mcp"],
        "keys": [{"jwksURL": "https://issuer.example/.well-known/jwks.json"}],
    })
    try:
        user = verifier.verify(token)          # str or bytes, without "Bearer "
        print(user.subject, user.roles, user.has_scope("tools:call"))
    except Rejected as rejected:
        print("rejected:", rejected.reason_code)   # "expired", "badSignature", ...

Adapters, imported on demand so that this package needs no framework:
`edgeauth.mcp` (the official MCP SDK's TokenVerifier), `edgeauth.fastmcp`
(FastMCP's `auth=`), `edgeauth.asgi` (middleware for Starlette, FastAPI, any ASGI app).

The library is found through $EDGEAUTH_LIBRARY (a path), then the system's library
search, then `pkg-config --variable=libdir edgeauth`; it is loaded on first use.
"""

from ._core import (
    VERDICT_VALID,
    CacheStatistics,
    Config,
    EdgeAuthError,
    Identity,
    KeyStatistics,
    Rejected,
    Status,
    Token,
    Verifier,
    reason_code,
    reason_description,
    version,
)
from ._native import find_library, library

__version__ = "0.1.0"

__all__ = [
    "VERDICT_VALID",
    "CacheStatistics",
    "Config",
    "EdgeAuthError",
    "Identity",
    "KeyStatistics",
    "Rejected",
    "Status",
    "Token",
    "Verifier",
    "find_library",
    "library",
    "reason_code",
    "reason_description",
    "version",
]
