"""HTTPS in proxy mode: EdgeAuth's own TLS (`server.tls`), and a TLS-terminating reverse
proxy in front of it (requests to the OAuth endpoints must come from the proxy, forwarded
from https, for this server's host). The official MCP SDK client logs in over TLS.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 -m pytest -q Tests/mcp/test_https.py
"""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult
from test_oauth_flow import (
    HTTP_TIMEOUT, REDIRECT_URI, STARTUP_TIMEOUT, MemoryStorage, edgeauth_binary, free_port, is_consent_page, is_login_page,
    make_test_pki, only_form, redirect_query, sdk_metadata,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


class Running:
    def __init__(self, process: subprocess.Popen[bytes], port: int, output: Path) -> None:
        self.process, self.port, self.output = process, port, output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def serve(directory: Path, config: dict) -> Running:
    port = free_port()
    config["server"]["port"] = port
    path = directory / f"edgeauth-{port}.json"
    path.write_text(json.dumps(config))
    output = directory / f"server-{port}.log"
    with open(output, "wb") as log:
        process = subprocess.Popen([str(edgeauth_binary()), "serve", "--config", str(path), "--workers", "2", "--data-dir", str(directory / "data"),
                                    "--no-rate-limit"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    running = Running(process, port, output)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not re.search(r"listening on", output.read_text(errors="replace")):
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            pytest.fail(f"edgeauth serve did not start:\n{output.read_text(errors='replace')}")
        time.sleep(0.05)
    return running


class TLSAgent:
    """Plays the user over https: login page, alice, consent, redirect to the client."""

    def __init__(self, ca: Path) -> None:
        self.ca = ca
        self.result: dict[str, str] = {}

    async def open(self, url: str) -> None:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, verify=ssl.create_default_context(cafile=str(self.ca))) as http:
            page = await http.get(url)
            assert is_login_page(page), page.text[:300]
            form = only_form(page)
            page = await http.post(urljoin(str(page.url), form["action"]), data={**form["fields"], "user": "alice"})
            if is_consent_page(page):
                form = only_form(page)
                page = await http.post(urljoin(str(page.url), form["action"]), data={**form["fields"], "decision": "approve"})
            self.result = redirect_query(page, REDIRECT_URI)

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=self.result.get("code"), state=self.result.get("state"), iss=self.result.get("iss"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


async def test_sdk_logs_in_over_edgeauths_own_tls(tmp_path: Path, pki: tuple[Path, Path, Path]) -> None:
    ca, certificate, key = pki
    running = serve(tmp_path, {"server": {"tls": {"certificate": str(certificate), "key": str(key)}}, "oauth": {}})
    try:
        base = f"https://127.0.0.1:{running.port}"
        assert f"listening on {base}" in running.output.read_text()
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, verify=ssl.create_default_context(cafile=str(ca))) as http:
            metadata = (await http.get(f"{base}/.well-known/oauth-authorization-server")).json()
            assert metadata["issuer"] == f"{base}/" and metadata["token_endpoint"] == f"{base}/token"
            resource = (await http.get(f"{base}/.well-known/oauth-protected-resource/mcp")).json()
            assert resource["resource"] == f"{base}/mcp" and resource["authorization_servers"] == [f"{base}/"]
        agent = TLSAgent(ca)
        provider = OAuthClientProvider(f"{base}/mcp", sdk_metadata(), MemoryStorage(), redirect_handler=agent.open, callback_handler=agent.callback)
        async with httpx2.AsyncClient(auth=provider, timeout=HTTP_TIMEOUT, verify=ssl.create_default_context(cafile=str(ca))) as http:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
                result = await client.call_tool("whoami", {})
                assert result.structured_content["id"] == "alice"
        # Plain http on the TLS port is not answered as HTTP.
        with pytest.raises(httpx2.HTTPError):
            async with httpx2.AsyncClient(timeout=httpx2.Timeout(5.0)) as plain:
                await plain.get(f"http://127.0.0.1:{running.port}/.well-known/oauth-authorization-server")
    finally:
        running.stop()


async def test_behind_a_reverse_proxy_only_forwarded_https_is_answered(tmp_path: Path) -> None:
    running = serve(tmp_path, {
        "server": {"host": "0.0.0.0", "resource": "https://mcp.test/mcp", "rateLimit": {"trustedProxies": ["127.0.0.1"]}},
        "oauth": {"issuer": "https://mcp.test/", "allowDevelopmentOffLoopback": True},
    })
    try:
        base = f"http://127.0.0.1:{running.port}"
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            for path in ("/.well-known/oauth-authorization-server", "/jwks", "/authorize?client_id=x"):
                refused = await http.get(base + path)
                assert refused.status_code == 403 and refused.json()["error_description"] == "this endpoint is served over https only"
            refused = await http.post(f"{base}/token", data={"grant_type": "refresh_token"})
            assert refused.status_code == 403
            forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "mcp.test"}
            metadata = await http.get(f"{base}/.well-known/oauth-authorization-server", headers=forwarded)
            assert metadata.status_code == 200 and metadata.json()["token_endpoint"] == "https://mcp.test/token"
            other_host = await http.get(f"{base}/jwks", headers={**forwarded, "X-Forwarded-Host": "evil.test"})
            assert other_host.status_code == 421
            registered = await http.post(f"{base}/register", headers=forwarded, json={
                "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"})
            assert registered.status_code == 201
    finally:
        running.stop()


@pytest.mark.parametrize("config, message", [
    ({"server": {"host": "0.0.0.0"}, "oauth": {}}, "proxy mode on 0.0.0.0 needs https"),
    ({"server": {"host": "0.0.0.0", "resource": "https://mcp.test/mcp", "rateLimit": {"trustedProxies": ["10.0.0.5"]}},
      "oauth": {"issuer": "https://mcp.test/"}}, "the development identity provider serves loopback only"),
])
def test_proxy_mode_off_loopback_refuses_to_start_without_https(tmp_path: Path, config: dict, message: str) -> None:
    config["server"]["port"] = free_port()
    path = tmp_path / "edgeauth.json"
    path.write_text(json.dumps(config))
    done = subprocess.run([str(edgeauth_binary()), "serve", "--config", str(path), "--data-dir", str(tmp_path / "data"), "--workers", "1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr
