"""Short-answer prompt tuning for the local reader, on the tune half of SQuAD v1.1 dev only.

Every variant reads the same context per question (greedy selection at 256 tokens from the
eval index), so the differences are the prompt's alone. Stop rules need no extra generation:
greedy decoding (temperature 0) writes the same prefix whether or not it is stopped early, so
"stop at the end of the first sentence" is the newline-stopped reply cut at ". ".
Results are appended to ``eval/results/prompt-tuning.partial.jsonl`` (resumable) and
summarised in ``eval/results/prompt-tuning.md`` / ``.json``.

Run: ``python -m ragengine.training.prompt_tuning [--questions 100]``. Cost: one SmolLM2 answer
per question and variant (4 x 100 answers, about 10 minutes on 2 cores) plus the eval index.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragengine.evaluation import metrics as M
from ragengine.evaluation.config import load_config
from ragengine.evaluation.datasets import SQUAD_TUNE, load_squad
from ragengine.evaluation.report.tuning import render_prompt_tuning
from ragengine.evaluation.stats import bootstrap_ci, paired_bootstrap
from ragengine.generate import prompt as P

ORIGINAL_SYSTEM = (
    "You answer questions using only the context. Reply with the answer alone: a few words, "
    "a name, a number or a date, not a sentence. If the context does not contain the answer, "
    "reply: I don't know."
)
COPY_SYSTEM = (
    "Answer the question with the shortest phrase copied from the context. "
    "If the context does not contain the answer, reply: I don't know."
)


@dataclass(frozen=True)
class Variant:
    """A prompt to generate with; each is scored under every stop rule in ``STOP_RULES``."""

    name: str
    system: str = ORIGINAL_SYSTEM
    examples: tuple[tuple[str, str, str], ...] = ()
    instruction: str = ""
    note: str = ""

    def messages(self, question: str, contexts: Sequence[str]) -> list[dict[str, str]]:
        return P.chat_messages(
            question, contexts, system=self.system, examples=self.examples, instruction=self.instruction
        )


VARIANTS: tuple[Variant, ...] = (
    Variant("original", note="the prompt before tuning"),
    Variant("few-words", instruction="Answer with a few words from the context.", note="a reminder after the question"),
    Variant("copy-span", system=COPY_SYSTEM, note="ask for the shortest span copied from the context"),
    Variant("few-shot", examples=P.FEW_SHOT, note="two worked examples as earlier chat turns"),
)
STOP_RULES: dict[str, tuple[str, ...]] = {"newline": ("\n",), "newline+sentence": ("\n", ". ")}


@dataclass
class Tuning:
    questions: int
    budget: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    best: str = ""


def _contexts(cfg_path: str, n: int, budget: int, seed: int) -> list[tuple[Any, list[str]]]:
    from ragengine import Budget, Engine, EngineConfig
    from ragengine.embed.registry import get_embedder
    from ragengine.evaluation.indexes import eval_index

    cfg = load_config(cfg_path)
    ds = cfg.datasets[0]
    folder = eval_index(cfg, ds, get_embedder(cfg.index.embedder))
    engine = Engine(folder, generator="none", config=EngineConfig(candidates=cfg.candidates, seed=cfg.seed))
    exs = load_squad(ds.path, SQUAD_TUNE)
    order = random.Random(seed).sample(range(len(exs)), len(exs))[:n]
    out = []
    for i in order:
        ans = engine.ask(exs[i].question, Budget(context_tokens=budget))
        out.append((exs[i], [c.text for c in ans.citations]))
    return out


def run(
    config: str = "eval/configs/squad-accuracy-per-token.toml",
    questions: int = 100,
    budget: int = 256,
    seed: int = 0,
    results: str = "eval/results",
) -> Tuning:
    from llama_cpp import Llama

    from ragengine.tokens import _quiet_stderr, smollm2_gguf_path

    out_dir = Path(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / "prompt-tuning.partial.jsonl"
    done: dict[tuple[str, str], dict[str, Any]] = {}
    if partial.is_file():
        for line in partial.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[(rec["variant"], rec["id"])] = rec
    items = _contexts(config, questions, budget, seed)
    with _quiet_stderr():
        llama: Any = Llama(model_path=str(smollm2_gguf_path()), n_ctx=2048, n_threads=2, seed=0, verbose=False)
    t_start = time.time()
    with partial.open("a", encoding="utf-8") as f:
        for k, (ex, ctxs) in enumerate(items):
            for v in VARIANTS:
                if (v.name, ex.id) in done:
                    continue
                llama.reset()
                t = time.perf_counter()
                out = llama.create_chat_completion(
                    messages=v.messages(ex.question, ctxs), temperature=0.0, max_tokens=32, seed=0, stop=["\n"]
                )
                ms = (time.perf_counter() - t) * 1000
                usage = out.get("usage") or {}
                rec = {
                    "variant": v.name,
                    "id": ex.id,
                    "raw": out["choices"][0]["message"].get("content") or "",
                    "golds": ex.answers,
                    "context": "\n\n".join(ctxs),
                    "prompt_tokens": int(usage.get("prompt_tokens", 0)),
                    "completion_tokens": int(usage.get("completion_tokens", 0)),
                    "ms": round(ms, 1),
                }
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                f.flush()
                done[(v.name, ex.id)] = rec
            print(f"{k + 1}/{len(items)} questions, {time.time() - t_start:.0f} s", file=sys.stderr, flush=True)
    llama.close()
    return summarise([ex.id for ex, _ in items], done, budget, out_dir)


def summarise(ids: list[str], done: dict[tuple[str, str], dict[str, Any]], budget: int, out_dir: Path) -> Tuning:
    tun = Tuning(len(ids), budget)
    scores: dict[str, dict[str, list[float]]] = {}
    for v in VARIANTS:
        recs = [done[(v.name, i)] for i in ids if (v.name, i) in done]
        if len(recs) < len(ids):
            continue
        for rule, stops in STOP_RULES.items():
            name = f"{v.name} / stop {rule}"
            acc, f1s, ems, gic, p_tok, c_tok, ms = [], [], [], [], [], [], []
            for r in recs:
                ans = P.clean_answer(r["raw"], stops)
                acc.append(M.answer_accuracy(ans, r["golds"]))
                f1s.append(M.f1(ans, r["golds"]))
                ems.append(M.exact_match(ans, r["golds"]))
                gic.append(M.answer_in_context(r["context"], r["golds"]))
                p_tok.append(r["prompt_tokens"])
                c_tok.append(r["completion_tokens"])
                ms.append(r["ms"])
            scores[name] = {"acc": acc, "f1": f1s, "em": ems}
            tun.rows.append(
                {
                    "variant": name,
                    "note": v.note,
                    "answer_accuracy": bootstrap_ci(acc),
                    "f1": bootstrap_ci(f1s),
                    "em": bootstrap_ci(ems),
                    "gold_in_context": sum(gic) / len(gic),
                    "prompt_tokens": sum(p_tok) / len(p_tok),
                    "completion_tokens_newline_stop": sum(c_tok) / len(c_tok),
                    "mean_answer_words": sum(len(P.clean_answer(r["raw"], stops).split()) for r in recs) / len(recs),
                    "generate_ms": sum(ms) / len(ms),
                }
            )
    if not tun.rows:
        return tun
    best = max(tun.rows, key=lambda r: (r["answer_accuracy"][0], r["f1"][0]))
    tun.best = best["variant"]
    base = "original / stop newline"
    for row in tun.rows:
        if row["variant"] != base and base in scores:
            row["vs_original"] = {
                k: paired_bootstrap(scores[row["variant"]][k], scores[base][k]) for k in ("acc", "f1", "em")
            }
    _write(tun, out_dir)
    return tun


def _write(tun: Tuning, out_dir: Path) -> None:
    (out_dir / "prompt-tuning.json").write_text(json.dumps(tun.__dict__, indent=2), encoding="utf-8")
    doc = json.loads(json.dumps(tun.__dict__))
    notes = {v.name: v.note for v in VARIANTS}
    (out_dir / "prompt-tuning.md").write_text(render_prompt_tuning(doc, notes), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ragengine.training.prompt_tuning", description=__doc__.split("\n")[0] if __doc__ else None
    )
    p.add_argument("--config", default="eval/configs/squad-accuracy-per-token.toml")
    p.add_argument("--questions", type=int, default=100)
    p.add_argument("--budget", type=int, default=256)
    p.add_argument("--results", default="eval/results")
    args = p.parse_args(argv)
    tun = run(args.config, args.questions, args.budget, 0, args.results)
    print(f"best: {tun.best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
