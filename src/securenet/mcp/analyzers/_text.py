"""Text plumbing for the analyzers: normalisation with an offset map, hidden characters, decoders.

Rules match on a normalised view of the text (NFKC, invisible characters and ANSI escapes
removed, common Cyrillic/Greek look-alikes folded to Latin) so that ``ig\\u200bnore`` or
``\\u0456gnore`` (Cyrillic i) still reads as ``ignore``. Each normalised character remembers the
index of the original character it came from, so findings report original offsets.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

from securenet.mcp.analyzers._anchors import iter_matches

__all__ = [
    "ANSI_RE",
    "DecodedRun",
    "HiddenRun",
    "NormalizedText",
    "decode_runs",
    "escape_invisible",
    "hidden_runs",
    "invisible_kind",
    "mask_secret",
    "normalize",
    "obfuscated_views",
    "shannon_entropy",
    "shared_normalization",
]

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes, and 8-bit CSI.
ANSI_RE: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]{0,2048}(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]{0,2048}(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)

# Look-alikes that NFKC leaves alone. Folding them lets English rules see through
# mixed-script spellings; non-Latin text gains nothing to match on by it.
_CONFUSABLES: Final = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u04bb\u051b\u051d\u0261\u04cf"
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408\u0405\u03b1\u03b5"
    "\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u0391\u0392\u0395\u0399\u039a\u039c\u039d\u039f"
    "\u03a1\u03a4\u03a7\u03a5\u0396\u2018\u2019\u201c\u201d",
    "aeopcyxijsdhqwglABEKMHOPCTXIJSaeikvoptuxABEIKMNOPTXYZ''\"\"",
)

_ZERO_WIDTH: Final = frozenset(
    {0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E, 0x034F, 0x00AD}
    | {0x115F, 0x1160, 0x3164, 0xFFA0, 0x17B4, 0x17B5}
)
_BIDI: Final = frozenset({*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C})


def invisible_kind(ch: str) -> str | None:
    """``tag``, ``bidi``, ``zero_width``, ``variation_selector`` or ``format`` for a hidden character."""
    cp = ord(ch)
    if 0xE0000 <= cp <= 0xE007F:
        return "tag"
    if cp in _BIDI:
        return "bidi"
    if cp in _ZERO_WIDTH:
        return "zero_width"
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return "variation_selector"
    if unicodedata.category(ch) == "Cf":
        return "format"
    return None


@cache
def invisible_run_re() -> re.Pattern[str]:
    """Runs of characters for which :func:`invisible_kind` is not ``None``.

    Built on first use: finding the format (``Cf``) characters takes a pass over the Basic
    and Supplementary Multilingual Planes (~15 ms); the tag and variation-selector blocks
    of plane 14 are listed explicitly, and no other plane holds a ``Cf`` character.
    """
    codes = sorted(
        {*range(0xE0000, 0xE0080), *_BIDI, *_ZERO_WIDTH, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}
        | {cp for cp in range(0x80, 0x20000) if unicodedata.category(chr(cp)) == "Cf"}
    )
    ranges: list[list[int]] = []
    for cp in codes:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]+")


def _is_legit_invisible(text: str, i: int, kind: str) -> bool:
    """Invisible characters that ordinary text carries: emoji joiners, presentation selectors, a BOM."""
    cp = ord(text[i])
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if cp == 0xFEFF and i == 0:
        return True
    if cp in (0xFE0E, 0xFE0F):  # text/emoji presentation after an emoji or symbol
        return bool(prev) and ord(prev) > 0x7F
    if cp in (0x200C, 0x200D):  # joiners inside emoji sequences and Indic/Arabic/Persian words
        return bool(prev) and bool(nxt) and ord(prev) > 0x7F and ord(nxt) > 0x7F
    if kind == "variation_selector" and 0xE0100 <= cp <= 0xE01EF:  # ideographic variation sequences
        return bool(prev) and unicodedata.name(prev, "").startswith("CJK")
    return cp == 0x00AD and prev.isalpha() and nxt.isalpha()  # soft hyphen inside a word


@dataclass(frozen=True)
class HiddenRun:
    """A run of adjacent invisible characters in the original text."""

    start: int
    end: int
    kinds: frozenset[str]
    decoded: str
    """ASCII carried by tag characters or variation-selector bytes (``""`` when none)."""


def hidden_runs(text: str) -> list[HiddenRun]:
    """Every run of invisible characters that ordinary text would not carry."""
    runs: list[HiddenRun] = []
    if text.isascii():
        return runs
    for m in invisible_run_re().finditer(text):
        # Legitimate invisibles (an emoji joiner, a BOM) split a run of invisible characters.
        start: int | None = None
        kinds: set[str] = set()
        for i in range(m.start(), m.end()):
            kind = invisible_kind(text[i])
            if kind is None or _is_legit_invisible(text, i, kind):
                if start is not None:
                    runs.append(HiddenRun(start, i, frozenset(kinds), _decode_smuggled(text[start:i])))
                    start = None
                continue
            if start is None:
                start, kinds = i, set()
            kinds.add(kind)
        if start is not None:
            runs.append(HiddenRun(start, m.end(), frozenset(kinds), _decode_smuggled(text[start : m.end()])))
    return runs


def _decode_smuggled(run: str) -> str:
    """Tag characters map to ASCII (U+E0041 is 'A'); variation selectors carry one byte each."""
    tags = "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)
    data = bytearray()
    for c in run:
        cp = ord(c)
        if 0xFE00 <= cp <= 0xFE0F:
            data.append(cp - 0xFE00)
        elif 0xE0100 <= cp <= 0xE01EF:
            data.append(cp - 0xE0100 + 16)
    selectors = data.decode("utf-8", "ignore") if len(data) >= 4 else ""
    return (tags + " " + selectors).strip() if selectors.isprintable() else tags


def escape_invisible(span: str) -> str:
    """A visible rendering of a span of hidden characters: ``<U+200B><U+202E>``."""
    return "".join(
        f"<U+{ord(c):04X}>" if invisible_kind(c) or not c.isprintable() else c for c in span.replace("\x1b", "ESC")
    )


@dataclass(frozen=True)
class NormalizedText:
    """A normalised view of ``original`` with a map back to original offsets."""

    original: str
    text: str
    origin: Sequence[int]
    """``origin[j]`` is the original index of normalised character ``j``."""

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` for a normalised span."""
        if not self.origin or start >= len(self.origin):
            return len(self.original), len(self.original)
        first = self.origin[start]
        last = self.origin[max(start, end - 1)] + 1 if end > start else first
        return first, last


_NON_ASCII_RE: Final = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """What one non-ASCII character becomes in the normalised text (``""`` for a hidden one)."""
    if invisible_kind(ch) is not None:
        return ""
    return unicodedata.normalize("NFKC", ch).translate(_CONFUSABLES)


def _normalize(text: str) -> NormalizedText:
    if text.isascii() and "\x1b" not in text:
        return NormalizedText(text, text, range(len(text)))
    # Only ANSI escapes (dropped) and non-ASCII characters (folded) change; ASCII is copied in runs.
    outside_escapes: list[tuple[int, int]] = []
    prev = 0
    if "\x1b" in text or "\x9b" in text:
        for m in ANSI_RE.finditer(text):
            outside_escapes.append((prev, m.start()))
            prev = m.end()
    outside_escapes.append((prev, len(text)))
    out: list[str] = []
    origin: list[int] = []
    for start, end in outside_escapes:
        copied = start
        for m in _NON_ASCII_RE.finditer(text, start, end):
            out.append(text[copied : m.start()])
            origin.extend(range(copied, m.start()))
            for i in range(m.start(), m.end()):
                folded = _fold_char(text[i])
                out.append(folded)
                origin.extend([i] * len(folded))
            copied = m.end()
        out.append(text[copied:end])
        origin.extend(range(copied, end))
    return NormalizedText(text, "".join(out), tuple(origin))


_SHARED: ContextVar[dict[str, NormalizedText] | None] = ContextVar("securenet_mcp_normalized", default=None)


@contextmanager
def shared_normalization() -> Iterator[None]:
    """Within the block, :func:`normalize` works out each distinct text once.

    ``analyze_text`` runs every analyzer inside one such block, so the analyzers share one
    normalised view of the message without a change to the ``Analyzer`` protocol.
    """
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def normalize(text: str) -> NormalizedText:
    """NFKC per character, hidden characters and ANSI escapes dropped, look-alikes folded."""
    shared = _SHARED.get()
    if shared is None:
        return _normalize(text)
    norm = shared.get(text)
    if norm is None:
        norm = shared[text] = _normalize(text)
    return norm


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def mask_secret(secret: str) -> str:
    """At most the first four characters (fewer for short values), an ellipsis and the length."""
    shown = min(4, len(secret) // 4)
    return f"{secret[:shown]}…({len(secret)} chars)"


@dataclass(frozen=True)
class DecodedRun:
    """An encoded run in a text and the readable text it decodes to."""

    start: int
    end: int
    encoding: str
    text: str


_B64_RE: Final = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{24,}={0,2}(?![A-Za-z0-9+/=_-])")
_B32_RE: Final = re.compile(r"(?<![A-Za-z0-9=])[A-Z2-7]{24,}={0,6}(?![A-Za-z0-9=])")
_HEX_RE: Final = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,}(?![0-9A-Fa-f])")
_PERCENT_RE: Final = re.compile(r"(?:%[0-9A-Fa-f]{2}|[\w.~+-]){12,}")
_ESCAPE_RE: Final = re.compile(r"(?:\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}){8,}")
_A85_RE: Final = re.compile(r"<~[!-u\s]{10,}?~>")
_MORSE_RE: Final = re.compile(r"(?<![.\-\w])(?:[.\-]{1,6}(?:\s*/\s*|\s+)){8,}[.\-]{1,6}(?![.\-\w])")
_MORSE: Final = dict(
    zip(
        [
            ".-",
            "-...",
            "-.-.",
            "-..",
            ".",
            "..-.",
            "--.",
            "....",
            "..",
            ".---",
            "-.-",
            ".-..",
            "--",
            "-.",
            "---",
            ".--.",
            "--.-",
            ".-.",
            "...",
            "-",
            "..-",
            "...-",
            ".--",
            "-..-",
            "-.--",
            "--..",
            "-----",
            ".----",
            "..---",
            "...--",
            "....-",
            ".....",
            "-....",
            "--...",
            "---..",
            "----.",
        ],
        "abcdefghijklmnopqrstuvwxyz0123456789",
        strict=True,
    )
)
_MAX_DECODED_RUNS: Final = 32


def _readable(data: bytes) -> str | None:
    """The text in ``data`` if it reads like prose or a URL rather than binary, a hash or a key."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 12 or not all(c.isprintable() or c in "\n\r\t" for c in text):
        return None
    letters = sum(c.isalpha() or c == " " for c in text)
    if letters / len(text) < 0.7:
        return None
    return text if (" " in text or "://" in text or "\n" in text) else None


def _b64(run: str) -> bytes | None:
    if re.fullmatch(r"[0-9A-Fa-f]+", run) or not (any(c.islower() for c in run) and any(c.isupper() for c in run)):
        return None
    raw = run.rstrip("=")
    alt = b"-_" if ("-" in raw or "_" in raw) else None
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=alt)
    except (binascii.Error, ValueError):
        return None


def _b32(run: str) -> bytes | None:
    raw = run.rstrip("=")
    try:
        return base64.b32decode(raw + "=" * (-len(raw) % 8))
    except (binascii.Error, ValueError):
        return None


def _percent(run: str) -> bytes | None:
    if run.count("%") < 3:
        return None
    return urllib.parse.unquote_to_bytes(run.replace("+", " "))


def _escapes(run: str) -> bytes | None:
    return "".join(chr(int(part[1:], 16)) for part in re.findall(r"u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}", run)).encode(
        "utf-8", "replace"
    )


def _ascii85(run: str) -> bytes | None:
    try:
        return base64.a85decode(run, adobe=True, ignorechars=b" \t\n\r")
    except ValueError:
        return None


def _morse(run: str) -> bytes | None:
    words = re.split(r"\s*/\s*", run.strip())
    letters = [[_MORSE.get(code) for code in word.split()] for word in words]
    if any(c is None for word in letters for c in word):
        return None
    return " ".join("".join(c for c in word if c) for word in letters).encode()


#: (encoding, run pattern, decoder, (mark, least)): a text with fewer than ``least`` of
#: ``mark`` holds no run the decoder can decode, so the pattern is not even scanned.
_DECODERS: Final[tuple[tuple[str, re.Pattern[str], Callable[[str], bytes | None], tuple[str, int]], ...]] = (
    ("base64", _B64_RE, _b64, ("", 0)),
    ("base32", _B32_RE, _b32, ("", 0)),
    ("hex", _HEX_RE, bytes.fromhex, ("", 0)),
    ("percent-encoding", _PERCENT_RE, _percent, ("%", 3)),
    ("escapes", _ESCAPE_RE, _escapes, ("", 0)),
    ("ascii85", _A85_RE, _ascii85, ("", 0)),
    ("morse", _MORSE_RE, _morse, ("", 0)),
)


def decode_runs(text: str) -> Iterator[DecodedRun]:
    """Base64/base32/hex/percent/``\\u`` runs in ``text`` that decode to readable text (bounded in count)."""
    found = 0
    for encoding, pattern, decode, (mark, least) in _DECODERS:
        if least and text.count(mark) < least:
            continue
        for m in iter_matches(pattern, text):
            data = decode(m.group())
            decoded = _readable(data) if data is not None else None
            if decoded is None:
                continue
            yield DecodedRun(m.start(), m.end(), encoding, decoded)
            found += 1
            if found >= _MAX_DECODED_RUNS:
                return


_SPACED_RE: Final = re.compile(r"(?<!\w)(?:[A-Za-z][ ._-]){3,}[A-Za-z](?!\w)")
_LEET_TOKEN_RE: Final = re.compile(r"\b(?=[A-Za-z0-9@$]*[A-Za-z])(?=[A-Za-z0-9@$]*[0-9@$])[A-Za-z0-9@$]{2,}\b")
_LEET: Final = str.maketrans("0134578@$", "oieastbas")
# Instruction words spelt backwards: a reversed reading is only worth a scan when some occur.
_REVERSED_HINT_RE: Final = re.compile(
    r"erongi|dragersid|tegrof|snoitcurtsni|tpmorp|metsys|laever|dnes|drawrof|drowssap|terces|yek|nekot|won\s+era\s+uoy",
    re.IGNORECASE,
)


def obfuscated_views(text: str) -> Iterator[tuple[str, str]]:
    """``(transform, view)`` for de-spaced, de-leeted and reversed readings of ``text`` where they differ.

    Jailbreaks spell ``I g n o r e``, ``1gn0r3`` or write backwards to slip past word
    rules; each view undoes one trick. A view is produced only when the text shows a sign
    of its trick (spaced single letters, several digit-letter tokens, backwards keywords).
    """
    spaced = _SPACED_RE.sub(lambda m: re.sub(r"[ ._-]", "", m.group()), text)
    if spaced != text:
        yield "spaced letters", spaced
    if sum(1 for _ in itertools.islice(_LEET_TOKEN_RE.finditer(text), 3)) >= 3:
        yield "leetspeak", _LEET_TOKEN_RE.sub(lambda m: m.group().translate(_LEET), text)
    if next(iter_matches(_REVERSED_HINT_RE, text), None) is not None:
        yield "reversed", text[::-1]
