"""docs/quickstart.md, run: every shell block marked `<!-- doc-test -->` runs against a real
`edgeauth serve` (the demo tools, two workers), and each `# → TEXT` comment must appear in
what the commands print, in order.

The document is written for `make serve` on 127.0.0.1:8080 in the repository; the test runs
its commands against a server on a free port with its own data directory.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from test_mcp_clients import REPO_ROOT, edgeauth_binary, start_server

BLOCK = re.compile(r"<!-- doc-test -->\n```sh\n(.*?)```\n", re.S)
EXPECTATION = re.compile(r"#\s*→\s*(.+?)\s*$")


def test_quickstart_commands(tmp_path: Path) -> None:
    text = (REPO_ROOT / "docs" / "quickstart.md").read_text()
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 3, "the quickstart lost its tested blocks"
    binary = edgeauth_binary()
    server = start_server(binary, tmp_path)
    try:
        script = "\n".join(blocks)
        expected = [match.group(1) for line in script.splitlines() if (match := EXPECTATION.search(line))]
        # The SDK is already installed where the tests run.
        script = "\n".join(line for line in script.splitlines() if not line.startswith("python3 -m venv"))
        script = (script.replace("http://127.0.0.1:8080", server.base)
                  .replace(".build/debug/edgeauth dev-token", f"{binary} dev-token --port {server.port} --data-dir {server.data_dir}")
                  .replace(".venv/bin/python3", sys.executable))
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"the quickstart commands failed:\n{done.stdout}\n{done.stderr}"
        position = 0
        for expectation in expected:
            found = done.stdout.find(expectation, position)
            assert found >= 0, f"{expectation!r} is not in what the commands printed (after position {position}):\n{done.stdout}"
            position = found + len(expectation)
    finally:
        server.stop()
