"""URLs and host references in tool-call arguments, classified by where they point (SSRF).

A URL is judged by what its host *is* once parsed, not by how it is spelt: the metadata
address ``169.254.169.254`` is caught as ``http://2852039166/``, ``http://0xA9FEA9FE/``,
``http://0251.0376.0251.0376/``, ``http://[::ffff:169.254.169.254]/``,
``http://good.example@169.254.169.254/`` or with a trailing dot. Hosts are read the way
:mod:`urllib.parse` reads them and, where browsers differ (a backslash ends the authority
in WHATWG URLs), that way too; the worse reading wins.

Only candidates found by a cheap pre-scan are parsed: text holding ``://`` (or ``jar:``,
``netdoc:``) is searched for URLs, text holding a digit-dot-digit, a bracket or a known
metadata name for bare host references (``10.0.0.5:6379``, ``[::1]:8080``,
``metadata.google.internal``). Bare integer or hex addresses are read only inside URLs.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from typing import Final

from securenet.mcp.analyzers import _patterns as p
from securenet.mcp.analyzers._types import Severity

__all__ = ["SsrfHit", "find_ssrf"]

_URL_RE: Final = re.compile(
    r"(?<![\w+.-])(?:(?:jar|netdoc):)?[a-z][a-z0-9+.-]{0,15}:(?:\\?/){2}[^\s\"'<>`]*"
    r"|(?<![\w+.-])(?:jar|netdoc):[^\s\"'<>`]+",
    re.IGNORECASE,
)
_BARE_RE: Final = re.compile(
    r"(?<![\w.:/@-])(?:"
    r"\[[0-9a-f:.]+(?:%[\w.-]+)?\](?::\d{1,5})?"  # bracketed IPv6, optional port
    r"|\d{1,3}(?:\.\d{1,3}){3}\.?(?::\d{1,5})?"  # dotted quad, optional port
    r"|localhost\.?:\d{1,5}"  # localhost with a port
    r"|(?:metadata\.google\.internal|metadata\.goog|instance-data(?:\.ec2\.internal)?)\.?(?::\d{1,5})?"
    r"|fd00:ec2::254"
    r")(?![\w-]|\.\w|:\w)",
    re.IGNORECASE,
)
_BARE_HINT: Final = re.compile(r"\d\.\d|\[|localhost|metadata|instance-data|fd00:ec2", re.IGNORECASE)

_METADATA_NAMES: Final = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
"""GCP's metadata server names and AWS's ``instance-data`` alias (the last two resolve only inside EC2)."""

_METADATA_IPS: Final = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata and credentials
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
_INTERNAL_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_LINK_LOCAL: Final = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_INTERNAL: Final = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "0.0.0.0/8",
        "::1/128",
        "::/128",
        "fc00::/7",
    )
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")

_DANGEROUS_SCHEMES: Final = frozenset({"file", "gopher", "dict", "ldap", "ldaps", "jar", "netdoc", "tftp"})
_SENSITIVE_PATH: Final = re.compile(
    p.SENSITIVE_FILE_STRONG + r"|/etc/(?:passwd|shadow|sudoers|group|hosts)\b|/proc/(?:self|\d+)/|/root/"
    r"|/var/run/secrets/|\bwin\.ini\b|(?<![\w.])\.env\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SsrfHit:
    """One URL or host reference that reaches somewhere a tool should not."""

    rule_id: str
    severity: Severity
    message: str
    evidence: str
    start: int
    end: int
    confidence: float


_ORDER: Final = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def _ipv4_numeric(host: str) -> ipaddress.IPv4Address | None:
    """``host`` read as IPv4 the way ``inet_aton`` and WHATWG do: 1-4 parts, decimal, ``0x`` hex or octal."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not parts[-1]:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part[:2].lower() == "0x":
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10) if part.isdigit() else -1)
        except ValueError:
            return None
        if values[-1] < 0:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = host.split("%", 1)[0]  # IPv6 zone id
    if ":" in host:
        try:
            v6 = ipaddress.IPv6Address(host)
        except ValueError:
            return None
        embedded = v6.ipv4_mapped or v6.sixtofour
        if embedded is None and v6 in _NAT64:
            embedded = ipaddress.IPv4Address(int(v6) & 0xFFFFFFFF)
        if embedded is None and int(v6) >> 32 == 0 and int(v6) > 1:  # deprecated IPv4-compatible ::a.b.c.d
            embedded = ipaddress.IPv4Address(int(v6))
        return embedded or v6
    return _ipv4_numeric(host)


def classify_host(host: str) -> tuple[str, Severity, str] | None:
    """``(rule_id, severity, message)`` for a host a tool should not reach, else ``None``."""
    host = urllib.parse.unquote(host).strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        return None
    if host in _METADATA_NAMES:
        return "SSRF001", "critical", "reaches a cloud metadata endpoint"
    if host in _INTERNAL_NAMES or host.endswith(".localhost"):
        return "SSRF005", "medium", "reaches an internal address"
    addr = _address(host)
    if addr is None:
        return None
    if addr in _METADATA_IPS:
        return "SSRF001", "critical", "reaches a cloud metadata endpoint"
    if any(addr in net for net in _LINK_LOCAL if net.version == addr.version):
        return "SSRF002", "high", "reaches a link-local address"
    if any(addr in net for net in _INTERNAL if net.version == addr.version):
        return "SSRF005", "medium", "reaches an internal address"
    return None


def _hosts(url: str) -> list[tuple[str, str]]:
    """``(scheme, host)`` readings of ``url``: urllib's, and WHATWG's where a backslash ends the authority."""
    url = url.replace("\\/", "/") if "\\/" in url else url
    readings: list[tuple[str, str]] = []
    for candidate in (url, url.replace("\\", "/")) if "\\" in url else (url,):
        try:
            parts = urllib.parse.urlsplit(candidate)
            host = parts.hostname or ""
        except ValueError:
            continue
        if not host and parts.netloc:  # unbalanced bracket and the like: take the authority as is
            host = parts.netloc.rpartition("@")[2]
        readings.append((parts.scheme.lower(), host))
    return readings


def _mask(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = len(rest)
    for stop in "/?#\\":
        i = rest.find(stop)
        if i != -1:
            end = min(end, i)
    authority = rest[:end]
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{rest[end:]}"


def _url_hit(url: str) -> tuple[str, Severity, str, float] | None:
    best: tuple[str, Severity, str, float] | None = None
    lowered = url.lower()
    for scheme, host in _hosts(url):
        verdict: tuple[str, Severity, str, float] | None = None
        hit = classify_host(host)
        if hit is not None:
            verdict = (*hit, 0.9 if hit[1] != "medium" else 0.6)
        outer = "jar" if lowered.startswith("jar:") else "netdoc" if lowered.startswith("netdoc:") else scheme
        if outer in _DANGEROUS_SCHEMES:
            scheme_hit: tuple[str, Severity, str, float]
            if outer in {"file", "netdoc", "jar"} and _SENSITIVE_PATH.search(urllib.parse.unquote(url)):
                scheme_hit = ("SSRF004", "critical", f"{outer}: URL reads a sensitive local file", 0.9)
            else:
                scheme_hit = ("SSRF003", "high", f"{outer}: URL reaches past HTTP", 0.85)
            if verdict is None or _ORDER[scheme_hit[1]] > _ORDER[verdict[1]]:
                verdict = scheme_hit
        if verdict is not None and (best is None or _ORDER[verdict[1]] > _ORDER[best[1]]):
            best = verdict
    return best


def _trim(url: str) -> str:
    """``url`` without the sentence punctuation or unbalanced closing bracket that follows it in prose."""
    while url and url[-1] in ".,;:!?)]}":
        closer = url[-1]
        opener = {")": "(", "]": "[", "}": "{"}.get(closer)
        if opener is not None and url.count(opener) >= url.count(closer):
            break
        url = url[:-1]
    return url


def find_ssrf(text: str) -> list[SsrfHit]:
    """URLs and bare host references in ``text`` that reach metadata, link-local, internal or non-HTTP targets.

    Offsets are into ``text``. One hit per URL or reference: the worst reading of it.
    """
    hits: list[SsrfHit] = []
    taken: list[tuple[int, int]] = []
    lowered = text.lower()
    if "://" in text or ":\\/\\/" in text or "jar:" in lowered or "netdoc:" in lowered:
        for m in _URL_RE.finditer(text):
            url = _trim(m.group())
            if url.endswith("\\"):  # the escape of a JSON string's closing quote
                url = url[:-1]
            taken.append((m.start(), m.start() + len(url)))
            verdict = _url_hit(url)
            if verdict is not None:
                rule_id, severity, message, confidence = verdict
                hits.append(
                    SsrfHit(
                        rule_id,
                        severity,
                        message,
                        _mask(url.replace("\\/", "/")),
                        m.start(),
                        m.start() + len(url),
                        confidence,
                    )
                )
    if _BARE_HINT.search(text):
        for m in _BARE_RE.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            ref = m.group()
            host = ref
            if ref.startswith("["):
                host = ref[: ref.index("]") + 1]
            elif ref.count(":") == 1:
                host = ref.partition(":")[0]
            hit = classify_host(host)
            if hit is not None:
                rule_id, severity, message = hit
                confidence = 0.8 if severity != "medium" else 0.5
                hits.append(SsrfHit(rule_id, severity, message, ref, m.start(), m.end(), confidence))
    return hits
