"""Evaluation metric for binary smoke segmentation.

One metric reports every number the smoke literature uses, each under the
protocol of the paper it comes from (full definitions in ``docs/metrics.md``):

1. **SMOKE5K / Trans-BVM salient-object protocol** (Yan et al., AAAI 2022,
   evaluated like salient object detection): max/mean/adaptive F-measure
   with beta^2 = 0.3, MAE, S-measure and E-measure, delegated to
   PySODMetrics (``FmeasureV2`` + ``FmeasureHandler``, ``MAE``,
   ``Smeasure``, ``Emeasure``) one image at a time.
2. **FoSp protocol** (Yao et al., AAAI 2024, released ``cal_metrics``):
   per-image F1 (beta = 1), smoke IoU and MSE of the probability map,
   averaged over images, in total and per size group.
3. Dataset-pooled smoke IoU / F1 / precision / recall.
4. Dense calibration: positive-class and top-label ECE and MCE from
   streamed fixed-bin statistics (numerically identical to torchmetrics).
5. Image-level smoke alarms: false-alarm rate on smoke-free images and
   detection rate on smoke images.

Deviations from the published protocols, and why:

* FoSp's released code thresholds at its decode head's ``threshold``
  (0.4 in its config); here the metric's own ``threshold`` is used for every
  threshold-based number (default 0.5) so that numbers do not silently
  depend on the model config. ``pred_sem_seg`` is not read.
* FoSp's formula scores a smoke-free image F = IoU = 0 whatever the
  prediction; by default such images are left out of the per-image F1/IoU
  averages and judged by the false-alarm rate instead (``empty_gt_policy``).
* The SOD family is undefined on smoke-free images (F = 0 at every
  threshold); by default it is computed on smoke images only
  (``sod_include_negatives``).
* PySODMetrics 1.6.2 returns a NaN S-measure when the ground-truth
  centroid lies on the last row or column (an empty quadrant of weight 0);
  such a quadrant contributes 0 here instead.
* PySODMetrics has no notion of ignored pixels and its S/E-measures need the
  full 2-D map, so ``ignore_index`` pixels count as background in the SOD
  family only (a warning is logged when it happens); every other family
  excludes them.
"""
import json
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist
from mmseg.registry import METRICS
from PIL import Image
from prettytable import PrettyTable
from py_sod_metrics import MAE, Emeasure, FmeasureHandler, FmeasureV2, Smeasure
from torch import Tensor

from mmsmoke.evaluation.functional.calibration import (
    binned_calibration_stats, expected_calibration_error,
    max_calibration_error, positive_class_confidences,
    reliability_diagram_data, top_label_confidences)
from mmsmoke.utils.sample_maps import extra_maps, map_to_uint8
from mmsmoke.utils.size_groups import SIZE_GROUPS, SIZE_THRESHOLDS, size_group

#: Denominator floor of FoSp's per-image F-measure.
_FOSP_F_EPS = 1e-3


class _EmptyQuadrantSafeSmeasure(Smeasure):
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


@METRICS.register_module()
class SmokeMetric(BaseMetric):
    """Smoke segmentation metric (SOD, FoSp, pooled, calibration, alarms).

    Each data sample (the dict form produced by mmengine's ``Evaluator``)
    must carry ``seg_logits`` at the original resolution, either one
    channel holding the smoke probability (what MMSeg's
    ``postprocess_result`` stores for ``out_channels=1``) or two channels
    holding logits (softmax channel 1 is the smoke probability), and
    ``gt_sem_seg`` with labels {0, 1} and ``ignore_index``. Each image is
    reduced at once to a record of a few hundred numbers, so memory does not
    grow with image size and the records gather cheaply under DDP.

    Args:
        threshold (float): A pixel is predicted smoke when its probability is
            strictly greater than this (as in MMSeg's ``postprocess_result``).
            Used by the FoSp, pooled and alarm families and by the saved
            masks. Defaults to 0.5.
        sod_beta_squared (float): beta^2 of the salient-object F-measure
            (PySODMetrics' ``beta`` argument, which *is* beta^2). Defaults to
            0.3, the SOD convention.
        sod_normalize (bool): True feeds PySODMetrics uint8 maps
            (``round(255 * p)``) and lets it min-max normalise each map, the
            published SMOKE5K protocol; False feeds raw float probabilities
            (no normalisation). Defaults to True.
        sod_include_negatives (bool): Also compute the SOD family on images
            without smoke in the ground truth (where F and E are degenerate).
            Defaults to False.
        empty_gt_policy (str): How the per-image F1/IoU treat a smoke-free
            image: ``'exclude'`` leaves it out of those averages;
            ``'zero'`` scores it 0 (FoSp's formula); ``'match'`` scores it 1
            when nothing is predicted and 0 otherwise. The per-image MSE
            always covers every image. Defaults to ``'exclude'``.
        n_bins (int): Number of equal-width calibration bins. Defaults to 15
            (torchmetrics' default).
        size_thresholds (Sequence[float]): Small/medium and medium/large
            cut points on the ground-truth smoke fraction, used when a sample
            carries no ``size_group``. Defaults to
            :data:`mmsmoke.utils.size_groups.SIZE_THRESHOLDS`.
        min_alarm_area (float): An image raises a smoke alarm when at least
            this fraction of its (non-ignored) pixels is predicted smoke, and
            at least one pixel is. Defaults to 0.0 (any pixel).
        ignore_index (int): Ground-truth label excluded from the pixel
            statistics. Defaults to 255.
        return_reliability_bins (bool): Add the reliability-diagram data
            (lists) under the key ``reliability_bins``. Defaults to True.
        output_dir (str, optional): When set, the binary mask (0/255 PNG,
            ``pred_masks/<stem>.png``), the probability map (uint8 PNG,
            ``prob_maps/<stem>.png``) and the model's extra maps
            (``maps/<map>/<stem>.png`` as ``round(255 * v)``: Trans-BVM's
            ``uncertainty_total``/``_aleatoric``/``_epistemic``, FoSp's
            ``focus``, ``alpha``, RGB ``foreground``/``background``) of every
            image are saved there, and ``reliability_bins.json`` after
            evaluation. Defaults to None.
        keep_results (bool): Also write the per-image scores to
            ``output_dir/per_image_results.json`` (MMSeg's ``tools/test.py
            --out`` sets it together with ``output_dir``). Defaults to False.
        collect_device (str): Device used to gather results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix added to every metric name.
            Defaults to None.
    """

    EMPTY_GT_POLICIES = ('exclude', 'zero', 'match')

    def __init__(self,
                 threshold: float = 0.5,
                 sod_beta_squared: float = 0.3,
                 sod_normalize: bool = True,
                 sod_include_negatives: bool = False,
                 empty_gt_policy: str = 'exclude',
                 n_bins: int = 15,
                 size_thresholds: Sequence[float] = SIZE_THRESHOLDS,
                 min_alarm_area: float = 0.0,
                 ignore_index: int = 255,
                 return_reliability_bins: bool = True,
                 output_dir: Optional[str] = None,
                 keep_results: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0.0 <= float(threshold) < 1.0:
            raise ValueError(
                f'threshold must lie in [0, 1), got {threshold!r}.')
        if not float(sod_beta_squared) > 0:
            raise ValueError('sod_beta_squared must be positive, got '
                             f'{sod_beta_squared!r}.')
        if empty_gt_policy not in self.EMPTY_GT_POLICIES:
            raise ValueError(f'empty_gt_policy must be one of '
                             f'{self.EMPTY_GT_POLICIES}, got '
                             f'{empty_gt_policy!r}.')
        if (isinstance(n_bins, bool) or not isinstance(n_bins, int)
                or n_bins < 1):
            raise ValueError(
                f'n_bins must be a positive integer, got {n_bins!r}.')
        size_thresholds = tuple(float(t) for t in size_thresholds)
        if (len(size_thresholds) != 2
                or not 0 < size_thresholds[0] < size_thresholds[1] <= 1):
            raise ValueError('size_thresholds must be two increasing '
                             'fractions in (0, 1], got '
                             f'{size_thresholds!r}.')
        if not 0.0 <= float(min_alarm_area) <= 1.0:
            raise ValueError('min_alarm_area must be a fraction in [0, 1], '
                             f'got {min_alarm_area!r}.')
        if ignore_index in (0, 1):
            raise ValueError('ignore_index must differ from the labels 0 '
                             f'and 1, got {ignore_index!r}.')
        if keep_results and not output_dir:
            raise ValueError('keep_results=True needs output_dir to write '
                             'per_image_results.json into.')
        self.threshold = float(threshold)
        self.sod_beta_squared = float(sod_beta_squared)
        self.sod_normalize = bool(sod_normalize)
        self.sod_include_negatives = bool(sod_include_negatives)
        self.empty_gt_policy = empty_gt_policy
        self.n_bins = n_bins
        self.size_thresholds: Tuple[float, float] = size_thresholds
        self.min_alarm_area = float(min_alarm_area)
        self.ignore_index = ignore_index
        self.return_reliability_bins = bool(return_reliability_bins)
        self.output_dir = output_dir
        self.keep_results = bool(keep_results)
        self._warned_ignore_sod = False
        if self.output_dir and is_main_process():
            mkdir_or_exist(self.output_dir)

    # ------------------------------------------------------------------
    # per-image reduction
    # ------------------------------------------------------------------
    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        """Reduce each prediction/ground-truth pair to a small record.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Outputs of the model, as dicts
                (``SegDataSample.to_dict()``) or as ``SegDataSample``.
        """
        for sample in data_samples:
            if hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            self.results.append(self._reduce_sample(sample))

    @staticmethod
    def _name(sample: dict) -> str:
        return str(sample.get('img_path', '<image without img_path>'))

    def _probability(self, sample: dict) -> Tensor:
        name = self._name(sample)
        if 'seg_logits' not in sample:
            raise KeyError(f'{name}: SmokeMetric needs seg_logits (the smoke '
                           'probability map); the data sample has only '
                           f'{sorted(sample.keys())}.')
        logits = sample['seg_logits']['data']
        if not isinstance(logits, Tensor):
            logits = torch.as_tensor(logits)
        if logits.ndim != 3 or logits.shape[0] not in (1, 2):
            raise ValueError(f'{name}: seg_logits must have shape (1, H, W) '
                             '(probabilities) or (2, H, W) (logits), got '
                             f'{tuple(logits.shape)}.')
        logits = logits.float()
        two_channel = logits.shape[0] == 2
        prob = logits.softmax(dim=0)[1] if two_channel else logits[0]
        lo, hi = float(prob.min()), float(prob.max())
        # NaN fails both comparisons.
        if not (0.0 <= lo and hi <= 1.0):
            what = ('two-channel seg_logits gave non-finite probabilities'
                    if two_channel else
                    'one-channel seg_logits must hold probabilities in '
                    '[0, 1] (MMSeg applies the sigmoid)')
            raise ValueError(f'{name}: {what}, got values in '
                             f'[{lo:.4g}, {hi:.4g}].')
        return prob

    def _ground_truth(self, sample: dict, shape: torch.Size,
                      device: torch.device) -> Tensor:
        name = self._name(sample)
        if 'gt_sem_seg' not in sample:
            raise KeyError(f'{name}: SmokeMetric needs gt_sem_seg.')
        gt = sample['gt_sem_seg']['data']
        if not isinstance(gt, Tensor):
            gt = torch.as_tensor(gt)
        if gt.ndim == 3 and gt.shape[0] == 1:
            gt = gt[0]
        if tuple(gt.shape) != tuple(shape):
            raise ValueError(
                f'{name}: ground truth shape {tuple(gt.shape)} differs from '
                f'the prediction shape {tuple(shape)}; predictions must be '
                'at the original image resolution.')
        gt = gt.to(device=device, dtype=torch.long)
        bad = (gt != 0) & (gt != 1) & (gt != self.ignore_index)
        if bool(bad.any()):
            values = torch.unique(gt[bad])[:8].tolist()
            raise ValueError(
                f'{name}: ground truth contains labels {values} besides 0, '
                f'1 and ignore_index={self.ignore_index}; smoke masks must '
                'be {0, 1} (map 0/255 masks to 0/1 when loading).')
        return gt

    def _size_group(self, sample: dict, fraction: float) -> str:
        group = sample.get('size_group')
        if group is None:
            return size_group(fraction, self.size_thresholds)
        if group not in SIZE_GROUPS + ('none', ):
            raise ValueError(
                f'{self._name(sample)}: size_group must be one of '
                f'{SIZE_GROUPS + ("none", )}, got {group!r}.')
        return group

    def _reduce_sample(self, sample: dict) -> dict:
        name = self._name(sample)
        prob = self._probability(sample)
        gt = self._ground_truth(sample, prob.shape, prob.device)
        valid = gt != self.ignore_index
        target = gt == 1
        pred = prob > self.threshold
        self._save_maps(sample, prob, pred)

        num_valid = int(valid.sum())
        record = dict(img_path=name, num_valid=num_valid)
        if num_valid == 0:
            print_log(
                f'SmokeMetric: every pixel of {name} is ignore_index; the '
                'image is not scored (counted in num_unscored_images).',
                logger='current',
                level=logging.WARNING)
            return record

        all_valid = num_valid == valid.numel()
        p_v = prob if all_valid else prob[valid]
        t_v = target if all_valid else target[valid]
        pred_v = pred if all_valid else pred[valid]
        num_gt = int(t_v.sum())
        num_pred = int(pred_v.sum())
        tp = int((pred_v & t_v).sum())
        sq_err = float(((p_v.double() - t_v.double())**2).sum())
        record.update(
            size_group=self._size_group(sample, num_gt / num_valid),
            num_gt=num_gt,
            num_pred=num_pred,
            tp=tp,
            sq_err=sq_err,
            cal_pos=binned_calibration_stats(
                *positive_class_confidences(p_v, t_v), self.n_bins),
            cal_top=binned_calibration_stats(*top_label_confidences(p_v, t_v),
                                             self.n_bins))
        if num_gt > 0 or self.sod_include_negatives:
            if not all_valid and not self._warned_ignore_sod:
                print_log(
                    'SmokeMetric: ignore_index pixels count as background '
                    'in the SOD metrics (PySODMetrics needs whole maps); '
                    'all other metrics exclude them.',
                    logger='current',
                    level=logging.WARNING)
                self._warned_ignore_sod = True
            record['sod'] = self._sod_record(prob, target)
        else:
            record['sod'] = None
        return record

    def _sod_record(self, prob: Tensor, target: Tensor) -> dict:
        """Per-image SOD scores, computed by PySODMetrics."""
        prob_np = prob.detach().cpu().numpy()
        gt_np = target.cpu().numpy()
        if self.sod_normalize:
            pred_in = probability_to_uint8(prob_np)
            gt_in = gt_np.astype(np.uint8) * 255
        else:
            pred_in = np.clip(prob_np.astype(np.float64), 0.0, 1.0)
            gt_in = gt_np.astype(bool)
        fmeasure = FmeasureV2(
            metric_handlers=dict(
                fm=FmeasureHandler(
                    with_dynamic=True,
                    with_adaptive=True,
                    beta=self.sod_beta_squared)))
        mae, emeasure = MAE(), Emeasure()
        smeasure = _EmptyQuadrantSafeSmeasure()
        for metric in (fmeasure, mae, smeasure, emeasure):
            metric.step(pred_in, gt_in, normalize=self.sod_normalize)
        fm = fmeasure.get_results()['fm']
        em = emeasure.get_results()['em']
        return dict(
            fm_curve=np.asarray(fm['dynamic'], dtype=np.float64),
            fm_adp=float(fm['adaptive']),
            mae=float(mae.get_results()['mae']),
            sm=float(smeasure.get_results()['sm']),
            em_curve=np.asarray(em['curve'], dtype=np.float64),
            em_adp=float(em['adp']))

    def _save_maps(self, sample: dict, prob: Tensor, pred: Tensor) -> None:
        if not self.output_dir:
            return
        if 'img_path' not in sample:
            raise KeyError('SmokeMetric with output_dir needs img_path in '
                           'the data sample to name the saved maps.')
        stem = osp.splitext(osp.basename(sample['img_path']))[0]
        mask = pred.cpu().numpy().astype(np.uint8) * 255
        prob_u8 = probability_to_uint8(prob.detach().cpu().numpy())
        images = [('pred_masks', mask), ('prob_maps', prob_u8)]
        # the model's extra maps (uncertainty, focus, separation layers)
        images += [(osp.join('maps', name), map_to_uint8(values))
                   for name, values in extra_maps(sample).items()]
        for sub, image in images:
            folder = osp.join(self.output_dir, sub)
            mkdir_or_exist(folder)
            Image.fromarray(image).save(osp.join(folder, f'{stem}.png'))

    # ------------------------------------------------------------------
    # aggregation
    # ------------------------------------------------------------------
    def _alarm(self, r: dict) -> bool:
        return (r['num_pred'] > 0
                and r['num_pred'] / r['num_valid'] >= self.min_alarm_area)

    def _fosp_scores(self, r: dict) -> Optional[Tuple[float, float]]:
        """FoSp per-image (F1, IoU) or None when the image is excluded."""
        num_gt, num_pred, tp = r['num_gt'], r['num_pred'], r['tp']
        if num_gt == 0:
            if self.empty_gt_policy == 'exclude':
                return None
            if self.empty_gt_policy == 'match':
                score = 1.0 if num_pred == 0 else 0.0
                return score, score
        precision = tp / max(1, num_pred)
        recall = tp / max(1, num_gt)
        f1 = 2 * precision * recall / max(precision + recall, _FOSP_F_EPS)
        iou = tp / max(1, num_gt + num_pred - tp)
        return f1, iou

    def _fosp_family(self,
                     records: List[dict],
                     key_prefix: str = '',
                     with_count: bool = False) -> Dict[str, float]:
        out: Dict[str, float] = {}
        if not records:
            return out
        scores = [s for s in map(self._fosp_scores, records) if s is not None]
        if scores:
            out[f'{key_prefix}mIoU_img'] = float(
                np.mean([s[1] for s in scores]))
            out[f'{key_prefix}mF1_img'] = float(
                np.mean([s[0] for s in scores]))
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

    @staticmethod
    def _sod_family(records: List[dict]) -> Dict[str, float]:
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

    @staticmethod
    def _pooled_family(records: List[dict]) -> Dict[str, float]:
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

    def _calibration_family(self, records: List[dict]) -> Tuple[dict, dict]:
        pos = np.sum([r['cal_pos'] for r in records], axis=0)
        top = np.sum([r['cal_top'] for r in records], axis=0)
        scalars = {
            'ECE': expected_calibration_error(pos),
            'MCE': max_calibration_error(pos),
            'ECE_toplabel': expected_calibration_error(top),
            'MCE_toplabel': max_calibration_error(top),
        }
        bins = dict(
            n_bins=self.n_bins,
            note=('slot n_bins holds confidences exactly equal to 1.0, '
                  'as in torchmetrics'),
            positive_class=reliability_diagram_data(pos),
            top_label=reliability_diagram_data(top))
        return scalars, bins

    def _alarm_family(self, records: List[dict]) -> Dict[str, float]:
        negatives = [r for r in records if r['num_gt'] == 0]
        positives = [r for r in records if r['num_gt'] > 0]
        out = {
            'num_images': float(len(records)),
            'num_negative_images': float(len(negatives)),
        }
        if negatives:
            out['false_alarm_rate'] = float(
                np.mean([self._alarm(r) for r in negatives]))
        if positives:
            out['detection_rate'] = float(
                np.mean([self._alarm(r) for r in positives]))
        return out

    def compute_metrics(self, results: list) -> Dict[str, object]:
        """Aggregate the per-image records.

        Args:
            results (list): The records built by :meth:`process`, gathered
                from all ranks.

        Returns:
            dict: Flat mapping from metric name to float (and, when
            ``return_reliability_bins``, ``reliability_bins`` to a dict of
            lists). Keys whose average would run over no image are omitted;
            see ``docs/metrics.md``. The first key is ``mIoU_img`` when it
            exists, so that ``save_best='auto'`` selects it.
        """
        records = [r for r in results if r['num_valid'] > 0]
        num_unscored = len(results) - len(records)
        metrics: Dict[str, object] = {}
        if not records:
            print_log(
                'SmokeMetric: no image could be scored.',
                logger='current',
                level=logging.WARNING)
            metrics['num_images'] = 0.0
            if num_unscored:
                metrics['num_unscored_images'] = float(num_unscored)
            return metrics

        # mIoU_img comes first: mmengine's CheckpointHook(save_best='auto')
        # picks the first key and infers 'greater' from its name.
        metrics.update(self._fosp_family(records))
        metrics.update(self._sod_family(records))
        group_rows = []
        for group in SIZE_GROUPS:
            members = [r for r in records if r['size_group'] == group]
            family = self._fosp_family(members, f'{group}.', True)
            metrics.update(family)
            if family:
                group_rows.append((group, family))
        metrics.update(self._pooled_family(records))
        calibration, bins = self._calibration_family(records)
        metrics.update(calibration)
        metrics.update(self._alarm_family(records))
        if num_unscored:
            metrics['num_unscored_images'] = float(num_unscored)

        self._log_summary(metrics, group_rows)
        self._write_outputs(records, bins)
        if self.return_reliability_bins:
            metrics['reliability_bins'] = bins
        return metrics

    def _log_summary(self, metrics: Dict[str, object],
                     group_rows: List[Tuple[str, dict]]) -> None:
        table = PrettyTable(field_names=['Metric', 'Value'])
        table.align['Metric'] = 'l'
        for key, value in metrics.items():
            if '.' in key:
                continue
            table.add_row([key, f'{value:.4f}'])
        print_log(
            'SmokeMetric summary:\n' + table.get_string(), logger='current')
        if group_rows:
            cols = [
                'num_images', 'mF1_img', 'mIoU_img', 'mRecall_img', 'mMSE_img'
            ]
            groups = PrettyTable(field_names=['Size group'] + cols)
            for group, family in group_rows:
                row = [group]
                for col in cols:
                    value = family.get(f'{group}.{col}')
                    row.append('-' if value is None else f'{value:.4f}')
                groups.add_row(row)
            print_log(
                'SmokeMetric per size group:\n' + groups.get_string(),
                logger='current')

    def _write_outputs(self, records: List[dict], bins: dict) -> None:
        if not self.output_dir:
            return
        mkdir_or_exist(self.output_dir)
        path = osp.join(self.output_dir, 'reliability_bins.json')
        with open(path, 'w') as f:
            json.dump(bins, f, indent=2)
        if not self.keep_results:
            return
        rows = []
        for r in records:
            scores = self._fosp_scores(r)
            sod = r.get('sod')
            rows.append(
                dict(
                    img_path=r['img_path'],
                    size_group=r['size_group'],
                    num_valid_pixels=r['num_valid'],
                    gt_fraction=r['num_gt'] / r['num_valid'],
                    pred_fraction=r['num_pred'] / r['num_valid'],
                    F1=None if scores is None else scores[0],
                    IoU=None if scores is None else scores[1],
                    MSE=r['sq_err'] / r['num_valid'],
                    alarm=self._alarm(r),
                    Fbeta_adp=None if sod is None else sod['fm_adp'],
                    MAE_sod=None if sod is None else sod['mae'],
                    Smeasure=None if sod is None else sod['sm'],
                    Emeasure_adp=None if sod is None else sod['em_adp']))
        path = osp.join(self.output_dir, 'per_image_results.json')
        with open(path, 'w') as f:
            json.dump(rows, f, indent=2)
        print_log(
            f'SmokeMetric: per-image results written to {path}',
            logger='current')
