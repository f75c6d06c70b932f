"""Frame-level smoke alarm metric: one score and one decision per frame.

``SmokeMetric``'s ``false_alarm_rate`` uses the rule "any pixel above the
pixel threshold", a single operating point that a few hot pixels decide.
A camera needs instead a per-frame smoke score, its ranking quality
(frame AP, AUROC, detection rate at a low false-alarm rate) and an
operating point chosen on training data. This metric reports those numbers
and can be listed next to ``SmokeMetric`` in ``val_evaluator`` /
``test_evaluator``; its keys (``frame_*``) do not collide with
``SmokeMetric``'s. Definitions: ``docs/metrics.md``, "Frame-level alarms".

Nothing here assumes a dataset: a frame is positive when its ground truth
has smoke, so the metric applies alike to SMOKE5K, SmokeSeg, the
smoke-free protocol of ``tools/dataset_converters/smoke5k_frames.py`` and
the synthetic set with its cloud, fog and haze negatives.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist
from mmseg.registry import METRICS

from mmsmoke.evaluation.functional.frame_alarms import (
    DEFAULT_FPR_TARGETS, NEGATIVE, POSITIVE, frame_label, frame_ranking_family,
    load_operating_point, operating_point_family)
from mmsmoke.evaluation.functional.frame_scores import (DEFAULT_TOPK,
                                                        FRAME_SCORES,
                                                        check_topk,
                                                        frame_scores)
from mmsmoke.evaluation.functional.reports import summary_table
from mmsmoke.evaluation.functional.sample_inputs import sample_size_group
from mmsmoke.evaluation.metrics.per_sample_metric import PerSampleMetric
from mmsmoke.utils.size_groups import SIZE_GROUPS, SIZE_THRESHOLDS

#: Name of the per-frame file written to ``output_dir``.
FRAME_SCORES_FILE = 'frame_scores.json'


@METRICS.register_module()
class FrameAlarmMetric(PerSampleMetric):
    """Frame-level smoke alarms: frame score, AP/AUROC, TPR at low FPR.

    Each data sample is read like ``SmokeMetric`` reads it (``seg_logits``
    at the original resolution, one probability or two logit channels;
    ``gt_sem_seg`` with {0, 1, ignore_index}) and reduced at once to a
    record of a few numbers (score, smoke and valid pixel counts, size
    group), which mmengine gathers across ranks.

    Definitions (see ``docs/metrics.md``):

    * the frame score is :func:`~mmsmoke.evaluation.functional.frame_scores`
      of the non-ignored pixels (``score``, ``topk``);
    * a frame is positive when it has at least ``min_smoke_pixels``
      non-ignored smoke pixels, negative (smoke-free) when it has none, and
      excluded from the frame metrics otherwise;
    * a frame raises an alarm when its score is strictly greater than the
      operating point.

    Deviations from ``SmokeMetric``'s conventions, and why: a rate over no
    frame is reported as NaN (with a logged warning) instead of being
    omitted, so the key set does not depend on the data and a validation
    subset without negatives does not break a log parser or a
    ``save_best`` key.

    Args:
        score (str): Frame score, one of ``'max'``, ``'topk_mean'`` and
            ``'kth'``. Defaults to ``'max'``, whose threshold sweep is the
            "any pixel above the threshold" rule of ``SmokeMetric``.
        topk (int | float): ``k`` of ``'topk_mean'`` / ``'kth'``: a pixel
            count (int >= 1) or a fraction of the non-ignored pixels (float
            in (0, 1]). Ignored by ``'max'``. Defaults to 0.001.
        fpr_targets (Sequence[float]): False-alarm rates at which the
            detection rate is reported (``frame_TPR_at_FPR1``, ...).
            Defaults to (0.01, 0.05).
        alarm_threshold (float, optional): A fixed operating point on the
            score: adds the detection rate (in total and per size group) and
            the false-alarm rate at it. Defaults to None.
        operating_point (str, optional): An operating-point JSON file
            written by ``tools/analysis_tools/choose_operating_point.py``
            on training data, used like ``alarm_threshold``; its ``score``,
            ``topk`` and ``min_smoke_pixels`` must equal this metric's.
            Exclusive with ``alarm_threshold``. Defaults to None.
        min_smoke_pixels (int): Smoke pixels a frame needs to count as
            positive. Defaults to 1.
        size_thresholds (Sequence[float]): Small/medium and medium/large
            cut points on the smoke fraction, used when a sample carries no
            ``size_group`` (as in ``SmokeMetric``). Defaults to
            :data:`mmsmoke.utils.size_groups.SIZE_THRESHOLDS`.
        ignore_index (int): Ground-truth label left out of the scores and
            the pixel counts. Defaults to 255.
        output_dir (str, optional): When set, the per-frame scores and
            labels are written to ``output_dir/frame_scores.json``, the
            input of ``choose_operating_point.py``. Defaults to None.
        keep_results (bool): Accepted for ``tools/test.py --out``, which
            sets it together with ``output_dir``; the file is written
            whenever ``output_dir`` is set. Defaults to False.
        collect_device (str): Device used to gather results across ranks.
            Defaults to ``'cpu'``.
        prefix (str, optional): Prefix added to every key, e.g. to list two
            instances with different scores. Defaults to None.
    """

    def __init__(self,
                 score: str = 'max',
                 topk: Union[int, float] = DEFAULT_TOPK,
                 fpr_targets: Sequence[float] = DEFAULT_FPR_TARGETS,
                 alarm_threshold: Optional[float] = None,
                 operating_point: Optional[str] = None,
                 min_smoke_pixels: int = 1,
                 size_thresholds: Sequence[float] = SIZE_THRESHOLDS,
                 ignore_index: int = 255,
                 output_dir: Optional[str] = None,
                 keep_results: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        name = type(self).__name__
        if score not in FRAME_SCORES:
            raise ValueError(f'{name}: score must be one of {FRAME_SCORES}, '
                             f'got {score!r}.')
        check_topk(topk, f'{name}: topk')
        fpr_targets = tuple(float(t) for t in fpr_targets)
        if not all(0.0 <= t < 1.0 for t in fpr_targets):
            raise ValueError(f'{name}: fpr_targets must lie in [0, 1), got '
                             f'{fpr_targets!r}.')
        if (isinstance(min_smoke_pixels, bool)
                or not isinstance(min_smoke_pixels, int)
                or min_smoke_pixels < 1):
            raise ValueError(f'{name}: min_smoke_pixels must be an integer '
                             f'>= 1, got {min_smoke_pixels!r}.')
        size_thresholds = tuple(float(t) for t in size_thresholds)
        if (len(size_thresholds) != 2
                or not 0 < size_thresholds[0] < size_thresholds[1] <= 1):
            raise ValueError(f'{name}: size_thresholds must be two '
                             'increasing fractions in (0, 1], got '
                             f'{size_thresholds!r}.')
        if ignore_index in (0, 1):
            raise ValueError(f'{name}: ignore_index must differ from the '
                             f'labels 0 and 1, got {ignore_index!r}.')
        self.score = score
        # the score's settings, as recorded in frame_scores.json and
        # compared with an operating-point file
        self.topk = None if score == 'max' else topk
        self.fpr_targets = fpr_targets
        self.min_smoke_pixels = min_smoke_pixels
        self.size_thresholds = size_thresholds
        self.ignore_index = ignore_index
        self.output_dir = output_dir
        self.keep_results = bool(keep_results)
        if alarm_threshold is not None and operating_point is not None:
            raise ValueError(f'{name}: set alarm_threshold or '
                             'operating_point, not both.')
        if operating_point is not None:
            alarm_threshold = load_operating_point(operating_point,
                                                   **self.settings())
        if alarm_threshold is not None:
            alarm_threshold = float(alarm_threshold)
            if not 0.0 <= alarm_threshold <= 1.0:
                raise ValueError(f'{name}: alarm_threshold must lie in '
                                 f'[0, 1], got {alarm_threshold!r}.')
        self.alarm_threshold = alarm_threshold
        self.operating_point = operating_point

    def settings(self) -> dict:
        """The score's settings (``score``, ``topk``, ``min_smoke_pixels``),
        which an operating point is tied to."""
        return dict(
            score=self.score,
            topk=self.topk,
            min_smoke_pixels=self.min_smoke_pixels)

    # ------------------------------------------------------------------
    def reduce_sample(self, sample: dict) -> dict:
        name, prob, gt, valid = self.read(sample)
        record = self.new_record(name, valid)
        num_valid = record['num_valid']
        if num_valid == 0:
            return record
        num_smoke = int((gt == 1).sum())
        score = frame_scores(
            prob, None if num_valid == valid.numel() else valid, self.score,
            self.topk if self.topk is not None else DEFAULT_TOPK)
        record.update(
            score=float(score[0]),
            num_smoke=num_smoke,
            label=frame_label(num_smoke, self.min_smoke_pixels),
            size_group=sample_size_group(sample, num_smoke / num_valid,
                                         self.size_thresholds))
        return record

    # ------------------------------------------------------------------
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Frame metrics of the gathered records.

        Returns:
            dict: ``frame_AP`` (first, so ``save_best='auto'`` would pick
            it; give ``rule='greater'``), ``frame_AUROC``,
            ``frame_TPR_at_FPR<x>``, the frame counts, and with an
            operating point ``frame_alarm_threshold``,
            ``frame_detection_rate``, ``frame_false_alarm_rate`` and
            ``<group>.frame_detection_rate``.
        """
        records = [r for r in results if r['num_valid'] > 0]
        scores = [r['score'] for r in records]
        labels = [r['label'] for r in records]
        positive = [r for r in records if r['label'] == POSITIVE]
        metrics = frame_ranking_family(scores, labels, self.fpr_targets)
        metrics.update(
            frame_num_positive=float(len(positive)),
            frame_num_negative=float(labels.count(NEGATIVE)),
            frame_num_excluded=float(
                len(records) - len(positive) - labels.count(NEGATIVE)),
            frame_num_unscored=float(len(results) - len(records)))
        for group in SIZE_GROUPS:
            metrics[f'{group}.frame_num_positive'] = float(
                sum(r['size_group'] == group for r in positive))
        if self.alarm_threshold is not None:
            metrics.update(
                operating_point_family(scores, labels, self.alarm_threshold,
                                       [r['size_group'] for r in records]))
        print_log(
            f'{type(self).__name__} ({self._describe()}):\n' +
            summary_table(metrics),
            logger='current')
        self._write_scores(records)
        return metrics

    def _describe(self) -> str:
        text = f'score={self.score}'
        if self.topk is not None:
            text += f', topk={self.topk}'
        if self.operating_point is not None:
            text += f', operating point from {self.operating_point}'
        return text

    def _write_scores(self, records: List[dict]) -> None:
        if not self.output_dir:
            return
        mkdir_or_exist(self.output_dir)
        path = osp.join(self.output_dir, FRAME_SCORES_FILE)
        frames = [
            dict(
                img_path=r['img_path'],
                score=r['score'],
                label=r['label'],
                num_smoke_pixels=r['num_smoke'],
                num_valid_pixels=r['num_valid'],
                size_group=r['size_group']) for r in records
        ]
        with open(path, 'w') as f:
            json.dump(
                dict(self.settings(), frames=frames),
                f,
                indent=1,
                allow_nan=True)
        print_log(
            f'{type(self).__name__}: per-frame scores written to {path}',
            logger='current')
