"""Exact top-10 throughput of TorchExactSearch over 1M x 384 vectors on one CUDA GPU (torch only, no FAISS).

    python -m tests.gpu.throughput [N] [QUERIES]

Vectors are random unit vectors (throughput does not depend on their values; recall on real
embeddings is what tests/gpu/test_gpu_search.py checks). Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main(n: int = 1_000_000, n_queries: int = 20_000, dim: int = 384, k: int = 10) -> dict:
    import torch

    from ragengine.index.dense import TorchExactSearch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.choice(n, n_queries, replace=False)] + 0.1 * rng.standard_normal((n_queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t = time.perf_counter()
    search = TorchExactSearch(x, torch_module=torch)
    torch.cuda.synchronize()
    load_s = time.perf_counter() - t
    out = {"device": torch.cuda.get_device_name(0), "n": n, "dim": dim, "k": k, "load_s": round(load_s, 2)}
    for batch in (1, 100, 1000):
        search.max_elements = batch * n
        m = min(n_queries, 200 if batch == 1 else n_queries)
        search.search(q[: max(batch, 10)], k)  # warm-up
        torch.cuda.synchronize()
        t = time.perf_counter()
        _, ids = search.search(q[:m], k)
        torch.cuda.synchronize()
        out[f"qps_batch_{batch}"] = round(m / (time.perf_counter() - t))
    exact = np.argsort(-(q[:200] @ x.T), axis=1)[:, :k]
    _, ids = search.search(q[:200], k)
    out["top10_overlap_vs_fp32"] = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, exact, strict=True)]))
    out["self_hit_at_1"] = float(np.mean(ids[:, 0] == exact[:, 0]))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
