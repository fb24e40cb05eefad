"""Loading libedgeauth and declaring the C functions of include/edgeauth.h.

Inputs are passed as `c_char_p` (a pointer to the bytes object's own buffer, no
copy) with their length beside them: the library reads exactly that many bytes,
so embedded NULs and bytes that are not UTF-8 reach it unchanged. `const char *`
results are declared `c_void_p` and read with `ctypes.string_at(pointer,
length)`, so a value containing U+0000 keeps its bytes after it.

ctypes releases the GIL for the duration of every call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import threading
from ctypes import POINTER, c_bool, c_char_p, c_int32, c_int64, c_size_t, c_uint64, c_void_p

__all__ = ["find_library", "library", "load_library"]

# The scalar accessors of an identity (edgeauth_identity_<field>).
TEXT_FIELDS = ("subject", "issuer", "email", "name", "username", "picture", "client_id", "organization", "token_id")
# The list accessors (edgeauth_identity_<singular>_count / edgeauth_identity_<singular>).
LIST_FIELDS = ("role", "permission", "scope", "audience")


def find_library() -> str:
    """The path (or soname) of libedgeauth: `$EDGEAUTH_LIBRARY`, then the system's library
    search (`ctypes.util.find_library("edgeauth")`), then `pkg-config --variable=libdir edgeauth`."""
    path = os.environ.get("EDGEAUTH_LIBRARY")
    if path:
        return path
    found = ctypes.util.find_library("edgeauth")
    if found:
        return found
    try:
        libdir = subprocess.run(
            ["pkg-config", "--variable=libdir", "edgeauth"],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        libdir = ""
    if libdir:
        candidate = os.path.join(libdir, "libedgeauth.so")
        if os.path.exists(candidate):
            return candidate
    raise OSError(
        "libedgeauth not found: set EDGEAUTH_LIBRARY to its path, install it where the dynamic "
        "loader looks, or add its lib/pkgconfig directory to PKG_CONFIG_PATH"
    )


def load_library(path: str | None = None) -> ctypes.CDLL:
    """Loads libedgeauth (from `path`, else `find_library()`) and declares every function."""
    lib = ctypes.CDLL(path or find_library())
    text = c_void_p  # const char *, read with string_at
    handle = c_void_p
    data = c_char_p  # const uint8_t *: bytes are passed without a copy
    size_p = POINTER(c_size_t)
    signatures: dict[str, tuple[object, list[object]]] = {
        "edgeauth_version": (text, [POINTER(c_int32), POINTER(c_int32), POINTER(c_int32)]),
        "edgeauth_status_string": (c_char_p, [c_int32]),
        "edgeauth_verdict_string": (c_char_p, [c_int32]),
        "edgeauth_verdict_description": (c_char_p, [c_int32]),
        "edgeauth_string_free": (None, [c_void_p]),
        "edgeauth_verifier_new": (c_int32, [data, c_size_t, POINTER(handle), POINTER(c_void_p)]),
        "edgeauth_verifier_free": (None, [handle]),
        "edgeauth_verifier_key_count": (c_size_t, [handle]),
        "edgeauth_verifier_warning_count": (c_size_t, [handle]),
        "edgeauth_verifier_warning": (text, [handle, c_size_t, size_p]),
        "edgeauth_verifier_cache_statistic": (c_int32, [handle, c_int32, POINTER(c_uint64)]),
        "edgeauth_verifier_key_statistic": (c_int32, [handle, c_int32, POINTER(c_uint64)]),
        "edgeauth_verifier_revoke_token": (c_int32, [handle, data, c_size_t, c_int64]),
        "edgeauth_verifier_revoke_token_id": (c_int32, [handle, data, c_size_t, c_int64]),
        "edgeauth_verify": (c_int32, [handle, data, c_size_t, c_int64, POINTER(c_int32), POINTER(handle)]),
        "edgeauth_explain": (c_int32, [handle, data, c_size_t, c_int64, POINTER(c_int32), POINTER(c_void_p)]),
        "edgeauth_identity_free": (None, [handle]),
        "edgeauth_identity_expires_at": (c_int32, [handle, POINTER(c_int64)]),
        "edgeauth_identity_issued_at": (c_int32, [handle, POINTER(c_int64)]),
        "edgeauth_identity_claim_json": (c_int32, [handle, data, c_size_t, POINTER(c_void_p), size_p]),
        "edgeauth_identity_claim_pointer_json": (c_int32, [handle, data, c_size_t, POINTER(c_void_p), size_p]),
        "edgeauth_identity_json": (c_int32, [handle, POINTER(c_void_p), size_p]),
    }
    for field in TEXT_FIELDS:
        signatures[f"edgeauth_identity_{field}"] = (text, [handle, size_p])
    for singular in LIST_FIELDS:
        signatures[f"edgeauth_identity_{singular}_count"] = (c_size_t, [handle])
        signatures[f"edgeauth_identity_{singular}"] = (text, [handle, c_size_t, size_p])
    for singular in ("role", "permission", "scope"):
        signatures[f"edgeauth_identity_has_{singular}"] = (c_bool, [handle, data, c_size_t])
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


_library: ctypes.CDLL | None = None
_lock = threading.Lock()


def library() -> ctypes.CDLL:
    """The loaded library, loaded on first use (importing the package does not load it)."""
    global _library
    if _library is None:
        with _lock:
            if _library is None:
                _library = load_library()
    return _library


def read_text(pointer: int | None, length: int) -> str | None:
    """A `const char *` result owned by a handle, as str (None for NULL)."""
    if not pointer:
        return None
    return ctypes.string_at(pointer, length).decode("utf-8")


def take_string(pointer: c_void_p, length: int | None = None) -> str:
    """Copies a string the library allocated for the caller, then frees it."""
    try:
        address = pointer.value
        if not address:
            return ""
        raw = ctypes.string_at(address) if length is None else ctypes.string_at(address, length)
        return raw.decode("utf-8")
    finally:
        library().edgeauth_string_free(pointer)
