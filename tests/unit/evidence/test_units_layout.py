"""Sentence units and their layout: exact costs, one title per document, blocks never mix documents."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ragengine.evidence.layout import blocks, fit_layout
from ragengine.evidence.units import header, split_units, title_of
from ragengine.testing import WhitespaceCounter, make_candidates
from ragengine.text import format_context
from ragengine.types import Candidate, Chunk


def cand(chunk_id: str, doc: str, text: str, rank: int, position: int = 0, **meta: object) -> Candidate:
    return Candidate(Chunk(chunk_id, doc, text, len(text.split()), position, dict(meta)), 1.0 / (1 + rank), rank)


def test_titles_from_metadata_ids_and_paths() -> None:
    assert title_of(cand("c", "Super_Bowl_50#3", "x", 0).chunk) == "Super Bowl 50"
    assert title_of(cand("c", "docs/tutorial/first-steps.md", "x", 0).chunk) == "first-steps"
    assert title_of(cand("c", "d", "x", 0, title="Sky (UK)").chunk) == "Sky (UK)"
    assert title_of(cand("c", "d", "x", 0, title="Guide", headings="Install").chunk) == "Guide > Install"


def test_split_counts_each_sentence_and_offers_a_repeat_once() -> None:
    cands = [
        cand("a0", "A", "One two. Three four five.", 0, 0),
        cand("a1", "A", "Three four five. Six.", 1, 1),  # overlapping chunk repeats a sentence
        cand("b0", "B", "Seven eight.", 2, 0),
    ]
    units = split_units(cands, WhitespaceCounter())
    assert [(s.text, s.tokens, s.group) for s in units.sentences] == [
        ("One two.", 2, "A"),
        ("Three four five.", 3, "A"),
        ("Six.", 1, "A"),
        ("Seven eight.", 2, "B"),
    ]
    assert units.header_tokens == {"A": 1, "B": 1}
    assert units.passages() == [["One two.", "Three four five."], ["Six."], ["Seven eight."]]


def test_blocks_group_by_document_in_document_order_under_the_title() -> None:
    cands = [
        cand("b1", "Beta", "B late one. B late two.", 0, 5),
        cand("a0", "Alpha", "A first. A second.", 1, 0),
        cand("b0", "Beta", "B early.", 2, 1),
    ]
    units = split_units(cands, WhitespaceCounter())
    # chosen in score order: a Beta sentence, then Alpha, then an earlier Beta sentence
    out = blocks(units, [1, 2, 4])
    assert [c.chunk.doc_id for c in out] == ["Beta", "Alpha"]
    assert out[0].chunk.text == header("Beta") + "B early. B late two."
    assert out[1].chunk.text == header("Alpha") + "A first."
    refs = out[0].chunk.metadata["sentences"]
    assert [(r["chunk_id"], r["sentence"]) for r in refs] == [("b0", 0), ("b1", 1)]
    assert out[0].chunk.metadata["granularity"] == "sentences"


texts = st.lists(
    st.lists(st.sampled_from(["Alpha", "beta", "Gamma", "delta.", "Eps!", "zeta?"]), min_size=1, max_size=12).map(
        " ".join
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=80, deadline=None)
@given(texts=texts, docs=st.lists(st.sampled_from("ABC"), min_size=6, max_size=6), budget=st.integers(1, 40),
       data=st.data())  # fmt: skip
def test_fit_layout_never_exceeds_the_budget_and_never_mixes_documents(
    texts: list[str], docs: list[str], budget: int, data: st.DataObject
) -> None:
    cands = [cand(f"c{i}", docs[i], t, i, i) for i, t in enumerate(texts)]
    counter = WhitespaceCounter()
    units = split_units(cands, counter)
    order = data.draw(st.permutations(range(len(units.sentences))))
    out, kept, exact = fit_layout(units, order, counter, budget)
    assert exact <= budget
    assert exact == (counter.count(format_context([c.chunk.text for c in out])) if out else 0)
    assert kept == list(order[: len(kept)])
    for block in out:
        assert {units.sentences[i].group for i in kept if units.sentences[i].group == block.chunk.doc_id}
        assert all(r["chunk_id"] in {c.chunk.chunk_id for c in cands if c.chunk.doc_id == block.chunk.doc_id}
                   for r in block.chunk.metadata["sentences"])  # fmt: skip
    assert len({b.chunk.doc_id for b in out}) == len(out)


def test_cluster_excerpts_and_summaries_are_not_split() -> None:
    cands = [
        cand("x", "cluster-3", "Sky launched in 1998. Oil prices rose.", 0, granularity="excerpt"),
        cand("a0", "A", "Sky launched in 1998.", 1),
        cand("m", "B", "A member chunk.", 2, granularity="member"),
    ]
    units = split_units(cands, WhitespaceCounter())
    assert [(s.candidate, s.group) for s in units.sentences] == [(1, "A"), (2, "B")]


def test_a_long_sentence_is_offered_as_clauses_that_join_back_to_it() -> None:
    from ragengine.evidence.units import clauses

    c = WhitespaceCounter()
    s = (
        "Sky launched its service in 1998, after long delays caused by the regulator, "
        "and it now serves ten million homes."
    )
    assert clauses("Short one.", c, 10) == ["Short one."]
    pieces = clauses(s, c, 10, min_tokens=4)
    assert pieces == [
        "Sky launched its service in 1998,",
        "after long delays caused by the regulator,",
        "and it now serves ten million homes.",
    ]
    merged = clauses(s, c, 10)  # fragments under 8 tokens join their neighbour
    assert " ".join(merged) == s and all(c.count(p) >= 8 for p in merged)


def test_a_budget_smaller_than_a_long_sentence_buys_the_clause_with_the_answer() -> None:
    from ragengine.select.base import SelectionInput
    from ragengine.select.evidence import EvidenceSelector

    text = (
        "Sky launched its digital service in 1998, after long delays caused by the regulator, "
        "and it now serves ten million homes across the whole country."
    )
    cands = make_candidates([text, "Cats purr when they are content."])
    inp = SelectionInput("When did Sky launch its digital service?", cands, [26, 6], 18)
    whole = EvidenceSelector(counter=WhitespaceCounter(), unit_share=None).select(inp)
    assert not whole.chosen or "1998" not in whole.chosen[0].chunk.text  # the sentence alone costs 26
    out = EvidenceSelector(counter=WhitespaceCounter()).select(inp)
    assert out.context_tokens <= 18 and "1998" in out.chosen[0].chunk.text
