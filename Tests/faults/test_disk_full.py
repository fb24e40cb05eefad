"""The verdict cache's file system full (ENOSPC): the cache directory on a 2 MiB tmpfs, filled up
while the server runs.

What docs/cache.md ("Failure handling") and troubleshooting.md promise: "a verification never
fails because of the cache"; every cache error is a miss, counted
(`edgeauth_cache_lookups_total{result="error"}`) and logged once per process (`cache … failed;
verifying without the cache`), and the token is verified in full. The key-set document the cache
keeps for every process cannot be stored either: each process then keeps its own download.

A tmpfs needs root (or CAP_SYS_ADMIN), as `make test` runs; elsewhere the test is skipped, saying so.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Server, answers, SigningKey, direct_config, forged, jwks, wait_until

SIZE = "2m"


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root (make test runs as root): no other way to make a file system full here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here ({done.stderr.strip()}): no file system to fill")
    try:
        yield mount_point
    finally:
        # Lazily, should a process still hold a file there.
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(directory: Path) -> None:
    with open(directory / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    probe = directory / "probe"
    with pytest.raises(OSError):
        probe.write_bytes(b"\0" * 4096)
    probe.unlink(missing_ok=True)


def lmdb(server: Server, result: str) -> float:
    return server.metric("edgeauth_cache_lookups_total", 'layer="lmdb"', f'result="{result}"')


def test_a_full_disk_under_the_cache(serve, provider, tiny_filesystem: Path) -> None:
    idp = provider()
    key = SigningKey("k1")
    idp.set("/jwks", jwks(key))
    config = direct_config([{"jwksURL": idp.url("/jwks")}],
                           cache={"directory": str(tiny_filesystem / "cache"), "l1Entries": 0}, key_refresh={"coolDown": 1})
    server = serve(config, workers=2)

    warm = [(key.token(), 200) for _ in range(100)]
    assert answers(server, warm + warm) == Counter({(200, 200): 200})
    assert wait_until(lambda: lmdb(server, "hit") >= 50, timeout=15), server.metrics()

    fill(tiny_filesystem)
    tokens = [(key.token(), 200) for _ in range(1500)]
    tokens += [(forged(token), 401) for token, _ in tokens[:300]]
    counts = answers(server, tokens + warm)
    assert counts == Counter({(200, 200): 1600, (401, 401): 300}), counts

    # Noticed, counted and logged once per process; verification went on without the cache.
    assert wait_until(lambda: lmdb(server, "error") > 0, timeout=15), server.metrics()
    failures = server.log_lines(r"edgeauth\.cache: .*cache \w+ failed; verifying without the cache")
    assert 1 <= len(failures) <= 2, failures
    assert server.metric("edgeauth_http_requests_total", 'status="5') == 0, "nothing 5xx"
    state = server.readyz()
    assert state.status == 200 and state.json["status"] == "ready", state.json

    # A rotation: the new document cannot be stored for the other processes, its keys are used all the same.
    new = SigningKey("k2")
    idp.set("/jwks", jwks(key, new))
    assert wait_until(lambda: server.protected(new.token()).status == 200, timeout=30), server.stderr()[-3000:]

    # A worker restarted on the full disk opens the cache and serves.
    victim = server.kill_worker()

    def replacement_serves() -> bool:
        # A connection the kernel had queued at the killed worker is closed unanswered: not yet.
        try:
            answer = server.protected(key.token())
        except ConnectionError:
            return False
        assert answer.status == 200, answer
        text = server.metrics()
        others = server.worker_pids() - {victim}
        return len(others) == 2 and all(
            server.metric("edgeauth_verdicts_total", f'worker="{pid}"', 'verdict="valid"', text=text) > 0 for pid in others)

    assert wait_until(replacement_serves, timeout=30), server.stderr()[-3000:]
    assert server.alive() and len(server.worker_exits()) == 1, server.worker_exits()

    # Space again: verdicts are stored and served from the cache once more.
    (tiny_filesystem / "filler").unlink()
    hits = lmdb(server, "hit")
    again = [(key.token(), 200) for _ in range(200)]
    assert answers(server, again + again) == Counter({(200, 200): 400})
    assert wait_until(lambda: lmdb(server, "hit") >= hits + 100, timeout=15), server.metrics()
