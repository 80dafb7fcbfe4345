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
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from securenet.store.database import Database
from securenet.store.schema import SecurityEvent, ToolPin, utcnow

__all__ = ["PinCheck", "ToolPinStore", "canonical_definition", "definition_hash"]

#: The parts of a tool definition that change what the model is told or can do.
PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")


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


class ToolPinStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def check(self, tenant_id: str, upstream: str, tool: dict[str, Any], trace_id: str | None = None) -> PinCheck:
        """Pin a first-seen tool; compare a known one with its pin (recording a change once)."""
        name = str(tool.get("name", ""))
        digest = definition_hash(tool)
        canonical = canonical_definition(tool)
        with self.db.session() as session:
            pin = session.scalar(
                select(ToolPin).where(
                    ToolPin.tenant_id == tenant_id, ToolPin.upstream == upstream, ToolPin.tool_name == name
                )
            )
            if pin is None:
                try:
                    with session.begin_nested():
                        session.add(
                            ToolPin(
                                tenant_id=tenant_id,
                                upstream=upstream,
                                tool_name=name,
                                sha256=digest,
                                definition=canonical,
                            )
                        )
                except IntegrityError:  # another replica pinned it first: compare with that pin
                    return self.check(tenant_id, upstream, tool, trace_id)
                return PinCheck(name, "new", digest)
            if pin.sha256 == digest:
                return PinCheck(name, "unchanged", digest, pin.sha256)
            diff = _diff(pin.definition, canonical)
            if pin.pending_sha256 != digest:
                pin.status = "changed"
                pin.pending_sha256 = digest
                pin.pending_definition = canonical
                pin.changed_at = utcnow()
                session.add(
                    SecurityEvent(
                        tenant_id=tenant_id,
                        kind="mcp.tool_definition_changed",
                        details={
                            "upstream": upstream,
                            "tool": name,
                            "pinned": pin.sha256,
                            "served": digest,
                            "diff": diff,
                        },
                        trace_id=trace_id,
                    )
                )
            return PinCheck(name, "changed", digest, pin.sha256, diff)

    def approve(self, tenant_id: str, upstream: str, tool_name: str) -> bool:
        """Accept the pending definition of a changed tool as its new pin."""
        with self.db.session() as session:
            pin = session.scalar(
                select(ToolPin).where(
                    ToolPin.tenant_id == tenant_id, ToolPin.upstream == upstream, ToolPin.tool_name == tool_name
                )
            )
            if pin is None or pin.pending_sha256 is None or pin.pending_definition is None:
                return False
            pin.sha256, pin.definition = pin.pending_sha256, pin.pending_definition
            pin.pending_sha256, pin.pending_definition = None, None
            pin.status, pin.approved_at = "pinned", utcnow()
            session.add(
                SecurityEvent(
                    tenant_id=tenant_id,
                    kind="mcp.tool_definition_approved",
                    details={"upstream": upstream, "tool": tool_name, "sha256": pin.sha256},
                )
            )
            return True

    def list(self, tenant_id: str | None = None) -> list[ToolPin]:
        with self.db.session() as session:
            query = select(ToolPin).order_by(ToolPin.upstream, ToolPin.tool_name)
            if tenant_id is not None:
                query = query.where(ToolPin.tenant_id == tenant_id)
            return list(session.scalars(query))
