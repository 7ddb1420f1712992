"""ragengine: retrieval-augmented generation under a token budget it never exceeds.

Importing this package loads no model and opens no network connection; the public names
below are resolved on first use. The command line, the console and the integrations use only
these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "Answer",
    "Budget",
    "BuildReport",
    "Candidate",
    "Chunk",
    "Citation",
    "Document",
    "Engine",
    "EngineConfig",
    "Ledger",
    "LoadReport",
    "PriceTable",
    "Retrieved",
    "Selection",
    "SelectionInput",
    "Selector",
    "Stages",
    "cited_documents",
    "default_generator_name",
    "errors",
]

if TYPE_CHECKING:
    from ragengine import errors
    from ragengine.budget import Budget, Ledger, PriceTable
    from ragengine.config import EngineConfig
    from ragengine.engine import Engine
    from ragengine.generate.base import default_generator_name
    from ragengine.indexing.plan import BuildReport
    from ragengine.ingest.loaders import LoadReport
    from ragengine.select.base import SelectionInput, Selector
    from ragengine.stages import Stages
    from ragengine.types import Answer, Candidate, Chunk, Citation, Document, Retrieved, Selection, cited_documents

_WHERE = {
    "Answer": "ragengine.types",
    "Candidate": "ragengine.types",
    "Chunk": "ragengine.types",
    "Citation": "ragengine.types",
    "Document": "ragengine.types",
    "Retrieved": "ragengine.types",
    "Selection": "ragengine.types",
    "cited_documents": "ragengine.types",
    "Budget": "ragengine.budget",
    "Ledger": "ragengine.budget",
    "PriceTable": "ragengine.budget",
    "EngineConfig": "ragengine.config",
    "Engine": "ragengine.engine",
    "BuildReport": "ragengine.indexing.plan",
    "LoadReport": "ragengine.ingest.loaders",
    "SelectionInput": "ragengine.select.base",
    "Selector": "ragengine.select.base",
    "Stages": "ragengine.stages",
    "default_generator_name": "ragengine.generate.base",
    "errors": "ragengine.errors",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ragengine' has no attribute {name!r}")
    import importlib

    mod = importlib.import_module(_WHERE[name])
    return mod if name == "errors" else getattr(mod, name)
