"""Column plans: which source column feeds which canonical column."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from enum import Enum
from typing import Final

from securenet.netsec.flows import EXTRA_PREFIX, FLOW_DTYPES

#: One logger for the whole reader package, named after its public face.
logger = logging.getLogger("securenet.netsec.readers")

#: Source names understood without a column_map: canonical names and Zeek's dotted ones.
ALIASES: Final[dict[str, str]] = {name: name for name in FLOW_DTYPES} | {
    "id.orig_h": "orig_h",
    "id.orig_p": "orig_p",
    "id.resp_h": "resp_h",
    "id.resp_p": "resp_p",
}
LABEL = "label"


class Role(Enum):
    TEXT = "text"  # a canonical string column
    NUMBER = "number"  # canonical numeric column(s) and/or an x_ extra
    TIME = "time"  # ts: epoch seconds or an ISO 8601 string
    LABEL = "label"
    UNDECIDED = "undecided"  # unknown column: an x_ extra if its values are numbers, else ignored
    IGNORE = "ignore"


@dataclasses.dataclass(frozen=True)
class Column:
    role: Role
    targets: tuple[str, ...] = ()  # output columns this source feeds


class ColumnPlan:
    """How each source column maps to the canonical frame; grows as new JSON keys appear.

    An unknown column becomes an ``x_`` extra if the first chunk in which it holds any value
    holds only numbers there; otherwise it is ignored (logged once). Once it is an extra,
    a non-number in it is a malformed record, so the decision never silently loses data.
    """

    def __init__(self, source: str, column_map: Mapping[str, str] | None = None) -> None:
        self.source = source
        self.columns: dict[str, Column] = {}
        column_map = column_map or {}
        self._explicit = {name.strip(): target for target, name in column_map.items()}
        self._claimed = frozenset(column_map)
        self._extras: set[str] = set()

    def resolve(self, name: str) -> Column:
        column = self.columns.get(name)
        if column is None:
            column = self.columns[name] = self._classify(name)
        return column

    def decide(self, name: str, numeric: bool) -> Column:
        column = self.columns[name]
        if numeric:
            column = Column(Role.NUMBER, column.targets)
        else:
            logger.info("%s: ignoring column %r: its values are not numbers", self.source, name)
            column = Column(Role.IGNORE)
        self.columns[name] = column
        return column

    def extra_column(self, name: str) -> str:
        """A fresh ``x_`` column name for source column ``name``."""
        base = EXTRA_PREFIX + (_snake(name.removeprefix(EXTRA_PREFIX)) or "column")
        candidate, n = base, 1
        while candidate in self._extras:
            n += 1
            candidate = f"{base}_{n}"
        self._extras.add(candidate)
        return candidate

    def _classify(self, name: str) -> Column:
        key = name.strip()
        target = self._explicit.get(key)
        if target is None:
            alias = ALIASES.get(key, LABEL if key.lower() == LABEL else None)
            if alias is not None and alias in self._claimed:
                logger.info("%s: ignoring column %r: column_map takes %r from elsewhere", self.source, name, alias)
                return Column(Role.IGNORE)
            target = alias
        if target is not None:
            return _canonical_column(target, self)
        if key.startswith(EXTRA_PREFIX):  # named as an extra, so it is meant to be numeric
            return Column(Role.NUMBER, (self.extra_column(key),))
        return Column(Role.UNDECIDED, (self.extra_column(key),))


def _canonical_column(target: str, plan: ColumnPlan) -> Column:
    if target == LABEL:
        return Column(Role.LABEL)
    if target.startswith(EXTRA_PREFIX):
        return Column(Role.NUMBER, (plan.extra_column(target),))
    if target == "ts":
        return Column(Role.TIME, (target,))
    return Column(Role.TEXT if FLOW_DTYPES[target] == "object" else Role.NUMBER, (target,))


def _snake(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()


def check_column_map(column_map: Mapping[str, str]) -> None:
    for target, name in column_map.items():
        if target not in FLOW_DTYPES and target != LABEL and not target.startswith(EXTRA_PREFIX):
            raise ValueError(f"column_map key {target!r} is not a flow column, an x_ extra or 'label'")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"column_map[{target!r}] must be a column name, not {name!r}")
    names = [name.strip() for name in column_map.values()]
    if len(set(names)) != len(names):
        raise ValueError("column_map maps two flow columns to the same source column")
