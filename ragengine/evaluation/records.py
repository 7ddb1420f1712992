"""One eval record: a question answered under one (strategy, budget), with its tokens, time and scores.

``ask_record`` answers through the engine with candidates retrieved once per question;
``llamaindex_record`` asks the stock llama-index baseline (no budget). Both give the same
fields, which the partial file stores and the report summarises. Cost: one selection and,
when the dataset generates, one generation (or a reused identical one) per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragengine.budget import Budget
from ragengine.evaluation.config import DatasetSpec, EvalConfig
from ragengine.evaluation.datasets import QAExample
from ragengine.evaluation.generators import CachingGenerator
from ragengine.evaluation.partial import record_key
from ragengine.evaluation.scoring import answer_scores, retrieval_scores
from ragengine.generate.prompt import format_context
from ragengine.types import Retrieved


@dataclass
class Setup:
    """What answers one dataset's questions: its engine, generator and (when asked for) llama-index baseline."""

    engine: Any
    generator: CachingGenerator | None
    llamaindex: Any


def stage_costs(ledger: Any) -> dict[str, dict[str, Any]]:
    return {
        k: {"tokens_in": v.tokens_in, "tokens_out": v.tokens_out, "llm_calls": v.llm_calls, "ms": round(v.ms, 3)}
        for k, v in ledger.stages.items()
    }


def ranked_doc_ids(retrieved: Retrieved) -> list[str]:
    return [c.chunk.doc_id for c in retrieved.candidates]


def base_record(cfg: EvalConfig, ds: DatasetSpec, ex: QAExample, strategy: str, budget: int | None) -> dict[str, Any]:
    return {
        "key": record_key(ds.name, ex.id, strategy, budget),
        "fingerprint": cfg.fingerprint(ds),
        "dataset": ds.name,
        "kind": ds.kind,
        "id": ex.id,
        "question": ex.question,
        "golds": list(ex.answers),
        "unanswerable": ex.unanswerable,
        "strategy": strategy,
        "budget": budget,
    }


def ask_record(
    cfg: EvalConfig, setup: Setup, selector: Any, ds: DatasetSpec, ex: QAExample, strategy: str, budget: int,
    retrieved: Retrieved, retrieve_ms: float, retrieval: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    """The record of ``strategy`` at ``budget`` on candidates ``retrieved`` (timed at ``retrieve_ms``)."""
    ans = setup.engine.ask(ex.question, Budget(context_tokens=budget), selector=selector, retrieved=retrieved)
    stages = stage_costs(ans.cost)
    stages["retrieve"]["ms"] = round(retrieve_ms, 3)
    gen = setup.generator
    reused = False
    if gen is not None and "generate" in stages:
        stages["generate"]["ms"] = round(gen.last_ms, 3)
        reused = gen.last_reused
    answered = gen is not None  # a "[no answer] ..." reply, when nothing fits, is scored like any answer
    context = format_context([c.text for c in ans.citations])
    doc_ids = [c.doc_id for c in ans.citations]
    g = stages.get("generate", {})
    return {
        **base_record(cfg, ds, ex, strategy, budget),
        "context_tokens": ans.cost.context_tokens,
        "prompt_tokens": int(g.get("tokens_in", 0)),
        "completion_tokens": int(g.get("tokens_out", 0)),
        "total_tokens": ans.cost.total_tokens,
        "stages": stages,
        "answer": ans.text,
        "n_chunks": len(ans.citations),
        "doc_ids": doc_ids,
        "scores": answer_scores(ds.kind, ex, ans.text, context, doc_ids, answered),
        "retrieval": retrieval,
        "latency_ms": round(sum(s["ms"] for s in stages.values()), 3),
        "generation_reused": reused,
    }


def llamaindex_record(cfg: EvalConfig, setup: Setup, ds: DatasetSpec, ex: QAExample) -> dict[str, Any]:
    """The record of the stock llama-index baseline on ``ex`` (it retrieves and prompts its own way)."""
    res = setup.llamaindex.query(ex.question)
    stages = {"retrieve": {"tokens_in": 0, "tokens_out": 0, "llm_calls": 0, "ms": round(res.retrieve_ms, 3)}}
    answered = setup.generator is not None
    if answered:
        stages["generate"] = {
            "tokens_in": res.prompt_tokens,
            "tokens_out": res.completion_tokens,
            "llm_calls": res.llm_calls,
            "ms": round(res.generate_ms, 3),
        }
    return {
        **base_record(cfg, ds, ex, "llamaindex", None),
        "context_tokens": res.context_tokens,
        "prompt_tokens": res.prompt_tokens,
        "completion_tokens": res.completion_tokens,
        "total_tokens": res.prompt_tokens + res.completion_tokens,
        "stages": stages,
        "answer": res.answer,
        "n_chunks": len(res.chunk_ids),
        "doc_ids": res.doc_ids,
        "scores": answer_scores(ds.kind, ex, res.answer, res.context, res.doc_ids, answered),
        "retrieval": retrieval_scores(res.doc_ids, ex, cfg.recall_k),
        "latency_ms": round(res.retrieve_ms + res.generate_ms, 3),
        "generation_reused": False,
    }
