"""The benchmark suites behind ``tools/analysis_tools/benchmark.py``.

* ``suites/``: one module per suite (``suites/__init__.py`` lists them and
  says what a suite module provides);
* ``report.py``: ``benchmarks.json`` (load, merge, write) and the
  Markdown page, with ``tables.py``;
* ``core.py``: rows, goals, the offline config loader;
* ``measure.py``: the machine, the timed models, synthetic batches,
  timers;
* ``training.py``: the schedule and the train-then-test runner of the
  training suites; ``datasets.py``: their SMOKE5K data;
* ``rss.py``: shared by the resident-memory tools
  (``benchmark_{eval,train,slide}_memory.py``).

The package is imported as ``benchmarks`` with ``tools/analysis_tools`` on
``sys.path`` (as when one of the tools there runs), next to the sibling
tools it uses (``fosp_complexity``, ``benchmark_transmission_loss``).
"""
