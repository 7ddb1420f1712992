"""Reports: Markdown and figures from the results of the harness and the experiments, and nothing else.

Each module turns one kind of results (a dict, as its JSON file stores it) into Markdown and a
figure: ``harness`` (eval configs), ``selection``, ``retrieval``, ``crag``, ``tuning`` (selector
and prompt tuning); ``compare`` pairs two eval reports. ``tables`` is the one Markdown-table
helper, ``plots`` the one module that imports matplotlib (``evaluation.rerender`` rewrites every
committed report from its JSON). Importing the package loads nothing; nothing here imports
``evaluation.experiments``, which imports this package.
"""
