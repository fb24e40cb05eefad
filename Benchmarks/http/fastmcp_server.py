"""FastMCP counterpart of edgeauth serve's MCP endpoint for Benchmarks/http/bench-http.sh.

One process, one uvicorn worker, stateless streamable HTTP answering JSON (no SSE), bearer tokens
checked by FastMCP's JWTVerifier (ES256, fixed key, issuer, audience). One tool, `whoami`, answers
"You are <sub>".

Usage: fastmcp_server.py --port PORT --jwks FILE --issuer URL --audience URL
Written for fastmcp 4.2.3 (mcp 2.3.0).
"""

import argparse
import json
import logging
import sys

from cryptography.hazmat.primitives import serialization
from joserfc import jwk

from fastmcp import FastMCP
from fastmcp.server.auth import AccessToken
from fastmcp.server.auth.providers.jwt import JWTVerifier
from fastmcp.server.dependencies import CurrentAccessToken

ALGORITHM = "ES256"


def public_key_pem(jwks_path: str) -> str:
    # JWTVerifier takes either a PEM public key or a jwks_uri it fetches over HTTP; a fixed PEM
    # keeps the measurement free of any key fetch, as edgeauth serve's local key file does.
    with open(jwks_path, encoding="utf-8") as f:
        keys = json.load(f)["keys"]
    ec_keys = [k for k in keys if k.get("kty") == "EC" and k.get("crv") == "P-256"]
    if len(ec_keys) != 1:
        sys.exit(f"{jwks_path}: expected exactly one EC P-256 key, found {len(ec_keys)}")
    key = jwk.import_key(ec_keys[0], "EC")
    return key.as_pem(private=False).decode("ascii")


def build_server(args: argparse.Namespace) -> FastMCP:
    verifier = JWTVerifier(
        public_key=public_key_pem(args.jwks),
        issuer=args.issuer,
        audience=args.audience,
        algorithm=ALGORITHM,
    )
    mcp = FastMCP("edgeauth-bench", auth=verifier)

    # output_schema=None: plain text content only, no structuredContent copy of the same string.
    @mcp.tool(output_schema=None)
    async def whoami(token: AccessToken = CurrentAccessToken()) -> str:
        """The caller's subject (the token's sub claim)."""
        return f"You are {(token.claims or {}).get('sub', token.subject)}"

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jwks", required=True, help="JWKS file with the ES256 public key")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    args = parser.parse_args()

    # Per-request log lines would cost more than the work being measured.
    logging.disable(logging.WARNING)
    build_server(args).run(
        transport="http",
        host="127.0.0.1",
        port=args.port,
        path="/mcp",
        stateless_http=True,
        json_response=True,
        show_banner=False,
        log_level="ERROR",
        uvicorn_config={"access_log": False, "log_level": "error"},
    )


if __name__ == "__main__":
    main()
