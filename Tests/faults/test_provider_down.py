"""The identity provider down (connections refused) after the keys were loaded.

What docs/keys.md promises ("Provider outage"): the last good keys keep verifying until
`keyRefresh.maxStaleness` after their last successful download, a failed refresh is retried
after the cool-down and logged as a warning each time, past maxStaleness every token is
refused with 503 `temporarily_unavailable` (`keysUnavailable`), and the first successful
refresh restores the keys. A token naming an unknown `kid` meanwhile is 401 (`unknownKey`):
the refresh it starts fails, and within the cool-down it is refused at once.

The library-level behaviour (a provider answering HTTP 503, a manual clock) is in
KeyRefreshTests ("provider down: …") and HandlerPathTests (503 past maxStaleness over HTTP);
here it is the real server, a provider that refuses connections, /readyz and the log.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from conftest import Provider, Server, SigningKey, direct_config, jwks, ready, wait_until

COOL_DOWN = 1
CONNECT_TIMEOUT = 1
FETCH_TIMEOUT = 2
# What a request with an unknown kid may wait for while the provider refuses connections:
# its own worker's attempt (AsyncHTTPClient retries a refused connection until the connect
# timeout), or the other worker's claim on the fetch (`abandonAfter`, keys.md), plus a
# generous margin for a loaded machine.
UNKNOWN_KID_BOUND = CONNECT_TIMEOUT + FETCH_TIMEOUT + CONNECT_TIMEOUT + 2 + 15
REFUSED = "the authorization server's keys are unavailable; retry later"
REFRESH_FAILED = r"edgeauth\.keys: .*key refresh failed; using the last good keys"
KEYS_UNAVAILABLE = r"edgeauth\.http: .*token refused: the provider's keys are unavailable"


def outage_config(provider: Provider, cache: Any, *, max_staleness: int, lifetime: int = 1) -> dict[str, Any]:
    """Keys from `provider`'s /jwks, refreshed every `lifetime` seconds (4/5 of it, at least 1 s)
    and retried every COOL_DOWN while failing."""
    return direct_config(
        [{"jwksURL": provider.url("/jwks")}],
        cache=None if cache is None else {"directory": str(cache)},
        key_refresh={"coolDown": COOL_DOWN, "connectTimeout": CONNECT_TIMEOUT, "fetchTimeout": FETCH_TIMEOUT,
                     "maxStaleness": max_staleness, "defaultLifetime": lifetime, "minimumLifetime": lifetime,
                     "maximumLifetime": lifetime},
    )


def key_set(server: Server) -> dict[str, Any]:
    answer = server.readyz()
    body = answer.json
    assert len(body["keySets"]) == 1, body
    return {"http": answer.status, **body, **body["keySets"][0]}


def test_cached_keys_verify_while_the_provider_refuses_connections(serve, provider, tmp_path) -> None:
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    server = serve(outage_config(idp, tmp_path / "cache", max_staleness=3600), workers=2)
    started = time.monotonic()
    idp.down()

    for _ in range(40):
        answer = server.protected(key.token())
        assert answer.status == 200, answer
        assert answer.json["id"] == "alice"

    # The set is past its 1 s lifetime and its refreshes fail: degraded (stale), still ready.
    state = wait_until(lambda: (s := key_set(server))["state"] == "stale" and s, timeout=30)
    assert state, key_set(server)
    assert state["http"] == 200 and state["status"] == "ready" and state["keys"] == 1

    # A kid the set does not have: the refresh it asks for fails, so it is unknown (401).
    stranger = SigningKey("k-new")
    for _ in range(10):
        answer = server.protected(stranger.token())
        assert answer.status == 401, answer
        assert answer.json == {"error": "invalid_token", "error_description": "the access token is not valid"}
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        assert answer.seconds < UNKNOWN_KID_BOUND, f"an unknown kid waited {answer.seconds:.1f} s"
    # The known keys are unaffected by those refreshes.
    assert server.protected(key.token()).status == 200

    # Each failed download is logged once, as a warning naming the source and the error: no
    # line per request. Downloads are at most one per cool-down for the host (shared through
    # the cache), each worker's first one at most aside.
    elapsed = time.monotonic() - started
    failures = server.log_lines(REFRESH_FAILED)
    assert failures, server.stderr()
    # A refresh that was under way when the provider went down ends with a reset, or a close,
    # instead.
    ended = ("Connection refused", "Connection reset by peer", "HTTPClientError.remoteConnectionClosed")
    assert all(any(text in line for text in ended) and f"source=JWKS URL {idp.url('/jwks')}" in line for line in failures), failures
    assert len(failures) <= math.ceil(elapsed / COOL_DOWN) + 2, (elapsed, failures)
    assert len(failures) < 51, "fewer lines than requests"
    assert not server.log_lines(KEYS_UNAVAILABLE), "no token was refused for unavailable keys"
    # Each worker's series reach /metrics within its 2 s snapshot interval.
    assert wait_until(lambda: server.metric("edgeauth_key_fetches_total", 'result="failure"') >= 1, timeout=15), server.metrics()


def test_keys_past_max_staleness_get_503_and_come_back_with_the_provider(serve, provider, tmp_path) -> None:
    max_staleness = 3
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    server = serve(outage_config(idp, tmp_path / "cache", max_staleness=max_staleness), workers=2)
    idp.down()
    # The last successful download started before the provider went down; its keys are dropped
    # maxStaleness seconds after it (whole seconds of the wall clock).
    down_at = time.time()
    while time.time() < math.floor(down_at) + max_staleness + 1:
        time.sleep(0.1)

    refused = []
    for token in [key.token() for _ in range(10)] + [SigningKey("k-new").token()]:
        answer = server.protected(token)
        assert answer.status == 503, answer
        assert answer.json == {"error": "temporarily_unavailable", "error_description": REFUSED}
        assert answer.headers["retry-after"] == "30"
        assert answer.headers["cache-control"] == "no-store"
        refused.append(answer.headers["x-request-id"])

    state = key_set(server)
    assert state["http"] == 503 and state["status"] == "not ready", state
    assert state["state"] == "unavailable" and state["keys"] == 0, state

    # Documented (docs/security.md, "Logs"): each refused token is one warning line with its
    # request id, and no token.
    lines = server.log_lines(KEYS_UNAVAILABLE)
    for request_id in refused:
        assert sum(f"request_id={request_id} " in line for line in lines) == 1, (request_id, lines)
    assert len(lines) == len(refused), lines

    # The provider comes back: the next refresh (one cool-down after the last failure) restores the keys.
    idp.up()
    assert wait_until(lambda: server.protected(key.token()).status == 200, timeout=30), server.stderr()
    # With a lifetime of 1 s the keys are fresh for about a second after each refresh and
    # stale until the next one ends: a single look can land in that gap, so look until fresh.
    state = wait_until(lambda: (s := key_set(server))["http"] == 200 and s["state"] == "fresh" and s, timeout=30)
    assert state and state["status"] == "ready", key_set(server)


def test_max_staleness_shorter_than_the_key_lifetime_with_the_provider_up(serve, provider, tmp_path) -> None:
    """maxStaleness 3 s, the provider's `Cache-Control: max-age=60`: the keys' first refresh is
    due at 48 s. Either such a configuration is refused at start, naming maxStaleness, or the
    keys stay usable while the provider answers."""
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    idp.routes["/jwks"].headers["Cache-Control"] = "max-age=60"
    config = direct_config([{"jwksURL": idp.url("/jwks")}], key_refresh={"coolDown": COOL_DOWN, "maxStaleness": 3})
    server = serve(config, wait=False)
    started = wait_until(lambda: server.stdout() or not server.alive(), timeout=60)
    assert started, server.stderr()
    if not server.alive():
        assert server.process.returncode == 2 and "maxStaleness" in server.stderr(), server.stderr()
        return
    ready(server)
    ready_at = time.time()
    while time.time() < math.floor(ready_at) + 3 + 2:
        time.sleep(0.1)
    answer = server.protected(key.token())
    assert answer.status == 200, f"{answer.status} {answer.body!r} with the provider up ({idp.count('/jwks')} downloads)"
    assert key_set(server)["http"] == 200


def test_worker_restarted_during_the_outage_adopts_the_stored_keys(serve, provider, tmp_path) -> None:
    """With a cache, a worker started while the provider is down takes the last good document
    from the cache's key-sets table instead of downloading it."""
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    server = serve(outage_config(idp, tmp_path / "cache", max_staleness=3600), workers=2)
    idp.down()
    victim = server.kill_worker()

    def replacement_serves() -> bool:
        answer = server.protected(key.token())
        assert answer.status == 200, answer
        pids = server.worker_pids() - {victim}
        text = server.metrics()
        return len(pids) == 2 and all(server.metric("edgeauth_verdicts_total", f'worker="{pid}"', 'verdict="valid"', text=text) > 0
                                      for pid in pids)

    assert wait_until(replacement_serves, timeout=30), server.stderr()
    assert len(server.worker_exits()) == 1, server.worker_exits()
    assert server.alive()


def test_worker_restarted_during_the_outage_without_a_cache(serve, provider, tmp_path) -> None:
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    server = serve(outage_config(idp, None, max_staleness=3600), workers=2, env={"SWIFT_BACKTRACE": "enable=no"})
    idp.down()
    victim = server.kill_worker()
    # Long enough for a replacement that cannot load its keys to give up (a connect timeout).
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = server.protected(key.token())
        assert answer.status == 200, answer
        others = [line for line in server.worker_exits() if f"worker {victim} " not in line]
        assert not others, f"the replacement worker exited too: {server.worker_exits()}"
        assert server.alive()
        time.sleep(0.5)
