"""Tenant management (admin key) and a tenant's own keys."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from securenet.api.deps import AdminKey, CurrentTenant, State
from securenet.api.problems import Problem
from securenet.store import tenants as repo
from securenet.store.schema import ApiKey, Tenant

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["tenants"])


class TenantIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    rate_limit_per_minute: int | None = Field(default=None, ge=1)


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    rate_limit_per_minute: int | None


class CreatedTenant(TenantOut):
    api_key: str = Field(description="Shown once; only its hash is stored.")
    key_prefix: str


class KeyOut(BaseModel):
    prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _tenant(row: Tenant) -> TenantOut:
    return TenantOut(
        id=row.id, name=row.name, created_at=row.created_at, rate_limit_per_minute=row.rate_limit_per_minute
    )


def _key(row: ApiKey) -> KeyOut:
    return KeyOut(
        prefix=row.prefix,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.post("/tenants", status_code=201, response_model=CreatedTenant, summary="Create a tenant (admin)")
async def create_tenant(body: TenantIn, _: AdminKey, state: State) -> CreatedTenant:
    def create() -> CreatedTenant:
        with state.db.session() as session:
            tenant, key = repo.create_tenant(session, body.name, rate_limit_per_minute=body.rate_limit_per_minute)
            return CreatedTenant(**_tenant(tenant).model_dump(), api_key=key.secret, key_prefix=key.key.prefix)

    try:
        return await run_in_threadpool(create)
    except repo.TenantExistsError as exc:
        raise Problem(409, "Conflict", str(exc)) from None


@router.get("/tenants", response_model=list[TenantOut], summary="List tenants (admin)")
async def list_tenants(_: AdminKey, state: State) -> list[TenantOut]:
    def load() -> list[TenantOut]:
        with state.db.session() as session:
            return [_tenant(t) for t in repo.list_tenants(session)]

    return await run_in_threadpool(load)


@router.get("/keys", response_model=list[KeyOut], summary="The calling tenant's API keys")
async def list_keys(tenant: CurrentTenant, state: State) -> list[KeyOut]:
    def load() -> list[KeyOut]:
        with state.db.session() as session:
            return [_key(k) for k in repo.list_keys(session, tenant.id)]

    return await run_in_threadpool(load)


@router.delete("/keys/{prefix}", status_code=204, summary="Revoke one of the calling tenant's keys")
async def revoke_key(prefix: str, tenant: CurrentTenant, state: State) -> None:
    def revoke() -> int:
        with state.db.session() as session:
            return repo.revoke_key(session, prefix, tenant_id=tenant.id)

    if await run_in_threadpool(revoke) == 0:
        raise Problem(404, "Not found", f"no active key with prefix {prefix!r}")
