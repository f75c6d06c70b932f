"""The base of the metrics that reduce each data sample to a small record.

``SmokeMetric`` and ``FrameAlarmMetric`` read a sample the same way (the
image path, the smoke probability, the ground truth and its valid pixels,
:func:`~mmsmoke.evaluation.functional.sample_inputs.read_sample`) and keep
only a record of a few numbers per sample, which mmengine gathers across
ranks; each computes its metrics from those records.
"""
import logging
from typing import Sequence, Tuple

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from torch import Tensor

from mmsmoke.evaluation.functional.sample_inputs import read_sample


class PerSampleMetric(BaseMetric):
    """``process`` reduces every sample with :meth:`reduce_sample`.

    Subclasses implement :meth:`reduce_sample` (one sample dict to one
    record) and ``compute_metrics`` (records to metrics), and set
    ``ignore_index``.
    """

    ignore_index: int = 255

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        """Reduce each sample to its record.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Outputs of the model, as dicts
                (``SegDataSample.to_dict()``) or as ``SegDataSample``.
        """
        for sample in data_samples:
            if hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            self.results.append(self.reduce_sample(sample))

    def read(self, sample: dict) -> Tuple[str, Tensor, Tensor, Tensor]:
        """``(name, probability, ground truth, valid)`` of one sample, the
        pixels equal to ``ignore_index`` not valid."""
        return read_sample(sample, self.ignore_index)

    def new_record(self, name: str, valid: Tensor, note: str = '') -> dict:
        """The record's ``img_path`` and ``num_valid``; a warning when no
        pixel is valid, as the sample is then not scored (``note`` says
        where it is counted)."""
        num_valid = int(valid.sum())
        if num_valid == 0:
            print_log(
                f'{type(self).__name__}: every pixel of {name} is '
                f'ignore_index; the sample is not scored{note}.',
                logger='current',
                level=logging.WARNING)
        return dict(img_path=name, num_valid=num_valid)

    def reduce_sample(self, sample: dict) -> dict:
        """The record of one sample (a dict of a few numbers)."""
        raise NotImplementedError
