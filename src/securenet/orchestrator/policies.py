"""Which MCP policy applies to a tenant: one set through the API, else the policy file, else the default.

Lookups are cached for a couple of seconds, so a policy changed through the API (on any
replica) or in the file takes effect without a restart and without a query per message.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from securenet.mcp.policy import Policy, PolicyFile, parse_policy

if TYPE_CHECKING:
    from securenet.store.database import Database

__all__ = ["PolicyProvider"]


class PolicyProvider:
    def __init__(self, db: Database | None, policy_file: Path | None = None, ttl_s: float = 2.0) -> None:
        #: Without a database (offline use) no tenant has a policy of its own.
        self.db = db
        self.file = PolicyFile(policy_file) if policy_file is not None else None
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Policy | None]] = {}
        self._default = Policy()

    def for_tenant(self, tenant_id: str) -> Policy:
        if self.db is None:
            return self.file.get() if self.file is not None else self._default
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is None or now - cached[0] > self.ttl_s:
            from securenet.store.policies import get_tenant_policy

            with self.db.session() as session:
                document = get_tenant_policy(session, tenant_id)
            tenant_policy = None if document is None else parse_policy(document, f"tenant {tenant_id} policy")
            with self._lock:
                self._cache[tenant_id] = (now, tenant_policy)
            cached = self._cache[tenant_id]
        if cached[1] is not None:
            return cached[1]
        return self.file.get() if self.file is not None else self._default

    def set_for_tenant(self, tenant_id: str, document: dict[str, Any]) -> Policy:
        """Validate and store a tenant's policy (raises PolicyError with field messages)."""
        policy = parse_policy(document, "policy")
        stored = policy.model_dump(mode="json")
        if self.db is None:
            raise RuntimeError("no database: tenant policies cannot be stored offline")
        from securenet.store.policies import put_tenant_policy

        with self.db.session() as session:
            put_tenant_policy(session, tenant_id, stored)
        with self._lock:
            self._cache.pop(tenant_id, None)
        return policy

    def stored(self, tenant_id: str) -> dict[str, Any] | None:
        if self.db is None:
            return None
        from securenet.store.policies import get_tenant_policy

        with self.db.session() as session:
            return get_tenant_policy(session, tenant_id)
