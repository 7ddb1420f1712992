"""The eval harness on the deterministic fakes: resume, errors, baselines, report figures by hand."""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ragengine.errors import InvalidInput
from ragengine.evaluation.baselines import LlamaIndexBaseline, TopKSelector, context_of_prompt
from ragengine.evaluation.config import ConfigError, load_config, parse_config
from ragengine.evaluation.datasets import DatasetError, QAExample
from ragengine.evaluation.generators import CachingGenerator
from ragengine.evaluation.harness import run_eval
from ragengine.evaluation.indexes import index_name
from ragengine.evaluation.partial import TIMING_FIELDS
from ragengine.evaluation.report.harness import validate_report
from ragengine.evaluation.scoring import answer_scores, load_questions, retrieval_scores
from ragengine.evaluation.summary import pareto_front, summarize_dataset
from ragengine.select.base import SelectionInput
from ragengine.select.greedy import GreedySelector
from ragengine.testing import TINY_CORPUS, EchoGenerator, HashEmbedder, WhitespaceCounter, make_candidates
from ragengine.types import Chunk

QUESTIONS = {
    "paris": [("What is the capital of France?", "Paris"), ("Which river lies in Paris?", "Seine")],
    "berlin": [("What flows through Berlin?", "The Spree")],
    "rome": [("Which river crosses Rome?", "Tiber")],
    "nile": [("Where does the Nile flow?", "north")],
    "everest": [("What is the highest mountain?", "Mount Everest")],
}


def squad_file(path: Path) -> Path:
    data: dict[str, Any] = {"data": []}
    for doc, text in TINY_CORPUS:
        qas = [
            {"id": f"{doc}-{i}", "question": q, "answers": [{"text": a, "answer_start": 0}]}
            for i, (q, a) in enumerate(QUESTIONS[doc])
        ]
        data["data"].append({"title": doc, "paragraphs": [{"context": text, "qas": qas}]})
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def config_text(tmp: Path, data: Path, **extra: str) -> str:
    lines = [
        'name = "tiny"',
        'strategies = ["topk", "greedy", "mcts", "llamaindex"]',
        "budgets = [8, 16, 32]",
        'generator = "echo"',
        "bootstrap = 200",
        *(f"{k} = {v}" for k, v in extra.items()),
        "[index]",
        "chunk_size = 16",
        "chunk_overlap = 0",
        'embedder = "hash-64"',
        'tokenizer = "whitespace"',
        f'root = "{tmp / "indexes"}"',
        "[[datasets]]",
        'name = "tiny-qa"',
        'kind = "squad"',
        f'path = "{data}"',
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    data = squad_file(tmp_path / "tiny.json")
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(config_text(tmp_path, data), encoding="utf-8")
    return cfg


def strip_timing(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k not in TIMING_FIELDS and k != "ms"}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def comparable(json_path: Path) -> dict[str, Any]:
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    return {"summary": strip_timing(doc["summary"]), "records": strip_timing(doc["records"])}


def markdown_without_timing(md: Path) -> str:
    return md.read_text(encoding="utf-8").split("## Timing")[0]


# ---------------------------------------------------------------- runs


def test_resumed_run_gives_the_same_report_as_an_uninterrupted_one(tiny_config: Path, tmp_path: Path) -> None:
    whole = run_eval(tiny_config, results_dir=tmp_path / "whole", progress=False)
    assert whole.records == 6 * (3 * 3 + 1)

    out = tmp_path / "resumed"
    first = run_eval(tiny_config, results_dir=out, progress=False, max_new_records=7)
    assert first.new_records == 7
    partial = out / "tiny.partial.jsonl"
    with partial.open("a", encoding="utf-8") as f:  # a crash in the middle of writing a record
        f.write('{"key": "tiny-qa|paris-0|greedy|8", "datas')
    second = run_eval(tiny_config, results_dir=out, progress=False)
    assert second.new_records == whole.records - 7
    assert second.records == whole.records

    assert comparable(second.json_path) == comparable(whole.json_path)
    assert markdown_without_timing(second.md_path) == markdown_without_timing(whole.md_path)
    doc = json.loads(second.json_path.read_text(encoding="utf-8"))
    assert doc["timing"]["sessions"] == 2
    assert all(json.loads(line) for line in partial.read_text().splitlines())  # the broken line was cut
    third = run_eval(tiny_config, results_dir=out, progress=False)  # nothing left: no new session
    assert third.new_records == 0


def test_report_files_are_written_and_valid(tiny_config: Path, tmp_path: Path) -> None:
    res = run_eval(tiny_config, results_dir=tmp_path / "out", progress=False)
    doc = validate_report(res.json_path)
    s = doc["summary"]["tiny-qa"]
    assert s["questions"] == 6
    assert s["primary"] == "answer_accuracy"
    assert {r["label"] for r in s["settings"]} >= {"topk@8", "greedy@32", "mcts@16", "llamaindex"}
    for f in s["plots"]:
        assert (tmp_path / "out" / f).stat().st_size > 1000
    md = res.md_path.read_text(encoding="utf-8")
    assert "## Timing" in md and "Pareto front" in md and "Paired comparisons" in md
    for rec in doc["records"]:
        assert rec["context_tokens"] <= (rec["budget"] or 10**9)
        assert {"id", "strategy", "budget", "context_tokens", "total_tokens", "stages", "answer", "scores"} <= set(rec)
        assert "latency_ms" in rec


def test_limit_runs_the_first_questions_only(tiny_config: Path, tmp_path: Path) -> None:
    res = run_eval(tiny_config, 2, results_dir=tmp_path / "out", progress=False)
    assert res.records == 2 * 10
    assert json.loads(res.json_path.read_text())["summary"]["tiny-qa"]["questions"] == 2


def test_report_only_uses_the_records_already_written(tiny_config: Path, tmp_path: Path) -> None:
    run_eval(tiny_config, results_dir=tmp_path / "out", progress=False, max_new_records=20)
    res = run_eval(tiny_config, results_dir=tmp_path / "out", progress=False, report_only=True)
    assert res.new_records == 0 and res.records == 20
    s = json.loads(res.json_path.read_text())["summary"]["tiny-qa"]
    assert s["questions"] == 2 and s["planned_questions"] == 6  # 20 records = 2 complete questions


def test_changed_settings_refuse_to_resume(tiny_config: Path, tmp_path: Path) -> None:
    run_eval(tiny_config, results_dir=tmp_path / "out", progress=False, max_new_records=3)
    text = tiny_config.read_text().replace("chunk_overlap = 0", "chunk_overlap = 2")
    tiny_config.write_text(text)
    with pytest.raises(ConfigError, match=r"tiny\.partial\.jsonl: line \d+ .*other settings.*--fresh"):
        run_eval(tiny_config, results_dir=tmp_path / "out", progress=False)
    res = run_eval(tiny_config, results_dir=tmp_path / "out", progress=False, fresh=True, max_new_records=1)
    assert res.records == 1


def test_malformed_dataset_file_names_the_file_and_the_record(tmp_path: Path) -> None:
    data = squad_file(tmp_path / "tiny.json")
    doc = json.loads(data.read_text())
    del doc["data"][1]["paragraphs"][0]["qas"][0]["question"]
    data.write_text(json.dumps(doc))
    cfg = tmp_path / "bad.toml"
    cfg.write_text(config_text(tmp_path, data))
    where = r"tiny\.json: article 2 \('berlin'\) paragraph 0 question 0 \(id 'berlin-0'\): missing 'question'"
    with pytest.raises(DatasetError, match=where):
        run_eval(cfg, results_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "indexes").exists()  # the files are checked before any index is built


def test_squad2_questions_in_a_squad_dataset_are_refused(tmp_path: Path) -> None:
    data = squad_file(tmp_path / "tiny.json")
    doc = json.loads(data.read_text())
    doc["data"][0]["paragraphs"][0]["qas"][0].update({"answers": [], "is_impossible": True})
    data.write_text(json.dumps(doc))
    cfg = tmp_path / "v2.toml"
    cfg.write_text(config_text(tmp_path, data))
    with pytest.raises(DatasetError, match=r"'paris-0' is unanswerable .* kind = 'squad2'"):
        run_eval(cfg, results_dir=tmp_path / "out", progress=False)


def test_limit_must_be_positive(tiny_config: Path) -> None:
    with pytest.raises(InvalidInput, match="limit must be a positive int"):
        run_eval(tiny_config, 0)


def test_unknown_dataset_filter(tiny_config: Path) -> None:
    with pytest.raises(ConfigError, match="no dataset named 'nope'; datasets: tiny-qa"):
        run_eval(tiny_config, datasets=["nope"])


# ---------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('name = "tiny"\n', "", 1), r"tiny\.toml: name: missing"),
        (lambda t: t.replace("budgets = [8, 16, 32]", "budgets = [8, -1]"), r"budgets: every entry must be a positive"),
        (lambda t: t.replace("budgets = [8, 16, 32]", "budgets = []"), r"budgets: must list at least one"),
        (lambda t: t.replace("budgets = [8, 16, 32]", 'budgets = "8"'), r"budgets: must be list, got str"),
        (lambda t: t.replace('"mcts"', '"mtcs"'), r"strategies: unknown strategy 'mtcs'; choose from .*topk"),
        (lambda t: t.replace('generator = "echo"', 'generator = "gpt"'), r"generator: unknown value 'gpt'"),
        (lambda t: t + "budgetz = 3\n", r"datasets\[0\] \(tiny-qa\)\.budgetz: unknown key"),
        (lambda t: t.replace("bootstrap = 200", "bootstrap = 200\nbudgetz = 1"), r"budgetz: unknown key"),
        (lambda t: t.replace('kind = "squad"', 'kind = "squat"'), r"datasets\[0\] \(tiny-qa\)\.kind: unknown value"),
        (lambda t: t + "articles = [3, 1]\n", r"articles: must be \[first, last\]"),
        (lambda t: t + "limit = 3\nsample = 2\n", r"sample: give either limit"),
        (lambda t: t.replace("tiny.json", "missing.json"), r"path: .*missing\.json does not exist"),
        (lambda t: t.replace("chunk_overlap = 0", "chunk_overlap = 16"), r"index\.chunk_overlap: must be in"),
        (lambda t: t.replace('"hash-64"', '"bert"'), r"index\.embedder: unknown embedder 'bert'"),
        (lambda t: t + "[strategy_options.mcts]\niterations = -3\n", r"strategy_options\.mcts: .*iterations"),
        (lambda t: t + "[strategy_options.mcts]\nfoo = 1\n", r"strategy_options\.mcts: bad options"),
        (lambda t: t.replace("[index]", "[index\n"), r"not valid TOML"),
    ],
)
def test_bad_config_names_the_file_and_key(tmp_path: Path, change: Any, message: str) -> None:
    data = squad_file(tmp_path / "tiny.json")
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(change(config_text(tmp_path, data)), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(cfg)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_config(tmp_path / "nope.toml")


def test_dataset_overrides_and_repo_configs_parse() -> None:
    repo = Path(__file__).resolve().parents[3]
    for name in ("smoke", "squad-accuracy-per-token"):
        path = repo / "eval" / "configs" / f"{name}.toml"
        try:
            cfg = load_config(path)
        except ConfigError as e:
            if "does not exist" in str(e):
                pytest.skip(f"benchmark data missing: {e}")
            raise
        assert cfg.name == name
    cfg = load_config(repo / "eval" / "configs" / "squad-accuracy-per-token.toml")
    ctx, answered = cfg.datasets
    assert cfg.generator_for(ctx) == "none" and cfg.generator_for(answered) == "llm"
    assert cfg.fingerprint(ctx) != cfg.fingerprint(answered)


def test_parse_config_requires_datasets() -> None:
    with pytest.raises(ConfigError, match="datasets: missing"):
        parse_config({"name": "x", "strategies": ["greedy"], "budgets": [1]})


# ---------------------------------------------------------------- baselines and scoring


def test_topk_stops_at_the_first_candidate_that_does_not_fit() -> None:
    cands = make_candidates(["a b", "c d e f", "g"])
    inp = SelectionInput("q", cands, [2, 4, 1], budget_tokens=4)
    assert [c.chunk.chunk_id for c in TopKSelector().select(inp).chosen] == ["c0"]
    assert [c.chunk.chunk_id for c in GreedySelector().select(inp).chosen] == ["c0", "c2"]
    assert TopKSelector().select(SelectionInput("q", cands, [5, 1, 1], 4)).chosen == ()
    sel = TopKSelector().select(SelectionInput("q", cands, [2, 1, 1], 4))
    assert len(sel.chosen) == 3 and sel.stats["k"] == 3


def test_caching_generator_reuses_identical_prompts() -> None:
    gen = CachingGenerator(EchoGenerator())
    a = gen.generate("q", ["One. Two."])
    b = gen.generate("q", ["One. Two."])
    c = gen.generate("q", ["Three."])
    assert a == b and c.text == "Three."
    assert (gen.generations, gen.reused, gen.last_reused) == (2, 1, False)
    gen.clear()
    gen.generate("q", ["One. Two."])
    assert gen.generations == 3


def test_answer_scores_by_hand() -> None:
    ex = QAExample("q1", "Who?", ["Denver Broncos"], ["Super_Bowl#0"])
    s = answer_scores("squad", ex, "It was the Denver Broncos.", "The Denver Broncos won.", ["Super_Bowl#0"], True)
    assert s["answer_accuracy"] == 1.0 and s["em"] == 0.0 and s["gold_in_context"] == 1.0
    assert s["gold_doc_in_context"] == 1.0
    assert math.isclose(s["f1"], 2 * (2 / 4) * 1.0 / (2 / 4 + 1.0))  # pred "it was denver broncos": p 2/4, r 1
    s = answer_scores("squad", ex, "", "Carolina Panthers", ["Other#1"], False)
    assert s == {"gold_in_context": 0.0, "gold_doc_in_context": 0.0}
    hop = QAExample("h", "?", ["x"], ["A", "B"])
    assert answer_scores("hotpotqa", hop, "x", "x", ["A"], True)["all_supporting_in_context"] == 0.0
    assert answer_scores("hotpotqa", hop, "x", "x", ["B", "A", "C"], True)["all_supporting_in_context"] == 1.0
    beir = QAExample("b", "?", [], ["d1", "d2"], meta={"qrels": {"d1": 2, "d2": 1, "d3": 0}})
    assert answer_scores("beir", beir, "", "", ["d2", "d9"], False) == {
        "gold_doc_in_context": 1.0,
        "recall_in_context": 0.5,
    }
    v2 = QAExample("u", "?", [], ["P#0"], unanswerable=True)
    s = answer_scores("squad2", v2, "I don't know.", "ctx", ["P#0"], True)
    assert s["abstention_correct"] == 1.0 and s["abstained"] == 1.0 and "answer_accuracy" not in s


def test_retrieval_scores_by_hand() -> None:
    ex = QAExample("b", "?", [], ["d1", "d2"], meta={"qrels": {"d1": 2, "d2": 1}})
    # ranking d3, d1, d1 (a second chunk of d1 is dropped), d2: gains 0, 2, 1 at ranks 1..3
    s = retrieval_scores(["d3", "d1", "d1", "d2"], ex, [1, 2, 10])
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert math.isclose(s["ndcg@10"], dcg / idcg)
    assert (s["recall@1"], s["recall@2"], s["recall@10"]) == (0.0, 0.5, 1.0)
    squad = QAExample("s", "?", ["x"], ["P#3"])
    assert retrieval_scores(["P#1", "P#3"], squad, [1, 2])["recall@2"] == 1.0


def test_pareto_front_by_hand() -> None:
    pts = [(100.0, 0.20), (200.0, 0.30), (150.0, 0.10), (300.0, 0.30), (400.0, 0.35), (50.0, 0.05)]
    assert pareto_front(pts) == [5, 0, 1, 4]
    assert pareto_front([(1.0, 0.5), (1.0, 0.5)]) == [0, 1]  # ties are both on the front
    assert pareto_front([]) == []


def _rec(qid: str, strategy: str, budget: int | None, acc: float, gic: float, tokens: int) -> dict[str, Any]:
    return {
        "dataset": "d",
        "kind": "squad",
        "id": qid,
        "strategy": strategy,
        "budget": budget,
        "context_tokens": tokens - 50,
        "prompt_tokens": tokens - 10,
        "completion_tokens": 10,
        "total_tokens": tokens,
        "n_chunks": 1,
        "scores": {"answer_accuracy": acc, "f1": acc, "em": 0.0, "gold_in_context": gic},
        "retrieval": {"ndcg@10": 1.0},
        "stages": {},
    }


def test_summary_figures_by_hand() -> None:
    text = 'name = "d"\nstrategies = ["topk", "greedy", "llamaindex"]\nbudgets = [128, 512]\nbootstrap = 300\n'
    cfg = parse_config(
        {
            **__import__("tomllib").loads(text),
            "datasets": [{"name": "d", "kind": "squad", "path": __file__}],
        }
    )
    recs = [
        # q1, q2: topk@128 (1, 0) at 200 tokens; topk@512 (1, 1) at 600; greedy@128 (1, 1) at 180;
        # greedy@512 (0, 1) at 580; llamaindex (0, 1) at 400.
        _rec("q1", "topk", 128, 1, 1, 200),
        _rec("q2", "topk", 128, 0, 1, 200),
        _rec("q1", "topk", 512, 1, 1, 600),
        _rec("q2", "topk", 512, 1, 1, 600),
        _rec("q1", "greedy", 128, 1, 1, 180),
        _rec("q2", "greedy", 128, 1, 0, 180),
        _rec("q1", "greedy", 512, 0, 1, 580),
        _rec("q2", "greedy", 512, 1, 1, 580),
        _rec("q1", "llamaindex", None, 0, 0, 400),
        _rec("q2", "llamaindex", None, 1, 1, 400),
        _rec("q3", "topk", 128, 1, 1, 200),  # q3 is incomplete: left out of every figure
    ]
    s = summarize_dataset(cfg, "d", recs, 3)
    assert s["questions"] == 2 and s["planned_questions"] == 3
    rows = {r["label"]: r for r in s["settings"]}
    assert rows["topk@128"]["metrics"]["answer_accuracy"][0] == 0.5
    assert rows["topk@128"]["per_1k_tokens"][0] == pytest.approx(0.5 * 1000 / 200)
    assert rows["greedy@128"]["per_1k_tokens"][0] == pytest.approx(1.0 * 1000 / 180)
    # AUC on log2 budgets 7..9: (0.5 + 1.0) / 2 for topk, (1.0 + 0.5) / 2 for greedy
    assert s["auc"]["topk"]["answer_accuracy"][0] == pytest.approx(0.75)
    assert s["auc"]["greedy"]["gold_in_context"][0] == pytest.approx((0.5 + 1.0) / 2)
    assert s["pareto"] == ["greedy@128"]
    pair = next(
        p for p in s["paired"] if (p["a"], p["b"], p["metric"]) == ("greedy@128", "topk@128", "answer_accuracy")
    )
    assert pair["diff"] == pytest.approx(0.5)
    goal1, goal2 = s["goals"]
    # top-k's best is topk@512 (1.0 at 550 context tokens); half = 275: greedy@128 (1.0 at 130) reaches it
    assert goal1["baseline"] == "topk@512" and goal1["candidate"] == "greedy@128" and goal1["met"]
    # llama-index 0.5 at 390 prompt tokens; greedy@128 sends 170 and scores 1.0
    assert goal2["candidate"] == "greedy@128" and goal2["met"]
    assert "not significant" in goal2["verdict"] or "significant" in goal2["verdict"]
    assert s["retrieval"]["ragengine hybrid candidates"]["ndcg@10"][0] == 1.0


def test_load_questions_samples_are_nested(tmp_path: Path) -> None:
    data = squad_file(tmp_path / "tiny.json")
    text = config_text(tmp_path, data) + "sample = 4\n"
    cfg = parse_config(__import__("tomllib").loads(text))
    four = [e.id for e in load_questions(cfg.datasets[0], seed=0)]
    two = [e.id for e in load_questions(cfg.datasets[0], seed=0, limit=2)]
    assert len(four) == 4 and two == four[:2]
    assert len(set(four)) == 4


# ---------------------------------------------------------------- llama-index baseline


def test_context_of_prompt_reads_llama_index_default_template() -> None:
    from llama_index.core.prompts.default_prompts import DEFAULT_TEXT_QA_PROMPT

    prompt = DEFAULT_TEXT_QA_PROMPT.format(context_str="A.\n\nB.", query_str="Q?")
    assert context_of_prompt(prompt) == "A.\n\nB."
    assert context_of_prompt("no rules here") is None


def test_llama_index_baseline_counts_what_it_sends() -> None:
    chunks = [Chunk(f"c{i}", doc, text, len(text.split())) for i, (doc, text) in enumerate(TINY_CORPUS)]
    calls: list[str] = []

    def backend(prompt: str) -> tuple[str, int, int]:
        calls.append(prompt)
        return " Paris \n", len(prompt.split()), 2

    base = LlamaIndexBaseline(chunks, HashEmbedder(), WhitespaceCounter(), backend, similarity_top_k=2)
    res = base.query("What is the capital of France?")
    assert res.answer == "Paris" and res.llm_calls == 1 and len(calls) == 1
    assert len(res.doc_ids) == 2 and res.doc_ids[0] == "paris"
    texts = dict(TINY_CORPUS)
    assert res.context == "\n\n".join(texts[d] for d in res.doc_ids)
    assert res.context_tokens == len(res.context.split())
    assert res.prompt_tokens == len(calls[0].split()) > res.context_tokens
    assert "Given the context information and not prior knowledge" in calls[0]  # llama-index's default prompt
    dry = LlamaIndexBaseline(chunks, HashEmbedder(), WhitespaceCounter(), None).query("Rome is the capital of Italy.")
    assert dry.answer == "" and dry.prompt_tokens == 0 and dry.doc_ids[0] == "rome" and len(dry.doc_ids) == 2


def test_llama_index_baseline_validates() -> None:
    with pytest.raises(InvalidInput, match="at least one chunk"):
        LlamaIndexBaseline([], HashEmbedder(), WhitespaceCounter(), None)
    chunk = Chunk("c", "d", "t", 1)
    with pytest.raises(InvalidInput, match="similarity_top_k must be > 0"):
        LlamaIndexBaseline([chunk], HashEmbedder(), WhitespaceCounter(), None, similarity_top_k=0)


def test_cli_main_prints_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ragengine.evaluation.harness import main

    assert main(["--config", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert re.match(r"error: .*none\.toml: config file not found", err)


def test_two_runs_of_one_config_cannot_write_at_once(tmp_path: Path) -> None:
    from ragengine.evaluation.partial import PartialWriter as _Writer

    path = tmp_path / "x.partial.jsonl"
    first = _Writer(path)
    try:
        with pytest.raises(ConfigError, match=r"x\.partial\.jsonl: another `ragengine eval` run"):
            _Writer(path)
    finally:
        first.close()
    _Writer(path).close()  # free again once the first run closed it


def _kind_config(tmp_path: Path, kind: str, path: Path, strategies: str = '["greedy", "llamaindex"]') -> Path:
    text = config_text(tmp_path, path).replace('kind = "squad"', f'kind = "{kind}"')
    text = text.replace('strategies = ["topk", "greedy", "mcts", "llamaindex"]', f"strategies = {strategies}")
    text = text.replace('generator = "echo"', 'generator = "none"').replace("budgets = [8, 16, 32]", "budgets = [16]")
    cfg = tmp_path / f"{kind}.toml"
    cfg.write_text(text.replace('name = "tiny"', f'name = "{kind}"', 1))
    return cfg


def test_beir_folder_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": f"d{i}", "title": doc, "text": text}) for i, (doc, text) in enumerate(TINY_CORPUS))
    )
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "capital of Germany Spree"}) + "\n" + json.dumps({"_id": "q2", "text": "x"})
    )
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    res = run_eval(_kind_config(tmp_path, "beir", folder), results_dir=tmp_path / "out", progress=False)
    s = validate_report(res.json_path)["summary"]["tiny-qa"]
    assert s["questions"] == 1 and s["primary"] == "recall_in_context"
    assert {"recall_in_context", "gold_doc_in_context"} <= set(s["metrics"])
    assert "ndcg@10" in s["retrieval"]["ragengine hybrid candidates"]


def test_hotpotqa_and_musique_hipporag_datasets(tmp_path: Path) -> None:
    texts = dict(TINY_CORPUS)
    hot = tmp_path / "hotpotqa_train.json"
    (tmp_path / "hotpotqa_train_corpus.json").write_text(json.dumps({t: [x] for t, x in TINY_CORPUS}))
    hot.write_text(
        json.dumps(
            [
                {
                    "_id": "h1",
                    "question": "Which capitals lie on the Seine and the Spree?",
                    "answer": "Paris and Berlin",
                    "supporting_facts": [["paris", 0], ["berlin", 0]],
                    "context": [["paris", [texts["paris"]]], ["berlin", [texts["berlin"]]]],
                }
            ]
        )
    )
    res = run_eval(_kind_config(tmp_path, "hotpotqa", hot), results_dir=tmp_path / "hot", progress=False)
    s = validate_report(res.json_path)["summary"]["tiny-qa"]
    assert s["primary"] == "all_supporting_in_context" and s["questions"] == 1

    mus = tmp_path / "musique_train.json"
    (tmp_path / "musique_train_corpus.json").write_text(json.dumps([{"title": t, "text": x} for t, x in TINY_CORPUS]))
    paragraphs = [{"title": t, "paragraph_text": x, "is_supporting": t == "rome"} for t, x in TINY_CORPUS]
    mus.write_text(json.dumps([{"id": "m1", "question": "Which river crosses Rome?", "answer": "Tiber",
                                "paragraphs": paragraphs}]))  # fmt: skip
    res = run_eval(_kind_config(tmp_path, "musique", mus), results_dir=tmp_path / "mus", progress=False)
    s = validate_report(res.json_path)["summary"]["tiny-qa"]
    assert "all_supporting_in_context" in s["metrics"] and "gold_in_context" in s["metrics"]


def test_squad2_scores_abstention(tmp_path: Path) -> None:
    data = squad_file(tmp_path / "v2.json")
    doc = json.loads(data.read_text())
    doc["data"][0]["paragraphs"][0]["qas"][0].update({"answers": [], "is_impossible": True})
    data.write_text(json.dumps(doc))
    cfg = _kind_config(tmp_path, "squad2", data, '["greedy"]')
    cfg.write_text(cfg.read_text().replace('generator = "none"', 'generator = "echo"'))
    res = run_eval(cfg, results_dir=tmp_path / "out", progress=False)
    s = validate_report(res.json_path)["summary"]["tiny-qa"]
    assert s["primary"] == "abstention_correct" and s["questions"] == 6
    assert s["metric_n"]["abstention_correct"] == 6 and s["metric_n"]["answer_accuracy"] == 5  # answerable only
    recs = json.loads(res.json_path.read_text())["records"]
    unans = next(r for r in recs if r["id"] == "paris-0")
    assert unans["unanswerable"] and unans["scores"]["abstention_correct"] == 0.0  # echo never abstains
    assert "answer_accuracy" not in unans["scores"]


def test_datasets_sharing_an_index_embed_it_once_for_llama_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llama_index.core import VectorStoreIndex

    builds: list[int] = []
    original = VectorStoreIndex.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        builds.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(VectorStoreIndex, "__init__", counting)
    data = squad_file(tmp_path / "tiny.json")
    text = config_text(tmp_path, data).replace("budgets = [8, 16, 32]", "budgets = [16]")
    text += '\n[[datasets]]\nname = "tiny-context"\nkind = "squad"\n' + f'path = "{data}"\ngenerator = "none"\n'
    cfg = tmp_path / "two.toml"
    cfg.write_text(text)
    res = run_eval(cfg, results_dir=tmp_path / "out", progress=False)
    assert res.records == 2 * 6 * 4 and len(builds) == 1
    summary = validate_report(res.json_path)["summary"]
    assert summary["tiny-qa"]["primary"] == "answer_accuracy"
    assert summary["tiny-context"]["primary"] == "gold_in_context"
    li = next(r for r in summary["tiny-context"]["settings"] if r["label"] == "llamaindex")
    assert li["prompt_tokens"] == 0 and li["context_tokens"] > 0


def test_clusters_and_rewrite_are_recorded_settings(tmp_path: Path) -> None:
    data = squad_file(tmp_path / "tiny.json")
    plain = parse_config(tomllib.loads(config_text(tmp_path, data)), "plain.toml")
    text = config_text(tmp_path, data, rewrite='"prf"').replace("[index]\n", "[index]\nclusters = true\n")
    staged = tmp_path / "staged.toml"
    staged.write_text(text, encoding="utf-8")
    cfg = parse_config(tomllib.loads(text), "staged.toml")
    ds, ds0 = cfg.datasets[0], plain.datasets[0]
    assert cfg.fingerprint(ds) != plain.fingerprint(ds0) and index_name(cfg, ds) != index_name(plain, ds0)
    assert "clusters" not in plain.index.settings()  # older index hashes and fingerprints stay valid
    out = run_eval(staged, results_dir=tmp_path / "out", progress=False)
    assert out.records == 6 * (3 * 3 + 1)
    assert (tmp_path / "indexes" / index_name(cfg, ds) / "clusters" / "clusters.json").is_file()


def test_a_packed_partial_resumes_on_another_checkout(tiny_config: Path, tmp_path: Path) -> None:
    from ragengine.evaluation.partial import pack_partial

    out = tmp_path / "out"
    first = run_eval(tiny_config, results_dir=out, progress=False, max_new_records=9)
    packed = pack_partial(tiny_config, out)
    (out / "tiny.partial.jsonl").unlink()  # a fresh clone has only the committed .gz
    rest = run_eval(tiny_config, results_dir=out, progress=False)
    assert first.new_records == 9 and rest.new_records == rest.records - 9 and packed.is_file()


def test_two_processes_from_both_ends_merge_into_the_whole_run(tiny_config: Path, tmp_path: Path) -> None:
    whole = run_eval(tiny_config, results_dir=tmp_path / "whole", progress=False)
    a, b = tmp_path / "a", tmp_path / "b"
    run_eval(tiny_config, results_dir=a, progress=False, max_new_records=20)
    back = run_eval(tiny_config, results_dir=b, progress=False, max_new_records=40, reverse=True)
    assert back.new_records == 40
    with (a / "tiny.partial.jsonl").open("a", encoding="utf-8") as f:  # merging = concatenating
        f.write((b / "tiny.partial.jsonl").read_text(encoding="utf-8"))
    merged = run_eval(tiny_config, results_dir=a, progress=False)
    assert merged.new_records == 0 and merged.records == whole.records
    assert comparable(merged.json_path) == comparable(whole.json_path)


def test_the_evidence_strategy_runs_in_the_harness_within_its_budgets(tmp_path: Path) -> None:
    data = squad_file(tmp_path / "tiny.json")
    cfg = tmp_path / "ev.toml"
    cfg.write_text(
        config_text(tmp_path, data).replace('["topk", "greedy", "mcts", "llamaindex"]', '["greedy", "evidence"]')
    )
    res = run_eval(cfg, results_dir=tmp_path / "out", progress=False)
    records = validate_report(res.json_path)["records"]
    evidence = [r for r in records if r["strategy"] == "evidence"]
    assert len(evidence) == 6 * 3 and all(0 < r["context_tokens"] <= r["budget"] for r in evidence)
