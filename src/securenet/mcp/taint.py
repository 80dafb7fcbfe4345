"""Cross-call taint: untrusted tool output that flows into a later call's arguments.

Tool results and resources are untrusted: they may carry text an attacker wrote. For
each session we remember fingerprints of what came back (URLs, e-mail addresses, file
paths, long opaque tokens, and hashed 8-word shingles). When a later ``tools/call``
in the same session carries one of them in its arguments, the flow is reported;
it is critical when the output it came from was itself flagged (e.g. an injection).
Memory is bounded: sessions are evicted least-recently-used, fingerprints per session
are capped.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from securenet.mcp.analyzers import Finding

__all__ = ["TaintTracker"]

_TOKEN_PATTERNS = (
    re.compile(r"https?://[^\s\"'<>)\]]{4,}", re.IGNORECASE),
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    re.compile(r"(?:~|/)[A-Za-z0-9._-]*(?:/[A-Za-z0-9._-]+){1,}"),
    re.compile(r"\b[A-Za-z0-9_\-+/=]{32,}\b"),
)
_WORD = re.compile(r"\w+")
SHINGLE = 8


def _shingles(text: str) -> set[str]:
    words = _WORD.findall(text.lower())
    return {
        hashlib.blake2b(" ".join(words[i : i + SHINGLE]).encode(), digest_size=8).hexdigest()
        for i in range(max(0, len(words) - SHINGLE + 1))
    }


@dataclass
class _Session:
    tokens: dict[str, bool] = field(default_factory=dict)  # token -> came from flagged output
    shingles: dict[str, bool] = field(default_factory=dict)


class TaintTracker:
    def __init__(self, max_sessions: int = 10_000, max_items: int = 5_000) -> None:
        self.max_sessions = max_sessions
        self.max_items = max_items
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    def _session(self, session_id: str) -> _Session:
        state = self._sessions.get(session_id)
        if state is None:
            state = self._sessions[session_id] = _Session()
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        else:
            self._sessions.move_to_end(session_id)
        return state

    def record_output(self, session_id: str, text: str, flagged: bool) -> None:
        """Remember what an untrusted tool result or resource contained."""
        tokens = {m.group(0).rstrip(".,;:") for p in _TOKEN_PATTERNS for m in p.finditer(text)}
        shingles = _shingles(text)
        with self._lock:
            state = self._session(session_id)
            for store, items in ((state.tokens, tokens), (state.shingles, shingles)):
                for item in items:
                    store[item] = store.get(item, False) or flagged
                while len(store) > self.max_items:
                    store.pop(next(iter(store)))

    def check_arguments(self, session_id: str, text: str) -> list[Finding]:
        """Findings for argument text that repeats earlier untrusted output of the session."""
        with self._lock:
            state = self._sessions.get(session_id)
            if state is None:
                return []
            tokens, shingles = dict(state.tokens), dict(state.shingles)
        findings: list[Finding] = []
        for pattern in _TOKEN_PATTERNS:
            for match in pattern.finditer(text):
                token = match.group(0).rstrip(".,;:")
                if token in tokens:
                    findings.append(_finding(token, match.start(), match.start() + len(token), tokens[token]))
        if not findings:
            overlap = [flag for digest, flag in ((d, shingles.get(d)) for d in _shingles(text)) if flag is not None]
            if overlap:
                findings.append(_finding(text[:120], 0, min(len(text), 120), any(overlap)))
        return findings[:10]


def _finding(evidence: str, start: int, end: int, from_flagged: bool) -> Finding:
    return Finding(
        analyzer="taint",
        rule_id="TAINT002" if from_flagged else "TAINT001",
        severity="critical" if from_flagged else "medium",
        category="cross_call_taint",
        message="tool-call arguments carry content from an earlier untrusted tool result"
        + (" that was flagged" if from_flagged else ""),
        evidence=evidence[:120],
        start=start,
        end=end,
        confidence=0.9 if from_flagged else 0.5,
    )
