"""The re-rank stage: TILDEv2-style term matching fused with BM25 and dense scores (``--reranker terms``).

Modules: ``index_terms`` (index-time files and ``get_reranker``), ``terms`` (the query-time stage),
``term_weights`` (index-time weights and the shipped projection), ``sparse`` (the CSR term matrix),
``encoder`` (MiniLM token states), ``expansion`` (TILDE-style passage expansion, off: it did not
help), ``vocab`` (the WordPiece stopword mask the weights were trained with). The training recipe
lives in ``ragengine.training.reranker`` (``ragengine train-reranker``). Importing this package
loads no model.
"""
