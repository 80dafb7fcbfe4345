"""Durable storage: SQLAlchemy tables, repositories and Alembic migrations."""

from securenet.store.database import Database
from securenet.store.detections import (
    DetectionFilter,
    InvalidCursorError,
    Page,
    find_analysis,
    get_detection,
    list_detections,
    list_incidents,
    save_flow_analysis,
)
from securenet.store.schema import (
    Analysis,
    ApiKey,
    Base,
    Detection,
    Incident,
    Model,
    SecurityEvent,
    Tenant,
    TenantPolicy,
    ToolPin,
    utcnow,
)
from securenet.store.tenants import (
    KEY_PREFIX,
    TenantExistsError,
    authenticate,
    create_key,
    create_tenant,
    hash_key,
    list_keys,
    revoke_key,
)
from securenet.store.verdict_log import VerdictLog

__all__ = [
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
]
