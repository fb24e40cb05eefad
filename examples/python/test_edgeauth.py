"""Tests of the ctypes binding against libedgeauth.

Run by `make c-abi-test` (part of `make test`) with EDGEAUTH_LIBRARY set to
the installed library. Tokens are the bench-data files (valid at NOW) and
tokens signed here with joserfc using the bench-data keys.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

import edgeauth

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("EDGEAUTH_BENCH_DATA", ROOT / "bench-data"))
HEADER = ROOT / "include" / "edgeauth.h"
NOW = 1764003600
EXP = 1764086400
AUTH0 = "https://edgeauth-bench.us.auth0.com/"
KEYCLOAK = "https://sso.edgeauth.test/realms/bench"
AUDIENCE = "https://api.edgeauth.test"
ALGORITHMS = "hs256 hs384 hs512 rs256 rs384 rs512 ps256 ps384 ps512 es256 es384 es512 eddsa".split()


def header_defines(prefix: str) -> dict[str, int]:
    text = HEADER.read_text()
    return {name: int(value) for name, value in re.findall(rf"#define ({prefix}\w*) \(?(-?\d+)\)?\s*$", text, re.M)}


def config(**overrides) -> dict:
    base = {
        "issuers": [AUTH0, KEYCLOAK],
        "audiences": [AUDIENCE],
        "keys": [{"jwksFile": str(BENCH / "jwks.json")}, {"hmacSecretFile": str(BENCH / "keys" / "hmac.secret")}],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


@pytest.fixture(scope="module")
def verifier() -> edgeauth.Verifier:
    with edgeauth.Verifier(config()) as v:
        yield v


def bench_token(name: str) -> bytes:
    return (BENCH / "tokens" / f"{name}.jwt").read_bytes()


def hs256(claims: dict, header: dict | None = None) -> str:
    """A token signed with the bench HMAC secret (no kid, as bench-data's HS tokens)."""
    key = OctKey.import_key((BENCH / "keys" / "hmac.secret").read_bytes())
    return jwt.encode({"alg": "HS256", **(header or {})}, claims, key)


def raw_hs256(header: bytes, payload: bytes) -> bytes:
    """A token over exactly these header and payload bytes (which joserfc would refuse to write)."""
    encode = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=")
    signing_input = encode(header) + b"." + encode(payload)
    tag = hmac.new((BENCH / "keys" / "hmac.secret").read_bytes(), signing_input, hashlib.sha256).digest()
    return signing_input + b"." + encode(tag)


def es256(claims: dict) -> str:
    """A token signed with the bench P-256 key, with the kid bench-data/jwks.json gives it."""
    jwks = json.loads((BENCH / "jwks.json").read_text())
    kid = next(key["kid"] for key in jwks["keys"] if key.get("alg") == "ES256")
    key = ECKey.import_key((BENCH / "keys" / "p-256.pem").read_bytes())
    return jwt.encode({"alg": "ES256", "kid": kid}, claims, key)


def claims(**extra) -> dict:
    base = {"iss": AUTH0, "aud": AUDIENCE, "sub": "user-1", "iat": NOW - 60, "exp": NOW + 3600}
    base.update(extra)
    return {key: value for key, value in base.items() if value is not None}


# -- codes and version ------------------------------------------------------


def test_library_version_matches_header():
    defines = header_defines("EDGEAUTH_VERSION_")
    expected = f"{defines['EDGEAUTH_VERSION_MAJOR']}.{defines['EDGEAUTH_VERSION_MINOR']}.{defines['EDGEAUTH_VERSION_PATCH']}"
    assert edgeauth.version() == expected
    major, minor, patch = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
    edgeauth.library().edgeauth_version(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
    assert f"{major.value}.{minor.value}.{patch.value}" == expected


def test_every_verdict_code_of_the_header_has_a_distinct_name_and_description():
    verdicts = header_defines("EDGEAUTH_VERDICT_")
    assert len(verdicts) >= 37
    names = {code: edgeauth.verdict_name(code) for code in verdicts.values()}
    assert "unknown" not in names.values()
    assert len(set(names.values())) == len(names), "two codes share a name"
    assert names[verdicts["EDGEAUTH_VERDICT_VALID"]] == "valid"
    assert names[verdicts["EDGEAUTH_VERDICT_EXPIRED"]] == "expired"
    assert names[verdicts["EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT"]] == "malformed.segmentCount"
    for name, code in verdicts.items():
        # EDGEAUTH_VERDICT_BASE64_NON_CANONICAL <-> "malformed.base64NonCanonical", and so on.
        words = name.removeprefix("EDGEAUTH_VERDICT_").removeprefix("MALFORMED_").lower().split("_")
        assert names[code].split(".")[-1].lower() == "".join(words)
        assert (code > 100 and code < 200) == names[code].startswith("malformed.")
        assert edgeauth.verdict_description(code)
    assert edgeauth.verdict_name(9999) == "unknown"
    assert edgeauth.verdict_name(-1) == "unknown"


def test_status_codes_match_the_header_and_have_text():
    statuses = header_defines("EDGEAUTH_ERR_") | header_defines("EDGEAUTH_OK")
    assert statuses["EDGEAUTH_OK"] == edgeauth.OK == 0
    assert statuses["EDGEAUTH_ERR_CONFIG"] == edgeauth.ERR_CONFIG
    assert statuses["EDGEAUTH_ERR_KEYS"] == edgeauth.ERR_KEYS
    assert statuses["EDGEAUTH_ERR_NOT_FOUND"] == edgeauth.ERR_NOT_FOUND
    assert statuses["EDGEAUTH_ERR_CACHE"] == edgeauth.ERR_CACHE
    texts = [edgeauth.library().edgeauth_status_string(code).decode() for code in statuses.values()]
    assert len(set(texts)) == len(texts) and "unknown status" not in texts
    assert edgeauth.library().edgeauth_status_string(12345) == b"unknown status"


# -- valid tokens -----------------------------------------------------------


@pytest.mark.parametrize("name", [f"{shape}-{alg}" for shape in ("auth0", "keycloak") for alg in ALGORITHMS])
def test_bench_tokens_verify(verifier, name):
    result = verifier.verify(bench_token(name), now=NOW)
    assert result.valid, result.verdict_name
    with result.identity as identity:
        assert identity.issuer == (AUTH0 if name.startswith("auth0") else KEYCLOAK)
        assert identity.expires_at == EXP
        assert identity.issued_at == 1764000000


def test_keycloak_identity(verifier):
    identity = verifier.verify(bench_token("keycloak-es256"), now=NOW).identity
    assert identity.subject == "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8"
    assert (identity.email, identity.name, identity.username) == ("ada@edgeauth.test", "Ada Lovelace", "ada")
    assert identity.client_id == "mcp-client"
    assert identity.audience == [AUDIENCE]
    assert identity.scopes == ["openid", "email"]
    assert identity.has_scope("email") and not identity.has_scope("profile")
    assert identity.roles == [] and identity.permissions == []
    assert identity.picture is None and identity.organization is None and identity.token_id is None
    assert identity.claim_at("/realm_access/roles") == ["user"]
    assert identity.claim_at("/resource_access/mcp-api/roles/0") == "invoke"
    assert identity.claim("realm_access") == {"roles": ["user"]}
    assert identity.claim("typ") == "Bearer"
    with pytest.raises(KeyError):
        identity.claim("missing")
    with pytest.raises(KeyError):
        identity.claim_at("/realm_access/groups")
    assert identity.to_dict()["username"] == "ada"


def test_auth0_identity(verifier):
    identity = verifier.verify(bench_token("auth0-rs256"), now=NOW).identity
    assert identity.subject == "auth0|6651f0c2a5b8e3d4f7a90b12"
    assert identity.permissions == ["call:tools", "read:resources", "read:tools"]
    assert identity.has_permission("read:tools") and not identity.has_permission("write:tools")
    assert identity.scopes == ["openid", "profile", "email", "read:tools", "call:tools"]
    assert identity.client_id == "q7bKd2LmN9pRs4TvW8yZa1Bc3De5FgHj"
    assert identity.audience == [AUDIENCE, "https://edgeauth-bench.us.auth0.com/userinfo"]
    assert identity.claim("https://edgeauth.test/roles") == ["admin", "operator"]
    assert identity.claim("gty") == "password"


def test_roles_organization_and_token_id_of_a_generated_token(verifier):
    token = es256(claims(roles=["admin", "editor"], org_id="org_42", jti="t-1", picture="https://p.example/a.png",
                         client_id="cli", azp="ignored-when-client-id-is-present", count=3, nested={"a": [1, None, True]}))
    identity = verifier.verify(token, now=NOW).identity
    assert identity.roles == ["admin", "editor"]
    assert identity.has_role("editor") and not identity.has_role("Editor") and not identity.has_role("edit")
    assert identity.organization == "org_42"
    assert identity.token_id == "t-1"
    assert identity.picture == "https://p.example/a.png"
    assert identity.client_id == "cli"
    assert identity.claim("count") == 3
    assert identity.claim("nested") == {"a": [1, None, True]}


def test_strings_keep_non_ascii_text_and_embedded_nul(verifier):
    token = hs256(claims(sub="a\u0000b", name="Zoë Ωmega ✓", scope="read  write", roles=["r\u0000", "ü"]))
    identity = verifier.verify(token, now=NOW).identity
    assert identity.subject == "a\u0000b"  # the length out-parameter keeps bytes after U+0000
    assert identity.name == "Zoë Ωmega ✓"
    assert identity.scopes == ["read", "write"]
    assert identity.roles == ["r\u0000", "ü"]
    assert identity.has_role("r\u0000") and not identity.has_role("r")
    assert identity.has_role("ü".encode()) and not identity.has_role(b"\xfc")  # Latin-1 bytes are not UTF-8


def test_requirement_helpers_accept_bytes_that_are_not_utf8(verifier):
    identity = verifier.verify(bench_token("auth0-rs256"), now=NOW).identity
    assert identity.has_permission(b"\xff\xfe") is False
    assert identity.has_scope(b"") is False
    with pytest.raises(edgeauth.EdgeAuthError) as error:
        identity.claim(b"\xff")
    assert error.value.status == edgeauth.ERR_INVALID_ARGUMENT


def test_identity_outlives_its_verifier():
    v = edgeauth.Verifier(config())
    identity = v.verify(bench_token("auth0-es256"), now=NOW).identity
    v.close()
    assert identity.subject == "auth0|6651f0c2a5b8e3d4f7a90b12"
    identity.close()
    with pytest.raises(ValueError):
        _ = identity.subject


# -- rejections ---------------------------------------------------------------


@pytest.mark.parametrize(
    "token, now, expected",
    [
        (lambda: bench_token("auth0-rs256"), EXP + 30, "expired"),
        (lambda: bench_token("auth0-rs256"), EXP + 29, "valid"),  # leeway 30 s
        (lambda: hs256(claims(nbf=NOW + 120)), NOW, "notYetValid"),
        (lambda: hs256(claims(iat=NOW + 120)), NOW, "issuedInFuture"),
        (lambda: hs256(claims(aud="https://other.example")), NOW, "wrongAudience"),
        (lambda: hs256(claims(iss="https://evil.example/")), NOW, "wrongIssuer"),
        (lambda: hs256(claims(exp=None)), NOW, "missingClaim"),
        (lambda: hs256(claims(exp="soon")), NOW, "invalidClaim"),
        (lambda: raw_hs256(b'{"alg":"HS256","crit":["exp"],"exp":1}', json.dumps(claims()).encode()), NOW, "unsupportedCritical"),
        (lambda: raw_hs256(b'{"alg":"HS256"}', b'{"sub":"a","sub":"b"}'), NOW, "malformed.duplicateMember"),
        (lambda: raw_hs256(b'{"alg":"HS256"}', b'["not", "an", "object"]'), NOW, "malformed.payloadNotObject"),
        (lambda: raw_hs256(b'{"alg":"HS256"}', b'{"sub":"\xff"}'), NOW, "malformed.invalidUTF8"),
        (lambda: hs256(claims(), {"kid": "nobody"}), NOW, "unknownKey"),
        (lambda: bench_token("auth0-es256")[:-4] + b"AAAA", NOW, "badSignature"),
        (lambda: b"", NOW, "malformed.segmentCount"),
        (lambda: b"a.b", NOW, "malformed.segmentCount"),
        (lambda: b"eyJhbGciOiJIUzI1NiJ9.e30.", NOW, "malformed.emptySegment"),
        (lambda: b"eyJhbGciOiJub25lIn0.e30.", NOW, "unsecured"),
        (lambda: b"\xff\xfe.\x00\x01.\x80", NOW, "malformed.base64Alphabet"),
        (lambda: b"Bearer " + bench_token("auth0-rs256"), NOW, "malformed.whitespace"),
        (lambda: bench_token("auth0-rs256") + b"\n", NOW, "malformed.whitespace"),
        (lambda: b"A" * (1 << 20), NOW, "tokenTooLarge"),
    ],
)
def test_verdicts(verifier, token, now, expected):
    result = verifier.verify(token(), now=now)
    assert result.verdict_name == expected
    assert (result.identity is not None) == (expected == "valid")


def test_a_one_mebibyte_token_within_a_raised_limit_is_parsed():
    with edgeauth.Verifier(config(limits={"maxTokenBytes": 2 << 20})) as v:
        big = hs256(claims(padding="x" * (1 << 20)))
        assert len(big) > 1 << 20
        assert v.verify(big, now=NOW).valid
        assert v.verify(b"A" * (1 << 20), now=NOW).verdict_name == "malformed.segmentCount"


def test_algorithm_allow_list():
    with edgeauth.Verifier(config(algorithms=["ES256"])) as v:
        assert v.verify(bench_token("keycloak-es256"), now=NOW).valid
        assert v.verify(bench_token("keycloak-rs256"), now=NOW).verdict_name == "algorithmNotAllowed"


def test_any_audience_and_issuer_must_be_explicit():
    with edgeauth.Verifier(config(issuers=None, anyIssuer=True, audiences=None, anyAudience=True)) as v:
        identity = v.verify(hs256(claims(iss="https://anyone.example/", aud="x")), now=NOW).identity
        assert identity.issuer == "https://anyone.example/"


def test_explain_names_the_values_involved(verifier):
    verdict, text = verifier.explain(hs256(claims(aud="account")), now=NOW)
    assert edgeauth.verdict_name(verdict) == "wrongAudience"
    assert text == 'wrongAudience: aud is ["account"], expected one of ["https://api.edgeauth.test"]'
    assert verifier.explain(bench_token("auth0-rs256"), now=NOW) == (0, "valid")


# -- configuration --------------------------------------------------------------


@pytest.mark.parametrize(
    "document, status, message",
    [
        (b"", edgeauth.ERR_CONFIG, "not valid JSON"),
        (b"{", edgeauth.ERR_CONFIG, "not valid JSON"),
        (b"\xff\xfe{}", edgeauth.ERR_CONFIG, "not valid JSON"),
        (b"[]", edgeauth.ERR_CONFIG, "must be a JSON object"),
        (b'{"issuers": ["a"], "issuers": ["b"]}', edgeauth.ERR_CONFIG, "same member twice"),
        (config(audiences=None), edgeauth.ERR_CONFIG, "give audiences"),
        (config(issuers=None), edgeauth.ERR_CONFIG, "give issuers"),
        (config(anyIssuer=True), edgeauth.ERR_CONFIG, "not both"),
        (config(audience=["x"]), edgeauth.ERR_CONFIG, 'unknown member "audience"'),
        (config(algorithms=["RS256", "none"]), edgeauth.ERR_CONFIG, '"none" is not one of'),
        (config(leeway=3600), edgeauth.ERR_CONFIG, "leeway must be between 0 and 600"),
        (config(leeway=1.5), edgeauth.ERR_CONFIG, "leeway must be an integer"),
        (config(limits={"maxTokenBytes": 0}), edgeauth.ERR_CONFIG, "limits.maxTokenBytes must be between"),
        (config(limits={"maxBytes": 1}), edgeauth.ERR_CONFIG, 'limits: unknown member "maxBytes"'),
        (config(keys=[]), edgeauth.ERR_CONFIG, "keys must be a non-empty array"),
        (config(keys=[{"jwksFile": "a", "pemFile": "b"}]), edgeauth.ERR_CONFIG, "keys[0] must have exactly one of"),
        (config(keys=[{"jwksFile": "a", "kid": "k"}]), edgeauth.ERR_CONFIG, 'keys[0]: unknown member "kid"'),
        (config(keys=[{"jwksFile": "/nonexistent/jwks.json"}]), edgeauth.ERR_KEYS, "cannot read /nonexistent/jwks.json"),
        (config(keys=[{"jwks": {"keys": []}}]), edgeauth.ERR_KEYS, "no usable verification key"),
        (config(keys=[{"jwks": "{nope"}]), edgeauth.ERR_CONFIG, "keys[0].jwks is not valid JSON"),
        (config(keys=[{"pemFile": str(BENCH / "keys" / "p-256.pem")}]), edgeauth.ERR_KEYS, "private key"),
        (config(keys=[{"hmacSecretEnv": "EDGEAUTH_TEST_UNSET_VARIABLE"}]), edgeauth.ERR_KEYS, "is not set"),
        (config(keys=[{"jwksURL": "http://example.com/jwks.json"}]), edgeauth.ERR_KEYS, "must use https"),
    ],
)
def test_configuration_errors_say_what_is_wrong(document, status, message):
    with pytest.raises(edgeauth.EdgeAuthError) as error:
        edgeauth.Verifier(document)
    assert error.value.status == status
    assert message in error.value.message


def test_hmac_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("EDGEAUTH_TEST_SECRET", (BENCH / "keys" / "hmac.secret").read_text())
    with edgeauth.Verifier(config(keys=[{"hmacSecretEnv": "EDGEAUTH_TEST_SECRET", "kid": "k1"}])) as v:
        assert v.key_count == 1
        assert v.verify(hs256(claims(), {"kid": "k1"}), now=NOW).valid
        assert v.verify(hs256(claims(), {"kid": "k2"}), now=NOW).verdict_name == "unknownKey"


def test_unusable_keys_are_skipped_with_a_warning():
    jwks = json.loads((BENCH / "jwks.json").read_text())
    jwks["keys"].append({"kty": "oct-ish", "kid": "strange"})
    with edgeauth.Verifier(config(keys=[{"jwks": jwks}])) as v:
        assert v.key_count == 10
        assert len(v.warnings) == 1 and 'kid "strange"' in v.warnings[0]
        assert v.verify(bench_token("auth0-ps384"), now=NOW).valid


class _JWKSHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path != "/.well-known/jwks.json":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server():
    """A JWKS endpoint on an ephemeral loopback port, serving bench-data/jwks.json."""
    _JWKSHandler.body = (BENCH / "jwks.json").read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JWKSHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_jwks_url_on_loopback_is_downloaded_while_the_caller_waits(jwks_server):
    with edgeauth.Verifier(config(keys=[{"jwksURL": jwks_server + "/.well-known/jwks.json"}])) as v:
        assert v.key_count == 10
        assert v.verify(bench_token("keycloak-eddsa"), now=NOW).valid


def test_key_statistics_report_the_remote_set(jwks_server):
    keys = [{"jwksURL": jwks_server + "/.well-known/jwks.json"}]
    with edgeauth.Verifier(config(keys=keys, keyRefresh={"maxStaleness": 3600})) as v:
        stats = v.key_statistics()
        assert stats["remote_sets"] == 1 and stats["fetches"] == 1 and stats["fetch_failures"] == 0
        assert stats["stale_sets"] == 0 and stats["unavailable_sets"] == 0 and stats["oldest_age"] < 60
    with edgeauth.Verifier(config()) as v:
        assert v.key_statistics()["remote_sets"] == 0


def test_a_verifier_used_in_a_forked_child_answers_without_waiting_for_a_download(jwks_server):
    # Created in the parent: in the child, the HTTP client's threads are gone, so an unknown
    # kid must not make edgeauth_verify wait for a download that can never finish.
    keys = [{"jwksURL": jwks_server + "/.well-known/jwks.json"}]
    with edgeauth.Verifier(config(keys=keys, keyRefresh={"coolDown": 1})) as v:
        time.sleep(1.1)  # past the cool-down, so a parent would download again
        _, payload, signature = bench_token("keycloak-es256").split(b".")
        header = base64.urlsafe_b64encode(b'{"alg":"ES256","kid":"published-later"}').rstrip(b"=")
        token = header + b"." + payload + b"." + signature
        pid = os.fork()
        if pid == 0:
            os._exit(0 if v.verify(token, now=NOW).verdict_name == "unknownKey" else 1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child waited for a download")
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_a_provider_sets_issuer_audience_algorithms_and_keys(jwks_server):
    provider = {"name": "custom", "issuer": KEYCLOAK, "jwksURL": jwks_server + "/.well-known/jwks.json", "audience": AUDIENCE}
    with edgeauth.Verifier({"provider": provider}) as v:
        assert v.key_count == 10
        assert v.verify(bench_token("keycloak-es256"), now=NOW).valid
        # The provider's issuer only, and no HMAC: custom providers sign asymmetrically.
        assert v.verify(bench_token("auth0-es256"), now=NOW).verdict_name == "wrongIssuer"
        assert v.verify(bench_token("keycloak-hs256"), now=NOW).verdict_name == "algorithmNotAllowed"


@pytest.mark.parametrize("cfg, message", [
    ({"provider": {"name": "auth0", "domain": "acme.us.auth0.com", "audience": "a"}, "issuers": [AUTH0]},
     "issuers cannot be combined with provider"),
    ({"provider": {"name": "okta"}}, "provider must be an object with \"name\""),
    ({"provider": {"name": "auth0", "audience": "a"}}, "provider.domain is required"),
    ({"provider": {"name": "auth0", "domain": "http://acme.us.auth0.com", "audience": "a"}}, "provider.domain must be a host name"),
    ({"provider": {"name": "keycloak", "serverURL": "https://s", "realm": "r", "tenant": "x"}}, 'provider: unknown member "tenant"'),
])
def test_provider_configuration_errors_say_what_to_fix(cfg, message):
    with pytest.raises(edgeauth.EdgeAuthError) as error:
        edgeauth.Verifier(cfg)
    assert error.value.status == edgeauth.ERR_CONFIG and message in error.value.message, error.value.message


def test_jwks_url_answering_an_error_fails_with_a_keys_error(jwks_server):
    started = time.monotonic()
    with pytest.raises(edgeauth.EdgeAuthError) as error:
        edgeauth.Verifier(config(keys=[{"jwksURL": jwks_server + "/missing.json"}]))
    assert error.value.status == edgeauth.ERR_KEYS
    assert "answered HTTP 404" in error.value.message
    assert time.monotonic() - started < 5


def test_verifiers_with_jwks_urls_are_created_from_many_threads_at_once(jwks_server):
    url = jwks_server + "/.well-known/jwks.json"

    def create(_: int) -> int:
        with edgeauth.Verifier(config(keys=[{"jwksURL": url}])) as v:
            return v.key_count

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(create, range(16))) == [10] * 16


# -- the shared cache ---------------------------------------------------------------


def test_shared_cache_serves_a_second_verification_and_other_processes(tmp_path):
    directory = str(tmp_path / "cache")
    token = bench_token("keycloak-ps256")
    with edgeauth.Verifier(config(cache={"directory": directory})) as v:
        assert v.cache_statistics() == {"hits": 0, "negative_hits": 0, "misses": 0, "stores": 0, "errors": 0, "l1_hits": 0}
        assert v.verify(token, now=NOW).valid
        assert v.verify(token, now=NOW).identity.email == "ada@edgeauth.test"
        stats = v.cache_statistics()
        # The repeat is served by the verifier's in-process L1, in front of the shared cache.
        assert (stats["misses"], stats["stores"], stats["hits"], stats["l1_hits"]) == (1, 1, 0, 1)
        # A cached verdict never outlives the token: after exp it is not served.
        assert v.verify(token, now=EXP + 30).verdict_name == "expired"
        assert v.cache_statistics()["l1_hits"] == 1

        # A second verifier of this process shares the open cache (and its counters), not the L1.
        with edgeauth.Verifier(config(cache={"directory": directory})) as w:
            assert w.verify(token, now=NOW).valid
            assert w.cache_statistics()["hits"] == 1
        with pytest.raises(edgeauth.EdgeAuthError) as error:
            edgeauth.Verifier(config(cache={"directory": directory, "maxTTL": 5}))
        assert error.value.status == edgeauth.ERR_CACHE and "other settings" in error.value.message

        # Another process finds the verdict this one stored.
        script = (
            "import json, sys, edgeauth\n"
            "v = edgeauth.Verifier(json.loads(sys.argv[1]))\n"
            "assert v.verify(open(sys.argv[2], 'rb').read(), now=int(sys.argv[3])).valid\n"
            "print(json.dumps(v.cache_statistics()))\n"
        )
        child = subprocess.run(
            [sys.executable, "-c", script, json.dumps(config(cache={"directory": directory})),
             str(BENCH / "tokens" / "keycloak-ps256.jwt"), str(NOW)],
            cwd=Path(__file__).parent, capture_output=True, text=True, check=True,
        )
        assert json.loads(child.stdout)["hits"] == 1, child.stdout + child.stderr
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


def test_revocation_reaches_other_processes(tmp_path):
    directory = str(tmp_path / "cache")
    token = bench_token("auth0-es256")
    cfg = config(cache={"directory": directory})
    script = (
        "import json, sys, edgeauth\n"
        "v = edgeauth.Verifier(json.loads(sys.argv[1]))\n"
        "print(v.verify(open(sys.argv[2], 'rb').read(), now=int(sys.argv[3])).verdict_name)\n"
    )

    def in_child():
        return subprocess.run(
            [sys.executable, "-c", script, json.dumps(cfg), str(BENCH / "tokens" / "auth0-es256.jwt"), str(NOW)],
            cwd=Path(__file__).parent, capture_output=True, text=True, check=True,
        ).stdout.strip()

    with edgeauth.Verifier(cfg) as v:
        assert v.verify(token, now=NOW).valid and v.verify(token, now=NOW).valid
        assert in_child() == "valid"
        v.revoke(token, until=EXP)
        assert v.verify(token, now=NOW).verdict_name == "revoked"
        assert in_child() == "revoked"
    with edgeauth.Verifier(config()) as uncached:
        with pytest.raises(edgeauth.EdgeAuthError) as error:
            uncached.revoke_token_id("anything", until=EXP)
        assert error.value.status == edgeauth.ERR_NOT_FOUND


def test_cache_is_used_when_every_key_is_an_hmac_secret(tmp_path):
    keys = [{"hmacSecretFile": str(BENCH / "keys" / "hmac.secret")}]
    with edgeauth.Verifier(config(keys=keys, cache={"directory": str(tmp_path / "c")})) as v:
        assert v.verify(bench_token("auth0-hs256"), now=NOW).valid
        assert v.verify(bench_token("auth0-hs256"), now=NOW).valid
        stats = v.cache_statistics()
        assert stats is not None and stats["l1_hits"] == 1 and stats["misses"] == 1


@pytest.mark.parametrize(
    "cache, message",
    [
        ({}, "cache.directory must be a non-empty string"),
        ({"directory": "/tmp/x", "size": 1}, 'cache: unknown member "size"'),
        ({"directory": "/tmp/x", "mapSizeBytes": 10}, "cache.mapSizeBytes must be between"),
    ],
)
def test_cache_configuration_errors(cache, message):
    with pytest.raises(edgeauth.EdgeAuthError) as error:
        edgeauth.Verifier(config(cache=cache))
    assert error.value.status == edgeauth.ERR_CONFIG and message in error.value.message


def test_cache_directory_that_cannot_be_created_is_a_cache_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(edgeauth.EdgeAuthError) as error:
        edgeauth.Verifier(config(cache={"directory": str(tmp_path / "file" / "cache")}))
    assert error.value.status == edgeauth.ERR_CACHE


# -- the raw C calls: NULLs and lengths -------------------------------------------


def test_null_pointers_and_out_of_range_arguments_are_statuses(verifier):
    lib = edgeauth.library()
    verdict, identity = ctypes.c_int32(-7), ctypes.c_void_p()
    token, length = edgeauth._buffer(bench_token("auth0-rs256"))
    assert lib.edgeauth_verify(None, token, length, NOW, ctypes.byref(verdict), None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verify(verifier._handle, token, length, NOW, None, None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verify(verifier._handle, None, 10, NOW, ctypes.byref(verdict), None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verify(verifier._handle, token, length, -1, ctypes.byref(verdict), None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verify(verifier._handle, token, length, 1 << 62, ctypes.byref(verdict), None) == edgeauth.ERR_INVALID_ARGUMENT
    assert verdict.value == -7, "a failed call leaves the verdict alone"
    # A NULL token of length 0 is the empty token.
    assert lib.edgeauth_verify(verifier._handle, None, 0, NOW, ctypes.byref(verdict), ctypes.byref(identity)) == edgeauth.OK
    assert edgeauth.verdict_name(verdict.value) == "malformed.segmentCount" and identity.value is None
    # A length far beyond the limit is rejected without reading the bytes (only 1 byte exists here).
    one = (ctypes.c_uint8 * 1)(65)
    for huge in (1 << 40, (1 << 63) + 5, (1 << 64) - 1):
        assert lib.edgeauth_verify(verifier._handle, one, huge, NOW, ctypes.byref(verdict), None) == edgeauth.OK
        assert edgeauth.verdict_name(verdict.value) == "tokenTooLarge"
    # Verifier creation.
    handle, error = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.edgeauth_verifier_new(None, 5, ctypes.byref(handle), ctypes.byref(error)) == edgeauth.ERR_INVALID_ARGUMENT
    assert edgeauth._take_string(error).startswith("config_json is NULL")
    assert lib.edgeauth_verifier_new(None, 0, None, None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verifier_new(one, (1 << 64) - 1, ctypes.byref(handle), None) == edgeauth.ERR_CONFIG
    assert handle.value is None
    # Identity accessors on NULL.
    assert lib.edgeauth_identity_subject(None, None) is None
    assert lib.edgeauth_identity_role_count(None) == 0
    assert lib.edgeauth_identity_role(None, 0, None) is None
    assert lib.edgeauth_identity_has_role(None, None, 0) is False
    out = ctypes.c_int64()
    assert lib.edgeauth_identity_expires_at(None, ctypes.byref(out)) == edgeauth.ERR_INVALID_ARGUMENT
    json_out = ctypes.c_void_p()
    assert lib.edgeauth_identity_claim_json(None, None, 0, ctypes.byref(json_out), None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_identity_json(None, ctypes.byref(json_out), None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verifier_key_count(None) == 0 and lib.edgeauth_verifier_warning(None, 0, None) is None
    value = ctypes.c_uint64()
    assert lib.edgeauth_verifier_cache_statistic(None, 1, ctypes.byref(value)) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verifier_cache_statistic(verifier._handle, 99, ctypes.byref(value)) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verifier_cache_statistic(verifier._handle, 1, None) == edgeauth.ERR_INVALID_ARGUMENT
    assert lib.edgeauth_verifier_cache_statistic(verifier._handle, 1, ctypes.byref(value)) == edgeauth.ERR_NOT_FOUND
    for free in (lib.edgeauth_identity_free, lib.edgeauth_verifier_free, lib.edgeauth_string_free):
        free(None)


def test_index_accessors_out_of_range(verifier):
    identity = verifier.verify(bench_token("auth0-rs256"), now=NOW).identity
    lib = edgeauth.library()
    assert lib.edgeauth_identity_permission(identity._handle, 3, None) is None
    assert lib.edgeauth_identity_permission(identity._handle, (1 << 64) - 1, None) is None
    assert lib.edgeauth_verifier_warning(verifier._handle, 0, None) is None


# -- threads --------------------------------------------------------------------------


def test_threads_share_one_verifier():
    names = [f"{shape}-{alg}" for shape in ("auth0", "keycloak") for alg in ALGORITHMS]
    tokens = {name: bench_token(name) for name in names}
    with edgeauth.Verifier(config()) as v:

        def work(offset: int) -> int:
            checked = 0
            for round_ in range(10):
                for i in range(len(names)):
                    name = names[(i + offset + round_) % len(names)]
                    result = v.verify(tokens[name], now=NOW)
                    assert result.valid, (name, result.verdict_name)
                    assert result.identity.expires_at == EXP
                    tampered = tokens[name][:-6] + (b"AAAAAA" if not tokens[name].endswith(b"AAAAAA") else b"BBBBBB")
                    assert not v.verify(tampered, now=NOW).valid
                    checked += 2
            return checked

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert sum(pool.map(work, range(8))) == 8 * 10 * len(names) * 2
