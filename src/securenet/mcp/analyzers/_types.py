"""Core types shared by every MCP text analyzer: channels, severities, findings, the protocol."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final, Literal, Protocol, get_args, runtime_checkable

__all__ = [
    "CHANNELS",
    "MAX_EVIDENCE_CHARS",
    "SEVERITIES",
    "Analyzer",
    "Channel",
    "Finding",
    "Severity",
    "severity_rank",
]

Channel = Literal["user_input", "tool_description", "tool_output", "tool_arguments"]
"""Where a text comes from. Analyzers declare the channels they apply to."""

Severity = Literal["low", "medium", "high", "critical"]

CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
"""Severities from least to most severe."""

MAX_EVIDENCE_CHARS: Final = 120
"""Evidence is the offending span only, cut to this many characters (an ellipsis marks the cut)."""


def severity_rank(severity: Severity) -> int:
    """0 for ``low`` up to 3 for ``critical``."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Finding:
    """One suspicious span in an analysed text.

    ``start``/``end`` are offsets in the text that was analysed (the original, not its
    normalised form). ``evidence`` is that span, cut to :data:`MAX_EVIDENCE_CHARS`; for
    secrets it is masked by the analyzer and never holds the secret itself.
    """

    analyzer: str
    rule_id: str
    severity: Severity
    category: str
    message: str
    evidence: str
    start: int
    end: int
    confidence: float

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must lie in [0, 1]")
        if not 0 <= self.start <= self.end:
            raise ValueError("need 0 <= start <= end")
        if len(self.evidence) > MAX_EVIDENCE_CHARS:
            object.__setattr__(self, "evidence", self.evidence[: MAX_EVIDENCE_CHARS - 1] + "…")

    def to_dict(self) -> dict[str, str | int | float]:
        """A flat JSON-ready dict of every field."""
        return asdict(self)


@runtime_checkable
class Analyzer(Protocol):
    """Anything that turns one text from one channel into findings.

    ``analyze`` must be deterministic and must not raise on odd input (it returns ``[]``).
    """

    name: str
    channels: frozenset[Channel]

    def analyze(self, text: str, channel: Channel) -> list[Finding]: ...
