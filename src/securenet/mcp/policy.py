"""MCP security policy: what each finding leads to, per tenant and per upstream.

A policy is a YAML or TOML document validated on load, with errors that name the file
and the field. The default policy blocks critical findings, redacts secrets in tool
results, and warns on medium (and high) ones. Allow and deny lists apply per upstream
and per tool, and a rule can override the action for one analyzer, category or rule id.

    default_action: allow
    severity_actions: {critical: block, high: warn, medium: warn, low: allow}
    redact_secrets_in_results: true
    block_changed_tools: true
    upstreams:
      github:
        deny_tools: [delete_repository]
    rules:
      - match: {analyzer: secrets, channel: tool_output}
        action: redact
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ACTION_RANK",
    "Action",
    "Policy",
    "PolicyError",
    "PolicyFile",
    "PolicyFormat",
    "PolicySyntaxError",
    "RuleMatch",
    "UpstreamPolicy",
    "load_policy",
    "parse_policy",
    "read_policy_document",
]

Action = Literal["allow", "warn", "redact", "block"]
#: The stronger action wins when several findings apply.
ACTION_RANK: dict[str, int] = {"allow": 0, "warn": 1, "redact": 2, "block": 3}


class PolicyError(ValueError):
    """A policy document that cannot be used; the message names the source and the fields."""


PolicyFormat = Literal["yaml", "toml", "json"]


class PolicySyntaxError(PolicyError):
    """A policy text its parser refuses, with the parser's line and column (1-based) when it gives them."""

    def __init__(
        self, source: str, fmt: PolicyFormat, problem: str, line: int | None = None, column: int | None = None
    ) -> None:
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{source}: not valid {fmt.upper()}: {problem}{where}")
        self.problem, self.line, self.column = problem, line, column


Severity = Literal["low", "medium", "high", "critical"]


def _default_severity_actions() -> dict[Severity, Action]:
    return {"critical": "block", "high": "warn", "medium": "warn", "low": "allow"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleMatch(_Strict):
    analyzer: str | None = None
    category: str | None = None
    rule_id: str | None = None
    channel: Literal["user_input", "tool_description", "tool_output", "tool_arguments"] | None = None
    severity: Literal["low", "medium", "high", "critical"] | None = None


class PolicyRule(_Strict):
    id: str | None = Field(default=None, description="Reported as gen_ai.security.policy.rule_id")
    match: RuleMatch
    action: Action


class UpstreamPolicy(_Strict):
    allow_tools: list[str] | None = Field(default=None, description="Only these tools (None: all)")
    deny_tools: list[str] = Field(default_factory=list)


class Policy(_Strict):
    default_action: Action = "allow"
    severity_actions: dict[Severity, Action] = Field(default_factory=_default_severity_actions)
    redact_secrets_in_results: bool = True
    block_changed_tools: bool = True
    upstreams: dict[str, UpstreamPolicy] = Field(default_factory=dict)
    rules: list[PolicyRule] = Field(default_factory=list)

    def tool_allowed(self, upstream: str, tool: str) -> tuple[bool, str | None]:
        """Whether the allow/deny lists let ``tool`` of ``upstream`` through, and which list decided."""
        entry = self.upstreams.get(upstream)
        if entry is None:
            return True, None
        if tool in entry.deny_tools:
            return False, f"upstreams.{upstream}.deny_tools"
        if entry.allow_tools is not None and tool not in entry.allow_tools:
            return False, f"upstreams.{upstream}.allow_tools"
        return True, None

    def action_for(self, finding: Any, channel: str) -> tuple[str, str]:
        """The action for one finding and the id of the policy rule that chose it."""
        for index, rule in enumerate(self.rules):
            m = rule.match
            if (
                (m.analyzer is None or m.analyzer == finding.analyzer)
                and (m.category is None or m.category == finding.category)
                and (m.rule_id is None or m.rule_id == finding.rule_id)
                and (m.channel is None or m.channel == channel)
                and (m.severity is None or m.severity == finding.severity)
            ):
                return rule.action, rule.id or f"rules[{index}]"
        if self.redact_secrets_in_results and channel == "tool_output" and finding.category == "secret":
            return "redact", "redact_secrets_in_results"
        action = self.severity_actions.get(finding.severity, self.default_action)
        return action, f"severity_actions.{finding.severity}"


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid policy"]
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(document)"
        lines.append(f"  {path}: {item['msg']}")
    return "\n".join(lines)


def parse_policy(document: Mapping[str, Any] | None, source: str = "policy") -> Policy:
    try:
        return Policy.model_validate(dict(document or {}))
    except ValidationError as exc:
        raise PolicyError(_describe(exc, source)) from None


_TOML_WHERE = re.compile(r"^(?P<problem>.*?)\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$", re.DOTALL)


def read_policy_document(text: str, fmt: PolicyFormat, source: str = "policy") -> Mapping[str, Any] | None:
    """Parse a policy text (``None`` when it is empty); :class:`PolicySyntaxError` names the parser's line."""
    try:
        if fmt == "toml":
            document: Any = tomllib.loads(text)
        elif fmt == "json":
            document = json.loads(text)
        else:
            document = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise PolicySyntaxError(source, fmt, exc.msg, exc.lineno, exc.colno) from None
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_WHERE.match(str(exc))  # Python < 3.14 has the position only in the message
        if match is None:
            raise PolicySyntaxError(source, fmt, str(exc)) from None
        raise PolicySyntaxError(source, fmt, match["problem"], int(match["line"]), int(match["column"])) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        if mark is None:
            raise PolicySyntaxError(source, fmt, problem) from None
        raise PolicySyntaxError(source, fmt, problem, mark.line + 1, mark.column + 1) from None
    if document is not None and not isinstance(document, Mapping):
        raise PolicyError(f"{source}: a policy must be a mapping at the top level")
    return document


def load_policy(path: Path) -> Policy:
    """Read a YAML (.yaml/.yml) or TOML (.toml) policy file, validated."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc.strerror}") from None
    return parse_policy(read_policy_document(text, "toml" if path.suffix == ".toml" else "yaml", str(path)), str(path))


class PolicyFile:
    """A policy file reloaded without a restart when it changes on disk.

    An edit that does not validate is refused with an error in the log, and the last
    good policy stays in force: a typo never turns the gateway open.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._policy = load_policy(path)
        self._stamp = self._current_stamp()
        self.last_error: str | None = None

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def get(self) -> Policy:
        stamp = self._current_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._stamp = stamp
                    try:
                        self._policy = load_policy(self.path)
                        self.last_error = None
                    except PolicyError as exc:
                        import structlog

                        self.last_error = str(exc)
                        structlog.get_logger("securenet.mcp").error(
                            "policy reload refused; keeping the previous policy", error=str(exc)
                        )
        return self._policy
