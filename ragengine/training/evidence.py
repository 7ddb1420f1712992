"""``ragengine train-evidence``: rebuild the shipped sentence evidence scorer, bit for bit.

Data: SQuAD v1.1 dev articles 1-24 only (the tune half; articles 25-48 are never read). Each
question is retrieved exactly as the engine does at query time (the SQuAD dev index under
``indexes/bench-squad-dev``: hybrid + term re-rank, 30 candidates), its candidates are split into
sentences and featurised. Label 1: a sentence of a gold paragraph that holds a gold answer text;
label 0: any sentence without one; a sentence elsewhere that happens to hold the answer text is
left out of training (it may or may not be evidence).

Fit: L2-regularised logistic regression by Newton's method in float64 (no randomness, so the
seed only names the run); ``l2`` and the pruning threshold are chosen on articles 19-24 after
fitting on 1-18, then the model is refit on all of 1-24. The weights file is JSON with rounded
numbers, written with sorted keys: the same data gives the same bytes.

    ragengine train-evidence --out ragengine/evidence/weights/evidence-v1.json
    ragengine train-evidence --check      # rebuild in a temp file and compare with the shipped one

Cost: one retrieval per question (~5,000 questions, a few minutes on 2 cores) plus seconds of fitting.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.config import EngineConfig
from ragengine.engine import Engine
from ragengine.evaluation.datasets import QAExample, load_squad
from ragengine.evaluation.experiments.selection_sets import DATA, SPECS, corpus_documents
from ragengine.evaluation.indexes import ensure_index
from ragengine.evaluation.metrics import answer_in_context
from ragengine.evidence.features import FEATURES, featurize
from ragengine.evidence.scorer import DEFAULT_WEIGHTS, sigmoid
from ragengine.evidence.units import split_units

log = logging.getLogger(__name__)
TRAIN_ARTICLES, VALID_ARTICLES, ALL_TUNE = (1, 18), (19, 24), (1, 24)
L2_GRID = (0.1, 1.0, 10.0, 100.0)


def table(engine: Engine, examples: Sequence[QAExample], *, progress: bool = True) -> dict[str, np.ndarray]:
    """Features ``X``, labels ``y`` (-1: left out) and the question row of every sentence."""
    from tqdm.auto import tqdm

    counter = engine.pipeline().stages.counter
    xs, ys, qs = [], [], []
    for q, ex in enumerate(tqdm(examples, desc="questions", disable=not progress, mininterval=5.0)):
        r = engine.retrieve(ex.question)
        units = split_units(r.candidates, counter)
        rows = featurize(ex.question, units.passages(), [c.score for c in r.candidates], list(range(len(r.candidates))))
        gold = set(ex.gold_doc_ids)
        for s, row in zip(units.sentences, rows, strict=True):
            has = answer_in_context(s.text, ex.answers) > 0
            xs.append(row)
            ys.append(1 if has and s.group in gold else (-1 if has else 0))
            qs.append(q)
    return {"X": np.asarray(xs, dtype=np.float64), "y": np.asarray(ys, dtype=np.int8), "q": np.asarray(qs)}


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale (the bias column keeps mean 0, scale 1)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    bias = FEATURES.index("bias")
    mean[bias], scale[bias] = 0.0, 1.0
    return mean, scale


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, *, iterations: int = 50) -> np.ndarray:
    """Newton's method for L2-regularised logistic regression (the bias is not regularised)."""
    d = x.shape[1]
    reg = np.full(d, l2)
    reg[FEATURES.index("bias")] = 0.0
    w = np.zeros(d)
    for _ in range(iterations):
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) + reg * w
        hess = (x * (p * (1.0 - p))[:, None]).T @ x + np.diag(reg) + 1e-9 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return w


def _round(a: np.ndarray) -> list[float]:
    return [float(f"{v:.10g}") for v in a]


def top1(prob: np.ndarray, y: np.ndarray, q: np.ndarray) -> float:
    """Share of questions (with a positive) whose highest-scored sentence is a positive."""
    hits, total = 0, 0
    for qi in np.unique(q):
        m = q == qi
        if not (y[m] == 1).any():
            continue
        total += 1
        hits += int(y[m][int(np.argmax(prob[m]))] == 1)
    return hits / max(1, total)


def fit_model(
    tr: dict[str, np.ndarray], va: dict[str, np.ndarray] | None, full: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Choose ``l2`` (and the pruning threshold) on ``va`` after fitting ``tr``, then refit ``full``."""
    report: dict[str, Any] = {"grid": {}}
    best_l2, best = L2_GRID[1], -1.0
    threshold = 0.5
    if va is not None:
        for l2 in L2_GRID:
            m, t = tr["y"] >= 0, va["y"] >= 0
            mean, scale = standardise(tr["X"][m])
            w = fit_logistic((tr["X"][m] - mean) / scale, tr["y"][m].astype(np.float64), l2)
            prob = sigmoid(((va["X"][t] - mean) / scale) @ w)
            score = top1(prob, va["y"][t], va["q"][t])
            report["grid"][str(l2)] = round(score, 4)
            if score > best + 1e-9:
                best_l2, best = l2, score
                # the pruning threshold: the probability that keeps 90% of validation positives
                threshold = float(np.quantile(prob[va["y"][t] == 1], 0.10))
    m = full["y"] >= 0
    mean, scale = standardise(full["X"][m])
    w = fit_logistic((full["X"][m] - mean) / scale, full["y"][m].astype(np.float64), best_l2)
    report.update(l2=best_l2, valid_top1=round(best, 4))
    return {
        "features": list(FEATURES),
        "mean": _round(mean),
        "scale": _round(scale),
        "coef": _round(w),
        "threshold": float(f"{threshold:.4g}"),
        "l2": best_l2,
        "report": report,
        "rows": int(m.sum()),
        "positives": int((full["y"] == 1).sum()),
    }


def squad_engine(indexes: Path) -> Engine:
    """The SQuAD dev index (all 2,067 paragraphs, default settings), built once and reused."""
    spec = SPECS["squad-dev"]
    folder = ensure_index(corpus_documents(spec, DATA), spec.index, indexes, progress=True)
    return Engine.from_index(folder, generator="none", config=EngineConfig())


def train(out: Path, indexes: Path, *, seed: int = 0, limit: int | None = None) -> dict[str, Any]:
    """Build the table, fit, and write ``out`` (weights JSON) and its model card beside it."""
    t0 = time.perf_counter()
    engine = squad_engine(indexes)
    path = DATA / SPECS["squad-dev"].questions
    tr_ex = load_squad(path, articles=TRAIN_ARTICLES)[:limit]
    va_ex = load_squad(path, articles=VALID_ARTICLES)[:limit]
    tr, va = table(engine, tr_ex), table(engine, va_ex)
    full = {k: np.concatenate([tr[k], va[k] + (len(tr_ex) if k == "q" else 0)]) for k in tr}
    model = fit_model(tr, va, full)
    model["trained_on"] = {
        "data": "SQuAD v1.1 dev articles 1-24 (fit 1-18, choose l2 on 19-24, refit 1-24)",
        "questions": len(tr_ex) + len(va_ex),
        "index": SPECS["squad-dev"].index,
        "seed": seed,
    }
    text = json.dumps(model, sort_keys=True, indent=1) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    log.info("wrote %s (sha256 %s) in %.0f s", out, digest, time.perf_counter() - t0)
    return {"path": str(out), "sha256": digest, **model}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ragengine train-evidence", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--indexes", type=Path, default=Path("indexes"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="at most this many questions per half (a quick run)")
    p.add_argument("--check", action="store_true", help="rebuild into a temp file and compare with --out")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            got = train(Path(tmp) / "evidence.json", a.indexes, seed=a.seed, limit=a.limit)
            same = Path(got["path"]).read_bytes() == a.out.read_bytes()
        print(f"rebuilt sha256 {got['sha256']}: {'identical to' if same else 'DIFFERS from'} {a.out}")
        return 0 if same else 1
    got = train(a.out, a.indexes, seed=a.seed, limit=a.limit)
    print(f"{got['path']}: sha256 {got['sha256']}, l2 {got['l2']}, validation top-1 {got['report']['valid_top1']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
