"""Durable storage: SQLAlchemy tables, repositories and Alembic migrations.

Public names load on first use (PEP 562), so importing one module of this room loads
only what that module needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from securenet._faces import lazy_face

if TYPE_CHECKING:
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

_EXPORTS: dict[str, str] = {
    "Database": "securenet.store.database",
    "DetectionFilter": "securenet.store.detections",
    "InvalidCursorError": "securenet.store.detections",
    "Page": "securenet.store.detections",
    "find_analysis": "securenet.store.detections",
    "get_detection": "securenet.store.detections",
    "list_detections": "securenet.store.detections",
    "list_incidents": "securenet.store.detections",
    "save_flow_analysis": "securenet.store.detections",
    "Analysis": "securenet.store.schema",
    "ApiKey": "securenet.store.schema",
    "Base": "securenet.store.schema",
    "Detection": "securenet.store.schema",
    "Incident": "securenet.store.schema",
    "Model": "securenet.store.schema",
    "SecurityEvent": "securenet.store.schema",
    "Tenant": "securenet.store.schema",
    "TenantPolicy": "securenet.store.schema",
    "ToolPin": "securenet.store.schema",
    "utcnow": "securenet.store.schema",
    "KEY_PREFIX": "securenet.store.tenants",
    "TenantExistsError": "securenet.store.tenants",
    "authenticate": "securenet.store.tenants",
    "create_key": "securenet.store.tenants",
    "create_tenant": "securenet.store.tenants",
    "hash_key": "securenet.store.tenants",
    "list_keys": "securenet.store.tenants",
    "revoke_key": "securenet.store.tenants",
    "VerdictLog": "securenet.store.verdict_log",
}


__getattr__, __dir__ = lazy_face(globals(), _EXPORTS, __all__)
