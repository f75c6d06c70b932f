"""Scores from the pixel counts of each image: FoSp, size strata, alarms.

A per-image record holds ``num_valid`` (non-ignored pixels), ``num_gt``
(smoke pixels), ``num_pred`` (pixels predicted smoke), ``tp`` (both),
``sq_err`` (sum of the squared probability errors) and ``size_group``.
From these come

* the **FoSp protocol** (Yao et al., AAAI 2024, released ``cal_metrics``):
  per-image F1 (beta = 1), smoke IoU and MSE of the probability map,
  averaged over images (:func:`fosp_family`), in total and per size group
  (:func:`size_group_families`);
* dataset-pooled smoke IoU / F1 / precision / recall
  (:func:`pooled_family`);
* image-level smoke alarms (:func:`alarm_family`).
"""
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmsmoke.utils.size_groups import SIZE_GROUPS

#: Denominator floor of FoSp's per-image F-measure.
FOSP_F_EPS = 1e-3
#: How the per-image F1/IoU treat a smoke-free image.
EMPTY_GT_POLICIES = ('exclude', 'zero', 'match')


def fosp_scores(record: dict,
                empty_gt_policy: str) -> Optional[Tuple[float, float]]:
    """FoSp per-image (F1, IoU) or None when the image is excluded.

    FoSp's formula scores a smoke-free image F = IoU = 0 whatever the
    prediction (``'zero'``); ``'exclude'`` leaves such an image out and
    ``'match'`` scores it 1 when nothing is predicted, else 0.
    """
    num_gt, num_pred, tp = record['num_gt'], record['num_pred'], record['tp']
    if num_gt == 0:
        if empty_gt_policy == 'exclude':
            return None
        if empty_gt_policy == 'match':
            score = 1.0 if num_pred == 0 else 0.0
            return score, score
    precision = tp / max(1, num_pred)
    recall = tp / max(1, num_gt)
    f1 = 2 * precision * recall / max(precision + recall, FOSP_F_EPS)
    iou = tp / max(1, num_gt + num_pred - tp)
    return f1, iou


def fosp_family(records: List[dict],
                empty_gt_policy: str,
                key_prefix: str = '',
                with_count: bool = False) -> Dict[str, float]:
    """FoSp per-image means of F1, IoU, recall and MSE.

    Keys ``mIoU_img``, ``mF1_img``, ``mRecall_img``, ``mMSE_img`` (and
    ``num_images`` with ``with_count``), each prefixed with
    ``key_prefix``; a mean over no image is left out.
    """
    out: Dict[str, float] = {}
    if not records:
        return out
    scores = [
        s for s in (fosp_scores(r, empty_gt_policy) for r in records)
        if s is not None
    ]
    if scores:
        out[f'{key_prefix}mIoU_img'] = float(np.mean([s[1] for s in scores]))
        out[f'{key_prefix}mF1_img'] = float(np.mean([s[0] for s in scores]))
    # Share of each image's smoke pixels that are found (images with
    # smoke only): a model that misses small plumes scores ~0 in the
    # small stratum whatever its IoU elsewhere.
    recalls = [r['tp'] / r['num_gt'] for r in records if r['num_gt'] > 0]
    if recalls:
        out[f'{key_prefix}mRecall_img'] = float(np.mean(recalls))
    out[f'{key_prefix}mMSE_img'] = float(
        np.mean([r['sq_err'] / r['num_valid'] for r in records]))
    if with_count:
        out[f'{key_prefix}num_images'] = float(len(records))
    return out


def size_group_families(
        records: List[dict],
        empty_gt_policy: str) -> Tuple[Dict[str, float], List[tuple]]:
    """:func:`fosp_family` of each size stratum, keys ``<group>.<key>``.

    Returns:
        tuple: The metrics of all groups, and ``(group, family)`` for each
        group with images, in :data:`SIZE_GROUPS` order.
    """
    metrics: Dict[str, float] = {}
    group_rows = []
    for group in SIZE_GROUPS:
        members = [r for r in records if r['size_group'] == group]
        family = fosp_family(members, empty_gt_policy, f'{group}.', True)
        metrics.update(family)
        if family:
            group_rows.append((group, family))
    return metrics, group_rows


def pooled_family(records: List[dict]) -> Dict[str, float]:
    """Smoke IoU, F1, precision and recall of the pixels of all images."""
    tp = sum(r['tp'] for r in records)
    fp = sum(r['num_pred'] - r['tp'] for r in records)
    fn = sum(r['num_gt'] - r['tp'] for r in records)

    def ratio(num: float, den: float) -> float:
        return float(num / den) if den > 0 else float('nan')

    return {
        'IoU': ratio(tp, tp + fp + fn),
        'F1': ratio(2 * tp, 2 * tp + fp + fn),
        'Precision': ratio(tp, tp + fp),
        'Recall': ratio(tp, tp + fn),
    }


def raises_alarm(record: dict, min_alarm_area: float) -> bool:
    """Whether an image raises a smoke alarm.

    It does when at least one pixel, and at least ``min_alarm_area`` of its
    non-ignored pixels, are predicted smoke.
    """
    return (record['num_pred'] > 0
            and record['num_pred'] / record['num_valid'] >= min_alarm_area)


def alarm_family(records: List[dict],
                 min_alarm_area: float) -> Dict[str, float]:
    """Image counts and the image-level alarm rates.

    ``false_alarm_rate`` runs over the smoke-free images and
    ``detection_rate`` over the smoke images; each is left out when it
    would run over no image.
    """
    negatives = [r for r in records if r['num_gt'] == 0]
    positives = [r for r in records if r['num_gt'] > 0]
    out = {
        'num_images': float(len(records)),
        'num_negative_images': float(len(negatives)),
    }
    if negatives:
        out['false_alarm_rate'] = float(
            np.mean([raises_alarm(r, min_alarm_area) for r in negatives]))
    if positives:
        out['detection_rate'] = float(
            np.mean([raises_alarm(r, min_alarm_area) for r in positives]))
    return out
