"""Calls an EdgeAuth MCP server with the official MCP Python SDK and a bearer token.

    python call_tools.py URL TOKEN                  # list the tools the token may see
    python call_tools.py URL TOKEN TOOL [JSON]      # call one, arguments as a JSON object

Needs `pip install mcp` (docs/quickstart.md).
"""
import json
import sys

import anyio
import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, token: str, tool: str | None, arguments: dict) -> int:
    # The token goes in the Authorization header of every request; the server keeps no session.
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            if tool is None:
                for listed in (await client.list_tools()).tools:
                    print(f"{listed.name}: {listed.description}")
                return 0
            try:
                result = await client.call_tool(tool, arguments)
            except MCPError as error:
                print(f"error {error.error.code}: {error.error.message}")
                return 1
            for item in result.content:
                print(item.text)
            return 1 if result.is_error else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    tool = sys.argv[3] if len(sys.argv) > 3 else None
    arguments = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    sys.exit(anyio.run(main, sys.argv[1], sys.argv[2], tool, arguments))
