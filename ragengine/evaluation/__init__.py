"""Measures: eval configs, datasets, metrics, statistics, baselines, the eval harness, reports, experiments.

No stage, engine or core module imports this package; only the offline command line does
(``ragengine eval`` and ``ragengine bench NAME``). Importing the package itself loads nothing.
"""
