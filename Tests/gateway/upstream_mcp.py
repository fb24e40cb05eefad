"""An MCP server (the official `mcp` SDK's MCPServer) serving Streamable HTTP at
http://127.0.0.1:<port>/mcp, for the gateway tests in Tests/mcp/test_gateway.py.

Tools:
- `headers`: every HTTP header of the request that carried the call, as JSON text: an
  object from lower-cased header name to the list of its values, in the order received;
- `slow(steps)`: one progress notification per step, 0.3 s apart, then "done";
- `delete_note(id)`: "deleted";
- `echo(text)`: `text`.

And one plain HTTP route, `/mcp/request-info` (any method): the request's method, path,
query string and headers (as the `headers` tool gives them), as JSON.

Run: python3 upstream_mcp.py PORT. Prints `upstream ready on http://127.0.0.1:PORT/mcp`
(flushed) once it accepts connections. Every request it receives is written to stderr as
one line, `request: ` and a JSON object with its method, path and body.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

mcp = MCPServer("gateway-test-upstream", version="1.0", log_level="WARNING")


def request_headers(ctx: Context) -> list[tuple[str, str]]:
    """The raw header list of the HTTP request behind `ctx` (repeated headers kept)."""
    request: Any = ctx.request_context.request
    headers = getattr(request, "headers", None)
    if headers is None:
        transport = getattr(ctx.request_context, "transport", None)
        headers = getattr(transport, "headers", None)
    if headers is None:
        raise RuntimeError("no HTTP headers for this request")
    raw = getattr(headers, "raw", None)
    if raw is not None:
        return [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in raw]
    return [(str(name).lower(), str(value)) for name, value in headers.items()]


@mcp.tool()
def headers(ctx: Context) -> str:
    """Every HTTP header of the request that carried this call (name -> list of values)."""
    seen: dict[str, list[str]] = {}
    for name, value in request_headers(ctx):
        seen.setdefault(name, []).append(value)
    return json.dumps(seen)


@mcp.tool()
async def slow(steps: int, ctx: Context) -> str:
    """Reports progress once per step, 0.3 s apart, then answers "done"."""
    for step in range(steps):
        if step:
            await anyio.sleep(0.3)
        await ctx.report_progress(step + 1, steps, f"step {step + 1} of {steps}")
    return "done"


@mcp.tool()
def delete_note(id: int = 0) -> str:  # noqa: A002 - the argument's name on the wire
    """Pretends to delete a note."""
    return "deleted"


@mcp.tool()
def echo(text: str) -> str:
    """Answers its argument."""
    return text


@mcp.custom_route("/mcp/request-info", methods=["GET", "POST", "PUT", "DELETE"])
async def request_info(request: Request) -> Response:
    seen: dict[str, list[str]] = {}
    for name, value in request.headers.raw:
        seen.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return JSONResponse({
        "method": request.method,
        "path": request.scope["path"],
        "query": request.scope["query_string"].decode("latin-1"),
        "body": (await request.body()).decode("utf-8", "replace"),
        "headers": seen,
    })


class RequestLog:
    """ASGI middleware: one stderr line per HTTP request, once its body has arrived."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = bytearray()
        logged = False

        def log() -> None:
            nonlocal logged
            if not logged:
                logged = True
                line = {"method": scope["method"], "path": scope["path"], "body": body.decode("utf-8", "replace")}
                print("request: " + json.dumps(line), file=sys.stderr, flush=True)

        async def logging_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    log()
            return message

        try:
            await self.app(scope, logging_receive, send)
        finally:
            log()


async def main(port: int) -> None:
    app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        # The Host the gateway forwards is its own business; this server only checks that
        # requests arrive, so no DNS-rebinding check.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    server = uvicorn.Server(uvicorn.Config(RequestLog(app), host="127.0.0.1", port=port, log_level="warning", lifespan="on"))

    async def announce() -> None:
        while not server.started:
            await anyio.sleep(0.02)
        print(f"upstream ready on http://127.0.0.1:{port}/mcp", flush=True)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(announce)
        await server.serve()
        tasks.cancel_scope.cancel()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: upstream_mcp.py PORT")
    anyio.run(main, int(sys.argv[1]))
