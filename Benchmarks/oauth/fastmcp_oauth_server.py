"""FastMCP's authorization server for Benchmarks/oauth/bench-oauth.sh.

A FastMCP server whose auth is FastMCP's in-memory OAuth provider (`InMemoryOAuthProvider`):
dynamic client registration, /authorize answering at once with a redirect carrying the code (no
login, no consent), /token with the authorization_code grant (PKCE S256) and the refresh_token
grant (rotation), every grant kept in Python dictionaries. One process, one uvicorn worker: the
provider's state lives in the process, so two workers would not know each other's codes.

Usage: fastmcp_oauth_server.py --port PORT
Written for fastmcp 4.2.3 (mcp 2.3.0).
"""

import argparse
import logging

from fastmcp import FastMCP
from fastmcp.server.auth.providers.in_memory import InMemoryOAuthProvider
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions


def build_server(port: int) -> FastMCP:
    provider = InMemoryOAuthProvider(
        base_url=f"http://127.0.0.1:{port}",
        client_registration_options=ClientRegistrationOptions(enabled=True),
        revocation_options=RevocationOptions(enabled=True),
    )
    mcp = FastMCP("edgeauth-bench-oauth", auth=provider)

    @mcp.tool(output_schema=None)
    def ping() -> str:
        """Answers pong (the server needs a tool; the benchmark only calls /token)."""
        return "pong"

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    # Per-request log lines would cost more than the work being measured.
    logging.disable(logging.WARNING)
    build_server(args.port).run(
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
