"""Evidence: candidates split into sentences, each scored by a trained model for holding the answer.

``units`` splits retrieved chunks into sentence units (with their titles and exact costs),
``features`` turns a question and its units into cheap signals, ``scorer`` is the trained
logistic model over them (weights in ``weights/``, described by ``weights/MODEL_CARD.md``),
``layout`` groups chosen sentences by document under their title, in document order.
"""
