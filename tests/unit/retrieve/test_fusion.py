from __future__ import annotations

import pytest

from ragengine.retrieve.fusion import rrf


def test_rrf_by_hand() -> None:
    fused = dict(rrf([[3, 1, 2], [1, 4]], k=60))
    assert fused[1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[3] == pytest.approx(1 / 61)
    assert fused[4] == pytest.approx(1 / 62)
    assert [d for d, _ in rrf([[3, 1, 2], [1, 4]], k=60)][:2] == [1, 3]


def test_rrf_empty() -> None:
    assert rrf([[], []]) == []
