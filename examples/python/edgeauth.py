"""A ctypes binding for libedgeauth, EdgeAuth's C library (include/edgeauth.h).

    import edgeauth

    verifier = edgeauth.Verifier({
        "issuers": ["https://issuer.example/"],
        "audiences": ["https://api.example"],
        "keys": [{"jwksURL": "https://issuer.example/.well-known/jwks.json"}],
    })
    result = verifier.verify(token)          # str or bytes, without "Bearer "
    if result.valid:
        print(result.identity.subject, result.identity.has_scope("read:tools"))
    else:
        print("rejected:", result.verdict_name)   # "expired", "badSignature", ...

The library is found through $EDGEAUTH_LIBRARY (a path), then the system's
library search (ctypes.util.find_library), then `pkg-config --variable=libdir
edgeauth`. Every call releases the GIL while the library works, so threads
verify in parallel; a Verifier and an Identity may be shared between threads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import subprocess
from ctypes import POINTER, c_bool, c_char_p, c_int32, c_int64, c_size_t, c_uint8, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Optional, Union

__all__ = [
    "EdgeAuthError", "Identity", "Result", "Verifier", "library", "load_library", "verdict_description",
    "verdict_name", "version",
    "OK", "ERR_INVALID_ARGUMENT", "ERR_CONFIG", "ERR_KEYS", "ERR_NOT_FOUND", "ERR_NO_MEMORY", "ERR_INTERNAL", "ERR_CACHE",
    "VERDICT_VALID",
]

# Status codes (EDGEAUTH_OK, EDGEAUTH_ERR_*).
OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_CONFIG = -2
ERR_KEYS = -3
ERR_NOT_FOUND = -4
ERR_NO_MEMORY = -5
ERR_INTERNAL = -6
ERR_CACHE = -7

# Cache counters (EDGEAUTH_CACHE_*).
_CACHE_STATISTICS = {"hits": 1, "negative_hits": 2, "misses": 3, "stores": 4, "errors": 5, "l1_hits": 6}
# Remote key set figures (EDGEAUTH_KEYS_*).
_KEY_STATISTICS = {"remote_sets": 1, "stale_sets": 2, "unavailable_sets": 3, "oldest_age": 4, "fetches": 5, "fetch_failures": 6}

VERDICT_VALID = 0

_Bytes = Union[str, bytes, bytearray, memoryview]


def _find_library() -> str:
    path = os.environ.get("EDGEAUTH_LIBRARY")
    if path:
        return path
    found = ctypes.util.find_library("edgeauth")
    if found:
        return found
    try:
        libdir = subprocess.run(
            ["pkg-config", "--variable=libdir", "edgeauth"], check=True, capture_output=True, text=True
        ).stdout.strip()
        if libdir:
            return os.path.join(libdir, "libedgeauth.so")
    except (OSError, subprocess.CalledProcessError):
        pass
    raise OSError("libedgeauth not found: set EDGEAUTH_LIBRARY to its path, or install it (make install PREFIX=...)")


def load_library(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libedgeauth and declares the signature of every function."""
    lib = ctypes.CDLL(path or _find_library())
    text = c_void_p  # const char *, read with string_at so embedded NULs survive
    handle = c_void_p
    size_p = POINTER(c_size_t)
    signatures = {
        "edgeauth_version": (text, [POINTER(c_int32), POINTER(c_int32), POINTER(c_int32)]),
        "edgeauth_status_string": (c_char_p, [c_int32]),
        "edgeauth_verdict_string": (c_char_p, [c_int32]),
        "edgeauth_verdict_description": (c_char_p, [c_int32]),
        "edgeauth_string_free": (None, [c_void_p]),
        "edgeauth_verifier_new": (c_int32, [POINTER(c_uint8), c_size_t, POINTER(handle), POINTER(c_void_p)]),
        "edgeauth_verifier_free": (None, [handle]),
        "edgeauth_verifier_key_count": (c_size_t, [handle]),
        "edgeauth_verifier_warning_count": (c_size_t, [handle]),
        "edgeauth_verifier_warning": (text, [handle, c_size_t, size_p]),
        "edgeauth_verifier_cache_statistic": (c_int32, [handle, c_int32, POINTER(c_uint64)]),
        "edgeauth_verifier_key_statistic": (c_int32, [handle, c_int32, POINTER(c_uint64)]),
        "edgeauth_verifier_revoke_token": (c_int32, [handle, POINTER(c_uint8), c_size_t, c_int64]),
        "edgeauth_verifier_revoke_token_id": (c_int32, [handle, POINTER(c_uint8), c_size_t, c_int64]),
        "edgeauth_verify": (c_int32, [handle, POINTER(c_uint8), c_size_t, c_int64, POINTER(c_int32), POINTER(handle)]),
        "edgeauth_explain": (c_int32, [handle, POINTER(c_uint8), c_size_t, c_int64, POINTER(c_int32), POINTER(c_void_p)]),
        "edgeauth_identity_free": (None, [handle]),
        "edgeauth_identity_expires_at": (c_int32, [handle, POINTER(c_int64)]),
        "edgeauth_identity_issued_at": (c_int32, [handle, POINTER(c_int64)]),
        "edgeauth_identity_claim_json": (c_int32, [handle, POINTER(c_uint8), c_size_t, POINTER(c_void_p), size_p]),
        "edgeauth_identity_claim_pointer_json": (c_int32, [handle, POINTER(c_uint8), c_size_t, POINTER(c_void_p), size_p]),
        "edgeauth_identity_json": (c_int32, [handle, POINTER(c_void_p), size_p]),
    }
    for field in Identity._FIELDS:
        signatures[f"edgeauth_identity_{field}"] = (text, [handle, size_p])
    for singular in Identity._LISTS.values():
        signatures[f"edgeauth_identity_{singular}_count"] = (c_size_t, [handle])
        signatures[f"edgeauth_identity_{singular}"] = (text, [handle, c_size_t, size_p])
    for singular in ("role", "permission", "scope"):
        signatures[f"edgeauth_identity_has_{singular}"] = (c_bool, [handle, POINTER(c_uint8), c_size_t])
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


_library: Optional[ctypes.CDLL] = None


def library() -> ctypes.CDLL:
    """The loaded library (loaded on first use)."""
    global _library
    if _library is None:
        _library = load_library()
    return _library


def _buffer(data: _Bytes) -> tuple[Any, int]:
    """A borrowed (pointer, length) for bytes-like input; str is encoded as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = bytes(data)
    # from_buffer_copy keeps the bytes alive for as long as the array object lives.
    array = (c_uint8 * len(data)).from_buffer_copy(data) if data else None
    return array, len(data)


def _take_string(pointer: c_void_p, length: Optional[int] = None) -> str:
    """Copies a library-allocated string and frees it."""
    try:
        raw = ctypes.string_at(pointer.value, length) if length is not None else ctypes.string_at(pointer.value)
        return raw.decode("utf-8")
    finally:
        library().edgeauth_string_free(pointer)


def version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    return ctypes.string_at(library().edgeauth_version(None, None, None)).decode()


def verdict_name(code: int) -> str:
    """The stable text code of a verdict: "valid", "expired", "malformed.segmentCount", ..."""
    return library().edgeauth_verdict_string(code).decode()


def verdict_description(code: int) -> str:
    return library().edgeauth_verdict_description(code).decode()


class EdgeAuthError(Exception):
    """A call failed (a status other than EDGEAUTH_OK). Token rejections are not errors."""

    def __init__(self, status: int, message: str = ""):
        self.status = status
        self.message = message
        name = library().edgeauth_status_string(status).decode()
        super().__init__(f"{name}: {message}" if message else name)


class _OwnedHandle:
    """A library handle this object owns: freed by close(), a with-block, or garbage collection."""

    _free_function = ""  # the library's edgeauth_*_free for this kind of handle
    _kind = ""
    _handle: Optional[c_void_p] = None

    def close(self) -> None:
        if self._handle:
            getattr(library(), self._free_function)(self._handle)
            self._handle = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may already be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _live(self) -> c_void_p:
        if not self._handle:
            raise ValueError(f"{self._kind} is closed")
        return self._handle


class Identity(_OwnedHandle):
    """The verified user of a valid token. Owns its C handle; `close()` (or
    leaving a `with` block, or garbage collection) frees it."""

    _FIELDS = ("subject", "issuer", "email", "name", "username", "picture", "client_id", "organization", "token_id")
    _LISTS = {"roles": "role", "permissions": "permission", "scopes": "scope", "audience": "audience"}
    _free_function = "edgeauth_identity_free"
    _kind = "identity"

    def __init__(self, handle: c_void_p):
        self._handle = handle


    def _text(self, field: str) -> Optional[str]:
        length = c_size_t()
        pointer = getattr(library(), f"edgeauth_identity_{field}")(self._live(), ctypes.byref(length))
        return None if pointer is None else ctypes.string_at(pointer, length.value).decode("utf-8")

    def _list(self, singular: str) -> list[str]:
        lib, handle = library(), self._live()
        items = []
        for index in range(getattr(lib, f"edgeauth_identity_{singular}_count")(handle)):
            length = c_size_t()
            pointer = getattr(lib, f"edgeauth_identity_{singular}")(handle, index, ctypes.byref(length))
            items.append(ctypes.string_at(pointer, length.value).decode("utf-8"))
        return items

    def _time(self, field: str) -> Optional[int]:
        value = c_int64()
        status = getattr(library(), f"edgeauth_identity_{field}")(self._live(), ctypes.byref(value))
        if status == ERR_NOT_FOUND:
            return None
        if status != OK:
            raise EdgeAuthError(status)
        return value.value

    def _has(self, singular: str, name: _Bytes) -> bool:
        pointer, length = _buffer(name)
        return bool(getattr(library(), f"edgeauth_identity_has_{singular}")(self._live(), pointer, length))

    subject = property(lambda self: self._text("subject"))
    issuer = property(lambda self: self._text("issuer"))
    email = property(lambda self: self._text("email"))
    name = property(lambda self: self._text("name"))
    username = property(lambda self: self._text("username"))
    picture = property(lambda self: self._text("picture"))
    client_id = property(lambda self: self._text("client_id"))
    organization = property(lambda self: self._text("organization"))
    token_id = property(lambda self: self._text("token_id"))
    roles = property(lambda self: self._list("role"))
    permissions = property(lambda self: self._list("permission"))
    scopes = property(lambda self: self._list("scope"))
    audience = property(lambda self: self._list("audience"))
    expires_at = property(lambda self: self._time("expires_at"))
    issued_at = property(lambda self: self._time("issued_at"))

    def has_role(self, role: _Bytes) -> bool:
        return self._has("role", role)

    def has_permission(self, permission: _Bytes) -> bool:
        return self._has("permission", permission)

    def has_scope(self, scope: _Bytes) -> bool:
        return self._has("scope", scope)

    def _json(self, function: str, key: _Bytes) -> Any:
        pointer, length = _buffer(key)
        out, out_length = c_void_p(), c_size_t()
        status = getattr(library(), function)(self._live(), pointer, length, ctypes.byref(out), ctypes.byref(out_length))
        if status == ERR_NOT_FOUND:
            raise KeyError(key)
        if status != OK:
            raise EdgeAuthError(status)
        return json.loads(_take_string(out, out_length.value))

    def claim(self, name: _Bytes) -> Any:
        """A top-level claim, decoded from JSON. KeyError when absent."""
        return self._json("edgeauth_identity_claim_json", name)

    def claim_at(self, pointer: _Bytes) -> Any:
        """The claim at an RFC 6901 JSON pointer ("/realm_access/roles"). KeyError when absent."""
        return self._json("edgeauth_identity_claim_pointer_json", pointer)

    def to_dict(self) -> dict:
        """The whole identity as `edgeauth verify` prints it."""
        out, out_length = c_void_p(), c_size_t()
        status = library().edgeauth_identity_json(self._live(), ctypes.byref(out), ctypes.byref(out_length))
        if status != OK:
            raise EdgeAuthError(status)
        return json.loads(_take_string(out, out_length.value))


@dataclass
class Result:
    """The outcome of one verification: a verdict code, and the identity when valid."""

    verdict: int
    identity: Optional[Identity]

    @property
    def valid(self) -> bool:
        return self.verdict == VERDICT_VALID

    @property
    def verdict_name(self) -> str:
        return verdict_name(self.verdict)


class Verifier(_OwnedHandle):
    """A configured verifier (docs/c-api.md, "Configuration"). Thread-safe."""

    _free_function = "edgeauth_verifier_free"
    _kind = "verifier"

    def __init__(self, config: Union[dict, _Bytes]):
        if isinstance(config, dict):
            config = json.dumps(config)
        pointer, length = _buffer(config)
        handle, error = c_void_p(), c_void_p()
        status = library().edgeauth_verifier_new(pointer, length, ctypes.byref(handle), ctypes.byref(error))
        if status != OK:
            raise EdgeAuthError(status, _take_string(error) if error.value else "")
        self._handle = handle


    @property
    def key_count(self) -> int:
        return library().edgeauth_verifier_key_count(self._live())

    @property
    def warnings(self) -> list[str]:
        lib, handle = library(), self._live()
        out = []
        for index in range(lib.edgeauth_verifier_warning_count(handle)):
            length = c_size_t()
            pointer = lib.edgeauth_verifier_warning(handle, index, ctypes.byref(length))
            out.append(ctypes.string_at(pointer, length.value).decode("utf-8"))
        return out

    def cache_statistics(self) -> Optional[dict[str, int]]:
        """Counters of the shared cache (hits, negative_hits, misses, stores, errors) and of the
        verifier's in-process L1 (l1_hits), or None without a cache."""
        lib, handle = library(), self._live()
        out = {}
        for name, code in _CACHE_STATISTICS.items():
            value = c_uint64()
            status = lib.edgeauth_verifier_cache_statistic(handle, code, ctypes.byref(value))
            if status == ERR_NOT_FOUND:
                return None
            if status != OK:
                raise EdgeAuthError(status)
            out[name] = value.value
        return out

    def key_statistics(self) -> dict[str, int]:
        """The state of the remote key sets, for health checks: remote_sets, stale_sets,
        unavailable_sets (older than keyRefresh.maxStaleness), oldest_age (seconds since the
        oldest set was fetched), and this process's fetches and fetch_failures."""
        lib, handle = library(), self._live()
        out = {}
        for name, code in _KEY_STATISTICS.items():
            value = c_uint64()
            status = lib.edgeauth_verifier_key_statistic(handle, code, ctypes.byref(value))
            if status != OK:
                raise EdgeAuthError(status)
            out[name] = value.value
        return out

    def revoke(self, token: _Bytes, until: int) -> None:
        """Rejects this token (as `revoked`) on every process sharing the cache, until `until`."""
        pointer, length = _buffer(token)
        status = library().edgeauth_verifier_revoke_token(self._live(), pointer, length, until)
        if status != OK:
            raise EdgeAuthError(status)

    def revoke_token_id(self, jti: str, until: int) -> None:
        """Rejects every token with this `jti` on every process sharing the cache directory, until `until`."""
        pointer, length = _buffer(jti.encode("utf-8"))
        status = library().edgeauth_verifier_revoke_token_id(self._live(), pointer, length, until)
        if status != OK:
            raise EdgeAuthError(status)

    def verify(self, token: _Bytes, now: int = 0) -> Result:
        """Verifies a token (without "Bearer "). `now`: seconds since the epoch, 0 for the clock."""
        pointer, length = _buffer(token)
        verdict, identity = c_int32(-1), c_void_p()
        status = library().edgeauth_verify(self._live(), pointer, length, now, ctypes.byref(verdict), ctypes.byref(identity))
        if status != OK:
            raise EdgeAuthError(status)
        return Result(verdict.value, Identity(identity) if identity.value else None)

    def explain(self, token: _Bytes, now: int = 0) -> tuple[int, str]:
        """The verdict and an operator-facing explanation of it (for logs, not the request path)."""
        pointer, length = _buffer(token)
        verdict, text = c_int32(-1), c_void_p()
        status = library().edgeauth_explain(self._live(), pointer, length, now, ctypes.byref(verdict), ctypes.byref(text))
        if status != OK:
            raise EdgeAuthError(status)
        return verdict.value, _take_string(text)
