"""The eval harness's partial file: ``NAME.partial.jsonl``, one JSON record per line, written as scored.

A crashed or interrupted run resumes by skipping the records already there (a half-written last
line is dropped); a record written under other settings (another fingerprint) refuses to resume.
``pack_partial`` gzips the file so an unfinished run can be committed and resumed elsewhere.
Cost: one fsync per record written; reading parses every line once.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragengine.errors import InvalidInput
from ragengine.evaluation.config import ConfigError, EvalConfig, load_config

log = logging.getLogger(__name__)
# Record fields that measure time: they differ between two runs of the same config.
TIMING_FIELDS = ("latency_ms", "finished_at", "session", "generation_reused", "stage_ms")


@dataclass
class Partial:
    """Records already written for this config (key -> record) and the run sessions."""

    records: dict[str, dict[str, Any]]
    sessions: list[dict[str, Any]]


def record_key(dataset: str, qid: str, strategy: str, budget: int | None) -> str:
    return f"{dataset}|{qid}|{strategy}|{budget if budget is not None else '-'}"


def results_paths(cfg: EvalConfig, results_dir: str | Path | None = None) -> tuple[Path, Path]:
    """The results folder of a config and its partial file."""
    out = Path(results_dir) if results_dir is not None else Path(cfg.results_dir)
    return out, out / f"{cfg.name}.partial.jsonl"


def read_partial(path: Path, cfg: EvalConfig) -> Partial:
    """Read ``NAME.partial.jsonl``; a truncated last line (a crash mid-write) is dropped with a warning."""
    part = Partial({}, [])
    prints = {ds.name: cfg.fingerprint(ds) for ds in cfg.datasets}
    if not path.is_file():
        return part
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if i == len(lines):
                log.warning("%s: dropping a half-written last line (%d chars)", path, len(line))
                continue
            raise ConfigError(
                f"{path}: line {i} is not valid JSON ({e.msg}); delete the line or rerun with --fresh"
            ) from e
        if "session" in obj and "key" not in obj:
            part.sessions.append(obj["session"])
            continue
        want = prints.get(obj.get("dataset", ""))
        if want is None:  # a dataset no longer in the config: kept in the file, left out of the report
            continue
        if obj.get("fingerprint") != want:
            raise ConfigError(
                f"{path}: line {i} ({obj.get('key')}) was written under other settings (fingerprint "
                f"{obj.get('fingerprint')} != {want}: the generator, prompt, index, strategy options or seed "
                "changed); restore them, or rerun with --fresh to start over"
            )
        part.records[obj["key"]] = obj
    return part


class PartialWriter:
    """Appends records, one JSON line each, flushed and synced so a crash loses at most the line being written.

    Holds an exclusive lock on the file while open, so two runs of one config cannot interleave.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = path.open("a", encoding="utf-8")
        try:
            import fcntl

            fcntl.flock(self.f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except OSError as e:
            self.f.close()
            raise ConfigError(
                f"{path}: another `ragengine eval` run of this config is writing it; wait for it or stop it first"
            ) from e
        if self.f.tell() > 0:  # cut a half-written last line left by a crash
            data = path.read_bytes()
            if not data.endswith(b"\n"):
                self.f.truncate(data.rfind(b"\n") + 1)
                self.f.seek(0, os.SEEK_END)

    def write(self, obj: dict[str, Any]) -> None:
        self.f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.f.flush()
        os.fsync(self.f.fileno())

    def close(self) -> None:
        self.f.close()


def unpack_partial(partial_path: Path) -> None:
    """Restore ``NAME.partial.jsonl`` from ``NAME.partial.jsonl.gz`` when only the packed file is there."""
    packed = partial_path.with_name(partial_path.name + ".gz")
    if not partial_path.exists() and packed.is_file():
        # a run cut short on another machine: its records were committed gzipped (see pack_partial)
        import gzip

        partial_path.write_bytes(gzip.decompress(packed.read_bytes()))
        log.warning("resuming from %s", packed)


def pack_partial(config: str | Path | EvalConfig, results_dir: str | Path | None = None) -> Path:
    """Gzip ``NAME.partial.jsonl`` beside it, so an unfinished run can be committed and resumed elsewhere.

    ``run_eval`` unpacks ``NAME.partial.jsonl.gz`` when ``NAME.partial.jsonl`` is missing.
    """
    import gzip

    cfg = config if isinstance(config, EvalConfig) else load_config(config)
    _, partial_path = results_paths(cfg, results_dir)
    if not partial_path.is_file():
        raise InvalidInput(f"{partial_path}: no partial records to pack")
    packed = partial_path.with_name(partial_path.name + ".gz")
    packed.write_bytes(gzip.compress(partial_path.read_bytes(), compresslevel=9, mtime=0))
    return packed
