"""The Eval page's first section: a small accuracy-per-token run on the user's own index and questions.

The user uploads a JSONL file (one ``{"question": ..., "answer": ...}`` or ``"answers": [...]`` per
line), picks budgets, a strategy and a generator; every question is asked once per budget and the
page shows, per budget, how often the gold answer was in the selected context (what the reader was
given), how often the answer held it, and the tokens spent, as a table and a chart. The scoring is
the harness's (``ragengine.evaluation.metrics``): normalised whole-token containment.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from ragengine import Budget
from ragengine._ui.common import fail, get_engine, local_generators, pick_index, root
from ragengine.config import STRATEGIES
from ragengine.errors import RagEngineError
from ragengine.evaluation.metrics import answer_accuracy, answer_in_context

MAX_QUESTIONS = 200
BUDGETS = (64, 128, 256, 512, 1024)


def parse_questions(raw: bytes) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """(question, gold answers) pairs and one message per line that could not be used."""
    out: list[tuple[str, list[str]]] = []
    problems: list[str] = []
    for n, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: not JSON ({e.msg})")
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("question"), str) or not rec["question"].strip():
            problems.append(f'line {n}: needs a non-empty "question" string')
            continue
        golds = rec.get("answers", rec.get("answer"))
        golds = [golds] if isinstance(golds, str) else golds
        if not isinstance(golds, list) or not [g for g in golds if isinstance(g, str) and g.strip()]:
            problems.append(f'line {n}: needs "answer" (a string) or "answers" (a list of strings)')
            continue
        out.append((rec["question"].strip(), [g for g in golds if isinstance(g, str) and g.strip()]))
    return out, problems


def run_eval(
    engine: Any, questions: list[tuple[str, list[str]]], budgets: list[int], strategy: str
) -> list[dict[str, Any]]:
    """One row per budget: gold in context, answer accuracy, mean context and LLM tokens."""
    bar = st.progress(0.0, text="asking...")
    rows = []
    total = len(questions) * len(budgets)
    done = 0
    for b in budgets:
        hit = acc = ctx = llm = 0.0
        for q, golds in questions:
            ans = engine.ask(q, Budget(context_tokens=b), strategy=strategy)
            context = "\n\n".join(c.text for c in ans.citations)
            hit += answer_in_context(context, golds) if context else 0.0
            acc += answer_accuracy(ans.text, golds) if ans.text else 0.0
            ctx += ans.cost.context_tokens
            llm += ans.cost.total_tokens
            done += 1
            bar.progress(done / total, text=f"budget {b}: {done}/{total} asks")
        n = len(questions)
        rows.append(
            {
                "budget": b,
                "gold in context": round(hit / n, 3),
                "answer accuracy": round(acc / n, 3),
                "context tokens": round(ctx / n, 1),
                "LLM tokens": round(llm / n, 1),
            }
        )
    bar.empty()
    return rows


def own_eval() -> None:
    st.subheader("Evaluate on your questions")
    name = pick_index("eval_index")
    if name is None:
        return
    upload = st.file_uploader(
        'Questions (.jsonl: {"question": ..., "answer": ...} per line)', type=["jsonl"], key="eval_questions"
    )
    c1, c2, c3 = st.columns(3)
    budgets = c1.multiselect("Budgets", BUDGETS, default=[128, 256], key="eval_budgets")
    strategy = c2.selectbox("Strategy", STRATEGIES, index=STRATEGIES.index("evidence"), key="eval_strategy")
    generator = c3.selectbox("Generator", local_generators(), key="eval_generator")
    if not st.button("Run", key="eval_run"):
        return
    if upload is None or not budgets:
        st.warning("Upload a question file and pick at least one budget first.")
        return
    questions, problems = parse_questions(upload.getvalue())
    for p in problems[:10]:
        st.warning(p)
    if len(problems) > 10:
        st.warning(f"... and {len(problems) - 10} more lines that could not be used")
    if not questions:
        st.error("No usable question in the file.")
        return
    if len(questions) > MAX_QUESTIONS:
        st.info(f"Using the first {MAX_QUESTIONS} of {len(questions)} questions (the console runs small evals).")
        questions = questions[:MAX_QUESTIONS]
    try:
        rows = run_eval(get_engine(name, root(), generator, "hybrid"), questions, sorted(budgets), strategy)
    except RagEngineError as e:
        fail(e)
        return
    st.dataframe(rows, hide_index=True)
    st.line_chart({"gold in context": {r["budget"]: r["gold in context"] for r in rows},
                   "answer accuracy": {r["budget"]: r["answer accuracy"] for r in rows}})  # fmt: skip
    st.caption(
        f"{len(questions)} questions on {name!r} · strategy {strategy} · generator {generator} · "
        "gold in context: the answer was among what the reader got; accuracy: the answer holds it"
    )
