"""Deterministic rule-made paraphrases of questions, for testing a semantic cache (no paraphrase data here).

Families (each returns None when its rule does not apply to a question):

- ``frame``: wrap the question in a request ("Can you tell me who ...?", "I'd like to know: ...").
- ``wh``: swap the wh-phrase for an equivalent ("When" <-> "In what year", "Which" -> "What",
  "How many" -> "What number of", "Where" -> "In what place", "Why" -> "For what reason").
- ``reorder``: move a trailing prepositional phrase to the front ("Who won in 2015?" ->
  "In 2015, who won?"), or a leading one to the end.
- ``casual``: lower case, no question mark, "please" added.
- ``synonym``: replace one content word with a synonym from a small table ("largest" ->
  "biggest"). A cache that matches content words exactly is expected to miss these: they are
  reported separately, as the cost of never serving a look-alike question.

These rules keep the question's meaning by construction, which a learned paraphraser would not
guarantee, but they are also narrower than human rewording: a hit rate measured on them is an
upper bound for real paraphrases of the ``frame``/``wh``/``reorder`` kinds only.

>>> paraphrase("When did Tesla die?", "wh")
'In what year did Tesla die?'
>>> paraphrase("Who won the game in 2015?", "reorder")
'In 2015, who won the game?'
"""

from __future__ import annotations

import re

FAMILIES = ("frame", "wh", "reorder", "casual", "synonym")
_FRAMES = ("Can you tell me {q}", "I'd like to know: {q}", "Do you know {q}", "Please tell me {q}")
_WH = [
    (r"^when\b", "In what year"),
    (r"^(in )?what year\b", "When"),
    (r"^which\b", "What"),
    (r"^how many\b", "What number of"),
    (r"^where\b", "In what place"),
    (r"^why\b", "For what reason"),
    (r"^what is\b", "What's"),
]
_SYNONYMS = {
    "largest": "biggest",
    "biggest": "largest",
    "began": "started",
    "begin": "start",
    "start": "begin",
    "started": "began",
    "film": "movie",
    "movie": "film",
    "big": "large",
    "large": "big",
    "famous": "well-known",
    "main": "primary",
    "primary": "main",
    "important": "significant",
    "built": "constructed",
    "created": "made",
    "died": "passed away",
    "called": "named",
    "named": "called",
    "city": "town",
    "country": "nation",
    "company": "firm",
    "used": "utilized",
    "first": "earliest",
    "received": "got",
    "people": "persons",
    "type": "kind",
    "kind": "type",
    "located": "situated",
    "made": "created",
    "make": "create",
    "major": "main",
    "role": "part",
    "percent": "percentage",
}
_FUNCTION = frozenset(
    "what which who whom whose when where why how is are was were do does did can could will would has have had "
    "the a an in on at during after before for of to".split()
)
_TRAILING_PP = re.compile(r"^(?P<head>.+?)\s+(?P<pp>(?:in|on|at|during|after|before)\s+[\w ,'-]{2,40}?)\s*\?$", re.I)
_LEADING_PP = re.compile(r"^(?P<pp>(?:in|on|at|during|after|before)\s+[^,]{2,40}),\s*(?P<rest>.+?)\s*\??$", re.I)


def _stable(text: str) -> int:
    return sum(ord(ch) for ch in text)


def _lower_first(q: str) -> str:
    first = q.split(" ", 1)[0]
    return q[:1].lower() + q[1:] if first.lower() in _FUNCTION else q


def paraphrase(question: str, family: str) -> str | None:
    """One paraphrase of ``question`` by the rule ``family``, or None when the rule does not apply."""
    q = " ".join(question.strip().split())
    if not q:
        return None
    if family == "frame":
        frame = _FRAMES[_stable(q) % len(_FRAMES)]
        body = _lower_first(q)
        return frame.format(q=body if body.endswith("?") else f"{body}?")
    if family == "wh":
        for pattern, repl in _WH:
            m = re.match(pattern, q, re.I)
            if m:
                return repl + q[m.end() :]
        return None
    if family == "reorder":
        m = _LEADING_PP.match(q)
        if m:
            rest = m.group("rest")
            return f"{rest[:1].upper()}{rest[1:]} {m.group('pp')[:1].lower()}{m.group('pp')[1:]}?"
        m = _TRAILING_PP.match(q)
        if m and len(m.group("head").split()) >= 2:
            pp = m.group("pp")
            return f"{pp[:1].upper()}{pp[1:]}, {_lower_first(m.group('head'))}?"
        return None
    if family == "casual":
        return f"{q.rstrip('?').lower()} please"
    if family == "synonym":
        words = q.split()
        for i, w in enumerate(words):
            core = w.strip("?,.").lower()
            if core in _SYNONYMS and i > 0:
                words[i] = w.lower().replace(core, _SYNONYMS[core])
                return " ".join(words)
        return None
    raise ValueError(f"unknown paraphrase family {family!r}; choose one of {', '.join(FAMILIES)}")
