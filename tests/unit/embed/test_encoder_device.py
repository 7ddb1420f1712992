"""Which onnxruntime providers the encoder asks for, and that it batches by tokens without changing results."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ragengine.embed.onnx_minilm import OnnxMiniLM, _token_batches, choose_providers
from ragengine.errors import InvalidInput, MissingDependency


def test_providers_follow_the_device_setting() -> None:
    cpu_only, both = ["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("auto", cpu_only) == cpu_only
    assert choose_providers("auto", both) == both
    assert choose_providers("cpu", both) == cpu_only
    assert choose_providers("cuda", both) == both
    with pytest.raises(MissingDependency, match="onnxruntime-gpu"):
        choose_providers("cuda", cpu_only)
    with pytest.raises(InvalidInput, match="encoder device"):
        OnnxMiniLM(device="tpu")


def test_token_batches_cover_every_text_once_within_the_budget() -> None:
    lengths = np.sort(np.random.default_rng(0).integers(3, 300, size=500))
    runs = list(_token_batches(lengths, 64, 512))
    assert runs[0][0] == 0 and runs[-1][1] == 500
    assert all(a[1] == b[0] for a, b in itertools.pairwise(runs))
    assert all((b - a) * lengths[b - 1] <= 512 or b - a == 1 for a, b in runs)


def test_batching_does_not_change_the_vectors() -> None:
    texts = [f"Sentence number {i} talks about {'rivers ' * (i % 7)}and cities." for i in range(40)]
    enc = OnnxMiniLM()
    many = enc.embed(texts)
    one_by_one = np.concatenate([enc.embed([t]) for t in texts])
    assert float((many * one_by_one).sum(axis=1).min()) > 0.999
