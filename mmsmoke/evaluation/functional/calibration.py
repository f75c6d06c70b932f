"""Streaming fixed-bin calibration statistics for dense binary predictions.

A calibration error needs, per confidence bin, only three sufficient
statistics: the number of samples, the sum of their confidences and the sum
of their accuracies (for the positive-class reliability diagram: the number
of positives). Keeping those per image instead of every pixel makes the
expected calibration error (ECE) of a whole test set cost a few dozen numbers
per image, whatever the image size (Naeini et al., AAAI 2015; Guo et al.,
ICML 2017)::

    ECE = sum_b (n_b / N) * |acc_b - conf_b|
    MCE = max_b |acc_b - conf_b|

Binning follows ``torchmetrics`` 1.x (``_binning_bucketize``) exactly, so
that the numbers can be cross-checked against
``torchmetrics.classification.BinaryCalibrationError`` and
``MulticlassCalibrationError``:

* the ``n_bins + 1`` boundaries are ``torch.linspace(0, 1, n_bins + 1)`` in
  the confidences' float dtype;
* a confidence ``c`` goes to slot ``bucketize(c, boundaries, right=True) -
  1``, i.e. bin ``b`` is the half-open interval ``[edge_b, edge_{b+1})``;
* consequently a confidence of exactly ``1.0`` lands in an extra slot
  ``n_bins`` that holds only the value 1.0. torchmetrics keeps that slot as a
  separate bin in the sum, and so does this module: the statistics always
  have ``n_bins + 1`` slots. The slot matters in practice because a
  saturated float32 sigmoid returns exactly 1.0.

Two confidence conventions are provided:

* **positive class** (:func:`positive_class_confidences`): confidence ``p``,
  accuracy = the binary label. This is what ``BinaryCalibrationError``
  computes (despite its "top-label" docstring): the gap between the mean
  predicted smoke probability and the fraction of smoke pixels per bin.
* **top label** (:func:`top_label_confidences`): confidence ``max(1 - p,
  p)``, accuracy = whether the arg-max label equals the target. This is what
  ``MulticlassCalibrationError(num_classes=2)`` computes on ``[1 - p, p]``;
  ties (``p == 0.5``) predict background like ``torch.max``.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

#: Row indices of the ``(3, n_bins + 1)`` statistics array.
COUNT, CONF_SUM, ACC_SUM = 0, 1, 2


def calibration_bin_boundaries(
        n_bins: int,
        dtype: torch.dtype = torch.float32,
        device: Optional[torch.device] = None) -> Tensor:
    """Return the ``n_bins + 1`` equal-width bin boundaries on [0, 1].

    Args:
        n_bins (int): Number of equal-width bins.
        dtype (torch.dtype): Float dtype of the boundaries; must equal the
            confidences' dtype for bit-exact agreement with torchmetrics.
            Defaults to ``torch.float32``.
        device (torch.device, optional): Device of the boundaries.

    Returns:
        Tensor: ``torch.linspace(0, 1, n_bins + 1)``.
    """
    _check_n_bins(n_bins)
    return torch.linspace(0, 1, n_bins + 1, dtype=dtype, device=device)


def _check_n_bins(n_bins: int) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f'n_bins must be a positive integer, got {n_bins!r}.')


def positive_class_confidences(probs: Tensor,
                               target: Tensor) -> Tuple[Tensor, Tensor]:
    """Confidences and accuracies of the positive-class reliability diagram.

    Args:
        probs (Tensor): Smoke probabilities in [0, 1], any shape.
        target (Tensor): Binary labels {0, 1} (bool or integer), same shape.

    Returns:
        tuple[Tensor, Tensor]: ``(probs, target)`` flattened; the second is
        cast to the dtype of the first.
    """
    _check_pair(probs, target)
    conf = probs.reshape(-1)
    return conf, target.reshape(-1).to(conf.dtype)


def top_label_confidences(probs: Tensor,
                          target: Tensor) -> Tuple[Tensor, Tensor]:
    """Confidences and accuracies of the top-label reliability diagram.

    The two-class probability vector is ``[1 - p, p]``; the predicted label
    is its arg-max, with ties going to the background (index 0) as
    ``torch.max`` does on ``[1 - p, p]``.

    Args:
        probs (Tensor): Smoke probabilities in [0, 1], any shape.
        target (Tensor): Binary labels {0, 1} (bool or integer), same shape.

    Returns:
        tuple[Tensor, Tensor]: Flattened ``max(1 - p, p)`` and the
        correctness (1.0 / 0.0) of the predicted label, in ``probs.dtype``.
    """
    _check_pair(probs, target)
    p = probs.reshape(-1)
    q = 1 - p
    conf = torch.maximum(q, p)
    pred_smoke = p > q
    correct = pred_smoke == target.reshape(-1).bool()
    return conf, correct.to(p.dtype)


def _check_pair(probs: Tensor, target: Tensor) -> None:
    if not torch.is_floating_point(probs):
        raise TypeError(
            f'probs must be a floating point tensor, got {probs.dtype}.')
    if probs.shape != target.shape:
        raise ValueError(f'probs {tuple(probs.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape.')


def binned_calibration_stats(confidences: Tensor, accuracies: Tensor,
                             n_bins: int) -> np.ndarray:
    """Reduce confidences and accuracies to per-bin sufficient statistics.

    The binning runs on the tensors' device; only the small result is moved
    to the host.

    Args:
        confidences (Tensor): Confidences in [0, 1], shape (N,). Values
            outside [0, 1] are rejected.
        accuracies (Tensor): Per-sample accuracy (or positive label) in
            {0, 1}, shape (N,).
        n_bins (int): Number of equal-width bins.

    Returns:
        np.ndarray: float64 array of shape ``(3, n_bins + 1)`` whose rows are
        the sample count, the confidence sum and the accuracy sum per slot
        (see the module docstring for the extra slot that holds 1.0).
    """
    _check_n_bins(n_bins)
    if confidences.ndim != 1 or confidences.shape != accuracies.shape:
        raise ValueError(
            'confidences and accuracies must be 1-D and of equal length, got '
            f'{tuple(confidences.shape)} and {tuple(accuracies.shape)}.')
    stats = np.zeros((3, n_bins + 1), dtype=np.float64)
    if confidences.numel() == 0:
        return stats
    lo, hi = confidences.min(), confidences.max()
    if bool(torch.isnan(lo)) or bool(lo < 0) or bool(hi > 1):
        raise ValueError('confidences must lie in [0, 1], got values in '
                         f'[{float(lo)}, {float(hi)}].')
    boundaries = calibration_bin_boundaries(
        n_bins, dtype=confidences.dtype, device=confidences.device)
    index = torch.bucketize(confidences, boundaries, right=True) - 1
    length = n_bins + 1
    count = torch.bincount(index, minlength=length)
    conf_sum = torch.bincount(
        index, weights=confidences.double(), minlength=length)
    acc_sum = torch.bincount(
        index, weights=accuracies.double(), minlength=length)
    stats[COUNT] = count.cpu().numpy()
    stats[CONF_SUM] = conf_sum.cpu().numpy()
    stats[ACC_SUM] = acc_sum.cpu().numpy()
    return stats


def _bin_means(stats: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    count = stats[COUNT]
    with np.errstate(invalid='ignore', divide='ignore'):
        conf = np.where(count > 0, stats[CONF_SUM] / count, 0.0)
        acc = np.where(count > 0, stats[ACC_SUM] / count, 0.0)
    return conf, acc


def _check_stats(stats: np.ndarray) -> np.ndarray:
    stats = np.asarray(stats, dtype=np.float64)
    if stats.ndim != 2 or stats.shape[0] != 3 or stats.shape[1] < 2:
        raise ValueError('calibration statistics must have shape '
                         f'(3, n_bins + 1), got {stats.shape}.')
    return stats


def expected_calibration_error(stats: np.ndarray) -> float:
    """Expected calibration error (L1 norm) from binned statistics.

    Args:
        stats (np.ndarray): Output of :func:`binned_calibration_stats`,
            possibly summed over many images.

    Returns:
        float: ``sum_b n_b / N * |acc_b - conf_b|``; NaN when there are no
        samples.
    """
    stats = _check_stats(stats)
    total = stats[COUNT].sum()
    if total == 0:
        return float('nan')
    return float(np.abs(stats[ACC_SUM] - stats[CONF_SUM]).sum() / total)


def max_calibration_error(stats: np.ndarray) -> float:
    """Maximum calibration error (infinity norm) from binned statistics.

    Empty bins contribute a gap of 0, as in torchmetrics.

    Args:
        stats (np.ndarray): Output of :func:`binned_calibration_stats`.

    Returns:
        float: ``max_b |acc_b - conf_b|`` over non-empty bins; NaN when there
        are no samples.
    """
    stats = _check_stats(stats)
    if stats[COUNT].sum() == 0:
        return float('nan')
    conf, acc = _bin_means(stats)
    return float(np.abs(acc - conf).max())


def reliability_diagram_data(stats: np.ndarray) -> Dict[str, List]:
    """Per-bin data for drawing a reliability diagram.

    Args:
        stats (np.ndarray): Output of :func:`binned_calibration_stats`.

    Returns:
        dict: JSON-serialisable lists, one entry per slot (``n_bins + 1``):
        ``bin_lower``/``bin_upper`` (the last slot is the point ``[1, 1]``),
        ``count``, ``confidence`` (mean confidence), ``accuracy`` (mean
        accuracy, i.e. the fraction of positives for the positive-class
        diagram), ``gap`` (``accuracy - confidence``); the last three are
        ``None`` for empty slots. Also ``ece``, ``mce`` and ``num_samples``.
    """
    stats = _check_stats(stats)
    n_bins = stats.shape[1] - 1
    edges = calibration_bin_boundaries(n_bins).double().numpy()
    count = stats[COUNT]
    conf, acc = _bin_means(stats)
    nonempty = count > 0

    def _or_none(values: np.ndarray) -> List[Optional[float]]:
        return [float(v) if ok else None for v, ok in zip(values, nonempty)]

    return dict(
        bin_lower=[float(e) for e in edges],
        bin_upper=[float(e) for e in edges[1:]] + [1.0],
        count=[int(c) for c in count],
        confidence=_or_none(conf),
        accuracy=_or_none(acc),
        gap=_or_none(acc - conf),
        ece=expected_calibration_error(stats),
        mce=max_calibration_error(stats),
        num_samples=int(count.sum()))


def calibration_family(records: List[dict],
                       n_bins: int) -> Tuple[Dict[str, float], dict]:
    """Dataset ECE and MCE from per-image statistics, and the bins.

    Args:
        records (list[dict]): Per-image records holding ``cal_pos`` and
            ``cal_top``, the :func:`binned_calibration_stats` of
            :func:`positive_class_confidences` and
            :func:`top_label_confidences`.
        n_bins (int): Number of bins the statistics were taken with.

    Returns:
        tuple[dict, dict]: ``ECE``, ``MCE``, ``ECE_toplabel`` and
        ``MCE_toplabel``; and the :func:`reliability_diagram_data` of both
        conventions (``positive_class``, ``top_label``) with ``n_bins``.
    """
    pos = np.sum([r['cal_pos'] for r in records], axis=0)
    top = np.sum([r['cal_top'] for r in records], axis=0)
    scalars = {
        'ECE': expected_calibration_error(pos),
        'MCE': max_calibration_error(pos),
        'ECE_toplabel': expected_calibration_error(top),
        'MCE_toplabel': max_calibration_error(top),
    }
    bins = dict(
        n_bins=n_bins,
        note=('slot n_bins holds confidences exactly equal to 1.0, '
              'as in torchmetrics'),
        positive_class=reliability_diagram_data(pos),
        top_label=reliability_diagram_data(top))
    return scalars, bins
