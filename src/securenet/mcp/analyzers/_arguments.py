"""Command injection, path traversal, exfiltration endpoints and SSRF targets in tool-call arguments.

Arguments are data the model chose to send to a tool. Shell metacharacters chaining a
command, ``../../`` climbing out of a sandbox, or a known request-capture host as a target
are what an injected model does on an attacker's behalf. URLs and host references are also
parsed and judged by where they point (:mod:`._urls`): cloud metadata endpoints, link-local
and internal addresses, and non-HTTP schemes such as ``file:`` or ``gopher:`` (``SSRF*``
rules, category ``ssrf``). Ordinary shell use inside one command (``ls | grep``), a single
``../`` and public URLs pass.
"""

from __future__ import annotations

from typing import Final

from securenet.mcp.analyzers import _patterns as p
from securenet.mcp.analyzers._rules import Rule, rx, scan_rules
from securenet.mcp.analyzers._text import decode_runs, escape_invisible, normalize
from securenet.mcp.analyzers._types import Channel, Finding
from securenet.mcp.analyzers._urls import find_ssrf

__all__ = ["ArgumentInjectionAnalyzer"]

_CMD: Final = (
    r"(?:sudo\s+)?(?:rm\s+-[a-z]*[rf]|curl\s+\S|wget\s+\S|nc\s+-|ncat\b|netcat\b|(?:ba|z|da|k)?sh\s+-[ci]"
    r"|(?:ba|z|da)sh\b\s*(?:$|[;&|<>\"'])|python[23]?\s+-c|perl\s+-e|ruby\s+-e|php\s+-r|node\s+-e|chmod\s+[+0-7]"
    r"|chown\s|mkfifo\b|cat\s+[/~$.]|base64\s+(?:-d|--decode)|whoami\b|id\s*(?:$|[;&|\"'])|uname\s+-a|printenv\b"
    r"|env\s*(?:$|[;&|\"'])|powershell\b|pwsh\b|cmd(?:\.exe)?\s+/c|scp\s|ssh\s+\S|telnet\s|dd\s+if=|shutdown\b"
    r"|reboot\b|kill\s+-9|crontab\s|touch\s+/|echo\s+\S+\s*>>?\s*[/~])"
)
_URL_QUERY: Final = rx(p.URL + r"[?&#][^\s\"'<>]+")
_SUBST_CMD: Final = (
    r"(?:curl|wget|cat|whoami|id|uname|rm|nc|bash|sh|echo|base64|printenv|env|ls|python3?|perl|hostname|ifconfig|ip"
    r"|ping|nslookup|dig|sleep)\b"
)


class ArgumentInjectionAnalyzer:
    """Finds shell injection, path traversal, sensitive paths, exfiltration hosts and SSRF targets in arguments."""

    name = "argument_injection"
    channels: frozenset[Channel] = frozenset({"tool_arguments"})
    rules: tuple[Rule, ...] = (
        Rule("CI001", "command_injection", "high", "shell metacharacter chains a command",
             rx(r"(?:;|&&|\|\||(?<![|])\|(?![|])|\n|\\n|%0a|%0d)\s*" + _CMD), 0.9),
        Rule("CI002", "command_injection", "high", "download piped into a shell",
             rx(r"\b(?:curl|wget|iwr|invoke-webrequest)\b[^|;&\n]{0,300}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b"), 0.95),
        Rule("CI003", "command_injection", "high", "output piped into a shell or interpreter",
             rx(r"\|\s*(?:sudo\s+)?(?:(?:ba|z|da|k)?sh|python[23]?|perl|ruby|node)\b\s*(?:$|[;&|\"'-])"), 0.85),
        Rule("CI004", "command_injection", "high", "command substitution",
             rx(r"\$\(\s*" + _SUBST_CMD + r"[^)]{0,200}\)|(?<=[=:\w/.'\"])`\s*" + _SUBST_CMD + r"[^`]{0,200}`"
                r"|`\s*" + _SUBST_CMD + r"[^`]{0,200}`(?=[\w/.])"), 0.85),
        Rule("CI005", "command_injection", "high", "shell field-separator trick", rx(r"\$\{IFS\}|\$IFS\b"), 0.9),
        Rule("CI006", "command_injection", "high", "reverse-shell pattern",
             rx(r"/dev/(?:tcp|udp)/|\bnc\s+(?:-\w+\s+)*-e\s|\bbash\s+-i\s+>&|\bmkfifo\s+/tmp|\bsocat\s[^\n]{0,200}exec:"
                r"|python[23]?\s+-c\s+[\"']import\s+(?:socket|os|pty|subprocess)"), 0.95),
        Rule("CI007", "command_injection", "high", "deletes the root or home directory",
             rx(r"\brm\s+-[a-z]*(?:rf|fr)[a-z]*\s+(?:--no-preserve-root\s+)?(?:/\*?|~/?|\$HOME/?|\.\./?)"
                r"(?=\s|$|[\"';&|])"), 0.9),
        Rule("CI008", "command_injection", "high", "PowerShell download-and-run or encoded command",
             rx(r"\bpowershell(?:\.exe)?\b[^\n]{0,100}\s-e(?:nc(?:odedcommand)?)?\s+[A-Za-z0-9+/=]{20,}|\bIEX\s*\("
                r"|\bInvoke-Expression\b|New-Object\s+(?:System\.)?Net\.WebClient|\.DownloadString\("), 0.9),
        Rule("PT001", "path_traversal", "high", "climbs out of the working directory",
             rx(r"(?:\.\.(?:/|\\{1,2})){2,}"), 0.9),
        Rule("PT002", "path_traversal", "high", "encoded path traversal",
             rx(r"(?:%2e%2e|%252e%252e|%c0%ae%c0%ae|%e0%80%ae%e0%80%ae|\.%2e|%2e\.|\.\.)(?:%2f|%5c|%252f|%255c|%c0%af"
                r"|%c1%9c|%e0%80%af)|(?:%2e%2e|%252e%252e|%c0%ae%c0%ae)(?:/|\\)"), 0.95),
        Rule("PT003", "path_traversal", "high", "targets a system file",
             rx(r"/etc/(?:passwd|shadow|sudoers|group|crontab|master\.passwd)\b|/proc/(?:self|\d+)/(?:environ|cmdline|mem"
                r"|maps|fd)\b|/root/|\b[a-z]:(?:\\{1,2}|/)windows(?:\\{1,2}|/)(?:system32|win\.ini)|\bwin\.ini\b"
                r"|\bboot\.ini\b|/var/run/secrets/kubernetes\.io"), 0.85),
        Rule("PT004", "path_traversal", "medium", "null byte in a path", rx(r"%00|\\u0000|\\x00|\\0(?![0-7])"), 0.6),
        Rule("PT010", "sensitive_file", "high", "points at a credential or agent-config file",
             rx(p.SENSITIVE_FILE_STRONG), 0.85),
        Rule("PT011", "sensitive_file", "medium", "points at a possibly sensitive file",
             rx(p.SENSITIVE_FILE_WEAK), 0.5),
        Rule("EX001", "exfiltration_url", "critical", "known exfiltration endpoint", rx(p.EXFIL_SINK), 0.9),
        Rule("EX002", "exfiltration_url", "medium", "URL carries a long encoded payload",
             rx(p.URL + r"[?&#][\w.-]+=[A-Za-z0-9+/_%-]{64,}"), 0.5, filters=("is_signed_url",)),
    )  # fmt: skip

    def analyze(self, text: str, channel: Channel) -> list[Finding]:
        if channel not in self.channels or not text:
            return []
        norm = normalize(text)
        findings = scan_rules(self.name, self.rules, norm, channel)
        for m in _URL_QUERY.finditer(norm.text):
            query = m.group().split("?", 1)[-1]
            for dec in decode_runs(query):
                offset = m.end() - len(query)
                start, end = norm.span(offset + dec.start, offset + dec.end)
                findings.append(
                    Finding(
                        analyzer=self.name,
                        rule_id="EX003",
                        severity="high",
                        category="exfiltration_url",
                        message=f"URL smuggles {dec.encoding}-encoded text out",
                        evidence=f"{dec.encoding}→{escape_invisible(dec.text)}",
                        start=start,
                        end=end,
                        confidence=0.8,
                    )
                )
        for hit in find_ssrf(norm.text):
            start, end = norm.span(hit.start, hit.end)
            findings.append(
                Finding(
                    analyzer=self.name,
                    rule_id=hit.rule_id,
                    severity=hit.severity,
                    category="ssrf",
                    message=hit.message,
                    evidence=escape_invisible(hit.evidence),
                    start=start,
                    end=end,
                    confidence=hit.confidence,
                )
            )
        return findings
