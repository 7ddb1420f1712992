"""Policy-tree MCTS over chunk combinations (CORAG, arXiv 2411.00744), under a hard token budget.

Why: the best context is a *combination* (chunks that cover different parts of the question),
which greedy top-k cannot see. A state is an ordered tuple of candidate indices; expanding a
state creates one child per candidate that still fits the remaining budget and scores every
child with a reward model in [0, 1] (``rewards.py``). Selection descends by
``U = Q + c * sqrt(ln N_parent / N) - lam * cost / B`` (cost = the child's tokens so far),
visiting unvisited children first (best reward first, seeded random ties). The expanded node's
value backed up along the path is the best new child's reward (``backup="best"``, the paper) or
every new child's reward (``backup="all"``: N grows by the number of children).

A transposition table keyed by (set of chunks, last chunk) merges states reached in different
orders, and rewards are cached by set, so no combination is scored twice. Nodes whose subtree is
fully explored are closed; the search stops early when the root is closed (the result is then the
exact optimum). The answer is the explored state with the best reward (rewards are deterministic
set functions, so a state's mean reward is its reward), ties broken by higher summed retrieval
score, then fewer tokens; it may use less than the budget.

Prompt order: the chosen chunks are returned in rank order (best retrieval score first), the
same convention as greedy; the order in which the tree added them is in ``stats["tree_order"]``.

Cost: each iteration is one descent (O(depth * n)) plus one expansion (O(n) children, scored in
one vectorised call by the built-in rewards), about 40 us for n = 30. With the defaults (300
iterations, coverage reward) 30 candidates of 40-130 tokens under a 256-token budget take about
12-16 ms p50 and 15-18 ms p95 (one core of a busy 2-core machine); 100 candidates under 4,000
tokens about 55 ms.
``time_ms`` bounds wall time but makes the result depend on machine speed; leave it None where
the same seed must give the same selection.

When rewards tie (coverage saturates once every query term is covered), the higher summed
retrieval score wins, so with positive scores the completion step keeps filling the budget.

>>> from ragengine.testing import make_candidates
>>> from ragengine.select.base import SelectionInput
>>> cands = make_candidates(["paris france capital", "paris seine river", "berlin germany"])
>>> inp = SelectionInput("capital of france and its river", cands, [3, 3, 2], budget_tokens=6)
>>> [c.chunk.chunk_id for c in MCTSSelector(iterations=50).select(inp).chosen]
['c0', 'c1']
"""

from __future__ import annotations

import gc
import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ragengine.errors import InvalidInput
from ragengine.select.base import SelectionInput, make_selection
from ragengine.select.rewards import REWARDS, RewardFactory, build_reward, check_reward
from ragengine.types import Selection


class _Node:
    _FIELDS = "children chunk cost exhausted expanded id members open order parent parents pending reward tie total"
    __slots__ = (*_FIELDS.split(), "visits")

    def __init__(
        self,
        nid: int,
        parent: _Node | None,
        chunk: int | None,
        order: tuple[int, ...],
        members: frozenset[int],
        cost: int,
        reward: float,
        tie: float,
    ) -> None:
        self.id, self.parent, self.chunk, self.order, self.members = nid, parent, chunk, order, members
        self.cost, self.reward, self.tie = cost, reward, tie
        self.visits, self.total = 0, 0.0
        self.children: list[_Node] = []  # visited (materialised) children
        self.pending: list[tuple[float, float, int]] = []  # scored, not yet visited: (priority, tie, chunk)
        self.parents: list[_Node] = [parent] if parent is not None else []
        self.expanded = self.exhausted = False
        self.open = 0  # children (pending or materialised) whose subtree is not fully explored


def _number(name: str, value: object, *, low: float, strict: bool, fix: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(float(value))
    if not ok or (float(value) <= low if strict else float(value) < low):  # type: ignore[arg-type]
        raise InvalidInput(f"{name} must be a number {'>' if strict else '>='} {low}, got {value!r}; {fix}")
    return float(value)  # type: ignore[arg-type]


class MCTSSelector:
    """Search chunk combinations with MCTS and return the best-rewarded one that fits the budget.

    Parameters: ``iterations`` (descents; None = only ``time_ms`` limits), ``time_ms`` (wall-clock
    cap, None = none), ``c`` (exploration), ``lam`` (cost penalty in selection), ``reward``
    ("coverage", "embedding" or a factory ``f(inp) -> scorer(indices) -> float in [0, 1]``),
    ``reward_options`` (keyword arguments of the named reward), ``backup`` ("best" | "all"),
    ``seed`` (None = ``inp.seed``), ``tree_limit`` (most nodes exported in ``stats["tree"]``),
    ``complete`` (after the search, greedily extend the best state while a chunk that still fits
    raises its reward; the states this scores count as explored, so the rule "best explored state"
    holds. It costs at most one expansion per added chunk and recovers most depth the budget of
    iterations did not reach).
    """

    name = "mcts"
    BACKUPS = ("best", "all")

    def __init__(
        self,
        iterations: int | None = 300,
        time_ms: float | None = None,
        c: float = 0.5,
        lam: float = 0.05,
        reward: str | RewardFactory = "ranked_coverage",
        backup: str = "best",
        seed: int | None = None,
        reward_options: dict[str, Any] | None = None,
        tree_limit: int = 300,
        complete: bool = True,
    ) -> None:
        if iterations is not None and (
            isinstance(iterations, bool) or not isinstance(iterations, int) or iterations <= 0
        ):
            raise InvalidInput(f"iterations must be a positive int or None, got {iterations!r}; try 300")
        if time_ms is not None:
            _number("time_ms", time_ms, low=0, strict=True, fix="or None for no time limit")
        if iterations is None and time_ms is None:
            raise InvalidInput("iterations and time_ms are both None; set at least one limit (e.g. iterations=300)")
        self.c = _number("c", c, low=0, strict=False, fix="0.5 suits rewards in [0, 1]")
        self.lam = _number("lam", lam, low=0, strict=False, fix="0 disables the cost penalty")
        if isinstance(reward, str):
            if reward not in REWARDS:
                raise InvalidInput(f"unknown reward {reward!r}; choose one of {sorted(REWARDS)} or pass a callable")
        elif not callable(reward):
            raise InvalidInput(f"reward must be a name in {sorted(REWARDS)} or a callable factory, got {reward!r}")
        if backup not in self.BACKUPS:
            raise InvalidInput(f"backup must be one of {self.BACKUPS}, got {backup!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidInput(f"seed must be an int or None (None = the input's seed), got {seed!r}")
        if isinstance(tree_limit, bool) or not isinstance(tree_limit, int) or tree_limit < 0:
            raise InvalidInput(f"tree_limit must be an int >= 0, got {tree_limit!r}")
        if not isinstance(complete, bool):
            raise InvalidInput(f"complete must be True or False, got {complete!r}")
        self.iterations, self.time_ms, self.complete = iterations, time_ms, complete
        self.reward, self.reward_options = reward, dict(reward_options or {})
        self.backup, self.seed, self.tree_limit = backup, seed, tree_limit

    def select(self, inp: SelectionInput) -> Selection:
        # The search allocates thousands of small objects: a cyclic collection in the middle of it
        # doubled the latency of one run in ten. Pause the collector; the tree frees itself by refcount.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return _Search(self, inp).run()
        finally:
            if enabled:
                gc.enable()


class _Search:
    """One search: the state of a single ``select`` call (tree, caches, best state).

    Children are scored when their parent is expanded but become node objects only when first
    visited (most scored children never are): that keeps an iteration to a few microseconds.
    """

    def __init__(self, cfg: MCTSSelector, inp: SelectionInput) -> None:
        self.cfg, self.inp, self.t0 = cfg, inp, time.perf_counter()
        self.rng = random.Random(cfg.seed if cfg.seed is not None else inp.seed)
        self.scorer = build_reward(cfg.reward, inp, **cfg.reward_options)
        self.batch: Callable[[Sequence[int], Sequence[int]], Any] | None = getattr(
            self.scorer, "score_extensions", None
        )
        self.costs, self.budget = list(inp.costs), inp.budget_tokens
        self.scores = [float(c.score) for c in inp.candidates]
        self.lam_b = cfg.lam / self.budget
        self.cache: dict[frozenset[int], float] = {}
        self.table: dict[tuple[frozenset[int], int], _Node] = {}
        self.nodes: list[_Node] = []
        empty: frozenset[int] = frozenset()
        self.cache[empty] = check_reward(self.scorer(()), "reward")
        self.root = self._materialise(None, None)
        # best explored state: (reward, summed score, cost, parent node, last chunk); any non-empty
        # state as good as the empty one beats it
        self.best: tuple[float, float, int, _Node | None, int | None] = (self.root.reward, -math.inf, 0, None, None)

    def _materialise(self, parent: _Node | None, j: int | None) -> _Node:
        if parent is None or j is None:
            order: tuple[int, ...] = ()
            members: frozenset[int] = frozenset()
            cost = 0
        else:
            order, members, cost = (*parent.order, j), parent.members | {j}, parent.cost + self.costs[j]
        node = _Node(len(self.nodes), parent, j, order, members, cost, self.cache[members], self.rng.random())
        self.nodes.append(node)
        if parent is not None and j is not None:
            self.table[(members, j)] = node
        return node

    def _best_node(self) -> _Node:
        _, _, _, parent, j = self.best
        if parent is None or j is None:
            return self.root
        node = self.table.get((parent.members | {j}, j))
        return node if node is not None else self._materialise(parent, j)

    def _close(self, node: _Node) -> None:
        if node.exhausted:
            return
        node.exhausted = True
        for p in node.parents:
            p.open -= 1
            if p.open <= 0 and p.expanded:
                self._close(p)

    def _consider(self, node: _Node, j: int, reward: float) -> None:
        """Keep the best explored state: highest reward, then higher summed score, then fewer tokens."""
        br, bs, bc = self.best[0], self.best[1], self.best[2]
        if reward < br - 1e-9:
            return
        cost = node.cost + self.costs[j]
        ssum = sum(self.scores[i] for i in node.members) + self.scores[j]
        if reward > br + 1e-9 or ssum > bs or (ssum == bs and cost < bc):
            self.best = (reward, ssum, cost, node, j)

    def _expand(self, node: _Node) -> tuple[float, int]:
        """Score every child of ``node`` (cache misses only); return (backed-up value sum, count)."""
        left, members = self.budget - node.cost, node.members
        feas = [j for j, cj in enumerate(self.costs) if cj <= left and j not in members]
        sets = [members | {j} for j in feas]
        miss = [k for k, s in enumerate(sets) if s not in self.cache]
        if miss:
            extras = [feas[k] for k in miss]
            if self.batch is not None:
                arr = np.asarray(self.batch(node.order, extras), dtype=np.float64)
                if arr.shape != (len(extras),) or not np.all((arr >= -1e-9) & (arr <= 1 + 1e-9)):
                    raise InvalidInput(f"reward returned {arr!r}; rewards must be floats normalised to [0, 1]")
                values = np.clip(arr, 0.0, 1.0).tolist()
            else:
                values = [check_reward(self.scorer((*node.order, j)), "reward") for j in extras]
            for j, s, v in zip(extras, (sets[k] for k in miss), values, strict=True):
                self.cache[s] = v
                self._consider(node, j, v)
        node.expanded = True
        rewards = [self.cache[s] for s in sets]
        lam_b, costs, rand = self.lam_b, self.costs, self.rng.random
        prio = [r - lam_b * costs[j] for j, r in zip(feas, rewards, strict=True)]
        node.pending = sorted(zip(prio, [rand() for _ in feas], feas, strict=True))
        node.open = len(node.pending)
        if not rewards:
            self._close(node)
            return node.reward, 1
        return (max(rewards), 1) if self.cfg.backup == "best" else (sum(rewards), len(rewards))

    def _pick(self, node: _Node) -> _Node | None:
        while node.pending:  # unvisited children first, best reward first
            j = node.pending.pop()[2]
            child = self.table.get((node.members | {j}, j))
            if child is None:
                child = self._materialise(node, j)
                node.children.append(child)
                return child
            if child.exhausted:
                node.open -= 1
                continue
            child.parents.append(node)
            node.children.append(child)
            return child
        best: _Node | None = None
        best_u, best_tie = -math.inf, 0.0
        log_n, c, lam_b, sqrt = math.log(max(node.visits, 1)), self.cfg.c, self.lam_b, math.sqrt
        for ch in node.children:
            if ch.exhausted:
                continue
            n = ch.visits or 1
            u = ch.total / n + c * sqrt(log_n / n) - lam_b * ch.cost
            if u > best_u or (u == best_u and ch.tie > best_tie):
                best, best_u, best_tie = ch, u, ch.tie
        return best

    def run(self) -> Selection:
        cfg, done = self.cfg, 0
        limit = cfg.iterations if cfg.iterations is not None else math.inf
        while done < limit and not self.root.exhausted:
            if cfg.time_ms is not None and done and (time.perf_counter() - self.t0) * 1000 >= cfg.time_ms:
                break
            done += 1
            node, path = self.root, [self.root]
            while node.expanded:
                nxt = self._pick(node)
                if nxt is None:  # every child closed meanwhile
                    self._close(node)
                    break
                node = nxt
                path.append(node)
            if node.expanded:
                continue
            value, count = self._expand(node)
            for n in path:
                n.visits += count
                n.total += value
        best, completed = self._best_node(), 0
        while self.cfg.complete and not best.expanded:  # greedy completion of the best state
            self._expand(best)
            nxt = self._best_node()
            if nxt is best:
                break
            best, completed = nxt, completed + 1
        reward = self.best[0]
        tree, order = self._export(best), list(best.order)
        for n in self.nodes:  # break parent <-> child cycles so the tree is freed without the collector
            n.parent, n.children, n.parents = None, [], []
        return make_selection(
            self.inp,
            sorted(best.members),
            cfg.name,
            iterations=done,
            completion_steps=completed,
            states_scored=len(self.cache),
            nodes=len(self.nodes),
            best_reward=reward,
            exhausted=self.root.exhausted,
            time_ms=(time.perf_counter() - self.t0) * 1000,
            tree_order=order,
            reward=getattr(cfg.reward, "__name__", type(cfg.reward).__name__) if callable(cfg.reward) else cfg.reward,
            tree=tree,
        )

    def _export(self, best: _Node) -> list[dict[str, Any]]:
        """Visited or expanded nodes in creation order (parents first), at most ``tree_limit``, plus the
        path to the chosen state.

        Each node: id, parent id (the node that created it; transpositions can add others),
        chunk (candidate index, None at the root), visits, mean_reward (Q), reward, cost (tokens).
        ``nx.DiGraph([(n["parent"], n["id"]) for n in tree if n["parent"] is not None])`` draws it.
        """
        keep: set[int] = set()
        chain: _Node | None = best
        while chain is not None:
            keep.add(chain.id)
            chain = chain.parent
        out: list[dict[str, Any]] = []
        for n in self.nodes:
            if n.id not in keep and (len(out) >= self.cfg.tree_limit or (n.visits == 0 and not n.expanded)):
                continue
            out.append(
                {
                    "id": n.id,
                    "parent": n.parent.id if n.parent is not None else None,
                    "chunk": n.chunk,
                    "visits": n.visits,
                    "mean_reward": round(n.total / n.visits, 6) if n.visits else round(n.reward, 6),
                    "reward": round(n.reward, 6),
                    "cost": n.cost,
                    "best": n is best,
                }
            )
        return out
