"""Network threat detection: flows, readers, features, models, rules and the detection service.

service = ThreatDetectionService(FlowAnomalyDetector.load(path, model_dir))
result = service.analyze(flows_to_frame(flows), tenant_id)

Public names load on first use (PEP 562), so importing one module of this room loads
only what that module needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from securenet._faces import lazy_face

if TYPE_CHECKING:
    from securenet.netsec.features import FeatureExtractor, FeatureSchemaError
    from securenet.netsec.flows import FLOW_COLUMNS, Flow, flows_to_frame
    from securenet.netsec.labels import NORMAL_LABELS, is_normal
    from securenet.netsec.models import (
        FlowAnomalyDetector,
        ModelCorruptError,
        ModelError,
        ModelIncompatibleError,
        ModelOutsideDirError,
        ModelTamperedError,
    )
    from securenet.netsec.readers import (
        FORMATS,
        FlowChunk,
        MalformedInputError,
        ReadStats,
        RecordError,
        read_all,
        read_flows,
    )
    from securenet.netsec.rules import (
        BruteForceRule,
        ExfiltrationRule,
        PortScanRule,
        Rule,
        RuleSet,
        SynFloodRule,
        default_rule_set,
    )
    from securenet.netsec.service import AnalysisResult, ThreatDetectionService
    from securenet.netsec.verdicts import LEVELS, Incident, Verdicts

__all__ = [
    "FLOW_COLUMNS",
    "FORMATS",
    "LEVELS",
    "NORMAL_LABELS",
    "AnalysisResult",
    "BruteForceRule",
    "ExfiltrationRule",
    "FeatureExtractor",
    "FeatureSchemaError",
    "Flow",
    "FlowAnomalyDetector",
    "FlowChunk",
    "Incident",
    "MalformedInputError",
    "ModelCorruptError",
    "ModelError",
    "ModelIncompatibleError",
    "ModelOutsideDirError",
    "ModelTamperedError",
    "PortScanRule",
    "ReadStats",
    "RecordError",
    "Rule",
    "RuleSet",
    "SynFloodRule",
    "ThreatDetectionService",
    "Verdicts",
    "default_rule_set",
    "flows_to_frame",
    "is_normal",
    "read_all",
    "read_flows",
]

_EXPORTS: dict[str, str] = {
    "FeatureExtractor": "securenet.netsec.features",
    "FeatureSchemaError": "securenet.netsec.features",
    "FLOW_COLUMNS": "securenet.netsec.flows",
    "Flow": "securenet.netsec.flows",
    "flows_to_frame": "securenet.netsec.flows",
    "NORMAL_LABELS": "securenet.netsec.labels",
    "is_normal": "securenet.netsec.labels",
    "FlowAnomalyDetector": "securenet.netsec.models",
    "ModelCorruptError": "securenet.netsec.models",
    "ModelError": "securenet.netsec.models",
    "ModelIncompatibleError": "securenet.netsec.models",
    "ModelOutsideDirError": "securenet.netsec.models",
    "ModelTamperedError": "securenet.netsec.models",
    "FORMATS": "securenet.netsec.readers",
    "FlowChunk": "securenet.netsec.readers",
    "MalformedInputError": "securenet.netsec.readers",
    "ReadStats": "securenet.netsec.readers",
    "RecordError": "securenet.netsec.readers",
    "read_all": "securenet.netsec.readers",
    "read_flows": "securenet.netsec.readers",
    "BruteForceRule": "securenet.netsec.rules",
    "ExfiltrationRule": "securenet.netsec.rules",
    "PortScanRule": "securenet.netsec.rules",
    "Rule": "securenet.netsec.rules",
    "RuleSet": "securenet.netsec.rules",
    "SynFloodRule": "securenet.netsec.rules",
    "default_rule_set": "securenet.netsec.rules",
    "AnalysisResult": "securenet.netsec.service",
    "ThreatDetectionService": "securenet.netsec.service",
    "LEVELS": "securenet.netsec.verdicts",
    "Incident": "securenet.netsec.verdicts",
    "Verdicts": "securenet.netsec.verdicts",
}


__getattr__, __dir__ = lazy_face(globals(), _EXPORTS, __all__)
