"""Rug-pull defence: every tool definition is pinned on first sight.

A tool's canonical hash covers its name, description, input schema and annotations,
serialised as sorted compact JSON. When an upstream later serves a different
definition under the same name, the change is recorded (with a unified diff) as a
security event and the tool stays blocked until an operator approves the new
definition with ``securenet mcp pins approve``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict

__all__ = [
    "PinCheck",
    "PinEvent",
    "PinRecord",
    "PinRepository",
    "ToolPinStore",
    "canonical_definition",
    "definition_hash",
]

#: The parts of a tool definition that change what the model is told or can do.
PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
#: Security event kinds recorded with the pin changes they describe.
CHANGED_EVENT = "mcp.tool_definition_changed"
APPROVED_EVENT = "mcp.tool_definition_approved"


def canonical_definition(tool: dict[str, Any]) -> dict[str, Any]:
    return {key: tool[key] for key in PINNED_FIELDS if tool.get(key) is not None}


def definition_hash(tool: dict[str, Any]) -> str:
    canonical = json.dumps(canonical_definition(tool), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    before = json.dumps(old, sort_keys=True, indent=2, ensure_ascii=False).splitlines()
    after = json.dumps(new, sort_keys=True, indent=2, ensure_ascii=False).splitlines()
    return "\n".join(difflib.unified_diff(before, after, "pinned", "served", lineterm=""))[:8000]


@dataclass(frozen=True)
class PinCheck:
    tool: str
    status: Literal["new", "unchanged", "changed"]
    sha256: str
    pinned_sha256: str | None = None
    diff: str | None = None


class PinRecord(Protocol):
    """One pinned tool as the repository returns it."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def upstream(self) -> str: ...
    @property
    def tool_name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def definition(self) -> dict[str, Any]: ...
    @property
    def status(self) -> str: ...
    @property
    def pending_sha256(self) -> str | None: ...


class PinEvent(TypedDict):
    """A security event, written in the same transaction as the pin change it describes."""

    kind: str
    details: dict[str, Any]
    trace_id: str | None


class PinRepository(Protocol):
    """Where pins are kept: ``securenet.store.pins.ToolPinRepository`` implements it over the database."""

    def find(self, tenant_id: str, upstream: str, tool_name: str) -> PinRecord | None:
        """The tool's pin, or None when it was never seen."""
        ...

    def add(self, tenant_id: str, upstream: str, tool_name: str, sha256: str, definition: dict[str, Any]) -> bool:
        """Pin a first-seen definition; False when another writer pinned the tool first."""
        ...

    def hold(
        self, tenant_id: str, upstream: str, tool_name: str, sha256: str, definition: dict[str, Any], event: PinEvent
    ) -> bool:
        """Keep a changed definition pending approval and record ``event``; False if it was already pending."""
        ...

    def approve(self, tenant_id: str, upstream: str, tool_name: str, sha256: str, event: PinEvent) -> bool:
        """Make the pending definition ``sha256`` the pin and record ``event``; False if it is not pending."""
        ...

    def list(self, tenant_id: str | None = None) -> Sequence[PinRecord]:
        """Pins ordered by upstream and tool name, of one tenant or all."""
        ...


class ToolPinStore:
    """The rug-pull decisions; the rows live behind a :class:`PinRepository`."""

    def __init__(self, repository: PinRepository) -> None:
        self.repository = repository

    def check(self, tenant_id: str, upstream: str, tool: dict[str, Any], trace_id: str | None = None) -> PinCheck:
        """Pin a first-seen tool; compare a known one with its pin (recording a change once)."""
        name = str(tool.get("name", ""))
        digest = definition_hash(tool)
        canonical = canonical_definition(tool)
        pin = self.repository.find(tenant_id, upstream, name)
        if pin is None:
            if self.repository.add(tenant_id, upstream, name, digest, canonical):
                return PinCheck(name, "new", digest)
            return self.check(tenant_id, upstream, tool, trace_id)  # another replica pinned it first
        if pin.sha256 == digest:
            return PinCheck(name, "unchanged", digest, pin.sha256)
        diff = _diff(pin.definition, canonical)
        if pin.pending_sha256 != digest:
            details = {"upstream": upstream, "tool": name, "pinned": pin.sha256, "served": digest, "diff": diff}
            event = PinEvent(kind=CHANGED_EVENT, details=details, trace_id=trace_id)
            self.repository.hold(tenant_id, upstream, name, digest, canonical, event)
        return PinCheck(name, "changed", digest, pin.sha256, diff)

    def approve(self, tenant_id: str, upstream: str, tool_name: str) -> bool:
        """Accept the pending definition of a changed tool as its new pin."""
        pin = self.repository.find(tenant_id, upstream, tool_name)
        if pin is None or pin.pending_sha256 is None:
            return False
        details = {"upstream": upstream, "tool": tool_name, "sha256": pin.pending_sha256}
        event = PinEvent(kind=APPROVED_EVENT, details=details, trace_id=None)
        return self.repository.approve(tenant_id, upstream, tool_name, pin.pending_sha256, event)

    def list(self, tenant_id: str | None = None) -> list[PinRecord]:
        return list(self.repository.list(tenant_id))
