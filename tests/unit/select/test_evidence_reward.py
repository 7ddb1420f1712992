"""MCTS over chunks with the evidence reward: the optimum equals exhaustive search on small inputs,
a sentence shared by two chunks counts once, and the vectorised extension scores equal the calls."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from ragengine.select.base import SelectionInput
from ragengine.select.mcts import MCTSSelector
from ragengine.select.rewards import EvidenceReward
from ragengine.testing import make_candidates
from tests.unit.select.test_mcts import chosen_indices, exhaustive_best

POOL = [
    "Sky Digital was launched in 1998.",
    "The channel was launched by BSkyB in October.",
    "Cats purr when they are content.",
    "BSkyB was founded in 1990 by a merger.",
    "It broadcast from Isleworth.",
    "The launch of Sky Digital replaced analogue broadcasts.",
    "Rivers flow to the sea.",
    "In 1998 digital television began in the United Kingdom.",
]


def random_input(seed: int) -> SelectionInput:
    rng = random.Random(seed)
    texts = [" ".join(rng.sample(POOL, rng.randint(1, 3))) for _ in range(9)]
    cands = [  # two documents, so chunks of one document share sentences
        replace(c, chunk=replace(c.chunk, doc_id=f"doc{i % 2}")) for i, c in enumerate(make_candidates(texts))
    ]
    costs = [rng.randint(8, 30) for _ in texts]
    return SelectionInput("When was Sky Digital launched?", cands, costs, rng.randint(25, 60))


@pytest.mark.parametrize("seed", range(6))
def test_evidence_optimum_matches_exhaustive_search(seed: int) -> None:
    inp = random_input(seed)
    sel = MCTSSelector(iterations=20_000, reward="evidence").select(inp)
    reward = EvidenceReward(inp)
    best = exhaustive_best(inp, reward)
    assert reward(chosen_indices(sel, inp)) == pytest.approx(best, abs=1e-9)
    assert sel.context_tokens <= inp.budget_tokens


def test_a_shared_sentence_counts_once_and_extensions_equal_calls() -> None:
    texts = [POOL[0], POOL[0] + " " + POOL[2], POOL[2]]  # three overlapping chunks of one document
    cands = [replace(c, chunk=replace(c.chunk, doc_id="sky")) for c in make_candidates(texts)]
    inp = SelectionInput("When was Sky Digital launched?", cands, [8, 14, 6], 40)
    reward = EvidenceReward(inp)
    assert reward(()) == 0.0
    assert reward((0, 1)) == pytest.approx(reward((1,)))  # chunk 0's sentence is already in chunk 1
    assert reward((0,)) > reward((2,))  # the answer sentence outweighs the unrelated one
    for base in ((), (0,), (1,), (0, 2)):
        extras = [j for j in range(3) if j not in base]
        got = reward.score_extensions(base, extras)
        assert list(got) == pytest.approx([reward((*base, j)) for j in extras])
