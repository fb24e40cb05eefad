"""The wall clock jumping forward and back under a running `edgeauth serve` (libfaketime, the
offset changed while it runs: conftest.FakeClock).

What the docs promise: tokens are judged at the server's time, with the leeway (30 s); a cached
verdict is kept until `min(exp, now + maxTTL)` (absolute seconds, docs/cache.md) and every hit,
in LMDB or in the per-process L1, re-checks `exp` with the leeway, "so a cached verdict never
outlives the token"; keys keep verifying until `maxStaleness` after their last download by the
clock, and are refreshed when due or after an unknown `kid` (keys.md).

The library's own checks with given times: SharedCacheTests ("a cached verdict never outlives
exp"), VerdictL1Tests ("an L1 hit re-checks the token's times", "… not served past the shared
entry's expiry"), KeyRefreshTests (ManualClock). Here the process's clock itself moves.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import FakeClock, Server, SigningKey, direct_config, jwks, wait_until

HOUR = 3600
NOT_YET_VALID = "the access token is not valid yet"
EXPIRED = "the access token has expired"
LAYERS = {"lmdb": 0, "l1": 4096}  # cache.l1Entries: 0 serves every hit from LMDB


def status(server: Server, token: str) -> tuple[int, str]:
    answer = server.protected(token)
    return answer.status, answer.json.get("error_description", "") if answer.status != 200 else ""


def cached_server(serve, fake_clock: FakeClock, tmp_path, layer: str, key: SigningKey) -> Server:
    (tmp_path / "jwks.json").write_bytes(jwks(key))
    config = direct_config([{"jwksFile": str(tmp_path / "jwks.json")}],
                           cache={"directory": str(tmp_path / "cache"), "l1Entries": LAYERS[layer]})
    # One worker: every hit comes from the layer chosen.
    return serve(config, workers=1, wrapper=fake_clock.wrapper)


def hits(server: Server, layer: str) -> float:
    return server.metric("edgeauth_cache_lookups_total", f'layer="{layer}"', 'result="hit"')


@pytest.mark.parametrize("layer", list(LAYERS))
def test_tokens_are_judged_at_the_jumped_to_time(serve, fake_clock: FakeClock, tmp_path, layer: str) -> None:
    key = SigningKey("k1")
    server = cached_server(serve, fake_clock, tmp_path, layer, key)
    now = int(time.time())
    short = key.token(now=now, lifetime=120)  # expires in 2 minutes
    medium = key.token(now=now, lifetime=600)  # in 10 minutes
    later = key.token(now=now + HOUR, nbf=now + HOUR, lifetime=HOUR)  # valid in an hour, for an hour

    assert status(server, short) == status(server, short) == (200, "")
    assert status(server, medium) == status(server, medium) == (200, "")
    assert status(server, later) == (401, NOT_YET_VALID)

    fake_clock.set(HOUR)  # forward: the cached verdicts of short and medium are not served past exp
    assert status(server, short) == (401, EXPIRED)
    assert status(server, medium) == (401, EXPIRED)
    assert status(server, later) == status(server, later) == (200, "")

    fake_clock.set(0)  # back: short and medium are valid again at this time, and are judged at it
    assert status(server, short) == (200, "")
    assert status(server, medium) == (200, "")

    fake_clock.set(300)  # past short's exp and the leeway, before medium's
    assert status(server, short) == (401, EXPIRED)
    assert status(server, medium) == (200, "")
    assert wait_until(lambda: hits(server, layer) >= 3, timeout=15), server.metrics()


@pytest.mark.parametrize("layer", list(LAYERS))
def test_a_cached_verdict_is_not_served_before_nbf_after_a_backward_jump(serve, fake_clock: FakeClock, tmp_path, layer: str) -> None:
    key = SigningKey("k1")
    server = cached_server(serve, fake_clock, tmp_path, layer, key)
    now = int(time.time())
    claims: dict[str, Any] = {"now": now + HOUR, "nbf": now + HOUR, "lifetime": HOUR}
    later = key.token(**claims)
    fake_clock.set(HOUR)
    assert status(server, later) == status(server, later) == (200, "")
    fake_clock.set(0)
    assert status(server, key.token(**claims)) == (401, NOT_YET_VALID), "the same claims, never cached"
    assert status(server, later) == (401, NOT_YET_VALID)


def remote_config(idp, tmp_path, **key_refresh: Any) -> dict[str, Any]:
    return direct_config([{"jwksURL": idp.url("/jwks")}], cache={"directory": str(tmp_path / "cache")},
                         key_refresh={"coolDown": 1, **key_refresh})


def test_a_forward_jump_past_max_staleness_is_repaired_by_a_refresh(serve, provider, fake_clock: FakeClock, tmp_path) -> None:
    """The keys' last download is suddenly older than maxStaleness: tokens get 503 at most until
    the refresh that is due by then has run, never 401 or anything else."""
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    server = serve(remote_config(idp, tmp_path, maxStaleness=600), workers=2, wrapper=fake_clock.wrapper)
    downloads = idp.count("/jwks")

    fake_clock.set(HOUR)
    seen = []

    def served() -> bool:
        answer = server.protected(key.token(now=fake_clock.now()))
        seen.append(answer.status)
        assert answer.status in (200, 503), answer
        return answer.status == 200

    assert wait_until(served, timeout=30, interval=0.2), seen
    assert idp.count("/jwks") > downloads
    state = wait_until(lambda: (s := server.readyz()).status == 200 and s.json, timeout=30)
    assert state and state["keySets"][0]["state"] == "fresh", server.readyz().json


def test_key_refresh_is_not_stuck_after_a_backward_jump(serve, provider, fake_clock: FakeClock, tmp_path) -> None:
    idp = provider()
    key, new = SigningKey("k1"), SigningKey("k2")
    idp.set("/jwks", jwks(key))
    server = serve(remote_config(idp, tmp_path), workers=2, wrapper=fake_clock.wrapper)

    fake_clock.set(HOUR)
    time.sleep(1.1)  # past the cool-down of the start-up download
    downloads = idp.count("/jwks")
    assert status(server, SigningKey("k-unknown").token(now=fake_clock.now()))[0] == 401
    assert idp.count("/jwks") > downloads, "a refresh was attempted an hour ahead"

    fake_clock.set(0)
    idp.set("/jwks", jwks(key, new))  # published after the clock stepped back
    assert wait_until(lambda: server.protected(new.token()).status == 200, timeout=8), \
        f"k2 still refused after {idp.count('/jwks')} downloads"
