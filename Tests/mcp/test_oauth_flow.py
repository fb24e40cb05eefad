"""End-to-end tests of proxy mode: `edgeauth serve` as the OAuth 2.1 authorization server
MCP clients log in through, with the built-in development identity provider (alice: role
admin, scopes notes:read notes:write, permission notes:delete; bob: role viewer, notes:read).

Real clients against a real server: the official MCP SDK's `OAuthClientProvider` (with a
headless user agent answering the login and consent pages), an Authlib client, and raw
HTTP for what no well-behaved client sends. A-numbers refer to docs/requirements.md.

Servers: one per module with the embedded default (2 workers), one with a configuration
file (a test CA trusted for client metadata documents served by the test itself over TLS,
private addresses allowed, 5-second authorization codes), and short-lived ones for restarts.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 -m pytest -q Tests/mcp/test_oauth_flow.py
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import html.parser
import http.server
import ipaddress
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import httpx2
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from joserfc import jwt
from joserfc.jwk import KeySet
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthMetadata, OAuthToken
from test_mcp_clients import edgeauth_binary, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

# Generous bounds: a debug build on a loaded 2-core machine can be slow. They only cap
# how long a broken server can hang the suite; no test relies on them to pass.
STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0
HTTP_TIMEOUT = httpx2.Timeout(60.0)

# Where clients say they listen. Nothing does: the user agent below stops at the redirect.
REDIRECT_URI = "http://127.0.0.1:33418/callback"
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
# Fresh connections for every request, so the kernel spreads them over both workers.
NO_KEEPALIVE = httpx2.Limits(max_keepalive_connections=0)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# --- the server under test ------------------------------------------------------


@dataclass
class EdgeAuthServer:
    binary: Path
    data_dir: Path
    port: int
    config: Path | None
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base}/"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def master_worker_id(self) -> str:
        """The master's pid in the base 36 of request ids (no request should carry it)."""
        return base36(self.process.pid)

    def logs(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM the master (it drains and stops its workers), then SIGKILL whatever is
        left of its process group, so no worker outlives a failed test."""
        pid = self.process.pid
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + SHUTDOWN_TIMEOUT
            # WNOWAIT leaves the exited master unreaped, so its pid (the group id) can't be
            # reused before the group is killed below.
            while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
        if number == 0:
            return out


def start_server(data_dir: Path, *, config: Path | None = None, port: int | None = None) -> EdgeAuthServer:
    """`edgeauth serve` with 2 workers on `data_dir` (its state store), on `port` or a free one.

    A free port can be taken by someone else before the server binds it: a server that
    exits at startup is retried (on another port unless the port was given)."""
    binary = edgeauth_binary()
    for attempt in range(3):
        chosen = port or free_port()
        stdout_path = data_dir / f"server-{chosen}-{attempt}-{uuid.uuid4().hex[:6]}.out"
        stderr_path = stdout_path.with_suffix(".err")
        args = [str(binary), "serve", "--port", str(chosen), "--workers", "2", "--data-dir", str(data_dir), "--no-rate-limit"]
        if config is not None:
            args += ["--config", str(config)]
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                start_new_session=True,  # its own process group, killed as one in stop()
            )
        server = EdgeAuthServer(binary, data_dir, chosen, config, process, stdout_path, stderr_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while True:
                # The first stdout line is printed once every worker is ready.
                first, newline, _ = stdout_path.read_text(errors="replace").partition("\n")
                if newline:
                    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", first)
                    assert match and int(match.group(1)) == chosen, f"unexpected first line: {first!r}"
                    return server
                if process.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"edgeauth serve did not start within {STARTUP_TIMEOUT}s:\n{stderr_path.read_text()}")
                time.sleep(0.05)
        except BaseException:
            server.stop()
            raise
        server.stop()
        time.sleep(0.5)
    pytest.fail(f"edgeauth serve exited at startup:\n{stderr_path.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeAuthServer]:
    """The embedded default: proxy mode with the development identity provider."""
    srv = start_server(tmp_path_factory.mktemp("edgeauth"))
    try:
        yield srv
    finally:
        srv.stop()


# --- client metadata documents over TLS -----------------------------------------------


@dataclass
class Document:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0  # seconds before the answer


class DocumentServer:
    """An https server on loopback with a certificate for `localhost` from a CA made here:
    it serves client metadata documents by path and counts the fetches."""

    def __init__(self, directory: Path) -> None:
        self.ca_path, cert_path, key_path = make_test_pki(directory)
        self.documents: dict[str, Document] = {}
        self.fetches: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                outer.fetches.append(self.path)
                document = outer.documents.get(self.path, Document(b'{"error":"not found"}', status=404))
                if document.delay:
                    time.sleep(document.delay)  # a slow server: what the fetch's time limit is for
                self.send_response(document.status)
                for name, value in document.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(document.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(document.body)

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"

    def publish(self, path: str, document: dict[str, Any] | bytes, **options: Any) -> str:
        """Serves `document` at `path`; returns its URL."""
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[path] = Document(body, **options)
        return self.url(path)

    def count(self, path: str) -> int:
        return self.fetches.count(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_test_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for localhost and 127.0.0.1 (PEM files)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EdgeAuth test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "localhost.pem", directory / "localhost-key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    docs = DocumentServer(tmp_path_factory.mktemp("pki"))
    try:
        yield docs
    finally:
        docs.close()


CODE_LIFETIME = 5  # seconds: the shortest `oauth.lifetimes.authorizationCode` allows


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory, documents: DocumentServer) -> Iterator[EdgeAuthServer]:
    """Proxy mode from a configuration file: documents trusted from the test CA, on loopback."""
    directory = tmp_path_factory.mktemp("edgeauth-configured")
    config = directory / "edgeauth.json"
    config.write_text(json.dumps({
        "oauth": {
            "mode": "proxy",
            "lifetimes": {"authorizationCode": CODE_LIFETIME},
            "clientMetadataDocuments": {"trustedCertificates": str(documents.ca_path), "allowPrivateAddresses": True},
        },
        "server": {},
    }))
    srv = start_server(directory, config=config)
    try:
        yield srv
    finally:
        srv.stop()


def client_document(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": url, "client_name": "EdgeAuth document client", "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none", **overrides,
    }


# --- the user agent: login and consent pages ---------------------------------------------


class Forms(html.parser.HTMLParser):
    """The forms of a page: action, hidden fields and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "method": values.get("method", "get"), "fields": {}, "buttons": []})
        elif tag == "input" and self.forms and values.get("type") == "hidden":
            self.forms[-1]["fields"][values.get("name", "")] = values.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append((values.get("name", ""), values.get("value", "")))


def only_form(response: httpx2.Response) -> dict[str, Any]:
    parser = Forms()
    parser.feed(response.text)
    assert len(parser.forms) == 1, f"expected one form ({response.status_code}): {page_text(response)[:500]}"
    return parser.forms[0]


def page_text(response: httpx2.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


def is_login_page(response: httpx2.Response) -> bool:
    return response.status_code == 200 and any(name == "user" for name, _ in only_form(response)["buttons"])


def is_consent_page(response: httpx2.Response) -> bool:
    return response.status_code == 200 and any(name == "decision" for name, _ in only_form(response)["buttons"])


async def submit(http: httpx2.AsyncClient, page: httpx2.Response, **choice: str) -> httpx2.Response:
    """Posts the page's form with its hidden fields and the button `choice` names."""
    form = only_form(page)
    assert form["method"].lower() == "post"
    buttons = set(form["buttons"])
    for name, value in choice.items():
        assert (name, value) in buttons, f"no button {name}={value} in {form['buttons']}"
    action = str(page.url.join(form["action"]))
    origin = urlsplit(str(page.url))
    assert action.startswith(f"{origin.scheme}://{origin.netloc}/"), f"the form posts elsewhere: {action}"
    return await http.post(action, data={**form["fields"], **choice})


def redirect_query(response: httpx2.Response, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """The query of a redirect to the client, each parameter present once."""
    assert response.status_code in (302, 303), f"expected a redirect to the client, got {response.status_code}: {page_text(response)[:500]}"
    location = response.headers["Location"]
    separator = "&" if "?" in redirect_uri else "?"
    assert location.startswith(redirect_uri + separator), location
    pairs = parse_qsl(urlsplit(location).query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a parameter is repeated: {location}"
    return dict(pairs)


def assert_error_page(response: httpx2.Response, message: str) -> None:
    """A5: an error shown to the user: a 400 page, never a redirect."""
    assert response.status_code == 400, f"{response.status_code} {response.headers.get('Location')}"
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert message in page_text(response), page_text(response)


class UserAgent:
    """The browser of the SDK's redirect and callback handlers: opens the authorization URL,
    picks `user` on the development login page, answers the consent page, and stops at the
    redirect to the client. Every page it saw is kept."""

    def __init__(self, user: str = "alice", *, approve: bool = True, redirect_uri: str = REDIRECT_URI,
                 rewrite: Callable[[str], str] | None = None,
                 on_response: Callable[[httpx2.Response], Awaitable[None]] | None = None) -> None:
        self.user = user
        self.approve = approve
        self.redirect_uri = redirect_uri
        self.rewrite = rewrite  # applied to the next authorization URL only
        self.on_response = on_response
        self.authorization_urls: list[str] = []
        self.consent_pages: list[httpx2.Response] = []
        self.login_pages: list[httpx2.Response] = []
        self.results: list[dict[str, str]] = []

    async def open(self, url: str) -> None:
        if self.rewrite is not None:
            url, self.rewrite = self.rewrite(url), None
        self.authorization_urls.append(url)
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, limits=NO_KEEPALIVE,
                                      event_hooks={"response": [self.on_response]} if self.on_response else None) as http:
            response = await http.get(url)
            assert is_login_page(response), page_text(response)[:500]
            self.login_pages.append(response)
            response = await submit(http, response, user=self.user)
            if not response.is_redirect:  # no remembered consent for these scopes
                assert is_consent_page(response), page_text(response)[:500]
                self.consent_pages.append(response)
                response = await submit(http, response, decision="approve" if self.approve else "deny")
            self.results.append(redirect_query(response, self.redirect_uri))

    async def callback(self) -> AuthorizationCodeResult:
        query = self.results[-1]
        return AuthorizationCodeResult(code=query.get("code"), state=query.get("state"), iss=query.get("iss"))


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.token_history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.token_history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def sdk_metadata(**overrides: Any) -> OAuthClientMetadata:
    return OAuthClientMetadata(**{
        "client_name": "EdgeAuth test client (MCP SDK)", "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none", **overrides,
    })


@dataclass
class Exchange:
    """One request an OAuth client made, as the tests name the steps of a login."""

    step: str
    status: int
    worker: str  # the answering worker's pid in base 36 (X-Request-Id prefix)


class RequestLog:
    """Names every request of a flow (an httpx2 response hook) and notes who answered it."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    async def hook(self, response: httpx2.Response) -> None:
        request = response.request
        path = request.url.path
        step = f"{request.method} {path}"
        if path.startswith("/.well-known/"):
            step = "discovery"
        elif path == "/register":
            step = "register"
        elif path == "/authorize":
            step = "authorize"
        elif path == "/authorize/login":
            step = "login"
        elif path == "/authorize/consent":
            step = "consent"
        elif path == "/token":
            grant = dict(parse_qsl(request.content.decode())).get("grant_type")
            step = {"authorization_code": "token", "refresh_token": "refresh"}.get(grant or "", f"token {grant}")
        elif path == "/mcp":
            try:
                step = "mcp " + json.loads(request.content or b"{}").get("method", "?")
            except ValueError:
                step = "mcp ?"
            if "Authorization" not in request.headers:
                step += " (no token)"
        request_id = response.headers.get("X-Request-Id", "")
        self.exchanges.append(Exchange(step, response.status_code, request_id.partition("-")[0]))

    def steps(self, name: str) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if exchange.step == name]

    def statuses(self, name: str) -> list[int]:
        return [exchange.status for exchange in self.steps(name)]


def sdk_provider(server: EdgeAuthServer, agent: UserAgent, storage: MemoryStorage, **options: Any) -> OAuthClientProvider:
    metadata = options.pop("metadata", None) or sdk_metadata()
    return OAuthClientProvider(server.url, metadata, storage, redirect_handler=agent.open, callback_handler=agent.callback, **options)


def force_refresh(provider: OAuthClientProvider) -> None:
    """Makes the provider take its access token for expired: its next request refreshes first."""
    provider.context.token_expiry_time = time.time() - 1


# --- raw OAuth requests ---------------------------------------------------------------


@dataclass
class Registration:
    client_id: str
    client_secret: str | None
    redirect_uri: str
    response: dict[str, Any]


async def register(http: httpx2.AsyncClient, server: EdgeAuthServer, **metadata: Any) -> Registration:
    body = {
        "client_name": "EdgeAuth test client (raw)", "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none", **metadata,
    }
    body = {name: value for name, value in body.items() if value is not None}
    response = await http.post(f"{server.base}/register", json=body)
    assert response.status_code == 201, response.text
    assert "no-store" in response.headers["Cache-Control"]
    answer = response.json()
    return Registration(answer["client_id"], answer.get("client_secret"), body["redirect_uris"][0], answer)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Authorization:
    """The request an authorization started with and the redirect that ended it."""

    params: dict[str, str]
    verifier: str
    query: dict[str, str]
    consent_page: httpx2.Response | None = None

    @property
    def code(self) -> str:
        assert "code" in self.query, self.query
        return self.query["code"]


def authorization_params(server: EdgeAuthServer, client: Registration, challenge: str, **overrides: str | None) -> dict[str, str]:
    params = {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
        "code_challenge": challenge, "code_challenge_method": "S256", "state": secrets.token_urlsafe(16),
        "resource": server.url, "scope": "notes:read notes:write", **overrides,
    }
    return {name: value for name, value in params.items() if value is not None}


async def authorize(http: httpx2.AsyncClient, server: EdgeAuthServer, client: Registration, *, user: str = "alice",
                    decision: str = "approve", **overrides: str | None) -> Authorization:
    """GET /authorize, log in as `user`, answer the consent page if one comes: the redirect's query."""
    verifier, challenge = pkce()
    params = authorization_params(server, client, challenge, **overrides)
    response = await http.get(f"{server.base}/authorize", params=params)
    if response.is_redirect:
        return Authorization(params, verifier, redirect_query(response, client.redirect_uri))
    assert is_login_page(response), page_text(response)[:500]
    response = await submit(http, response, user=user)
    consent_page = None
    if not response.is_redirect:
        assert is_consent_page(response), page_text(response)[:500]
        consent_page = response
        response = await submit(http, response, decision=decision)
    return Authorization(params, verifier, redirect_query(response, client.redirect_uri), consent_page)


def basic(client_id: str, secret: str) -> dict[str, str]:
    from urllib.parse import quote

    credentials = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


async def token_request(http: httpx2.AsyncClient, server: EdgeAuthServer, data: dict[str, str],
                        headers: dict[str, str] | None = None) -> httpx2.Response:
    return await http.post(f"{server.base}/token", data=data, headers=headers)


async def exchange_code(http: httpx2.AsyncClient, server: EdgeAuthServer, client: Registration, authorization: Authorization,
                        **overrides: str | None) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code", "code": authorization.code, "redirect_uri": authorization.params.get("redirect_uri"),
        "code_verifier": authorization.verifier, "client_id": client.client_id, "resource": server.url, **overrides,
    }
    return await token_request(http, server, {name: value for name, value in data.items() if value is not None})


async def refresh(http: httpx2.AsyncClient, server: EdgeAuthServer, client: Registration, refresh_token: str,
                  **extra: str) -> httpx2.Response:
    return await token_request(http, server, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                              "client_id": client.client_id, **extra})


def tokens_of(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["Cache-Control"]
    body = response.json()
    assert body["token_type"] == "Bearer" and body["access_token"].count(".") == 2, body.keys()
    return body


async def login(http: httpx2.AsyncClient, server: EdgeAuthServer, client: Registration, **overrides: str | None) -> dict[str, Any]:
    """A complete authorization and code exchange: the token response."""
    return tokens_of(await exchange_code(http, server, client, await authorize(http, server, client, **overrides)))


def shown(response: httpx2.Response) -> str:
    """A response for a failure message, without the tokens it may carry."""
    if "access_token" in response.text or "refresh_token" in response.text:
        return f"{response.status_code} with tokens ({', '.join(sorted(response.json()))})"
    return f"{response.status_code}: {response.text}"


def assert_oauth_error(response: httpx2.Response, status: int, error: str, description: str | None = None) -> None:
    """RFC 6749 §5.2: a JSON error that is never cached."""
    assert response.status_code == status, shown(response)
    assert response.headers["Content-Type"].startswith("application/json")
    assert "no-store" in response.headers.get("Cache-Control", "")
    body = response.json()
    assert body["error"] == error, body
    if description is not None:
        assert description in body.get("error_description", ""), body


def call(tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments or {}}}


async def mcp_call(http: httpx2.AsyncClient, server: EdgeAuthServer, token: str, tool: str = "whoami",
                   arguments: dict[str, Any] | None = None) -> httpx2.Response:
    return await http.post(server.url, content=json.dumps(call(tool, arguments)).encode(),
                           headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"})


async def whoami(http: httpx2.AsyncClient, server: EdgeAuthServer, token: str) -> dict[str, Any]:
    response = await mcp_call(http, server, token)
    assert response.status_code == 200, f"{response.status_code} {response.headers.get('WWW-Authenticate')} {response.text}"
    return response.json()["result"]["structuredContent"]


async def answers_on_every_worker(server: EdgeAuthServer, token: str) -> dict[str, set[int]]:
    """whoami with `token` on fresh connections until both workers have answered (bounded):
    the statuses each worker gave."""
    seen: dict[str, set[int]] = {}
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, limits=NO_KEEPALIVE) as http:
        for attempt in range(80):
            response = await mcp_call(http, server, token)
            seen.setdefault(response.headers["X-Request-Id"].partition("-")[0], set()).add(response.status_code)
            if len(seen) >= 2 and attempt >= 3:
                break
    assert len(seen) == 2, f"one worker answered every request: {seen}"
    return seen


async def assert_rejected_everywhere(server: EdgeAuthServer, token: str) -> None:
    statuses = await answers_on_every_worker(server, token)
    assert all(codes == {401} for codes in statuses.values()), f"a revoked token is accepted: {statuses}"


async def assert_accepted_everywhere(server: EdgeAuthServer, token: str) -> None:
    statuses = await answers_on_every_worker(server, token)
    assert all(codes == {200} for codes in statuses.values()), f"a valid token is refused: {statuses}"


# --- A1: metadata ------------------------------------------------------------------------


async def test_a1_metadata_names_the_issuer_clients_derive(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        resource = (await http.get(f"{server.base}/.well-known/oauth-protected-resource/mcp")).json()
        assert resource["authorization_servers"] == [server.issuer]
        assert resource["resource"] == server.url

        rfc8414 = await http.get(f"{server.base}/.well-known/oauth-authorization-server")
        oidc = await http.get(f"{server.base}/.well-known/openid-configuration")
        assert rfc8414.status_code == oidc.status_code == 200
        metadata = rfc8414.json()
        assert oidc.json() == metadata
        # Byte-identical to what the SDK derives from the protected-resource metadata.
        assert metadata["issuer"] == resource["authorization_servers"][0]
        assert str(OAuthMetadata.model_validate(metadata).issuer) == metadata["issuer"]
        assert metadata["authorization_endpoint"] == f"{server.base}/authorize"
        assert metadata["token_endpoint"] == f"{server.base}/token"
        assert metadata["registration_endpoint"] == f"{server.base}/register"
        assert metadata["revocation_endpoint"] == f"{server.base}/revoke"
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        assert metadata["response_types_supported"] == ["code"]
        assert set(metadata["grant_types_supported"]) == {"authorization_code", "refresh_token"}
        assert set(metadata["token_endpoint_auth_methods_supported"]) == {"none", "client_secret_post", "client_secret_basic"}
        assert {"notes:read", "notes:write"} <= set(metadata["scopes_supported"])
        assert metadata["authorization_response_iss_parameter_supported"] is True
        assert metadata["client_id_metadata_document_supported"] is True

        jwks = await http.get(metadata["jwks_uri"])
        assert jwks.status_code == 200
        keys = jwks.json()["keys"]
        assert keys and all(key.get("kid") and "d" not in key for key in keys), keys


async def test_a1_openid_scope_adds_an_id_token(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        jwks = KeySet.import_key_set((await http.get(f"{server.base}/jwks")).json())
        client = await register(http, server)
        nonce = secrets.token_urlsafe(12)
        tokens = await login(http, server, client, scope="openid notes:read", nonce=nonce)
        claims = jwt.decode(tokens["id_token"], jwks, algorithms=["ES256"]).claims
        assert claims["iss"] == server.issuer and claims["aud"] == client.client_id
        assert claims["sub"] == "alice" and claims["nonce"] == nonce
        assert "id_token" not in await login(http, server, client, scope="notes:read")


# --- the official SDK ---------------------------------------------------------------------


async def test_a3_sdk_registers_logs_in_and_refreshes(server: EdgeAuthServer) -> None:
    """Discovery, dynamic registration, authorization with login and consent, the code
    exchange, a tool call, a refresh and another call, all through OAuthClientProvider."""
    log = RequestLog()
    agent = UserAgent("alice", on_response=log.hook)
    storage = MemoryStorage()
    provider = sdk_provider(server, agent, storage)
    async with httpx2.AsyncClient(auth=provider, timeout=HTTP_TIMEOUT, event_hooks={"response": [log.hook]}) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            who = await client.call_tool("whoami", {})
            assert not who.is_error
            assert who.structured_content["id"] == "alice"
            assert who.structured_content["roles"] == ["admin"]
            assert who.structured_content["permissions"] == ["notes:delete"]
            assert sorted(who.structured_content["scopes"]) == ["notes:read", "notes:write"]

            assert storage.client_info is not None and storage.client_info.client_id.startswith("ea_")
            first = storage.tokens
            assert first is not None and first.refresh_token

            force_refresh(provider)
            again = await client.call_tool("whoami", {})
            assert again.structured_content["id"] == "alice"
            added = await client.call_tool("add_note", {"text": f"written after a refresh {uuid.uuid4()}"})
            assert not added.is_error

    assert log.statuses("register") == [201]
    assert log.statuses("token") == [200]
    assert log.statuses("refresh") == [200]
    assert log.statuses("consent") == [303]
    second = storage.tokens
    assert second is not None and second.access_token != first.access_token
    assert second.refresh_token and second.refresh_token != first.refresh_token  # A9: rotated (a public client)

    # A6: the consent page names the client, the user, the scopes, and cannot be framed.
    page = agent.consent_pages[0]
    text = page_text(page)
    assert "EdgeAuth test client (MCP SDK)" in text and "alice" in text
    assert "notes:read" in text and "notes:write" in text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in page.headers["Cache-Control"]
    # A2, A8: the SDK asked with PKCE S256 and the resource.
    asked = dict(parse_qsl(urlsplit(agent.authorization_urls[0]).query))
    assert asked["code_challenge_method"] == "S256" and asked["resource"] == server.url
    # A7: the callback carried the issuer (the SDK checks it against the metadata).
    assert agent.results[0]["iss"] == server.issuer


async def test_a4_sdk_logs_in_with_a_client_metadata_document(configured: EdgeAuthServer, documents: DocumentServer) -> None:
    url = documents.publish("/sdk/client.json", client_document(documents.url("/sdk/client.json"), client_name="Notes desktop"))
    log = RequestLog()
    agent = UserAgent("alice", on_response=log.hook)
    storage = MemoryStorage()
    provider = sdk_provider(configured, agent, storage, client_metadata_url=url)
    async with httpx2.AsyncClient(auth=provider, timeout=HTTP_TIMEOUT, event_hooks={"response": [log.hook]}) as http:
        async with Client(streamable_http_client(configured.url, http_client=http)) as client:
            who = await client.call_tool("whoami", {})
            assert who.structured_content["id"] == "alice"
            assert who.structured_content["roles"] == ["admin"]
            force_refresh(provider)
            assert (await client.call_tool("whoami", {})).structured_content["id"] == "alice"

    assert log.steps("register") == []  # no dynamic registration: the URL is the client id
    assert storage.client_info is not None and storage.client_info.client_id == url
    assert log.statuses("token") == [200] and log.statuses("refresh") == [200]
    assert documents.count("/sdk/client.json") >= 1
    text = page_text(agent.consent_pages[0])
    assert "Notes desktop" in text
    assert "verified host localhost" in " ".join(text.split())


async def test_r3_sdk_steps_up_to_a_missing_scope(server: EdgeAuthServer) -> None:
    """alice grants only notes:read first; add_note then gets 403 insufficient_scope and the
    SDK authorizes again for notes:write, which the second consent page asks for."""

    def read_only(url: str) -> str:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        query["scope"] = "notes:read"
        return parts._replace(query=urlencode(query)).geturl()

    log = RequestLog()
    agent = UserAgent("alice", rewrite=read_only, on_response=log.hook)
    storage = MemoryStorage()
    provider = sdk_provider(server, agent, storage, metadata=sdk_metadata(scope="notes:read"))
    async with httpx2.AsyncClient(auth=provider, timeout=HTTP_TIMEOUT, event_hooks={"response": [log.hook]}) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            who = await client.call_tool("whoami", {})
            assert who.structured_content["scopes"] == ["notes:read"]
            assert len(agent.consent_pages) == 1

            text = f"after a step-up {uuid.uuid4()}"
            added = await client.call_tool("add_note", {"text": text})
            assert not added.is_error and added.structured_content["text"] == text
            assert text in [note["text"] for note in (await client.call_tool("list_notes", {})).structured_content["notes"]]
            assert sorted((await client.call_tool("whoami", {})).structured_content["scopes"]) == ["notes:read", "notes:write"]

    assert log.statuses("mcp tools/call")[:2] == [200, 403]  # whoami, then add_note refused...
    assert log.statuses("token") == [200, 200]  # ...and authorized again
    assert len(agent.consent_pages) == 2
    first, second = (" ".join(page_text(page).split()) for page in agent.consent_pages)
    assert "notes:read" in first and "notes:write" not in first
    assert "notes:write" in second
    assert "notes:write" in (storage.tokens.scope or "").split()


# --- an independent client: Authlib ---------------------------------------------------------


async def test_a11_authlib_confidential_client_with_pkce(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        metadata = (await http.get(f"{server.base}/.well-known/oauth-authorization-server")).json()
        jwks = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).json())
        # token_endpoint_auth_method omitted: a confidential client_secret_basic client (RFC 7591 §2).
        registration = await register(http, server, token_endpoint_auth_method=None, client_name="EdgeAuth test client (Authlib)")
    assert registration.response["token_endpoint_auth_method"] == "client_secret_basic"
    assert registration.client_secret

    async with AsyncOAuth2Client(
        client_id=registration.client_id, client_secret=registration.client_secret,
        token_endpoint_auth_method="client_secret_basic", redirect_uri=REDIRECT_URI,
        scope="notes:read notes:write", code_challenge_method="S256", timeout=60.0,
    ) as oauth:
        verifier = secrets.token_urlsafe(64)
        url, state = oauth.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier, resource=server.url)
        agent = UserAgent("alice")
        await agent.open(url)
        callback = agent.results[0]
        assert callback["state"] == state and callback["iss"] == metadata["issuer"]
        token = await oauth.fetch_token(
            metadata["token_endpoint"], authorization_response=f"{REDIRECT_URI}?{urlencode(callback)}", state=state,
            code_verifier=verifier, resource=server.url,
        )
        assert token["token_type"] == "Bearer" and token.get("refresh_token")

        # The access token is an RFC 9068 JWT for this resource, signed with a published key.
        claims = jwt.decode(token["access_token"], jwks, algorithms=["ES256"]).claims
        assert claims["iss"] == server.issuer and claims["aud"] == server.url
        assert claims["sub"] == "alice" and claims["client_id"] == registration.client_id
        assert claims["exp"] > time.time()

        who = await oauth.post(server.url, json=call("whoami"), headers={"Accept": MCP_HEADERS["Accept"]})
        assert who.status_code == 200, who.text
        assert who.json()["result"]["structuredContent"]["id"] == "alice"
        listed = await oauth.post(server.url, json=call("list_notes"), headers={"Accept": MCP_HEADERS["Accept"]})
        assert listed.status_code == 200 and "notes" in listed.json()["result"]["structuredContent"]

        refreshed = await oauth.refresh_token(metadata["token_endpoint"], resource=server.url)
        assert refreshed["access_token"] != token["access_token"]
        who = await oauth.post(server.url, json=call("whoami"), headers={"Accept": MCP_HEADERS["Accept"]})
        assert who.status_code == 200 and who.json()["result"]["structuredContent"]["id"] == "alice"
        # A confidential client's refresh token is not rotated: it still works.
        again = await oauth.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"], resource=server.url)
        assert again["access_token"]


# --- A2: codes and PKCE ----------------------------------------------------------------------


async def test_a2_code_verifier_must_match_the_challenge(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        authorization = await authorize(http, server, client)
        wrong, _ = pkce()
        assert_oauth_error(await exchange_code(http, server, client, authorization, code_verifier=wrong), 400, "invalid_grant")
        assert_oauth_error(await exchange_code(http, server, client, authorization, code_verifier=None), 400, "invalid_request")
        # The right verifier still gets the tokens: a failed attempt did not issue any.
        tokens = tokens_of(await exchange_code(http, server, client, authorization))
        assert (await whoami(http, server, tokens["access_token"]))["id"] == "alice"


@pytest.mark.parametrize(("change", "description"), [
    ({"code_challenge_method": "plain"}, "S256"),
    ({"code_challenge_method": None}, "S256"),
    ({"code_challenge": None, "code_challenge_method": None}, "code_challenge is required"),
    ({"code_challenge": None}, "code_challenge is required"),
], ids=["plain", "method-missing", "challenge-missing", "challenge-missing-with-method"])
async def test_a2_pkce_s256_is_required(server: EdgeAuthServer, change: dict[str, str | None], description: str) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        _, challenge = pkce()
        if change.get("code_challenge_method") == "plain":
            change = {**change, "code_challenge": secrets.token_urlsafe(48)}
        params = authorization_params(server, client, challenge, **change)
        query = redirect_query(await http.get(f"{server.base}/authorize", params=params))
        assert query["error"] == "invalid_request"
        assert description in query["error_description"]
        assert query["state"] == params["state"] and query["iss"] == server.issuer
        assert "code" not in query


async def test_a2_code_replay_revokes_what_it_issued(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        authorization = await authorize(http, server, client)
        tokens = tokens_of(await exchange_code(http, server, client, authorization))
        assert (await whoami(http, server, tokens["access_token"]))["id"] == "alice"

        assert_oauth_error(await exchange_code(http, server, client, authorization), 400, "invalid_grant", "already used")
        await assert_rejected_everywhere(server, tokens["access_token"])
        assert_oauth_error(await refresh(http, server, client, tokens["refresh_token"]), 400, "invalid_grant")


async def test_a2_concurrent_exchanges_of_one_code_issue_once(server: EdgeAuthServer) -> None:
    """The same code sent 6 times at once, on fresh connections to both workers: one exchange
    wins; the others are replays, which revoke what the winner got."""
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, limits=NO_KEEPALIVE) as http:
        client = await register(http, server)
        authorization = await authorize(http, server, client)
        responses: list[httpx2.Response] = []

        async def exchange() -> None:
            responses.append(await exchange_code(http, server, client, authorization))

        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(exchange)
    winners = [response for response in responses if response.status_code == 200]
    assert len(winners) == 1, [shown(response) for response in responses]
    for response in responses:
        if response is not winners[0]:
            assert_oauth_error(response, 400, "invalid_grant")
    await assert_rejected_everywhere(server, winners[0].json()["access_token"])


async def test_a2_code_expires(configured: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, configured)
        authorization = await authorize(http, configured, client)
        await anyio.sleep(CODE_LIFETIME + 1.5)  # the behaviour under test: time passing
        assert_oauth_error(await exchange_code(http, configured, client, authorization), 400, "invalid_grant", "expired")


async def test_a2_code_is_bound_to_its_client_and_redirect_uri(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server, redirect_uris=[REDIRECT_URI, "http://127.0.0.1:33418/other"])
        other = await register(http, server)
        authorization = await authorize(http, server, client)
        for redirect_uri in ("http://127.0.0.1:33418/other", "http://127.0.0.1:33419/callback", None):
            response = await exchange_code(http, server, client, authorization, redirect_uri=redirect_uri)
            assert_oauth_error(response, 400, "invalid_grant")
        assert_oauth_error(await exchange_code(http, server, other, authorization), 400, "invalid_grant")
        assert "access_token" in tokens_of(await exchange_code(http, server, client, authorization))


# --- A3, A5: registration and redirect URIs ---------------------------------------------------


@pytest.mark.parametrize("redirect_uri", [
    "http://example.com/cb", "javascript:alert(1)", "https://*.example.com/cb", "https://example.com/cb#frag",
    "data:text/html,hi", "file:///etc/passwd", "https://user:pw@example.com/cb", "com.example.app:/cb",
    'https://app.example.com/cb?x="><script>',
])
async def test_a3_registration_refuses_unsafe_redirect_uris(server: EdgeAuthServer, redirect_uri: str) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.post(f"{server.base}/register", json={"redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"})
        assert_oauth_error(response, 400, "invalid_redirect_uri")


async def test_a3_registration_answers_what_was_registered(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        public = await register(http, server)
        assert public.client_secret is None
        assert public.response["token_endpoint_auth_method"] == "none"
        assert public.response["redirect_uris"] == [REDIRECT_URI]
        confidential = await register(http, server, token_endpoint_auth_method="client_secret_post")
        assert confidential.client_secret and confidential.client_id != public.client_id
        assert confidential.response["client_secret_expires_at"] == 0
        # A native client may use a private-use scheme in reverse domain form (RFC 8252 §7.1).
        native = await register(http, server, application_type="native", redirect_uris=["com.example.notes:/oauth"])
        assert native.response["application_type"] == "native"
        response = await http.post(f"{server.base}/register", json={"redirect_uris": [REDIRECT_URI], "scope": "notes:read admin:everything"})
        assert_oauth_error(response, 400, "invalid_client_metadata")
        response = await http.post(f"{server.base}/register", json={"redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"]})
        assert_oauth_error(response, 400, "invalid_client_metadata")


async def test_a5_errors_before_the_redirect_uri_is_validated_are_shown(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        _, challenge = pkce()
        authorize_url = f"{server.base}/authorize"
        cases = [
            ({"redirect_uri": "https://evil.example/callback"}, "is not registered for this client"),
            ({"redirect_uri": "http://127.0.0.1:33418/elsewhere"}, "is not registered for this client"),
            ({"redirect_uri": "http://localhost:33418/callback"}, "is not registered for this client"),
            ({"client_id": "ea_no_such_client"}, "is not registered with this server"),
            ({"client_id": None}, "client_id is missing"),
            # Even with other errors a redirect would report, the unvalidated redirect URI wins.
            ({"redirect_uri": "https://evil.example/callback", "code_challenge_method": "plain"}, "is not registered"),
            ({"client_id": "ea_no_such_client", "response_type": "token"}, "is not registered"),
        ]
        for change, message in cases:
            response = await http.get(authorize_url, params=authorization_params(server, client, challenge, **change))
            assert_error_page(response, message)
            assert "evil.example/callback?" not in response.text
        # The same by POST.
        response = await http.post(authorize_url, data=authorization_params(server, client, challenge, redirect_uri="https://evil.example/cb"))
        assert_error_page(response, "is not registered for this client")

        # A loopback redirect URI matches on any port (RFC 8252 §7.3), the rest exactly.
        response = await http.get(authorize_url, params=authorization_params(server, client, challenge, redirect_uri="http://127.0.0.1:50123/callback"))
        assert is_login_page(response)
        # Once the redirect URI is known, errors go back to it.
        response = await http.get(authorize_url, params=authorization_params(server, client, challenge, response_type="token"))
        assert redirect_query(response)["error"] == "unsupported_response_type"


async def test_a5_code_exchange_without_redirect_uri_when_the_authorization_had_none(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        authorization = await authorize(http, server, client, redirect_uri=None)
        assert "code" in authorization.query  # the single registered URI was used
        tokens = tokens_of(await exchange_code(http, server, client, authorization, redirect_uri=None))
        assert (await whoami(http, server, tokens["access_token"]))["id"] == "alice"


# --- A4: client metadata documents -------------------------------------------------------------


async def test_a4_document_on_a_private_address_is_not_fetched(server: EdgeAuthServer, documents: DocumentServer) -> None:
    # The module's server keeps the default: documents only from public addresses.
    url = documents.publish("/private/client.json", client_document(documents.url("/private/client.json")))
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        _, challenge = pkce()
        params = authorization_params(server, Registration(url, None, REDIRECT_URI, {}), challenge)
        response = await http.get(f"{server.base}/authorize", params=params)
        assert_error_page(response, "non-public address")
    assert documents.count("/private/client.json") == 0


DOCUMENT_TIMEOUT = 3  # seconds: oauth.clientMetadataDocuments.timeout's default


@pytest.mark.parametrize(("case", "message"), [
    ("larger than the limit", "larger than 5120 bytes"),
    ("client_id of another URL", "client_id is not its URL"),
    ("redirect", "answered 302"),
    ("not found", "answered 404"),
    ("not JSON", "not valid JSON"),
    ("a secret", "token_endpoint_auth_method must be none"),
    ("unsafe redirect URI", "javascript"),
    ("too slow", "could not be fetched"),
])
async def test_a4_documents_that_are_refused(configured: EdgeAuthServer, documents: DocumentServer, case: str, message: str) -> None:
    path = f"/refused/{uuid.uuid4().hex}/client.json"
    url = documents.url(path)
    publish: dict[str, Any] = {
        "larger than the limit": {"document": client_document(url, padding="x" * 6000)},
        "client_id of another URL": {"document": client_document(documents.url("/another/client.json"))},
        "redirect": {"document": b"", "status": 302, "headers": {"Location": documents.url("/sdk/client.json")}},
        "not found": {"document": b"{}", "status": 404},
        "not JSON": {"document": b"<html>client</html>"},
        "a secret": {"document": client_document(url, token_endpoint_auth_method="client_secret_basic")},
        "unsafe redirect URI": {"document": client_document(url, redirect_uris=["javascript:alert(1)"])},
        "too slow": {"document": client_document(url), "delay": DOCUMENT_TIMEOUT + 3},
    }[case]
    documents.publish(path, publish.pop("document"), **publish)
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        params = authorization_params(configured, Registration(url, None, REDIRECT_URI, {}), pkce()[1])
        response = await http.get(f"{configured.base}/authorize", params=params)
        assert_error_page(response, message)
        # Refused at the token endpoint as well: nothing was registered.
        response = await token_request(http, configured, {"grant_type": "authorization_code", "client_id": url, "code": "x",
                                                          "code_verifier": pkce()[0], "redirect_uri": REDIRECT_URI})
        assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client", response.text
    assert documents.count(path) >= 1


async def test_a4_document_just_under_the_size_limit_is_accepted(configured: EdgeAuthServer, documents: DocumentServer) -> None:
    url = documents.url("/small/client.json")
    document = client_document(url, padding="")
    document["padding"] = "x" * (5120 - len(json.dumps(document).encode()))
    documents.publish("/small/client.json", document)
    assert len(documents.documents["/small/client.json"].body) == 5120
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.get(f"{configured.base}/authorize",
                                  params=authorization_params(configured, Registration(url, None, REDIRECT_URI, {}), pkce()[1]))
        assert is_login_page(response), page_text(response)[:500]


async def test_a4_document_redirect_uris_and_caching(configured: EdgeAuthServer, documents: DocumentServer) -> None:
    cached_url = documents.publish("/cached/client.json", client_document(documents.url("/cached/client.json")),
                                   headers={"Content-Type": "application/json", "Cache-Control": "max-age=3600"})
    uncached_url = documents.publish("/uncached/client.json", client_document(documents.url("/uncached/client.json")),
                                     headers={"Content-Type": "application/json", "Cache-Control": "no-store"})
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        cached = Registration(cached_url, None, REDIRECT_URI, {})
        _, challenge = pkce()
        # The document's redirect URIs are the registered ones.
        response = await http.get(f"{configured.base}/authorize",
                                  params=authorization_params(configured, cached, challenge, redirect_uri="https://evil.example/cb"))
        assert_error_page(response, "is not registered for this client")
        tokens = await login(http, configured, cached)
        assert (await whoami(http, configured, tokens["access_token"]))["id"] == "alice"
        assert_oauth_error(await refresh(http, configured, cached, tokens["refresh_token"], client_secret="anything"), 401, "invalid_client")
        assert documents.count("/cached/client.json") == 1  # max-age=3600: fetched once

        uncached = Registration(uncached_url, None, REDIRECT_URI, {})
        for _ in range(2):
            response = await http.get(f"{configured.base}/authorize", params=authorization_params(configured, uncached, challenge))
            assert is_login_page(response)
        assert documents.count("/uncached/client.json") == 2  # no-store: fetched every time


# --- A6, A7: consent, state and iss ----------------------------------------------------------


async def test_a7_state_and_iss_come_back_exactly(server: EdgeAuthServer) -> None:
    state = "s t&a=te/?+%~é" + secrets.token_urlsafe(8)
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        authorization = await authorize(http, server, client, state=state)
        assert authorization.query["state"] == state
        assert authorization.query["iss"] == server.issuer
        assert set(authorization.query) == {"code", "state", "iss"}
        # Without state: none comes back (nothing invented).
        authorization = await authorize(http, server, client, state=None)
        assert "state" not in authorization.query and authorization.query["iss"] == server.issuer
        # An error redirect carries both as well.
        query = redirect_query(await http.get(f"{server.base}/authorize",
                                              params=authorization_params(server, client, pkce()[1], state=state, scope="notes:admin")))
        assert query["error"] == "invalid_scope" and query["state"] == state and query["iss"] == server.issuer


async def test_a6_consent_form_token_is_required_unforgeable_and_single_use(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        verifier, challenge = pkce()
        params = authorization_params(server, client, challenge)
        page = await submit(http, await http.get(f"{server.base}/authorize", params=params), user="alice")
        assert is_consent_page(page)
        form = only_form(page)
        fields = form["fields"]
        assert set(fields) == {"pending", "consent_token"}
        consent_url = str(page.url.join(form["action"]))

        missing = await http.post(consent_url, data={"pending": fields["pending"], "decision": "approve"})
        assert_error_page(missing, "The consent form is invalid or has expired")

        token = fields["consent_token"]
        signature_at = token.rindex(".") + 1
        for position in (signature_at, signature_at + 10, 5):  # the signature, and the signed part
            forged = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1:]
            response = await http.post(consent_url, data={**fields, "consent_token": forged, "decision": "approve"})
            assert_error_page(response, "The consent form is invalid or has expired")
        # A token is bound to its own pending authorization.
        other = await submit(http, await http.get(f"{server.base}/authorize", params=authorization_params(server, client, challenge)), user="alice")
        response = await http.post(consent_url, data={**fields, "pending": only_form(other)["fields"]["pending"], "decision": "approve"})
        assert_error_page(response, "The consent form is invalid or has expired")

        approved = await http.post(consent_url, data={**fields, "decision": "approve"})
        query = redirect_query(approved)
        assert query["state"] == params["state"] and "code" in query
        replayed = await http.post(consent_url, data={**fields, "decision": "approve"})
        assert_error_page(replayed, "already used")
        denied_after = await http.post(consent_url, data={**fields, "decision": "deny"})
        assert_error_page(denied_after, "already used")

        tokens = tokens_of(await exchange_code(http, server, client, Authorization(params, verifier, query)))
        assert (await whoami(http, server, tokens["access_token"]))["id"] == "alice"


def form_action_allows(policy: str, page_url: str, target: str) -> bool:
    """Whether a form on a page at `page_url` with Content-Security-Policy `policy` may be
    submitted to, or redirected to, `target` (CSP Level 3 `form-action`; browsers apply it to
    every URL of the submission's redirect chain)."""
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or {'http': 80, 'https': 443}[parts.scheme]}"

    for directive in policy.split(";"):
        name, *sources = directive.split()
        if name.lower() != "form-action":
            continue
        for source in sources:
            if source == "*" or source == f"{urlsplit(target).scheme}:":
                return True
            if source == "'self'" and origin(page_url) == origin(target):
                return True
            if "://" in source and origin(source) == origin(target):
                return True
        return False
    return True  # no form-action directive: default-src does not restrict forms


async def test_a6_consent_form_may_redirect_to_the_client(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        login_page = await http.get(f"{server.base}/authorize", params=authorization_params(server, client, pkce()[1]))
        consent_page = await submit(http, login_page, user="alice")
        assert is_consent_page(consent_page)
        # The consent form's answer redirects to the client; so does the login form's, once consent is remembered.
        assert redirect_query(await submit(http, consent_page, decision="approve"))["code"]
        for page in (consent_page, login_page):
            policy = page.headers["Content-Security-Policy"]
            assert form_action_allows(policy, str(page.url), client.redirect_uri), policy


async def test_a6_deny_redirects_with_access_denied_and_is_not_remembered(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        denied = await authorize(http, server, client, decision="deny")
        assert denied.consent_page is not None
        assert denied.query["error"] == "access_denied"
        assert denied.query["state"] == denied.params["state"] and denied.query["iss"] == server.issuer
        assert "code" not in denied.query

        approved = await authorize(http, server, client)
        assert approved.consent_page is not None, "a denial must not be remembered as consent"
        # Consent is remembered per user, client and scopes: the same request skips the page...
        again = await authorize(http, server, client)
        assert again.consent_page is None and "code" in again.query
        assert again.query["state"] == again.params["state"] and again.query["iss"] == server.issuer  # A7
        # ...but not for another user, nor for a scope not granted yet.
        bob = await authorize(http, server, client, user="bob")
        assert bob.consent_page is not None
        bob_text = " ".join(page_text(bob.consent_page).split())
        assert "Not available to bob: notes:write" in bob_text
        bob_tokens = tokens_of(await exchange_code(http, server, client, bob))
        assert (await whoami(http, server, bob_tokens["access_token"]))["scopes"] == ["notes:read"]
        wider = await authorize(http, server, client, scope="notes:read notes:write openid")
        assert wider.consent_page is not None


async def test_a6_pages_show_client_values_escaped(server: EdgeAuthServer) -> None:
    name = '<img src=x onerror="alert(1)"> Notes'
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        redirect_uri = "https://app.example.com/cb?x='1'&y=2"
        client = await register(http, server, client_name=name, redirect_uris=[redirect_uri])
        params = authorization_params(server, client, pkce()[1])
        login_page = await http.get(f"{server.base}/authorize", params=params)
        assert is_login_page(login_page)
        consent_page = await submit(http, login_page, user="alice")
        assert is_consent_page(consent_page)
        for page in (login_page, consent_page):
            assert "<img" not in page.text and "'1'&y" not in page.text
            assert name in page_text(page)
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert redirect_uri in page_text(consent_page)
        query = redirect_query(await submit(http, consent_page, decision="approve"), redirect_uri)
        assert query["x"] == "'1'" and query["y"] == "2" and "code" in query


# --- A8: resource indicators --------------------------------------------------------------------


async def test_a8_resource_must_be_this_server(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        for resource in (f"{server.base}/other", "https://mcp.example.com/mcp"):
            params = authorization_params(server, client, pkce()[1], resource=resource)
            query = redirect_query(await http.get(f"{server.base}/authorize", params=params))
            assert query["error"] == "invalid_target"
            assert query["state"] == params["state"] and query["iss"] == server.issuer

        authorization = await authorize(http, server, client)
        response = await exchange_code(http, server, client, authorization, resource=f"{server.base}/other")
        assert_oauth_error(response, 400, "invalid_target")
        tokens = tokens_of(await exchange_code(http, server, client, authorization))
        assert_oauth_error(await refresh(http, server, client, tokens["refresh_token"], resource="https://mcp.example.com/mcp"),
                           400, "invalid_target")
        # Without resource the token is for this server too.
        tokens = await login(http, server, client, resource=None)
        assert (await whoami(http, server, tokens["access_token"]))["id"] == "alice"


# --- A9: refresh tokens ---------------------------------------------------------------------------


async def test_a9_reusing_a_rotated_refresh_token_revokes_the_family(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        tokens = await login(http, server, client)
        r0 = tokens["refresh_token"]
        first = tokens_of(await refresh(http, server, client, r0))
        r1 = first["refresh_token"]
        assert r1 != r0
        # R0 again while R1 is unused: a lost response, or a second copy of the client (grace).
        sibling = tokens_of(await refresh(http, server, client, r0))
        assert sibling["refresh_token"] not in (r0, r1)
        assert (await whoami(http, server, sibling["access_token"]))["id"] == "alice"
        second = tokens_of(await refresh(http, server, client, r1))
        r2 = second["refresh_token"]
        assert r2 not in (r0, r1)
        assert (await whoami(http, server, second["access_token"]))["id"] == "alice"

        # R0 once more, after its successor R1 was used: a stolen token. The family ends.
        assert_oauth_error(await refresh(http, server, client, r0), 400, "invalid_grant")
        assert_oauth_error(await refresh(http, server, client, r2), 400, "invalid_grant")
        assert_oauth_error(await refresh(http, server, client, r1), 400, "invalid_grant")
        for issued in (tokens, first, sibling, second):
            await assert_rejected_everywhere(server, issued["access_token"])


async def test_a9_too_many_replays_of_the_previous_refresh_token_revoke_the_family(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        tokens = await login(http, server, client)
        r0 = tokens["refresh_token"]
        issued = [tokens_of(await refresh(http, server, client, r0))]
        while True:
            response = await refresh(http, server, client, r0)
            if response.status_code != 200:
                break
            issued.append(tokens_of(response))
            assert len(issued) <= 8, "the previous refresh token is accepted without limit"
        assert_oauth_error(response, 400, "invalid_grant", "revoked")
        for sibling in issued:
            assert_oauth_error(await refresh(http, server, client, sibling["refresh_token"]), 400, "invalid_grant")
        await assert_rejected_everywhere(server, issued[-1]["access_token"])
        await assert_rejected_everywhere(server, tokens["access_token"])


async def test_a9_refresh_can_narrow_but_not_widen_the_scope(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        narrow = await login(http, server, client, scope="notes:read")
        assert narrow["scope"] == "notes:read"
        response = await refresh(http, server, client, narrow["refresh_token"], scope="notes:read notes:write")
        assert_oauth_error(response, 400, "invalid_scope")
        # The refused request spent nothing: the token still refreshes.
        assert tokens_of(await refresh(http, server, client, narrow["refresh_token"]))["scope"] == "notes:read"

        full = await login(http, server, client, scope="notes:read notes:write")
        narrowed = tokens_of(await refresh(http, server, client, full["refresh_token"], scope="notes:read"))
        assert narrowed["scope"] == "notes:read"
        assert (await whoami(http, server, narrowed["access_token"]))["scopes"] == ["notes:read"]
        response = await mcp_call(http, server, narrowed["access_token"], "add_note", {"text": "narrowed"})
        assert response.status_code == 403
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        # The grant keeps what was granted: the next refresh may ask for it again.
        widened = tokens_of(await refresh(http, server, client, narrowed["refresh_token"], scope="notes:read notes:write"))
        assert set(widened["scope"].split()) == {"notes:read", "notes:write"}


# --- A10: revocation ------------------------------------------------------------------------------


async def test_a10_revoking_a_refresh_token_ends_its_grant(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        tokens = await login(http, server, client)
        response = await http.post(f"{server.base}/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token",
                                                                   "client_id": client.client_id})
        assert response.status_code == 200
        assert_oauth_error(await refresh(http, server, client, tokens["refresh_token"]), 400, "invalid_grant")
        await assert_rejected_everywhere(server, tokens["access_token"])
        # RFC 7009 §2.2: revoking again, or an unknown token, is not an error.
        response = await http.post(f"{server.base}/revoke", data={"token": tokens["refresh_token"], "client_id": client.client_id})
        assert response.status_code == 200
        response = await http.post(f"{server.base}/revoke", data={"token": "not-a-token", "client_id": client.client_id})
        assert response.status_code == 200

        # Only the client a token was issued to can revoke it; a confidential client authenticates.
        confidential = await register(http, server, token_endpoint_auth_method="client_secret_post")
        tokens = await login(http, server, client)
        response = await http.post(f"{server.base}/revoke", data={"token": tokens["refresh_token"], "client_id": confidential.client_id,
                                                                   "client_secret": "wrong"})
        assert_oauth_error(response, 401, "invalid_client")
        response = await http.post(f"{server.base}/revoke", data={"token": tokens["refresh_token"], "client_id": confidential.client_id,
                                                                   "client_secret": confidential.client_secret})
        assert response.status_code == 200
        assert tokens_of(await refresh(http, server, client, tokens["refresh_token"]))


async def test_a10_revoking_an_access_token(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        other = await register(http, server)
        tokens = await login(http, server, client)
        await assert_accepted_everywhere(server, tokens["access_token"])
        # Another client cannot revoke it.
        response = await http.post(f"{server.base}/revoke", data={"token": tokens["access_token"], "client_id": other.client_id})
        assert response.status_code == 200
        assert (await whoami(http, server, tokens["access_token"]))["id"] == "alice"

        response = await http.post(f"{server.base}/revoke", data={"token": tokens["access_token"], "token_type_hint": "access_token",
                                                                   "client_id": client.client_id})
        assert response.status_code == 200
        await assert_rejected_everywhere(server, tokens["access_token"])
        rejected = await mcp_call(http, server, tokens["access_token"])
        assert 'error="invalid_token"' in rejected.headers["WWW-Authenticate"]
        # The grant goes on: its refresh token gets a new, working access token.
        renewed = tokens_of(await refresh(http, server, client, tokens["refresh_token"]))
        await assert_accepted_everywhere(server, renewed["access_token"])


# --- A11: client authentication and the token endpoint ----------------------------------------------


async def test_a11_confidential_clients_must_authenticate(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        post_client = await register(http, server, token_endpoint_auth_method="client_secret_post")
        authorization = await authorize(http, server, post_client)
        wrong = secrets.token_urlsafe(32)
        assert_oauth_error(await exchange_code(http, server, post_client, authorization, client_secret=wrong), 401, "invalid_client")
        assert_oauth_error(await exchange_code(http, server, post_client, authorization), 401, "invalid_client")
        assert_oauth_error(await exchange_code(http, server, post_client, authorization, client_secret=post_client.client_secret[:-1]),
                           401, "invalid_client")
        tokens = tokens_of(await exchange_code(http, server, post_client, authorization, client_secret=post_client.client_secret))
        assert_oauth_error(await refresh(http, server, post_client, tokens["refresh_token"], client_secret=wrong), 401, "invalid_client")
        assert tokens_of(await refresh(http, server, post_client, tokens["refresh_token"], client_secret=post_client.client_secret))

        basic_client = await register(http, server, token_endpoint_auth_method="client_secret_basic")
        authorization = await authorize(http, server, basic_client)
        data = {"grant_type": "authorization_code", "code": authorization.code, "redirect_uri": REDIRECT_URI,
                "code_verifier": authorization.verifier}
        response = await token_request(http, server, data, basic(basic_client.client_id, wrong))
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        # Another client's secret is no better.
        response = await token_request(http, server, data, basic(basic_client.client_id, post_client.client_secret))
        assert_oauth_error(response, 401, "invalid_client")
        # A real client, but not this code's.
        response = await token_request(http, server, data, basic(post_client.client_id, post_client.client_secret))
        assert response.status_code in (400, 401) and response.json()["error"] in ("invalid_grant", "invalid_client"), response.text
        tokens = tokens_of(await token_request(http, server, data, basic(basic_client.client_id, basic_client.client_secret)))
        assert (await whoami(http, server, tokens["access_token"]))["id"] == "alice"

        # A public client has no secret to send.
        public = await register(http, server)
        authorization = await authorize(http, server, public)
        assert_oauth_error(await exchange_code(http, server, public, authorization, client_secret="guess"), 401, "invalid_client")


async def test_token_endpoint_refuses_unknown_grants_and_clients(server: EdgeAuthServer) -> None:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        client = await register(http, server)
        for grant in ("password", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"):
            response = await token_request(http, server, {"grant_type": grant, "client_id": client.client_id, "username": "alice"})
            assert_oauth_error(response, 400, "unsupported_grant_type")
        assert_oauth_error(await token_request(http, server, {"client_id": client.client_id}), 400, "invalid_request")
        response = await token_request(http, server, {"grant_type": "authorization_code", "client_id": "ea_unknown", "code": "x",
                                                      "code_verifier": pkce()[0], "redirect_uri": REDIRECT_URI})
        assert_oauth_error(response, 401, "invalid_client")
        response = await token_request(http, server, {"grant_type": "authorization_code", "client_id": client.client_id,
                                                      "code": "not-a-code", "code_verifier": pkce()[0], "redirect_uri": REDIRECT_URI})
        assert_oauth_error(response, 400, "invalid_grant")
        response = await http.get(f"{server.base}/token")
        assert response.status_code == 405


# --- restarts ----------------------------------------------------------------------------------------


async def test_a3_registrations_and_grants_survive_restarts(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    port = first.port
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            client = await register(http, first)
    finally:
        first.stop()

    second = start_server(tmp_path, port=port)
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            tokens = await login(http, second, client)
            assert (await whoami(http, second, tokens["access_token"]))["id"] == "alice"
    finally:
        second.stop()

    third = start_server(tmp_path, port=port)
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            await assert_accepted_everywhere(third, tokens["access_token"])  # the signing key persisted
            renewed = tokens_of(await refresh(http, third, client, tokens["refresh_token"]))
            await assert_accepted_everywhere(third, renewed["access_token"])
            await assert_accepted_everywhere(third, tokens["access_token"])
            # Remembered consent persisted too: no consent page this time.
            again = await authorize(http, third, client)
            assert again.consent_page is None and "code" in again.query
            # A revocation persists across a restart.
            response = await http.post(f"{third.base}/revoke", data={"token": tokens["access_token"], "client_id": client.client_id})
            assert response.status_code == 200
    finally:
        third.stop()

    fourth = start_server(tmp_path, port=port)
    try:
        await assert_rejected_everywhere(fourth, tokens["access_token"])
        await assert_accepted_everywhere(fourth, renewed["access_token"])
    finally:
        fourth.stop()


# --- two workers --------------------------------------------------------------------------------------


FLOW_STEPS = {  # step: the status it must have
    "discovery": 200, "register": 201, "authorize": 200, "login": 200, "consent": 303,
    "token": 200, "mcp tools/call": 200, "refresh": 200,
}


async def test_login_steps_are_answered_by_either_worker(server: EdgeAuthServer) -> None:
    """Every request on a fresh connection, so either worker answers any step of a flow; the
    state between the steps (pending authorization, consent, code, grant) is shared."""
    flows: list[list[Exchange]] = []
    workers: set[str] = set()
    crossed = 0  # flows answered by both workers
    for number in range(30):
        log = RequestLog()
        agent = UserAgent("alice", on_response=log.hook)
        provider = sdk_provider(server, agent, MemoryStorage())
        async with httpx2.AsyncClient(auth=provider, timeout=HTTP_TIMEOUT, limits=NO_KEEPALIVE,
                                      event_hooks={"response": [log.hook]}) as http:
            async with Client(streamable_http_client(server.url, http_client=http)) as client:
                assert (await client.call_tool("whoami", {})).structured_content["id"] == "alice"
                force_refresh(provider)
                assert (await client.call_tool("whoami", {})).structured_content["id"] == "alice"
        for step, status in FLOW_STEPS.items():
            done = log.steps(step)
            assert done, f"flow {number}: no {step} step in {log.exchanges}"
            assert all(exchange.status == status for exchange in done), f"flow {number}: {step} failed: {done}"
        assert all(exchange.worker and exchange.worker != server.master_worker_id for exchange in log.exchanges), log.exchanges
        print(f"flow {number}: " + ", ".join(f"{exchange.step}={int(exchange.worker, 36)}" for exchange in log.exchanges
                                             if exchange.step in FLOW_STEPS))
        flows.append(log.exchanges)
        flow_workers = {exchange.worker for exchange in log.exchanges}
        workers |= flow_workers
        crossed += len(flow_workers) > 1
        if number >= 9 and len(workers) >= 2 and crossed:
            break
    summary = [[(exchange.step, exchange.worker) for exchange in flow] for flow in flows]
    assert len(workers) == 2, f"expected both workers, saw {workers}: {summary}"
    assert crossed, f"no flow had steps on both workers: {summary}"


# --- key rotation ------------------------------------------------------------------------------


def token_kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


async def answering_workers(server: EdgeAuthServer, token: str, avoid: set[str] = frozenset()) -> set[str]:
    """The two workers answering now (base 36 pids), waiting (bounded) until neither is in `avoid`."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        seen = await answers_on_every_worker(server, token)
        workers = set(seen)
        if not workers & avoid and len(workers) == 2:
            assert all(statuses == {200} for statuses in seen.values()), seen
            return workers
        assert time.monotonic() < deadline, f"workers still answering: {seen}, expected none of {avoid}"
        await anyio.sleep(0.2)


async def test_rotated_key_signs_after_the_reload_and_a_crashed_worker_keeps_its_generations_key(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            client = await register(http, srv)
            first = (await login(http, srv, client))["access_token"]
            old_kid = token_kid(first)
            generation = await answering_workers(srv, first)
            rotated = subprocess.run([str(srv.binary), "keys", "rotate", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
            assert rotated.returncode == 0, rotated.stderr
            new_kid = re.search(r"new signing key (\S+);", rotated.stdout).group(1)
            # A worker of the running generation crashes and is started again: it keeps signing
            # with its generation's key, which every sibling trusts.
            crashed = sorted(generation)[0]
            os.kill(int(crashed, 36), signal.SIGKILL)
            restarted = await answering_workers(srv, first, avoid={crashed}) - generation
            answered_by: set[str] = set()
            async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, limits=NO_KEEPALIVE) as fresh:
                for _ in range(40):
                    response = await exchange_code(fresh, srv, client, await authorize(fresh, srv, client))
                    token = tokens_of(response)["access_token"]
                    assert token_kid(token) == old_kid
                    await assert_accepted_everywhere(srv, token)
                    answered_by.add(response.headers["X-Request-Id"].partition("-")[0])
                    if answered_by & restarted:
                        break
            assert answered_by & restarted, f"the restarted worker {restarted} answered no code exchange: {answered_by}"
            # The reload starts a generation that signs with the new key and publishes both.
            before = await answering_workers(srv, first)
            srv.process.send_signal(signal.SIGHUP)
            await answering_workers(srv, first, avoid=before)
            rotated_token = (await login(http, srv, client))["access_token"]
            assert token_kid(rotated_token) == new_kid
            await assert_accepted_everywhere(srv, rotated_token)
            await assert_accepted_everywhere(srv, first)
            kids = {key["kid"] for key in (await http.get(f"{srv.base}/jwks")).json()["keys"]}
            assert kids == {old_kid, new_kid}
    finally:
        srv.stop()
