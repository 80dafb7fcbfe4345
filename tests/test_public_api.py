"""The public surface of every package: a sorted ``__all__`` whose names all resolve, listed here.

Each package re-exports its public names; the literal lists below make changing a surface a
deliberate act (edit the list in the same change), as httpx's own test does.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

SURFACES: dict[str, list[str]] = {
    "securenet": ["__version__"],
    "securenet.api": ["create_app"],
    "securenet.ingest": [
        "DEAD_LETTER_STREAM",
        "DEFAULT_GROUP",
        "STREAM_PREFIX",
        "Backoff",
        "DeadLetter",
        "FlowQueue",
        "InProcessQueue",
        "Message",
        "QueueError",
        "QueueFullError",
        "QueueUnavailableError",
        "RedisStreamQueue",
        "process_span",
        "stream_key",
    ],
    "securenet.mcp": [
        "BLOCKED_CODE",
        "UPSTREAM_UNAVAILABLE_CODE",
        "GatewayServer",
        "InspectionContext",
        "Judge",
        "MessageInspector",
        "Policy",
        "PolicyError",
        "PolicyFile",
        "PolicyFormat",
        "PolicySyntaxError",
        "SecurityRequest",
        "TaintTracker",
        "ToolPinStore",
        "UpstreamConnection",
        "UpstreamSpec",
        "UpstreamStatus",
        "Verdict",
        "load_policy",
        "parse_policy",
        "read_policy_document",
        "supervise_upstreams",
    ],
    "securenet.mcp.analyzers": [
        "CHANNELS",
        "DEFAULT_ANALYZERS",
        "FILTERS",
        "RULE_ANALYZERS",
        "SEVERITIES",
        "SEVERITY_BANDS",
        "Analyzer",
        "ArgumentInjectionAnalyzer",
        "Channel",
        "Finding",
        "PromptInjectionAnalyzer",
        "Rule",
        "SecretAnalyzer",
        "SecretDetector",
        "Severity",
        "TextClassifier",
        "TextClassifierAnalyzer",
        "ToolPoisoningAnalyzer",
        "analyze_text",
        "analyze_tool_definition",
        "dedupe_findings",
        "luhn_valid",
        "mask_secret",
        "normalize",
        "register_filter",
        "risk_score",
        "run_analyzers",
        "shared_normalization",
    ],
    "securenet.mcp.checks": [
        "AppliedFinding",
        "InspectionContext",
        "MessageCheck",
        "RugPullCheck",
        "ShadowingCheck",
        "TaintCheck",
        "TextAnalyzers",
        "ToolGateCheck",
    ],
    "securenet.netsec": [
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
    ],
    "securenet.netsec.models": [
        "COMPONENTS",
        "MODEL_FORMAT_VERSION",
        "FeatureExplanation",
        "FlowAnomalyDetector",
        "IsolationPathScorer",
        "ModelCorruptError",
        "ModelError",
        "ModelIncompatibleError",
        "ModelOutsideDirError",
        "ModelTamperedError",
        "PrototypeIndex",
        "TailCalibrator",
    ],
    "securenet.netsec.readers": [
        "FORMATS",
        "MAX_RECORDED_ERRORS",
        "NSL_KDD_FEATURES",
        "FlowChunk",
        "Format",
        "MalformedInputError",
        "ReadStats",
        "RecordError",
        "read_all",
        "read_flows",
    ],
    "securenet.netsec.rules": [
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
    ],
    "securenet.orchestrator": [
        "FlowAnalysis",
        "ModelRegistry",
        "PolicyProvider",
        "SecurityOrchestrator",
        "SecurityRequest",
    ],
    "securenet.store": [
        "KEY_PREFIX",
        "Analysis",
        "ApiKey",
        "Base",
        "Database",
        "Detection",
        "DetectionFilter",
        "Incident",
        "InvalidCursorError",
        "Model",
        "Page",
        "SecurityEvent",
        "Tenant",
        "TenantExistsError",
        "TenantPolicy",
        "ToolPin",
        "VerdictLog",
        "authenticate",
        "create_key",
        "create_tenant",
        "find_analysis",
        "get_detection",
        "hash_key",
        "list_detections",
        "list_incidents",
        "list_keys",
        "revoke_key",
        "save_flow_analysis",
        "utcnow",
    ],
    "securenet.telemetry": [
        "DURATION_BUCKETS_S",
        "EXCLUDED_PATHS",
        "ConfigProblem",
        "Instruments",
        "RedactSecrets",
        "ResolvedTelemetry",
        "TelemetryHandle",
        "TelemetrySettings",
        "add_trace_context",
        "async_trace_operation",
        "configure_logging",
        "current_handle",
        "current_trace_id",
        "fastapi_telemetry_options",
        "get_meter",
        "get_tracer",
        "instrument_httpx",
        "instrument_redis",
        "instrument_sqlalchemy",
        "package_version",
        "set_current_span_attribute",
        "setup_telemetry",
        "shutdown_telemetry",
        "trace_network_scan",
        "trace_operation",
        "trace_threat_detection",
        "traced",
    ],
}


def isort_order(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: SCREAMING_CASE constants, then CamelCase classes, then everything else."""
    if len(name) > 1 and name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def package(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_public_surface(name: str) -> None:
    module = package(name)
    assert module.__all__ == SURFACES[name]


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_all_is_sorted_and_every_name_resolves(name: str) -> None:
    module = package(name)
    assert module.__all__ == sorted(module.__all__, key=isort_order)
    assert len(set(module.__all__)) == len(module.__all__)
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.{public} is in __all__ but does not resolve"
    star: dict[str, object] = {}
    exec(f"from {name} import *", star)  # what `import *` gives is exactly __all__
    assert sorted(k for k in star if k != "__builtins__") == sorted(module.__all__)


def test_every_room_has_a_face() -> None:
    """Each package under src/securenet is listed above, so a new room gets a surface too."""
    import pkgutil

    import securenet

    found = {"securenet"}
    for info in pkgutil.walk_packages(securenet.__path__, "securenet."):
        if info.ispkg and ".migrations" not in info.name and info.name.rsplit(".", 1)[-1][0] != "_":
            found.add(info.name)
    assert found == set(SURFACES)


def test_version_is_the_installed_distributions() -> None:
    from importlib import metadata

    import securenet

    assert securenet.__version__ == metadata.version("securenet")
