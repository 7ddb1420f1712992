"""ragengine: retrieval-augmented generation under a token budget it never exceeds.

Importing this package loads no model and opens no network connection; the public names
below are resolved on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Answer", "Budget", "Engine", "EngineConfig", "Ledger", "PriceTable", "errors"]

if TYPE_CHECKING:
    from ragengine import errors
    from ragengine.budget import Budget, Ledger, PriceTable
    from ragengine.config import EngineConfig
    from ragengine.engine import Engine
    from ragengine.types import Answer

_WHERE = {
    "Answer": "ragengine.types",
    "Budget": "ragengine.budget",
    "Ledger": "ragengine.budget",
    "PriceTable": "ragengine.budget",
    "EngineConfig": "ragengine.config",
    "Engine": "ragengine.engine",
    "errors": "ragengine.errors",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ragengine' has no attribute {name!r}")
    import importlib

    mod = importlib.import_module(_WHERE[name])
    return mod if name == "errors" else getattr(mod, name)
