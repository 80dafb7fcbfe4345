"""The tool gate on its own: a tools/call for a denied or withheld tool is blocked, by name."""

from __future__ import annotations

from typing import Any

from securenet.mcp.checks import InspectionContext, MessageCheck, ToolGateCheck
from securenet.mcp.messages import segments
from securenet.mcp.policy import Policy, parse_policy

POLICY = parse_policy({"upstreams": {"github": {"deny_tools": ["delete_repo"]}}})


def call(name: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {"repo": "x"}}}


def test_it_applies_to_tools_call_requests_only() -> None:
    gate = ToolGateCheck()
    assert isinstance(gate, MessageCheck)
    context = InspectionContext("t", POLICY, upstream="github")
    assert gate.applies("tools/call", True, context)
    assert not gate.applies("tools/call", False, context)  # the answer to a call
    assert not gate.applies("tools/list", True, context)
    assert not gate.applies("text", False, context)


def test_a_denied_and_withheld_tool_is_blocked_twice_in_order() -> None:
    context = InspectionContext("t", POLICY, upstream="github", blocked_tools={"delete_repo": "TP001@result/tools/3"})
    message = call("delete_repo")
    found = ToolGateCheck().check(message, list(segments(message)), context, [])
    assert [(f.id, f.finding.analyzer, f.action, f.policy_rule_id, f.channel, f.tool) for f in found] == [
        ("POL001@params/name", "policy", "block", "upstreams.github.deny_tools", "tool_arguments", "delete_repo"),
        ("POL002@params/name", "policy", "block", "blocked_tools", "tool_arguments", "delete_repo"),
    ]
    assert found[1].finding.message == "tool 'delete_repo' was withheld (TP001@result/tools/3)"


def test_an_allowed_tool_passes_and_lists_need_an_upstream() -> None:
    gate = ToolGateCheck()
    context = InspectionContext("t", POLICY, upstream="github")
    assert gate.check(call("list_repos"), [], context, []) == []
    # Without an upstream there are no allow/deny lists to consult; withheld tools still count.
    assert gate.check(call("delete_repo"), [], InspectionContext("t", Policy()), []) == []
    withheld = InspectionContext("t", Policy(), blocked_tools={"delete_repo": "TP001@result/tools/3"})
    assert [f.finding.rule_id for f in gate.check(call("delete_repo"), [], withheld, [])] == ["POL002"]
