"""Network threat detection: flows, readers, features, models, rules and the detection service.

service = ThreatDetectionService(FlowAnomalyDetector.load(path, model_dir))
result = service.analyze(flows_to_frame(flows), tenant_id)
"""

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
