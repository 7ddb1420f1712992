"""`import ragengine` loads no model and opens no network connection."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_import_loads_no_model_and_no_network() -> None:
    code = textwrap.dedent(
        """
        import socket, sys
        def refuse(*a, **k):
            raise SystemExit("network connection attempted during import")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import ragengine
        from ragengine import Engine, Budget, Answer, Ledger, EngineConfig
        heavy = [m for m in ("llama_cpp", "onnxruntime", "faiss", "torch", "sentence_transformers", "bm25s",
                             "llama_index", "tokenizers") if m in sys.modules]
        print("HEAVY", heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout
