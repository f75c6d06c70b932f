"""Frame-level alarm evaluation: ranking metrics and operating points.

Each frame carries a smoke score (:mod:`.frame_scores`) and a label:
**positive** when its ground truth has at least ``min_smoke_pixels`` smoke
pixels (default 1, i.e. any smoke pixel), **negative** (smoke-free) when it
has none. A frame with some smoke but fewer than ``min_smoke_pixels``
pixels is **excluded** (label :data:`EXCLUDED`) rather than called
smoke-free: its mask says there is smoke.

A frame raises an alarm when ``score > threshold``. The comparison is
strict, like every threshold of this project (MMSeg's
``postprocess_result``, ``SmokeMetric``, :func:`mmsmoke.apis.presence_score`
with ``smoke_present = score > threshold``).

* Threshold-free ranking metrics (:func:`frame_ranking_family`): AP and
  AUROC from ``torchmetrics.functional.classification`` and the detection
  rate (TPR) at a false-alarm rate (FPR) of at most 1% and 5%, read off
  ``binary_roc``.
* The operating point (:func:`choose_operating_point`): the lowest score
  threshold whose false-alarm rate on the smoke-free frames of a *training*
  set is at most a target, and the rates at a fixed threshold
  (:func:`operating_point_family`).

Degenerate sets (no positive or no negative frame) give NaN with a logged
warning instead of raising, since a validation subset may lack one class.
"""
import json
import logging
import math
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
from mmengine.logging import print_log
from torch import Tensor
from torchmetrics.functional.classification import (binary_auroc,
                                                    binary_average_precision,
                                                    binary_roc)

from mmsmoke.utils.size_groups import SIZE_GROUPS
from .frame_scores import FRAME_SCORES, check_topk

#: Label of a positive (smoke) frame, of a negative (smoke-free) frame, and
#: of a frame left out of the frame metrics.
POSITIVE, NEGATIVE, EXCLUDED = 1, 0, -1
#: Default false-alarm rates at which the detection rate is reported.
DEFAULT_FPR_TARGETS = (0.01, 0.05)
#: Tolerance when comparing a false-alarm rate with its target.
_RATE_EPS = 1e-9


def frame_label(num_smoke: int, min_smoke_pixels: int = 1) -> int:
    """:data:`POSITIVE`, :data:`NEGATIVE` or :data:`EXCLUDED` for a frame
    with ``num_smoke`` ground-truth smoke pixels."""
    if num_smoke == 0:
        return NEGATIVE
    return POSITIVE if num_smoke >= min_smoke_pixels else EXCLUDED


def fpr_key(target: float) -> str:
    """The key suffix of a false-alarm target: 0.01 -> ``'FPR1'``,
    0.005 -> ``'FPR0p5'`` (keys hold no ``.``, which separates a size
    group from its key)."""
    return 'FPR' + f'{100 * target:.6g}'.replace('.', 'p')


def _as_tensors(scores, labels):
    scores = torch.as_tensor(scores, dtype=torch.float64).reshape(-1)
    labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
    if scores.shape != labels.shape:
        raise ValueError(f'{scores.numel()} scores but {labels.numel()} '
                         'labels.')
    keep = labels != EXCLUDED
    return scores[keep], labels[keep]


def _warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)


def tpr_at_fpr(scores, labels, max_fpr: float) -> float:
    """Largest detection rate among the ROC points with FPR <= ``max_fpr``.

    The points are those of ``torchmetrics``' ``binary_roc`` (every distinct
    score as a threshold, plus the point (0, 0)), i.e. the operating points
    a single threshold can reach; no interpolation between points. The
    same points result from the strict rule ``score > t``. NaN (with a
    warning) when either class is missing.
    """
    scores, labels = _as_tensors(scores, labels)
    if not _both_classes(labels, f'TPR at FPR <= {max_fpr:g}'):
        return float('nan')
    fpr, tpr, _ = binary_roc(scores, labels)
    return float(tpr[fpr <= max_fpr + _RATE_EPS].max())


def _both_classes(labels: Tensor, what: str) -> bool:
    num_pos = int((labels == POSITIVE).sum())
    num_neg = int((labels == NEGATIVE).sum())
    if num_pos and num_neg:
        return True
    missing = 'smoke' if not num_pos else 'smoke-free'
    _warn(f'frame alarms: no {missing} frame among {labels.numel()} '
          f'scored frames; {what} is undefined and reported as nan.')
    return False


def frame_ranking_family(scores,
                         labels,
                         fpr_targets: Sequence[float] = DEFAULT_FPR_TARGETS,
                         key_prefix: str = 'frame_') -> Dict[str, float]:
    """AP, AUROC and the detection rate at each false-alarm target.

    Args:
        scores: Per-frame scores (sequence or tensor).
        labels: Per-frame labels; :data:`EXCLUDED` frames are dropped.
        fpr_targets (Sequence[float]): False-alarm rates for
            ``TPR_at_FPR<x>``. Defaults to (0.01, 0.05).
        key_prefix (str): Prefix of every key. Defaults to ``'frame_'``.

    Returns:
        dict: ``<prefix>AP`` (``binary_average_precision``: sum over the
        thresholds of the recall step times the precision, no
        interpolation), ``<prefix>AUROC`` (``binary_auroc``, trapezoidal,
        ties count half), ``<prefix>TPR_at_FPR<x>`` (:func:`tpr_at_fpr`).
        All are NaN when the set lacks positives or negatives.
    """
    scores, labels = _as_tensors(scores, labels)
    keys = [f'{key_prefix}AP', f'{key_prefix}AUROC'
            ] + [f'{key_prefix}TPR_at_{fpr_key(t)}' for t in fpr_targets]
    if not _both_classes(labels, 'frame AP / AUROC / TPR at FPR'):
        return {key: float('nan') for key in keys}
    out = {
        keys[0]: float(binary_average_precision(scores, labels)),
        keys[1]: float(binary_auroc(scores, labels)),
    }
    fpr, tpr, _ = binary_roc(scores, labels)
    for key, target in zip(keys[2:], fpr_targets):
        out[key] = float(tpr[fpr <= target + _RATE_EPS].max())
    return out


def alarm_rate(scores, threshold: float) -> float:
    """Fraction of ``scores`` strictly above ``threshold`` (NaN when
    empty)."""
    scores = torch.as_tensor(scores, dtype=torch.float64).reshape(-1)
    if scores.numel() == 0:
        return float('nan')
    return float((scores > threshold).double().mean())


def operating_point_family(scores,
                           labels,
                           threshold: float,
                           size_groups: Optional[Sequence[str]] = None,
                           key_prefix: str = 'frame_') -> Dict[str, float]:
    """Alarm rates at a fixed score threshold (alarm: ``score > threshold``).

    Args:
        scores: Per-frame scores.
        labels: Per-frame labels; :data:`EXCLUDED` frames are dropped.
        threshold (float): The operating point.
        size_groups (Sequence[str], optional): Size stratum of every frame
            (``'small'``, ``'medium'``, ``'large'``; anything else for
            negatives); None skips the per-group rates.
        key_prefix (str): Prefix of every key. Defaults to ``'frame_'``.

    Returns:
        dict: ``<prefix>alarm_threshold``, ``<prefix>detection_rate``
        (alarms among positive frames), ``<prefix>false_alarm_rate``
        (alarms among negative frames) and, with ``size_groups``,
        ``<group>.<prefix>detection_rate`` for every group of
        :data:`SIZE_GROUPS`. A rate over no frame is NaN, with a warning.
    """
    scores_t = torch.as_tensor(scores, dtype=torch.float64).reshape(-1)
    labels_t = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
    pos = labels_t == POSITIVE
    neg = labels_t == NEGATIVE
    out = {f'{key_prefix}alarm_threshold': float(threshold)}
    for key, members, what in (('detection_rate', pos, 'smoke'),
                               ('false_alarm_rate', neg, 'smoke-free')):
        if not bool(members.any()):
            _warn(f'frame alarms: no {what} frame; {key_prefix}{key} is '
                  'reported as nan.')
        out[f'{key_prefix}{key}'] = alarm_rate(scores_t[members], threshold)
    if size_groups is not None:
        if len(size_groups) != labels_t.numel():
            raise ValueError(f'{len(size_groups)} size groups but '
                             f'{labels_t.numel()} frames.')
        for group in SIZE_GROUPS:
            members = pos & torch.as_tensor([g == group for g in size_groups],
                                            dtype=torch.bool)
            # a missing stratum is common (e.g. no large plume in a
            # subset); it is visible in <group>.frame_num_positive
            out[f'{group}.{key_prefix}detection_rate'] = alarm_rate(
                scores_t[members], threshold)
    return out


def choose_operating_point(scores, labels, target_fpr: float) -> dict:
    """The lowest threshold whose false-alarm rate is at most ``target_fpr``.

    Meant for the frames of a **training** split (or a held-out part of
    it); the threshold is then fixed and applied unchanged to the test
    set. With ``n`` smoke-free frames and ``m = floor(target_fpr * n)``,
    the rule ``score > t`` lets at most ``m`` of them alarm exactly when
    ``t`` is at least the ``(m + 1)``-th largest smoke-free score, so that
    score is the lowest admissible threshold (any lower one alarms on at
    least ``m + 1`` smoke-free frames). The achieved rate can be below the
    target: the rate moves in steps of ``1 / n`` and tied scores move
    together. With fewer than ``1 / target_fpr`` smoke-free frames, ``m``
    is 0 and the threshold is the largest smoke-free score.

    Args:
        scores: Per-frame scores.
        labels: Per-frame labels; :data:`EXCLUDED` frames are dropped.
        target_fpr (float): Target false-alarm rate in [0, 1).

    Returns:
        dict: ``threshold``, ``target_fpr``, the achieved ``fpr`` and
        ``tpr`` (NaN without smoke frames, with a warning), and the
        ``num_negative`` and ``num_positive`` frames used.

    Raises:
        ValueError: For a target outside [0, 1) or without any smoke-free
            frame.
    """
    if not 0.0 <= float(target_fpr) < 1.0:
        raise ValueError(f'target_fpr must lie in [0, 1), got {target_fpr!r}.')
    scores, labels = _as_tensors(scores, labels)
    negatives = scores[labels == NEGATIVE]
    positives = scores[labels == POSITIVE]
    if negatives.numel() == 0:
        raise ValueError('no smoke-free frame: the false-alarm rate, and '
                         'so the operating point, is undefined.')
    m = int(math.floor(float(target_fpr) * negatives.numel() + _RATE_EPS))
    threshold = float(negatives.sort(descending=True).values[m])
    if positives.numel() == 0:
        _warn('frame alarms: no smoke frame; the detection rate at the '
              'chosen operating point is reported as nan.')
    return dict(
        threshold=threshold,
        target_fpr=float(target_fpr),
        fpr=alarm_rate(negatives, threshold),
        tpr=alarm_rate(positives, threshold),
        num_negative=int(negatives.numel()),
        num_positive=int(positives.numel()))


#: Keys of an operating-point file that must match the metric's settings.
OPERATING_POINT_SETTINGS = ('score', 'topk', 'min_smoke_pixels')


def read_operating_point(path: str, **settings) -> dict:
    """The operating-point record of a JSON file, checked.

    The file is written by ``tools/analysis_tools/choose_operating_point.py``
    (``threshold`` and the score settings it was chosen for). Every keyword
    (``score``, ``topk``, ``min_smoke_pixels``) is compared with the file's
    value, because a threshold only means something for the score it was
    chosen on.

    Returns:
        dict: The record, with ``threshold`` a float in [0, 1] and
        ``score`` one of the frame scores (``'max'`` when the file has
        none).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: Naming the file and key for a missing or out-of-range
            ``threshold``, an unknown score or a setting that differs.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: operating-point file not found.')
    with open(path) as f:
        try:
            point = json.load(f)
        except ValueError as err:
            raise ValueError(f'{path}: not a JSON file ({err}).') from None
    if not isinstance(point, dict) or 'threshold' not in point:
        raise ValueError(
            f'{path}: no "threshold" key; write the file '
            'with tools/analysis_tools/choose_operating_point.py.')
    threshold = point['threshold']
    if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        raise ValueError(f'{path}: "threshold" must be a number in [0, 1], '
                         f'got {threshold!r}.')
    point = dict(point, threshold=float(threshold))
    point.setdefault('score', 'max')
    if point['score'] not in FRAME_SCORES:
        raise ValueError(f'{path}: "score" must be one of {FRAME_SCORES}, '
                         f'got {point["score"]!r}.')
    if point['score'] != 'max' and point.get('topk') is not None:
        try:
            check_topk(point['topk'])
        except (TypeError, ValueError) as err:
            raise ValueError(f'{path}: "topk": {err}') from None
    for key, value in settings.items():
        if key in point and point[key] != value:
            raise ValueError(
                f'{path}: "{key}" is {point[key]!r} in the file but '
                f'{value!r} in the metric; the threshold was chosen for '
                'another score.')
    return point


def load_operating_point(path: str, **settings) -> float:
    """The ``threshold`` of an operating-point JSON file
    (:func:`read_operating_point`)."""
    return read_operating_point(path, **settings)['threshold']
