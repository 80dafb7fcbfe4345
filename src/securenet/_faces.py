"""Lazy package faces (PEP 562): a package lists its public names and where each lives, and
each name is imported on first use, so importing one module of a room loads only what that
module needs."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(
    package: dict[str, Any], exports: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package whose globals are ``package``: a name in
    ``exports`` (name -> module) is imported once, then kept in the package's globals."""

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        package[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*package, *public})

    return getattr_, dir_
