"""Foundation figures (issue 2): demo recall at 128/256/512, indexing throughput, stage latency.

Run: .venv/bin/python eval/foundation.py  ->  eval/results/foundation.json and .md
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ragengine import Budget, Engine  # noqa: E402
from ragengine.evaluation.datasets import load_squad  # noqa: E402
from ragengine.evaluation.metrics import answer_in_context  # noqa: E402

XQUAD = REPO / "ragengine" / "data" / "xquad-en" / "xquad.en.json"
SQUAD = REPO.parent / "shared" / "data" / "squad-v1.1-dev" / "dev-v1.1.rebuilt.json"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, src in (("xquad", XQUAD), ("squad-dev", SQUAD)):
            t = time.perf_counter()
            m = Engine.build_index([src], name, root=tmp)
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
        exs = exs[:: len(exs) // 100][:100]
        eng.ask("warm up", 128)
        for budget in (128, 256, 512):
            hits, used, stage_ms = 0, [], {"retrieve": [], "select": [], "assemble": []}
            for ex in exs:
                ans = eng.ask(ex.question, Budget(context_tokens=budget))
                hits += answer_in_context("\n\n".join(c.text for c in ans.citations), ex.answers)
                used.append(ans.cost.context_tokens)
                for k in stage_ms:
                    stage_ms[k].append(ans.cost.stages[k].ms)
            out[f"xquad_budget_{budget}"] = {
                "gold_in_context": hits / len(exs),
                "questions": len(exs),
                "mean_context_tokens": statistics.mean(used),
                "stage_ms_p50": {k: round(pct(v, 0.5), 2) for k, v in stage_ms.items()},
                "stage_ms_p95": {k: round(pct(v, 0.95), 2) for k, v in stage_ms.items()},
            }
            print(budget, out[f"xquad_budget_{budget}"], flush=True)
        gen = Engine.from_index(Path(tmp) / "xquad", generator="llm")
        gen.ask("warm up", 256)
        times = []
        for ex in exs[:30]:
            ans = gen.ask(ex.question, Budget(context_tokens=256))
            times.append(ans.cost.stages["generate"].ms)
        out["generation_ms_at_256"] = {
            "p50": round(pct(times, 0.5)),
            "p95": round(pct(times, 0.95)),
            "mean": round(statistics.mean(times)),
            "questions": len(times),
        }
        print(out["generation_ms_at_256"])
    res = REPO / "eval" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "foundation.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
