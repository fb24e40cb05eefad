"""Connect the official MCP Python SDK client to an EdgeAuth server and call a tool.

The SDK discovers EdgeAuth's authorization server from the 401, registers itself,
and sends you to the login page; this script then calls `whoami` and `list_notes`.

    python3 examples/mcp-client/client.py http://127.0.0.1:8080/mcp               # log in in a browser
    python3 examples/mcp-client/client.py http://127.0.0.1:8080/mcp --user alice  # headless: no browser

Headless, the script plays the browser itself: it follows the redirects, picks the user
on the development identity provider's page and approves the consent page.
"""

from __future__ import annotations

import argparse
import asyncio
import html.parser
import http.server
import json
import threading
import webbrowser
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

CALLBACK_PORT = 33418


class MemoryStorage(TokenStorage):
    """Tokens and the client registration, kept for this run only."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Forms(html.parser.HTMLParser):
    """The forms of a page: action, hidden fields and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "fields": {}, "buttons": []})
        elif tag == "input" and self.forms and values.get("type") == "hidden":
            self.forms[-1]["fields"][values.get("name", "")] = values.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append((values.get("name", ""), values.get("value", "")))


def page_forms(text: str) -> list[dict]:
    parser = Forms()
    parser.feed(text)
    return parser.forms


class HeadlessBrowser:
    """Plays the user: follows the authorization URL, logs in as `user`, answers the consent page."""

    def __init__(self, user: str, approve: bool = True, verify: bool | str = True) -> None:
        self.user = user
        self.approve = approve
        self.verify = verify
        self.result: AuthorizationCodeResult | None = None
        self.pages: list[str] = []

    async def open(self, url: str) -> None:
        async with httpx2.AsyncClient(timeout=30.0, verify=self.verify) as http:
            response = await http.get(url)
            for _ in range(10):
                if response.is_redirect:
                    location = urljoin(str(response.url), response.headers["Location"])
                    if urlparse(location).port == CALLBACK_PORT or not location.startswith(("http://", "https://")) or "code=" in location or "error=" in location:
                        self.finish(location)
                        return
                    response = await http.get(location)
                    continue
                self.pages.append(response.text)
                forms = page_forms(response.text)
                if not forms:
                    raise RuntimeError(f"the authorization page has no form ({response.status_code}): {response.text[:300]}")
                form = forms[0]
                data = dict(form["fields"])
                names = {name for name, _ in form["buttons"]}
                if "user" in names:
                    data["user"] = self.user
                elif "decision" in names:
                    data["decision"] = "approve" if self.approve else "deny"
                response = await http.post(urljoin(str(response.url), form["action"]), data=data)
            raise RuntimeError("the login did not come back to the client")

    def finish(self, location: str) -> None:
        query = parse_qs(urlparse(location).query)
        if "error" in query:
            raise RuntimeError(f"authorization failed: {query['error'][0]}: {query.get('error_description', [''])[0]}")
        self.result = AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0])

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None, "no authorization code arrived"
        return self.result


class BrowserLogin:
    """Opens the system browser and waits for the redirect on a loopback port."""

    def __init__(self) -> None:
        self.query: dict[str, list[str]] = {}
        self.done = threading.Event()

    async def open(self, url: str) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.query = parse_qs(urlparse(self.path).query)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(b"Signed in; you can close this tab.")
                outer.done.set()

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.HTTPServer(("127.0.0.1", CALLBACK_PORT), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f"Opening {url}")
        webbrowser.open(url)
        await asyncio.get_running_loop().run_in_executor(None, self.done.wait, 300)
        server.shutdown()

    async def callback(self) -> AuthorizationCodeResult:
        if "error" in self.query:
            raise RuntimeError(f"authorization failed: {self.query['error'][0]}")
        return AuthorizationCodeResult(code=self.query["code"][0], state=self.query.get("state", [None])[0], iss=self.query.get("iss", [None])[0])


def provider(url: str, login, client_metadata_url: str | None = None, storage: MemoryStorage | None = None) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        client_name="EdgeAuth example client",
        redirect_uris=[f"http://127.0.0.1:{CALLBACK_PORT}/callback"],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(url, metadata, storage or MemoryStorage(), redirect_handler=login.open, callback_handler=login.callback,
                               client_metadata_url=client_metadata_url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8080/mcp")
    parser.add_argument("--user", help="log in headless as this development user (no browser)")
    arguments = parser.parse_args()
    login = HeadlessBrowser(arguments.user) if arguments.user else BrowserLogin()
    async with httpx2.AsyncClient(auth=provider(arguments.url, login), timeout=30.0) as http:
        async with Client(streamable_http_client(arguments.url, http_client=http)) as client:
            for tool in ("whoami", "list_notes"):
                result = await client.call_tool(tool, {})
                print(f"{tool}: {json.dumps(result.structured_content) if result.structured_content else result.content[0].text}")


if __name__ == "__main__":
    asyncio.run(main())
