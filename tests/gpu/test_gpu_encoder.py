"""The int8 MiniLM encoder on onnxruntime's CUDA provider gives the CPU path's vectors (skips without CUDA)."""

from __future__ import annotations

import pytest

from ragengine.embed.onnx_minilm import OnnxMiniLM

pytestmark = pytest.mark.gpu
TEXTS = [
    "The Seine flows through Paris.",
    "Photosynthesis turns light into sugar in the leaves of plants.",
    "Nikola Tesla partnered with Robert Lane and Benjamin Vail in 1886.",
] * 40


def test_cuda_encoder_matches_the_cpu_encoder() -> None:
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu on a CUDA machine)")
    gpu = OnnxMiniLM(device="cuda")
    got = gpu.embed(TEXTS)
    if gpu.provider != "CUDAExecutionProvider":
        pytest.skip(f"the CUDA provider did not start (fell back to {gpu.provider})")
    want = OnnxMiniLM(device="cpu").embed(TEXTS)
    assert float((got * want).sum(axis=1).min()) > 0.99
