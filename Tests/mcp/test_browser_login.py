"""The login pages of `edgeauth serve` in a real browser: headless Chromium (Debian's `chromium`
and `chromium-driver`, which `make test` installs) driven through Selenium, against a real
server (a master and 2 workers, the embedded development configuration) and its development
identity provider.

The client is a public client registered over plain HTTP; its redirect URI is a loopback
HTTP server of this module that records what it receives. The browser logs in, consents or
denies, and must end at that redirect URI, with nothing blocked by the pages'
Content-Security-Policy: browsers apply `form-action` to the redirect that answers a form's
POST, which an HTTP client alone never shows.

Run: EDGEAUTH_BINARY=.build/debug/edgeauth .venv/bin/python3 -m pytest -q Tests/mcp/test_browser_login.py
"""

from __future__ import annotations

import base64
import hashlib
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx2
import pytest

from test_mcp_clients import EdgeAuthServer, edgeauth_binary, start_server

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as error:
    pytest.fail(f"selenium is not installed ({error}): `make test` installs Tests/mcp/requirements.txt into .venv", pytrace=False)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HEADLESS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1024"]

# Generous bounds: a debug build and a browser on a loaded 2-core machine can be slow. They
# only cap how long a broken server or browser can hang the suite; no test relies on them.
PAGE_TIMEOUT = 60.0
CALLBACK_TIMEOUT = 60.0
HTTP_TIMEOUT = httpx2.Timeout(60.0)
# How long the browser is given to (wrongly) follow a page that must not redirect.
NO_REDIRECT_WAIT = 2.0

SCOPES = "notes:read notes:write"
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
TRANSPARENT = {"transparent", "rgba(0, 0, 0, 0)"}


# --- the client's redirect URI ------------------------------------------------------


class RedirectTarget:
    """A loopback HTTP server standing for the client: each GET /callback is recorded (its
    query) and answered 200 "done". GET /form-probe is a page with `form-action 'self'` whose
    form's answer redirects to another origin (the same server named `localhost`)."""

    def __init__(self) -> None:
        self.received: queue.Queue[list[tuple[str, str]]] = queue.Queue()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path == "/callback":
                    target.received.put(parse_qsl(url.query, keep_blank_values=True))
                    self.answer(200, b"done", "text/plain; charset=utf-8")
                elif url.path == "/form-probe":
                    page = (b"<!doctype html><title>form probe</title>"
                            b"<form method=\"post\" action=\"/form-probe\"><button type=\"submit\">Send</button></form>")
                    self.answer(200, page, "text/html; charset=utf-8", (("Content-Security-Policy", "form-action 'self'"),))
                else:
                    self.answer(404, b"not found", "text/plain; charset=utf-8")

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if urlsplit(self.path).path == "/form-probe":
                    location = f"http://localhost:{target.port}/callback?probe=1"
                    self.answer(303, b"", "text/plain; charset=utf-8", (("Location", location),))
                else:
                    self.answer(404, b"not found", "text/plain; charset=utf-8")

            def answer(self, status: int, body: bytes, content_type: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="redirect-target", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def drain(self) -> None:
        while True:
            try:
                self.received.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


# --- the browser ----------------------------------------------------------------------


@dataclass
class Browser:
    driver: WebDriver
    chromedriver_log: Path
    entries: list[dict[str, Any]] = field(default_factory=list)

    def log(self) -> list[dict[str, Any]]:
        """The console entries since the last call (Chromium hands each out once)."""
        new = self.driver.get_log("browser")
        self.entries += new
        return new

    def report(self) -> str:
        """Where the browser is and what it shows and logged, for a failure's report."""
        self.log()
        return (f"at {self.driver.current_url} ({self.driver.title!r}):\n{self.driver.page_source[:2000]}\n"
                f"console: {self.entries}\nchromedriver log: {self.chromedriver_log}")

    def page_text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def wait_for_title(self, title: str) -> None:
        try:
            WebDriverWait(self.driver, PAGE_TIMEOUT).until(lambda driver: driver.title == f"{title} · EdgeAuth")
        except TimeoutException:
            pytest.fail(f"no page {title!r} within {PAGE_TIMEOUT}s: the browser is {self.report()}")

    def click(self, css: str) -> None:
        self.driver.find_element(By.CSS_SELECTOR, css).click()


def csp_violations(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["message"] for entry in entries if "content security policy" in entry.get("message", "").lower()]


def assert_no_csp_violation(browser: Browser) -> None:
    browser.log()
    violations = csp_violations(browser.entries)
    assert violations == [], "the browser blocked something under the pages' Content-Security-Policy:\n" + "\n".join(violations)


def assert_styled_page(browser: Browser) -> None:
    """The development banner is shown, and styled: the page's `<style nonce>` was applied."""
    banner = browser.driver.find_element(By.CSS_SELECTOR, "p.banner")
    assert banner.is_displayed()
    assert "EdgeAuth development identity provider: for development only" in banner.text, banner.text
    background = banner.value_of_css_property("background-color")
    assert background not in TRANSPARENT, f"the banner has no background ({background}): the page's style was not applied"


def await_callback(browser: Browser, target: RedirectTarget) -> dict[str, str]:
    """The query of the next request at the redirect URI, where the browser must then be."""
    try:
        pairs = target.received.get(timeout=CALLBACK_TIMEOUT)
    except queue.Empty:
        pytest.fail(f"the redirect URI received nothing within {CALLBACK_TIMEOUT}s: the browser is {browser.report()}")
    query = dict(pairs)
    assert len(query) == len(pairs), f"a parameter came twice: {pairs}"
    try:
        WebDriverWait(browser.driver, PAGE_TIMEOUT).until(
            lambda driver: driver.current_url.startswith(target.redirect_uri + "?") and "done" in browser.page_text())
    except TimeoutException:
        pytest.fail(f"the browser did not show the redirect URI's answer: it is {browser.report()}")
    return query


# --- the server and the client ------------------------------------------------------------


@dataclass
class Registration:
    client_id: str
    client_name: str
    redirect_uri: str


@dataclass
class Authorization:
    url: str
    state: str
    verifier: str


def register(http: httpx2.Client, server: EdgeAuthServer, target: RedirectTarget, client_name: str) -> Registration:
    body = {
        "client_name": client_name, "redirect_uris": [target.redirect_uri], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
    }
    response = http.post(f"{server.base}/register", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer.get("client_secret") is None, answer
    return Registration(answer["client_id"], client_name, target.redirect_uri)


def authorization(server: EdgeAuthServer, client: Registration) -> Authorization:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
        "code_challenge": challenge, "code_challenge_method": "S256", "state": state,
        "resource": server.url, "scope": SCOPES,
    }
    return Authorization(f"{server.base}/authorize?{urlencode(params)}", state, verifier)


def exchange(http: httpx2.Client, server: EdgeAuthServer, client: Registration, auth: Authorization, code: str) -> dict[str, Any]:
    response = http.post(f"{server.base}/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri,
        "code_verifier": auth.verifier, "client_id": client.client_id, "resource": server.url,
    })
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"].lower() == "bearer", tokens
    assert set(tokens.get("scope", "").split()) == set(SCOPES.split()), tokens
    return tokens


def whoami(http: httpx2.Client, server: EdgeAuthServer, access_token: str) -> str:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
    response = http.post(server.url, json=body, headers={**MCP_HEADERS, "Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()["result"]["structuredContent"]["id"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeAuthServer]:
    srv = start_server(edgeauth_binary(), tmp_path_factory.mktemp("edgeauth"))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=HTTP_TIMEOUT) as client:
        yield client


@pytest.fixture(scope="module")
def issuer(server: EdgeAuthServer, http: httpx2.Client) -> str:
    response = http.get(f"{server.base}/.well-known/oauth-authorization-server")
    assert response.status_code == 200, response.text
    return response.json()["issuer"]


@pytest.fixture(scope="module")
def target() -> Iterator[RedirectTarget]:
    redirect_target = RedirectTarget()
    try:
        yield redirect_target
    finally:
        redirect_target.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory, server: EdgeAuthServer) -> Iterator[Browser]:
    # Started after the server and so quit before it: the server's shutdown need not wait
    # for the browser's idle connections to drain.
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            pytest.fail(f"{path} is missing: the browser tests need Debian's {package}; `make test` installs it "
                        f"(make packages PACKAGES=\"chromium chromium-driver\")", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in HEADLESS:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chromedriver_log = tmp_path_factory.mktemp("chromium") / "chromedriver.log"
    # An explicit driver: Selenium Manager looks for (and would download) nothing.
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(chromedriver_log))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(PAGE_TIMEOUT)
        yield Browser(driver, chromedriver_log)
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: Browser, target: RedirectTarget) -> Browser:
    """The module's browser, its console and the redirect URI's record read empty."""
    chromium.log()
    chromium.entries.clear()
    target.drain()
    return chromium


# --- tests ----------------------------------------------------------------------------


def test_the_browser_reports_a_form_action_violation(browser: Browser, target: RedirectTarget) -> None:
    """What the pages' checks below rely on: this Chromium blocks a form whose answer redirects
    to an origin `form-action` does not name, and says so in the console the tests read."""
    browser.driver.get(f"http://127.0.0.1:{target.port}/form-probe")
    browser.click("button")
    deadline = time.monotonic() + PAGE_TIMEOUT
    while not csp_violations(browser.entries):
        browser.log()
        assert time.monotonic() < deadline, f"no Content Security Policy violation in the console: {browser.entries}"
        time.sleep(0.1)
    assert any("form-action" in message for message in csp_violations(browser.entries)), browser.entries
    with pytest.raises(queue.Empty):
        target.received.get(timeout=NO_REDIRECT_WAIT)


def test_alice_allows_and_her_consent_is_remembered(browser: Browser, server: EdgeAuthServer, http: httpx2.Client,
                                                    issuer: str, target: RedirectTarget) -> None:
    client = register(http, server, target, "EdgeAuth browser test (allow)")

    # The login page: the development banner, styled through the page's nonce.
    first = authorization(server, client)
    browser.driver.get(first.url)
    browser.wait_for_title("Sign in")
    assert_styled_page(browser)
    assert client.client_name in browser.page_text()
    browser.click('button[name="user"][value="alice"]')

    # The consent page names the client, the scopes and where the browser will be sent.
    browser.wait_for_title("Allow access?")
    assert_styled_page(browser)
    text = browser.page_text()
    assert "Signed in as alice" in text, text
    assert client.client_name in text, text
    shown_scopes = [element.text for element in browser.driver.find_elements(By.CSS_SELECTOR, "ul li code")]
    assert shown_scopes == SCOPES.split(), shown_scopes
    assert client.redirect_uri in [element.text for element in browser.driver.find_elements(By.CSS_SELECTOR, "p code")], text
    browser.click('button[name="decision"][value="approve"]')

    query = await_callback(browser, target)
    assert set(query) == {"code", "state", "iss"}, query
    assert query["state"] == first.state and query["iss"] == issuer, query
    tokens = exchange(http, server, client, first, query["code"])
    assert whoami(http, server, tokens["access_token"]) == "alice"

    # A second login of the same client: the consent is remembered, alice's button ends at the client.
    second = authorization(server, client)
    browser.driver.get(second.url)
    browser.wait_for_title("Sign in")
    browser.click('button[name="user"][value="alice"]')
    query = await_callback(browser, target)
    assert set(query) == {"code", "state", "iss"}, query
    assert query["state"] == second.state and query["iss"] == issuer, query
    tokens = exchange(http, server, client, second, query["code"])
    assert whoami(http, server, tokens["access_token"]) == "alice"

    assert target.received.empty()
    assert_no_csp_violation(browser)


def test_bob_denies(browser: Browser, server: EdgeAuthServer, http: httpx2.Client, issuer: str, target: RedirectTarget) -> None:
    client = register(http, server, target, "EdgeAuth browser test (deny)")
    auth = authorization(server, client)
    browser.driver.get(auth.url)
    browser.wait_for_title("Sign in")
    browser.click('button[name="user"][value="bob"]')

    browser.wait_for_title("Allow access?")
    assert_styled_page(browser)
    text = browser.page_text()
    assert "Signed in as bob" in text and client.client_name in text, text
    # bob may read notes only: the page asks for that and says what he cannot give.
    assert [element.text for element in browser.driver.find_elements(By.CSS_SELECTOR, "ul li code")] == ["notes:read"], text
    assert "Not available to bob: notes:write" in text, text
    browser.click('button[name="decision"][value="deny"]')

    query = await_callback(browser, target)
    assert query["error"] == "access_denied" and "code" not in query, query
    assert query["state"] == auth.state and query["iss"] == issuer, query
    assert_no_csp_violation(browser)


def test_unknown_client_gets_an_error_page_and_no_redirect(browser: Browser, server: EdgeAuthServer, target: RedirectTarget) -> None:
    unknown = Registration("unregistered-" + secrets.token_hex(8), "nobody", target.redirect_uri)
    auth = authorization(server, unknown)
    browser.driver.get(auth.url)
    browser.wait_for_title("Sign-in failed")
    assert_styled_page(browser)
    # The status the browser got (WebDriver's script runs outside the page's policy).
    status = browser.driver.execute_script('return performance.getEntriesByType("navigation")[0].responseStatus')
    assert status == 400, status
    heading = browser.driver.find_element(By.TAG_NAME, "h1").text
    assert heading == "Sign-in failed", heading
    message = browser.driver.find_element(By.CSS_SELECTOR, "p.error").text
    assert f"The client \"{unknown.client_id}\" is not registered with this server" in message, message
    assert browser.driver.find_elements(By.TAG_NAME, "form") == []

    with pytest.raises(queue.Empty):
        target.received.get(timeout=NO_REDIRECT_WAIT)
    assert browser.driver.current_url == auth.url
    assert_no_csp_violation(browser)
