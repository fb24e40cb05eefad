"""The typed API over libedgeauth: Verifier, Identity, Rejected, EdgeAuthError."""

from __future__ import annotations

import ctypes
import json
import os
import threading
from collections.abc import Mapping
from ctypes import c_int32, c_int64, c_size_t, c_uint64, c_void_p
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Callable, TypeVar, Union

from . import _native
from ._native import library

__all__ = [
    "CacheStatistics", "Config", "EdgeAuthError", "Identity", "KeyStatistics", "Rejected", "Status",
    "Token", "VERDICT_VALID", "Verifier", "reason_code", "reason_description", "version",
]

Token = Union[str, bytes, bytearray, memoryview]
"""A bearer token without the "Bearer " prefix: text, or its bytes."""

Config = Union[Mapping[str, Any], str, bytes, "os.PathLike[str]"]
"""A verifier configuration: a mapping, JSON text, or the path of a JSON file."""

VERDICT_VALID = 0
_T = TypeVar("_T")
_MAX_NOW = 253402300799  # the year 9999, the largest `now` the library accepts


class Status(IntEnum):
    """The status of a fallible call (EDGEAUTH_OK and the EDGEAUTH_ERR_* codes)."""

    OK = 0
    INVALID_ARGUMENT = -1
    CONFIG = -2
    KEYS = -3
    NOT_FOUND = -4
    NO_MEMORY = -5
    INTERNAL = -6
    CACHE = -7


# EDGEAUTH_CACHE_* and EDGEAUTH_KEYS_* of the header, by field name.
_CACHE_STATISTICS = {
    "hits": 1, "negative_hits": 2, "misses": 3, "stores": 4, "errors": 5, "l1_hits": 6,
    "skipped_stores": 7, "evictions": 8, "fill_permille": 9,
}
_KEY_STATISTICS = {
    "remote_sets": 1, "stale_sets": 2, "unavailable_sets": 3, "oldest_age": 4, "fetches": 5, "fetch_failures": 6,
}


def version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    text: bytes = ctypes.string_at(library().edgeauth_version(None, None, None))
    return text.decode()


def reason_code(verdict: int) -> str:
    """The stable text code of a verdict, as the C ABI gives it: "valid", "expired",
    "badSignature", "malformed.segmentCount", ... ("unknown" for a code this library
    does not know)."""
    text: bytes = library().edgeauth_verdict_string(verdict)
    return text.decode()


def reason_description(verdict: int) -> str:
    """The library's one-line, operator-facing description of a verdict code."""
    text: bytes = library().edgeauth_verdict_description(verdict)
    return text.decode()


class EdgeAuthError(Exception):
    """A call into the library failed (a status other than EDGEAUTH_OK): an invalid
    configuration, keys that could not be loaded, a cache that could not be opened.
    A rejected token is not an error: see `Rejected`."""

    status: int
    message: str

    def __init__(self, status: int, message: str = "") -> None:
        self.status = status
        self.message = message
        name = library().edgeauth_status_string(status).decode()
        super().__init__(f"{name}: {message}" if message else name)

    @property
    def status_name(self) -> str:
        """The library's text for the status ("invalid configuration", ...)."""
        text: bytes = library().edgeauth_status_string(self.status)
        return text.decode()


class Rejected(Exception):
    """The token was verified and rejected.

    `reason_code` is the verdict's text code exactly as the C ABI gives it
    (`edgeauth_verdict_string`: "expired", "wrongAudience", "malformed.whitespace", ...),
    `description` the library's one-line description of that code, `verdict` its number.
    Neither says anything about the token's values; `Verifier.explain()` does, for logs.
    """

    reason_code: str
    description: str
    verdict: int

    def __init__(self, reason_code: str, description: str, verdict: int = -1) -> None:
        super().__init__(reason_code, description)
        self.reason_code = reason_code
        self.description = description
        self.verdict = verdict

    @property
    def malformed(self) -> bool:
        """True when the token is not a well-formed compact JWT (verdicts 101-199)."""
        return 100 < self.verdict < 200

    def __str__(self) -> str:
        return f"{self.reason_code}: {self.description}"

    def __repr__(self) -> str:
        return f"Rejected({self.reason_code!r}, {self.description!r})"


@dataclass(frozen=True)
class Identity:
    """The verified user of a valid token. Every value is copied out of the library when
    the token is verified: an Identity is a plain, immutable value that any thread may
    read and that outlives its verifier.

    Roles, permissions and scopes come from the configured claim mapping (without a
    provider: `roles`, `permissions`, and `scope` split on spaces or an `scp` array).
    """

    subject: str
    """`sub`; "" when the token has none."""
    issuer: str
    """`iss`; "" only with "anyIssuer"."""
    audience: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    client_id: str | None = None
    """`client_id`, else `azp`."""
    email: str | None = None
    name: str | None = None
    username: str | None = None
    """`preferred_username`."""
    picture: str | None = None
    organization: str | None = None
    """`org_id`."""
    token_id: str | None = None
    """`jti`."""
    expires_at: int | None = None
    """`exp`, seconds since the epoch."""
    issued_at: int | None = None
    """`iat`, seconds since the epoch."""
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """The token's whole claims set (decoded JSON)."""

    def has_role(self, role: str) -> bool:
        """True when the identity has exactly this role (case-sensitive)."""
        return role in self.roles

    def has_permission(self, permission: str) -> bool:
        """True when the identity has exactly this permission (case-sensitive)."""
        return permission in self.permissions

    def has_scope(self, scope: str) -> bool:
        """True when the token grants exactly this scope (case-sensitive)."""
        return scope in self.scopes

    def has_scopes(self, *scopes: str) -> bool:
        """True when the token grants every one of these scopes."""
        return all(scope in self.scopes for scope in scopes)

    def claim(self, name: str, default: Any = None) -> Any:
        """A top-level claim (decoded JSON), or `default` when the token does not carry it."""
        return self.claims.get(name, default)

    def claim_at(self, pointer: str, default: Any = None) -> Any:
        """The claim at an RFC 6901 JSON pointer ("/realm_access/roles",
        "/resource_access/mcp-api/roles/0"), or `default` when there is none."""
        if pointer == "":
            return self.claims
        if not pointer.startswith("/"):
            return default
        value: Any = self.claims
        for raw in pointer[1:].split("/"):
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(value, Mapping):
                if token not in value:
                    return default
                value = value[token]
            elif isinstance(value, list):
                if not token.isdigit() or (len(token) > 1 and token[0] == "0") or int(token) >= len(value):
                    return default
                value = value[int(token)]
            else:
                return default
        return value

    def to_dict(self) -> dict[str, Any]:
        """The identity as a JSON-compatible dict (lists for the tuples)."""
        out = asdict(self)
        for key in ("audience", "scopes", "roles", "permissions"):
            out[key] = list(out[key])
        out["claims"] = dict(self.claims)
        return out


@dataclass(frozen=True)
class CacheStatistics:
    """Counters of the shared verdict cache since this process opened it (shared by the
    process's verifiers of one cache directory), and the verifier's own in-memory hits."""

    hits: int
    negative_hits: int
    misses: int
    stores: int
    errors: int
    l1_hits: int
    skipped_stores: int
    evictions: int
    fill_permille: int
    """How full the map is, in thousandths (host-wide)."""


@dataclass(frozen=True)
class KeyStatistics:
    """The state of the verifier's remote key sets, for health checks (all 0 with fixed keys)."""

    remote_sets: int
    stale_sets: int
    unavailable_sets: int
    oldest_age: int
    """Seconds since the oldest set was fetched."""
    fetches: int
    fetch_failures: int


def _token_bytes(token: Token) -> bytes:
    if isinstance(token, str):
        return token.encode("utf-8")
    return bytes(token)


def _config_bytes(config: Config) -> bytes:
    if isinstance(config, Mapping):
        return json.dumps(config).encode("utf-8")
    if isinstance(config, os.PathLike):
        return Path(config).read_bytes()
    if isinstance(config, (bytes, bytearray, memoryview)):
        return bytes(config)
    if isinstance(config, str):
        if config.lstrip().startswith("{"):
            return config.encode("utf-8")
        return Path(config).read_bytes()
    raise TypeError(f"a configuration is a mapping, JSON text or a path, not {type(config).__name__}")


def _now(now: int | None) -> int:
    if now is None:
        return 0
    if not 0 <= now <= _MAX_NOW:
        raise ValueError(f"now must be between 0 and {_MAX_NOW} (seconds since the epoch), not {now}")
    return int(now)


def _identity_from_handle(handle: c_void_p) -> Identity:
    # Two calls into the library: the identity's fields as one JSON document, then the claims.
    lib = library()
    fields = json.loads(_json_text(lambda out, length: lib.edgeauth_identity_json(handle, out, length)))
    claims = json.loads(_json_text(lambda out, length: lib.edgeauth_identity_claim_pointer_json(handle, b"", 0, out, length)))
    return Identity(
        subject=fields.get("id", ""),
        issuer=fields.get("issuer", ""),
        audience=tuple(fields.get("audience", ())),
        scopes=tuple(fields.get("scopes", ())),
        roles=tuple(fields.get("roles", ())),
        permissions=tuple(fields.get("permissions", ())),
        client_id=fields.get("clientId"),
        email=fields.get("email"),
        name=fields.get("name"),
        username=fields.get("username"),
        picture=fields.get("picture"),
        organization=fields.get("organization"),
        token_id=fields.get("tokenId"),
        expires_at=fields.get("expiresAt"),
        issued_at=fields.get("issuedAt"),
        claims=claims,
    )


def _json_text(call: Callable[[Any, Any], int]) -> str:
    """The JSON text a function of the library writes through its `&text, &length` arguments."""
    out, out_length = c_void_p(), c_size_t()
    status = call(ctypes.byref(out), ctypes.byref(out_length))
    if status != Status.OK:
        raise EdgeAuthError(status)
    return _native.take_string(out, out_length.value)


class Verifier:
    """A configured verifier: policy and keys (docs/c-api.md, "Configuration").

    `config` is a mapping, JSON text (a str starting with "{", or bytes) or the path of a
    JSON file (a str or os.PathLike). Relative paths inside it (jwksFile, pemFile, ...)
    are resolved by the library against the process's working directory.

    One verifier serves any number of threads at once (the library's verifier is
    immutable and its cache synchronizes itself; ctypes releases the GIL during each
    call). `close()` waits for no one: it frees the library's verifier once the
    verifications in progress have returned, and later calls raise ValueError.
    Create verifiers after fork(), not before, when they use a shared cache.
    """

    def __init__(self, config: Config) -> None:
        self._handle: c_void_p | None = None
        self._lock = threading.Lock()
        self._in_use = 0
        self._closing = False
        document = _config_bytes(config)
        handle, error = c_void_p(), c_void_p()
        status = library().edgeauth_verifier_new(document, len(document), ctypes.byref(handle), ctypes.byref(error))
        if status != Status.OK:
            raise EdgeAuthError(status, _native.take_string(error) if error.value else "")
        self._handle = handle
        self.has_remote_keys: bool = self.key_statistics().remote_sets > 0
        """Whether a key set is downloaded (jwksURL, a provider): a verification may then
        wait for a refresh, and the async methods run it in a worker thread."""

    # -- lifetime -------------------------------------------------------------

    def _acquire(self) -> c_void_p:
        with self._lock:
            if self._handle is None or self._closing:
                raise ValueError("the verifier is closed")
            self._in_use += 1
            return self._handle

    def _release(self) -> None:
        with self._lock:
            self._in_use -= 1
            if self._closing and self._in_use == 0:
                self._free_locked()

    def _free_locked(self) -> None:
        if self._handle is not None:
            library().edgeauth_verifier_free(self._handle)
            self._handle = None

    def close(self) -> None:
        """Releases the library's verifier (after the verifications in progress)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if self._in_use == 0:
                self._free_locked()

    @property
    def closed(self) -> bool:
        return self._closing

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # -- verifying --------------------------------------------------------------

    def verify(self, token: Token, *, now: int | None = None) -> Identity:
        """Verifies a bearer token (without "Bearer ") and returns its identity, or raises
        `Rejected`. `now`: seconds since the epoch to verify at; None uses the clock."""
        data = _token_bytes(token)
        at = _now(now)
        verdict, identity = c_int32(-1), c_void_p()
        handle = self._acquire()
        try:
            status = library().edgeauth_verify(handle, data, len(data), at, ctypes.byref(verdict), ctypes.byref(identity))
        finally:
            self._release()
        if status != Status.OK:
            raise EdgeAuthError(status)
        if verdict.value != VERDICT_VALID:
            raise Rejected(reason_code(verdict.value), reason_description(verdict.value), verdict.value)
        try:
            return _identity_from_handle(identity)
        finally:
            library().edgeauth_identity_free(identity)

    def is_valid(self, token: Token, *, now: int | None = None) -> bool:
        """Whether the token is valid, without building its identity."""
        data = _token_bytes(token)
        at = _now(now)
        verdict = c_int32(-1)
        handle = self._acquire()
        try:
            status = library().edgeauth_verify(handle, data, len(data), at, ctypes.byref(verdict), None)
        finally:
            self._release()
        if status != Status.OK:
            raise EdgeAuthError(status)
        return verdict.value == VERDICT_VALID

    async def verify_async(self, token: Token, *, now: int | None = None, offload: bool | None = None) -> Identity:
        """`verify()` for async code. With fixed keys a verification never waits on the
        network and runs inline (microseconds); with remote key sets it may wait for a
        key refresh, so by default it then runs in a worker thread. `offload` forces
        either."""
        if offload is None:
            offload = self.has_remote_keys
        if not offload:
            return self.verify(token, now=now)
        return await _run_in_thread(lambda: self.verify(token, now=now))

    def explain(self, token: Token, *, now: int | None = None) -> str:
        """"valid", or the reason code and the rejection with the values involved, e.g.
        'wrongAudience: aud is ["account"], expected one of [...]'. For logs, not the
        request path (it verifies the token again)."""
        data = _token_bytes(token)
        at = _now(now)
        verdict, text = c_int32(-1), c_void_p()
        handle = self._acquire()
        try:
            status = library().edgeauth_explain(handle, data, len(data), at, ctypes.byref(verdict), ctypes.byref(text))
        finally:
            self._release()
        if status != Status.OK:
            raise EdgeAuthError(status)
        return _native.take_string(text)

    # -- revocation ---------------------------------------------------------------

    def revoke(self, token: Token, until: int) -> None:
        """Rejects this token (as "revoked") on every process sharing the cache, for
        verifiers of the same configuration, until `until` (pick its `exp`)."""
        data = _token_bytes(token)
        handle = self._acquire()
        try:
            status = library().edgeauth_verifier_revoke_token(handle, data, len(data), until)
        finally:
            self._release()
        if status != Status.OK:
            raise EdgeAuthError(status)

    def revoke_token_id(self, token_id: str, until: int) -> None:
        """Rejects every token whose `jti` is `token_id` on every process sharing the
        cache directory, until `until`."""
        data = token_id.encode("utf-8")
        handle = self._acquire()
        try:
            status = library().edgeauth_verifier_revoke_token_id(handle, data, len(data), until)
        finally:
            self._release()
        if status != Status.OK:
            raise EdgeAuthError(status)

    # -- state ---------------------------------------------------------------------

    @property
    def key_count(self) -> int:
        """The number of verification keys in use now."""
        handle = self._acquire()
        try:
            return int(library().edgeauth_verifier_key_count(handle))
        finally:
            self._release()

    @property
    def warnings(self) -> list[str]:
        """Messages for the keys that were skipped while loading."""
        lib = library()
        handle = self._acquire()
        try:
            out = []
            length = c_size_t()
            for index in range(lib.edgeauth_verifier_warning_count(handle)):
                pointer = lib.edgeauth_verifier_warning(handle, index, ctypes.byref(length))
                out.append(_native.read_text(pointer, length.value) or "")
            return out
        finally:
            self._release()

    def cache_statistics(self) -> CacheStatistics | None:
        """The cache counters, or None when the configuration has no "cache"."""
        values = self._statistics("edgeauth_verifier_cache_statistic", _CACHE_STATISTICS)
        return None if values is None else CacheStatistics(**values)

    def key_statistics(self) -> KeyStatistics:
        """The state of the remote key sets (all 0 with fixed keys only)."""
        values = self._statistics("edgeauth_verifier_key_statistic", _KEY_STATISTICS)
        assert values is not None
        return KeyStatistics(**values)

    def _statistics(self, function: str, codes: dict[str, int]) -> dict[str, int] | None:
        call = getattr(library(), function)
        handle = self._acquire()
        try:
            out = {}
            value = c_uint64()
            for name, code in codes.items():
                status = call(handle, code, ctypes.byref(value))
                if status == Status.NOT_FOUND:
                    return None
                if status != Status.OK:
                    raise EdgeAuthError(status)
                out[name] = int(value.value)
            return out
        finally:
            self._release()


async def _run_in_thread(function: Callable[[], _T]) -> _T:
    try:
        import anyio.to_thread
    except ImportError:  # plain asyncio without anyio installed
        import asyncio

        return await asyncio.to_thread(function)
    return await anyio.to_thread.run_sync(function)
