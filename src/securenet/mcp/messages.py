"""Where the analysable text is in MCP messages, and how to put redacted text back.

A :class:`Segment` is one piece of text, the channel it travels on, and a JSON path to
it inside the message, so that findings can be redacted in place and the message
stays a valid MCP message.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Segment", "infer_method", "replace_at", "segments"]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Segment:
    channel: str
    text: str
    path: Path
    tool: str | None = None


def infer_method(message: dict[str, Any]) -> str | None:
    """The method of a request, or the method a response answers, judged by its shape."""
    if isinstance(message.get("method"), str):
        return str(message["method"])
    result = message.get("result")
    if not isinstance(result, dict):
        return None
    for key, method in (
        ("tools", "tools/list"),
        ("content", "tools/call"),
        ("structuredContent", "tools/call"),
        ("contents", "resources/read"),
        ("resources", "resources/list"),
        ("resourceTemplates", "resources/templates/list"),
        ("prompts", "prompts/list"),
        ("messages", "prompts/get"),
    ):
        if key in result:
            return method
    return None


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _schema_texts(schema: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Descriptions, titles, defaults and enum values inside a JSON schema: model-facing text."""
    if isinstance(schema, dict):
        for key, item in schema.items():
            if key in ("description", "title") and isinstance(item, str):
                yield (*path, key), item
            elif key in ("default", "enum", "examples", "const"):
                yield from _strings(item, (*path, key))
            else:
                yield from _schema_texts(item, (*path, key))
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _schema_texts(item, (*path, index))


def _content_segments(items: Any, path: Path, channel: str, tool: str | None) -> Iterator[Segment]:
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("text"), str):
            yield Segment(channel, item["text"], (*path, index, "text"), tool)
        resource = item.get("resource")
        if isinstance(resource, dict) and isinstance(resource.get("text"), str):
            yield Segment(channel, resource["text"], (*path, index, "resource", "text"), tool)


def segments(message: dict[str, Any], *, tool: str | None = None) -> Iterator[Segment]:
    """Every analysable text of a JSON-RPC message, with its channel."""
    method = infer_method(message)
    params: dict[str, Any] = message["params"] if isinstance(message.get("params"), dict) else {}
    result: dict[str, Any] | None = message["result"] if isinstance(message.get("result"), dict) else None
    if "method" in message:
        if method == "tools/call":
            name = params.get("name") if isinstance(params.get("name"), str) else tool
            for path, text in _strings(params.get("arguments"), ("params", "arguments")):
                yield Segment("tool_arguments", text, path, name)
        elif method == "prompts/get":
            for path, text in _strings(params.get("arguments"), ("params", "arguments")):
                yield Segment("tool_arguments", text, path, None)
        elif method == "sampling/createMessage":
            for message_index, item in enumerate(params.get("messages") or []):
                content = item.get("content") if isinstance(item, dict) else None
                items = content if isinstance(content, list) else [content]
                yield from _content_segments(
                    items, ("params", "messages", message_index, "content"), "tool_output", None
                )
        return
    if result is None:
        return
    if method == "tools/list":
        for index, entry in enumerate(result.get("tools") or []):
            if not isinstance(entry, dict):
                continue
            name = entry.get("name") if isinstance(entry.get("name"), str) else None
            base: Path = ("result", "tools", index)
            for key in ("title", "description"):
                if isinstance(entry.get(key), str):
                    yield Segment("tool_description", entry[key], (*base, key), name)
            for schema_key in ("inputSchema", "outputSchema"):
                for path, text in _schema_texts(entry.get(schema_key), (*base, schema_key)):
                    yield Segment("tool_description", text, path, name)
    elif method in ("resources/list", "resources/templates/list", "prompts/list"):
        key = {"resources/list": "resources", "resources/templates/list": "resourceTemplates"}.get(method, "prompts")
        for index, entry in enumerate(result.get(key) or []):
            if isinstance(entry, dict):
                for field in ("title", "description"):
                    if isinstance(entry.get(field), str):
                        yield Segment(
                            "tool_description", entry[field], ("result", key, index, field), entry.get("name")
                        )
    elif method == "tools/call":
        yield from _content_segments(result.get("content"), ("result", "content"), "tool_output", tool)
        for path, text in _strings(result.get("structuredContent"), ("result", "structuredContent")):
            yield Segment("tool_output", text, path, tool)
    elif method == "resources/read":
        for index, entry in enumerate(result.get("contents") or []):
            if isinstance(entry, dict) and isinstance(entry.get("text"), str):
                yield Segment("tool_output", entry["text"], ("result", "contents", index, "text"), None)
    elif method == "prompts/get":
        for index, entry in enumerate(result.get("messages") or []):
            content = entry.get("content") if isinstance(entry, dict) else None
            items = content if isinstance(content, list) else [content]
            for segment in _content_segments(items, ("result", "messages", index, "content"), "tool_output", None):
                # A single content object is not a list: fix the path to point at it.
                path = segment.path if isinstance(content, list) else (*segment.path[:-2], segment.path[-1])
                yield Segment(segment.channel, segment.text, path, None)


def replace_at(message: dict[str, Any], replacements: dict[Path, str]) -> dict[str, Any]:
    """A copy of ``message`` with the strings at the given paths replaced."""
    updated = copy.deepcopy(message)
    for path, text in replacements.items():
        target: Any = updated
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = text
    return updated
