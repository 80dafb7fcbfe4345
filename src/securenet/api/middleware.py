"""ASGI middleware: body size limit (413) and trace headers plus request attributes.

Both are plain ASGI classes (no BaseHTTPMiddleware), so they add no task or copy of
the body and keep the request inside FastAPI's server span.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from securenet.api.problems import PROBLEM_JSON

__all__ = ["BodyLimitMiddleware", "BodyTooLargeError", "TraceHeadersMiddleware"]


class BodyTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes")
        self.limit = limit


def _problem_413(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "https://securenet.dev/problems/content-too-large",
            "title": "Content too large",
            "status": 413,
            "detail": f"The request body exceeds the limit of {limit} bytes.",
        }
    ).encode()


class BodyLimitMiddleware:
    """Answer 413 for bodies over ``max_bytes``: by Content-Length up front, or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = _problem_413(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class TraceHeadersMiddleware:
    """Every response names its trace (W3C ``traceresponse`` and ``X-Trace-Id``), and the
    server span gets the semconv request attributes FastAPI does not set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        try:
            from opentelemetry import trace

            self._trace: Any = trace
        except ImportError:  # pragma: no cover - degraded mode
            self._trace = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._trace is None:
            await self.app(scope, receive, send)
            return
        span = self._trace.get_current_span()
        context = span.get_span_context()
        if not context.is_valid:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        if span.is_recording():
            agent = headers.get(b"user-agent")
            if agent:
                span.set_attribute("user_agent.original", agent.decode("latin-1")[:256])
            client = scope.get("client")
            if client:
                span.set_attribute("client.address", client[0])
            length = headers.get(b"content-length")
            if length is not None and length.isdigit():
                span.set_attribute("http.request.body.size", int(length))
        trace_id = format(context.trace_id, "032x")
        traceresponse = f"00-{trace_id}-{format(context.span_id, '016x')}-{format(context.trace_flags, '02x')}"
        response_size = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal response_size
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"traceresponse", traceresponse.encode()),
                    (b"x-trace-id", trace_id.encode()),
                ]
            elif message["type"] == "http.response.body":
                response_size += len(message.get("body", b""))
                if not message.get("more_body", False) and span.is_recording():
                    span.set_attribute("http.response.body.size", response_size)
            await send(message)

        await self.app(scope, receive, send_with_headers)
