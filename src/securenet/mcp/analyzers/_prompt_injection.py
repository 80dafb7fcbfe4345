"""Prompt injection in what tools return (and in user input).

Tool output is data. Data that addresses the model, overrides its instructions, asks it to
call tools or send things somewhere, or hides text from the person reading along is an
indirect prompt injection. User input gets the subset that makes sense for a principal
speaking for itself: jailbreaks, role overrides, fake chat markers and prompt extraction
(a user asking to forward their own e-mail is not an attack).
"""

from __future__ import annotations

from typing import Final

from securenet.mcp.analyzers import _patterns as p
from securenet.mcp.analyzers._rules import HiddenContentPolicy, Rule, hidden_content_findings, rx, scan_rules
from securenet.mcp.analyzers._text import normalize
from securenet.mcp.analyzers._types import Channel, Finding

__all__ = ["PromptInjectionAnalyzer"]

_OUTPUT: Final[frozenset[Channel]] = frozenset({"tool_output"})
_IMAGE_URL: Final = r"(?:!\[[^\]]{0,200}\]\(\s*<?|<img\b[^>]{0,200}\bsrc\s*=\s*[\"']?)https?://[^)\s\"'>?]*"
_PLACEHOLDER: Final = r"(?:\{[^}\s]*\}|\[[^\]\s]*\]|<[^>\s]*>|\$\{?[A-Za-z_]\w*)"
# Query parameters an exfiltration image URL carries data in; badge and CDN parameters
# (style, logo, branch, event, url, width...) are not among them.
_EXFIL_PARAMS: Final = (
    r"(?:data|d|q|p|c|secret|secrets|token|key|content|chat|history|conv\w*|leak|msg|message|text|info|memory|context"
    r"|payload|exfil|pw|pass\w*|email|summary|prompt|creds?|cookie|session|ssn|card)"
)


class PromptInjectionAnalyzer:
    """Finds injected instructions, exfiltration tricks and hidden text in tool results and user input."""

    name = "prompt_injection"
    channels: frozenset[Channel] = frozenset({"tool_output", "user_input"})
    rules: tuple[Rule, ...] = (
        Rule("PI001", "prompt_injection", "critical", "tells the model to ignore its instructions",
             rx(p.INSTRUCTION_OVERRIDE), 0.95, filters=("is_quoted_mention",)),
        Rule("PI002", "prompt_injection", "critical", "tells the model to ignore its instructions",
             rx(p.FOREIGN_OVERRIDE), 0.85, filters=("is_quoted_mention",)),
        Rule("PI003", "prompt_injection", "critical", "tells the model to take on another role",
             rx(p.ROLE_OVERRIDE), 0.85, filters=("is_quoted_mention",)),
        Rule("PI004", "prompt_injection", "critical", "fake chat-template or system markers",
             rx(p.FAKE_ROLE_MARKER), 0.8),
        Rule("PI005", "prompt_injection", "high", "asks for the system prompt", rx(p.PROMPT_LEAK), 0.8,
             filters=("is_quoted_mention",)),
        Rule("PI006", "prompt_injection", "critical", "text in a tool result addresses the AI",
             rx(p.AI_ADDRESSED), 0.8, channels=_OUTPUT),
        Rule("PI007", "prompt_injection", "critical", "tells the model to keep something from the user",
             rx(p.CONCEAL_FROM_USER), 0.9, filters=("is_quoted_mention",)),
        Rule("PI008", "prompt_injection", "critical", "imperative block in <IMPORTANT>-style tags",
             rx(p.HIDDEN_BLOCK), 0.85, channels=_OUTPUT),
        Rule("PI009", "prompt_injection", "critical", "tells the model to act silently",
             rx(p.SILENT_ACTION), 0.85, channels=_OUTPUT),
        Rule("PI010", "prompt_injection", "medium", "tells the model which tool to call next",
             rx(r"\b(?:now|then|next|immediately|first|please|you\s+must|you\s+should)\s+(?:call|invoke|use|run|execute"
                r"|trigger)\s+(?:the\s+)?`?[a-z][a-z0-9]*(?:_[a-z0-9]+)+`?(?:\s+(?:tool|function))?\b"), 0.5,
             channels=_OUTPUT),
        Rule("PI011", "prompt_injection", "high", "tells the model to gather and publish everything",
             rx(r"\b(?:put|include|list|add|share|post|write|dump)\s+(?:down\s+)?(?:everything|all)\s+(?:that\s+)?you\s+"
                r"(?:can\s+)?(?:find|found|know|see|have|learn|read|gather)\b"
                r"|\b(?:read|list|fetch|open|collect|gather|include|add)\b.{0,40}?\ball\s+(?:of\s+)?(?:the\s+)?"
                r"(?:other\s+)?(?:user'?s|author'?s|their|his|her|private|other)\s+(?:other\s+|private\s+)?(?:repos"
                r"|repositories|projects|files|e-?mails|messages|documents|chats)\b"), 0.75, channels=_OUTPUT),
        Rule("PI012", "prompt_injection", "medium", "talks the model out of privacy concerns",
             rx(r"\b(?:does\s*n[o']t|don'?t|do\s+not|doesn't)\s+care\s+about\s+(?:privacy|security|confidentiality)"),
             0.6, channels=_OUTPUT),
        Rule("PI013", "prompt_injection", "critical", "tells the model its safety rules are off",
             rx(p.SAFETY_BYPASS), 0.85, filters=("is_quoted_mention",)),
        Rule("PI014", "prompt_injection", "high", "forged conversation turn or delimiter", rx(p.FAKE_TURN), 0.75),
        Rule("PI015", "prompt_injection", "medium", "upper-case role label opens a line", rx(p.ROLE_LABEL), 0.5),
        Rule("PI016", "prompt_injection", "high", "asks for encoded text to be decoded and obeyed",
             rx(p.DECODE_AND_OBEY), 0.8),
        Rule("PI017", "prompt_injection", "critical", "tells the model to take on another role",
             rx(p.FOREIGN_ROLE), 0.8),
        Rule("PI018", "prompt_injection", "high", "tells the model to answer without restrictions",
             rx(p.FOREIGN_UNRESTRICTED), 0.7, near=rx(p.FOREIGN_NOW)),
        Rule("PI019", "prompt_injection", "high", "asks for the system prompt", rx(p.FOREIGN_LEAK), 0.8),
        Rule("PI020", "exfiltration_url", "critical", "tells the model to send secrets to an external destination",
             rx(f"{p.EXFIL_TO_DESTINATION}|{p.EXFIL_EXPLICIT}"), 0.9, channels=_OUTPUT),
        Rule("PI026", "exfiltration_url", "high", "asks for secrets or bulk data to go to an outside address",
             rx(p.EXFIL_EXPLICIT), 0.8, channels=frozenset({"user_input"})),
        Rule("PI027", "exfiltration_url", "high", "tells the model to send data to an outside address",
             rx(p.FOREIGN_EXFIL), 0.7),
        Rule("PI028", "exfiltration_url", "critical", "tells the model to put a secret in a parameter or URL",
             rx(p.SMUGGLE_INTO_PARAM), 0.85, channels=_OUTPUT),
        Rule("PI021", "exfiltration_url", "high", "tells the model to send data to an external destination",
             rx(p.DATA_TO_DESTINATION), 0.6, channels=_OUTPUT),
        Rule("PI022", "exfiltration_url", "critical", "markdown image whose URL carries data out",
             rx(_IMAGE_URL + r"[?&](?:[\w.-]+=" + _PLACEHOLDER + "|" + _EXFIL_PARAMS + r"=(?:(?-i:[A-Z][A-Z0-9_]{5,})\b"
                r"|(?!https?(?::|%3A))[^)\s\"'>&]{16,})|[\w.-]+=[A-Za-z0-9+_%-]{32,})"), 0.85, channels=_OUTPUT),
        Rule("PI023", "exfiltration_url", "critical", "known exfiltration endpoint", rx(p.EXFIL_SINK), 0.8,
             channels=_OUTPUT),
        Rule("PI024", "exfiltration_url", "critical", "tells the model to render an image or link that leaks data",
             rx(r"\b(?:render|display|show|include|output|print|embed|insert|add)\s+(?:this|the\s+following|an?)\s+"
                r"(?:markdown\s+)?(?:image|picture|img|pixel|link)\b.{0,200}?https?://"), 0.8, channels=_OUTPUT,
             near=rx(p.DATA_OBJECT + r"|\{|\[|\$")),
        Rule("PI025", "exfiltration_url", "critical", "tells the model to add data to a URL",
             rx(r"\b(?:append|add|include|put|encode|insert)\b.{0,60}?\b(?:to|in|into)\s+(?:the\s+|a\s+|an\s+|this\s+|your\s+)?(?:url|link|query"
                r"\s+string|query\s+parameter|image\s+url|src)\b"), 0.8, channels=_OUTPUT,
             near=rx(p.SENSITIVE_DATA + r"|\b(?:conversation|chat|summary|previous\s+messages|user'?s)\b")),
        Rule("PI030", "prompt_injection", "critical", "tells the model to change a recipient or payee",
             rx(p.CHANGE_RECIPIENT), 0.85, channels=_OUTPUT),
        Rule("PI031", "prompt_injection", "critical", "tells the model to redirect all messages or payments",
             rx(p.SEND_ALL_TO), 0.85, channels=_OUTPUT),
        Rule("PI032", "prompt_injection", "critical", "tells the model to grab a credential file",
             rx(p.SENSITIVE_FILE_STRONG), 0.8, channels=_OUTPUT,
             near=rx(r"\b(?:read|cat|open|send|pass|include|attach|upload|post|forward|share|copy|print|output)\b")),
        Rule("PI033", "prompt_injection", "critical", "asks for a file's content to be passed along",
             rx(p.CONTENT_HANDOFF), 0.8, channels=_OUTPUT,
             near=rx(f"{p.SENSITIVE_FILE_STRONG}|{p.SENSITIVE_FILE_WEAK}|{p.SENSITIVE_DATA}")),
        Rule("PI034", "prompt_injection", "high", "tells the model what to put in its summary or replies",
             rx(p.IN_YOUR_RESPONSE), 0.6, channels=_OUTPUT),
        Rule("PI035", "prompt_injection", "high", "lays an obligation on the assistant", rx(p.AI_OBLIGATION), 0.6,
             channels=_OUTPUT),
        Rule("PI036", "prompt_injection", "high", "tells the model to call a tool towards an outside address",
             rx(p.TOOL_CALL_TO_DEST), 0.7, channels=_OUTPUT),
        Rule("PI037", "prompt_injection", "high", "tells the model to call a destructive or sending tool",
             rx(p.DANGEROUS_TOOL_CALL), 0.6, channels=_OUTPUT),
        Rule("PI040", "hidden_instruction", "high", "instructions inside an HTML comment or hidden element",
             rx(r"<!--(?:(?!-->).){0,2000}?\b(?:ignore|assistant|\bai\b|instructions?|you\s+must|you\s+should|do\s+not\s+tell"
                r"|must\s+now|system\s+prompt)\b(?:(?!-->).){0,2000}?-->"
                r"|<[a-z]+[^>]*style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0"
                r"|opacity\s*:\s*0(?:\.0+)?\b|color\s*:\s*(?:white|#fff\b|#ffffff|transparent))[^>]*>[^<]{0,2000}?\b(?:ignore"
                r"|assistant|\bai\b|instructions?|you\s+must|you\s+should|system\s+prompt)\b"), 0.8, channels=_OUTPUT),
    )  # fmt: skip
    hidden_policy = HiddenContentPolicy(
        invisible_rule="PI050",
        tag_rule="PI051",
        ansi_rule="PI052",
        encoded_rule="PI053",
        encoded_instruction_rule="PI054",
        obfuscated_rule="PI055",
        invisible_severity="medium",
        tag_severity="high",
        ansi_severity="high",
        ansi_plain_severity="low",
        encoded_severity="low",
        encoded_url_severity="medium",
    )

    def analyze(self, text: str, channel: Channel) -> list[Finding]:
        if channel not in self.channels or not text:
            return []
        norm = normalize(text)
        findings = scan_rules(self.name, self.rules, norm, channel)
        findings += hidden_content_findings(self.name, self.rules, norm, channel, self.hidden_policy, findings)
        return findings
