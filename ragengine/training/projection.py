"""Train the TILDEv2 projection with numpy: groups of one positive and seven BM25 hard negatives.

Only passage tokens that match a query token get a gradient (the score is a sum over query
tokens of the max weight of that token in the passage), so the training set is just the frozen
MiniLM states of the matching positions, gathered once; an epoch over ~5,000 groups then costs
about a second. Loss: softmax cross-entropy of the positive among its 8 passages; Adam by hand;
a fixed seed fixes negatives, initialisation and batch order, so a run is reproducible.
``ragengine train-reranker`` (``training.reranker``) runs it on the benchmark test beds.

>>> data = build_match_data(groups, corpora)              # doctest: +SKIP
>>> w = train_projection(data, TrainConfig(seed=0))        # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ragengine.errors import InvalidInput
from ragengine.evaluation.corpus_states import CorpusStates
from ragengine.rerank.term_weights import TermWeights

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Group:
    """One training example: the query's content token ids and ``docs[0]`` = positive, the rest negatives."""

    query_ids: np.ndarray
    corpus: str
    docs: tuple[int, ...]


@dataclass(frozen=True)
class TrainConfig:
    hidden: int = 32  # 0 = linear projection; > 0 = one hidden ReLU layer of that width
    epochs: int = 16
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    dedupe_query: bool = False


@dataclass
class MatchData:
    """Matching positions of every (group, passage, query token), flattened; rows sorted by segment."""

    x: np.ndarray  # float16 (n_rows, 384): the states of the matching positions
    row_seg: np.ndarray  # int64 (n_rows,)
    seg_pair: np.ndarray  # int64 (n_segs,): group * n_docs + slot
    seg_count: np.ndarray  # float32 (n_segs,): how often the token occurs in the query
    group_rows: np.ndarray  # int64 (n_groups + 1,): row range of each group
    group_segs: np.ndarray  # int64 (n_groups + 1,)
    n_docs: int


def hard_negative_groups(
    query_ids: Sequence[np.ndarray],
    positives: Sequence[Sequence[int]],
    ranked: Sequence[np.ndarray],
    corpus: str,
    n_docs: int,
    *,
    n_neg: int = 7,
    depth: int = 30,
    seed: int = 0,
) -> list[Group]:
    """One group per (query, positive): ``n_neg`` negatives drawn from the BM25 top ``depth`` minus positives.

    ``ranked[i]`` is query i's BM25 ranking (doc indices, best first); when it holds too few
    negatives the rest are drawn uniformly from the corpus. Queries without content tokens are skipped.
    """
    rng = np.random.default_rng(seed)
    groups = []
    for q, pos, rank in zip(query_ids, positives, ranked, strict=True):
        if len(q) == 0:
            continue
        pset = set(pos)
        pool = [int(d) for d in rank[:depth] if int(d) not in pset]
        for p in pos:
            if len(pool) >= n_neg:
                neg = sorted(rng.choice(len(pool), size=n_neg, replace=False).tolist())
                negs = [pool[i] for i in neg]
            else:
                extra = [int(d) for d in rng.permutation(n_docs) if int(d) not in pset and int(d) not in pool]
                negs = pool + extra[: n_neg - len(pool)]
            groups.append(Group(np.asarray(q, dtype=np.int64), corpus, (int(p), *negs)))
    return groups


def build_match_data(groups: Sequence[Group], corpora: dict[str, CorpusStates], dedupe: bool = False) -> MatchData:
    if not groups:
        raise InvalidInput("no training groups: every query lacked content tokens or positives")
    n_docs = len(groups[0].docs)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in corpora}
    order: list[tuple[str, int]] = []  # (corpus, position in that corpus's row list) per matched row block
    row_seg, seg_pair, seg_count, group_rows, group_segs = [], [], [], [0], [0]
    n_rows = n_segs = 0
    for g, grp in enumerate(groups):
        if len(grp.docs) != n_docs:
            raise InvalidInput(f"group {g} has {len(grp.docs)} passages, the first group {n_docs}")
        toks, counts = np.unique(grp.query_ids, return_counts=True)
        if dedupe:
            counts = np.ones_like(counts)
        cs = corpora[grp.corpus]
        for slot, d in enumerate(grp.docs):
            s = int(cs.offsets[d])
            ids = cs.ids[s : int(cs.offsets[d + 1])]
            pos = np.flatnonzero(np.isin(ids, toks))
            if not len(pos):
                continue
            local = np.searchsorted(toks, ids[pos])
            srt = np.argsort(local, kind="stable")
            pos, local = pos[srt], local[srt]
            uniq = np.unique(local)
            seg_ids = n_segs + np.searchsorted(uniq, local)
            rows[grp.corpus].append(s + pos)
            order.append((grp.corpus, len(rows[grp.corpus]) - 1))
            row_seg.append(seg_ids)
            seg_pair.append(np.full(len(uniq), g * n_docs + slot, dtype=np.int64))
            seg_count.append(counts[uniq].astype(np.float32))
            n_rows += len(pos)
            n_segs += len(uniq)
        group_rows.append(n_rows)
        group_segs.append(n_segs)
    x = np.empty((n_rows, next(iter(corpora.values())).states.shape[1]), dtype=np.float16)
    at = 0
    for name, i in order:
        r = rows[name][i]
        x[at : at + len(r)] = corpora[name].states[r]
        at += len(r)
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    return MatchData(
        x,
        cat(row_seg, np.int64),
        cat(seg_pair, np.int64),
        cat(seg_count, np.float32),
        np.asarray(group_rows, dtype=np.int64),
        np.asarray(group_segs, dtype=np.int64),
        n_docs,
    )


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    lens = ends - starts
    return np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(starts - (np.cumsum(lens) - lens), lens)


class _Adam:
    def __init__(self, params: dict[str, np.ndarray], lr: float, wd: float) -> None:
        self.lr, self.wd, self.t = lr, wd, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for k, g in grads.items():
            if k.startswith("w"):
                g = g + self.wd * params[k]
            self.m[k] = 0.9 * self.m[k] + 0.1 * g
            self.v[k] = 0.999 * self.v[k] + 0.001 * g * g
            mh, vh = self.m[k] / (1 - 0.9**self.t), self.v[k] / (1 - 0.999**self.t)
            params[k] -= self.lr * mh / (np.sqrt(vh) + 1e-8)


def _forward_backward(
    p: dict[str, np.ndarray],
    x: np.ndarray,
    row_seg: np.ndarray,
    seg_pair: np.ndarray,
    seg_cnt: np.ndarray,
    nb: int,
    k: int,
) -> tuple[float, float, dict[str, np.ndarray]]:
    """Loss, accuracy and gradients for one batch (``row_seg``/``seg_pair`` renumbered from 0)."""
    hid = np.maximum(x @ p["w1"] + p["b1"], 0.0) if "w1" in p else x
    pre = hid @ p["w2"] + p["b2"]
    s = np.maximum(pre, 0.0)
    seg_len = np.bincount(row_seg, minlength=len(seg_pair))
    seg_max = np.maximum.reduceat(s, np.cumsum(seg_len) - seg_len) if len(s) else np.zeros(0, np.float32)
    scores = np.bincount(seg_pair, weights=seg_max * seg_cnt, minlength=nb * k).reshape(nb, k)
    z = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    prob = np.exp(z - log_norm[:, None])
    loss = float((log_norm - z[:, 0]).mean())
    acc = float((scores.argmax(axis=1) == 0).mean())
    d_scores = prob.copy()
    d_scores[:, 0] -= 1.0
    d_scores /= nb
    active = np.flatnonzero((s == seg_max[row_seg]) & (pre > 0))
    d_pre = (d_scores.ravel()[seg_pair[row_seg[active]]] * seg_cnt[row_seg[active]]).astype(np.float32)
    h_act = hid[active]
    grads = {"w2": h_act.T @ d_pre, "b2": np.array(d_pre.sum(), dtype=np.float32)}
    if "w1" in p:
        d_h = np.outer(d_pre, p["w2"]) * (h_act > 0)
        grads |= {"w1": x[active].T @ d_h, "b1": d_h.sum(axis=0)}
    return loss, acc, grads


def train_projection(data: MatchData, cfg: TrainConfig) -> TermWeights:
    """Adam over shuffled batches of groups; inputs standardised, the scaling folded into the saved weights."""
    rng = np.random.default_rng(cfg.seed)
    xs = data.x[:: max(1, len(data.x) // 200_000)].astype(np.float32)
    dim = data.x.shape[1]
    mu, sd = xs.mean(axis=0), np.maximum(xs.std(axis=0), 1e-2)  # a floor: MiniLM has a constant dimension
    p: dict[str, np.ndarray] = {}
    if cfg.hidden > 0:
        p["w1"] = (rng.standard_normal((dim, cfg.hidden)) / np.sqrt(dim)).astype(np.float32)
        p["b1"] = np.zeros(cfg.hidden, dtype=np.float32)
        p["w2"] = (rng.standard_normal(cfg.hidden) * 0.01).astype(np.float32)
    else:
        p["w2"] = np.zeros(dim, dtype=np.float32)
    p["b2"] = np.array(1.0, dtype=np.float32)
    opt = _Adam(p, cfg.lr, cfg.weight_decay)
    n_groups, k = len(data.group_rows) - 1, data.n_docs
    for epoch in range(cfg.epochs):
        perm = rng.permutation(n_groups)
        losses, accs = [], []
        for b in range(0, n_groups, cfg.batch):
            gs = np.sort(perm[b : b + cfg.batch])
            rows = _ranges(data.group_rows[gs], data.group_rows[gs + 1])
            segs = _ranges(data.group_segs[gs], data.group_segs[gs + 1])
            local_seg = np.full(len(data.seg_pair), -1, dtype=np.int64)
            local_seg[segs] = np.arange(len(segs))
            gpos = np.full(n_groups, -1, dtype=np.int64)
            gpos[gs] = np.arange(len(gs))
            pair = data.seg_pair[segs]
            local_pair = gpos[pair // k] * k + pair % k
            x = (data.x[rows].astype(np.float32) - mu) / sd
            loss, acc, grads = _forward_backward(
                p, x, local_seg[data.row_seg[rows]], local_pair, data.seg_count[segs], len(gs), k
            )
            opt.step(p, grads)
            losses.append(loss)
            accs.append(acc)
        log.info("epoch %d: loss %.4f, top-1 of 8 %.3f", epoch + 1, np.mean(losses), np.mean(accs))
    return fold_standardisation(p, mu, sd, asdict(cfg))


def fold_standardisation(p: dict[str, np.ndarray], mu: np.ndarray, sd: np.ndarray, config: dict) -> TermWeights:
    """Weights on raw states equal to ``p`` on standardised ones: ``W' = W / sd``, ``b' = b - (mu / sd) @ W``."""
    if "w1" in p:
        w1 = (p["w1"] / sd[:, None]).astype(np.float32)
        b1 = (p["b1"] - (mu / sd) @ p["w1"]).astype(np.float32)
        return TermWeights(p["w2"].astype(np.float32), float(p["b2"]), w1, b1, {"train": config})
    w2 = (p["w2"] / sd).astype(np.float32)
    return TermWeights(w2, float(p["b2"] - (mu / sd) @ p["w2"]), config={"train": config})
