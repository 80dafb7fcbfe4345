"""The private modules of securenet.mcp.analyzers declare their exports (the surface: tests/test_public_api.py)."""

from __future__ import annotations


def test_private_modules_declare_their_exports() -> None:
    from securenet.mcp.analyzers import (
        _anchors,
        _classifier,
        _filters,
        _patterns,
        _pipeline,
        _rules,
        _secrets,
        _text,
        _types,
    )

    for module in (_anchors, _classifier, _filters, _patterns, _pipeline, _rules, _secrets, _text, _types):
        assert len(module.__all__) == len(set(module.__all__)), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
