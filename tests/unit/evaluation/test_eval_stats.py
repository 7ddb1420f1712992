"""Bootstrap intervals: deterministic per seed, sane coverage, paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest

import ragengine.evaluation.stats as stats_mod
from ragengine.errors import InvalidInput
from ragengine.evaluation.stats import bootstrap_ci, paired_bootstrap


def test_bootstrap_is_deterministic_per_seed() -> None:
    values = np.random.default_rng(3).integers(0, 2, size=200)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(list(values), seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_bootstrap_mean_and_order() -> None:
    values = [1, 0, 1, 1, 0, 1, 1, 1]
    mean, lo, hi = bootstrap_ci(values)
    assert mean == pytest.approx(0.75)
    assert lo <= mean <= hi
    assert bootstrap_ci([0.4] * 10) == pytest.approx((0.4, 0.4, 0.4))
    assert bootstrap_ci([2.0]) == (2.0, 2.0, 2.0)


def test_bootstrap_width_matches_normal_theory() -> None:
    # Bernoulli(0.5), n = 400: standard error 0.025, so a 95% interval is about 0.098 wide.
    values = np.random.default_rng(0).integers(0, 2, size=400)
    _, lo, hi = bootstrap_ci(values, n_resamples=2000)
    assert 0.08 < hi - lo < 0.12
    _, lo90, hi90 = bootstrap_ci(values, n_resamples=2000, alpha=0.10)
    assert lo <= lo90 and hi90 <= hi  # a 90% interval sits inside the 95% one


def test_bootstrap_coverage_sanity() -> None:
    rng = np.random.default_rng(42)
    hits = 0
    for i in range(200):
        sample = rng.normal(0.3, 1.0, size=100)
        _, lo, hi = bootstrap_ci(sample, n_resamples=500, seed=i)
        hits += lo <= 0.3 <= hi
    assert 0.88 <= hits / 200 <= 0.99  # nominal 95%


def test_bootstrap_does_not_depend_on_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(1).random(5000)
    chunked = bootstrap_ci(values)  # 2e6 // 5000 = 400 resamples per block
    monkeypatch.setattr(stats_mod, "_MAX_BLOCK_ELEMENTS", 10**9)
    assert bootstrap_ci(values) == chunked


def test_bootstrap_validation() -> None:
    with pytest.raises(InvalidInput, match="non-empty 1-D"):
        bootstrap_ci([])
    with pytest.raises(InvalidInput, match="non-empty 1-D"):
        bootstrap_ci([[1, 2], [3, 4]])
    with pytest.raises(InvalidInput, match="NaN or infinity at index 1"):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(InvalidInput, match="got a string"):
        bootstrap_ci("0101")
    with pytest.raises(InvalidInput, match="sequence of numbers"):
        bootstrap_ci(["a", "b"])
    for bad in (0, -5, 10.0, True):
        with pytest.raises(InvalidInput, match="n_resamples must be a positive int"):
            bootstrap_ci([1, 0], n_resamples=bad)  # type: ignore[arg-type]
    for bad_alpha in (0, 1, -0.1, 1.5, "0.05"):
        with pytest.raises(InvalidInput, match=r"alpha must be in \(0, 1\)"):
            bootstrap_ci([1, 0], alpha=bad_alpha)  # type: ignore[arg-type]
    for bad_seed in (-1, 1.5, None):
        with pytest.raises(InvalidInput, match="seed must be a non-negative int"):
            bootstrap_ci([1, 0], seed=bad_seed)  # type: ignore[arg-type]


def test_paired_identical_inputs() -> None:
    a = np.random.default_rng(5).integers(0, 2, size=150)
    out = paired_bootstrap(a, a.copy())
    assert out == {"diff": 0.0, "lo": 0.0, "hi": 0.0, "p_value_two_sided": 1.0}


def test_paired_constant_shift_is_certain() -> None:
    a = np.linspace(0, 1, 50)
    out = paired_bootstrap(a + 0.1, a, n_resamples=999)
    assert out["diff"] == pytest.approx(0.1)
    assert out["lo"] == pytest.approx(0.1) and out["hi"] == pytest.approx(0.1)
    assert out["p_value_two_sided"] == pytest.approx(1 / 1000)  # +1 correction: never 0


def test_paired_detects_real_difference_and_not_noise() -> None:
    rng = np.random.default_rng(11)
    better = (rng.random(300) < 0.8).astype(float)
    worse = (rng.random(300) < 0.4).astype(float)
    out = paired_bootstrap(better, worse)
    assert out["lo"] > 0 and out["p_value_two_sided"] < 0.01
    assert out["lo"] <= out["diff"] <= out["hi"]
    swapped = paired_bootstrap(worse, better)
    assert swapped["diff"] == pytest.approx(-out["diff"])
    same_a = (rng.random(300) < 0.5).astype(float)
    same_b = (rng.random(300) < 0.5).astype(float)
    noise = paired_bootstrap(same_a, same_b)
    assert noise["lo"] <= 0 <= noise["hi"] and noise["p_value_two_sided"] > 0.05


def test_paired_is_deterministic_and_validates() -> None:
    a, b = [1, 0, 1, 1, 0], [0, 0, 1, 0, 1]
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)
    with pytest.raises(InvalidInput, match="a has 3 values and b has 2"):
        paired_bootstrap([1, 0, 1], [1, 0])
    with pytest.raises(InvalidInput, match="b must be a non-empty"):
        paired_bootstrap([1], [])
    with pytest.raises(InvalidInput, match="n_resamples must be a positive int"):
        paired_bootstrap(a, b, n_resamples=0)
    with pytest.raises(InvalidInput, match="alpha must be in"):
        paired_bootstrap(a, b, alpha=2)
    with pytest.raises(InvalidInput, match="seed must be a non-negative int"):
        paired_bootstrap(a, b, seed=-2)
