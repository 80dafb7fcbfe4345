"""Checks of a tools/list answer as a whole: rug pulls against the tool pins, and shadowing of other upstreams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from securenet.mcp.analyzers import Finding
from securenet.mcp.checks._types import AppliedFinding, InspectionContext
from securenet.mcp.messages import Path, Segment
from securenet.mcp.pins import ToolPinStore

__all__ = ["RugPullCheck", "ShadowingCheck"]


def _listed_tools(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [t for t in ((message or {}).get("result") or {}).get("tools") or [] if isinstance(t, dict)]


def _is_tool_list_answer(method: str, is_request: bool) -> bool:
    return method == "tools/list" and not is_request


class RugPullCheck:
    """Pins every listed tool on first sight (per tenant and upstream, so only when the context names
    the upstream) and reports a definition that changed since (RP001): blocked while the policy's
    ``block_changed_tools`` holds (the default), else a warning."""

    name = "rug_pull"

    def __init__(self, pins: ToolPinStore) -> None:
        self.pins = pins

    def applies(self, method: str, is_request: bool, context: InspectionContext) -> bool:
        return _is_tool_list_answer(method, is_request) and context.upstream is not None

    def check(
        self,
        message: dict[str, Any] | None,
        parts: Sequence[Segment],
        context: InspectionContext,
        earlier: Sequence[AppliedFinding],
    ) -> list[AppliedFinding]:
        if context.upstream is None:
            return []
        found: list[AppliedFinding] = []
        for index, tool in enumerate(_listed_tools(message)):
            check = self.pins.check(context.tenant_id, context.upstream, tool, context.trace_id)
            if check.status != "changed":
                continue
            finding = Finding(
                analyzer="rug_pull",
                rule_id="RP001",
                severity="critical",
                category="changed_definition",
                message=f"the definition of {check.tool!r} changed since it was pinned; approve it with "
                "`securenet mcp pins approve`",
                evidence=f"sha256 {(check.pinned_sha256 or '?')[:12]} -> {check.sha256[:12]}",
                start=0,
                end=0,
                confidence=1.0,
            )
            action = "block" if context.policy.block_changed_tools else "warn"
            found.append(
                AppliedFinding(
                    finding, "tool_description", action, "block_changed_tools", ("result", "tools", index), check.tool
                )
            )
        return found


class ShadowingCheck:
    """Against the tool names of the tenant's other upstreams (so only when the context has some):
    a listed tool of the same name (SH001), and a description that names another upstream's
    tool (SH002, cross-server steering)."""

    name = "shadowing"

    def applies(self, method: str, is_request: bool, context: InspectionContext) -> bool:
        return _is_tool_list_answer(method, is_request) and bool(context.other_tools)

    def check(
        self,
        message: dict[str, Any] | None,
        parts: Sequence[Segment],
        context: InspectionContext,
        earlier: Sequence[AppliedFinding],
    ) -> list[AppliedFinding]:
        found: list[AppliedFinding] = []
        for index, tool in enumerate(_listed_tools(message)):
            name = str(tool.get("name", ""))
            if name in context.other_tools:
                finding = Finding(
                    analyzer="shadowing",
                    rule_id="SH001",
                    severity="high",
                    category="duplicate_tool_name",
                    message=f"{name!r} is also served by upstream {context.other_tools[name]!r}",
                    evidence=name,
                    start=0,
                    end=len(name),
                    confidence=0.8,
                )
                action, rule = context.policy.action_for(finding, "tool_description")
                path: Path = ("result", "tools", index)
                found.append(AppliedFinding(finding, "tool_description", action, rule, path, name))
            description = str(tool.get("description", ""))
            for other, upstream in context.other_tools.items():
                if other != name and len(other) >= 4 and other in description:
                    start = description.index(other)
                    finding = Finding(
                        analyzer="shadowing",
                        rule_id="SH002",
                        severity="critical",
                        category="cross_server_steering",
                        message=f"the description of {name!r} refers to {other!r} of upstream {upstream!r}",
                        evidence=description[max(0, start - 40) : start + len(other) + 40],
                        start=start,
                        end=start + len(other),
                        confidence=0.85,
                    )
                    action, rule = context.policy.action_for(finding, "tool_description")
                    steering: Path = ("result", "tools", index, "description")
                    found.append(AppliedFinding(finding, "tool_description", action, rule, steering, name))
        return found
