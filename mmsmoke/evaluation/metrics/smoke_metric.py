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

The per-image reading, the families and the tables are functions in
:mod:`mmsmoke.evaluation.functional` (``sample_inputs``, ``sod``,
``count_scores``, ``calibration``, ``reports``); this module keeps the
state: the records, the warnings and the files.
"""
import json
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist
from mmseg.registry import METRICS
from PIL import Image
from torch import Tensor

from mmsmoke.evaluation.functional.calibration import (
    binned_calibration_stats, calibration_family, positive_class_confidences,
    top_label_confidences)
from mmsmoke.evaluation.functional.count_scores import (EMPTY_GT_POLICIES,
                                                        alarm_family,
                                                        fosp_family,
                                                        pooled_family,
                                                        size_group_families)
from mmsmoke.evaluation.functional.reports import (per_image_rows,
                                                   size_group_table,
                                                   summary_table)
from mmsmoke.evaluation.functional.sample_inputs import (sample_mask,
                                                          sample_size_group)
from mmsmoke.evaluation.functional.sod import (probability_to_uint8,
                                               size_group_sod, sod_family,
                                               sod_scores)
from mmsmoke.evaluation.metrics.per_sample_metric import PerSampleMetric
from mmsmoke.utils.sample_maps import extra_maps, map_to_uint8
from mmsmoke.utils.size_groups import SIZE_THRESHOLDS


@METRICS.register_module()
class SmokeMetric(PerSampleMetric):
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
        threshold (float, optional): A pixel is predicted smoke when its
            probability is strictly greater than this (as in MMSeg's
            ``postprocess_result``). None takes the model's own mask
            (``pred_sem_seg``, made with the decode head's ``threshold``),
            so a config states its threshold once, in the head; the
            configs' evaluators do that. Used by the FoSp, pooled and alarm
            families and by the saved masks. Defaults to 0.5.
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

    EMPTY_GT_POLICIES = EMPTY_GT_POLICIES

    def __init__(self,
                 threshold: Optional[float] = 0.5,
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
        if threshold is not None and not 0.0 <= float(threshold) < 1.0:
            raise ValueError(
                f'threshold must lie in [0, 1) or be None, got '
                f'{threshold!r}.')
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
        self.threshold = None if threshold is None else float(threshold)
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
    def reduce_sample(self, sample: dict) -> dict:
        name, prob, gt, valid = self.read(sample)
        target = gt == 1
        pred = (prob > self.threshold if self.threshold is not None else
                sample_mask(sample, prob.shape))
        self._save_maps(sample, prob, pred)

        record = self.new_record(name, valid,
                                 ' (counted in num_unscored_images)')
        num_valid = record['num_valid']
        if num_valid == 0:
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
            size_group=sample_size_group(sample, num_gt / num_valid,
                                         self.size_thresholds),
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
            record['sod'] = sod_scores(prob, target, self.sod_beta_squared,
                                       self.sod_normalize)
        else:
            record['sod'] = None
        return record

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
        metrics.update(fosp_family(records, self.empty_gt_policy))
        metrics.update(sod_family(records))
        groups, group_rows = size_group_families(records, self.empty_gt_policy)
        metrics.update(groups)
        metrics.update(size_group_sod(records))
        metrics.update(pooled_family(records))
        calibration, bins = calibration_family(records, self.n_bins)
        metrics.update(calibration)
        metrics.update(alarm_family(records, self.min_alarm_area))
        if num_unscored:
            metrics['num_unscored_images'] = float(num_unscored)

        self._log_summary(metrics, group_rows)
        self._write_outputs(records, bins)
        if self.return_reliability_bins:
            metrics['reliability_bins'] = bins
        return metrics

    def _log_summary(self, metrics: Dict[str, object],
                     group_rows: List[Tuple[str, dict]]) -> None:
        print_log(
            'SmokeMetric summary:\n' + summary_table(metrics),
            logger='current')
        if group_rows:
            # every group's row reads its ``<group>.<key>`` columns, the
            # FoSp averages and the SOD scores, from the metrics
            table = size_group_table([(g, metrics) for g, _ in group_rows])
            print_log(
                'SmokeMetric per size group:\n' + table, logger='current')

    def _write_outputs(self, records: List[dict], bins: dict) -> None:
        if not self.output_dir:
            return
        mkdir_or_exist(self.output_dir)
        path = osp.join(self.output_dir, 'reliability_bins.json')
        with open(path, 'w') as f:
            json.dump(bins, f, indent=2)
        if not self.keep_results:
            return
        rows = per_image_rows(records, self.empty_gt_policy,
                              self.min_alarm_area)
        path = osp.join(self.output_dir, 'per_image_results.json')
        with open(path, 'w') as f:
            json.dump(rows, f, indent=2)
        print_log(
            f'SmokeMetric: per-image results written to {path}',
            logger='current')
