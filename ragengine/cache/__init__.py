"""Retrieval trigger and semantic answer cache (ERM4's memory knowledge reservoir).

``SemanticCache(folder, index_version, embedder)`` maps past questions to their selected chunks
and answers, keyed to the index version; ``RetrievalTrigger(cache).route(question, budget)``
says which path a question takes (``cache``, ``cache_chunks`` or ``retrieve``).
"""

from ragengine.cache.qmatch import Signature, answer_type, same_question, signature
from ragengine.cache.semantic import CacheEntry, CacheHit, SemanticCache
from ragengine.cache.trigger import PATHS, RetrievalTrigger, Route

__all__ = [
    "PATHS",
    "CacheEntry",
    "CacheHit",
    "RetrievalTrigger",
    "Route",
    "SemanticCache",
    "Signature",
    "answer_type",
    "same_question",
    "signature",
]
