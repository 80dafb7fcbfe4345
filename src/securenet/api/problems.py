"""RFC 9457 problem details for every error the API returns.

Validation errors list each offending field as a JSON pointer into the request, with
pydantic's message but never the rejected value: it may be a secret or a payload.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

__all__ = ["PROBLEM_JSON", "FieldError", "Problem", "install_problem_handlers", "pointer"]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://securenet.dev/problems/"

log = structlog.get_logger("securenet.api")


def pointer(location: tuple[Any, ...] | list[Any]) -> str:
    """A JSON pointer (RFC 6901) for a pydantic error location."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return "/" + "/".join(parts)


class FieldError(dict[str, Any]):
    def __init__(self, pointer_: str, detail: str, **extra: Any) -> None:
        super().__init__(pointer=pointer_, detail=detail, **extra)


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or TYPE_BASE + title.lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers or {}

    def response(self, instance: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers)


def validation_errors(errors: Any, *, strip_prefix: int = 0) -> list[FieldError]:
    found = []
    for error in errors:
        location = tuple(error.get("loc", ()))[strip_prefix:]
        found.append(FieldError(pointer(location), str(error.get("msg", "invalid value")), code=error.get("type")))
    return found


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem_handler(request: Request, exc: Problem) -> JSONResponse:
        return exc.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = Problem(
            422,
            "Validation failed",
            "The request has invalid fields; see errors.",
            errors=validation_errors(exc.errors()),
        )
        return problem.response(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 403: "Forbidden"}
        problem = Problem(
            exc.status_code,
            titles.get(exc.status_code, "HTTP error"),
            str(exc.detail) if exc.detail else None,
            headers=dict(exc.headers or {}),
        )
        return problem.response(request.url.path)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception) -> JSONResponse:
        # The exception is recorded on the request's span by FastAPI's telemetry; the
        # client gets no internals.
        log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__, exc_info=exc)
        return Problem(500, "Internal error", "The server failed to handle the request.").response(request.url.path)
