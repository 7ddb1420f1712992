"""Which WordPiece ids of the MiniLM vocabulary carry term weight: not special, not a stopword, not
only punctuation.

This stopword list is part of the shipped trained weights (the mask they were trained with), so it
is kept here rather than replaced by ``ragengine.text.STOPWORDS``: changing it would change what
the weights mean. Cost: one pass over the 30,522-entry vocabulary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ragengine.rerank.encoder import VOCAB_SIZE, load_tokenizer

# English stopwords (NLTK's list plus a few WordPiece fragments of contractions).
STOPWORDS = frozenset(
    """a about above after again against ain all am an and any are aren as at be because been before being below
    between both but by can couldn d did didn do does doesn doing don down during each few for from further had hadn
    has hasn have haven having he her here hers herself him himself his how i if in into is isn it its itself just ll
    m ma me mightn more most mustn my myself needn no nor not now o of off on once only or other our ours ourselves
    out over own re s same shan she should shouldn so some such t than that the their theirs them themselves then
    there these they this those through to too under until up ve very was wasn we were weren what when where which
    while who whom why will with won wouldn y you your yours yourself yourselves""".split()
)


def content_mask(tokenizer: Any = None) -> np.ndarray:
    """Bool (vocab,) of the WordPiece ids that carry weight: not special, not a stopword, not only punctuation."""
    tok = tokenizer or load_tokenizer()
    mask = np.zeros(VOCAB_SIZE, dtype=bool)
    for t, i in tok.get_vocab().items():
        if i >= VOCAB_SIZE or (t.startswith("[") and t.endswith("]")) or t in STOPWORDS:
            continue
        mask[i] = any(c.isalnum() for c in t)
    return mask
