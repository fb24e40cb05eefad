"""The nginx module against Debian's nginx: tokens minted here (ES256, joserfc), a verifier
configuration file, nginx with two workers sharing an LMDB verdict cache.

Run: EDGEAUTH_NGINX_MODULE=.build/nginx/ngx_http_edgeauth_module.so pytest integrations/nginx/test_module.py
(`make nginx-module-test` builds the module first).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

REPO_ROOT = Path(__file__).resolve().parents[2]

ISSUER = "https://issuer.test/"
AUDIENCE = "https://mcp.test/mcp"
METADATA = "https://mcp.test/.well-known/oauth-protected-resource/mcp"
TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Deployment:
    port: int
    key: ECKey
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, **claims: object) -> str:
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": int(time.time()) + 3600,
                   "scope": "notes:read", "roles": ["admin"], "email": "alice@example.com"}
        payload.update(claims)
        return jwt.encode({"alg": "ES256", "kid": "k1"}, payload, self.key)

    def reload(self) -> None:
        self.process.send_signal(signal.SIGHUP)


def wait_for(url: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answers at {url}")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    module = Path(os.environ.get("EDGEAUTH_NGINX_MODULE", ".build/nginx/ngx_http_edgeauth_module.so")).resolve()
    if not module.is_file():
        pytest.fail(f"the module is not built at {module} (make nginx-module)")
    directory = tmp_path_factory.mktemp("edgeauth-nginx")
    key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256", "use": "sig"})
    (directory / "jwks.json").write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    (directory / "verifier.yaml").write_text(
        f"issuers: [{ISSUER}]\naudiences: [{AUDIENCE}]\nkeys: [{{jwksFile: {directory / 'jwks.json'}}}]\n"
        f"cache: {{directory: {directory / 'cache'}}}\n"
    )
    # An MCP server of the official Python SDK whose `headers` tool reports the headers of its request.
    upstream_port = free_port()
    upstream = subprocess.Popen([os.environ.get("EDGEAUTH_PYTHON", "python3"), str(REPO_ROOT / "Tests/gateway/upstream_mcp.py"), str(upstream_port)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert upstream.stdout is not None and b"ready" in upstream.stdout.readline(), "the MCP server did not start"
    port = free_port()
    (directory / "logs").mkdir()
    user = "" if os.getuid() != 0 else "user root;"
    (directory / "nginx.conf").write_text(f"""
load_module {module};
{user}
worker_processes 2;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {directory}; proxy_temp_path {directory}; fastcgi_temp_path {directory};
  uwsgi_temp_path {directory}; scgi_temp_path {directory};
  edgeauth_config {directory}/verifier.yaml;
  edgeauth_resource_metadata {METADATA};
  server {{
    listen 127.0.0.1:{port};
    location /whoami {{
      edgeauth on;
      edgeauth_require "scope:notes:read";
      default_type text/plain;
      return 200 "$edgeauth_user|$edgeauth_roles|$edgeauth_scopes|$edgeauth_email";
    }}
    location /write {{
      edgeauth on;
      edgeauth_require "scope:notes:read scope:notes:write";
      return 204;
    }}
    location /admin {{
      edgeauth on;
      edgeauth_require "role:superuser";
      return 204;
    }}
    location /mcp {{
      edgeauth on;
      proxy_set_header X-EdgeAuth-User $edgeauth_user;
      proxy_set_header X-EdgeAuth-Roles $edgeauth_roles;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_pass http://127.0.0.1:{upstream_port};
    }}
    location /hits {{
      edgeauth on;
      return 200 "$pid $edgeauth_cache_hits";
    }}
    location /tried {{
      edgeauth on;
      try_files /nonexistent @backend;
    }}
    location @backend {{
      edgeauth on;
      edgeauth_require "scope:notes:read";
      default_type text/plain;
      return 200 "backend $edgeauth_user";
    }}
    location /hop {{
      edgeauth on;
      rewrite ^ /admin last;
    }}
    location /open {{ return 204; }}
  }}
}}
""")
    process = subprocess.Popen(["nginx", "-p", str(directory), "-c", str(directory / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=open(directory / "logs" / "stderr.log", "wb"))
    try:
        wait_for(f"http://127.0.0.1:{port}/open")
        yield Deployment(port, key, directory, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
        upstream.terminate()
        upstream.wait(timeout=TIMEOUT)


def get(deployment: Deployment, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(deployment.base + path, headers=headers, timeout=TIMEOUT)


def test_a_valid_token_reaches_a_return_location_with_the_identity_variables(deployment: Deployment) -> None:
    answer = get(deployment, "/whoami", deployment.token())
    assert answer.status_code == 200
    assert answer.text == "alice|admin|notes:read|alice@example.com"


@pytest.mark.parametrize("claims, description", [
    ({"exp": 1_000_000_000}, "the access token has expired"),
    ({"aud": "https://other.test/"}, "the access token was not issued for this resource"),
    ({"iss": "https://evil.test/"}, "the access token was not issued by a trusted authorization server"),
])
def test_r2_refused_tokens_get_401_with_the_challenge(deployment: Deployment, claims: dict[str, object], description: str) -> None:
    answer = get(deployment, "/whoami", deployment.token(**claims))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == (
        f'Bearer error="invalid_token", error_description="{description}", resource_metadata="{METADATA}", scope="notes:read"')


def test_r2_a_forged_token_is_refused(deployment: Deployment) -> None:
    other = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    forged = jwt.encode({"alg": "ES256", "kid": "k1"}, {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory",
                                                         "exp": int(time.time()) + 3600, "scope": "notes:read"}, other)
    answer = get(deployment, "/whoami", forged)
    assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_r1_no_token_gets_the_resource_metadata_challenge(deployment: Deployment) -> None:
    answer = get(deployment, "/whoami")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == f'Bearer resource_metadata="{METADATA}", scope="notes:read"'


def test_r3_a_missing_scope_is_403_insufficient_scope_naming_every_scope(deployment: Deployment) -> None:
    answer = get(deployment, "/write", deployment.token())
    assert answer.status_code == 403
    challenge = answer.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="notes:read notes:write"' in challenge


def test_a_missing_role_is_403_without_a_challenge(deployment: Deployment) -> None:
    answer = get(deployment, "/admin", deployment.token())
    assert answer.status_code == 403 and "WWW-Authenticate" not in answer.headers


def test_r7_the_official_mcp_client_calls_a_python_mcp_server_behind_the_module(deployment: Deployment) -> None:
    async def call() -> dict[str, list[str]]:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {deployment.token()}"}, timeout=TIMEOUT) as http:
            async with Client(streamable_http_client(deployment.base + "/mcp", http_client=http)) as client:
                result = await client.call_tool("headers", {})
                return json.loads(result.content[0].text)

    seen = anyio.run(call)
    assert seen["x-edgeauth-user"] == ["alice"] and seen["x-edgeauth-roles"] == ["admin"]
    assert "authorization" not in seen, "the token stays at nginx"
    assert get(deployment, "/mcp").status_code == 401


def test_the_workers_share_verdicts_through_lmdb(deployment: Deployment) -> None:
    # Fresh connections land on either worker. A worker's first sight of the token is a hit in
    # the shared cache when the other one verified it first (its own later ones are in-process hits).
    token = deployment.token(jti="shared")
    hits: dict[str, int] = {}
    for _ in range(40):
        with httpx.Client(timeout=TIMEOUT) as client:
            answer = client.get(deployment.base + "/hits", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        pid, count = answer.text.split()
        hits[pid] = max(hits.get(pid, 0), int(count))
        if len(hits) == 2 and sum(hits.values()) > 0:
            break
    assert len(hits) == 2, f"both workers answered: {hits}"
    assert sum(hits.values()) >= 1, f"one worker served the other's verdict from LMDB: {hits}"


def test_a_reload_under_load_fails_no_request_because_of_the_module(deployment: Deployment) -> None:
    token = deployment.token()
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            while not stop.is_set():
                try:
                    status = client.get(deployment.base + "/whoami", headers={"Authorization": f"Bearer {token}"}).status_code
                except httpx.TransportError:
                    continue  # nginx closing an idle keep-alive connection of an old worker: not the module
                if status != 200:
                    failures.append(str(status))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    deployment.reload()
    time.sleep(2)
    deployment.reload()
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []


def test_an_internal_redirect_checks_again_with_the_token_it_came_with(deployment: Deployment) -> None:
    # try_files to a named location: the new location's check finds the token although the
    # header was removed after the first check.
    answer = get(deployment, "/tried", deployment.token())
    assert answer.status_code == 200 and answer.text == "backend alice"
    assert get(deployment, "/tried").status_code == 401


def test_a_rewrite_to_another_location_meets_that_locations_requirement_too(deployment: Deployment) -> None:
    # /hop lets any valid token in, then rewrites to /admin, which needs a role alice lacks.
    assert get(deployment, "/hop", deployment.token()).status_code == 403


def test_a_requirement_that_is_not_words_stops_nginx_t(deployment: Deployment, tmp_path: Path) -> None:
    config = (deployment.directory / "nginx.conf").read_text().replace('"scope:notes:read scope:notes:write"', '"scope:notes:read group:admins"')
    (tmp_path / "nginx.conf").write_text(config)
    checked = subprocess.run(["nginx", "-t", "-p", str(deployment.directory), "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True, timeout=TIMEOUT)
    assert checked.returncode != 0
    assert '"group:admins" is not scope:NAME, role:NAME or permission:NAME' in checked.stderr
