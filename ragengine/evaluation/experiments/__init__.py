"""Experiments: each runs one benchmark and returns its results; its ``main`` writes them through ``report``.

``selection`` (strategies x budgets), ``retrieval`` (BM25, dense, hybrid, term re-rank), ``crag``
(clusters, rewriting, the answer cache), ``foundation`` (indexing throughput, demo recall).
Each is ``ragengine bench NAME`` and has a ``--smoke`` option that runs in seconds on the
bundled data. Importing the package loads nothing.
"""
