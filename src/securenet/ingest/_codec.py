"""Stream entry fields <-> ``Message`` and ``DeadLetter``: one format for both queues.

An entry's fields are ``tenant``, ``records`` (a JSON array of objects), ``published_at``
(Unix seconds) and the producer's propagation headers under their own names
(``traceparent``, ``tracestate``, ...). Everything a worker cannot turn into a ``Message``
is a ``PoisonEntry``, which the queues dead-letter instead of returning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from securenet.ingest._model import DeadLetter, Message, tenant_of

__all__ = [
    "RawEntry",
    "decode_dead_letter",
    "encode_dead_letter",
    "encode_entries",
    "sort_out",
]

_TENANT = b"tenant"
_RECORDS = b"records"
_PUBLISHED_AT = b"published_at"
_OWN_FIELDS = frozenset({_TENANT, _RECORDS, _PUBLISHED_AT})

# A dead letter's own fields; the original entry's fields follow under this prefix.
_DEAD_STREAM = b"stream"
_DEAD_MESSAGE_ID = b"message_id"
_DEAD_ERROR = b"error"
_DEAD_DELIVERIES = b"delivery_count"
_DEAD_AT = b"dead_at"
_ORIGINAL = b"entry:"


def encode_entries(
    tenant_id: str,
    records: Sequence[Mapping[str, Any]],
    carrier: Mapping[str, str],
    published_at: float,
    max_entry_records: int,
) -> list[dict[bytes, bytes]]:
    """The fields of the entries for one published batch, ``max_entry_records`` records each."""
    header = {_TENANT: tenant_id.encode(), _PUBLISHED_AT: repr(published_at).encode()}
    for key, value in carrier.items():
        name = key.encode()
        if name not in _OWN_FIELDS:
            header[name] = value.encode()
    entries = []
    for start in range(0, len(records), max_entry_records):
        chunk = records[start : start + max_entry_records]
        body = json.dumps(list(chunk), separators=(",", ":")).encode()
        entries.append({**header, _RECORDS: body})
    return entries


@dataclass(frozen=True, slots=True)
class RawEntry:
    """An entry as read from a stream, before decoding."""

    stream: str
    id: str
    fields: Mapping[bytes, bytes]
    delivery_count: int


class _Poison(Exception):
    pass


def _decode(raw: RawEntry, system: str, group: str) -> Message:
    fields = raw.fields
    tenant_id = tenant_of(raw.stream)
    try:
        tenant = fields[_TENANT].decode()
        body = fields[_RECORDS]
        published_at = float(fields[_PUBLISHED_AT])
        carrier = {k.decode(): v.decode() for k, v in fields.items() if k not in _OWN_FIELDS}
    except KeyError as exc:
        raise _Poison(f"missing field {exc.args[0].decode(errors='replace')!r}") from None
    except ValueError as exc:
        raise _Poison(f"malformed field: {type(exc).__name__}") from None
    # The stream decides the tenant; an entry claiming another tenant must not be processed as either.
    if tenant != tenant_id:
        raise _Poison("tenant field does not match the stream")
    try:
        records = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise _Poison(f"records are not JSON: {type(exc).__name__}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise _Poison("records are not a JSON array of objects")
    return Message(
        raw.id, raw.stream, tenant_id, records, carrier, raw.delivery_count, published_at, system, group, raw.fields
    )


def sort_out(
    entries: Iterable[RawEntry], max_deliveries: int, system: str, group: str
) -> tuple[list[Message], list[tuple[RawEntry, str]]]:
    """Split entries into messages to process and ``(entry, reason)`` pairs to dead-letter."""
    messages: list[Message] = []
    poison: list[tuple[RawEntry, str]] = []
    for raw in entries:
        if raw.delivery_count > max_deliveries:
            poison.append((raw, f"not acknowledged after {max_deliveries} deliveries"))
            continue
        try:
            messages.append(_decode(raw, system, group))
        except _Poison as exc:
            poison.append((raw, str(exc)))
    return messages, poison


def encode_dead_letter(raw: RawEntry, error: str, dead_at: float) -> dict[bytes, bytes]:
    fields = {
        _DEAD_STREAM: raw.stream.encode(),
        _DEAD_MESSAGE_ID: raw.id.encode(),
        _DEAD_ERROR: error.encode(),
        _DEAD_DELIVERIES: str(raw.delivery_count).encode(),
        _DEAD_AT: repr(dead_at).encode(),
    }
    fields.update((_ORIGINAL + k, v) for k, v in raw.fields.items())
    return fields


def decode_dead_letter(dead_id: str, fields: Mapping[bytes, bytes]) -> DeadLetter:
    stream = fields.get(_DEAD_STREAM, b"").decode(errors="replace")
    return DeadLetter(
        id=dead_id,
        stream=stream,
        message_id=fields.get(_DEAD_MESSAGE_ID, b"").decode(errors="replace"),
        tenant_id=tenant_of(stream),
        error=fields.get(_DEAD_ERROR, b"").decode(errors="replace"),
        delivery_count=int(fields.get(_DEAD_DELIVERIES, b"0")),
        dead_at=float(fields.get(_DEAD_AT, b"0")),
        fields={k.removeprefix(_ORIGINAL): v for k, v in fields.items() if k.startswith(_ORIGINAL)},
    )
