"""RuleSet: a fixed list of rules run over one batch, and their combined verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from securenet.netsec.columns import BoolArray, FloatArray, FlowColumns
from securenet.netsec.rules._base import Evidence, Rule, require
from securenet.netsec.rules._brute_force import BruteForceRule
from securenet.netsec.rules._exfiltration import ExfiltrationRule
from securenet.netsec.rules._scans import PortScanRule, SynFloodRule


@dataclass(frozen=True)
class RuleSetHits:
    """Combined verdict of a :class:`RuleSet`.

    ``fired`` is a (rows x rules) boolean matrix whose columns follow ``rule_ids``;
    ``score`` is each row's highest score over the rules that fired (0 when none did).
    """

    rule_ids: tuple[str, ...]
    fired: BoolArray
    score: FloatArray
    evidence: tuple[Evidence, ...]

    @property
    def any_fired(self) -> BoolArray:
        return np.asarray(self.fired.any(axis=1), dtype=np.bool_)

    def rules_for(self, row: int) -> list[str]:
        """Ids of the rules that fired for one row (by position)."""
        return [rule_id for rule_id, hit in zip(self.rule_ids, self.fired[row], strict=True) if hit]

    def to_frame(self) -> pd.DataFrame:
        """One boolean column per rule id plus ``score``, on a positional index."""
        columns: dict[str, Any] = {rule_id: self.fired[:, i] for i, rule_id in enumerate(self.rule_ids)}
        columns["score"] = self.score
        return pd.DataFrame(columns, index=pd.RangeIndex(len(self.score)))


class RuleSet:
    """Runs a fixed list of rules over a batch and combines their verdicts."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        ids = [rule.rule_id for rule in rules]
        duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        require(not duplicates, f"rule ids must be unique, duplicated: {duplicates}")
        self.rules: tuple[Rule, ...] = tuple(rules)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.rule_id for rule in self.rules)

    def evaluate(self, frame: pd.DataFrame) -> RuleSetHits:
        """Judge a flow batch with every rule; the columns they share are derived once, for all of them."""
        n = len(frame)
        columns = FlowColumns(frame)
        results = [rule.evaluate_columns(columns) for rule in self.rules]
        fired = np.zeros((n, len(results)), dtype=bool)
        scores = np.zeros((n, len(results)), dtype=np.float64)
        for i, hits in enumerate(results):
            fired[:, i] = hits.fired
            scores[:, i] = hits.score
        score: FloatArray = scores.max(axis=1, initial=0.0)
        evidence = tuple(item for hits in results for item in hits.evidence)
        return RuleSetHits(self.rule_ids, fired, score, evidence)


def default_rule_set() -> RuleSet:
    """Every rule with its documented defaults."""
    return RuleSet([PortScanRule(), SynFloodRule(), BruteForceRule(), ExfiltrationRule()])
