"""Rows, goals and small helpers shared by every benchmark suite.

A row is one measured figure (see :func:`make_row`); a goal is a condition
on its value or ratio (see :func:`check_goal`).
"""
import math
import os.path as osp
import re
from typing import List, Optional, Sequence

import numpy as np

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
#: The command line, as the rows and the report name it.
TOOL = 'tools/analysis_tools/benchmark.py'
GOAL_PATTERN = re.compile(r'^(value|ratio)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)$')


def log(msg: str) -> None:
    """Progress line (the rows go to the report)."""
    print(f'[benchmark] {msg}', flush=True)


def error_text(err: BaseException, limit: int = 400) -> str:
    """One line: the exception type and the start of its message."""
    text = ' '.join(str(err).split())
    if len(text) > limit:
        text = text[:limit] + ' ...'
    return f'{type(err).__name__}: {text}'


def repo_path(path: str) -> str:
    """A path relative to the repository, made absolute."""
    return path if osp.isabs(path) else osp.join(REPO, path)


def selected(keys: Sequence[str], pattern: Optional[str]) -> List[str]:
    """The keys that the ``--match`` regex finds (all without one)."""
    if not pattern:
        return list(keys)
    regex = re.compile(pattern)
    return [k for k in keys if regex.search(k)]


def check_goal(goal: Optional[str], value: Optional[float],
               ratio: Optional[float]) -> Optional[bool]:
    """Whether a row meets its goal.

    Args:
        goal (str, optional): ``'<value|ratio> <op> <number>'`` with op one
            of ``<=``, ``>=``, ``<``, ``>``, e.g. ``'ratio <= 1.3'``.
        value (float, optional): The row's value.
        ratio (float, optional): The row's ratio.

    Returns:
        bool | None: None when there is no goal or the quantity is missing
        or not finite.
    """
    if goal is None:
        return None
    match = GOAL_PATTERN.match(goal.strip())
    if match is None:
        raise ValueError(f'goal {goal!r} is not "<value|ratio> <op> <number>"')
    quantity = value if match.group(1) == 'value' else ratio
    if quantity is None or not math.isfinite(float(quantity)):
        return None
    target = float(match.group(3))
    quantity = float(quantity)
    return {
        '<=': quantity <= target,
        '>=': quantity >= target,
        '<': quantity < target,
        '>': quantity > target,
    }[match.group(2)]


def clean_value(value):
    """JSON-safe number: NaN and inf become None, numpy scalars floats."""
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def make_row(suite: str,
             name: str,
             metric: str,
             value: Optional[float],
             unit: str,
             ctx: dict,
             baseline: Optional[float] = None,
             ratio: Optional[float] = None,
             ratio_def: Optional[str] = None,
             baseline_name: Optional[str] = None,
             goal: Optional[str] = None,
             assess: bool = True,
             note: Optional[str] = None,
             settings: Optional[dict] = None,
             details: Optional[dict] = None) -> dict:
    """One result row.

    Args:
        suite (str): Suite that produced it.
        name (str): What was measured (model, configuration).
        metric (str): The quantity.
        value (float, optional): Its value.
        unit (str): Unit of ``value`` and ``baseline``.
        ctx (dict): Run context with ``device`` and ``command``.
        baseline (float, optional): The compared value.
        ratio (float, optional): Their ratio, as ``ratio_def`` says.
        ratio_def (str, optional): How ``ratio`` is computed.
        baseline_name (str, optional): What ``baseline`` measures.
        goal (str, optional): See :func:`check_goal`.
        assess (bool): False keeps the goal visible but leaves
            ``goal_met`` None (e.g. an untrained model).
        note (str, optional): Plain-language remark shown in the table.
        settings (dict, optional): Sizes, batch, repeats, ...
        details (dict, optional): Further measured numbers.

    Returns:
        dict: The row.
    """
    row = dict(
        suite=suite,
        name=name,
        metric=metric,
        value=clean_value(value),
        baseline=clean_value(baseline),
        ratio=clean_value(ratio),
        unit=unit,
        device=ctx['device'],
        command=ctx['command'],
        goal=goal,
        goal_met=check_goal(goal, value, ratio) if assess else None)
    if ratio_def:
        row['ratio_def'] = ratio_def
    if baseline_name:
        row['baseline_name'] = baseline_name
    if note:
        row['note'] = note
    row['settings'] = dict(settings or {})
    if details:
        row['details'] = {k: clean_value(v) for k, v in details.items()}
    return row
