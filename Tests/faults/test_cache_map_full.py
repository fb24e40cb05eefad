"""The verdict cache's LMDB map full.

What docs/cache.md promises: a store that does not fit is skipped (`skippedStores`,
`edgeauth_cache_skipped_stores_total`), the token is verified in full the next time, a
maintenance pass is asked to make room, "a verification never fails because of the cache", and
`/readyz` does not depend on the cache.

Distinct tokens alone do not get there: background eviction keeps a map of any size below its
80 % mark (CacheAtCapacityTests: 6 000 tokens through a 1 MiB map, every one answered, eviction
and fill in /metrics; SharedCacheTests "verification never fails because the map is full" with a
64 KiB map on the library). What eviction cannot remove is the provider's key-set document, which
the cache keeps for every process (keys.md, "One fetch for every process"): here a JWKS of almost
1 MiB, allowed by `keyRefresh.maxDocumentBytes`, takes nearly all of the smallest map
(`cache.mapSizeBytes`, 1 MiB), so verdict stores find it full.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from conftest import Server, answers, SigningKey, direct_config, forged, ready, wait_until

MAP_BYTES = 1048576  # the smallest map cache.mapSizeBytes allows
PADDING = 1_000_000  # the key-set document's size, near the map's


def test_a_full_map_skips_stores_and_every_request_is_still_answered(serve, provider, tmp_path) -> None:
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", json.dumps({"keys": [key.jwk()], "padding": "x" * PADDING}).encode())
    config = direct_config([{"jwksURL": idp.url("/jwks")}],
                           cache={"directory": str(tmp_path / "cache"), "mapSizeBytes": MAP_BYTES, "l1Entries": 0},
                           key_refresh={"maxDocumentBytes": 2 * MAP_BYTES})
    server = serve(config, workers=2)

    def batch(count: int) -> list[tuple[str, int]]:
        """Distinct valid tokens, every fifth one with a forged signature (a cacheable rejection)."""
        tokens = [key.token() for _ in range(count)]
        return [(forged(token), 401) if index % 5 == 0 else (token, 200) for index, token in enumerate(tokens)]

    first = batch(500)
    counts = answers(server, first)
    assert counts == Counter({(200, 200): 400, (401, 401): 100}), counts
    # Each worker's series reach /metrics within its 2 s snapshot interval.
    assert wait_until(lambda: server.metric("edgeauth_cache_skipped_stores_total") >= 250, timeout=15), server.metrics()
    skipped = server.metric("edgeauth_cache_skipped_stores_total")

    # The same tokens again, and new ones: still right, and more stores skipped.
    counts = answers(server, first + batch(250))
    assert counts == Counter({(200, 200): 600, (401, 401): 150}), counts
    assert wait_until(lambda: server.metric("edgeauth_cache_skipped_stores_total") >= skipped + 150, timeout=15), server.metrics()

    text = server.metrics()
    assert server.metric("edgeauth_cache_map_fill_ratio", text=text) / 2 > 0.9, text  # a gauge per worker
    assert server.metric("edgeauth_http_requests_total", 'status="5', text=text) == 0, "nothing 5xx"
    assert server.metric("edgeauth_cache_lookups_total", 'layer="lmdb"', 'result="error"', text=text) == 0, text
    state = server.readyz()
    assert state.status == 200 and state.json["status"] == "ready" and state.json["cache"] is True, state.json
    # A full map is not a cache error: nothing in the log about it.
    assert not server.log_lines(r"edgeauth\.cache: "), server.log_lines(r"edgeauth\.cache: ")
    assert server.alive() and not server.worker_exits()


def test_a_key_set_document_larger_than_the_map_does_not_hold_up_the_other_workers(serve, provider, tmp_path) -> None:
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", json.dumps({"keys": [key.jwk()], "padding": "x" * (MAP_BYTES + 50_000)}).encode())
    fetch_timeout = 20  # a claim is abandoned after 20 + 1 + 2 s
    config = direct_config([{"jwksURL": idp.url("/jwks")}],
                           cache={"directory": str(tmp_path / "cache"), "mapSizeBytes": MAP_BYTES},
                           key_refresh={"maxDocumentBytes": 2 * MAP_BYTES, "fetchTimeout": fetch_timeout, "connectTimeout": 1})
    started = time.monotonic()
    server = serve(config, workers=2, wait=False)
    # Two prompt downloads of 1 MiB on loopback: far less than a claim's 23 s.
    assert wait_until(lambda: server.stdout(), timeout=fetch_timeout / 2), \
        f"not ready after {time.monotonic() - started:.1f} s ({idp.count('/jwks')} downloads)"
    ready(server)
    assert server.protected(key.token()).status == 200
    # The document cannot be shared: logged once per process that tried to store it.
    assert 1 <= len(server.log_lines(r"edgeauth\.cache: .*cache key-set store failed")) <= 2
