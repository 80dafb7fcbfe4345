"""The signed model file: a magic line, a JSON envelope, JSON metadata and a pickled payload.

The SHA-256 checksum (and HMAC-SHA256 when a key is given) over the metadata and payload
bytes is verified before anything is unpickled, and a payload is only unpickled with the
scikit-learn and numpy releases that wrote it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import platform
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import sklearn

T = TypeVar("T")

#: Version of the model file container and payload layout; bump on any change.
MODEL_FORMAT_VERSION = 2
#: What the metadata's ``kind`` says of every model file.
KIND = "securenet.netsec.FlowAnomalyDetector"
#: The module that pickled classes are recorded under: the public face, so that model files
#: do not depend on which private module a class lives in.
PUBLIC_MODULE = "securenet.netsec.models"

_MAGIC = b"SNETMODEL\n"
_LENGTH = struct.Struct(">I")
_MAX_ENVELOPE_BYTES = 64 * 1024
_MIN_KEY_BYTES = 16


class ModelError(Exception):
    """A model file that must not be used. Subclasses say why."""


class ModelCorruptError(ModelError):
    """The file is not a well-formed model file (bad header, truncated, unreadable)."""


class ModelIncompatibleError(ModelError):
    """A well-formed model this code cannot use (format version, feature schema, libraries)."""


class ModelTamperedError(ModelError):
    """The checksum or HMAC does not match the content: the file was changed."""


class ModelOutsideDirError(ModelError):
    """The path resolves outside the model directory."""


def pickled_as_public(cls: type[T]) -> type[T]:
    """Record ``cls`` under :data:`PUBLIC_MODULE`, where unpickling looks it up."""
    cls.__module__ = PUBLIC_MODULE
    return cls


def library_versions() -> dict[str, str]:
    return {"sklearn": sklearn.__version__, "numpy": np.__version__, "python": platform.python_version()}


def check_key(key: bytes | None) -> None:
    if key is not None and (not isinstance(key, bytes) or len(key) < _MIN_KEY_BYTES):
        raise ValueError(f"an HMAC key must be at least {_MIN_KEY_BYTES} bytes")


def write_model(path: Path, metadata: Mapping[str, Any], fitted: object, key: bytes | None) -> None:
    """Write the model file atomically; sign it with HMAC-SHA256 when ``key`` is given."""
    check_key(key)
    metadata_bytes = json.dumps(metadata, sort_keys=True, allow_nan=False).encode()
    payload = pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL)
    signed = _signed_content(metadata_bytes, payload)
    envelope = {
        "format_version": MODEL_FORMAT_VERSION,
        "metadata_length": len(metadata_bytes),
        "payload_length": len(payload),
        "sha256": hashlib.sha256(signed).hexdigest(),
        "hmac_sha256": hmac.new(key, signed, hashlib.sha256).hexdigest() if key else None,
    }
    header = json.dumps(envelope, sort_keys=True).encode()
    # Write beside the target and rename, so a reader never sees a half-written model.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_MAGIC + _LENGTH.pack(len(header)) + header + metadata_bytes + payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_model(path: Path, model_dir: Path, key: bytes | None) -> tuple[Path, dict[str, Any], bytes]:
    """The resolved path, metadata and (still pickled) payload of a verified model file inside ``model_dir``."""
    check_key(key)
    resolved = _resolve_inside(path, model_dir)
    metadata, payload = _read_verified(resolved, key)
    return resolved, metadata, payload


def _signed_content(metadata: bytes, payload: bytes) -> bytes:
    # The length prefix pins where metadata ends, so bytes cannot be shifted between
    # metadata and payload without changing the digest.
    return struct.pack(">Q", len(metadata)) + metadata + payload


def _resolve_inside(path: Path, model_dir: Path) -> Path:
    root = model_dir.resolve(strict=True)
    candidate = path if path.is_absolute() else root / path
    # resolve() follows symlinks and collapses "..", so what is checked is what is opened.
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root):
        raise ModelOutsideDirError(f"model path {str(path)!r} resolves outside the model directory")
    return resolved


def _read_verified(path: Path, key: bytes | None) -> tuple[dict[str, Any], bytes]:
    data = path.read_bytes()
    name = path.name
    prefix = len(_MAGIC) + _LENGTH.size
    if len(data) < prefix or not data.startswith(_MAGIC):
        raise ModelCorruptError(f"{name}: not a SecureNet model file (bad magic)")
    (header_length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    if header_length > _MAX_ENVELOPE_BYTES or len(data) < prefix + header_length:
        raise ModelCorruptError(f"{name}: truncated or oversized header")
    try:
        envelope = json.loads(data[prefix : prefix + header_length])
        version = envelope["format_version"]
        metadata_length = int(envelope["metadata_length"])
        payload_length = int(envelope["payload_length"])
        checksum = str(envelope["sha256"])
        signature = envelope["hmac_sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelCorruptError(f"{name}: unreadable header ({type(exc).__name__})") from exc
    if version != MODEL_FORMAT_VERSION:
        raise ModelIncompatibleError(
            f"{name}: model format version {version!r}, this code reads version {MODEL_FORMAT_VERSION}"
        )
    body = data[prefix + header_length :]
    if metadata_length < 0 or payload_length < 0 or len(body) != metadata_length + payload_length:
        raise ModelCorruptError(
            f"{name}: expected {metadata_length + payload_length} content bytes, found {len(body)} (truncated?)"
        )
    metadata_bytes, payload = body[:metadata_length], body[metadata_length:]
    signed = _signed_content(metadata_bytes, payload)
    if not hmac.compare_digest(hashlib.sha256(signed).hexdigest(), checksum):
        raise ModelTamperedError(f"{name}: checksum mismatch; the file was modified or damaged")
    if key is not None:
        if not isinstance(signature, str):
            raise ModelTamperedError(f"{name}: model is not signed, but a key was given")
        expected = hmac.new(key, signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ModelTamperedError(f"{name}: HMAC mismatch; wrong key or the file was modified")
    try:
        metadata = json.loads(metadata_bytes)
    except ValueError as exc:
        raise ModelCorruptError(f"{name}: unreadable metadata") from exc
    if not isinstance(metadata, dict) or metadata.get("kind") != KIND:
        raise ModelIncompatibleError(f"{name}: not a {KIND} model")
    return metadata, payload


def check_libraries(metadata: dict[str, Any]) -> None:
    # A pickled forest is only trustworthy with the scikit-learn minor release (and
    # numpy major release) that wrote it; refuse rather than risk silently wrong scores.
    recorded = metadata.get("libraries", {})
    current = library_versions()
    for library, parts in (("sklearn", 2), ("numpy", 1)):
        saved = str(recorded.get(library, ""))
        if saved.split(".")[:parts] != current[library].split(".")[:parts]:
            raise ModelIncompatibleError(
                f"model was written with {library} {saved or 'unknown'}, this is {current[library]}"
            )


def unpickle(payload: bytes, expected: type[T]) -> T:
    """The payload's object, which must be an ``expected``; call only on a verified payload."""
    try:
        fitted = pickle.loads(payload)  # noqa: S301 - only after checksum/HMAC verification
    except Exception as exc:
        raise ModelCorruptError(f"model payload cannot be unpickled ({type(exc).__name__})") from exc
    if not isinstance(fitted, expected):
        raise ModelIncompatibleError(f"model payload is a {type(fitted).__name__}, not a fitted detector")
    return fitted
