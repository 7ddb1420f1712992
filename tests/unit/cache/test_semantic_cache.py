"""The answer cache: keyed to the index version, persisted without pickle, no false hits on look-alike questions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragengine.cache import RetrievalTrigger, SemanticCache, answer_type, same_question, signature
from ragengine.cache.qmatch import tokens
from ragengine.errors import InvalidInput
from ragengine.testing import HashEmbedder, make_candidates
from ragengine.types import Citation


def cache(folder: Path, version: str = "v1", **kw: object) -> SemanticCache:
    return SemanticCache(folder, version, HashEmbedder(256), **kw)  # type: ignore[arg-type]


def put(c: SemanticCache, q: str, answer: str = "Denver Broncos") -> None:
    c.store(q, answer, ["c1", "c2"], ["Super_Bowl_50#0"], 200)


def test_exact_repeat_hits_with_case_and_punctuation_changes(tmp_path: Path) -> None:
    c = cache(tmp_path)
    put(c, "Which team won Super Bowl 50?")
    hit = c.lookup("which team won super bowl 50")
    assert hit is not None and hit.entry.answer == "Denver Broncos" and hit.similarity == 1.0


def test_paraphrase_with_same_signature_hits(tmp_path: Path) -> None:
    c = cache(tmp_path, threshold=0.5)
    put(c, "What year was the university founded?", "1890")
    hit = c.lookup("Can you tell me when the university was founded?")
    assert hit is not None and hit.entry.answer == "1890"


@pytest.mark.parametrize(
    "other",
    [
        "Who founded the university?",  # another answer type
        "What year was the university closed?",  # another verb
        "What year was the library founded?",  # another entity
        "Which team won Super Bowl 49?",  # another number
    ],
)
def test_different_question_about_the_same_thing_misses(tmp_path: Path, other: str) -> None:
    c = cache(tmp_path, threshold=0.01)  # even with cosine out of the way
    put(c, "What year was the university founded?", "1890")
    put(c, "Which team won Super Bowl 50?")
    assert c.lookup(other) is None


def test_entry_of_an_older_index_version_is_never_served(tmp_path: Path) -> None:
    old = cache(tmp_path, "v1")
    put(old, "Which team won Super Bowl 50?")
    new = cache(tmp_path, "v2")
    assert new.lookup("Which team won Super Bowl 50?") is None
    assert len(new) == 0 and new.invalidated == 1
    put(new, "Who sang at halftime?", "Coldplay")
    assert cache(tmp_path, "v1").lookup("Which team won Super Bowl 50?") is None  # dropped on save


def test_entries_of_other_versions_in_memory_are_not_served(tmp_path: Path) -> None:
    c = cache(tmp_path, "v1")
    put(c, "Which team won Super Bowl 50?")
    c.index_version = "v2"  # the index changed under a live cache object
    assert c.lookup("Which team won Super Bowl 50?") is None


def test_persisted_as_json_and_npy_without_pickle(tmp_path: Path) -> None:
    c = cache(tmp_path)
    put(c, "Which team won Super Bowl 50?")
    data = json.loads((tmp_path / "cache.json").read_text())
    assert data["entries"][0]["index_version"] == "v1"
    vec = np.load(tmp_path / "cache_vectors.npy", allow_pickle=False)
    assert vec.shape == (1, 256)
    again = cache(tmp_path)
    assert len(again) == 1 and again.lookup("Which team won Super Bowl 50?") is not None


def test_corrupt_cache_file_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "cache.json").write_text("{not json")
    assert len(cache(tmp_path)) == 0


def test_namespaces_are_separate(tmp_path: Path) -> None:
    a = cache(tmp_path, namespace="llm")
    put(a, "Which team won Super Bowl 50?")
    assert cache(tmp_path, namespace="extractive").lookup("Which team won Super Bowl 50?") is None


def test_same_question_replaces_and_max_entries_evicts_oldest(tmp_path: Path) -> None:
    c = cache(tmp_path, max_entries=2)
    put(c, "Q one about rivers?", "a")
    put(c, "q one about rivers", "b")
    assert len(c) == 1 and c.entries[0].answer == "b"
    put(c, "Q two about kings?")
    put(c, "Q three about music?")
    assert [e.question for e in c.entries] == ["Q two about kings?", "Q three about music?"]
    assert c.vectors.shape == (2, 256)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"index_version": ""}, "index_version must be a non-empty string"),
        ({"threshold": 0}, r"threshold must be a cosine in \(0, 1\]"),
        ({"max_entries": 0}, "max_entries must be a positive int"),
    ],
)
def test_bad_cache_parameters(tmp_path: Path, kw: dict[str, object], match: str) -> None:
    version = kw.pop("index_version", "v1")
    with pytest.raises(InvalidInput, match=match):
        cache(tmp_path, version, **kw)  # type: ignore[arg-type]


def test_lookup_needs_a_vector_or_an_embedder(tmp_path: Path) -> None:
    c = SemanticCache(tmp_path, "v1")
    c.store("Who won?", "x", ["c"], ["d"], 10, qvec=np.ones(8, np.float32))
    with pytest.raises(InvalidInput, match="pass qvec"):
        c.lookup("Who lost?")
    assert c.lookup("Who won", qvec=np.ones(8, np.float32)) is not None


def test_answer_types_and_signatures() -> None:
    assert answer_type(tokens("In what year did Tesla die?"))[0] == "time"
    assert answer_type(tokens("The Broncos beat whom?"))[0] == "person"
    assert answer_type(tokens("How many people live there?"))[0] == "quantity"
    assert answer_type(tokens("Is Paris big?"))[0] == "yesno"
    assert signature("What are auricles?") != signature("What do the auricles do?")
    ok, why = same_question(signature("Who won?"), signature("When was it won?"))
    assert not ok and "answer type differs" in why


def _cites() -> list[Citation]:
    return [Citation.from_chunk(c.chunk) for c in make_candidates(["Denver won the game", "it was 24-10"])]


def test_trigger_routes_hit_miss_and_smaller_budget(tmp_path: Path) -> None:
    trig = RetrievalTrigger(cache(tmp_path))
    assert trig.remember("Which team won Super Bowl 50?", "Denver Broncos", _cites(), 200)
    hit = trig.route("Which team won Super Bowl 50?", 512)
    assert hit.path == "cache" and [c.text for c in trig.citations(hit)] == ["Denver won the game", "it was 24-10"]
    small = trig.route("Which team won Super Bowl 50?", 100)
    assert small.path == "cache_chunks" and "exceeds this budget" in small.reason
    assert [x.chunk.chunk_id for x in trig.candidates(small).candidates] == ["c0", "c1"]
    miss = trig.route("Who sang at halftime?", 512)
    assert miss.path == "retrieve" and miss.trace()["path"] == "retrieve"
    assert RetrievalTrigger(None).route("x", 1).reason == "cache off"


def test_trigger_candidates_fall_back_to_index_chunks(tmp_path: Path) -> None:
    c = cache(tmp_path)
    put(c, "Which team won Super Bowl 50?")  # stored without citations
    route = RetrievalTrigger(c).route("Which team won Super Bowl 50?", 100)
    chunks = {"c1": make_candidates(["Denver won"])[0].chunk}
    assert [x.chunk.text for x in RetrievalTrigger.candidates(route, chunks).candidates] == ["Denver won"]


def test_trigger_does_not_remember_declined_answers(tmp_path: Path) -> None:
    trig = RetrievalTrigger(cache(tmp_path))
    assert not trig.remember("Who?", "[no answer] nothing fits", _cites(), 0)
    assert not trig.remember("Who?", "x", [], 0)
    assert trig.remember("Who won the cup?", "Spain", _cites(), 40)
