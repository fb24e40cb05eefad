#!/usr/bin/env python3
"""Differential test corpus for EdgeAuth, judged by joserfc.

Generates a key for every JWS algorithm EdgeAuth implements, a JWKS of the
public keys, and thousands of compact JWTs that mix valid tokens with tampered,
mis-timed, mis-addressed and mis-keyed ones. Every token is verified with
joserfc (an independent JOSE implementation) under the same policy EdgeAuth's
differential test uses: one issuer, one audience, `exp` required, leeway 30 s,
the same `now`, and the algorithms of the selected key only. The verdicts are
written as JSON for Tests/EdgeAuthTests/DifferentialTests.swift to compare:

    {"now": ..., "issuer": ..., "audience": ..., "leeway": 30,
     "jwks": {"keys": [...]},
     "cases": [{"token": ..., "category": ..., "variant": ...,
                "python_accepts": bool, "python_reason": ...,
                "features": {"duplicate_member": bool, "lone_surrogate": bool,
                             "depth": int, "members": int, "padded": bool}}]}

The output is a function of --seed, --count, --now (keys included): RSA primes,
EC scalars, Ed25519 seeds and HMAC secrets come from the seeded generator and
ECDSA signs deterministically (RFC 6979). Only RSA-PSS salts are random, which
changes signature bytes but never a verdict.

Usage: differential.py --out FILE [--count 3000] [--seed 1] [--now EPOCH]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import sys
import warnings

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from joserfc.jwt import JWTClaimsRegistry

LEEWAY = 30
MAX_KEYS_TRIED_WITHOUT_KID = 4  # the same bound EdgeAuth's KeySet uses

ALGORITHMS = [
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA",
]
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
HASHLIB = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
CURVES = {
    "ES256": (ec.SECP256R1(), "P-256", 32,
              0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
    "ES384": (ec.SECP384R1(), "P-384", 48,
              0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973),
    "ES512": (ec.SECP521R1(), "P-521", 66,
              int("01FF" + "FFFFFFFF" * 7 + "FFFFFFFA" + "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16)),
}


# ---------------------------------------------------------------- encoding


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64_padded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64_int(value: int, length: int | None = None) -> str:
    if length is None:
        length = max(1, (value.bit_length() + 7) // 8)
    return b64(value.to_bytes(length, "big"))


def exponent_form(value: int) -> str:
    """The same integer in exponent notation: 1764003600 -> 1.7640036E+9."""
    digits = str(value)
    return digits[0] + "." + (digits[1:].rstrip("0") or "0") + "E+" + str(len(digits) - 1)


def json_bytes(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- keys


def _is_probable_prime(n: int, rng: random.Random) -> bool:
    if n < 2:
        return False
    for p in SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(40):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p ** 0.5) + 1))]


def _prime(bits: int, rng: random.Random, e: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (0b11 << (bits - 2)) | 1
        if (candidate - 1) % e != 0 and _is_probable_prime(candidate, rng):
            return candidate


def rsa_key(rng: random.Random, bits: int = 2048) -> rsa.RSAPrivateKey:
    """A reproducible RSA key: primes from the seeded generator."""
    e = 65537
    while True:
        p, q = _prime(bits // 2, rng, e), _prime(bits // 2, rng, e)
        if p != q and (p * q).bit_length() == bits:
            break
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q), iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def ec_key(alg: str, rng: random.Random) -> ec.EllipticCurvePrivateKey:
    curve, _, _, order = CURVES[alg]
    return ec.derive_private_key(rng.randrange(1, order), curve)


class Key:
    """One signing key with the JWK EdgeAuth and joserfc will both be given."""

    def __init__(self, alg: str, kid: str | None, material):
        self.alg = alg
        self.kid = kid
        self.material = material

    def sign(self, signing_input: bytes, alg: str | None = None) -> bytes:
        return sign(alg or self.alg, self.material, signing_input)

    def public_jwk(self) -> dict:
        alg, m = self.alg, self.material
        if alg.startswith("HS"):
            jwk = {"kty": "oct", "k": b64(m)}
        elif alg[:2] in ("RS", "PS"):
            numbers = m.public_key().public_numbers()
            jwk = {"kty": "RSA", "n": b64_int(numbers.n), "e": b64_int(numbers.e)}
        elif alg.startswith("ES"):
            _, crv, size, _ = CURVES[alg]
            numbers = m.public_key().public_numbers()
            jwk = {"kty": "EC", "crv": crv, "x": b64_int(numbers.x, size), "y": b64_int(numbers.y, size)}
        else:
            raw = m.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
        jwk.update({"kid": self.kid, "alg": alg, "use": "sig"})
        return jwk


def sign(alg: str, material, signing_input: bytes) -> bytes:
    family, bits = alg[:2], alg[2:]
    if family == "HS":
        return hmac.new(material, signing_input, HASHLIB[bits]).digest()
    if family == "RS":
        return material.sign(signing_input, padding.PKCS1v15(), HASHES[bits]())
    if family == "PS":
        h = HASHES[bits]
        return material.sign(signing_input, padding.PSS(mgf=padding.MGF1(h()), salt_length=h.digest_size), h())
    if family == "ES":
        size = CURVES[alg][2]
        try:
            signature_algorithm = ec.ECDSA(HASHES[bits](), deterministic_signing=True)
        except TypeError:  # cryptography < 43
            signature_algorithm = ec.ECDSA(HASHES[bits]())
        r, s = decode_dss_signature(material.sign(signing_input, signature_algorithm))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return material.sign(signing_input)


def make_keys(rng: random.Random) -> tuple[dict[str, Key], dict[str, Key], bytes]:
    """The trusted keys (one per algorithm, in the JWKS), look-alike keys that are
    not trusted (same kid, other material), and the RSA public key in PEM."""
    trusted_rsa, foreign_rsa = rsa_key(rng), rsa_key(rng)
    trusted: dict[str, Key] = {}
    foreign: dict[str, Key] = {}
    for alg in ALGORITHMS:
        kid = "key-" + alg.lower()
        if alg.startswith("HS"):
            length = int(alg[2:]) // 8 + rng.randrange(0, 16)  # at least the hash length
            trusted[alg] = Key(alg, kid, rng.randbytes(length))
            foreign[alg] = Key(alg, kid, rng.randbytes(length))
        elif alg[:2] in ("RS", "PS"):
            # One 2048-bit RSA key serves all six RSA algorithms, each entry bound to one alg.
            trusted[alg] = Key(alg, kid, trusted_rsa)
            foreign[alg] = Key(alg, kid, foreign_rsa)
        elif alg.startswith("ES"):
            trusted[alg] = Key(alg, kid, ec_key(alg, rng))
            foreign[alg] = Key(alg, kid, ec_key(alg, rng))
        else:
            trusted[alg] = Key(alg, kid, ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))
            foreign[alg] = Key(alg, kid, ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))
    pem = trusted_rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return trusted, foreign, pem


# ---------------------------------------------------------------- tokens


def compact(header: bytes, payload: bytes, signer, alg: str, *, padded: bool = False) -> str:
    """Signs raw header and payload bytes. `signer(signing_input, alg)` returns the signature."""
    enc = b64_padded if padded else b64
    signing_input = (enc(header) + "." + enc(payload)).encode("ascii")
    return signing_input.decode("ascii") + "." + b64(signer(signing_input, alg))


class Generator:
    def __init__(self, rng: random.Random, now: int, issuer: str, audience: str):
        self.rng = rng
        self.now = now
        self.issuer = issuer
        self.audience = audience
        self.keys, self.foreign, self.rsa_pem = make_keys(rng)

    # -- building blocks

    def claims(self, **overrides) -> dict:
        rng, now = self.rng, self.now
        claims = {
            "iss": self.issuer,
            "sub": "user-%d" % rng.randrange(1, 10**6),
            "aud": self.audience if rng.random() < 0.6 else [f"https://other-{rng.randrange(99)}.example", self.audience],
            "iat": now - rng.randrange(0, 600),
            "exp": now + rng.randrange(60, 7200),
        }
        if rng.random() < 0.3:
            claims["nbf"] = now - rng.randrange(0, 600)
        if rng.random() < 0.4:
            claims["scope"] = rng.choice(["read", "read write", "mcp:tools mcp:resources"])
        if rng.random() < 0.2:
            claims["jti"] = "%032x" % rng.getrandbits(128)
        if rng.random() < 0.2:
            claims["name"] = rng.choice(["Zoë Ångström", "李小龍", "O'Brien \"Bob\"", "tab\there"])
        for name, value in overrides.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def header(self, alg: str, kid=None, include_kid: bool = True, **extra) -> dict:
        header = {"alg": alg, "typ": "JWT"}
        if include_kid:
            header["kid"] = kid if kid is not None else self.keys[alg].kid
        header.update(extra)
        if self.rng.random() < 0.5:  # member order does not matter
            header = dict(reversed(list(header.items())))
        return header

    def token(self, alg: str, claims: dict | None = None, header: dict | None = None, key: Key | None = None) -> str:
        key = key or self.keys[alg]
        return compact(
            json_bytes(header if header is not None else self.header(alg)),
            json_bytes(claims if claims is not None else self.claims()),
            key.sign, alg,
        )

    def raw_token(self, alg: str, header: bytes, payload: bytes, *, padded: bool = False) -> str:
        return compact(header, payload, self.keys[alg].sign, alg, padded=padded)

    def alg(self) -> str:
        return self.rng.choice(ALGORITHMS)

    def flip(self, token: str, segment: int) -> str:
        """Changes one character of one segment (to another base64url character,
        or now and then to a byte outside the alphabet)."""
        parts = token.split(".")
        text = parts[segment]
        i = self.rng.randrange(len(text))
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        if self.rng.random() < 0.15:
            replacement = self.rng.choice("+/=!~ .")
        else:
            replacement = self.rng.choice(alphabet.replace(text[i], ""))
        parts[segment] = text[:i] + replacement + text[i + 1:]
        return ".".join(parts)

    # -- categories: each returns (token, variant) for the k-th case of the category

    def valid(self, k):
        alg = ALGORITHMS[k % len(ALGORITHMS)]
        variant = ["standard", "aud-array", "nbf-past", "no-iat", "extra-claims", "ecdsa-high-s"][(k // len(ALGORITHMS)) % 6]
        if variant == "aud-array":
            return self.token(alg, self.claims(aud=["https://a.example", self.audience, "https://b.example"])), variant
        if variant == "nbf-past":
            return self.token(alg, self.claims(nbf=self.now - 5)), variant
        if variant == "no-iat":
            return self.token(alg, self.claims(iat=DROP)), variant
        if variant == "extra-claims":
            extra = {"roles": ["admin", "user"], "org": {"id": 42, "tags": [True, None, 1.5]}, "client_id": "cli"}
            return self.token(alg, self.claims(**extra)), variant
        if variant == "ecdsa-high-s" and alg.startswith("ES"):
            # (r, n - s) is the other valid ECDSA signature for the same input.
            token = self.token(alg)
            head, _, sig = token.rpartition(".")
            raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
            size, order = CURVES[alg][2], CURVES[alg][3]
            s = int.from_bytes(raw[size:], "big")
            return head + "." + b64(raw[:size] + (order - s).to_bytes(size, "big")), variant
        return self.token(alg), "standard"

    def no_kid(self, k):
        alg = ALGORITHMS[k % len(ALGORITHMS)]
        variant = ["valid", "valid", "bad-signature", "expired", "foreign-key"][(k // len(ALGORITHMS)) % 5]
        header = self.header(alg, include_kid=False)
        if variant == "valid":
            return self.token(alg, header=header), variant
        if variant == "bad-signature":
            return self.flip(self.token(alg, header=header), 2), variant
        if variant == "expired":
            return self.token(alg, self.claims(exp=self.now - 3600, iat=self.now - 7200), header), variant
        return self.token(alg, header=header, key=self.foreign[alg]), variant

    def tampered_header(self, k):
        return self.flip(self.token(self.alg()), 0), "flip"

    def tampered_payload(self, k):
        return self.flip(self.token(self.alg()), 1), "flip"

    def tampered_signature(self, k):
        variant = ["flip", "flip", "flip", "truncate", "extend", "zero", "other-token", "ecdsa-out-of-range"][k % 8]
        if variant == "ecdsa-out-of-range":
            # r or s at or beyond the group order n, or r = 0: never a valid ECDSA signature.
            alg = self.rng.choice(["ES256", "ES384", "ES512"])
            head, _, sig = self.token(alg).rpartition(".")
            raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
            size, order = CURVES[alg][2], CURVES[alg][3]
            r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
            choice = k // 8 % 4
            if choice == 0 and (s + order).bit_length() <= 8 * size:
                r, s, variant = r, s + order, "ecdsa-s-plus-order"
            elif choice == 1 and (r + order).bit_length() <= 8 * size:
                r, s, variant = r + order, s, "ecdsa-r-plus-order"
            elif choice == 2:
                r, s, variant = r, order, "ecdsa-s-equals-order"
            else:
                r, s, variant = 0, s, "ecdsa-r-zero"
            return head + "." + b64(r.to_bytes(size, "big") + s.to_bytes(size, "big")), variant
        alg = self.alg()
        token = self.token(alg)
        head, _, sig = token.rpartition(".")
        if variant == "flip":
            return self.flip(token, 2), variant
        if variant == "truncate":
            return head + "." + sig[:-4], variant
        if variant == "extend":
            return head + "." + sig + "AAAA", variant
        if variant == "zero":
            raw_len = len(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
            return head + "." + b64(bytes(raw_len)), variant
        # The signature of another token from the same key.
        other = self.token(alg).rpartition(".")[2]
        return head + "." + other, variant

    def payload_swapped(self, k):
        """A payload re-encoded with changed claims, keeping the original signature."""
        alg = self.alg()
        claims = self.claims()
        token = self.token(alg, claims)
        header, _, signature = token.split(".")
        change = ["extend-exp", "sub", "aud", "scope", "add-claim"][k % 5]
        changed = dict(claims)
        if change == "extend-exp":
            changed["exp"] = claims["exp"] + 86400
        elif change == "sub":
            changed["sub"] = "admin"
        elif change == "aud":
            changed["aud"] = [self.audience, "https://evil.example"]
        elif change == "scope":
            changed["scope"] = "admin"
        else:
            changed["admin"] = True
        return header + "." + b64(json_bytes(changed)) + "." + signature, change

    def _window(self, claim: str, k: int, offsets: list[int], base: int):
        alg = self.alg()
        d = offsets[k % len(offsets)]
        value = base + d
        overrides = {claim: value}
        if claim == "exp":
            overrides["iat"] = min(self.now - 60, value - 60)
        if claim != "nbf":
            overrides["nbf"] = DROP
        return self.token(alg, self.claims(**overrides)), "%+d" % d

    def exp_window(self, k):
        # exp relative to now - leeway: expired when now - leeway >= exp.
        return self._window("exp", k, [-3600, -31, -2, -1, 0, 1, 2, 31, 3600], self.now - LEEWAY)

    def nbf_window(self, k):
        # nbf relative to now + leeway: not yet valid when now + leeway < nbf.
        return self._window("nbf", k, [-3600, -31, -2, -1, 0, 1, 2, 31, 3600], self.now + LEEWAY)

    def iat_window(self, k):
        # iat relative to now + leeway: issued in the future when now + leeway < iat.
        return self._window("iat", k, [-3600, -31, -2, -1, 0, 1, 2, 31, 3600], self.now + LEEWAY)

    def wrong_issuer(self, k):
        iss = self.issuer
        variants = [
            ("correct", iss),
            ("other-host", "https://evil.example/"),
            ("no-trailing-slash", iss.rstrip("/")),
            ("extra-trailing-slash", iss + "/"),
            ("uppercase", iss.upper()),
            ("prefix", iss + "tenant/"),
            ("trailing-space", iss + " "),
            ("missing", DROP),
            ("null", None),
            ("number", 42),
            ("array-with-issuer", [iss]),
            ("array-other", ["https://evil.example/"]),
        ]
        name, value = variants[k % len(variants)]
        return self.token(self.alg(), self.claims(iss=value)), name

    def wrong_audience(self, k):
        aud = self.audience
        variants = [
            ("string-correct", aud),
            ("array-correct", ["https://other.example", aud]),
            ("string-other", "https://other.example"),
            ("string-prefix", aud + "/v2"),
            ("string-case", aud.upper()),
            ("array-other", ["https://other.example", "https://third.example"]),
            ("array-empty", []),
            ("array-nested", [[aud]]),
            ("array-with-non-string", [aud, 7]),
            ("missing", DROP),
            ("null", None),
            ("number", 7),
            ("empty-string", ""),
        ]
        name, value = variants[k % len(variants)]
        return self.token(self.alg(), self.claims(aud=value)), name

    def foreign_key_same_kid(self, k):
        alg = ALGORITHMS[k % len(ALGORITHMS)]
        return self.token(alg, key=self.foreign[alg]), "foreign-" + alg

    def alg_switched(self, k):
        variants = ["keep-signature", "resign-same-material", "hmac-with-rsa-pem", "hmac-with-rsa-pem-no-kid",
                    "none", "none-with-signature", "lowercase", "fully-specified-Ed25519", "unknown"]
        variant = variants[k % len(variants)]
        alg = self.alg()
        if variant == "keep-signature":
            # Header alg replaced by another algorithm; kid and signature unchanged.
            other = self.rng.choice([a for a in ALGORITHMS if a != alg])
            token = self.token(alg)
            _, payload, signature = token.split(".")
            return b64(json_bytes(self.header(other, kid=self.keys[alg].kid))) + "." + payload + "." + signature, variant
        if variant == "resign-same-material":
            # The RSA material behind key-rs256 signs PS256 (or the reverse); the kid is bound to the other alg.
            signed_with = self.rng.choice(["PS256", "PS384", "PS512", "RS384", "RS512"])
            return self.token(signed_with, header=self.header(signed_with, kid="key-rs256")), variant
        if variant == "hmac-with-rsa-pem":
            # Classic confusion: HS256 keyed with the RSA public key's PEM, kid of the RSA key.
            header = self.header("HS256", kid="key-rs256")
            return compact(json_bytes(header), json_bytes(self.claims()),
                           lambda m, a: hmac.new(self.rsa_pem, m, hashlib.sha256).digest(), "HS256"), variant
        if variant == "hmac-with-rsa-pem-no-kid":
            header = self.header("HS256", include_kid=False)
            return compact(json_bytes(header), json_bytes(self.claims()),
                           lambda m, a: hmac.new(self.rsa_pem, m, hashlib.sha256).digest(), "HS256"), variant
        if variant == "none":
            header = self.header("none", kid=self.keys[alg].kid)
            return b64(json_bytes(header)) + "." + b64(json_bytes(self.claims())) + ".", variant
        if variant == "none-with-signature":
            token = self.token(alg)
            _, payload, signature = token.split(".")
            return b64(json_bytes(self.header("none", kid=self.keys[alg].kid))) + "." + payload + "." + signature, variant
        if variant == "lowercase":
            token = self.token(alg)
            _, payload, signature = token.split(".")
            header = self.header(alg.lower(), kid=self.keys[alg].kid)
            return b64(json_bytes(header)) + "." + payload + "." + signature, variant
        if variant == "fully-specified-Ed25519":
            # RFC 9864's "Ed25519" name, signed correctly with the Ed25519 key.
            header = self.header("Ed25519", kid=self.keys["EdDSA"].kid)
            return compact(json_bytes(header), json_bytes(self.claims()), self.keys["EdDSA"].sign, "EdDSA"), variant
        header = self.header("XS256", kid=self.keys[alg].kid)
        token = self.token(alg)
        return b64(json_bytes(header)) + "." + token.split(".", 1)[1], variant

    def unknown_kid(self, k):
        alg = self.alg()
        kid = self.keys[alg].kid
        variants = [("missing", "key-retired-%d" % k), ("case", kid.upper()), ("trailing-space", kid + " "),
                    ("empty", ""), ("prefix", kid[:-1])]
        name, value = variants[k % len(variants)]
        return self.token(alg, header=self.header(alg, kid=value)), name

    def numeric_forms(self, k):
        """NumericDate spellings: equal values written differently, fractions, and out-of-range values."""
        now, alg = self.now, self.alg()
        exp = now + 3600
        variants = [
            ("exp-exponent", lambda: self._raw_claims(alg, exp=exponent_form(exp))),
            ("exp-decimal", lambda: self._raw_claims(alg, exp="%d.0" % exp)),
            ("exp-fraction", lambda: self._raw_claims(alg, exp="%d.75" % exp)),
            ("exp-fraction-at-boundary", lambda: self._raw_claims(alg, exp="%d.5" % (now - LEEWAY))),
            ("exp-fraction-before-boundary", lambda: self._raw_claims(alg, exp="%d.5" % (now - LEEWAY - 1))),
            ("nbf-fraction-below-boundary", lambda: self._raw_claims(alg, nbf="%d.5" % (now + LEEWAY - 1))),
            ("nbf-fraction-at-boundary", lambda: self._raw_claims(alg, nbf="%d.5" % (now + LEEWAY))),
            ("iat-fraction-at-boundary", lambda: self._raw_claims(alg, iat="%d.25" % (now + LEEWAY))),
            ("exp-huge", lambda: self._raw_claims(alg, exp="1e20")),
            ("exp-infinite", lambda: self._raw_claims(alg, exp="1e400")),
            ("exp-year-10000", lambda: self._raw_claims(alg, exp="253402300800")),
            ("exp-year-9999", lambda: self._raw_claims(alg, exp="253402300799")),
            ("exp-string", lambda: self._raw_claims(alg, exp='"%d"' % exp)),
            ("exp-null", lambda: self._raw_claims(alg, exp="null")),
            ("exp-true", lambda: self._raw_claims(alg, exp="true")),
            ("nbf-negative", lambda: self._raw_claims(alg, nbf="-1")),
            ("nbf-true", lambda: self._raw_claims(alg, nbf="true")),
            ("iat-negative", lambda: self._raw_claims(alg, iat="-100")),
            ("iat-zero", lambda: self._raw_claims(alg, iat="0")),
        ]
        name, make = variants[k % len(variants)]
        return make(), name

    def _raw_claims(self, alg: str, **raw: str) -> str:
        """A payload whose listed members are spliced in as raw JSON text."""
        claims = self.claims(nbf=DROP)
        claims.update({name: "@@%s@@" % name for name in raw})
        text = json.dumps(claims, separators=(",", ":"), ensure_ascii=False)
        for name, value in raw.items():
            text = text.replace('"@@%s@@"' % name, value)
        return self.raw_token(alg, json_bytes(self.header(alg)), text.encode("utf-8"))

    def json_forms(self, k):
        now, alg = self.now, self.alg()
        good = self.claims()
        header = json_bytes(self.header(alg))
        body = json.dumps(good, separators=(",", ":"), ensure_ascii=False)[1:-1]
        variants = ["whitespace", "escaped-names", "unicode-escapes", "duplicate-claim-last-good",
                    "duplicate-claim-last-bad", "duplicate-header-member", "payload-array", "payload-string",
                    "payload-empty-object", "invalid-utf8", "unpaired-surrogate", "deep-nesting", "many-members",
                    "big-number-claim", "bom"]
        variant = variants[k % len(variants)]
        if variant == "whitespace":
            payload = json.dumps(good, indent=2, ensure_ascii=False).encode("utf-8")
        elif variant == "escaped-names":
            payload = ("{" + body.replace('"exp":', '"\\u0065xp":').replace('"iss":', '"i\\u0073s":') + "}").encode()
        elif variant == "unicode-escapes":
            payload = json.dumps(good, separators=(",", ":"), ensure_ascii=True).replace("https", "http\\u0073").encode()
        elif variant == "duplicate-claim-last-good":
            payload = ('{"iss":"https://evil.example/",' + body + "}").encode("utf-8")
        elif variant == "duplicate-claim-last-bad":
            payload = ("{" + body + ',"exp":%d}' % (now - 86400)).encode("utf-8")
        elif variant == "duplicate-header-member":
            kid = self.keys[alg].kid
            header = ('{"alg":"%s","kid":"key-unknown","kid":"%s"}' % (alg, kid)).encode()
            payload = json_bytes(good)
        elif variant == "payload-array":
            payload = json_bytes([good])
        elif variant == "payload-string":
            payload = json_bytes(json.dumps(good))
        elif variant == "payload-empty-object":
            payload = b"{}"
        elif variant == "invalid-utf8":
            payload = ("{" + body + ',"nickname":"').encode("utf-8") + b"\xc3\x28" + b'"}'
        elif variant == "unpaired-surrogate":
            payload = ("{" + body + ',"nickname":"\\ud800"}').encode("utf-8")
        elif variant == "deep-nesting":
            payload = ("{" + body + ',"deep":' + '{"a":' * 20 + "1" + "}" * 20 + "}").encode("utf-8")
        elif variant == "many-members":
            payload = ("{" + body + "," + ",".join('"c%d":%d' % (i, i) for i in range(300)) + "}").encode("utf-8")
        elif variant == "big-number-claim":
            payload = ("{" + body + ',"big":1e400,"long":123456789012345678901234567890}').encode("utf-8")
        else:  # byte order mark before the object
            payload = b"\xef\xbb\xbf" + json_bytes(good)
        return self.raw_token(alg, header, payload), variant

    def encoding_forms(self, k):
        alg = self.alg()
        variants = ["padded-signature", "padded-segments-signed", "noncanonical-signature-tail",
                    "standard-alphabet", "whitespace", "trailing-newline", "four-segments", "empty-signature"]
        variant = variants[k % len(variants)]
        if variant == "padded-signature" or variant == "noncanonical-signature-tail":
            # Pick an algorithm whose signature length leaves unused bits (not a multiple of 3).
            alg = self.rng.choice([a for a in ALGORITHMS if a not in ("HS384", "ES384", "ES512")])
        token = self.token(alg)
        head, _, sig = token.rpartition(".")
        if variant == "padded-signature":
            return head + "." + sig + "=" * (-len(sig) % 4), variant
        if variant == "padded-segments-signed":
            # Header and payload padded before signing: the signature is valid over the padded text.
            header = json_bytes(self.header(alg))
            payload = json_bytes(self.claims())
            while len(header) % 3 == 0:
                header += b" "
            while len(payload) % 3 == 0:
                payload += b" "
            return self.raw_token(alg, header, payload, padded=True), variant
        if variant == "noncanonical-signature-tail":
            # Same signature bytes, a last character with non-zero unused bits.
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            return head + "." + sig[:-1] + alphabet[alphabet.index(sig[-1]) | 1], variant
        if variant == "standard-alphabet":
            # Needs a '-' or '_' to rewrite; draw new claims until the token has one.
            while "-" not in token and "_" not in token:
                token = self.token(alg)
            return token.replace("-", "+").replace("_", "/"), variant
        if variant == "whitespace":
            i = token.index(".") + 1
            return token[:i] + " " + token[i:], variant
        if variant == "trailing-newline":
            return token + "\n", variant
        if variant == "four-segments":
            return token + "." + sig, variant
        return head + ".", variant


class Drop:
    def __repr__(self):
        return "DROP"


DROP = Drop()

CATEGORIES = [
    ("valid", 14),
    ("no_kid", 7),
    ("tampered_header", 6),
    ("tampered_payload", 6),
    ("tampered_signature", 8),
    ("payload_swapped", 6),
    ("exp_window", 8),
    ("nbf_window", 6),
    ("iat_window", 6),
    ("wrong_issuer", 6),
    ("wrong_audience", 7),
    ("foreign_key_same_kid", 6),
    ("alg_switched", 7),
    ("unknown_kid", 5),
    ("numeric_forms", 5),
    ("json_forms", 5),
    ("encoding_forms", 4),
]


def plan(count: int, rng: random.Random) -> list[str]:
    """`count` category labels in the CATEGORIES proportions (largest remainder), shuffled."""
    total = sum(weight for _, weight in CATEGORIES)
    quotas = [(name, count * weight / total) for name, weight in CATEGORIES]
    sizes = {name: int(q) for name, q in quotas}
    by_remainder = sorted(quotas, key=lambda item: item[1] - int(item[1]), reverse=True)
    for name, _ in by_remainder[: count - sum(sizes.values())]:
        sizes[name] += 1
    labels = [name for name, _ in CATEGORIES for _ in range(sizes[name])]
    rng.shuffle(labels)
    return labels


# ---------------------------------------------------------------- the independent verdict


class Judge:
    """Verifies tokens with joserfc under the policy the Swift test configures."""

    def __init__(self, jwks: dict, now: int, issuer: str, audience: str):
        self.keyset = KeySet.import_key_set(jwks)
        self.now = now
        self.claims_registry = JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},  # EdgeAuth's ValidationPolicy requires exp by default
        )

    def verdict(self, token: str, *, registry=None) -> tuple[bool, str]:
        """joserfc's verdict on the token. registry, when given, is a function of the
        algorithm list (None while the header is read, [alg of the key] while verifying)
        returning the JWSRegistry joserfc uses at that step; without it, joserfc's default."""
        value = token.encode("utf-8")
        try:
            header = extract_compact(value, registry=registry(None) if registry else None).headers()
        except (JoseError, ValueError, TypeError) as error:
            return False, type(error).__name__
        if "kid" in header:
            # joserfc's own selection: the key whose kid equals the header's.
            try:
                candidates = [self.keyset.get_by_kid(header["kid"])]
            except (JoseError, ValueError, TypeError) as error:
                return False, type(error).__name__
        else:
            # No kid: the keys bound to the header's alg, at most as many as EdgeAuth tries.
            candidates = [key for key in self.keyset.keys if key.alg == header.get("alg")]
            candidates = candidates[:MAX_KEYS_TRIED_WITHOUT_KID]
            if not candidates:
                return False, "NoKeyForAlgorithm"
        reason = "BadSignatureError"
        for key in candidates:
            try:
                decoded = jwt.decode(value, key, algorithms=[key.alg],
                                     registry=registry([key.alg]) if registry else None)
            except (JoseError, ValueError, TypeError) as error:
                reason = type(error).__name__
                continue
            if not isinstance(decoded.claims, dict):
                # jwt.decode returns any JSON payload; a JWT Claims Set is an object
                # (RFC 7519 §7.2) and JWTClaimsRegistry cannot validate anything else.
                return False, "PayloadNotObject"
            try:
                self.claims_registry.validate(decoded.claims)
            except (JoseError, ValueError, TypeError) as error:
                return False, type(error).__name__ + (":" + error.description if getattr(error, "description", None) else "")
            return True, "ok"
        return False, reason


# ---------------------------------------------------------------- features

# The JSON limits of EdgeAuth's default TokenLimits.
MAX_DEPTH = 16
MAX_MEMBERS = 256


def _segment_json(segment: str):
    """A header or payload segment decoded and read with Python's json, or None."""
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(data, object_pairs_hook=lambda pairs: pairs)
    except (ValueError, RecursionError):
        return None


def features(token: str) -> dict:
    """What the token contains, found here independently of EdgeAuth, so that the
    Swift side explains a disagreement only by a property the token really has:
    duplicate member names, a lone surrogate, nesting (the top-level object is
    depth 1) or object members in one document beyond EdgeAuth's limits, base64
    padding."""
    found = {"duplicate_member": False, "lone_surrogate": False, "depth": 0, "members": 0,
             "padded": "=" in token}

    def has_lone_surrogate(text: str) -> bool:
        return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)

    def walk(value, depth: int) -> int:
        """Object members in `value`, all levels."""
        members = 0
        if isinstance(value, list) and _is_pairs(value):
            found["depth"] = max(found["depth"], depth)
            names = [name for name, _ in value]
            found["duplicate_member"] |= len(set(names)) != len(names)
            members = len(names)
            for name, item in value:
                found["lone_surrogate"] |= has_lone_surrogate(name)
                members += walk(item, depth + 1)
        elif isinstance(value, list):
            found["depth"] = max(found["depth"], depth)
            for item in value:
                members += walk(item, depth + 1)
        elif isinstance(value, str):
            found["lone_surrogate"] |= has_lone_surrogate(value)
        return members

    for segment in token.split(".")[:2]:
        parsed = _segment_json(segment)
        if parsed is not None:
            found["members"] = max(found["members"], walk(parsed, 1))
    return found


def _is_pairs(value: list) -> bool:
    # object_pairs_hook returns a list of (name, value) tuples; a JSON array is a list
    # of values, never of tuples (an empty list counts as an object: either adds no names).
    return all(isinstance(pair, tuple) and len(pair) == 2 for pair in value)


# ---------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output JSON file")
    parser.add_argument("--count", type=int, default=3000, help="number of tokens (default 3000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--now", type=int, default=1_764_000_000, help="verification time, seconds since the epoch")
    parser.add_argument("--issuer", default="https://issuer.example/")
    parser.add_argument("--audience", default="https://api.example")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be positive")

    warnings.simplefilter("ignore")  # joserfc's SecurityWarning for some algorithms
    rng = random.Random(args.seed)
    generator = Generator(rng, args.now, args.issuer, args.audience)
    jwks = {"keys": [key.public_jwk() for key in generator.keys.values()]}
    judge = Judge(jwks, args.now, args.issuer, args.audience)

    counters: dict[str, int] = {}
    cases = []
    for category in plan(args.count, rng):
        k = counters.get(category, 0)
        counters[category] = k + 1
        token, variant = getattr(generator, category)(k)
        accepts, reason = judge.verdict(token)
        cases.append({
            "token": token,
            "category": category,
            "variant": variant,
            "python_accepts": accepts,
            "python_reason": reason,
            "features": features(token),
        })

    document = {
        "now": args.now,
        "issuer": args.issuer,
        "audience": args.audience,
        "leeway": LEEWAY,
        "seed": args.seed,
        "jwks": jwks,
        "cases": cases,
    }
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=True, separators=(",", ":"))
        out.write("\n")
    accepted = sum(case["python_accepts"] for case in cases)
    print(f"wrote {len(cases)} cases ({accepted} accepted by joserfc) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
