"""Foundation figures: demo recall at 128/256/512, indexing throughput, stage latency, generation time.

Run: ``ragengine bench foundation [--out eval/results]`` -> ``foundation.json``. Builds the XQuAD
(bundled) and SQuAD v1.1 dev indexes in a temporary folder, asks 100 XQuAD questions at each
budget with no generator, then 30 with the local LLM at 256 tokens. ``--smoke``: XQuAD only, 10
questions, hash embedder and whitespace tokens, no LLM (seconds; checks the bench runs).
Cost: a few minutes (index builds with MiniLM, 30 SmolLM2 answers) on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ragengine import Budget, Engine
from ragengine.evaluation.datasets import load_squad
from ragengine.evaluation.indexes import SMOKE_MODELS
from ragengine.evaluation.metrics import answer_in_context

REPO = Path(__file__).resolve().parents[3]
XQUAD = REPO / "ragengine" / "data" / "xquad-en" / "xquad.en.json"
SQUAD = REPO.parent / "shared" / "data" / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def measure(
    corpora: dict[str, Path], questions: int = 100, generated: int = 30, index_opts: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Index throughput of each corpus, then recall and stage latency on XQuAD, then generation time."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, src in corpora.items():
            t = time.perf_counter()
            m = Engine.build_index([src], name, root=tmp, **(index_opts or {}))
            secs = time.perf_counter() - t
            out[f"index_{name}"] = {
                "chunks": m.n_chunks,
                "documents": m.n_documents,
                "seconds": round(secs, 1),
                "chunks_per_s": round(m.n_chunks / secs, 1),
            }
            print(name, out[f"index_{name}"], flush=True)
        eng = Engine.from_index(Path(tmp) / "xquad", generator="none")
        exs = load_squad(XQUAD)
        exs = exs[:: len(exs) // questions][:questions]
        eng.ask("warm up", 128)
        for budget in (128, 256, 512):
            hits, used = 0.0, []
            stage_ms: dict[str, list[float]] = {"retrieve": [], "select": [], "assemble": []}
            for ex in exs:
                ans = eng.ask(ex.question, Budget(context_tokens=budget))
                hits += answer_in_context("\n\n".join(c.text for c in ans.citations), ex.answers)
                used.append(ans.cost.context_tokens)
                for k, v in stage_ms.items():
                    v.append(ans.cost.stages[k].ms)
            out[f"xquad_budget_{budget}"] = {
                "gold_in_context": hits / len(exs),
                "questions": len(exs),
                "mean_context_tokens": statistics.mean(used),
                "stage_ms_p50": {k: round(pct(v, 0.5), 2) for k, v in stage_ms.items()},
                "stage_ms_p95": {k: round(pct(v, 0.95), 2) for k, v in stage_ms.items()},
            }
            print(budget, out[f"xquad_budget_{budget}"], flush=True)
        if generated:
            gen = Engine.from_index(Path(tmp) / "xquad", generator="llm")
            gen.ask("warm up", 256)
            times = []
            for ex in exs[:generated]:
                ans = gen.ask(ex.question, Budget(context_tokens=256))
                times.append(ans.cost.stages["generate"].ms)
            out["generation_ms_at_256"] = {
                "p50": round(pct(times, 0.5)),
                "p95": round(pct(times, 0.95)),
                "mean": round(statistics.mean(times)),
                "questions": len(times),
            }
            print(out["generation_ms_at_256"])
    return out


def main(argv: list[str] | None = None) -> int:
    """``ragengine bench foundation [--out DIR] [--smoke]``: writes ``DIR/foundation.json``; 0 when written."""
    p = argparse.ArgumentParser(prog="ragengine bench foundation", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    p.add_argument("--smoke", action="store_true", help="XQuAD only, 10 questions, fake embedder, no LLM")
    args = p.parse_args(argv)
    if args.smoke:
        out = measure({"xquad": XQUAD}, questions=10, generated=0, index_opts=SMOKE_MODELS)
    else:
        out = measure({"xquad": XQUAD, "squad-dev": SQUAD})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "foundation.json").write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out / 'foundation.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
