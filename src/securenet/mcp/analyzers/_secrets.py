"""Secrets in tool-call arguments (and tool output, for redaction), detect-secrets style.

Each detector is a tiny declarative class: a ``rule_id``, a ``secret_type`` and compiled
``denylist`` regexes whose group 1 is the secret. A detector may add ``verify()`` (Luhn for
cards, a JSON header for JWTs) or override ``candidates()`` when one regex is not enough.
Candidates then pass through the named false-positive filters. A finding never holds the
secret: its evidence is :func:`mask_secret` of it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import Final

from securenet.mcp.analyzers._anchors import iter_matches
from securenet.mcp.analyzers._filters import first_skipping_filter
from securenet.mcp.analyzers._text import NormalizedText, mask_secret, normalize
from securenet.mcp.analyzers._types import Channel, Finding, Severity

__all__ = [
    "AWSAccessKeyDetector",
    "AWSSecretKeyDetector",
    "AnthropicKeyDetector",
    "BearerTokenDetector",
    "CardNumberDetector",
    "DotenvDumpDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "GoogleAPIKeyDetector",
    "JWTDetector",
    "OpenAIKeyDetector",
    "PrivateKeyDetector",
    "SecretAnalyzer",
    "SecretAssignmentDetector",
    "SecretDetector",
    "SlackTokenDetector",
    "SlackWebhookDetector",
    "StripeKeyDetector",
    "URLCredentialsDetector",
    "luhn_valid",
]

_DEFAULT_FILTERS: Final = ("is_placeholder", "is_templated")


class SecretDetector:
    """Base detector: subclasses set the class attributes; most need nothing else."""

    rule_id: str = ""
    secret_type: str = ""
    denylist: tuple[re.Pattern[str], ...] = ()
    filters: tuple[str, ...] = _DEFAULT_FILTERS
    confidence: float = 0.95

    def candidates(self, text: str) -> Iterator[tuple[int, int, str]]:
        """``(start, end, secret)`` spans in the normalised text."""
        for pattern in self.denylist:
            for m in iter_matches(pattern, text):
                group = 1 if pattern.groups else 0
                yield m.start(group), m.end(group), m.group(group)

    def verify(self, secret: str) -> bool:
        """Extra structural check on a candidate; ``True`` keeps it."""
        return True


class AWSAccessKeyDetector(SecretDetector):
    rule_id = "SEC001"
    secret_type = "AWS access key ID"  # noqa: S105
    denylist = (re.compile(r"\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})\b"),)


class AWSSecretKeyDetector(SecretDetector):
    rule_id = "SEC002"
    secret_type = "AWS secret access key"  # noqa: S105
    denylist = (
        re.compile(
            r"(?i)aws.{0,20}?(?:secret|private).{0,40}?(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
            re.DOTALL,
        ),
    )
    filters = (*_DEFAULT_FILTERS, "is_hash_or_uuid", "is_low_entropy")


class GitHubTokenDetector(SecretDetector):
    rule_id = "SEC003"
    secret_type = "GitHub token"  # noqa: S105
    denylist = (
        re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b"),
        re.compile(r"\b(github_pat_[A-Za-z0-9_]{22,255})\b"),
    )


class GitLabTokenDetector(SecretDetector):
    rule_id = "SEC004"
    secret_type = "GitLab token"  # noqa: S105
    denylist = (re.compile(r"\b(gl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_\-]{20,})"),)


class SlackTokenDetector(SecretDetector):
    rule_id = "SEC005"
    secret_type = "Slack token"  # noqa: S105
    denylist = (re.compile(r"\b(xox[baprse]-(?:[0-9]+-)?[A-Za-z0-9-]{10,})"),)


class SlackWebhookDetector(SecretDetector):
    rule_id = "SEC006"
    secret_type = "Slack webhook URL"  # noqa: S105
    denylist = (re.compile(r"(https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/_-]{20,})"),)


class StripeKeyDetector(SecretDetector):
    rule_id = "SEC007"
    secret_type = "Stripe live key"  # noqa: S105
    denylist = (re.compile(r"\b((?:sk|rk)_live_[A-Za-z0-9]{20,})\b"),)


class GoogleAPIKeyDetector(SecretDetector):
    rule_id = "SEC008"
    secret_type = "Google API key"  # noqa: S105
    denylist = (re.compile(r"\b(AIza[0-9A-Za-z_\-]{35})(?![0-9A-Za-z_\-])"),)


class OpenAIKeyDetector(SecretDetector):
    rule_id = "SEC009"
    secret_type = "OpenAI-style API key"  # noqa: S105
    denylist = (re.compile(r"(?<![\w-])(sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})(?![\w-])"),)
    filters = (*_DEFAULT_FILTERS, "is_low_entropy")

    def verify(self, secret: str) -> bool:
        body = secret.split("-", 1)[1]
        return any(c.isdigit() for c in body) and any(c.isalpha() for c in body)


class AnthropicKeyDetector(SecretDetector):
    rule_id = "SEC010"
    secret_type = "Anthropic API key"  # noqa: S105
    denylist = (re.compile(r"(?<![\w-])(sk-ant-[A-Za-z0-9_\-]{20,})(?![\w-])"),)
    filters = (*_DEFAULT_FILTERS, "is_low_entropy")


class PrivateKeyDetector(SecretDetector):
    rule_id = "SEC011"
    secret_type = "private key"  # noqa: S105
    denylist = (
        re.compile(
            r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:(?!-----BEGIN).){0,10000}?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$))",
            re.DOTALL,
        ),
        re.compile(r"(PuTTY-User-Key-File-\d: .{0,4000})", re.DOTALL),
    )
    filters = ()


class JWTDetector(SecretDetector):
    rule_id = "SEC012"
    secret_type = "JSON web token"  # noqa: S105
    denylist = (re.compile(r"(?<![\w-])(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})(?![\w-])"),)
    confidence = 0.9

    def verify(self, secret: str) -> bool:
        header = secret.split(".", 1)[0]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return False
        return isinstance(decoded, dict) and "alg" in decoded


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by every payment card number."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CARD_GROUPS: Final = frozenset({(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 2)})
_NOT_A_CARD_CONTEXT: Final = re.compile(
    r"(?i)(?:\bid|order|invoice|tracking|phone|tel|fax|isbn|ean|upc|serial|timestamp|\bts|epoch|account|\bref|imei"
    r"|iccid|nonce|\bseq|build|version)\w*[\"']?\s*[:=#]?\s*[\"']?$"
)


def _card_brand_ok(digits: str) -> bool:
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= six <= 622925:
        return 16 <= n <= 19
    if 300 <= int(digits[:3]) <= 305 or two in (36, 38, 39):
        return 14 <= n <= 19
    if 3528 <= four <= 3589 or two == 62:
        return 16 <= n <= 19
    return False


class CardNumberDetector(SecretDetector):
    """13 to 19 digits, optionally in 4-4-4-4 (or Amex 4-6-5) groups, of a known brand, passing Luhn."""

    rule_id = "SEC013"
    secret_type = "payment card number"  # noqa: S105
    denylist = (re.compile(r"(?<![\w.,/:+-])(\d(?:[ -]?\d){12,18})(?!\w|[.,/:-]\d|[ -]\d)"),)
    filters = ()
    confidence = 0.85

    def candidates(self, text: str) -> Iterator[tuple[int, int, str]]:
        for start, end, value in super().candidates(text):
            if _NOT_A_CARD_CONTEXT.search(text[max(0, start - 20) : start]):
                continue
            yield start, end, value

    def verify(self, secret: str) -> bool:
        seps = {c for c in secret if not c.isdigit()}
        if len(seps) > 1:
            return False
        if seps:
            groups = tuple(len(g) for g in re.split(r"[ -]", secret))
            if groups not in _CARD_GROUPS:
                return False
        digits = re.sub(r"\D", "", secret)
        return len(set(digits)) > 1 and _card_brand_ok(digits) and luhn_valid(digits)


_SECRETISH_NAME: Final = re.compile(r"(?i)(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PWD|CREDENTIALS?|PRIVATE|AUTH|DSN|SALT)")
_ENV_LINE: Final = re.compile(
    r"(?m)(?:^|(?<=\\n))[ \t]*(?:export[ \t]+)?([A-Z][A-Z0-9_]{1,63})=(\"[^\"\n]*\"|'[^'\n]*'|(?:(?!\\n)[^\s\"'])*)"
)


class DotenvDumpDetector(SecretDetector):
    """Three or more ``KEY=VALUE`` lines in a row, at least one with a secret-ish name and a real value."""

    rule_id = "SEC014"
    secret_type = ".env dump"  # noqa: S105
    filters = ()
    confidence = 0.9
    min_lines: int = 3

    def candidates(self, text: str) -> Iterator[tuple[int, int, str]]:
        block: list[re.Match[str]] = []
        for m in iter_matches(_ENV_LINE, text):
            if block and not re.fullmatch(r"(?:\s|\\n|#[^\n]*)*", text[block[-1].end() : m.start()]):
                yield from self._block(block)
                block = []
            block.append(m)
        yield from self._block(block)

    def _block(self, block: list[re.Match[str]]) -> Iterator[tuple[int, int, str]]:
        if len(block) < self.min_lines:
            return
        secret_names = []
        for m in block:
            value = m.group(2).strip("\"'")
            skipped = first_skipping_filter(
                ("is_placeholder", "is_templated", "is_trivial_password"), self.rule_id, {"value": value}
            )
            if _SECRETISH_NAME.search(m.group(1)) and value and skipped is None:
                secret_names.append(m.group(1))
        if secret_names:
            yield block[0].start(), block[-1].end(), ",".join(secret_names)


_PASSWORD_NAMES: Final = ("password", "passwd", "pwd", "passphrase")
_ASSIGNMENT: Final = re.compile(
    r"(?i)(?<![\w-])((?:[a-z0-9]+[_.-])*(?:password|passwd|pwd|passphrase|secret|api[_-]?key|apikey|access[_-]?key"
    r"|secret[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|bearer[_-]?token|token|client[_-]?secret"
    r"|private[_-]?key|credentials?|signing[_-]?key|encryption[_-]?key))[\"']?\s*(?:=>|:=|[:=])\s*"
    r"(?:\"([^\"\n\\]{1,200})\"|'([^'\n\\]{1,200})'|([^\s,;'\"}{)\]\\]{1,200}))"
)


class SecretAssignmentDetector(SecretDetector):
    """``password=…``, ``"api_key": "…"``: the value is judged by placeholder, reference and entropy filters."""

    rule_id = "SEC015"
    secret_type = "hard-coded credential"  # noqa: S105
    confidence = 0.75
    password_filters: tuple[str, ...] = (*_DEFAULT_FILTERS, "is_indirect_reference", "is_trivial_password")
    key_filters: tuple[str, ...] = (
        *_DEFAULT_FILTERS,
        "is_indirect_reference",
        "is_hash_or_uuid",
        "is_low_entropy",
    )

    def candidates(self, text: str) -> Iterator[tuple[int, int, str]]:
        for m in iter_matches(_ASSIGNMENT, text):
            group = next(g for g in (2, 3, 4) if m.group(g) is not None)
            value = m.group(group)
            if value.startswith(("/", "~", "http://", "https://")) or " " in value.strip():
                continue
            is_password = m.group(1).lower().endswith(_PASSWORD_NAMES)
            if not is_password and len(value) < 12:
                continue
            filters = self.password_filters if is_password else self.key_filters
            if first_skipping_filter(filters, self.rule_id, {"value": value}) is None:
                yield m.start(group), m.end(group), value


class BearerTokenDetector(SecretDetector):
    rule_id = "SEC016"
    secret_type = "bearer token"  # noqa: S105
    denylist = (re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{20,}=*)"),)
    filters = (*_DEFAULT_FILTERS, "is_low_entropy")
    confidence = 0.85


class URLCredentialsDetector(SecretDetector):
    rule_id = "SEC017"
    secret_type = "password in a URL"  # noqa: S105
    denylist = (re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@\"'<>]{1,64}:([^\s:/@\"'<>]{3,128})@[\w.-]+"),)
    filters = (*_DEFAULT_FILTERS, "is_trivial_password")
    confidence = 0.85


class SecretAnalyzer:
    """Runs every detector: critical in tool arguments (a secret leaving), medium in tool output (to redact)."""

    name = "secrets"
    channels: frozenset[Channel] = frozenset({"tool_arguments", "tool_output"})
    detectors: tuple[SecretDetector, ...] = (
        AWSAccessKeyDetector(),
        AWSSecretKeyDetector(),
        GitHubTokenDetector(),
        GitLabTokenDetector(),
        SlackTokenDetector(),
        SlackWebhookDetector(),
        StripeKeyDetector(),
        GoogleAPIKeyDetector(),
        AnthropicKeyDetector(),
        OpenAIKeyDetector(),
        PrivateKeyDetector(),
        JWTDetector(),
        CardNumberDetector(),
        DotenvDumpDetector(),
        SecretAssignmentDetector(),
        BearerTokenDetector(),
        URLCredentialsDetector(),
    )
    severity_by_channel: dict[Channel, Severity] = {"tool_arguments": "critical", "tool_output": "medium"}

    def analyze(self, text: str, channel: Channel) -> list[Finding]:
        if channel not in self.channels or not text:
            return []
        norm = normalize(text)
        findings: list[Finding] = []
        for detector in self.detectors:
            findings.extend(self._run(detector, norm, channel))
        return findings

    def _run(self, detector: SecretDetector, norm: NormalizedText, channel: Channel) -> Iterator[Finding]:
        for s, e, secret in detector.candidates(norm.text):
            if not detector.verify(secret):
                continue
            if detector.filters and first_skipping_filter(detector.filters, detector.rule_id, {"value": secret}):
                continue
            start, end = norm.span(s, e)
            evidence = (
                f"{detector.secret_type}: {secret}"  # the variable names of a dump, never their values
                if isinstance(detector, DotenvDumpDetector)
                else mask_secret(norm.original[start:end])
            )
            yield Finding(
                analyzer=self.name,
                rule_id=detector.rule_id,
                severity=self.severity_by_channel[channel],
                category="secret",
                message=f"{detector.secret_type} in {channel.replace('_', ' ')}",
                evidence=evidence,
                start=start,
                end=end,
                confidence=detector.confidence,
            )
