"""``/metrics`` for Prometheus, and the API's instrument: the ``api_requests`` counter.

The counter is labelled with the route template (``/v1/detections/{id}``), never the raw
path, so label cardinality is bounded by the number of routes.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.metrics import Meter
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from securenet.telemetry import EXCLUDED_PATHS, Instruments

__all__ = ["ApiMetrics", "MetricsRoute", "RequestMetricsMiddleware", "api_metrics"]


class ApiMetrics:
    def __init__(self, meter: Meter) -> None:
        self.requests = meter.create_counter(
            "api_requests", unit="{request}", description="API requests, by route template, method and status."
        )

    def record_api_request(self, route: str, method: str, status_code: int) -> None:
        self.requests.add(
            1,
            {"http.route": route, "http.request.method": method, "http.response.status_code": status_code},
        )


api_metrics = Instruments("securenet.api", ApiMetrics)


async def _metrics(request: Request) -> Response:
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(REGISTRY), media_type=content_type)


class MetricsRoute(Route):
    def __init__(self, path: str) -> None:
        super().__init__(path, _metrics, methods=["GET"], include_in_schema=False)


class RequestMetricsMiddleware:
    """Counts every API request by route template, method and status code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXCLUDED_PATHS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            api_metrics().record_api_request(_route_template(scope), scope["method"], status)


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")  # set by FastAPI's APIRoute when it matched
    if route is None:
        # Plain Starlette routes (e.g. /openapi.json) do not record themselves: match them here.
        for candidate in getattr(scope.get("app"), "routes", ()):
            if candidate.matches(scope)[0] is Match.FULL:
                route = candidate
                break
    path = getattr(route, "path", None)
    # Unmatched paths share one label value instead of one per probe or typo.
    return path if isinstance(path, str) else "unmatched"
