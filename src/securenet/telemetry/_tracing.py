"""Tracing helpers: ``traced``, ``trace_operation`` and the seed's domain decorators.

They are thin on purpose: each call is one ``start_as_current_span`` of the SDK, so
their cost stays within a few percent of the raw SDK (see benchmarks/telemetry_overhead.py).
Spans measure time themselves; no helper adds a hand-made duration attribute.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, ParamSpec, TypeAlias, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context
from opentelemetry.util.types import AttributeValue

from securenet.telemetry import _setup
from securenet.telemetry._setup import get_tracer

__all__ = [
    "async_trace_operation",
    "classify_target",
    "current_trace_id",
    "set_current_span_attribute",
    "trace_network_scan",
    "trace_operation",
    "trace_threat_detection",
    "traced",
]

P = ParamSpec("P")
R = TypeVar("R")
#: Span attributes as callers give them; ``None`` values are dropped.
Attributes: TypeAlias = Mapping[str, AttributeValue | None]
#: Sets attributes from a call's arguments, once the span is open.
SpanHook: TypeAlias = Callable[[Span, tuple[Any, ...], dict[str, Any]], None]
#: Sets attributes from a call's result.
ResultHook: TypeAlias = Callable[[Span, Any], None]

_PRIMITIVES = (str, bool, int, float)


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def set_current_span_attribute(key: str, value: AttributeValue) -> None:
    """Set an attribute on the current span (e.g. one a framework opened); a no-op without one."""
    trace.get_current_span().set_attribute(key, value)


def _clean(attrs: Attributes) -> dict[str, AttributeValue]:
    return {k: v for k, v in attrs.items() if v is not None}


def trace_operation(name: str, **attrs: AttributeValue | None) -> AbstractContextManager[Span]:
    """A span around a ``with`` block; yields the span. Dotted keys: ``**{"tenant.id": t}``."""
    return get_tracer("securenet").start_as_current_span(name, attributes=_clean(attrs) if attrs else None)


class async_trace_operation:
    """``async with async_trace_operation(name, **attrs) as span:`` - the async twin of ``trace_operation``."""

    __slots__ = ("_attrs", "_cm", "_name")

    def __init__(self, name: str, **attrs: AttributeValue | None) -> None:
        self._name = name
        self._attrs = _clean(attrs) if attrs else None
        self._cm: AbstractContextManager[Span] | None = None

    async def __aenter__(self) -> Span:
        self._cm = get_tracer("securenet").start_as_current_span(self._name, attributes=self._attrs)
        return self._cm.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._cm is not None, "__aexit__ without __aenter__"
        return self._cm.__exit__(exc_type, exc, tb)


def _mark_error(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def _capture(func: Callable[..., Any], names: bool | Sequence[str]) -> SpanHook | None:
    if not names:
        return None
    signature = inspect.signature(func)
    wanted = None if names is True else frozenset(names)

    def hook(span: Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        bound = signature.bind_partial(*args, **kwargs)
        for key, value in bound.arguments.items():
            if (wanted is None or key in wanted) and isinstance(value, _PRIMITIVES):
                span.set_attribute(f"arg.{key}", value)

    return hook


def _chain(*hooks: SpanHook | None) -> SpanHook | None:
    present = [h for h in hooks if h is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]

    def hook(span: Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for h in present:
            h(span, args, kwargs)

    return hook


def _decorate(
    func: Callable[..., Any],
    name: str | None,
    attributes: Attributes | None,
    on_call: SpanHook | None,
    on_result: ResultHook | None,
) -> Callable[..., Any]:
    span_name = name or func.__qualname__
    scope = func.__module__ or "securenet"
    attrs = _clean(attributes) if attributes else None
    tracers = _setup._tracers

    if inspect.isasyncgenfunction(func):
        return _wrap_async_gen(func, span_name, scope, attrs, on_call)
    if inspect.isgeneratorfunction(func):
        return _wrap_gen(func, span_name, scope, attrs, on_call)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            tracer = tracers.get(scope) or get_tracer(scope)
            with tracer.start_as_current_span(span_name, attributes=attrs) as span:
                if on_call is not None:
                    on_call(span, args, kwargs)
                result = await func(*args, **kwargs)
                if on_result is not None:
                    on_result(span, result)
                return result

        return async_wrapper

    if on_call is None and on_result is None:

        @functools.wraps(func)
        def plain_wrapper(*args: Any, **kwargs: Any) -> Any:
            tracer = tracers.get(scope) or get_tracer(scope)
            with tracer.start_as_current_span(span_name, attributes=attrs):
                return func(*args, **kwargs)

        return plain_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracer = tracers.get(scope) or get_tracer(scope)
        with tracer.start_as_current_span(span_name, attributes=attrs) as span:
            if on_call is not None:
                on_call(span, args, kwargs)
            result = func(*args, **kwargs)
            if on_result is not None:
                on_result(span, result)
            return result

    return wrapper


def _wrap_gen(
    func: Callable[..., Generator[Any, Any, Any]],
    span_name: str,
    scope: str,
    attrs: dict[str, AttributeValue] | None,
    on_call: SpanHook | None,
) -> Callable[..., Generator[Any, Any, Any]]:
    # The span covers the whole iteration; its context is attached only while the
    # wrapped generator runs, so it never leaks into the consumer between items.
    @functools.wraps(func)
    def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        span = get_tracer(scope).start_span(span_name, attributes=attrs)
        ctx = set_span_in_context(span)
        try:
            if on_call is not None:
                on_call(span, args, kwargs)
            token = otel_context.attach(ctx)
            try:
                gen = func(*args, **kwargs)
                item = next(gen)
            finally:
                otel_context.detach(token)
            while True:
                try:
                    sent = yield item
                except GeneratorExit:
                    # Close with our context attached, so the wrapped generator's own
                    # context changes unwind onto it rather than onto the consumer's.
                    token = otel_context.attach(ctx)
                    try:
                        gen.close()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as thrown:
                    token = otel_context.attach(ctx)
                    try:
                        item = gen.throw(thrown)
                    finally:
                        otel_context.detach(token)
                else:
                    token = otel_context.attach(ctx)
                    try:
                        item = gen.send(sent)
                    finally:
                        otel_context.detach(token)
        except StopIteration as stop:
            return stop.value
        except GeneratorExit:
            raise
        except BaseException as exc:
            _mark_error(span, exc)
            raise
        finally:
            span.end()

    return gen_wrapper


def _wrap_async_gen(
    func: Callable[..., AsyncGenerator[Any, Any]],
    span_name: str,
    scope: str,
    attrs: dict[str, AttributeValue] | None,
    on_call: SpanHook | None,
) -> Callable[..., AsyncGenerator[Any, Any]]:
    @functools.wraps(func)
    async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span = get_tracer(scope).start_span(span_name, attributes=attrs)
        ctx = set_span_in_context(span)
        try:
            if on_call is not None:
                on_call(span, args, kwargs)
            token = otel_context.attach(ctx)
            try:
                agen = func(*args, **kwargs)
                item = await agen.__anext__()
            finally:
                otel_context.detach(token)
            while True:
                try:
                    sent = yield item
                except GeneratorExit:
                    token = otel_context.attach(ctx)
                    try:
                        await agen.aclose()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as thrown:
                    token = otel_context.attach(ctx)
                    try:
                        item = await agen.athrow(thrown)
                    finally:
                        otel_context.detach(token)
                else:
                    token = otel_context.attach(ctx)
                    try:
                        item = await agen.asend(sent)
                    finally:
                        otel_context.detach(token)
        except StopAsyncIteration:
            return
        except GeneratorExit:
            raise
        except BaseException as exc:
            _mark_error(span, exc)
            raise
        finally:
            span.end()

    return agen_wrapper


@overload
def traced(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced(
    *,
    name: str | None = None,
    attributes: Attributes | None = None,
    capture_args: bool | Sequence[str] = False,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def traced(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    attributes: Attributes | None = None,
    capture_args: bool | Sequence[str] = False,
) -> Any:
    """Trace every call of a function, coroutine function or (async) generator function.

    Usable bare (``@traced``) or with arguments. ``name`` defaults to the function's
    qualified name; ``attributes`` are static; ``capture_args`` (off by default, because
    arguments may carry user data) records primitive arguments as ``arg.<name>``, either
    all of them (True) or only those named. Exceptions are recorded, the span's status is
    set to ERROR, and the exception propagates unchanged.
    """

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        return _decorate(f, name, attributes, _capture(f, capture_args), None)

    return decorate(func) if func is not None else decorate


def classify_target(target: str) -> str:
    """What kind of scan target a string is: ``ip``, ``network``, ``range`` or ``hostname``."""
    try:
        ipaddress.ip_address(target)
        return "ip"
    except ValueError:
        pass
    try:
        ipaddress.ip_network(target, strict=False)
        return "network"
    except ValueError:
        pass
    return "range" if "-" in target or "," in target else "hostname"


def _tenant_hook(span: Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    tenant_id = kwargs.get("tenant_id")
    if tenant_id is not None:
        span.set_attribute("tenant.id", str(tenant_id))


def _threat_result(span: Span, result: Any) -> None:
    # A mapping (the seeds' shape) or an object with threat_count / max_severity attributes.
    if isinstance(result, Mapping):
        count, severity = result.get("threat_count"), result.get("severity")
    else:
        count, severity = getattr(result, "threat_count", None), getattr(result, "max_severity", None)
    if count is not None:
        span.set_attribute("threats.detected", int(count))
    if severity is not None:
        span.set_attribute("threats.max_severity", str(severity))


def trace_threat_detection(operation: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The seed's threat-detection decorator: operation.name/type, tenant.id, threat counts."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        op = operation or func.__name__
        return _decorate(
            func,
            f"threat_detection.{op}",
            {"operation.name": op, "operation.type": "threat_detection"},
            _tenant_hook,
            _threat_result,
        )

    return decorate


def _scan_hook(span: Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # Scan targets are operator configuration (only permitted ranges are scanned),
    # not user data, so the target itself is recorded to make a scan debuggable.
    target = kwargs.get("target")
    if target is not None:
        span.set_attribute("scan.target", str(target))
        span.set_attribute("scan.target_type", classify_target(str(target)))
    port_range = kwargs.get("port_range")
    if port_range is not None:
        span.set_attribute("scan.port_range", str(port_range))


def _scan_result(span: Span, result: Any) -> None:
    if isinstance(result, Mapping):
        if "hosts_found" in result:
            span.set_attribute("scan.hosts_found", int(result["hosts_found"]))
        if "vulnerabilities" in result:
            span.set_attribute("scan.vulnerabilities_found", len(result["vulnerabilities"]))


def trace_network_scan(scan_type: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The seed's network-scan decorator: scan.type, scan.target, scan.target_type, results."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        kind = scan_type or "unknown"
        return _decorate(
            func,
            f"network_scan.{kind}",
            {"scan.type": kind, "operation.name": func.__name__, "operation.type": "network_scan"},
            _chain(_tenant_hook, _scan_hook),
            _scan_result,
        )

    return decorate
