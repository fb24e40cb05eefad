#!/usr/bin/env python3
"""Generates the EdgeAuth benchmark data set in this directory.

    python3 bench-data/generate.py            # keep existing keys, (re)write the rest
    python3 bench-data/generate.py --new-keys # new keys (every token changes)

Writes:
  keys/<name>.pem         PKCS#8 private keys: rsa-2048, p-256, p-384, p-521, ed25519
  keys/hmac.secret        a 64-character ASCII HMAC secret (no trailing newline)
  jwks.json               the public keys, one JWK per algorithm (kid, use "sig", alg)
  jwks-with-hmac.json     jwks.json plus the HMAC secret as "oct" keys (benchmarks only)
  tokens/<shape>-<alg>.jwt  Auth0- and Keycloak-shaped access tokens, one line, no newline

Keys are reused when present, so re-running only rewrites derived files.
Signatures are deterministic for HMAC, RSA PKCS#1 v1.5, ECDSA (RFC 6979) and
Ed25519. RSA-PSS signatures are salted; an existing PSS token is kept when its
header and payload are unchanged and it still verifies, so a re-run changes
nothing unless the keys or claims changed.

Needs Python 3 and `cryptography` (42 or newer, for deterministic ECDSA).
"""

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import string
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ROOT = Path(__file__).resolve().parent
KEYS = ROOT / "keys"
TOKENS = ROOT / "tokens"

IAT = 1_764_000_000
EXP = IAT + 86_400
TOKEN_BYTES = range(600, 1001)  # every token is 600..1000 bytes

AUTH0_ISSUER = "https://edgeauth-bench.us.auth0.com/"
KEYCLOAK_ISSUER = "https://sso.edgeauth.test/realms/bench"
API_AUDIENCE = "https://api.edgeauth.test"

# Algorithm -> (key file name, hash)
ALGORITHMS = {
    "HS256": ("hmac", hashes.SHA256),
    "HS384": ("hmac", hashes.SHA384),
    "HS512": ("hmac", hashes.SHA512),
    "RS256": ("rsa-2048", hashes.SHA256),
    "RS384": ("rsa-2048", hashes.SHA384),
    "RS512": ("rsa-2048", hashes.SHA512),
    "PS256": ("rsa-2048", hashes.SHA256),
    "PS384": ("rsa-2048", hashes.SHA384),
    "PS512": ("rsa-2048", hashes.SHA512),
    "ES256": ("p-256", hashes.SHA256),
    "ES384": ("p-384", hashes.SHA384),
    "ES512": ("p-521", hashes.SHA512),
    "EdDSA": ("ed25519", None),
}

CURVES = {"p-256": ec.SECP256R1, "p-384": ec.SECP384R1, "p-521": ec.SECP521R1}
CURVE_NAMES = {"p-256": "P-256", "p-384": "P-384", "p-521": "P-521"}
COORDINATE_BYTES = {"p-256": 32, "p-384": 48, "p-521": 66}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_bytes(value: int, length: int | None = None) -> bytes:
    length = length or max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- keys


def generate_private_key(name: str):
    if name == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if name in CURVES:
        return ec.generate_private_key(CURVES[name]())
    if name == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(name)


def load_or_create_keys(new_keys: bool):
    KEYS.mkdir(parents=True, exist_ok=True)
    keys = {}
    for name in ["rsa-2048", "p-256", "p-384", "p-521", "ed25519"]:
        path = KEYS / f"{name}.pem"
        if path.exists() and not new_keys:
            keys[name] = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            key = generate_private_key(name)
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            keys[name] = key
    secret_path = KEYS / "hmac.secret"
    if secret_path.exists() and not new_keys:
        secret = secret_path.read_bytes().rstrip(b"\n")
    else:
        alphabet = string.ascii_letters + string.digits + "-_"
        secret = "".join(secrets.choice(alphabet) for _ in range(64)).encode("ascii")
        secret_path.write_bytes(secret)
    if len(secret) != 64 or not secret.isascii():
        sys.exit(f"{secret_path}: expected a 64-character ASCII secret")
    keys["hmac"] = secret
    return keys


def public_jwk_members(name: str, key) -> dict:
    """The RFC 7638 required members of the public key, in lexicographic order."""
    if name == "rsa-2048":
        numbers = key.public_key().public_numbers()
        return {"e": b64url(int_bytes(numbers.e)), "kty": "RSA", "n": b64url(int_bytes(numbers.n))}
    if name in CURVES:
        numbers = key.public_key().public_numbers()
        size = COORDINATE_BYTES[name]
        return {
            "crv": CURVE_NAMES[name],
            "kty": "EC",
            "x": b64url(int_bytes(numbers.x, size)),
            "y": b64url(int_bytes(numbers.y, size)),
        }
    if name == "ed25519":
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
    if name == "hmac":
        return {"k": b64url(key), "kty": "oct"}
    raise ValueError(name)


def key_id(name: str, key, alg: str) -> str:
    """First 128 bits of SHA-256 over the RFC 7638 thumbprint input and the algorithm, base64url (22 characters).

    One RSA key serves six algorithms and one HMAC secret three; binding the
    kid to the algorithm keeps every JWK's kid unique.
    """
    thumbprint_input = compact_json(public_jwk_members(name, key))
    return b64url(hashlib.sha256(thumbprint_input + b"." + alg.encode("ascii")).digest()[:16])


def jwk(name: str, key, alg: str) -> dict:
    members = public_jwk_members(name, key)
    return {"kty": members["kty"], "kid": key_id(name, key, alg), "use": "sig", "alg": alg, **{
        k: v for k, v in members.items() if k != "kty"
    }}


# ---------------------------------------------------------------- tokens


def auth0_claims() -> dict:
    return {
        "https://edgeauth.test/roles": ["admin", "operator"],
        "iss": AUTH0_ISSUER,
        "sub": "auth0|6651f0c2a5b8e3d4f7a90b12",
        "aud": [API_AUDIENCE, AUTH0_ISSUER + "userinfo"],
        "iat": IAT,
        "exp": EXP,
        "scope": "openid profile email read:tools call:tools",
        "azp": "q7bKd2LmN9pRs4TvW8yZa1Bc3De5FgHj",
        "gty": "password",
        "permissions": ["call:tools", "read:resources", "read:tools"],
    }


def keycloak_claims() -> dict:
    return {
        "exp": EXP,
        "iat": IAT,
        "iss": KEYCLOAK_ISSUER,
        "aud": API_AUDIENCE,
        "sub": "8d6f0b3e-2a41-4c9f-b7d2-5e1a9c03f6b8",
        "typ": "Bearer",
        "azp": "mcp-client",
        "sid": "c41e7f09-6b2d-4e83-a5f1-9d0b2c7e8a36",
        "realm_access": {"roles": ["user"]},
        "resource_access": {"mcp-api": {"roles": ["invoke"]}},
        "scope": "openid email",
        "name": "Ada Lovelace",
        "preferred_username": "ada",
        "email": "ada@edgeauth.test",
    }


SHAPES = {"auth0": auth0_claims, "keycloak": keycloak_claims}


def header(alg: str, kid: str | None) -> dict:
    # HMAC tokens carry no kid (as Auth0 issues them), so a secret configured
    # without a kid (`edgeauth verify --hmac-secret-file`) verifies them.
    value = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        value["kid"] = kid
    return value


def sign(alg: str, key, signing_input: bytes) -> bytes:
    key_name, hash_type = ALGORITHMS[alg]
    if alg.startswith("HS"):
        return hmac.new(key, signing_input, hash_type.name).digest()
    if alg.startswith("RS"):
        return key.sign(signing_input, padding.PKCS1v15(), hash_type())
    if alg.startswith("PS"):
        pss = padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=hash_type.digest_size)
        return key.sign(signing_input, pss, hash_type())
    if alg.startswith("ES"):
        der = key.sign(signing_input, ec.ECDSA(hash_type(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        size = COORDINATE_BYTES[key_name]
        return int_bytes(r, size) + int_bytes(s, size)
    if alg == "EdDSA":
        return key.sign(signing_input)
    raise ValueError(alg)


def verifies(alg: str, key, signing_input: bytes, signature: bytes) -> bool:
    key_name, hash_type = ALGORITHMS[alg]
    try:
        if alg.startswith("HS"):
            return hmac.compare_digest(hmac.new(key, signing_input, hash_type.name).digest(), signature)
        public = key.public_key()
        if alg.startswith("RS"):
            public.verify(signature, signing_input, padding.PKCS1v15(), hash_type())
        elif alg.startswith("PS"):
            pss = padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=hash_type.digest_size)
            public.verify(signature, signing_input, pss, hash_type())
        elif alg.startswith("ES"):
            size = COORDINATE_BYTES[key_name]
            if len(signature) != 2 * size:
                return False
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            public.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hash_type()))
        else:
            public.verify(signature, signing_input)
        return True
    except InvalidSignature:
        return False


def write_token(path: Path, alg: str, key, signing_input: bytes) -> str:
    """Writes the token unless the existing one has the same signing input and verifies."""
    if path.exists():
        existing = path.read_text(encoding="ascii")
        head, _, signature = existing.rpartition(".")
        if head.encode("ascii") == signing_input and verifies(alg, key, signing_input, b64url_decode(signature)):
            return existing
    token = signing_input.decode("ascii") + "." + b64url(sign(alg, key, signing_input))
    path.write_text(token, encoding="ascii")  # one line, no trailing newline
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--new-keys", action="store_true", help="generate new keys instead of reusing keys/*")
    args = parser.parse_args()

    keys = load_or_create_keys(args.new_keys)
    TOKENS.mkdir(parents=True, exist_ok=True)

    public_keys = []
    hmac_keys = []
    for alg, (key_name, _) in ALGORITHMS.items():
        entry = jwk(key_name, keys[key_name], alg)
        (hmac_keys if key_name == "hmac" else public_keys).append(entry)

    def write_json(path: Path, value) -> None:
        path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")

    write_json(ROOT / "jwks.json", {"keys": public_keys})
    write_json(ROOT / "jwks-with-hmac.json", {"keys": public_keys + hmac_keys})

    sizes = []
    for shape, claims in SHAPES.items():
        payload = b64url(compact_json(claims()))
        for alg, (key_name, _) in ALGORITHMS.items():
            key = keys[key_name]
            kid = None if key_name == "hmac" else key_id(key_name, key, alg)
            signing_input = (b64url(compact_json(header(alg, kid))) + "." + payload).encode("ascii")
            token = write_token(TOKENS / f"{shape}-{alg.lower()}.jwt", alg, key, signing_input)
            sizes.append((f"{shape}-{alg.lower()}", len(token)))

    bad = [(name, size) for name, size in sizes if size not in TOKEN_BYTES]
    for name, size in sizes:
        print(f"tokens/{name}.jwt  {size} bytes")
    if bad:
        sys.exit(f"tokens outside {TOKEN_BYTES.start}..{TOKEN_BYTES.stop - 1} bytes: {bad}")


if __name__ == "__main__":
    main()
