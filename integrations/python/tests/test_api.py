"""The typed API against libedgeauth, with the bench-data tokens and configuration the C
examples use (verified at NOW) and tokens signed here with the bench-data keys."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.resources
import json
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import edgeauth
from edgeauth import EdgeAuthError, Identity, Rejected, Status, Verifier

from conftest import (
    ALGORITHMS, AUDIENCE, AUTH0, BENCH, EXP, HEADER, KEYCLOAK, NOW, bench_config, bench_token, claims, es256, hs256,
)


def header_defines(prefix: str) -> dict[str, int]:
    text = HEADER.read_text()
    return {name: int(value) for name, value in re.findall(rf"#define ({prefix}\w*) \(?(-?\d+)\)?\s*$", text, re.M)}


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    with Verifier(bench_config()) as v:
        yield v


# -- the library ----------------------------------------------------------------


def test_version_and_codes_match_the_header():
    defines = header_defines("EDGEAUTH_VERSION_")
    assert edgeauth.version() == "{}.{}.{}".format(
        defines["EDGEAUTH_VERSION_MAJOR"], defines["EDGEAUTH_VERSION_MINOR"], defines["EDGEAUTH_VERSION_PATCH"])
    statuses = header_defines("EDGEAUTH_ERR_") | header_defines("EDGEAUTH_OK")
    assert {f"EDGEAUTH_ERR_{status.name}" if status else "EDGEAUTH_OK": int(status) for status in Status} == statuses
    verdicts = header_defines("EDGEAUTH_VERDICT_")
    assert edgeauth.VERDICT_VALID == verdicts["EDGEAUTH_VERDICT_VALID"]
    names = {edgeauth.reason_code(code) for code in verdicts.values()}
    assert len(names) == len(verdicts) and "unknown" not in names
    assert edgeauth.reason_code(verdicts["EDGEAUTH_VERDICT_MALFORMED_SEGMENT_COUNT"]) == "malformed.segmentCount"
    assert edgeauth.reason_code(9999) == "unknown"


def test_find_library_order(monkeypatch, tmp_path):
    installed = edgeauth.find_library()
    monkeypatch.setenv("EDGEAUTH_LIBRARY", "/somewhere/libedgeauth.so")
    assert edgeauth.find_library() == "/somewhere/libedgeauth.so"
    monkeypatch.delenv("EDGEAUTH_LIBRARY")
    monkeypatch.setattr("ctypes.util.find_library", lambda name: "libedgeauth.so.0" if name == "edgeauth" else None)
    assert edgeauth.find_library() == "libedgeauth.so.0"
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    # pkg-config: the prefix the library under test was installed into.
    prefix = Path(installed).resolve().parent
    if (prefix / "pkgconfig" / "edgeauth.pc").exists():
        monkeypatch.setenv("PKG_CONFIG_PATH", str(prefix / "pkgconfig"))
        assert Path(edgeauth.find_library()).resolve() == Path(installed).resolve()
    monkeypatch.setenv("PKG_CONFIG_PATH", str(tmp_path))
    monkeypatch.setenv("PKG_CONFIG_LIBDIR", str(tmp_path))
    with pytest.raises(OSError, match="EDGEAUTH_LIBRARY"):
        edgeauth.find_library()


def test_importing_the_package_needs_no_framework_and_no_library():
    code = (
        "import os, sys; os.environ.pop('EDGEAUTH_LIBRARY', None); import edgeauth; "
        "assert not {'mcp', 'fastmcp', 'starlette', 'pydantic'} & set(sys.modules), sorted(sys.modules); "
        "assert edgeauth._native._library is None"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_the_package_is_typed():
    assert importlib.resources.files("edgeauth").joinpath("py.typed").is_file()


# -- valid tokens ---------------------------------------------------------------


@pytest.mark.parametrize("name", [f"{shape}-{alg}" for shape in ("auth0", "keycloak") for alg in ALGORITHMS])
def test_bench_tokens_verify(verifier, name):
    identity = verifier.verify(bench_token(name), now=NOW)
    assert identity.issuer == (AUTH0 if name.startswith("auth0") else KEYCLOAK)
    assert (identity.issued_at, identity.expires_at) == (1764000000, EXP)
    assert verifier.is_valid(bench_token(name), now=NOW)


def test_keycloak_identity(verifier):
    identity = verifier.verify(bench_token("keycloak-es256").encode(), now=NOW)
    assert identity.subject == "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8"
    assert (identity.email, identity.name, identity.username) == ("ada@edgeauth.test", "Ada Lovelace", "ada")
    assert identity.client_id == "mcp-client"
    assert identity.audience == (AUDIENCE,)
    assert identity.scopes == ("openid", "email")
    assert identity.has_scope("email") and not identity.has_scope("profile")
    assert identity.roles == () and identity.permissions == ()
    assert identity.picture is None and identity.organization is None and identity.token_id is None
    assert identity.claim_at("/realm_access/roles") == ["user"]
    assert identity.claim_at("/resource_access/mcp-api/roles/0") == "invoke"
    assert identity.claim_at("/resource_access/mcp-api/roles/01") is None
    assert identity.claim_at("/realm_access/groups", "none") == "none"
    assert identity.claim("realm_access") == {"roles": ["user"]}
    assert identity.claim("typ") == "Bearer"
    assert identity.claim("missing") is None
    assert identity.claim_at("")["sub"] == identity.subject


def test_auth0_identity(verifier):
    identity = verifier.verify(bench_token("auth0-rs256"), now=NOW)
    assert identity.subject == "auth0|6651f0c2a5b8e3d4f7a90b12"
    assert identity.permissions == ("call:tools", "read:resources", "read:tools")
    assert identity.has_permission("read:tools") and not identity.has_permission("write:tools")
    assert identity.scopes == ("openid", "profile", "email", "read:tools", "call:tools")
    assert identity.has_scopes("read:tools", "call:tools") and not identity.has_scopes("read:tools", "admin")
    assert identity.client_id == "q7bKd2LmN9pRs4TvW8yZa1Bc3De5FgHj"
    assert identity.audience == (AUDIENCE, "https://edgeauth-bench.us.auth0.com/userinfo")
    assert identity.claim("https://edgeauth.test/roles") == ["admin", "operator"]
    assert identity.claim("gty") == "password"


def test_roles_and_optional_values_of_a_generated_token(verifier):
    token = es256(claims(roles=["admin", "editor"], org_id="org_42", jti="t-1", picture="https://p.example/a.png",
                         client_id="cli", azp="ignored-when-client-id-is-present", nested={"a": [1, None, True]}))
    identity = verifier.verify(token, now=NOW)
    assert identity.roles == ("admin", "editor")
    assert identity.has_role("editor") and not identity.has_role("Editor") and not identity.has_role("edit")
    assert (identity.organization, identity.token_id, identity.client_id) == ("org_42", "t-1", "cli")
    assert identity.picture == "https://p.example/a.png"
    assert identity.claim("nested") == {"a": [1, None, True]}


def test_strings_keep_non_ascii_text_and_embedded_nul(verifier):
    identity = verifier.verify(hs256(claims(sub="a\u0000b", name="Zoë Ωmega ✓", scope="read  write", roles=["r\u0000", "ü"])), now=NOW)
    assert identity.subject == "a\u0000b"
    assert identity.name == "Zoë Ωmega ✓"
    assert identity.scopes == ("read", "write")
    assert identity.has_role("r\u0000") and not identity.has_role("r")


def test_identity_is_an_immutable_value_that_outlives_its_verifier():
    v = Verifier(bench_config())
    identity = v.verify(bench_token("auth0-es256"), now=NOW)
    v.close()
    assert identity.subject == "auth0|6651f0c2a5b8e3d4f7a90b12"
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.subject = "someone else"  # type: ignore[misc]
    document = identity.to_dict()
    assert json.loads(json.dumps(document))["permissions"] == ["call:tools", "read:resources", "read:tools"]
    assert document["claims"]["gty"] == "password"
    assert identity == Identity(**{f.name: getattr(identity, f.name) for f in dataclasses.fields(Identity)})


def test_a_token_without_exp_when_the_policy_allows_it():
    with Verifier(bench_config(requireExpiration=False)) as v:
        identity = v.verify(hs256(claims(exp=None)), now=NOW)
        assert identity.expires_at is None and identity.issued_at == NOW - 60


# -- rejections -------------------------------------------------------------------


@pytest.mark.parametrize(
    "token, now, expected",
    [
        (lambda: bench_token("auth0-rs256"), EXP + 30, "expired"),
        (lambda: bench_token("auth0-rs256"), None, "expired"),  # the clock: long after EXP
        (lambda: hs256(claims(nbf=NOW + 120)), NOW, "notYetValid"),
        (lambda: hs256(claims(iat=NOW + 120)), NOW, "issuedInFuture"),
        (lambda: hs256(claims(aud="https://other.example")), NOW, "wrongAudience"),
        (lambda: hs256(claims(iss="https://evil.example/")), NOW, "wrongIssuer"),
        (lambda: hs256(claims(exp=None)), NOW, "missingClaim"),
        (lambda: hs256(claims(exp="soon")), NOW, "invalidClaim"),
        (lambda: hs256(claims(), {"kid": "nobody"}), NOW, "unknownKey"),
        (lambda: bench_token("auth0-es256")[:-4] + "AAAA", NOW, "badSignature"),
        (lambda: "", NOW, "malformed.segmentCount"),
        (lambda: "eyJhbGciOiJIUzI1NiJ9.e30.", NOW, "malformed.emptySegment"),
        (lambda: "eyJhbGciOiJub25lIn0.e30.", NOW, "unsecured"),
        (lambda: b"\xff\xfe.\x00\x01.\x80", NOW, "malformed.base64Alphabet"),
        (lambda: "Bearer " + bench_token("auth0-rs256"), NOW, "malformed.whitespace"),
        (lambda: "A" * (1 << 20), NOW, "tokenTooLarge"),
    ],
)
def test_rejections_carry_the_reason_code_of_the_c_abi(verifier, token, now, expected):
    with pytest.raises(Rejected) as caught:
        verifier.verify(token(), now=now)
    rejected = caught.value
    assert rejected.reason_code == expected
    assert rejected.reason_code == edgeauth.reason_code(rejected.verdict)
    assert rejected.description == edgeauth.reason_description(rejected.verdict) != ""
    assert rejected.malformed == expected.startswith("malformed.")
    assert str(rejected).startswith(expected + ": ")
    assert not verifier.is_valid(token(), now=now)


def test_explain_names_the_values_involved(verifier):
    text = verifier.explain(hs256(claims(aud="account")), now=NOW)
    assert text == 'wrongAudience: aud is ["account"], expected one of ["https://api.edgeauth.test"]'
    assert verifier.explain(bench_token("auth0-rs256"), now=NOW) == "valid"


def test_now_out_of_range_is_refused_before_the_call(verifier):
    with pytest.raises(ValueError):
        verifier.verify(bench_token("auth0-rs256"), now=-1)
    with pytest.raises(ValueError):
        verifier.verify(bench_token("auth0-rs256"), now=253402300800)


# -- configuration ----------------------------------------------------------------


def test_configuration_as_mapping_json_text_bytes_and_path(tmp_path):
    document = json.dumps(bench_config())
    path = tmp_path / "edgeauth.json"
    path.write_text(document)
    for config in (bench_config(), document, document.encode(), path, str(path), "  " + document):
        with Verifier(config) as v:
            assert v.verify(bench_token("keycloak-rs256"), now=NOW).subject
            assert v.key_count == 11  # 10 public keys + the HMAC secret


@pytest.mark.parametrize(
    "config, status, message",
    [
        ("{", Status.CONFIG, "not valid JSON"),
        (bench_config(audiences=None), Status.CONFIG, "give audiences"),
        (bench_config(audience=["x"]), Status.CONFIG, 'unknown member "audience"'),
        (bench_config(leeway=3600), Status.CONFIG, "leeway must be between 0 and 600"),
        (bench_config(keys=[{"jwksFile": "/nonexistent/jwks.json"}]), Status.KEYS, "cannot read /nonexistent/jwks.json"),
        (bench_config(keys=[{"hmacSecretEnv": "EDGEAUTH_TEST_UNSET_VARIABLE"}]), Status.KEYS, "is not set"),
    ],
)
def test_configuration_errors(config, status, message):
    with pytest.raises(EdgeAuthError) as caught:
        Verifier(config)
    assert caught.value.status == status
    assert message in caught.value.message
    assert caught.value.status_name in str(caught.value)


def test_a_missing_configuration_file():
    with pytest.raises(FileNotFoundError):
        Verifier("/nonexistent/edgeauth.json")


def test_skipped_keys_are_warnings():
    jwks = json.loads((BENCH / "jwks.json").read_text())
    jwks["keys"].append({"kty": "oct", "k": "c2VjcmV0", "use": "enc"})
    with Verifier(bench_config(keys=[{"jwks": jwks}])) as v:
        assert len(v.warnings) == 1
        assert v.key_count == 10


# -- cache, statistics, revocation ------------------------------------------------


def test_statistics_without_a_cache(verifier):
    assert verifier.cache_statistics() is None
    statistics = verifier.key_statistics()
    assert statistics == edgeauth.KeyStatistics(0, 0, 0, 0, 0, 0)
    assert not verifier.has_remote_keys


def test_cache_statistics_and_revocation(tmp_path):
    with Verifier(bench_config(cache={"directory": str(tmp_path / "cache")})) as v:
        token = bench_token("keycloak-es256")
        before = v.cache_statistics()
        assert before is not None and before.hits + before.l1_hits == 0
        for _ in range(3):
            assert v.verify(token, now=NOW).username == "ada"
        after = v.cache_statistics()
        assert after.stores >= 1
        assert after.hits + after.l1_hits >= 2
        v.revoke(token, until=EXP)
        with pytest.raises(Rejected) as caught:
            v.verify(token, now=NOW)
        assert caught.value.reason_code == "revoked"
        jti_token = hs256(claims(jti="session-7"))
        assert v.verify(jti_token, now=NOW).token_id == "session-7"
        v.revoke_token_id("session-7", until=EXP)
        with pytest.raises(Rejected, match="revoked"):
            v.verify(jti_token, now=NOW)


def test_revocation_needs_a_cache(verifier):
    with pytest.raises(EdgeAuthError) as caught:
        verifier.revoke(bench_token("auth0-rs256"), until=EXP)
    assert caught.value.status == Status.NOT_FOUND


# -- threads and lifetime -----------------------------------------------------------


def test_one_verifier_serves_many_threads(verifier):
    names = [f"{shape}-{alg}" for shape in ("auth0", "keycloak") for alg in ALGORITHMS]
    expected = {name: verifier.verify(bench_token(name), now=NOW) for name in names}

    def work(index: int) -> None:
        for name in names[index % 3:] + names[: index % 3]:
            assert verifier.verify(bench_token(name), now=NOW) == expected[name]
            with pytest.raises(Rejected):
                verifier.verify(bench_token(name)[:-2] + "xx", now=NOW)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(16)))


def test_close_is_idempotent_and_later_calls_raise():
    v = Verifier(bench_config())
    v.close()
    v.close()
    assert v.closed
    with pytest.raises(ValueError, match="closed"):
        v.verify(bench_token("auth0-rs256"), now=NOW)
    with pytest.raises(ValueError):
        v.cache_statistics()


def test_close_while_other_threads_verify():
    v = Verifier(bench_config())
    token = bench_token("auth0-es256")
    started = threading.Event()
    outcomes: list[str] = []

    def work() -> None:
        started.set()
        while True:
            try:
                v.verify(token, now=NOW)
            except ValueError:
                outcomes.append("closed")
                return

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    v.close()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == ["closed"] * 4


def test_verify_async_inline_and_in_a_thread(verifier):
    async def main() -> tuple[Identity, Identity]:
        inline = await verifier.verify_async(bench_token("keycloak-hs256"), now=NOW)
        threaded = await verifier.verify_async(bench_token("keycloak-hs256"), now=NOW, offload=True)
        with pytest.raises(Rejected):
            await verifier.verify_async("x.y.z", offload=True)
        return inline, threaded

    inline, threaded = asyncio.run(main())
    assert inline == threaded and inline.username == "ada"
