"""Detection rules that need no model: port scans and sweeps, SYN floods, brute force, exfiltration.

Each rule is a small class: a ``rule_id``, a default ``severity`` in [0, 1], thresholds
configured once in ``__init__`` and ``evaluate(frame) -> RuleHits`` over a flow batch (see
:mod:`securenet.netsec.flows`). :class:`RuleHits` is aligned row for row with the batch and
carries one :class:`Evidence` record per group of flows that fired. A :class:`RuleSet` builds
the batch's :class:`~securenet.netsec.columns.FlowColumns` once and hands them to each rule's
``evaluate_columns``, so columns the rules share are derived once.

Rules count over tumbling windows, ``window = floor(ts / window_s)``, grouping with the numpy
engine of :mod:`securenet.netsec.columns`. Two conventions hold for every rule:

* rows without a usable ``ts`` (NaN or infinite) share one window of their own, so a
  batch without timestamps is judged as a single window;
* rows without the addresses a rule keys on (NSL-KDD has none) are never counted and
  never fire; the rule returns all-False rather than raising.

Tumbling windows are cheap and explainable but split a burst that straddles a window
boundary; thresholds are set so that the fast tools these rules target still cross
them within one window.
"""

from __future__ import annotations

from securenet.netsec.rules._base import HALF_OPEN_STATES, Evidence, Rule, RuleHits
from securenet.netsec.rules._brute_force import AUTH_PORTS, AUTH_SERVICES, BruteForceRule
from securenet.netsec.rules._exfiltration import ExfiltrationRule, VolumeBaseline
from securenet.netsec.rules._scans import PortScanRule, SynFloodRule
from securenet.netsec.rules._set import RuleSet, RuleSetHits, default_rule_set

__all__ = [
    "AUTH_PORTS",
    "AUTH_SERVICES",
    "HALF_OPEN_STATES",
    "BruteForceRule",
    "Evidence",
    "ExfiltrationRule",
    "PortScanRule",
    "Rule",
    "RuleHits",
    "RuleSet",
    "RuleSetHits",
    "SynFloodRule",
    "VolumeBaseline",
    "default_rule_set",
]
