#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into OUT/<target>/, from the repository:
the bench-data tokens and key sets, the JOSE vectors, the configuration examples of the
documentation, and the hand-written seeds of Fuzz/seeds.py. Usage: seed.py OUT"""

import base64
import hashlib
import json
import pathlib
import re
import sys

import seeds

ROOT = pathlib.Path(__file__).resolve().parent.parent


def write(out, target, data):
    if isinstance(data, str):
        data = data.encode()
    directory = out / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    out = pathlib.Path(sys.argv[1])
    tokens = [path.read_text().strip() for path in sorted((ROOT / "bench-data/tokens").glob("*.jwt"))]
    for token in tokens:
        write(out, "token", token)
        write(out, "authorization", "Bearer " + token)
        for segment in token.split(".")[:2]:
            write(out, "base64url", segment)
            write(out, "json", base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    for name in ("jwks.json", "jwks-with-hmac.json"):
        document = (ROOT / "bench-data" / name).read_text()
        write(out, "jwks", document)
        write(out, "json", document)
        for key in json.loads(document)["keys"]:
            write(out, "jwk", json.dumps(key))
    vectors = json.loads((ROOT / "Tests/Vectors/jose_rfc_examples.json").read_text())
    for text in re.findall(r'"(ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)"', json.dumps(vectors)):
        write(out, "token", text)
    for key in re.findall(r'\{[^{}]*"kty"[^{}]*\}', json.dumps(vectors)):
        write(out, "jwk", key)
    # The configuration examples of the documentation, as `edgeauth serve` would read them.
    for doc in sorted((ROOT / "docs").rglob("*.md")):
        for language, body in re.findall(r"```(yaml|json)\n(.*?)```", doc.read_text(), re.S):
            write(out, "configuration-" + language, body)
    for target, inputs in seeds.SEEDS.items():
        for data in inputs:
            write(out, target, data)


if __name__ == "__main__":
    main()
