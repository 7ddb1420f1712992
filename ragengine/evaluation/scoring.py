"""Which questions an eval dataset asks, and the scores of one answer or one ranking against its gold labels.

``load_questions`` reads a dataset's questions (all, the first N, or a seeded sample);
``retrieval_scores`` scores a ranking of doc ids (nDCG@10, recall@k) and ``answer_scores`` an
answer and its context (answer accuracy, F1, EM, gold in context, supporting docs, abstention).
Cost: string matching only; loading a question file parses it whole.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ragengine.evaluation import metrics as M
from ragengine.evaluation.config import DatasetSpec
from ragengine.evaluation.datasets import DatasetError, QAExample, load_beir_queries, load_hipporag, load_squad


def load_questions(ds: DatasetSpec, seed: int = 0, limit: int | None = None) -> list[QAExample]:
    """The dataset's questions: all, the first ``ds.limit``, or a seeded sample of ``ds.sample``.

    A sample keeps the order of one seeded permutation, so a smaller sample (or ``limit``, applied
    last) is a subset of a larger one with the same seed.
    """
    if ds.kind in ("squad", "squad2"):
        exs = load_squad(ds.path, ds.articles)
    elif ds.kind == "beir":
        exs = load_beir_queries(ds.path, ds.split)
    else:
        exs = load_hipporag(ds.path, ds.corpus)
    if ds.kind == "squad":
        unanswerable = [e.id for e in exs if e.unanswerable]
        if unanswerable:
            raise DatasetError(
                f"{ds.path}: question {unanswerable[0]!r} is unanswerable (SQuAD v2.0); use kind = 'squad2'"
            )
    if ds.sample is not None:
        order = random.Random(seed).sample(range(len(exs)), len(exs))
        exs = [exs[i] for i in order[: ds.sample]]
    elif ds.limit is not None:
        exs = exs[: ds.limit]
    if limit is not None:
        exs = exs[:limit]
    return exs


def retrieval_scores(ranked_doc_ids: Sequence[str], ex: QAExample, recall_k: Sequence[int]) -> dict[str, float]:
    """nDCG@10 and recall@k of a ranking (doc ids, best first, repeats dropped) against the gold docs."""
    ranked = list(dict.fromkeys(ranked_doc_ids))
    qrels = ex.meta.get("qrels") or {d: 1 for d in ex.gold_doc_ids}
    relevant = [d for d, g in qrels.items() if g > 0]
    if not relevant:
        return {}
    out = {"ndcg@10": M.ndcg_at_k(ranked, qrels, 10)}
    for k in recall_k:
        out[f"recall@{k}"] = M.recall_at_k(ranked, relevant, k)
    return out


def answer_scores(
    kind: str, ex: QAExample, answer: str, context: str, doc_ids: Sequence[str], answered: bool
) -> dict[str, float]:
    """Every score that applies to this question; answer scores only when a generator answered."""
    s: dict[str, float] = {}
    if ex.answers:
        s["gold_in_context"] = M.answer_in_context(context, ex.answers)
        if answered:
            s["answer_accuracy"] = M.answer_accuracy(answer, ex.answers)
            s["f1"] = M.f1(answer, ex.answers)
            s["em"] = M.exact_match(answer, ex.answers)
    gold = set(ex.gold_doc_ids)
    if gold:
        chosen = set(doc_ids)
        s["gold_doc_in_context"] = float(bool(gold & chosen))
        if kind in ("hotpotqa", "musique"):
            s["all_supporting_in_context"] = M.all_supporting_in_context(chosen, gold)
        if kind == "beir":
            s["recall_in_context"] = len(gold & chosen) / len(gold)
    if kind == "squad2" and answered:
        s["abstention_correct"] = M.abstention_correct(answer, ex.unanswerable)
        s["abstained"] = float(M.is_abstention(answer))
    return s
