"""The CRAG, rewrite and cache stages wired into Engine.ask (deterministic fakes, no models)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ragengine import Budget, Engine, EngineConfig
from ragengine.budget import PriceTable
from ragengine.cli import main
from ragengine.errors import InvalidInput
from ragengine.index.manifest import Manifest
from ragengine.index.store import LoadedIndex
from ragengine.rewrite.chat import ChatReply
from ragengine.testing import TINY_CORPUS, EchoGenerator
from ragengine.types import Document

MORE = [
    ("lyon", "Lyon is a city in France. The Rhone and the Saone meet in Lyon."),
    ("munich", "Munich is the capital of Bavaria in Germany. The Isar flows through Munich."),
    ("milan", "Milan is a city in northern Italy. It is known for fashion and finance."),
    ("congo", "The Congo is a river in central Africa. It crosses the equator twice."),
    ("k2", "K2 is the second highest mountain on Earth, in the Karakoram range."),
    ("seine", "The Seine is a river in France. It flows through Paris into the English Channel."),
]


def _docs() -> list[Document]:
    return [Document(k, v, {"title": k}) for k, v in [*TINY_CORPUS, *MORE]]


def _build(root: Path, name: str = "c", clusters: bool = True) -> Path:
    Engine.build_index(
        _docs(),
        name,
        root=root,
        embedder="hash-64",
        tokenizer="whitespace",
        chunk_size=16,
        chunk_overlap=0,
        clusters=clusters,
        cluster_options={"summary_cap_tokens": 12},
    )
    return root / name


def _engine(folder: Path, **config: Any) -> Engine:
    return Engine(folder, generator=EchoGenerator(), embedder="hash-64", config=EngineConfig(**config))


class ChattyEcho(EchoGenerator):
    """An echo generator that can also make raw chat calls (for the llm rewriter)."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    def chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, json_schema: dict[str, Any] | None = None
    ) -> ChatReply:
        return ChatReply(self.reply, 50, 20)


def test_index_built_with_clusters_feeds_cluster_candidates_to_the_selector(tmp_path: Path) -> None:
    folder = _build(tmp_path)
    assert (folder / "clusters" / "clusters.npz").is_file()
    LoadedIndex.load(folder)  # the cluster files are checksummed with the rest
    assert "clusters/clusters.json" in Manifest.read(folder).files
    eng = _engine(folder, clusters="on", strategy="mcts")
    ans = eng.ask("Which river flows through Paris?", Budget(context_tokens=24))
    assert ans.trace["clusters"] is True and "cluster" in ans.cost.stages
    assert ans.cost.context_tokens <= 24
    grans = {c["chunk_id"].split(":")[2] for c in ans.trace["candidates"] if c["chunk_id"].startswith("cluster")}
    assert grans & {"excerpt", "summary"}
    off = _engine(folder, clusters="off").ask("Which river flows through Paris?", Budget(context_tokens=24))
    assert off.trace["clusters"] is False and "cluster" not in off.cost.stages
    assert not any(c["chunk_id"].startswith("cluster") for c in off.trace["candidates"])


def test_clusters_on_without_clusters_is_a_clear_error_and_add_clusters_fixes_it(tmp_path: Path) -> None:
    folder = _build(tmp_path, clusters=False)
    with pytest.raises(InvalidInput, match="ragengine cluster"):
        _engine(folder, clusters="on").ask("Which river crosses Rome?", 32)
    assert _engine(folder).augmenter is None  # auto: off when the index has none
    eng = _engine(folder, clusters="on")
    before = eng.manifest.version
    info = eng.add_clusters(seed=1)
    assert info["k"] >= 2 and eng.manifest.version != before
    LoadedIndex.load(folder)  # manifest re-checksummed: verifies
    assert eng.ask("Which river crosses Rome?", 32).trace["clusters"] is True


def test_retrieve_then_ask_reuses_the_clustered_candidates(tmp_path: Path) -> None:
    eng = _engine(_build(tmp_path), clusters="on")
    ret = eng.retrieve("Which mountain is the highest?")
    assert "clusters" in ret.stats
    ans = eng.ask("Which mountain is the highest?", 20, retrieved=ret)
    assert ans.trace["path"] == "given" and ans.cost.context_tokens <= 20
    assert [c["chunk_id"] for c in ans.trace["candidates"]] == [c.chunk.chunk_id for c in ret.candidates]


def test_prf_rewrite_is_charged_and_traced(tmp_path: Path) -> None:
    eng = _engine(_build(tmp_path, clusters=False), rewrite="prf")
    ans = eng.ask("Which river flows north?", 32)
    rw = ans.trace["retrieval"]["rewrite"]
    assert rw["method"] == "prf" and len(rw["queries"]) == 2
    assert ans.cost.stages["rewrite"].llm_calls == 0 and ans.trace["retrieval"]["fused_lists"] == 2


def test_llm_rewrite_tokens_are_charged_and_count_against_the_total_budget(tmp_path: Path) -> None:
    folder = _build(tmp_path, clusters=False)
    reply = json.dumps({"variants": ["Which river runs north?"], "queries": ["Nile river north"]})
    eng = Engine(folder, generator=ChattyEcho(reply), embedder="hash-64", config=EngineConfig(rewrite="llm"))
    q = "Which river flows north?"
    ans = eng.ask(q, Budget(context_tokens=300, total_tokens=400))
    st = ans.cost.stages["rewrite"]
    assert (st.tokens_in, st.tokens_out, st.llm_calls) == (50, 20, 1)
    overhead = eng.generator.prompt_overhead(q)  # type: ignore[union-attr]
    assert ans.trace["selection"]["context_budget"] == 400 - 70 - overhead - eng.config.max_new_tokens
    assert "query rewrite (70)" in ans.trace["selection"]["reason"]
    assert ans.trace["retrieval"]["rewrite"]["queries"][0] == q
    bad = Engine(folder, generator=ChattyEcho("not json"), embedder="hash-64", config=EngineConfig(rewrite="llm"))
    ans = bad.ask(q, 40)
    assert ans.trace["retrieval"]["rewrite"]["queries"] == [q] and ans.trace["retrieval"]["rewrite"]["fallback"]
    assert ans.cost.stages["rewrite"].tokens_in == 50  # spent even though the reply was unusable


def test_llm_rewrite_without_a_chat_generator_is_refused(tmp_path: Path) -> None:
    folder = _build(tmp_path, clusters=False)
    with pytest.raises(InvalidInput, match="chat"):
        _engine(folder, rewrite="llm").ask("Which river flows north?", 32)


def test_cache_serves_repeats_free_reselects_for_smaller_budgets_and_forgets_old_versions(tmp_path: Path) -> None:
    folder = _build(tmp_path, clusters=False)
    cfg = {"cache": True, "cache_dir": str(tmp_path / "cache")}
    q = "Which river flows through Berlin?"
    first = _engine(folder, **cfg).ask(q, 64)
    assert first.trace["path"] == "retrieve" and first.citations
    again = _engine(folder, **cfg).ask(q.upper() + "  ", 64)  # a new engine: read from disk
    assert again.trace["path"] == "cache" and again.text == first.text
    assert again.cost.total_tokens == 0 and set(again.cost.stages) == {"cache"}
    assert [c.chunk_id for c in again.citations] == [c.chunk_id for c in first.citations]
    small = first.cost.context_tokens - 1
    tight = _engine(folder, **cfg).ask(q, small)
    assert tight.trace["path"] == "cache_chunks" and tight.cost.context_tokens <= small
    other = _engine(folder, **cfg).ask("Which river flows through Munich?", 64)
    assert other.trace["path"] == "retrieve"  # same corpus, different question: no false hit
    _build(tmp_path, clusters=True)  # rebuilt: a new index version
    fresh = _engine(folder, **cfg).ask(q, 64)
    assert fresh.trace["path"] == "retrieve"


def test_cli_index_clusters_cluster_command_and_cached_ask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    for k, v in [*TINY_CORPUS, *MORE]:
        (src / f"{k}.txt").write_text(v, encoding="utf-8")
    root = str(tmp_path / "idx")
    common = ["--root", root, "--embedder", "hash-64", "--tokenizer", "whitespace"]
    common += ["--chunk-size", "16", "--chunk-overlap", "0"]
    assert main(["index", str(src), "--name", "n", *common, "--clusters", "--json"]) == 0
    assert (tmp_path / "idx" / "n" / "clusters" / "clusters.json").is_file()
    capsys.readouterr()
    assert main(["cluster", "n", "--root", root, "--seed", "3", "--n-clusters", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["clusters"] == 3
    ask = ["ask", "n", "Which river crosses Rome?", "--root", root, "--generator", "extractive", "--json"]
    ask += ["--cache", "on", "--clusters", "on", "--rewrite", "prf", "--budget", "40"]
    assert main(ask) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(ask) == 0
    two = json.loads(capsys.readouterr().out)
    assert one["trace"]["path"] == "retrieve" and two["trace"]["path"] == "cache"
    assert two["answer"] == one["answer"] and two["cost"]["total_tokens"] == 0
    assert main(["cluster", "missing", "--root", root]) == 2


def test_a_dollar_budget_shrinks_the_context_or_declines(tmp_path: Path) -> None:
    folder = _build(tmp_path, clusters=False)
    prices = PriceTable(input_per_1k=1.0, output_per_1k=2.0)  # $0.001 per prompt token, $0.002 per answer token
    eng = Engine(folder, generator=EchoGenerator(), embedder="hash-64", config=EngineConfig(prices=prices))
    q = "Which river flows through Berlin?"
    overhead = eng.generator.prompt_overhead(q)  # type: ignore[union-attr]
    ans = eng.ask(q, Budget(context_tokens=64, usd=0.1))
    # $0.1 - 32 answer tokens x $0.002 = $0.036 -> 36 prompt tokens, minus the prompt's own
    assert ans.trace["selection"]["context_budget"] == 36 - overhead
    assert ans.cost.context_tokens <= 36 - overhead and "dollar budget $0.1" in ans.trace["selection"]["reason"]
    broke = eng.ask(q, Budget(context_tokens=64, usd=0.05))  # cannot even pay for the answer
    assert broke.citations == [] and broke.text.startswith("[no answer]")
    free = Engine(folder, generator=EchoGenerator(), embedder="hash-64").ask(q, Budget(context_tokens=64, usd=0.001))
    assert free.trace["selection"]["context_budget"] == 64  # the local model costs nothing


def test_an_llm_rewrite_the_total_budget_cannot_afford_is_skipped(tmp_path: Path) -> None:
    folder = _build(tmp_path, clusters=False)
    reply = json.dumps({"variants": ["Which river runs north?"], "queries": ["Nile"]})
    eng = Engine(folder, generator=ChattyEcho(reply), embedder="hash-64", config=EngineConfig(rewrite="llm"))
    ans = eng.ask("Which river flows north?", Budget(context_tokens=16, total_tokens=100))
    assert "skipped" in ans.trace["retrieval"]["rewrite"] and "rewrite" not in ans.cost.stages
    assert ans.cost.total_tokens <= 100
    roomy = eng.ask("Which river flows north?", Budget(context_tokens=16, total_tokens=1000))
    assert roomy.cost.stages["rewrite"].llm_calls == 1


def test_a_latency_target_is_reported_in_the_trace(tmp_path: Path) -> None:
    eng = _engine(_build(tmp_path, clusters=False))
    ans = eng.ask("Which river flows through Berlin?", Budget(context_tokens=32, latency_ms=60_000))
    assert ans.trace["latency"]["met"] is True and ans.trace["latency"]["ms"] == round(ans.cost.ms, 1)
    assert "latency" not in eng.ask("Which river flows through Berlin?", 32).trace
