"""The optional fp32 sentence-transformers embedder agrees with the int8 ONNX default."""

from __future__ import annotations

import numpy as np
import pytest

from ragengine.embed.registry import get_embedder

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fp32_and_int8_embeddings_agree() -> None:
    pytest.importorskip("sentence_transformers", reason="install ragengine[st]")
    texts = ["When was Sky Digital launched?", "The Nile flows north into the Mediterranean Sea."]
    a = get_embedder("minilm-onnx-int8").embed(texts)
    b = get_embedder("minilm-st-fp32").embed(texts)
    assert a.shape == b.shape == (2, 384)
    cos = (a * b).sum(axis=1)
    assert np.all(cos > 0.99), cos
