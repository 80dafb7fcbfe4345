"""Tenants and their API keys. Keys are shown once and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from securenet.store.schema import ApiKey, Tenant, utcnow

__all__ = [
    "KEY_PREFIX",
    "TenantExistsError",
    "authenticate",
    "create_key",
    "create_tenant",
    "ensure_tenant",
    "get_tenant",
    "hash_key",
    "list_keys",
    "list_tenants",
    "revoke_key",
]

KEY_PREFIX = "snk_"
#: How many leading characters of a key are stored and shown to tell keys apart.
SHOWN_PREFIX = 12
#: last_used_at is refreshed at most this often, so authentication is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TenantExistsError(ValueError):
    pass


@dataclass(frozen=True)
class NewKey:
    """A freshly created key: ``secret`` exists only here, never in the database."""

    key: ApiKey
    secret: str

    def __repr__(self) -> str:
        return f"NewKey(prefix={self.key.prefix!r}, secret=[secure])"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_tenant(session: Session, name: str, *, rate_limit_per_minute: int | None = None) -> tuple[Tenant, NewKey]:
    tenant = Tenant(id=str(uuid.uuid4()), name=name, rate_limit_per_minute=rate_limit_per_minute)
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError as exc:
        raise TenantExistsError(f"a tenant named {name!r} already exists") from exc
    return tenant, create_key(session, tenant.id)


def get_tenant(session: Session, tenant_id: str) -> Tenant | None:
    return session.get(Tenant, tenant_id)


def list_tenants(session: Session) -> list[Tenant]:
    """Every tenant, oldest first."""
    return list(session.scalars(select(Tenant).order_by(Tenant.created_at)))


def ensure_tenant(session: Session, tenant_id: str) -> None:
    """Create the tenant ``tenant_id`` (named after its id, with no key) unless it exists."""
    if session.get(Tenant, tenant_id) is None:
        session.add(Tenant(id=tenant_id, name=tenant_id))


def create_key(session: Session, tenant_id: str, name: str = "default") -> NewKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(tenant_id=tenant_id, name=name, prefix=secret[:SHOWN_PREFIX], key_hash=hash_key(secret))
    session.add(key)
    session.flush()
    return NewKey(key, secret)


def list_keys(session: Session, tenant_id: str) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)))


def revoke_key(session: Session, prefix: str, tenant_id: str | None = None) -> int:
    """Revoke the keys whose shown prefix is ``prefix``; returns how many were revoked."""
    statement = update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    if tenant_id is not None:
        statement = statement.where(ApiKey.tenant_id == tenant_id)
    result = session.execute(statement.values(revoked_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def authenticate(session: Session, secret: str) -> tuple[Tenant, ApiKey] | None:
    """The tenant and key for a presented secret, or None if unknown or revoked."""
    row = session.execute(
        select(Tenant, ApiKey)
        .join(ApiKey, ApiKey.tenant_id == Tenant.id)
        .where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    tenant, key = row
    now = utcnow()
    last = key.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite returns naive datetimes
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > LAST_USED_RESOLUTION:
        key.last_used_at = now
    return tenant, key
