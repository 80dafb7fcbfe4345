"""An app on SQLite with the in-process queue, an admin key, and two tenants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from securenet.api import create_app
from securenet.config import Settings

ADMIN_KEY = "admin-key-for-tests-0123456789"


@dataclass
class Api:
    client: TestClient
    settings: Settings

    def tenant(self, name: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post("/v1/tenants", json={"name": name, **extra}, headers=admin())
        assert response.status_code == 201, response.text
        return dict(response.json())


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def bearer(tenant: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant['api_key']}"}


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> Api:
        settings = Settings(data_dir=tmp_path / "data", admin_key=ADMIN_KEY, **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return Api(client, settings)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
