"""Salient-object scores of the SMOKE5K / Trans-BVM protocol.

Yan et al. (AAAI 2022) evaluate smoke like salient object detection:
max/mean/adaptive F-measure with beta^2 = 0.3, MAE, S-measure and
E-measure, here delegated to PySODMetrics (``FmeasureV2`` +
``FmeasureHandler``, ``MAE``, ``Smeasure``, ``Emeasure``) one image at a
time. :func:`sod_scores` reduces one image to its curves and scalars,
:func:`sod_family` averages them over the images.
"""
from typing import Dict, List, Sequence

import numpy as np
from py_sod_metrics import MAE, Emeasure, FmeasureHandler, FmeasureV2, Smeasure
from torch import Tensor

from mmsmoke.utils.sample_maps import map_to_uint8
from mmsmoke.utils.size_groups import SIZE_GROUPS

#: SOD scores reported per size stratum (``<group>.<key>``): the
#: threshold-free ranking (Fβ-max), the adaptive-threshold F and the MAE.
GROUP_SOD_KEYS = ('Fbeta_max', 'Fbeta_adp', 'MAE')


class EmptyQuadrantSafeSmeasure(Smeasure):
    """PySODMetrics' S-measure with empty quadrants scored 0, not NaN.

    The region term splits the map at the ground-truth centroid (+1, as in
    the MATLAB original). When the centroid lies on the last row or column,
    a quadrant is empty and has area weight 0, but PySODMetrics 1.6.2
    evaluates the mean of the empty slice, so the image's S-measure (and
    the dataset mean) becomes NaN. Here an empty quadrant contributes its
    weight-0 share, 0; every other image gets PySODMetrics' value unchanged.
    """

    def ssim(self, pred: np.ndarray, gt: np.ndarray) -> float:
        if pred.size == 0:
            return 0.0
        return super().ssim(pred, gt)


def probability_to_uint8(prob: np.ndarray) -> np.ndarray:
    """Quantise a probability map to an 8-bit grey image.

    This is what saving the map as a PNG does (``round(255 * p)``, computed
    in float64, halves to even) and is the input format of the SMOKE5K
    salient-object protocol.

    Args:
        prob (np.ndarray): (H, W) probabilities in [0, 1].

    Returns:
        np.ndarray: (H, W) uint8 array, as the extra maps are saved
        (:func:`mmsmoke.utils.sample_maps.map_to_uint8`).
    """
    return map_to_uint8(prob)


def sod_scores(prob: Tensor, target: Tensor, beta_squared: float,
               normalize: bool) -> dict:
    """Per-image SOD scores, computed by PySODMetrics.

    Args:
        prob (Tensor): (H, W) smoke probabilities.
        target (Tensor): (H, W) bool smoke mask.
        beta_squared (float): beta^2 of the F-measure (PySODMetrics'
            ``beta`` argument, which *is* beta^2).
        normalize (bool): True feeds uint8 maps (``round(255 * p)``) and
            lets PySODMetrics min-max normalise each map (the published
            protocol); False feeds raw float probabilities.

    Returns:
        dict: ``fm_curve`` and ``em_curve`` (256 thresholds), ``fm_adp``,
        ``mae``, ``sm`` and ``em_adp``.
    """
    prob_np = prob.detach().cpu().numpy()
    gt_np = target.cpu().numpy()
    if normalize:
        pred_in = probability_to_uint8(prob_np)
        gt_in = gt_np.astype(np.uint8) * 255
    else:
        pred_in = np.clip(prob_np.astype(np.float64), 0.0, 1.0)
        gt_in = gt_np.astype(bool)
    fmeasure = FmeasureV2(
        metric_handlers=dict(
            fm=FmeasureHandler(
                with_dynamic=True, with_adaptive=True, beta=beta_squared)))
    mae, emeasure = MAE(), Emeasure()
    smeasure = EmptyQuadrantSafeSmeasure()
    for metric in (fmeasure, mae, smeasure, emeasure):
        metric.step(pred_in, gt_in, normalize=normalize)
    fm = fmeasure.get_results()['fm']
    em = emeasure.get_results()['em']
    return dict(
        fm_curve=np.asarray(fm['dynamic'], dtype=np.float64),
        fm_adp=float(fm['adaptive']),
        mae=float(mae.get_results()['mae']),
        sm=float(smeasure.get_results()['sm']),
        em_curve=np.asarray(em['curve'], dtype=np.float64),
        em_adp=float(em['adp']))


def sod_family(records: List[dict]) -> Dict[str, float]:
    """Mean SOD scores over the records whose ``sod`` entry is not None.

    The F- and E-measure curves are averaged over the images before their
    maximum and mean are taken, as in PySODMetrics.

    Args:
        records (list[dict]): Per-image records with a ``sod`` entry
            (:func:`sod_scores` or None).

    Returns:
        dict[str, float]: ``Fbeta_max`` ... ``num_sod_images``; empty when
        no image has SOD scores.
    """
    sods = [r['sod'] for r in records if r.get('sod') is not None]
    if not sods:
        return {}
    fm_curve = np.mean([s['fm_curve'] for s in sods], axis=0)
    em_curve = np.mean([s['em_curve'] for s in sods], axis=0)
    return {
        'Fbeta_max': float(fm_curve.max()),
        'Fbeta_mean': float(fm_curve.mean()),
        'Fbeta_adp': float(np.mean([s['fm_adp'] for s in sods])),
        'MAE': float(np.mean([s['mae'] for s in sods])),
        'Smeasure': float(np.mean([s['sm'] for s in sods])),
        'Emeasure_max': float(em_curve.max()),
        'Emeasure_mean': float(em_curve.mean()),
        'Emeasure_adp': float(np.mean([s['em_adp'] for s in sods])),
        'num_sod_images': float(len(sods)),
    }


def size_group_sod(records: List[dict],
                   keys: Sequence[str] = GROUP_SOD_KEYS) -> Dict[str, float]:
    """:func:`sod_family` of each size stratum, keys ``<group>.<key>``.

    Each stratum's F-measure curve is averaged over its own images, so
    ``small.Fbeta_max`` is the best threshold *for the small plumes*. With
    the published per-image min-max normalisation it measures whether a
    model ranks a small plume above its own background, however low its
    probabilities are; the fixed-threshold ``small.mIoU_img`` measures
    whether it also crosses the threshold.

    Args:
        records (list[dict]): Per-image records with ``size_group`` and
            ``sod`` entries.
        keys (Sequence[str]): The :func:`sod_family` keys to report.
            Defaults to :data:`GROUP_SOD_KEYS`.

    Returns:
        dict[str, float]: ``<group>.<key>`` for every stratum with SOD
        scores, in :data:`SIZE_GROUPS` order.
    """
    metrics: Dict[str, float] = {}
    for group in SIZE_GROUPS:
        family = sod_family(
            [r for r in records if r.get('size_group') == group])
        metrics.update(
            {f'{group}.{key}': family[key]
             for key in keys if key in family})
    return metrics
