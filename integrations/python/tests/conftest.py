"""Shared material of the package's tests: the bench-data keys and tokens of the C
examples, tokens signed here with those keys, and an HTTP server in a thread.

Run with EDGEAUTH_LIBRARY pointing at libedgeauth (`make python-package-test` does);
EDGEAUTH_BENCH_DATA overrides where bench-data is.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

# FastMCP logs every refused request at INFO on the console.
os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[3]
BENCH = Path(os.environ.get("EDGEAUTH_BENCH_DATA", ROOT / "bench-data"))
HEADER = ROOT / "include" / "edgeauth.h"

# The bench-data tokens are valid at NOW (iat 1764000000, exp EXP).
NOW = 1764003600
EXP = 1764086400
AUTH0 = "https://edgeauth-bench.us.auth0.com/"
KEYCLOAK = "https://sso.edgeauth.test/realms/bench"
AUDIENCE = "https://api.edgeauth.test"
ALGORITHMS = "hs256 hs384 hs512 rs256 rs384 rs512 ps256 ps384 ps512 es256 es384 es512 eddsa".split()

# The issuer of the tokens the servers under test accept.
ISSUER = "https://issuer.edgeauth.test/"


def bench_config(**overrides: Any) -> dict[str, Any]:
    """The configuration the C and Python examples use (examples/go/testdata/config.json)."""
    base: dict[str, Any] = {
        "issuers": [AUTH0, KEYCLOAK],
        "audiences": [AUDIENCE],
        "keys": [{"jwksFile": str(BENCH / "jwks.json")}, {"hmacSecretFile": str(BENCH / "keys" / "hmac.secret")}],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def bench_token(name: str) -> str:
    return (BENCH / "tokens" / f"{name}.jwt").read_text()


def es256(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """A token signed with the bench P-256 key, with the kid bench-data/jwks.json gives it."""
    jwks = json.loads((BENCH / "jwks.json").read_text())
    kid = next(key["kid"] for key in jwks["keys"] if key.get("alg") == "ES256")
    key = ECKey.import_key((BENCH / "keys" / "p-256.pem").read_bytes())
    return jwt.encode({"alg": "ES256", "kid": kid, **(header or {})}, claims, key)


def hs256(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """A token signed with the bench HMAC secret (no kid)."""
    key = OctKey.import_key((BENCH / "keys" / "hmac.secret").read_bytes())
    return jwt.encode({"alg": "HS256", **(header or {})}, claims, key)


def claims(now: int = NOW, **extra: Any) -> dict[str, Any]:
    """Claims valid at `now`, for the bench configuration; None values are left out."""
    base: dict[str, Any] = {"iss": AUTH0, "aud": AUDIENCE, "sub": "user-1", "iat": now - 60, "exp": now + 3600}
    base.update(extra)
    return {key: value for key, value in base.items() if value is not None}


def server_config(audience: str, **overrides: Any) -> dict[str, Any]:
    """A configuration for a server whose resource URL is `audience`."""
    return bench_config(issuers=[ISSUER], audiences=[audience], **overrides)


def user_token(audience: str, **extra: Any) -> str:
    """An ES256 token for the servers under test, valid now by the clock."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER, "aud": audience, "sub": "user-42", "iat": now - 10, "exp": now + 600,
        "client_id": "test-client", "email": "ada@edgeauth.test", "name": "Ada",
        "scope": "mcp:tools notes:read", "roles": ["admin", "editor"], "permissions": ["notes:delete"],
    }
    payload.update(extra)
    return es256({key: value for key, value in payload.items() if value is not None})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app: Any, port: int) -> Iterator[str]:
    """Runs an ASGI app with uvicorn on 127.0.0.1:port in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
