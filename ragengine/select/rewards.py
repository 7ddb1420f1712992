"""Reward models: how good is a combination of candidates, as a number in [0, 1].

The MCTS selector searches combinations; a reward model tells it what "good" means. Each
model is built from a ``SelectionInput`` (the class is the factory: ``CoverageReward(inp)``)
and is then called with candidate indices: ``reward((0, 3, 5)) -> float in [0, 1]``. Rewards
are functions of the *set* of indices (order is ignored), so a search may cache them by set.

- ``CoverageReward``: idf-weighted query-term coverage, monotone and submodular; no model,
  no vectors. Preparing costs O(total candidate words); a call costs O(|S| * |query terms|);
  ``gain`` updates a state in O(|query terms|).
- ``EmbeddingReward``: cosine relevance to the query minus a redundancy penalty between the
  chosen chunks; needs ``query_vector`` and ``chunk_vectors``. Preparing costs O(n^2 d).
- ``EvidenceReward``: the probability that the chosen chunks hold the answer: a noisy-or over
  the trained evidence scorer's probabilities of their sentences (a sentence that two
  overlapping chunks share counts once). Preparing costs one scoring pass (~20 ms for 30 chunks).
- ``JudgedReward``: the hook for a generator-judged reward (an LLM grading a context); it
  only adapts a caller's judge function, it makes no LLM call itself.

>>> from ragengine.testing import make_candidates
>>> from ragengine.select.base import SelectionInput
>>> cands = make_candidates(["paris is in france", "berlin is in germany"])
>>> r = CoverageReward(SelectionInput("paris germany", cands, [4, 4], budget_tokens=8))
>>> r((0,)), r((0, 1))
(0.5, 1.0)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput
from ragengine.text import stem_words, terms
from ragengine.types import Candidate


def check_reward(value: object, where: str) -> float:
    """Validate a reward value: a real number in [0, 1] (tiny float overshoot is clipped)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or math.isnan(float(value)):
        raise InvalidInput(f"{where} returned {value!r}; a reward must be a float in [0, 1]")
    v = float(value)
    if v < -1e-9 or v > 1.0 + 1e-9:
        raise InvalidInput(f"{where} returned {v}; a reward must be normalised to [0, 1]")
    return min(max(v, 0.0), 1.0)


class CoverageReward:
    """Sum over query terms of the best weight any chosen chunk gives that term, over the best attainable.

    Term weights per chunk come from ``inp.options["term_weights"]`` (a list aligned with the
    candidates of ``{term: weight}``, e.g. TILDEv2 weights from the re-ranker) or, when absent,
    from the candidate texts themselves: ``idf(t) * tf / (tf + k1)`` with the BM25 idf over the
    candidate set. Saturated tf keeps one long chunk from buying a term many times; taking the
    max over chunks makes the reward submodular (a second chunk covering the same term adds nothing).
    When no query term occurs in any candidate every combination scores 0.
    """

    def __init__(self, inp: SelectionInput, *, k1: float = 1.2) -> None:
        if isinstance(k1, bool) or not isinstance(k1, (int, float)) or not k1 > 0:
            raise InvalidInput(f"k1 must be a number > 0, got {k1!r}; 1.2 is the BM25 default")
        self.query_terms: list[str] = list(dict.fromkeys(terms(inp.query)))
        n, m = len(inp.candidates), len(self.query_terms)
        tw = inp.options.get("term_weights")
        weights = self._given_weights(tw, n) if tw is not None else self._idf_weights(inp.candidates, float(k1))
        self.weights = weights if weights.shape == (n, m) else np.zeros((n, m))
        self.best = self.weights.max(axis=0) if n else np.zeros(m)
        self.norm = float(self.best.sum())

    def _given_weights(self, tw: object, n: int) -> np.ndarray:
        if not isinstance(tw, Sequence) or len(tw) != n:
            got = len(tw) if isinstance(tw, Sequence) else type(tw).__name__
            raise InvalidInput(f"options['term_weights'] must be a list of {n} dicts (one per candidate), got {got}")
        out = np.zeros((n, len(self.query_terms)))
        for i, d in enumerate(tw):
            if not isinstance(d, dict):
                raise InvalidInput(f"options['term_weights'][{i}] must be a dict term -> weight, got {d!r}")
            low: dict[str, float] = {}
            for k, v in d.items():  # keys are matched as terms are: lowercased and stemmed
                key = stem_words([str(k).lower()])[0]
                low[key] = max(low.get(key, 0.0), float(v))
            for j, t in enumerate(self.query_terms):
                out[i, j] = max(low.get(t, 0.0), 0.0)
        return out

    def _idf_weights(self, candidates: Sequence[Candidate], k1: float) -> np.ndarray:
        n = len(candidates)
        counts = [Counter(terms(c.chunk.text)) for c in candidates]
        out = np.zeros((n, len(self.query_terms)))
        for j, t in enumerate(self.query_terms):
            df = sum(1 for c in counts if t in c)
            if df == 0:
                continue
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            for i, c in enumerate(counts):
                tf = c.get(t, 0)
                if tf:
                    out[i, j] = idf * tf / (tf + k1)
        return out

    def state(self, indices: Sequence[int]) -> np.ndarray:
        """Per-term maxima of a combination: the state that ``gain`` updates incrementally."""
        if not indices:
            return np.zeros(len(self.query_terms))
        return np.asarray(self.weights[list(indices)].max(axis=0))

    def gain(self, state_maxes: np.ndarray, idx: int) -> float:
        """Reward added by chunk ``idx`` to a state, in O(|query terms|)."""
        if self.norm <= 0:
            return 0.0
        return float(np.maximum(self.weights[idx] - state_maxes, 0.0).sum() / self.norm)

    def extend(self, state_maxes: np.ndarray, idx: int) -> np.ndarray:
        """The state after adding chunk ``idx``."""
        return np.maximum(state_maxes, self.weights[idx])

    def __call__(self, indices: Sequence[int]) -> float:
        if self.norm <= 0 or not indices:
            return 0.0
        return min(float(self.state(indices).sum() / self.norm), 1.0)

    def score_extensions(self, base: Sequence[int], extras: Sequence[int]) -> np.ndarray:
        """Rewards of ``base + (j,)`` for every ``j`` in ``extras`` in one vectorised step."""
        if self.norm <= 0 or not extras:
            return np.zeros(len(extras))
        tot = np.maximum(self.weights[list(extras)], self.state(base)).sum(axis=1) / self.norm
        return np.asarray(np.minimum(tot, 1.0))


class EmbeddingReward:
    """Cosine relevance to the query minus a penalty for similar chosen chunks, in [0, 1].

    With ``rel_i = max(cos(q, v_i), 0)`` and ``sim_ij = max(cos(v_i, v_j), 0)``:

    - ``aggregate="sum"`` (default): ``(sum rel - penalty * sum_{i<j} sim) / Z``, where ``Z`` is the
      sum of the k largest ``rel`` and k the most chunks that fit the budget: it rewards filling the
      budget with relevant, non-redundant chunks.
    - ``"mean"`` / ``"max"``: mean (max) ``rel`` minus ``penalty`` times the mean pairwise ``sim``,
      divided by the best single ``rel``: favours a few precise chunks.

    Negative values are clipped to 0. Needs ``inp.query_vector`` and ``inp.chunk_vectors``
    (L2-normalised); without them it raises ``InvalidInput`` (use the coverage reward instead).
    """

    AGGREGATES = ("sum", "mean", "max")

    def __init__(self, inp: SelectionInput, *, penalty: float = 0.5, aggregate: str = "sum") -> None:
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not penalty >= 0:
            raise InvalidInput(f"penalty must be a number >= 0, got {penalty!r}")
        if aggregate not in self.AGGREGATES:
            raise InvalidInput(f"aggregate must be one of {self.AGGREGATES}, got {aggregate!r}")
        if inp.query_vector is None or inp.chunk_vectors is None:
            raise InvalidInput(
                "the embedding reward needs query_vector and chunk_vectors in the SelectionInput "
                "(run dense retrieval) or choose reward='coverage'"
            )
        q = np.asarray(inp.query_vector, dtype=np.float64).reshape(-1)
        v = np.asarray(inp.chunk_vectors, dtype=np.float64)
        n = len(inp.candidates)
        if v.ndim != 2 or v.shape[0] != n or v.shape[1] != q.shape[0]:
            raise InvalidInput(
                f"chunk_vectors has shape {v.shape}; expected ({n}, {q.shape[0]}) to match the "
                f"candidates and the query_vector"
            )
        self.penalty = float(penalty)
        self.aggregate = aggregate
        self.rel = np.clip(v @ q, 0.0, 1.0)
        self.sim = np.clip(v @ v.T, 0.0, 1.0)
        k, left = 0, inp.budget_tokens
        for c in sorted(inp.costs):
            if c > left:
                break
            k, left = k + 1, left - c
        top = np.sort(self.rel)[::-1]
        self.norm = float(top[:k].sum()) if aggregate == "sum" else float(top[0]) if n else 0.0

    def _value(self, s_rel: float, m_rel: float, pair: float, size: int) -> float:
        if size == 0 or self.norm <= 0:
            return 0.0
        if self.aggregate == "sum":
            raw = s_rel - self.penalty * pair
        else:
            npairs = size * (size - 1) / 2
            red = pair / npairs if npairs else 0.0
            raw = (s_rel / size if self.aggregate == "mean" else m_rel) - self.penalty * red
        return min(max(raw / self.norm, 0.0), 1.0)

    def _base(self, base: Sequence[int]) -> tuple[float, float, float]:
        idx = list(base)
        if not idx:
            return 0.0, 0.0, 0.0
        sub = self.sim[np.ix_(idx, idx)]
        pair = float((sub.sum() - np.trace(sub)) / 2)
        return float(self.rel[idx].sum()), float(self.rel[idx].max()), pair

    def __call__(self, indices: Sequence[int]) -> float:
        s_rel, m_rel, pair = self._base(indices)
        return self._value(s_rel, m_rel, pair, len(set(indices)))

    def score_extensions(self, base: Sequence[int], extras: Sequence[int]) -> np.ndarray:
        """Rewards of ``base + (j,)`` for each ``j``, reusing the base's sums: O(|extras| * |base|)."""
        s_rel, m_rel, pair = self._base(base)
        add = self.sim[np.ix_(list(extras), list(base))].sum(axis=1) if base else np.zeros(len(extras))
        return np.array(
            [
                self._value(s_rel + self.rel[j], max(m_rel, self.rel[j]), pair + float(a), len(base) + 1)
                for j, a in zip(extras, add, strict=True)
            ]
        )


class JudgedReward:
    """Hook for a generator-judged reward: ``judge(query, chosen candidates) -> score in [0, 1]``.

    No LLM call is made here. A caller wires its own judge (for example an LLM asked "does this
    context answer the question?", returning a probability) and pays for it: every call of the
    reward is one judge call, so use it with few MCTS iterations and count its tokens in the
    ledger yourself. Scores outside [0, 1] are clipped; NaN raises ``InvalidInput``.

    >>> mcts = MCTSSelector(reward=JudgedReward(my_judge))  # doctest: +SKIP
    """

    def __init__(self, judge: Callable[[str, Sequence[Candidate]], float]) -> None:
        if not callable(judge):
            raise InvalidInput(f"judge must be callable (query, candidates) -> float, got {judge!r}")
        self.judge = judge

    def __call__(self, inp: SelectionInput) -> Callable[[Sequence[int]], float]:
        def score(indices: Sequence[int]) -> float:
            value = self.judge(inp.query, [inp.candidates[i] for i in sorted(indices)])
            if not isinstance(value, (int, float)) or math.isnan(float(value)):
                raise InvalidInput(f"judge returned {value!r}; it must return a float in [0, 1]")
            return min(max(float(value), 0.0), 1.0)

        return score


class RankedCoverageReward(CoverageReward):
    """Term coverage blended with the retriever's confidence: ``alpha * coverage + (1 - alpha) * prior``.

    Coverage alone ignores the ranking, so a search maximising it trades the top-ranked chunk
    (often the one holding the answer) for low-ranked chunks that repeat query words. The prior
    of a set is the sum of ``decay ** rank`` over its chunks, normalised by what greedy collects
    walking in rank order under the same budget (capped at 1). ``alpha`` and ``decay`` were tuned
    on SQuAD v1.1 dev articles 1-24 only (``eval/results/selection.md`` says how).
    """

    def __init__(self, inp: SelectionInput, *, alpha: float = 0.5, decay: float = 0.7, k1: float = 1.2) -> None:
        for name, v in (("alpha", alpha), ("decay", decay)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise InvalidInput(f"{name} must be a number in [0, 1], got {v!r}")
        super().__init__(inp, k1=k1)
        self.alpha = float(alpha)
        self.prior = np.array([float(decay) ** c.rank for c in inp.candidates])
        left, z = inp.budget_tokens, 0.0
        for i in np.argsort([c.rank for c in inp.candidates], kind="stable"):
            if inp.costs[i] <= left:
                left -= inp.costs[i]
                z += self.prior[i]
        self.z = z if z > 0 else 1.0

    def _blend(self, coverage: np.ndarray | float, prior: np.ndarray | float) -> np.ndarray:
        return np.minimum(self.alpha * np.asarray(coverage) + (1.0 - self.alpha) * np.asarray(prior) / self.z, 1.0)

    def __call__(self, indices: Sequence[int]) -> float:
        if not indices:
            return 0.0
        return float(self._blend(super().__call__(indices), self.prior[list(indices)].sum()))

    def score_extensions(self, base: Sequence[int], extras: Sequence[int]) -> np.ndarray:
        if not extras:
            return np.zeros(0)
        cov = super().score_extensions(base, extras)
        prior = self.prior[list(base)].sum() + self.prior[list(extras)]
        return np.asarray(self._blend(cov, prior))


RewardFactory = Callable[[SelectionInput], Callable[[Sequence[int]], float]]


class EvidenceReward:
    """``1 - prod(1 - p_s)`` over the distinct sentences of the chosen chunks (p from the evidence scorer).

    A sentence repeated in overlapping chunks of one document counts once, with its best probability.
    """

    def __init__(self, inp: SelectionInput) -> None:
        from ragengine.evidence.scorer import EvidenceScorer
        from ragengine.evidence.units import sentence_texts

        texts: dict[tuple[str, str], int] = {}
        passages, members = [], []
        for c in inp.candidates:
            sents = sentence_texts(c.chunk.text)
            passages.append(sents)
            members.append([texts.setdefault((c.chunk.doc_id, t), len(texts)) for t in sents])
        p = EvidenceScorer().score(inp.query, passages, [c.score for c in inp.candidates], list(range(len(passages))))
        log_miss = np.zeros(len(texts))  # a sentence in several chunks of a document: its best probability
        flat = np.asarray([m for ms in members for m in ms], dtype=np.int64)
        np.minimum.at(log_miss, flat, np.log1p(-np.clip(p, 0.0, 1.0 - 1e-12)))
        self.log_miss, self.members = log_miss, [np.asarray(m, dtype=np.int64) for m in members]

    def __call__(self, indices: Sequence[int]) -> float:
        if not indices:
            return 0.0
        covered = np.unique(np.concatenate([self.members[i] for i in indices]))
        return float(1.0 - np.exp(self.log_miss[covered].sum()))

    def score_extensions(self, base: Sequence[int], extras: Sequence[int]) -> np.ndarray:
        have = set(np.concatenate([self.members[i] for i in base]).tolist()) if base else set()
        base_log = float(self.log_miss[sorted(have)].sum()) if have else 0.0
        out = np.empty(len(extras))
        for k, j in enumerate(extras):
            new = [m for m in self.members[j].tolist() if m not in have]
            out[k] = 1.0 - math.exp(base_log + float(self.log_miss[new].sum()))
        return out


REWARDS: dict[str, Callable[..., Callable[[Sequence[int]], float]]] = {
    "coverage": CoverageReward,
    "ranked_coverage": RankedCoverageReward,
    "embedding": EmbeddingReward,
    "evidence": EvidenceReward,
}


def build_reward(reward: str | RewardFactory, inp: SelectionInput, **options: Any) -> Callable[[Sequence[int]], float]:
    """Turn a reward name (with its options) or a factory ``f(inp) -> scorer`` into a scorer for ``inp``."""
    if isinstance(reward, str):
        if reward not in REWARDS:
            raise InvalidInput(f"unknown reward {reward!r}; choose one of {sorted(REWARDS)} or pass a callable")
        try:
            return REWARDS[reward](inp, **options)
        except TypeError as e:
            raise InvalidInput(f"bad options for reward {reward!r}: {e}") from e
    scorer = reward(inp)
    if not callable(scorer):
        raise InvalidInput(f"reward factory {reward!r} returned {scorer!r}; it must return a callable(indices)")
    return scorer
