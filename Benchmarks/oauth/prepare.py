#!/usr/bin/env python3
"""Prepares the requests of the token endpoint benchmark (Benchmarks/oauth/bench-oauth.sh).

    prepare.py register BASE_URL                        prints a new public client's client_id
    prepare.py codes BASE_URL CLIENT_ID COUNT OUT       COUNT authorization_code token requests
    prepare.py refresh BASE_URL CLIENT_ID COUNT OUT     COUNT refresh_token token requests

Each line of OUT is one form body for POST /token, never used before: `codes` drives the
authorization flow COUNT times (GET /authorize with a fresh PKCE S256 pair, then the login and,
once, the consent page of EdgeAuth's development identity provider, or the immediate redirect of
FastMCP's in-memory provider) and writes the code with its verifier; `refresh` does the same and
exchanges every code at /token, writing the current refresh token of its own grant.

Standard library only. Requests go over keep-alive connections from THREADS threads (default 8).
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import json
import os
import re
import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

REDIRECT_URI = "http://127.0.0.1:9/cb"
USER = "alice"
THREADS = int(os.environ.get("THREADS", "8"))


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, reopened when the server closes it."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> tuple[int, dict, str]:
        headers = {"Content-Type": content_type} if content_type else {}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, text)
            if response.will_close:
                self.conn.close()
                self.conn = None
            return answer
        raise AssertionError("unreachable")

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, dict, str]:
        return self.request("POST", path, urlencode(fields).encode(), "application/x-www-form-urlencoded")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)  # 43 unreserved characters
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden(page: str, name: str) -> str | None:
    match = re.search(r'<input type="hidden" name="%s" value="([^"]*)"' % re.escape(name), page)
    return html.unescape(match.group(1)) if match else None


def form_action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]*)"', page)
    if not match:
        raise RuntimeError(f"the authorization page has no form: {page[:300]}")
    return html.unescape(match.group(1))


def code_from(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    if "code" not in query:
        raise RuntimeError(f"the authorization ended without a code: {location}")
    return query["code"][0]


def authorize(conn: Connection, client_id: str) -> tuple[str, str]:
    """One authorization: returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
                       "code_challenge": challenge, "code_challenge_method": "S256", "state": secrets.token_urlsafe(8)})
    status, headers, page = conn.request("GET", "/authorize?" + query)
    for _ in range(4):
        if status in (301, 302, 303, 307):
            return code_from(headers["location"]), verifier
        if status != 200:
            raise RuntimeError(f"the authorization answered {status}: {page[:300]}")
        action = form_action(page)
        fields = {"pending": hidden(page, "pending") or ""}
        if 'name="user"' in page:
            fields["user"] = USER  # the development identity provider's login
        else:
            fields["consent_token"] = hidden(page, "consent_token") or ""  # the consent page
            fields["decision"] = "approve"
        status, headers, page = conn.form(urljoin("/authorize", action), fields)
    raise RuntimeError("the authorization did not come back to the client")


def exchange(conn: Connection, client_id: str, code: str, verifier: str) -> str:
    """Exchanges a code; returns the refresh token."""
    status, _, body = conn.form("/token", {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                           "client_id": client_id, "redirect_uri": REDIRECT_URI})
    if status != 200:
        raise RuntimeError(f"/token answered {status}: {body[:300]}")
    return json.loads(body)["refresh_token"]


def code_line(client_id: str, code: str, verifier: str) -> str:
    return urlencode({"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                      "client_id": client_id, "redirect_uri": REDIRECT_URI})


def refresh_line(client_id: str, refresh_token: str) -> str:
    return urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id})


def prepare(base: str, client_id: str, count: int, out: str, refresh: bool) -> None:
    local = threading.local()

    def one(_: int) -> str:
        if not hasattr(local, "conn"):
            local.conn = Connection(base)
        code, verifier = authorize(local.conn, client_id)
        if refresh:
            return refresh_line(client_id, exchange(local.conn, client_id, code, verifier))
        return code_line(client_id, code, verifier)

    start = time.monotonic()
    # The first authorization alone: on EdgeAuth it answers the consent page, which is then remembered.
    lines = [one(0)]
    with ThreadPoolExecutor(THREADS) as pool:
        lines += pool.map(one, range(1, count), chunksize=64)
    with open(out, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    elapsed = time.monotonic() - start
    what = "refresh tokens" if refresh else "authorization codes"
    print(f"prepared {count} {what} in {elapsed:.1f} s ({count / elapsed:.0f}/s)", file=sys.stderr)


def register(base: str) -> str:
    metadata = {"client_name": "token endpoint benchmark", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}
    status, _, body = Connection(base).request("POST", "/register", json.dumps(metadata).encode(), "application/json")
    if status not in (200, 201):
        raise RuntimeError(f"/register answered {status}: {body[:300]}")
    return json.loads(body)["client_id"]


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[1] == "register":
        print(register(argv[2]))
    elif len(argv) == 6 and argv[1] in ("codes", "refresh"):
        prepare(argv[2], argv[3], int(argv[4]), argv[5], refresh=argv[1] == "refresh")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
