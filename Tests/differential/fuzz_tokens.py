#!/usr/bin/env python3
"""Fuzzed differential test: EdgeAuth's C library against joserfc on mutated tokens.

Where differential.py writes a fixed corpus for DifferentialTests.swift, this
script draws tokens for as long as it is asked to, verifies each one with
libedgeauth (through the ctypes binding of examples/python) and with joserfc
side by side, and compares the verdicts. Keys, JWKS, policy and joserfc's
judge are differential.py's own (imported, not copied); EdgeAuth is configured
to match through its C configuration document: the same JWKS inline, issuer,
audience, leeway 30, the algorithms of the keys, the same `now`.

Every iteration starts from a valid token of a random algorithm signed with the
generated keys and mutates it (seeded; iteration I of seed S is always the same
token, so `--seed S --start I --iterations 1` replays it):

  - header and payload rebuilt with changed members: types swapped, huge,
    negative and fractional numbers, exp/nbf/iat around now +- leeway in
    several spellings, duplicate members, deep nesting, many members, unicode
    escapes (lone surrogates included), aud/iss forms, alg/kid/typ/crit/b64
    changes, `alg: none`, payloads that are not objects, a BOM, whitespace;
  - bytes of the decoded header or payload flipped, inserted or deleted;
  - then signed again with the right key (so the mutation reaches the claims
    checks), a look-alike or another trusted key, HMAC keyed with the RSA PEM,
    kept with the original signature, or with a mangled signature;
  - now and then characters of the compact text flipped, inserted or deleted,
    `=` padding, the standard alphabet, segments added or removed.

Verdicts must agree. EdgeAuth refusing what joserfc accepts is allowed only
for the deliberate differences DifferentialTests.swift lists, recognised the
way its `DeliberateDifference.classify` does: from EdgeAuth's reason (here the
verdict and `edgeauth_explain`'s text, which carries the claim name and the
expiry time) and from what the token contains (differential.features); and for
those only this fuzzer meets (docs/differential-testing.md), each recognised
the same way from the token itself: `sub`, `scope` or `jti` not a string;
`NaN`/`Infinity` literals; a BOM before the header; `crit: []`; `crit` naming
a registered parameter or `b64`; an `nbf`/`iat` past now + leeway only by
decimals a double loses. EdgeAuth accepting what joserfc refuses is allowed only
for joserfc's own header strictness (an unknown parameter, an unread one in a
form it refuses, a header segment over its 512 bytes), and only when joserfc,
with just that strictness lifted, accepts the same token. Anything else is a
finding: printed (the token is test material) and written to --findings; the
exit status is then 1.

Usage: fuzz_tokens.py [--seconds N | --iterations N] [--seed S] [--start I]
                      [--library PATH] [--findings DIR] [--keep N] [--show N] [--stats]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import random
import re
import sys
import time
import warnings
from collections import Counter
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(PACKAGE_ROOT / "examples" / "python"))

import differential  # noqa: E402  (beside this script)
from differential import (  # noqa: E402
    ALGORITHMS, CURVES, LEEWAY, Generator, Judge, b64, b64_padded, exponent_form,
    features, sign,
)
from joserfc.jws import JWSRegistry  # noqa: E402
from joserfc.registry import JWS_HEADER_REGISTRY, HeaderParameter  # noqa: E402

NOW = 1_764_000_000
ISSUER = "https://issuer.example/"
AUDIENCE = "https://api.example"
MAX_NUMERIC_DATE = 253_402_300_799  # JSONText.maxNumericDate
MAX_DEPTH = differential.MAX_DEPTH  # TokenLimits().json.maxDepth
MAX_MEMBERS = differential.MAX_MEMBERS  # TokenLimits().json.maxMembers
MAX_TOKEN_BYTES = 16384  # TokenLimits' default maxTokenBytes: the mutations stay below it
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
STRANGE_CHARACTERS = "=+/ .\n\t\r\x00~!*%\"\\é\u2028\U0001F600"
TIME_CLAIMS = ("exp", "nbf", "iat")


# ---------------------------------------------------------------- JSON with control over its text


class Raw:
    """JSON text spliced in as written (a number spelling, a literal, anything)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return "Raw(%r)" % self.text


class Escaped:
    """A string given by the escaped text between its quotes (e.g. `\\ud800`)."""

    def __init__(self, inner: str):
        self.inner = inner

    def __repr__(self):
        return "Escaped(%r)" % self.inner


class Style:
    """How one document is written: \\u escapes and whitespace, each with a probability."""

    def __init__(self, escape: float = 0.0, space: float = 0.0, ascii_only: bool = False):
        self.escape = escape
        self.space = space
        self.ascii_only = ascii_only


def emit(value, style: Style, rng: random.Random) -> str:
    """JSON text of `value`. Objects are lists of (name, value) pairs (so names may
    repeat) or dicts; `Raw` and `Escaped` are written as given."""

    def ws() -> str:
        return rng.choice([" ", "\n", "\t", "\r", "  ", "\n  "]) if style.space and rng.random() < style.space else ""

    def text(s: str) -> str:
        out = []
        for ch in s:
            code = ord(ch)
            if 0xD800 <= code <= 0xDFFF or (style.escape and rng.random() < style.escape):
                if code > 0xFFFF:
                    code -= 0x10000
                    out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
                else:
                    out.append(("\\u%04x" if rng.random() < 0.5 else "\\u%04X") % code)
            else:
                out.append(json.dumps(ch, ensure_ascii=style.ascii_only)[1:-1])
        return '"' + "".join(out) + '"'

    def go(v) -> str:
        if isinstance(v, Raw):
            return v.text
        if isinstance(v, Escaped):
            return '"' + v.inner + '"'
        if isinstance(v, Members):
            return "{" + ws() + ",".join(ws() + go(n) + ws() + ":" + ws() + go(x) + ws() for n, x in v) + ws() + "}"
        if isinstance(v, dict):
            return go(Members(v.items()))
        if isinstance(v, (list, tuple)):
            return "[" + ws() + ",".join(ws() + go(x) + ws() for x in v) + ws() + "]"
        if isinstance(v, str):
            return text(v)
        if v is True:
            return "true"
        if v is False:
            return "false"
        if v is None:
            return "null"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            if v != v:
                return "NaN"
            if v in (float("inf"), float("-inf")):
                return "1e400" if v > 0 else "-1e400"
            return repr(v)
        raise TypeError("cannot write %r" % (v,))

    return ws() + go(value) + ws()


class Members(list):
    """An object's members, in order, as (name, value) pairs; a name may repeat."""

    def get(self, name, default=None):
        for n, v in reversed(self):
            if n == name:
                return v
        return default

    def names(self) -> list:
        return [n for n, _ in self]

    def set(self, name, value) -> None:
        """Replaces every member `name` (or appends one)."""
        found = False
        for i, (n, _) in enumerate(self):
            if n == name:
                self[i] = (n, value)
                found = True
        if not found:
            self.append((name, value))

    def drop(self, name) -> None:
        self[:] = [(n, v) for n, v in self if n != name]


def nested(depth: int, rng: random.Random, leaf=1):
    """A value whose nesting is `depth` levels (an object or array per level)."""
    value = leaf
    for _ in range(depth):
        value = Members([("a", value)]) if rng.random() < 0.6 else [value]
    return value


# ---------------------------------------------------------------- the mutator


class Mutator:
    """Valid tokens of every algorithm, then mutated; every choice from the iteration's generator."""

    def __init__(self, generator: Generator):
        self.g = generator
        self.now = generator.now
        self.issuer = generator.issuer
        self.audience = generator.audience
        self.kids = [key.kid for key in generator.keys.values()]

    # -- values

    def time_value(self, rng: random.Random, name: str):
        """A NumericDate near a boundary of the validity window, in one of several spellings."""
        now = self.now
        base = rng.choice([now - LEEWAY, now + LEEWAY, now, now - LEEWAY - 1, now + LEEWAY + 1,
                           now + 3600, now - 3600])
        delta = rng.choice([0, 0, 0, -1, 1, -2, 2, -31, 31])
        fraction = rng.choice([0, 0, 0, 0, 0.5, 0.25, 0.75, 0.999, 0.001, -0.5, -0.25])
        whole = base + delta
        if fraction:
            value = whole + fraction
            form = rng.random()
            if form < 0.6:
                return value
            if form < 0.8:
                # Exponent spelling of the fraction: 1764000029.5 -> 1.7640000295E+9
                digits = repr(value).replace(".", "")
                return Raw(digits[0] + "." + digits[1:] + "E+" + str(len(str(int(value))) - 1))
            return Raw("%de-4" % round(value * 10000))
        form = rng.random()
        if form < 0.55:
            return whole
        spellings = [exponent_form(whole), "%d.0" % whole, "%de0" % whole, "%d.000" % whole, "%d0e-1" % whole,
                     "%dE+0" % whole, "%d00E-2" % whole, exponent_form(whole).replace("E+", "e")]
        return Raw(rng.choice(spellings))

    def odd_number(self, rng: random.Random):
        return Raw(rng.choice([
            "1e20", "1e400", "-1e400", "1E+309", "253402300799", "253402300800", "253402300799.5",
            "253402300798.9999", "9223372036854775807", "9223372036854775808", "18446744073709551616",
            "123456789012345678901234567890", "-0", "-0.0", "0", "0.0", "0e5", "-1", "-%d" % self.now,
            "1.7640036e9", "0.0000001e16", "17640036000000e-4", "1764003600.0000000000000001",
            "%d.9999999999999999" % (self.now - LEEWAY), "%d.00000000000000001" % (self.now + LEEWAY),
            "1e-400", "4.9e-324", "01764003600", "1764003600.", ".5", "+1764003600", "0x6925", "Infinity",
            "NaN", "-Infinity", "1_764_003_600", "1764003600e", "2e9", "1e10", "%d" % (2**53 + 1),
        ]))

    def swapped(self, rng: random.Random, value):
        """Another JSON type for a value."""
        choices = [
            lambda: str(value) if not isinstance(value, (Raw, Escaped)) else "x",
            lambda: rng.choice([0, 1, -1, 7, self.now, self.now + 3600]),
            lambda: rng.choice([1.5, -0.5, float(self.now + 3600), 1e300]),
            lambda: rng.choice([True, False]),
            lambda: None,
            lambda: [value] if not isinstance(value, Raw) else [],
            lambda: Members([("value", value)]) if not isinstance(value, Raw) else Members(),
            lambda: "",
            lambda: [],
            lambda: Members(),
            lambda: self.odd_number(rng),
        ]
        return rng.choice(choices)()

    def random_value(self, rng: random.Random, depth: int = 0):
        kind = rng.randrange(8 if depth < 3 else 5)
        if kind == 0:
            return rng.choice(["", "x", "admin", "Zoë", "李", "\U0001F600", "a\u0000b", "\u2028", "tab\there"])
        if kind == 1:
            return rng.choice([0, 1, -1, 42, 2**31, 2**63, -(2**63), 10**30])
        if kind == 2:
            return rng.choice([0.5, -1.25, 1e-7, 1e300, 3.141592653589793])
        if kind == 3:
            return rng.choice([True, False, None])
        if kind == 4:
            return self.odd_number(rng)
        if kind in (5, 6):
            return [self.random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
        return Members(("k%d" % i, self.random_value(rng, depth + 1)) for i in range(rng.randrange(4)))

    def lone_surrogate(self, rng: random.Random) -> Escaped:
        return Escaped(rng.choice([
            "\\ud800", "\\udfff", "\\udc00", "x\\ud83d", "\\ude00x", "\\udc00\\ud800", "\\ud800\\u0041",
            "\\ud83d\\ude00",  # a valid pair (control)
            "\\uD834\\uDD1E",  # a valid pair, upper case (control)
            "\\ud800\\ud800\\udc00",
        ]))

    # -- payload mutations: each changes `claims` (Members) and returns a label

    def claims_mutation(self, rng: random.Random, claims: Members, style: Style) -> str:
        op = rng.choices(
            ["type", "time", "odd-number", "duplicate", "nesting", "members", "unicode", "aud", "iss", "drop",
             "null", "extra", "escape-names", "sub"],
            weights=[8, 14, 6, 6, 4, 3, 6, 8, 6, 4, 2, 3, 3, 2],
        )[0]
        registered = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope"]
        if op == "type":
            name = rng.choice(registered + claims.names())
            claims.set(name, self.swapped(rng, claims.get(name, "x")))
            return "type-" + (name if name in registered else "other")
        if op == "time":
            name = rng.choice(TIME_CLAIMS)
            claims.set(name, self.time_value(rng, name))
            if rng.random() < 0.3:
                other = rng.choice(TIME_CLAIMS)
                claims.set(other, self.time_value(rng, other))
            return "time-" + name
        if op == "odd-number":
            name = rng.choice(list(TIME_CLAIMS) + ["big"])
            claims.set(name, self.odd_number(rng))
            return "number-" + name
        if op == "duplicate":
            name = rng.choice(claims.names() or ["exp"])
            value = claims.get(name, 1)
            if rng.random() < 0.6:
                value = rng.choice([value, self.swapped(rng, value), self.time_value(rng, "exp"),
                                    "https://evil.example/", self.now - 86400])
            position = rng.choice([0, len(claims)])
            claims.insert(position, (name, value))
            return "duplicate-claim"
        if op == "nesting":
            depth = rng.choice([MAX_DEPTH - 3, MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1,
                                MAX_DEPTH + 2, MAX_DEPTH + 5])
            # The payload object is depth 1, so a claim whose value nests d levels makes the document d + 1 deep.
            claims.append(("deep", nested(depth - 1, rng)))
            return "nesting"
        if op == "members":
            target = rng.choice([MAX_MEMBERS - 2, MAX_MEMBERS - 1, MAX_MEMBERS, MAX_MEMBERS + 1, MAX_MEMBERS + 2,
                                 MAX_MEMBERS + 40])
            missing = target - count_members(claims)
            extra = Members(("c%d" % i, i) for i in range(max(0, missing - 1)))
            if rng.random() < 0.5:
                claims.append(("bag", extra))  # members of nested objects count too
            else:
                claims.extend(extra + [("last", 0)])
            return "members"
        if op == "unicode":
            where = rng.random()
            if where < 0.5:
                claims.append((rng.choice(["nickname", "sub", "scope", "jti"]), self.lone_surrogate(rng)))
            elif where < 0.7:
                claims.append((Escaped(self.lone_surrogate(rng).inner), "x"))
            elif where < 0.85:
                claims.set("iss", Escaped(json.dumps(self.issuer)[1:-1] + self.lone_surrogate(rng).inner))
            else:
                style.escape = rng.choice([0.05, 0.3, 1.0])
            return "unicode"
        if op == "aud":
            a = self.audience
            claims.set("aud", rng.choice([
                a, [a], ["https://other.example", a], [], [a, 7], [a, None], [[a]], a.upper(), "", [a, a],
                Members([("aud", a)]), a + "/", [a + " "], ["https://other.example"], 7, None, True,
                Escaped(json.dumps(a)[1:-1].replace("a", "\\u0061")), [a, Members()], [a, ""],
            ]))
            if rng.random() < 0.1:
                claims.drop("aud")
            return "aud"
        if op == "iss":
            i = self.issuer
            claims.set("iss", rng.choice([
                i, [i], [i, "https://evil.example/"], i.rstrip("/"), i.upper(), i + " ", "", None, 42,
                Members([("iss", i)]), Escaped(json.dumps(i)[1:-1].replace("/", "\\/")), i + "\u0000",
            ]))
            if rng.random() < 0.1:
                claims.drop("iss")
            return "iss"
        if op == "drop":
            name = rng.choice(["exp", "iss", "aud", "iat", "nbf", "sub"])
            claims.drop(name)
            return "drop-" + name
        if op == "null":
            name = rng.choice(registered)
            claims.set(name, None)
            return "null-" + name
        if op == "extra":
            for _ in range(rng.randrange(1, 4)):
                claims.append((rng.choice(["roles", "org", "cnf", "act", "x", "", "\u00e9", "exp ", "EXP"]),
                               self.random_value(rng)))
            return "extra-claims"
        if op == "escape-names":
            name = rng.choice(claims.names() or ["exp"])
            if isinstance(name, str) and name:
                renamed = Escaped("".join("\\u%04x" % ord(c) if rng.random() < 0.5 else c for c in name))
                claims[:] = [(renamed if n == name else n, v) for n, v in claims]
            return "escaped-name"
        # sub, the claim EdgeAuth copies into the identity
        claims.set("sub", rng.choice(["", "a" * 300, "\U0001F600", 7, ["u"], None, self.lone_surrogate(rng)]))
        return "sub"

    # -- header mutations

    def header_mutation(self, rng: random.Random, header: Members, style: Style) -> str:
        op = rng.choices(["alg", "kid", "typ", "crit", "b64", "extra", "duplicate", "escape"],
                         weights=[10, 8, 4, 5, 2, 3, 3, 2])[0]
        alg = header.get("alg")
        if op == "alg":
            value = rng.choice([
                rng.choice(ALGORITHMS), "none", "None", "NONE", "nOnE", "Ed25519", "ES256K", "XS256", "", None, 1,
                [alg], str(alg).lower(), str(alg) + " ", "HS256", "RS256", Escaped("\\u0048S256"),
            ])
            if rng.random() < 0.1:
                header.drop("alg")
            else:
                header.set("alg", value)
            return "alg"
        if op == "kid":
            kid = header.get("kid") or "key-x"
            value = rng.choice([rng.choice(self.kids), "key-unknown", "", None, 1, [kid], str(kid).upper(),
                                str(kid) + " ", Members([("kid", kid)]), Escaped(str(kid).replace("k", "\\u006b", 1))])
            if rng.random() < 0.2:
                header.drop("kid")
            else:
                header.set("kid", value)
            return "kid"
        if op == "typ":
            value = rng.choice(["JWT", "jwt", "at+jwt", "application/at+jwt", "JOSE", "", 1, None, ["JWT"]])
            if rng.random() < 0.2:
                header.drop("typ")
            else:
                header.set("typ", value)
            return "typ"
        if op == "crit":
            value = rng.choice([["exp"], ["b64"], [], "b64", ["x-unknown"], [1], ["alg"], None, ["kid"],
                                ["x-unknown", "x-unknown"]])
            header.set("crit", value)
            if rng.random() < 0.4:
                header.set("x-unknown", True)
            if rng.random() < 0.3:
                header.set("b64", rng.choice([True, False]))
            return "crit"
        if op == "b64":
            header.set("b64", rng.choice([True, False, "false", 0, None]))
            return "b64"
        if op == "extra":
            name = rng.choice(["jku", "x5u", "jwk", "x5c", "cty", "zip", "enc", "x5t", "", "ALG"])
            header.set(name, rng.choice(["https://evil.example/jwks.json", "JWT", "DEF", ["MII"],
                                         self.g.foreign["EdDSA"].public_jwk(), 1, None]))
            return "header-" + (name or "empty")
        if op == "duplicate":
            name = rng.choice(["alg", "kid", "typ"])
            value = rng.choice([header.get(name, "x"), rng.choice(ALGORITHMS), rng.choice(self.kids), "none",
                                "key-unknown"])
            header.insert(rng.choice([0, len(header)]), (name, value))
            return "duplicate-header"
        style.escape = rng.choice([0.1, 0.5, 1.0])
        return "header-escapes"

    # -- bytes of a decoded segment

    def byte_mutation(self, rng: random.Random, data: bytes) -> tuple[bytes, str]:
        data = bytearray(data)
        op = rng.choice(["flip", "insert", "delete", "bom", "trailing", "invalid-utf8"])
        i = rng.randrange(len(data) + 1)
        if op == "flip" and data:
            i = min(i, len(data) - 1)
            if rng.random() < 0.5:
                data[i] ^= 1 << rng.randrange(8)
            else:
                data[i] = rng.choice(b'{}[]":,\\ 0123456789eE+-.tfnu\x00\x7f\xc3\xff')
        elif op == "insert":
            data[i:i] = rng.choice([b"{", b"}", b'"', b",", b":", b"\\", b" ", b"\n", b"0", b"-", b"\xef\xbb\xbf",
                                    b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"/*x*/"])
        elif op == "delete" and data:
            i = min(i, len(data) - 1)
            del data[i:i + rng.choice([1, 1, 1, 2, 5])]
        elif op == "bom":
            data[0:0] = b"\xef\xbb\xbf"
        elif op == "trailing":
            data += rng.choice([b" ", b"\n", b"\x00", b"{}", b",", b"x"])
        else:
            data[i:i] = rng.choice([b"\xc3\x28", b"\xa0", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed\xb0\x80"])
        return bytes(data), "bytes-" + op

    # -- text of the compact token

    def text_mutation(self, rng: random.Random, token: str) -> tuple[str, str]:
        parts = token.split(".")
        op = rng.choice(["flip", "flip", "insert", "delete", "pad", "alphabet", "segments", "truncate", "space"])
        s = rng.randrange(len(parts))
        seg = parts[s]
        i = rng.randrange(len(seg) + 1)
        if op == "flip" and seg:
            i = min(i, len(seg) - 1)
            pool = BASE64URL if rng.random() < 0.85 else STRANGE_CHARACTERS
            parts[s] = seg[:i] + rng.choice(pool) + seg[i + 1:]
        elif op == "insert":
            pool = BASE64URL if rng.random() < 0.7 else STRANGE_CHARACTERS
            parts[s] = seg[:i] + "".join(rng.choice(pool) for _ in range(rng.choice([1, 1, 2, 3, 4]))) + seg[i:]
        elif op == "delete" and seg:
            i = min(i, len(seg) - 1)
            parts[s] = seg[:i] + seg[i + rng.choice([1, 1, 2, 4]):]
        elif op == "pad":
            parts[s] = seg + "=" * rng.choice([-len(seg) % 4, -len(seg) % 4, 1, 2, 4])
        elif op == "alphabet":
            parts[s] = seg.replace("-", "+").replace("_", "/")
        elif op == "segments":
            choice = rng.randrange(4)
            if choice == 0:
                parts.append(parts[-1])
            elif choice == 1 and len(parts) > 1:
                parts.pop(s)
            elif choice == 2:
                parts.append("")
            elif len(parts) > 1:
                parts[0], parts[1] = parts[1], parts[0]
        elif op == "truncate":
            return token[:rng.randrange(len(token))] if token else token, "text-truncate"
        else:
            return token[:i] + rng.choice([" ", "\n", "\t", "\r\n"]) + token[i:], "text-space"
        return ".".join(parts), "text-" + op

    # -- signatures

    def signature(self, rng: random.Random, header: Members, signing_input: bytes, base_alg: str,
                  original: str) -> tuple[str, str]:
        """The signature segment and how it was made."""
        keys, foreign = self.g.keys, self.g.foreign
        named = header.get("alg")
        alg = named if isinstance(named, str) and named in ALGORITHMS else base_alg
        mode = rng.choices(
            ["right", "keep", "foreign", "kid-key", "other-trusted", "rsa-pem", "empty", "mangled"],
            weights=[66, 9, 5, 5, 4, 2, 3, 6],
        )[0]
        if mode == "right":
            return b64(keys[alg].sign(signing_input)), "sign-right"
        if mode == "keep":
            return original, "sign-keep"
        if mode == "foreign":
            return b64(foreign[alg].sign(signing_input)), "sign-foreign"
        if mode == "kid-key":
            kid = header.get("kid")
            key = next((k for k in keys.values() if k.kid == kid), keys[base_alg])
            return b64(key.sign(signing_input)), "sign-kid-key"
        if mode == "other-trusted":
            family = [a for a in ALGORITHMS if a[:2] == alg[:2] and a != alg] or [a for a in ALGORITHMS if a != alg]
            other = keys[rng.choice(family)]
            if alg[:2] in ("RS", "PS") and rng.random() < 0.5:
                # The same RSA material under the other padding scheme.
                swapped = ("PS" if alg[:2] == "RS" else "RS") + alg[2:]
                return b64(sign(swapped, keys[alg].material, signing_input)), "sign-other-padding"
            if other.alg[:2] == alg[:2] and alg[:2] in ("HS",):
                return b64(sign(alg, other.material, signing_input)), "sign-other-secret"
            return b64(other.sign(signing_input)), "sign-other-key"
        if mode == "rsa-pem":
            return b64(hmac.new(self.g.rsa_pem, signing_input, hashlib.sha256).digest()), "sign-hmac-rsa-pem"
        if mode == "empty":
            return "", "sign-empty"
        raw = keys[alg].sign(signing_input)
        choice = rng.randrange(7)
        if alg in CURVES and choice < 3:
            size, order = CURVES[alg][2], CURVES[alg][3]
            r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
            if choice == 0:
                s = order - s  # high S: still a valid signature
                label = "sig-high-s"
            elif choice == 1 and (s + order).bit_length() <= 8 * size:
                s += order
                label = "sig-s-plus-order"
            else:
                r = 0
                label = "sig-r-zero"
            return b64(r.to_bytes(size, "big") + s.to_bytes(size, "big")), label
        if choice <= 3:
            return b64(raw[:-rng.choice([1, 2, len(raw) // 2])]), "sig-truncated"
        if choice == 4:
            return b64(raw + bytes(rng.choice([1, 2, 16]))), "sig-extended"
        if choice == 5:
            return b64(bytes(len(raw))), "sig-zero"
        raw = bytearray(raw)
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        return b64(bytes(raw)), "sig-bit"

    # -- one case

    def case(self, rng: random.Random) -> tuple[str, list[str]]:
        g = self.g
        g.rng = rng  # Generator draws its claims and header from its own attribute
        alg = rng.choice(ALGORITHMS)
        header = Members(g.header(alg).items())
        claims = Members(g.claims().items())
        h_style, p_style = Style(), Style()
        original_input = (b64(emit(header, h_style, rng).encode()) + "." +
                          b64(emit(claims, p_style, rng).encode())).encode("ascii")
        original_signature = b64(g.keys[alg].sign(original_input))
        original = original_input.decode("ascii") + "." + original_signature

        roll = rng.random()
        if roll < 0.03:
            return original, ["valid"]
        if roll < 0.15:
            labels = []
            token = original
            for _ in range(rng.choice([1, 1, 2, 3])):
                token, label = self.text_mutation(rng, token)
                labels.append(label)
            return token, labels

        labels: list[str] = []
        for _ in range(rng.choices([0, 1, 2, 3], weights=[2, 5, 3, 1])[0]):
            labels.append(self.claims_mutation(rng, claims, p_style))
        for _ in range(rng.choices([0, 1, 2], weights=[6, 3, 1])[0]):
            labels.append(self.header_mutation(rng, header, h_style))
        if rng.random() < 0.08:
            p_style.space = rng.choice([0.1, 0.5])
            labels.append("whitespace")
        if rng.random() < 0.04:
            # A payload that is no object.
            claims = rng.choice([[claims], Raw(json.dumps(emit(claims, Style(), rng))), Raw("null"),
                                 Raw("7"), Members(), Raw("[]"), Raw('""')])
            labels.append("payload-shape")
        if rng.random() < 0.02:
            header = rng.choice([[header], Raw('"x"'), Members(), Raw("null")])
            labels.append("header-shape")

        header_bytes = emit(header, h_style, rng).encode("utf-8")
        payload_bytes = emit(claims, p_style, rng).encode("utf-8")
        if rng.random() < 0.1:
            payload_bytes, label = self.byte_mutation(rng, payload_bytes)
            labels.append("payload-" + label)
        if rng.random() < 0.04:
            header_bytes, label = self.byte_mutation(rng, header_bytes)
            labels.append("header-" + label)
        if not labels:
            labels.append("reencoded")

        padded = rng.random() < 0.03
        encode = b64_padded if padded else b64
        if padded:
            labels.append("padded-segments")
        signing_input = (encode(header_bytes) + "." + encode(payload_bytes)).encode("ascii")
        header_for_signing = header if isinstance(header, Members) else Members()
        sig, label = self.signature(rng, header_for_signing, signing_input, alg, original_signature)
        labels.append(label)
        token = signing_input.decode("ascii") + "." + sig
        if rng.random() < 0.08:
            token, label = self.text_mutation(rng, token)
            labels.append(label)
        return token, labels


def count_members(value) -> int:
    if isinstance(value, Members):
        return len(value) + sum(count_members(v) for _, v in value)
    if isinstance(value, dict):
        return len(value) + sum(count_members(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(count_members(v) for v in value)
    return 0


# ---------------------------------------------------------------- the deliberate differences

EXPIRED = re.compile(r"^expired: token expired at (-?\d+) \(now (-?\d+),")
INVALID_CLAIM = re.compile(r'^invalidClaim: claim "((?:[^"\\]|\\.)*)" has')
NOT_YET_VALID = re.compile(r"^notYetValid: token is not valid before (-?\d+) \(now (-?\d+)\)")
ISSUED_IN_FUTURE = re.compile(r"^issuedInFuture: token was issued at (-?\d+), in the future \(now (-?\d+)\)")
UNSUPPORTED_CRITICAL = re.compile(r'^unsupportedCritical: crit header names "([^"\\]*)",')
BOM = b"\xef\xbb\xbf"

# RFC 7515 §4.1: the registered header parameters. §4.1.11 forbids naming them in `crit`.
REGISTERED_HEADER = ("alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit")
# The registered parameters EdgeAuth never reads (HeaderFields: alg, kid, typ, crit and b64
# only): it fetches no jku/x5u, trusts no embedded jwk/x5c, and cty changes nothing in a JWT.
UNREAD_HEADER = ("jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "cty")
JOSERFC_MAX_HEADER_SEGMENT = JWSRegistry.max_header_length  # 512: checked on the base64url text

# The claims EdgeAuth requires to be strings when present, and the difference each one is.
STRING_CLAIMS = {
    "sub": "subjectNotString",  # RFC 7519 §4.1.2: a StringOrURI
    "scope": "scopeNotString",  # RFC 8693 §4.2, RFC 9068 §2.2.3: a space-separated string
    "jti": "jwtIdNotString",  # RFC 7519 §4.1.7: a case-sensitive string
}

# joserfc refusing a token EdgeAuth accepts, for joserfc's own header strictness: its
# exception class and the difference it is (RFC 7515 §4 has unknown parameters ignored).
JOSERFC_STRICTNESS = {
    "UnsupportedHeaderError": "unknownHeaderParameter",
    "InvalidHeaderValueError": "unreadHeaderParameterForm",
    "ExceededSizeError": "headerSizeLimit",
}


def strict_base64url(segment: str) -> bytes | None:
    """Base64URL.decode: the base64url alphabet, no padding, no impossible length, zero unused bits."""
    if any(c not in BASE64URL for c in segment) or len(segment) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return data if b64(data) == segment else None


def segment_bytes(token: str, index: int) -> bytes | None:
    """The decoded header (0) or payload (1) of a three-segment token, decoded as EdgeAuth does."""
    parts = token.split(".")
    return strict_base64url(parts[index]) if len(parts) == 3 else None


def payload_bytes_of(token: str) -> bytes | None:
    return segment_bytes(token, 1)


def python_json(data: bytes | None, **hooks):
    """`data` read as joserfc reads a header or payload, with Python's json.loads on the bytes
    (which skips a UTF-8 BOM, reads NaN and Infinity, keeps the last of duplicate names);
    `MISSING` when it cannot."""
    if data is None:
        return MISSING
    try:
        return json.loads(data, **hooks)
    except (ValueError, RecursionError):
        return MISSING


def header_of(token: str) -> dict | None:
    header = python_json(segment_bytes(token, 0))
    return header if isinstance(header, dict) else None


def payload_claim(token: str, name: str, **hooks):
    """A member of the payload when it is a JSON object; `Missing` otherwise."""
    data = payload_bytes_of(token)
    if data is None:
        return MISSING
    try:
        payload = json.loads(data.decode("utf-8"), **hooks)
    except (ValueError, RecursionError):
        return MISSING
    if not isinstance(payload, dict):
        return MISSING
    return payload.get(name, MISSING)


MISSING = object()


def non_finite_literal(token: str) -> bool:
    """A `NaN`, `Infinity` or `-Infinity` literal as a value in the header or the payload, in
    a document Python's json otherwise reads whole (RFC 8259 §6 has no such literals)."""
    for index in (0, 1):
        seen = []
        parsed = python_json(segment_bytes(token, index), parse_constant=lambda name: seen.append(name) or 0.0)
        if seen and parsed is not MISSING:
            return True
    return False


def exact_time_beyond_float(token: str, name: str, reported: int, now: int, leeway: int) -> bool:
    """`name` (nbf or iat) is, read exactly, after now + leeway (and EdgeAuth reports it rounded
    up), while the float Python's json makes of it is not: only its last decimals, below a
    double's precision, put it there (e.g. 1764000030.00000000000000001)."""
    exact = payload_claim(token, name, parse_float=Decimal, parse_int=Decimal)
    rounded = payload_claim(token, name)
    if not isinstance(exact, Decimal) or isinstance(rounded, bool) or not isinstance(rounded, (int, float)):
        return False
    bound = now + leeway
    return exact > bound and rounded <= bound and math.ceil(exact) == reported


def joserfc_valid(name: str, value) -> bool:
    try:
        JWS_HEADER_REGISTRY[name].validate(value)
    except ValueError:
        return False
    return True


def classify(token: str, python_accepts: bool, python_reason: str, verdict: str, explanation: str,
             now: int, leeway: int, relaxed: RelaxedJudge | None = None):
    """DeliberateDifference.classify of DifferentialTests.swift, on the C library's verdict
    name and `edgeauth_explain` text instead of the Swift `Reason`; then the differences
    only this fuzzer meets, each recognised from the token itself in the same way."""
    if verdict == "valid":
        # EdgeAuth accepts, joserfc refuses: only joserfc's own header strictness, confirmed.
        return joserfc_strictness(token, python_reason, relaxed) if not python_accepts else None
    if not python_accepts:
        return None  # both reject: not a difference
    if verdict == "expired":
        match = EXPIRED.match(explanation)
        if match and int(match.group(1)) == int(match.group(2)) - leeway:
            return "expiryBoundary"
        return None
    if verdict in ("notYetValid", "issuedInFuture"):
        match = (NOT_YET_VALID if verdict == "notYetValid" else ISSUED_IN_FUTURE).match(explanation)
        name = "nbf" if verdict == "notYetValid" else "iat"
        if match and int(match.group(2)) == now and exact_time_beyond_float(token, name, int(match.group(1)),
                                                                          now, leeway):
            return "decimalPrecision"
        return None
    if verdict == "unsupportedCritical":
        header = header_of(token)
        crit = header.get("crit") if header is not None else None
        match = UNSUPPORTED_CRITICAL.match(explanation)
        if (match and isinstance(crit, list) and crit and match.group(1) == crit[0]
                and all(isinstance(n, str) and n in header and (n in REGISTERED_HEADER or n == "b64") for n in crit)):
            return "criticalNotExtension"
        return None
    if verdict == "invalidClaim":
        match = INVALID_CLAIM.match(explanation)
        name = match.group(1).replace('\\"', '"').replace("\\\\", "\\") if match else None
        value = payload_claim(token, name) if name is not None else MISSING
        if name in TIME_CLAIMS:
            if isinstance(value, bool):
                return "numericDateOutOfRange"
            if isinstance(value, (int, float)) and (value < 0 or value > MAX_NUMERIC_DATE):
                return "numericDateOutOfRange"
            return None
        if name == "iss":
            return "issuerNotString" if isinstance(value, list) else None
        if name == "aud":
            if isinstance(value, list) and any(not isinstance(item, str) for item in value):
                return "audienceNotStrings"
            return None
        if name in STRING_CLAIMS:
            return STRING_CLAIMS[name] if value is not MISSING and not isinstance(value, str) else None
        return None
    if verdict.startswith("malformed."):
        found = features(token)
        kind = verdict[len("malformed."):]
        if kind == "duplicateMember":
            return "duplicateMember" if found["duplicate_member"] else None
        if kind == "invalidUTF8":
            return "unpairedSurrogate" if found["lone_surrogate"] else None
        if kind == "nestingTooDeep":
            return "jsonLimits" if found["depth"] > MAX_DEPTH else None
        if kind == "tooManyMembers":
            return "jsonLimits" if found["members"] > MAX_MEMBERS else None
        if kind in ("payloadNotObject", "invalidJSON"):
            data = payload_bytes_of(token)
            if data is not None and data.startswith(BOM):
                return "byteOrderMark"
            if kind == "invalidJSON" and non_finite_literal(token):
                return "nonFiniteNumber"
            return None
        if kind == "headerNotObject":
            data = segment_bytes(token, 0)
            if data is not None and data.startswith(BOM) and isinstance(python_json(data[len(BOM):]), dict):
                return "headerByteOrderMark"
            return None
        if kind == "headerParameterType":
            header = header_of(token)
            if header is None or header.get("crit") != []:
                return None
            # crit is the only parameter of a wrong type: kid and typ strings, b64 a boolean.
            if any(n in header and not isinstance(header[n], str) for n in ("kid", "typ")):
                return None
            if "b64" in header and not isinstance(header["b64"], bool):
                return None
            return "emptyCritical"
        if kind == "base64Padding":
            return "paddedBase64" if found["padded"] else None
    return None


def joserfc_strictness(token: str, python_reason: str, relaxed: RelaxedJudge | None):
    """The difference a token EdgeAuth accepts and joserfc refuses is, or None. Two things must
    hold: joserfc's exception is one of JOSERFC_STRICTNESS and the token shows its cause (a
    header parameter outside joserfc's registry; jku, jwk, x5u, x5c, x5t, x5t#S256 or cty in a
    form joserfc's validator refuses; a header segment over joserfc's 512 bytes); and joserfc,
    with exactly the strictness the token shows lifted (the same token, signature, keys and
    claims checks), accepts it. So EdgeAuth's acceptance owes nothing to those parameters: a
    signature that holds only with an embedded key, or claims joserfc would refuse, stay findings."""
    error = python_reason.split(":")[0]
    name = JOSERFC_STRICTNESS.get(error)
    header = header_of(token)
    if name is None or relaxed is None or header is None:
        return None
    oversize = len(token.split(".")[0]) > JOSERFC_MAX_HEADER_SEGMENT
    unknown = sorted(n for n in header if n not in JWS_HEADER_REGISTRY)
    unread = sorted(n for n in UNREAD_HEADER if n in header and not joserfc_valid(n, header[n]))
    shown = {"UnsupportedHeaderError": unknown, "InvalidHeaderValueError": unread, "ExceededSizeError": oversize}
    if not shown[error]:
        return None
    accepts, _ = relaxed.verdict(token, oversize=oversize, unknown=bool(unknown), unread=unread)
    return name if accepts else None


def finding_kind(edge_accepts: bool, edge_verdict: str, explanation: str, python_reason: str) -> str:
    """What a disagreement is, for grouping: the two verdicts, with the claim or extension
    EdgeAuth names and joserfc's error class."""
    python = python_reason.split(":")[0]
    if edge_accepts:
        return "EdgeAuth accepts, joserfc refuses (%s)" % python
    detail = edge_verdict
    match = re.match(r'^(invalidClaim|unsupportedCritical|missingClaim): [^"]*"((?:[^"\\]|\\.)*)"', explanation)
    if match:
        detail = "%s(%s)" % (match.group(1), match.group(2))
    return "EdgeAuth refuses (%s), joserfc accepts" % detail


# ---------------------------------------------------------------- the two verifiers


class EdgeAuthSide:
    """libedgeauth through examples/python/edgeauth.py, configured like DifferentialTests' Verifier."""

    def __init__(self, library: str, jwks: dict, issuer: str, audience: str, now: int):
        os.environ["EDGEAUTH_LIBRARY"] = library
        import edgeauth  # examples/python: loads $EDGEAUTH_LIBRARY on first use

        self.edgeauth = edgeauth
        self.now = now
        self.verifier = edgeauth.Verifier({
            "issuers": [issuer],
            "audiences": [audience],
            "keys": [{"jwks": jwks}],
            "leeway": LEEWAY,
            "algorithms": sorted({key["alg"] for key in jwks["keys"]}),
        })
        if self.verifier.key_count != len(jwks["keys"]) or self.verifier.warnings:
            raise SystemExit("libedgeauth kept %d of %d keys: %s"
                             % (self.verifier.key_count, len(jwks["keys"]), self.verifier.warnings))
        self.names: dict[int, str] = {}

    def verdict(self, token: str) -> tuple[bool, str]:
        result = self.verifier.verify(token.encode("utf-8"), now=self.now)
        if result.identity is not None:
            result.identity.close()
        code = result.verdict
        if code not in self.names:
            self.names[code] = self.edgeauth.verdict_name(code)
        return code == self.edgeauth.VERDICT_VALID, self.names[code]

    def explain(self, token: str) -> tuple[str, str]:
        code, text = self.verifier.explain(token.encode("utf-8"), now=self.now)
        return self.edgeauth.verdict_name(code), text


class JoserfcSide:
    """differential.Judge; an exception it does not expect is a refusal, counted apart."""

    def __init__(self, jwks: dict, issuer: str, audience: str, now: int):
        self.judge = Judge(jwks, now, issuer, audience)
        self.raised = Counter()

    def verdict(self, token: str) -> tuple[bool, str]:
        try:
            return self.judge.verdict(token)
        except Exception as error:  # noqa: BLE001 - joserfc failing is a refusal, reported in the summary
            name = type(error).__name__
            self.raised[name] += 1
            return False, "raised " + name


class RelaxedJudge:
    """differential.Judge's verdict with registries that lift joserfc's own header strictness
    only as far as asked: unknown parameters allowed (strict_check_header off), the
    named UNREAD_HEADER parameters in any form, the header segment over 512 bytes. Only used
    to confirm that joserfc refuses a token EdgeAuth accepts for that strictness alone."""

    def __init__(self, judge: Judge):
        self.judge = judge

    @staticmethod
    def registry(algorithms: list[str] | None, oversize: bool, unknown: bool, unread: list[str]) -> JWSRegistry:
        any_form = {name: HeaderParameter(JWS_HEADER_REGISTRY[name].description, lambda value: None)
                    for name in unread}
        registry = JWSRegistry(header_registry=any_form, algorithms=algorithms, strict_check_header=not unknown)
        if oversize:
            registry.max_header_length = MAX_TOKEN_BYTES
        return registry

    def verdict(self, token: str, *, oversize: bool, unknown: bool, unread: list[str]) -> tuple[bool, str]:
        try:
            return self.judge.verdict(
                token, registry=lambda algorithms: self.registry(algorithms, oversize, unknown, unread))
        except Exception as error:  # noqa: BLE001 - not an acceptance
            return False, "raised " + type(error).__name__


# ---------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="run for this long (default 60 when --iterations is absent)")
    budget.add_argument("--iterations", type=int, help="run exactly this many iterations")
    parser.add_argument("--seed", type=int, help="seed of keys and mutations (default: drawn, and printed)")
    parser.add_argument("--start", type=int, default=0, help="first iteration (to replay one: --start I --iterations 1)")
    parser.add_argument("--library", default=os.environ.get("EDGEAUTH_LIBRARY"),
                        help="path of libedgeauth.so (default: $EDGEAUTH_LIBRARY)")
    parser.add_argument("--findings", default=".build/fuzz/findings/token-differential",
                        help="directory for findings; relative to the package root "
                             "(default .build/fuzz/findings/token-differential)")
    parser.add_argument("--now", type=int, default=NOW, help="verification time, seconds since the epoch")
    parser.add_argument("--issuer", default=ISSUER)
    parser.add_argument("--audience", default=AUDIENCE)
    parser.add_argument("--show", type=int, default=20,
                        help="kinds of disagreement printed with an example (default 20)")
    parser.add_argument("--keep", type=int, default=20,
                        help="disagreements written to --findings per kind (default 20; all are counted)")
    parser.add_argument("--stats", action="store_true", help="also print the verdicts per mutation")
    args = parser.parse_args(argv)
    if not args.library:
        parser.error("--library or EDGEAUTH_LIBRARY is required (make install PREFIX=... puts it in PREFIX/lib)")
    if args.seconds is None and args.iterations is None:
        args.seconds = 60.0
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    findings_dir = Path(args.findings)
    if not findings_dir.is_absolute():
        findings_dir = PACKAGE_ROOT / findings_dir

    warnings.simplefilter("ignore")  # joserfc's SecurityWarning for some algorithms
    generator = Generator(random.Random(seed), args.now, args.issuer, args.audience)
    jwks = {"keys": [key.public_jwk() for key in generator.keys.values()]}
    edge = EdgeAuthSide(args.library, jwks, args.issuer, args.audience, args.now)
    python = JoserfcSide(jwks, args.issuer, args.audience, args.now)
    relaxed = RelaxedJudge(python.judge)
    mutator = Mutator(generator)

    totals = Counter()
    deliberate = Counter()
    per_label: dict[str, Counter] = {}
    findings: list[dict] = []
    finding_kinds = Counter()
    started = time.monotonic()
    deadline = started + args.seconds if args.seconds is not None else None
    iteration = args.start
    end = args.start + args.iterations if args.iterations is not None else None
    while (end is None or iteration < end) and (deadline is None or iteration % 16 or time.monotonic() < deadline):
        rng = random.Random("%d:%d" % (seed, iteration))
        token, labels = mutator.case(rng)
        if len(token.encode("utf-8")) > MAX_TOKEN_BYTES:
            totals["oversize"] += 1  # beyond maxTokenBytes: not a comparison of the parsers
            iteration += 1
            continue
        edge_accepts, edge_verdict = edge.verdict(token)
        python_accepts, python_reason = python.verdict(token)
        if edge_accepts and python_accepts:
            outcome = "both-accept"
        elif not edge_accepts and not python_accepts:
            outcome = "both-refuse"
        else:
            verdict, explanation = edge.explain(token)
            difference = classify(token, python_accepts, python_reason, verdict, explanation, args.now, LEEWAY,
                                  relaxed)
            if verdict != edge_verdict:
                difference = None
                explanation += " (edgeauth_verify said %s)" % edge_verdict
            if difference:
                outcome = "deliberate"
                deliberate[difference] += 1
            else:
                outcome = "disagreement"
                kind = finding_kind(edge_accepts, edge_verdict, explanation, python_reason)
                finding_kinds[kind] += 1
                if finding_kinds[kind] <= args.keep:
                    findings.append({
                        "kind": kind,
                        "token": token,
                        "seed": seed,
                        "iteration": iteration,
                        "mutations": labels,
                        "edgeauth": {"accepts": edge_accepts, "verdict": edge_verdict, "explanation": explanation},
                        "joserfc": {"accepts": python_accepts, "reason": python_reason},
                        "features": features(token),
                        "now": args.now, "issuer": args.issuer, "audience": args.audience, "leeway": LEEWAY,
                        "replay": "Tests/differential/fuzz_tokens.py --seed %d --start %d --iterations 1"
                                  % (seed, iteration),
                    })
        totals[outcome] += 1
        if args.stats:
            for label in set(labels):
                per_label.setdefault(label, Counter())[outcome] += 1
        iteration += 1
    elapsed = time.monotonic() - started
    count = iteration - args.start

    if findings:
        findings_dir.mkdir(parents=True, exist_ok=True)
    shown = set()
    for finding in findings:
        name = hashlib.sha256(finding["token"].encode("utf-8")).hexdigest()[:16]
        path = findings_dir / ("%s.json" % name)
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(finding, jwks=jwks), out, indent=2, ensure_ascii=True)
            out.write("\n")
        kind = finding["kind"]
        if kind not in shown and len(shown) < args.show:
            shown.add(kind)
            e, p = finding["edgeauth"], finding["joserfc"]
            print("disagreement [%s] x%d, e.g. iteration %d (%s):"
                  % (kind, finding_kinds[kind], finding["iteration"], ", ".join(finding["mutations"])))
            print("  token:    %s" % json.dumps(finding["token"]))
            print("  EdgeAuth: %s" % ("accepts" if e["accepts"] else "refuses, " + e["explanation"]))
            print("  joserfc:  %s" % ("accepts" if p["accepts"] else "refuses, " + p["reason"]))
            print("  file:     %s" % path)
    if finding_kinds:
        print("disagreements by kind (%d files in %s, at most %d a kind):"
              % (len(findings), findings_dir, args.keep))
        for kind, n in finding_kinds.most_common():
            print("  %6d  %s" % (n, kind))
    if python.raised:
        print("joserfc raised (counted as refusals): " + ", ".join("%s %d" % kv for kv in python.raised.most_common()))
    if args.stats:
        print("%-28s %7s %7s %7s %7s %7s" % ("mutation", "cases", "both✓", "both✗", "deliber", "disagr"))
        for label, c in sorted(per_label.items()):
            print("%-28s %7d %7d %7d %7d %7d" % (label, sum(c.values()), c["both-accept"], c["both-refuse"],
                                                 c["deliberate"], c["disagreement"]))
        if deliberate:
            print("%-28s %7s  %s" % ("deliberate difference", "tokens", "refused by"))
            for name, n in sorted(deliberate.items()):
                side = "joserfc" if name in JOSERFC_STRICTNESS.values() else "EdgeAuth"
                print("%-28s %7d  %s" % (name, n, side))

    rate = count / elapsed if elapsed > 0 else 0.0
    detail = ", ".join("%s %d" % kv for kv in sorted(deliberate.items()))
    print("fuzz_tokens: seed %d, %d iterations in %.1f s (%.0f/s): %d accepted by both, %d refused by both, "
          "%d deliberate differences%s, %d disagreements%s"
          % (seed, count, elapsed, rate, totals["both-accept"], totals["both-refuse"], totals["deliberate"],
             " (" + detail + ")" if detail else "", totals["disagreement"],
             ", %d over maxTokenBytes skipped" % totals["oversize"] if totals["oversize"] else ""))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
