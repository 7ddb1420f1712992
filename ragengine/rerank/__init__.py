"""The re-rank stage: TILDEv2-style term matching fused with BM25 and dense scores (``--reranker terms``).

Modules: ``index_terms`` (index-time files and ``get_reranker``), ``terms`` (the query-time stage),
``term_weights`` (index-time weights and the shipped projection), ``sparse`` (the CSR term matrix),
``encoder`` (MiniLM token states), ``train``/``recipe``/``tuning`` (``ragengine train-reranker``),
``expansion`` (TILDE-style passage expansion, off: it did not help), ``corpus``/``evalset``
(benchmark corpora and caches). Importing this package loads no model.
"""
