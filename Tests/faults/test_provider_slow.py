"""The identity provider slow: it accepts the connection and answers after longer than
`keyRefresh.fetchTimeout`, or sends its answer's head at once and then holds the body.

What docs/keys.md promises: `connectTimeout` and `fetchTimeout` bound every download, refreshes
run in the background ("verification never waits for it"), and a token with an unknown `kid`
waits for at most one refresh. So tokens with known keys are answered as fast as ever while a
download hangs, a token with an unknown kid gets its 401 within about the fetch timeout, and the
refresh is not stuck once the provider answers again.

KeyRefreshTests ("a slow provider is cut off at the fetch timeout …") checks the cut-off on the
key ring alone, with a provider that delays its whole answer.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import Answer, Provider, Response, Server, SigningKey, direct_config, jwks, wait_until

COOL_DOWN = 1
CONNECT_TIMEOUT = 1
FETCH_TIMEOUT = 6
# Known keys never wait for a download: half the fetch timeout is a generous bound for one
# request on loopback, and far below what waiting for the download would take.
KNOWN_KID_BOUND = FETCH_TIMEOUT / 2
# How long the provider holds its answer: longer than anything the test waits for.
HOLD = 120.0


def unknown_kid_bound(fetch_timeout: float) -> float:
    """How long a request with an unknown kid may wait: for its worker's download (cut at the fetch
    timeout) or for the other worker's claim on it (abandoned after fetch + connect + 2 s, then its
    own download), plus a generous margin for a loaded machine."""
    return 2 * fetch_timeout + 2 * CONNECT_TIMEOUT + 2 + 10


def slow_config(provider: Provider, cache: Any, fetch_timeout: float = FETCH_TIMEOUT) -> dict[str, Any]:
    return direct_config([{"jwksURL": provider.url("/jwks")}], cache={"directory": str(cache)},
                         key_refresh={"coolDown": COOL_DOWN, "connectTimeout": CONNECT_TIMEOUT, "fetchTimeout": fetch_timeout})


class Background:
    """One request in a thread of its own: its answer, or the exception it raised."""

    def __init__(self, server: Server, token: str, timeout: float) -> None:
        self.result: Response | BaseException | None = None
        self.thread = threading.Thread(target=self.run, args=(server, token, timeout), daemon=True)
        self.thread.start()

    def run(self, server: Server, token: str, timeout: float) -> None:
        try:
            self.result = server.protected(token, timeout=timeout)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.result = error

    def answer(self, timeout: float) -> Response:
        self.thread.join(timeout)
        assert isinstance(self.result, Response), f"no answer: {self.result!r}"
        return self.result


def hanging_download(server: Server, idp: Provider, answer: Answer, stranger: SigningKey, bound: float) -> Background:
    """Makes the provider slow, then sends a token with an unknown kid (past the cool-down of the
    start-up download), and waits until its download has reached the provider."""
    idp.set("/jwks", answer)
    time.sleep(COOL_DOWN + 0.1)
    before = idp.count("/jwks")
    waiting = Background(server, stranger.token(), timeout=bound + 5)
    assert wait_until(lambda: idp.count("/jwks") > before, timeout=30), "no download started"
    return waiting


def known_keys_are_not_delayed(server: Server, key: SigningKey) -> None:
    for _ in range(20):
        answer = server.protected(key.token())
        assert answer.status == 200, answer
        assert answer.seconds < KNOWN_KID_BOUND, f"a known key waited {answer.seconds:.1f} s for the download"


def test_provider_that_answers_late(serve, provider, tmp_path) -> None:
    idp = provider()
    key, new_key = SigningKey("k1"), SigningKey("k2")
    idp.set("/jwks", jwks(key))
    server = serve(slow_config(idp, tmp_path / "cache"), workers=2)
    bound = unknown_kid_bound(FETCH_TIMEOUT)

    waiting = hanging_download(server, idp, Answer(jwks(key, new_key), delay=HOLD), SigningKey("k-unknown"), bound)
    known_keys_are_not_delayed(server, key)
    answer = waiting.answer(bound + 2)
    assert answer.status == 401 and answer.json["error"] == "invalid_token", answer
    assert answer.seconds < bound, answer.seconds
    # Another unknown kid while the provider is still slow: bounded the same way.
    late = server.protected(SigningKey("k-other").token(), timeout=bound + 5)
    assert late.status == 401 and late.seconds < bound, late

    failures = server.log_lines(r"edgeauth\.keys: .*could not be fetched: (HTTPClientError\.deadlineExceeded|no whole answer within).*key refresh failed")
    assert failures, server.stderr()
    state = server.readyz()
    assert state.status == 200 and state.json["keys"] == 1, state.json

    # The provider is prompt again: the refresh is not stuck, the new key is picked up.
    idp.set("/jwks", jwks(key, new_key))
    assert wait_until(lambda: server.protected(new_key.token(), timeout=bound + 5).status == 200, timeout=60), \
        server.stderr()[-3000:]


def test_provider_that_holds_its_answer_body(serve, provider, tmp_path) -> None:
    idp = provider()
    key, new_key = SigningKey("k1"), SigningKey("k2")
    idp.set("/jwks", jwks(key))
    fetch_timeout = 1
    server = serve(slow_config(idp, tmp_path / "cache", fetch_timeout), workers=2)
    bound = unknown_kid_bound(fetch_timeout)

    waiting = hanging_download(server, idp, Answer(jwks(key, new_key), stall_body=HOLD), SigningKey("k-unknown"), bound)
    known_keys_are_not_delayed(server, key)
    answer = waiting.answer(bound + 2)
    assert answer.status == 401 and answer.seconds < bound, answer

    idp.set("/jwks", jwks(key, new_key))
    assert wait_until(lambda: server.protected(new_key.token(), timeout=bound + 5).status == 200, timeout=60)
