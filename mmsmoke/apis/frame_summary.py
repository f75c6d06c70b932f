"""Per-frame smoke decision: probability, mask, area and presence score."""
import math
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmseg.structures import SegDataSample

from mmsmoke.evaluation.functional.frame_scores import (DEFAULT_TOPK,
                                                        frame_scores)

from mmsmoke.utils.sample_maps import extra_maps, smoke_probability


@dataclass
class FrameSummary:
    """What one image or video frame says about smoke.

    Attributes:
        prob (np.ndarray): (H, W) float32 smoke probability.
        mask (np.ndarray): (H, W) bool, ``prob > threshold``.
        smoke_area (float): Fraction of pixels in ``mask``.
        smoke_score (float): The presence score (see
            :func:`summarize_prediction`).
        smoke_present (bool): ``smoke_score > threshold``, or
            ``smoke_score > alarm_threshold`` at an operating point.
        threshold (float): Probability threshold used.
        maps (dict[str, np.ndarray]): Extra maps (C, H, W) by short name.
    """
    prob: np.ndarray
    mask: np.ndarray
    smoke_area: float
    smoke_score: float
    smoke_present: bool
    threshold: float
    maps: Dict[str, np.ndarray] = field(default_factory=dict)
    alarm_threshold: Optional[float] = None

    def map_means(self) -> Dict[str, float]:
        """Frame mean of every single-channel extra map (``<name>_mean``)."""
        return {
            f'{name}_mean': float(values.mean())
            for name, values in self.maps.items() if values.shape[0] == 1
        }


def presence_score(prob: np.ndarray, min_area: float = 0.0) -> float:
    """Probability that at least ``min_area`` of the frame exceeds.

    The score is the k-th largest pixel probability with
    ``k = max(1, ceil(min_area * H * W))``. Hence ``score > threshold``
    exactly when at least k pixels are above the threshold, i.e. the
    predicted smoke covers at least ``min_area`` of the frame (and at least
    one pixel). With ``min_area=0`` it is the maximum probability.

    Args:
        prob (np.ndarray): Smoke probabilities, any shape.
        min_area (float): Minimum smoke fraction in [0, 1].

    Returns:
        float: Score in [0, 1].
    """
    if not 0.0 <= min_area <= 1.0:
        raise ValueError(f'min_area must lie in [0, 1], got {min_area}')
    flat = np.asarray(prob, dtype=np.float32).ravel()
    if flat.size == 0:
        raise ValueError('empty probability map')
    k = max(1, math.ceil(min_area * flat.size - 1e-9))
    k = min(k, flat.size)
    return float(np.partition(flat, flat.size - k)[flat.size - k])


def summarize_prediction(
        sample: SegDataSample,
        threshold: float,
        min_area: float = 0.0,
        map_fields: Optional[Sequence[str]] = None,
        operating_point: Optional[dict] = None) -> FrameSummary:
    """Reduce a predicted sample to the per-frame smoke decision.

    Args:
        sample (SegDataSample): Prediction with ``seg_logits``.
        threshold (float): A pixel is smoke when its probability is strictly
            greater (MMSeg's rule); normally the model's threshold.
        min_area (float): Smoke must cover at least this fraction of the
            frame to count as present. Defaults to 0 (any pixel).
        map_fields (Sequence[str], optional): Extra maps to keep; None keeps
            every ``pred_*`` map.
        operating_point (dict, optional): A frame-alarm operating point
            (:func:`mmsmoke.evaluation.functional.read_operating_point`:
            ``score``, ``topk``, ``threshold``), chosen on training frames
            with ``FrameAlarmMetric`` and
            ``tools/analysis_tools/choose_operating_point.py``. The
            presence score is then that frame score
            (:func:`~mmsmoke.evaluation.functional.frame_scores`) and smoke
            is present when it is greater than the point's threshold, the
            decision the metric evaluated; the mask still uses
            ``threshold``. Exclusive with ``min_area``.

    Returns:
        FrameSummary: Probability, mask, area, presence score and maps.
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f'threshold must lie in [0, 1), got {threshold}')
    prob = smoke_probability(sample)
    mask = prob > threshold
    alarm_threshold = None
    if operating_point is None:
        score = presence_score(prob, min_area)
        present = score > threshold
    else:
        if min_area:
            raise ValueError('min_area and operating_point exclude each '
                             'other: the operating point has its own frame '
                             'score')
        topk = operating_point.get('topk')
        score = float(
            frame_scores(
                torch.from_numpy(np.ascontiguousarray(prob)),
                score=operating_point.get('score', 'max'),
                topk=DEFAULT_TOPK if topk is None else topk)[0])
        alarm_threshold = float(operating_point['threshold'])
        present = score > alarm_threshold
    return FrameSummary(
        prob=prob,
        mask=mask,
        smoke_area=float(mask.mean()),
        smoke_score=score,
        smoke_present=bool(present),
        threshold=float(threshold),
        maps=extra_maps(sample, map_fields),
        alarm_threshold=alarm_threshold)
