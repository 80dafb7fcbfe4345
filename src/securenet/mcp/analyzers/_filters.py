"""False-positive filters: pure functions registered by name, detect-secrets style.

A rule names the filters it wants. The scanner calls each one with only the arguments it
declares, out of:

* ``value``: the matched value (the secret for secret detectors, else the match);
* ``match``: the whole regex match in the normalised text;
* ``before``: up to 80 normalised characters before the match;
* ``line``: the normalised line(s) the match sits on;
* ``channel``: the channel being analysed.

A filter returns ``True`` to drop the candidate. The first filter that does so is logged
by name at debug level (never with the value).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

from securenet.mcp.analyzers._text import shannon_entropy

__all__ = ["FILTERS", "FilterFn", "first_skipping_filter", "register_filter"]

FilterFn = Callable[..., bool]
F = TypeVar("F", bound=FilterFn)

FILTERS: dict[str, FilterFn] = {}
"""Every registered filter by name."""

_PARAMS: dict[str, tuple[str, ...]] = {}
_log = logging.getLogger("securenet.mcp.analyzers")


def register_filter(name: str) -> Callable[[F], F]:
    """Register ``fn`` under ``name``; its parameter names say what it is passed."""

    def wrap(fn: F) -> F:
        if name in FILTERS:
            raise ValueError(f"filter {name!r} is already registered")
        FILTERS[name] = fn
        _PARAMS[name] = tuple(inspect.signature(fn).parameters)
        return fn

    return wrap


def first_skipping_filter(names: tuple[str, ...], rule_id: str, available: Mapping[str, object]) -> str | None:
    """Name of the first filter in ``names`` that drops the candidate, or ``None``."""
    for name in names:
        fn = FILTERS[name]
        if fn(**{p: available[p] for p in _PARAMS[name]}):
            _log.debug("mcp analyzer candidate dropped", extra={"rule_id": rule_id, "filter": name})
            return name
    return None


_PLACEHOLDER_RE: Final = re.compile(
    r"example|sample|dummy|placeholder|fake|your[_\-\s]?|my[_\-]|changeme|change[_\-]me|redacted|replace[_\-]?me"
    r"|x{4,}|\*{3,}|\.{3}|…|<[^>]*>|^(?:test|password|secret|token|none|null|nil|true|false|undefined|string)$"
    r"|^(.)\1+$|0{8,}|^(?:0?123456789?0?|abcdefg?h?)$|insert|here$",
    re.IGNORECASE,
)


@register_filter("is_placeholder")
def is_placeholder(value: str) -> bool:
    """Documentation stand-ins: EXAMPLE keys, xxxx, ``<your-key>``, ``********``, ``your_token_here``."""
    return bool(_PLACEHOLDER_RE.search(value))


_TEMPLATE_RE: Final = re.compile(
    r"\$\{[^}]*\}|\{\{[^}]*\}\}|%\([^)]*\)s|^\$[A-Z_][A-Z0-9_]*$|^%[A-Z_]+%$|\benv\(|process\.env|os\.environ|getenv"
    r"|secrets\.[A-Za-z_]|vault:|\bref\+|^@Microsoft\.KeyVault",
)


@register_filter("is_templated")
def is_templated(value: str) -> bool:
    """References resolved elsewhere: ``${VAR}``, ``{{ secrets.X }}``, ``$TOKEN``, ``os.environ[...]``."""
    return bool(_TEMPLATE_RE.search(value))


_INDIRECT_RE: Final = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+$|[()\[\]]")


@register_filter("is_indirect_reference")
def is_indirect_reference(value: str) -> bool:
    """Code that fetches a secret rather than a secret: ``settings.API_KEY``, ``get_secret("db")``."""
    return bool(_INDIRECT_RE.search(value))


@register_filter("is_low_entropy")
def is_low_entropy(value: str) -> bool:
    """Fewer than 3 bits per character: words, repeated or sequential characters."""
    return shannon_entropy(value) < 3.0


@register_filter("is_trivial_password")
def is_trivial_password(value: str) -> bool:
    """Too short or too uniform to be a password worth flagging (``abc``, ``aaaaaa``)."""
    return len(value) < 6 or shannon_entropy(value) < 2.0


_HASH_OR_ID_RE: Final = re.compile(
    r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
    re.IGNORECASE,
)


@register_filter("is_hash_or_uuid")
def is_hash_or_uuid(value: str) -> bool:
    """Digests and UUIDs are identifiers, not credentials."""
    return bool(_HASH_OR_ID_RE.match(value))


_MENTION_RE: Final = re.compile(
    r"(?:such\s+as|like|e\.g\.|for\s+example|for\s+instance|phrases?|patterns?|strings?|attacks?|detects?|flags?"
    r"|blocks?|catch(?:es)?|contain(?:s|ing)?|examples?\s+of)\W{0,6}$",
    re.IGNORECASE,
)


@register_filter("is_quoted_mention")
def is_quoted_mention(before: str) -> bool:
    """A phrase quoted as an example (``detects phrases like "ignore previous instructions"``)."""
    stripped = before.rstrip()
    return stripped.endswith(("'", '"', "“", "`")) and bool(_MENTION_RE.search(stripped[:-1]))


_SIGNED_URL_RE: Final = re.compile(
    r"x-amz-|x-goog-signature|[?&](?:sig|signature|se|sp|sv|expires|key-pair-id|policy|code|state)=",
    re.IGNORECASE,
)


@register_filter("is_signed_url")
def is_signed_url(match: str) -> bool:
    """Presigned storage links and OAuth redirects carry long opaque parameters by design."""
    return bool(_SIGNED_URL_RE.search(match))
