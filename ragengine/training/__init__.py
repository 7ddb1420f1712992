"""Fits: the term re-ranker's training recipe, the MCTS reward tuning and the reader's prompt tuning.

``reranker`` (``ragengine train-reranker``) trains the projection (``projection``) and tunes the
fusion weights (``fusion``) on the benchmark test beds of ``ragengine.evaluation.testbeds``;
``selector_tuning`` (``ragengine bench selector-tuning``) and ``prompt_tuning`` tune on the SQuAD
tune half only. No stage imports this package; it may import ``ragengine.evaluation``.
Importing the package loads nothing.
"""
