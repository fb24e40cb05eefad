"""The identity provider lying: a discovery document for another issuer, a JWKS whose key under
a token's `kid` is of the wrong type for the token's `alg`, and, after a rotation, a JWKS that is
not JSON, too large or without a usable key.

What the docs promise: a discovery document must name the configured issuer exactly (keys.md),
and keys are needed to start ("start-up stops with status 2 … a worker that cannot load its keys
says why on standard error", server.md); a token is checked against exactly the key its `kid`
names, `keyAlgorithmMismatch` when that key cannot verify its `alg` (security.md); a failed
download, a bad document included, keeps the last good keys and is logged (keys.md).

Covered below the server: KeyLoaderTests (a discovery document for another issuer is refused),
AdversarialKeyTests (each key type against each other algorithm), KeyRefreshTests ("oversized,
malformed, non-JWKS and keyless documents fail the refresh; the last good keys stay").
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from conftest import Provider, Server, SigningKey, direct_config, jwks, wait_until

COOL_DOWN = 1
MAX_DOCUMENT_BYTES = 1024
START_TIMEOUT = 60.0
# A worker that crashes would spend some 10 s in Swift's backtracer on a loaded machine; without
# it the crash still shows, in its exit status (a signal number).
NO_BACKTRACE = {"SWIFT_BACKTRACE": "enable=no"}


def refused_start(server: Server) -> str:
    """Waits for a server that must not start; returns its standard error."""
    server.process.wait(START_TIMEOUT)
    return server.stderr()


def lying_discovery(idp: Provider) -> dict[str, Any]:
    """A custom provider whose discovery document names another issuer than the configured one."""
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    idp.set("/tenant/.well-known/openid-configuration",
            json.dumps({"issuer": idp.url("/other"), "jwks_uri": idp.url("/jwks")}).encode())
    return {"provider": {"name": "custom", "issuer": idp.url("/tenant"), "audience": "https://mcp.faults.test/mcp"},
            "keyRefresh": {"connectTimeout": 1, "fetchTimeout": 2}, "server": {"resource": "https://mcp.faults.test/mcp"}}


def test_discovery_document_for_another_issuer_is_refused_at_start(serve, provider) -> None:
    idp = provider()
    server = serve(lying_discovery(idp), workers=2, wait=False, env=NO_BACKTRACE)
    errors = refused_start(server)
    assert server.process.returncode == 2, errors[-3000:]
    assert server.stdout() == "", "never listening"
    expected = (f'discovery document {idp.url("/tenant/.well-known/openid-configuration")} names issuer '
                f'"{idp.url("/other")}", not "{idp.url("/tenant")}"')
    assert expected in errors, errors[-3000:]
    assert idp.count("/jwks") == 0, "the keys of a provider that is not the configured issuer are never fetched"
    assert server.log_lines(r"edgeauth\.supervisor: .*stopping: a worker could not start"), errors[-3000:]


@pytest.mark.parametrize("fault", ["discovery for another issuer", "JWKS URL refusing connections"])
def test_a_worker_that_cannot_load_its_keys_says_why_and_exits(serve, provider, fault: str) -> None:
    idp = provider()
    if fault == "discovery for another issuer":
        config = lying_discovery(idp)
        message = f"error: OIDC discovery for {idp.url('/tenant')}: discovery document"
    else:
        config = direct_config([{"jwksURL": idp.url("/jwks")}], key_refresh={"connectTimeout": 1})
        idp.down()
        message = f"error: JWKS URL {idp.url('/jwks')} could not be fetched"
    server = serve(config, workers=1, wait=False, env=NO_BACKTRACE)
    errors = refused_start(server)
    assert server.process.returncode == 2
    assert "Program crashed" not in errors and "could not start (status 4)" not in errors, \
        "\n".join(server.worker_exits() + [line for line in errors.splitlines() if "crashed" in line])
    assert message in errors and "could not start (status 2)" in errors, errors[-3000:]


def test_key_of_the_wrong_type_for_the_tokens_algorithm(serve, provider, tmp_path) -> None:
    """The JWKS publishes an RSA key under the kid an ES256 token names."""
    idp = provider()
    ec_key, rsa_key = SigningKey("k1"), SigningKey("rsa", "RSA")
    idp.set("/jwks", jwks(ec_key, rsa_key.jwk(kid="k2")))
    config = direct_config([{"jwksURL": idp.url("/jwks")}], cache={"directory": str(tmp_path / "cache")},
                           key_refresh={"coolDown": COOL_DOWN})
    server = serve(config, workers=2, log_level="debug")
    downloads = idp.count("/jwks")
    time.sleep(COOL_DOWN + 0.1)  # an unknown kid now would refresh: this one must not

    confused = SigningKey("k2").token()  # ES256, kid k2: the RSA key's
    ids = []
    for _ in range(3):
        answer = server.protected(confused)
        assert answer.status == 401, answer
        assert answer.json == {"error": "invalid_token", "error_description": "the access token is not valid"}
        ids.append(answer.headers["x-request-id"])
    for request_id in ids:
        assert server.log_lines(rf"reason=keyAlgorithmMismatch request_id={request_id} "), server.stderr()[-3000:]
    # Each worker's series reach /metrics within its 2 s snapshot interval.
    assert wait_until(lambda: server.metric("edgeauth_verdicts_total", 'verdict="keyAlgorithmMismatch"') == 3, timeout=15), \
        server.metrics()
    assert idp.count("/jwks") == downloads, "a key of the wrong type is not an unknown key: no refresh"
    # The key itself is fine for its own algorithm, and the other keys are unaffected.
    assert server.protected(rsa_key.token(kid="k2")).status == 200
    assert server.protected(ec_key.token()).status == 200


BROKEN_DOCUMENTS = {
    "not JSON": (b"<html><body>Service temporarily unavailable</body></html>", "JWKS is not valid JSON"),
    "too large": (None, f"response larger than {MAX_DOCUMENT_BYTES} bytes"),
    "no usable key": (None, "has no usable key"),
}


@pytest.mark.parametrize("fault", list(BROKEN_DOCUMENTS))
def test_a_broken_document_after_a_rotation_keeps_the_old_keys(serve, provider, tmp_path, fault: str) -> None:
    idp = provider()
    old, new = SigningKey("k1"), SigningKey("k2")
    idp.set("/jwks", jwks(old))
    config = direct_config([{"jwksURL": idp.url("/jwks")}], cache={"directory": str(tmp_path / "cache")},
                           key_refresh={"coolDown": COOL_DOWN, "maxDocumentBytes": MAX_DOCUMENT_BYTES})
    server = serve(config, workers=2)

    body, error = BROKEN_DOCUMENTS[fault]
    if fault == "too large":
        body = json.dumps({"keys": [old.jwk(), new.jwk()], "padding": "x" * MAX_DOCUMENT_BYTES}).encode()
    elif fault == "no usable key":
        # The rotated set as a provider that lies about `use` would publish it: nothing to verify with.
        body = json.dumps({"keys": [{**old.jwk(), "use": "enc"}, {**new.jwk(), "use": "enc"}]}).encode()
    idp.set("/jwks", body)
    time.sleep(COOL_DOWN + 0.1)

    downloads = idp.count("/jwks")
    answer = server.protected(new.token())  # asks for a refresh: it fails
    assert answer.status == 401 and answer.json["error"] == "invalid_token", answer
    assert idp.count("/jwks") > downloads
    for _ in range(10):
        assert server.protected(old.token()).status == 200
    state = server.readyz()
    assert state.status == 200 and state.json["status"] == "ready" and state.json["keys"] == 1, state.json
    failures = server.log_lines(r"edgeauth\.keys: .*key refresh failed; using the last good keys")
    assert failures and all(error in line for line in failures), (error, failures)
    assert wait_until(lambda: server.metric("edgeauth_key_fetches_total", 'result="failure"') >= 1, timeout=15), server.metrics()

    # The provider publishes a good document again: the next refresh takes it.
    idp.set("/jwks", jwks(old, new))
    assert wait_until(lambda: server.protected(new.token()).status == 200, timeout=30), server.stderr()[-3000:]
    assert server.protected(old.token()).status == 200
