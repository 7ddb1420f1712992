"""When are two questions the same question? The guard that keeps a semantic cache from false hits.

Embedding cosine alone does not separate "Who founded the city?" from "When was the city
founded?" (MiniLM puts them close), and a paragraph has many such neighbours. A cached answer is
therefore reused only when, besides high cosine, the two questions

1. ask for the same *answer type* (``answer_type``: person, time, place, quantity, ...,
   read from the wh-phrase wherever it stands: "what year" and "when" are both ``time``), and
2. have the same *content words*: the non-stopword words outside the wh-phrase and outside
   framing phrases ("can you tell me", "please"), lower-cased and stemmed, numbers kept
   ("Super Bowl 50" and "Super Bowl 49" differ),
3. in the same order, up to moving one phrase from the end to the front (a rotation of the
   sequence): "trade with richer countries ... workers in poorer countries" is not its mirror.

Rewording the frame or the wh-phrase, fronting a phrase, or changing case and punctuation keeps
a question's signature; changing what is asked about (another entity, verb, number, answer type
or who does what to whom, beyond a two-word swap) does not. Synonyms of content words are not
matched (a deliberate trade: a missed paraphrase costs one retrieval, a false hit serves a wrong
answer).

>>> signature("When was the university founded?") == signature("What year was the university founded?")
True
>>> signature("Who founded the university?") == signature("When was the university founded?")
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ragengine.text import STOPWORDS

# (phrase, answer type); longest phrases first so "how many" wins over "how".
_WH: list[tuple[tuple[str, ...], str]] = []
for _t, _phrases in {
    "time": "when|what year|which year|in what year|what date|which date|what time|what century|which century|"
    "what decade|which decade|what month|which month|what day|which day|what period|what era|how long ago",
    "person": "who|whom|whose|which person|what person|which people|what people",
    "place": "where|what city|which city|what country|which country|what place|which place|what state|"
    "which state|what region|which region|what location|which location|what town|which town",
    "quantity": "how many|how much|what number|what amount|what percentage|what percent|what proportion",
    "duration": "how long",
    "age": "how old",
    "size": "how large|how big|how tall|how high|how far|how deep|how wide|how heavy|what size",
    "reason": "why|for what reason|what reason",
    "manner": "how",
    "thing": "what|which",
}.items():
    for _p in _phrases.split("|"):
        _WH.append((tuple(_p.split()), _t))
_WH.sort(key=lambda x: -len(x[0]))
_YESNO = frozenset("is are was were do does did can could will would has have had should".split())

# Words that frame a question without saying what it asks ("Can you tell me ...", "I'd like to know ...").
FRAMING = frozenset(
    """can could would will you please tell me know like want wonder wondering id i'd i'm im let us
    question ask asking find out give say said kindly do does did""".split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    st = _stemmer()
    if st is not None:
        return str(st.stemWord(word))
    for suffix in ("ing", "ed", "es", "s"):  # a crude fallback when PyStemmer is absent
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def tokens(question: str) -> list[str]:
    text = question.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"(\d),(\d)", r"\1\2", text)  # 1,000 -> 1000
    return [t[:-2] if t.endswith("'s") else t for t in _TOKEN.findall(text)]


def answer_type(words: list[str]) -> tuple[str, int, int]:
    """(type, start, end) of the first wh-phrase in ``words``; ``yesno``/``other`` when there is none."""
    for i in range(len(words)):
        for phrase, typ in _WH:
            if tuple(words[i : i + len(phrase)]) == phrase:
                return typ, i, i + len(phrase)
    if words and words[0] in _YESNO:
        return "yesno", 0, 0
    return "other", 0, 0


@dataclass(frozen=True)
class Signature:
    """What a question asks for (``type``) and about (``content``: stemmed content words)."""

    type: str
    content: frozenset[str]
    order: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "content": list(self.order)}


def _rotation(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if len(a) != len(b):
        return False
    return a == b or any(a[i:] + a[:i] == b for i in range(1, len(a)))


def signature(question: str) -> Signature:
    words = tokens(question)
    typ, a, b = answer_type(words)
    rest = words[:a] + words[b:]
    order: list[str] = []
    for w in rest:
        w = _NUMBER_WORDS.get(w, w)
        if w in STOPWORDS or w in FRAMING:
            continue
        order.append(_stem(w))
    if len(rest) > 1 and rest[-1] in ("do", "does", "did"):  # "What do auricles do?": a main verb
        order.append("do")
    seq = tuple(dict.fromkeys(order))
    return Signature(typ, frozenset(seq), seq)


def same_question(a: Signature, b: Signature) -> tuple[bool, str]:
    """Whether two signatures ask the same thing, and if not, why (for the trace)."""
    if a.type != b.type:
        return False, f"answer type differs ({a.type} vs {b.type})"
    if a.content != b.content:
        diff = sorted(a.content ^ b.content)[:6]
        return False, f"content words differ ({', '.join(diff)})"
    if not a.content:
        return False, "no content words to compare"
    if not _rotation(a.order, b.order):
        return False, "content words in another order (roles may differ)"
    return True, "same answer type and content words"
