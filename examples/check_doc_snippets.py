"""Checks that the code shown in a document is the code the tests run.

A fenced block preceded by a line `<!-- snippet: PATH -->` must equal the
file PATH (relative to the repository root) exactly.

    python3 examples/check_doc_snippets.py docs/c-api.md
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERN = re.compile(r"<!-- snippet: (\S+) -->\n```[a-z]*\n(.*?)```\n", re.S)

failures = 0
checked = 0
for document in sys.argv[1:]:
    text = (ROOT / document).read_text()
    for path, block in PATTERN.findall(text):
        checked += 1
        if (ROOT / path).read_text() != block:
            failures += 1
            print(f"{document}: the block marked {path} differs from {path}")
if checked == 0:
    print("no snippets found")
    failures += 1
print(f"check_doc_snippets: {checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
