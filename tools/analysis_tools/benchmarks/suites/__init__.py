"""The benchmark suites, one module each, in report order.

A suite module has

* ``NAME``, ``TITLE`` and ``TEXT``: its name (``--suite NAME``) and the
  heading and explanation of its section in ``benchmarks.md``;
* ``IN_ALL``: whether ``--suite all`` runs it;
* ``run(args, ctx) -> rows``: the measurement; ``ctx`` holds ``device``
  (text), ``command``, ``torch_device`` and ``save_rows`` (hands the rows
  so far to the report, for long suites);
* ``settings(args) -> dict``: the settings in its report header;

and optionally ``add_arguments(parser)`` (its options),
``check_arguments(args, error)`` (their validation; ``error`` is
``parser.error``) and ``render(rows) -> lines`` (its tables; default: one
row table).
"""
from collections import OrderedDict
from typing import List, Sequence

from . import (camera, early_smoke, early_smoke_long, gpu, inference,
               params_flops, pretrained, smoke5k, train_step, transmission,
               uncertainty)

MODULES = OrderedDict(
    (m.NAME, m)
    for m in (train_step, transmission, uncertainty, inference, params_flops,
              smoke5k, early_smoke, early_smoke_long, pretrained, camera,
              gpu))
SUITES = tuple(MODULES)
ALIASES = {
    'all': tuple(s for s, m in MODULES.items() if m.IN_ALL),
    'quick': ('transmission', 'params_flops'),
}


def expand_suites(names: Sequence[str]) -> List[str]:
    """Suites in canonical order, aliases expanded, duplicates removed."""
    wanted = set()
    for name in names:
        wanted.update(ALIASES.get(name, (name, )))
    return [s for s in SUITES if s in wanted]
