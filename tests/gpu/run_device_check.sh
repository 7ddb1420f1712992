#!/usr/bin/env bash
# One-shot GPU check (< 5 minutes): the gpu-marked tests on real embeddings, then 1M x 384 throughput.
# Prepare on the CPU machine first: `python -m tests.gpu.prepare_embeddings` (writes indexes/bench-gpu/),
# then run this with that folder carried, e.g. run(command="bash tests/gpu/run_device_check.sh",
# carry=["indexes/bench-gpu"], timeout_s=420). Needs python with torch (CUDA) and numpy; pytest optional.
# Last run: NVIDIA H100 80GB, 2026-11-26 (eval/results/gpu-check-h100.log): 2 passed; 1M x 384 exact top-10 at
# 69k queries/s (batch 100), 100k (batch 1000), 2.2k (batch 1), top-10 overlap with fp32 0.997.
# faiss is not on the device image: carry its wheel (.whl/, see the device tool's README), e.g.
# run(command="python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && PYTHONPATH=/tmp/site bash ...").
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
if $PY -c "import pytest" 2>/dev/null; then
  timeout 180 $PY -m pytest -q -m gpu tests/gpu -p no:cacheprovider -o addopts="" ; rc=$?
else
  echo "pytest not installed: calling the test functions directly"
  timeout 180 $PY - <<'PY'
import importlib, inspect, sys, tempfile, traceback, types
from pathlib import Path

class Skipped(Exception):
    pass

def importorskip(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise Skipped(f"{name} not installed") from None

def skip(msg):
    raise Skipped(msg)

stub = types.ModuleType("pytest")  # a stand-in with the few names the GPU tests use
stub.mark = types.SimpleNamespace(gpu=object())
stub.importorskip, stub.skip = importorskip, skip
sys.modules["pytest"] = stub
import tests.gpu.test_gpu_search as t
failed = 0
for name, fn in inspect.getmembers(t, inspect.isfunction):
    if not name.startswith("test_"):
        continue
    try:
        fn(*([Path(tempfile.mkdtemp())] if inspect.signature(fn).parameters else []))
        print("PASS", name)
    except Exception as e:
        kind = "SKIP" if isinstance(e, Skipped) else "FAIL"
        failed += kind == "FAIL"
        print(kind, name, e if kind == "SKIP" else traceback.format_exc())
sys.exit(1 if failed else 0)
PY
  rc=$?
fi
timeout 150 $PY -m tests.gpu.throughput 1000000 20000 || rc=$((rc + 100))
exit $rc
