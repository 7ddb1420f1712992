"""Kill `ragengine index` and `ragengine cluster` (SIGKILL, a real subprocess) at every step of their
write: the index still loads and answers, the next run succeeds and leaves no leftovers, and the
manifest never lists a temp file. A read-only or full disk is a one-line typed error."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragengine import Budget, Engine
from ragengine.testing import TINY_CORPUS

pytestmark = pytest.mark.reliability
# Runs the CLI; "no-exchange" makes the swap fall back to two renames (systems without renameat2).
RUNNER = """
import sys
import time
from ragengine.index import publish
if sys.argv[1] == "no-exchange":
    publish._exchange = lambda a, b: False
from ragengine.cli import main
sys.exit(main(sys.argv[2:]))
"""
SMALL = ["--embedder", "hash-64", "--tokenizer", "whitespace", "--chunk-size", "16", "--chunk-overlap", "0"]


def _docs(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, text in TINY_CORPUS[:n]:
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    return folder


def _run(args: list[str], failpoint: str | None = None, exchange: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RAGENGINE_FAILPOINT"}
    if failpoint:
        env["RAGENGINE_FAILPOINT"] = failpoint
    mode = "exchange" if exchange else "no-exchange"
    return subprocess.run(
        [sys.executable, "-c", RUNNER, mode, *args], env=env, capture_output=True, text=True, timeout=180
    )


def _assert_serves(root: Path, n_documents: int | None = None) -> None:
    engine = Engine.from_index("t", root=root, generator="extractive")
    if n_documents is not None:
        assert engine.manifest.n_documents == n_documents
    answer = engine.ask("Which river flows through Paris?", Budget(context_tokens=64))
    assert answer.citations, "the index loaded but retrieved nothing"
    listed = json.loads((root / "t" / "manifest.json").read_text())["files"]
    assert not [f for f in listed if any(part.startswith(".") for part in Path(f).parts)]


def _leftovers(root: Path) -> list[str]:
    beside = [p.name for p in root.iterdir() if p.name.startswith(".")]
    inside = [p.name for p in (root / "t").iterdir() if p.name.startswith(".")]
    return beside + inside


@pytest.fixture
def built(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """An index ``t`` of 3 documents, and a folder of 5 documents to rebuild it from."""
    root = tmp_path / "indexes"
    v1, v2 = _docs(tmp_path / "v1", 3), _docs(tmp_path / "v2", 5)
    done = _run(["index", str(v1), "--name", "t", "--root", str(root), *SMALL])
    assert done.returncode == 0, done.stderr
    yield root, v1, v2


# (failpoint, swap by exchange?, documents the index serves right after the kill)
INDEX_STEPS = [
    ("chunked", True, 3),
    ("embedded", True, 3),
    ("written", True, 3),
    ("publish", True, 3),
    ("exchanged", True, 5),
    ("between-renames", False, 3),
]


@pytest.mark.parametrize(("step", "exchange", "serving"), INDEX_STEPS)
def test_killed_rebuild_keeps_an_index_that_answers(
    built: tuple[Path, Path, Path], step: str, exchange: bool, serving: int
) -> None:
    root, _, v2 = built
    args = ["index", str(v2), "--name", "t", "--root", str(root), "--clusters", *SMALL]
    killed = _run(args, failpoint=step, exchange=exchange)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_serves(root, serving)
    again = _run(args, exchange=exchange)
    assert again.returncode == 0, again.stderr
    _assert_serves(root, 5)
    assert _leftovers(root) == []


CLUSTER_STEPS = [
    ("staged", True),
    ("clustered", True),
    ("publish", True),
    ("exchanged", True),
    ("between-renames", False),
]


@pytest.mark.parametrize(("step", "exchange"), CLUSTER_STEPS)
def test_killed_cluster_keeps_an_index_that_answers(built: tuple[Path, Path, Path], step: str, exchange: bool) -> None:
    root, _, _ = built
    killed = _run(["cluster", "t", "--root", str(root)], failpoint=step, exchange=exchange)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_serves(root, 3)
    again = _run(["cluster", "t", "--root", str(root)], exchange=exchange)
    assert again.returncode == 0, again.stderr
    _assert_serves(root, 3)
    assert (root / "t" / "clusters").is_dir()
    assert _leftovers(root) == []


def test_leftover_of_an_older_cluster_run_is_never_checksummed(built: tuple[Path, Path, Path]) -> None:
    """An older version wrote `.clusters.tmp-*` inside the index: the next run removes it and lists none."""
    root, _, _ = built
    stale = root / "t" / ".clusters.tmp-deadbeef" / "clusters"
    stale.mkdir(parents=True)
    (stale / "clusters.json").write_text("{}")
    done = _run(["cluster", "t", "--root", str(root)])
    assert done.returncode == 0, done.stderr
    assert _leftovers(root) == []
    _assert_serves(root, 3)


def _many_docs(folder: Path, n: int = 300) -> Path:
    """About 200 KB of text: its index does not fit a 128 KB file system."""
    folder.mkdir(parents=True, exist_ok=True)
    words = " ".join(text for _, text in TINY_CORPUS).split()
    for i in range(n):
        body = " ".join(words[(i * 7 + j) % len(words)] for j in range(100))
        (folder / f"doc{i:03d}.txt").write_text(body, encoding="utf-8")
    return folder


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)]).returncode == 0


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "mnt"
    yield point
    subprocess.run(["umount", str(point)], capture_output=True)


@pytest.mark.parametrize("options", ["ro,size=1m", "size=128k"])
def test_read_only_or_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path, mounted: Path, options: str) -> None:
    """A read-only root (no writes at all) and a full disk (128 KB: the index does not fit)."""
    if not _mount(mounted, options):
        pytest.skip("needs root and tmpfs mounts to make a read-only or a full file system")
    docs = _many_docs(tmp_path / "docs")
    done = _run(["index", str(docs), "--name", "t", "--root", str(mounted / "indexes"), *SMALL])
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]  # besides the progress bar
    assert len(errors) == 1 and errors[0].startswith("error: could not write index 't'"), done.stderr
    assert "Traceback" not in done.stderr
    base = mounted / "indexes"
    assert not base.exists() or list(base.iterdir()) == []


def test_full_disk_during_cluster_keeps_the_index(tmp_path: Path, mounted: Path) -> None:
    """Clusters cannot be written: a typed error, and the index serves as before."""
    if not _mount(mounted, "size=2m"):
        pytest.skip("needs root and tmpfs mounts to make a full file system")
    root = mounted / "indexes"
    docs = _docs(tmp_path / "docs", 5)
    assert _run(["index", str(docs), "--name", "t", "--root", str(root), *SMALL]).returncode == 0
    filler = mounted / "filler"
    with filler.open("wb") as f:  # fill what is left of the file system
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    done = _run(["cluster", "t", "--root", str(root)])
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("error: could not write index 't'"), done.stderr
    assert "Traceback" not in done.stderr
    filler.unlink()
    _assert_serves(root, 5)
    assert _leftovers(root) == []


def test_sigterm_during_a_rebuild_cleans_up_like_ctrl_c(built: tuple[Path, Path, Path]) -> None:
    root, _, v2 = built
    env = {**os.environ, "RAGENGINE_FAILPOINT": "embedded:pause"}
    args = ["index", str(v2), "--name", "t", "--root", str(root), *SMALL]
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, "exchange", *args], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not list(root.glob(".t.tmp-*/vectors.npy")) and not list(root.glob(".t.tmp-*/terms.npz")):
            assert proc.poll() is None and time.monotonic() < deadline, "the build never reached its pause"
            if list(root.glob(".t.tmp-*/chunks.jsonl")):
                break
            time.sleep(0.2)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted" in err
    assert _leftovers(root) == []
    _assert_serves(root, 3)


@pytest.mark.parametrize("step", ["chunked", "embedded", "written", "exchanged"])
def test_killed_add_keeps_an_index_that_answers(built: tuple[Path, Path, Path], step: str) -> None:
    root, _, v2 = built
    new = v2 / f"{TINY_CORPUS[4][0]}.txt"
    args = ["add", "t", str(new), "--root", str(root)]
    killed = _run(args, failpoint=step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_serves(root, 4 if step == "exchanged" else 3)
    again = _run(args)
    assert again.returncode == 0, again.stderr
    _assert_serves(root, 4)
    assert _leftovers(root) == []
