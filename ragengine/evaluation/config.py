"""Eval configs: one TOML file names the datasets, strategies, budgets and generator of a run.

Every key is checked when the file is read, and a mistake raises ``ConfigError`` naming the
file, the key and what would be accepted, before any model loads::

    name = "squad-accuracy-per-token"
    strategies = ["topk", "llamaindex", "greedy", "mcts"]   # ragengine strategies + baselines
    budgets = [128, 256, 512, 1024]                         # context tokens
    generator = "llm"                                       # llm | extractive | none | echo (tests)
    rewrite = "none"                                        # none | prf | llm (query rewriting)

    [index]                      # built once under indexes/eval-<kind>-<hash>, reused after
    chunk_size = 128
    clusters = false             # true: CRAG clusters too (cluster granularities offered at query time)

    [strategy_options.mcts]      # keyword arguments of a strategy
    iterations = 300

    [[datasets]]
    name = "squad-report"
    kind = "squad"               # squad | squad2 | beir | hotpotqa | musique
    path = "../shared/data/squad-v1.1-dev/dev-v1.1.rebuilt.json"
    articles = [25, 48]          # 1-based inclusive (SQuAD only)
    sample = 300                 # seeded random sample; or limit = N (first N)

Relative paths are resolved against the current directory, then against the config's folder.
A dataset may override ``strategies``, ``budgets`` and ``generator`` (e.g. a 1,000-question
gold-in-context run with ``generator = "none"`` beside a 300-question answered one).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragengine.config import RerankerMode, RetrievalMode, RewriteMode
from ragengine.errors import InvalidInput

DATASET_KINDS = ("squad", "squad2", "beir", "hotpotqa", "musique")
BASELINES = ("topk", "llamaindex")
EVAL_GENERATORS = ("llm", "extractive", "none", "echo")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class ConfigError(InvalidInput):
    """An eval config is missing, unreadable or has a bad key; the message names the file and the key."""


def _strategies() -> tuple[str, ...]:
    from ragengine.select.registry import STRATEGIES

    return (*STRATEGIES, *BASELINES)


@dataclass(frozen=True)
class IndexSpec:
    """How the eval index of a dataset's corpus is built; part of its folder name's hash."""

    chunk_size: int = 128
    chunk_overlap: int = 16
    embedder: str = "minilm-onnx-int8"
    tokenizer: str = "smollm2-135m-instruct"
    dense: str = "flat"
    root: str = "indexes"
    clusters: bool = False
    """Build CRAG clusters too (the engine then offers cluster granularities: clusters "auto")."""

    def settings(self) -> dict[str, Any]:
        """What the index folder's hash covers (``clusters`` only when on: older hashes stay valid)."""
        out = {k: v for k, v in asdict(self).items() if k != "root"}
        if not self.clusters:
            out.pop("clusters")
        return out


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str
    path: Path
    articles: tuple[int, int] | None = None
    split: str = "test"
    corpus: Path | None = None
    limit: int | None = None
    sample: int | None = None
    strategies: tuple[str, ...] | None = None
    budgets: tuple[int, ...] | None = None
    generator: str | None = None


@dataclass(frozen=True)
class EvalConfig:
    name: str
    datasets: tuple[DatasetSpec, ...]
    strategies: tuple[str, ...]
    budgets: tuple[int, ...]
    generator: str = "llm"
    generator_options: dict[str, Any] = field(default_factory=dict)
    index: IndexSpec = field(default_factory=IndexSpec)
    strategy_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    seed: int = 0
    retrieval: RetrievalMode = "hybrid"
    reranker: RerankerMode = "auto"
    rewrite: RewriteMode = "none"
    candidates: int = 30
    max_new_tokens: int = 32
    llamaindex_top_k: int = 2
    recall_k: tuple[int, ...] = (10,)
    bootstrap: int = 1000
    results_dir: str = "eval/results"
    description: str = ""
    source: Path | None = None

    def strategies_for(self, ds: DatasetSpec) -> tuple[str, ...]:
        return ds.strategies if ds.strategies is not None else self.strategies

    def budgets_for(self, ds: DatasetSpec) -> tuple[int, ...]:
        return ds.budgets if ds.budgets is not None else self.budgets

    def generator_for(self, ds: DatasetSpec) -> str:
        return ds.generator if ds.generator is not None else self.generator

    def settings_for(self, ds: DatasetSpec) -> list[tuple[str, int | None]]:
        """The (strategy, budget) pairs of ``ds``: each strategy at each budget; llama-index once, unbudgeted."""
        out: list[tuple[str, int | None]] = []
        for s in self.strategies_for(ds):
            if s == "llamaindex":
                out.append((s, None))
            else:
                out.extend((s, b) for b in self.budgets_for(ds))
        return out

    def fingerprint(self, ds: DatasetSpec) -> str:
        """Hash of the settings that change a record of ``ds`` (not which records exist).

        A partial file's record written under another fingerprint cannot be resumed: the report
        would mix two setups. Strategies, budgets and question counts may change between resumes;
        the prompt and generator settings count only for datasets that generate.
        """
        gen = self.generator_for(ds)
        key: dict[str, Any] = {
            "index": self.index.settings(),
            "strategy_options": self.strategy_options,
            "seed": self.seed,
            "retrieval": self.retrieval,
            "reranker": self.reranker,
            **({"rewrite": self.rewrite} if self.rewrite != "none" else {}),
            "candidates": self.candidates,
            "llamaindex_top_k": self.llamaindex_top_k,
            "dataset": [ds.kind, ds.path.name, ds.articles, ds.split],
            "generator": gen,
        }
        if gen != "none":
            from ragengine.generate import prompt

            key["generator_options"] = self.generator_options
            key["max_new_tokens"] = self.max_new_tokens
            key["prompt"] = [str(m) for m in prompt.chat_messages("Q?", ["C."])] + list(getattr(prompt, "STOP", ()))
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Reader:
    """Typed access to one TOML table, recording which keys were read so the rest are reported."""

    def __init__(self, table: dict[str, Any], where: str, src: str) -> None:
        self.table, self.where, self.src, self.used = table, where, src, set[str]()

    def err(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.src}: {self.where}{key}: {msg}")

    def get(self, key: str, typ: type | tuple[type, ...], default: Any = ..., *, required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required or default is ...:
                raise self.err(key, "missing (required)")
            return default
        v = self.table[key]
        types = typ if isinstance(typ, tuple) else (typ,)
        if isinstance(v, bool) and bool not in types:
            raise self.err(key, f"must be {'/'.join(t.__name__ for t in types)}, got a bool ({v})")
        if not isinstance(v, types):
            raise self.err(key, f"must be {'/'.join(t.__name__ for t in types)}, got {type(v).__name__} ({v!r:.60})")
        return v

    def positive_int(self, key: str, default: Any = ...) -> Any:
        v = self.get(key, int, default)
        if v is not None and v is not default and v <= 0:
            raise self.err(key, f"must be a positive integer, got {v}")
        return v

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> Any:
        v = self.get(key, str, default)
        if v is not None and v is not default and v not in choices:
            raise self.err(key, f"unknown value {v!r}; choose one of {', '.join(choices)}")
        return v

    def int_list(self, key: str, default: Any = ...) -> Any:
        v = self.get(key, list, default)
        if v is default:
            return v
        if not v:
            raise self.err(key, "must list at least one value")
        for x in v:
            if isinstance(x, bool) or not isinstance(x, int) or x <= 0:
                raise self.err(key, f"every entry must be a positive integer, got {x!r}")
        if len(set(v)) != len(v):
            raise self.err(key, f"repeats a value: {v}")
        return tuple(v)

    def strategy_list(self, key: str, default: Any = ...) -> Any:
        v = self.get(key, list, default)
        if v is default:
            return v
        valid = _strategies()
        if not v:
            raise self.err(key, f"must list at least one strategy from {', '.join(valid)}")
        for s in v:
            if s not in valid:
                raise self.err(key, f"unknown strategy {s!r}; choose from {', '.join(valid)}")
        if len(set(v)) != len(v):
            raise self.err(key, f"repeats a strategy: {v}")
        return tuple(v)

    def path(self, key: str, base: Path, default: Any = ...) -> Any:
        v = self.get(key, str, default)
        if v is default or v is None:
            return v
        p = Path(v)
        if not p.is_absolute() and not p.exists() and (base / p).exists():
            p = base / p
        return p

    def done(self) -> None:
        extra = sorted(set(self.table) - self.used)
        if extra:
            raise self.err(extra[0], f"unknown key; valid keys here: {', '.join(sorted(self.used))}")


def _dataset(table: Any, i: int, src: str, base: Path) -> DatasetSpec:
    if not isinstance(table, dict):
        raise ConfigError(f"{src}: datasets[{i}]: must be a table ([[datasets]]), got {type(table).__name__}")
    r = _Reader(table, f"datasets[{i}].", src)
    name = r.get("name", str, required=True)
    if not name or set(name) - _NAME_CHARS:
        raise r.err("name", f"{name!r} must be letters, digits, '.', '_' or '-' (it names records and plots)")
    r.where = f"datasets[{i}] ({name})."
    kind = r.choice("kind", DATASET_KINDS)
    path = r.path("path", base)
    if not path.exists():
        raise r.err("path", f"{path} does not exist (relative paths are resolved against the current directory)")
    articles = r.get("articles", list, None)
    if articles is not None:
        if kind not in ("squad", "squad2"):
            raise r.err("articles", f"applies to SQuAD files only, not kind {kind!r}")
        if len(articles) != 2 or not all(type(a) is int for a in articles) or not 1 <= articles[0] <= articles[1]:
            raise r.err("articles", f"must be [first, last], 1-based and inclusive, e.g. [25, 48]; got {articles!r}")
        articles = (articles[0], articles[1])
    split = r.get("split", str, "test")
    corpus = r.path("corpus", base, None)
    if corpus is not None and not corpus.exists():
        raise r.err("corpus", f"{corpus} does not exist")
    limit, sample = r.positive_int("limit", None), r.positive_int("sample", None)
    if limit is not None and sample is not None:
        raise r.err("sample", "give either limit (the first N questions) or sample (a seeded random N), not both")
    spec = DatasetSpec(
        name=name,
        kind=kind,
        path=path,
        articles=articles,
        split=split,
        corpus=corpus,
        limit=limit,
        sample=sample,
        strategies=r.strategy_list("strategies", None),
        budgets=r.int_list("budgets", None),
        generator=r.choice("generator", EVAL_GENERATORS, None),
    )
    r.done()
    return spec


def parse_config(data: dict[str, Any], src: str = "<config>", base: Path | None = None) -> EvalConfig:
    """Validate a parsed TOML document; ``src`` names it in errors, ``base`` resolves relative paths."""
    base = base or Path(".")
    r = _Reader(data, "", src)
    name = r.get("name", str, required=True)
    if not name or set(name) - _NAME_CHARS:
        raise r.err("name", f"{name!r} must be letters, digits, '.', '_' or '-' (it names the result files)")
    raw_ds = r.get("datasets", list, required=True)
    if not raw_ds:
        raise r.err("datasets", "must hold at least one [[datasets]] table")
    datasets = tuple(_dataset(t, i, src, base) for i, t in enumerate(raw_ds))
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise r.err("datasets", f"dataset names must be unique, got {names}")

    idx = r.get("index", dict, {})
    ir = _Reader(idx, "index.", src)
    from ragengine.embed.registry import EMBEDDERS
    from ragengine.tokens import TOKENIZERS

    embedder = ir.get("embedder", str, IndexSpec.embedder)
    if embedder not in EMBEDDERS and not embedder.startswith("hash"):
        raise ir.err("embedder", f"unknown embedder {embedder!r}; choose one of {', '.join(EMBEDDERS)}")
    index = IndexSpec(
        chunk_size=ir.positive_int("chunk_size", IndexSpec.chunk_size),
        chunk_overlap=ir.get("chunk_overlap", int, IndexSpec.chunk_overlap),
        embedder=embedder,
        tokenizer=ir.choice("tokenizer", TOKENIZERS, IndexSpec.tokenizer),
        dense=ir.choice("dense", ("flat", "ivf", "hnsw"), IndexSpec.dense),
        root=ir.get("root", str, IndexSpec.root),
        clusters=ir.get("clusters", bool, False),
    )
    if not 0 <= index.chunk_overlap < index.chunk_size:
        raise ir.err("chunk_overlap", f"must be in [0, chunk_size), got {index.chunk_overlap} for {index.chunk_size}")
    ir.done()

    strategies = r.strategy_list("strategies")
    opts = r.get("strategy_options", dict, {})
    for key, value in opts.items():
        if key not in _strategies():
            raise ConfigError(
                f"{src}: strategy_options.{key}: unknown strategy; choose from {', '.join(_strategies())}"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{src}: strategy_options.{key}: must be a table of keyword arguments")
    from ragengine.retrieve.hybrid import MODES

    cfg = EvalConfig(
        name=name,
        datasets=datasets,
        strategies=strategies,
        budgets=r.int_list("budgets"),
        generator=r.choice("generator", EVAL_GENERATORS, "llm"),
        generator_options=r.get("generator_options", dict, {}),
        index=index,
        strategy_options={k: dict(v) for k, v in opts.items()},
        seed=r.get("seed", int, 0),
        retrieval=r.choice("retrieval", MODES, "hybrid"),
        reranker=r.choice("reranker", ("auto", "none", "terms"), "auto"),
        rewrite=r.choice("rewrite", ("none", "prf", "llm"), "none"),
        candidates=r.positive_int("candidates", 30),
        max_new_tokens=r.positive_int("max_new_tokens", 32),
        llamaindex_top_k=r.positive_int("llamaindex_top_k", 2),
        recall_k=r.int_list("recall_k", (10,)),
        bootstrap=r.positive_int("bootstrap", 1000),
        results_dir=r.get("results_dir", str, "eval/results"),
        description=r.get("description", str, ""),
        source=Path(src) if src != "<config>" else None,
    )
    if cfg.seed < 0:
        raise r.err("seed", f"must be >= 0, got {cfg.seed}")
    r.done()
    _check_options(cfg, src)
    return cfg


def _check_options(cfg: EvalConfig, src: str) -> None:
    """Build each ragengine strategy once with its options, so a typo fails now, not mid-run."""
    from ragengine.select.registry import get_selector

    for s, o in cfg.strategy_options.items():
        if s in BASELINES:
            raise ConfigError(f"{src}: strategy_options.{s}: the {s} baseline takes no options here")
        try:
            get_selector(s, **o)
        except InvalidInput as e:
            raise ConfigError(f"{src}: strategy_options.{s}: {e}") from e


def load_config(path: str | Path) -> EvalConfig:
    """Read and validate an eval config TOML; ``ConfigError`` names the file and the bad key."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{p}: config file not found (configs live in eval/configs/NAME.toml)") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from e
    return parse_config(data, str(p), p.parent)
