"""Tool poisoning: directives aimed at the model hidden in tool descriptions and schemas.

A tool description is read by the model as trusted text, so anything in it that tells the
model what to do beyond using the tool (read a key file and pass it along, keep it from the
user, re-route another tool's e-mails) is an attack. Descriptions that merely document
behaviour ("ignore case", "password field for the login form") are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from securenet.mcp.analyzers import _patterns as p
from securenet.mcp.analyzers._rules import HiddenContentPolicy, Rule, escalate, hidden_content_findings, rx, scan_rules
from securenet.mcp.analyzers._text import normalize
from securenet.mcp.analyzers._types import Channel, Finding

__all__ = ["ToolPoisoningAnalyzer", "iter_tool_texts"]

_TOOL_NAME: Final = r"`?(?:mcp_)?[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+`?(?:\(\))?"
_DIRECTIVE: Final = rx(
    r"\b(?:make\s+sure|ensure|you\s+must|must|always|also\s+(?:send|include|add|call|cc|bcc|forward)|instead|change"
    r"|redirect|replace|do\s+not|don'?t)\b"
)
_PASS_VERB: Final = rx(
    r"\b(?:pass|send|include|attach|provide|upload|post|forward|exfiltrate|share|append|embed|put|add|supply)\b"
    r"|\b(?:its|the|their|file'?s?)\s+contents?\b|\bsidenote\b"
)
_SENSITIVE_ANY: Final = rx(f"{p.SENSITIVE_FILE_STRONG}|{p.SENSITIVE_FILE_WEAK}|{p.SENSITIVE_DATA}")
_INSTRUCTION_CATEGORIES: Final = frozenset(
    {"hidden_instruction", "sensitive_file", "exfiltration_url", "cross_tool_reference"}
)


class ToolPoisoningAnalyzer:
    """Finds hidden directives, sensitive-file grabs, exfiltration URLs and tool shadowing in descriptions."""

    name = "tool_poisoning"
    channels: frozenset[Channel] = frozenset({"tool_description"})
    rules: tuple[Rule, ...] = (
        Rule("TP001", "hidden_instruction", "critical", "tells the model to ignore its instructions",
             rx(p.INSTRUCTION_OVERRIDE), 0.95, filters=("is_quoted_mention",)),
        Rule("TP002", "hidden_instruction", "critical", "tells the model to ignore its instructions",
             rx(p.FOREIGN_OVERRIDE), 0.85, filters=("is_quoted_mention",)),
        Rule("TP003", "hidden_instruction", "critical", "tells the model to keep something from the user",
             rx(p.CONCEAL_FROM_USER), 0.9, filters=("is_quoted_mention",)),
        Rule("TP004", "hidden_instruction", "critical", "imperative block in <IMPORTANT>-style tags",
             rx(p.HIDDEN_BLOCK), 0.9),
        Rule("TP005", "hidden_instruction", "critical", "demands to be called before every other tool",
             rx(r"\b(?:this|the)\s+tool\s+(?:must|should|has\s+to|needs\s+to)\s+(?:always\s+)?be\s+(?:called|used|run"
                r"|invoked|executed)\s+(?:first\s+)?(?:before|prior\s+to)\s+(?:any|all|every)\s+other\b"
                r"|\balways\s+(?:call|use|run|invoke)\s+this\s+tool\s+(?:first|before\s+(?:any|all|every)\s+other)"),
             0.7),
        Rule("TP006", "hidden_instruction", "critical", "tells the model to take on another role",
             rx(p.ROLE_OVERRIDE), 0.85, filters=("is_quoted_mention",)),
        Rule("TP007", "hidden_instruction", "critical", "chat-template or system markers in a description",
             rx(p.FAKE_ROLE_MARKER), 0.8),
        Rule("TP008", "hidden_instruction", "critical", "tells the model to act silently",
             rx(p.SILENT_ACTION), 0.85),
        Rule("TP009", "hidden_instruction", "medium", "waves the instruction away as an implementation detail",
             rx(p.CONCEALMENT), 0.6),
        Rule("TP010", "hidden_instruction", "medium", "threatens failure unless the model complies",
             rx(r"\botherwise\s+(?:the\s+)?(?:tool|system|request|it)\s+(?:will\s+)?(?:not\s+work|fail|crash|break)"
                r"|\bthe\s+system\s+(?:will\s+)?crash|\buser\s+experience\s+will\s+be\s+(?:very\s+)?bad"), 0.5),
        Rule("TP011", "hidden_instruction", "critical", "asks for a file's content to be smuggled in a parameter",
             rx(p.CONTENT_HANDOFF), 0.9, near=_SENSITIVE_ANY),
        Rule("TP012", "hidden_instruction", "critical", "tells the model its safety rules are off",
             rx(p.SAFETY_BYPASS), 0.85, filters=("is_quoted_mention",)),
        Rule("TP013", "hidden_instruction", "critical", "forged conversation turn or delimiter", rx(p.FAKE_TURN), 0.8),
        Rule("TP014", "hidden_instruction", "critical", "asks for encoded text to be decoded and obeyed",
             rx(p.DECODE_AND_OBEY), 0.85),
        Rule("TP015", "hidden_instruction", "critical", "tells the model to take on another role",
             rx(f"{p.FOREIGN_ROLE}|{p.FOREIGN_LEAK}"), 0.8),
        Rule("TP016", "hidden_instruction", "medium", "addresses the AI directly", rx(p.AI_ADDRESSED), 0.5),
        Rule("TP017", "hidden_instruction", "critical", "tells the model to put a secret in a parameter or URL",
             rx(p.SMUGGLE_INTO_PARAM), 0.9),
        Rule("TP020", "sensitive_file", "critical", "sensitive file to be read and passed along",
             rx(p.SENSITIVE_FILE_STRONG), 0.95, near=_PASS_VERB),
        Rule("TP021", "sensitive_file", "high", "mentions a credential or agent-config file",
             rx(p.SENSITIVE_FILE_STRONG), 0.7),
        Rule("TP022", "sensitive_file", "critical", "sensitive file to be read and passed along",
             rx(p.SENSITIVE_FILE_WEAK), 0.85, near=_PASS_VERB),
        Rule("TP023", "sensitive_file", "low", "mentions a possibly sensitive file", rx(p.SENSITIVE_FILE_WEAK), 0.4),
        Rule("TP030", "exfiltration_url", "critical", "known exfiltration endpoint", rx(p.EXFIL_SINK), 0.9),
        Rule("TP031", "exfiltration_url", "critical", "tells the model to send data to an external destination",
             rx(f"{p.DATA_TO_DESTINATION}|{p.EXFIL_EXPLICIT}"), 0.85),
        Rule("TP035", "exfiltration_url", "critical", "tells the model to send data to an outside address",
             rx(p.FOREIGN_EXFIL), 0.8),
        Rule("TP032", "exfiltration_url", "critical", "URL with a slot for data to be filled in",
             rx(p.URL + r"[?&][\w-]+=(?:\{[^}\s]*\}|\[[^\]\s]*\]|<[^>\s]*>|\$\{?\w+)"), 0.7,
             near=rx(f"{p.DATA_OBJECT}|\\b(?:append|include|add|fill|replace|insert)\\b")),
        Rule("TP033", "exfiltration_url", "critical", "tells the model to render an image or link that leaks data",
             rx(r"\b(?:render|display|show|include|output|print|embed|insert|add)\s+(?:this|the\s+following|an?)\s+"
                r"(?:markdown\s+)?(?:image|picture|img|pixel)\b.{0,200}?https?://"), 0.85),
        Rule("TP034", "exfiltration_url", "critical", "tells the model to add data to a URL",
             rx(r"\b(?:append|add|include|put|encode|insert)\b.{0,60}?\b(?:to|in|into)\s+(?:the\s+|a\s+|an\s+|this\s+|your\s+)?(?:url|link|query"
                r"\s+string|query\s+parameter|image\s+url|src)\b"), 0.8, near=rx(p.SENSITIVE_DATA)),
        Rule("TP040", "cross_tool_reference", "critical", "changes where another tool sends things",
             rx(p.CHANGE_RECIPIENT), 0.9),
        Rule("TP041", "cross_tool_reference", "critical", "redirects all messages or payments",
             rx(p.SEND_ALL_TO), 0.9),
        Rule("TP042", "cross_tool_reference", "critical", "gives orders about how another tool behaves",
             rx(r"\b(?:when|whenever|if|once|after|before)\s+(?:the\s+|any\s+|a\s+)?(?:\w+\s+)?" + _TOOL_NAME
                + r"\s+(?:tool\s+|function\s+)?(?:is\s+|gets\s+|has\s+been\s+)?(?:used|called|invoked|available|present"
                r"|run|executed|triggered)\b"), 0.85, near=_DIRECTIVE),
        Rule("TP043", "cross_tool_reference", "critical", "claims a side effect on another tool",
             rx(r"\b(?:side[\s-]?effects?|effect|impact|influence)\s+on\s+(?:the\s+)?(?:also\s+present\s+|other\s+)?"
                r"`?[\w.-]+`?\s+(?:tool|function|server)\b"), 0.9),
        Rule("TP044", "cross_tool_reference", "critical", "gives orders to another tool",
             rx(r"\b(?:the\s+)?" + _TOOL_NAME
                + r"\s+(?:tool\s+)?(?:must|shall|has\s+to|needs\s+to)\s+(?:now\s+|always\s+"
                r"|also\s+)?(?:send|forward|use|include|call|cc|bcc|route|redirect|add|pass)\b"), 0.85),
    )  # fmt: skip
    hidden_policy = HiddenContentPolicy(
        invisible_rule="TP050",
        tag_rule="TP051",
        ansi_rule="TP052",
        encoded_rule="TP053",
        encoded_instruction_rule="TP054",
        obfuscated_rule="TP055",
        invisible_severity="high",
        tag_severity="high",
        ansi_severity="high",
        ansi_plain_severity="high",
        encoded_severity="medium",
        encoded_url_severity="high",
    )

    def analyze(self, text: str, channel: Channel) -> list[Finding]:
        if channel not in self.channels or not text:
            return []
        norm = normalize(text)
        findings = scan_rules(self.name, self.rules, norm, channel)
        findings += hidden_content_findings(self.name, self.rules, norm, channel, self.hidden_policy, findings)
        return escalate(findings, frozenset({"invisible_unicode", "ansi_escape"}), "critical", _INSTRUCTION_CATEGORIES)


def iter_tool_texts(tool: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """``(path, text)`` for a tool definition's description, title and every schema description/title.

    Paths look like ``description`` or ``inputSchema.properties.path.description``. Enum
    values and defaults are included because they are read by the model too.
    """

    def walk(node: object, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, Mapping):
            for key, value in node.items():
                sub = f"{path}.{key}" if path else str(key)
                if isinstance(value, str) and key in ("description", "title", "default", "examples"):
                    yield sub, value
                else:
                    yield from walk(value, sub)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str) and path.endswith(("enum", "examples")):
                    yield f"{path}[{i}]", item
                else:
                    yield from walk(item, f"{path}[{i}]")

    for key in ("description", "title"):
        value = tool.get(key)
        if isinstance(value, str):
            yield key, value
    for key in ("inputSchema", "outputSchema", "annotations"):
        if key in tool:
            yield from walk(tool[key], key)
