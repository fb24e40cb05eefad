"""Verify a token file with libedgeauth from Python (the example in docs/c-api.md)."""
import sys

import edgeauth

verifier = edgeauth.Verifier({
    "issuers": ["https://edgeauth-bench.us.auth0.com/"],
    "audiences": ["https://api.edgeauth.test"],
    "keys": [{"jwksFile": "bench-data/jwks.json"}],
})
with open(sys.argv[1], "rb") as file:
    token = file.read()

result = verifier.verify(token, now=1764003600)  # now=0 (the default): the clock
if result.valid:
    user = result.identity
    print(user.subject, user.permissions, user.has_permission("read:tools"))
else:
    print("rejected:", result.verdict_name, verifier.explain(token, now=1764003600)[1])
