"""Read and check the prediction and ground truth of one data sample.

The data sample is the dict form produced by mmengine's ``Evaluator``
(``SegDataSample.to_dict()``). Every error names the image.
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor

from mmsmoke.utils.size_groups import SIZE_GROUPS, size_group


def sample_name(sample: dict) -> str:
    """The image path of a data sample, for messages and records."""
    return str(sample.get('img_path', '<image without img_path>'))


def sample_probability(sample: dict) -> Tensor:
    """The (H, W) smoke probability of a data sample's ``seg_logits``.

    ``seg_logits`` holds either one channel with the smoke probability
    (what MMSeg's ``postprocess_result`` stores for ``out_channels=1``) or
    two channels with logits (softmax channel 1 is the smoke probability).
    """
    name = sample_name(sample)
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


def _label_map(sample: dict, key: str, shape: Sequence[int],
               hint: str = '') -> Tensor:
    """The (H, W) map ``sample[key]['data']`` ((1, H, W) or (H, W)), which
    must have the prediction's ``shape``; ``hint`` ends the error."""
    value = sample[key]['data']
    if not isinstance(value, Tensor):
        value = torch.as_tensor(value)
    if value.ndim == 3 and value.shape[0] == 1:
        value = value[0]
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f'{sample_name(sample)}: {key} shape '
                         f'{tuple(value.shape)} differs from the prediction '
                         f'shape {tuple(shape)}{hint}.')
    return value


def sample_mask(sample: dict, shape: Sequence[int]) -> Tensor:
    """The (H, W) bool smoke mask the model predicted (``pred_sem_seg``).

    That is the decode head's ``threshold`` applied to the probability
    (arg-max for two channels), as the model's ``postprocess_result``
    made it.
    """
    name = sample_name(sample)
    if 'pred_sem_seg' not in sample:
        raise KeyError(f'{name}: SmokeMetric(threshold=None) reads the '
                       'model\'s mask, pred_sem_seg, which the data sample '
                       'lacks; set the metric\'s threshold in the config '
                       '(val_evaluator / test_evaluator).')
    mask = _label_map(sample, 'pred_sem_seg', shape)
    return mask == 1


def sample_ground_truth(sample: dict, shape: Sequence[int],
                        device: torch.device, ignore_index: int) -> Tensor:
    """The (H, W) long labels {0, 1, ignore_index} of a data sample.

    Args:
        sample (dict): The data sample with ``gt_sem_seg``.
        shape (Sequence[int]): (H, W) of the prediction, which the labels
            must have.
        device (torch.device): Device of the returned labels.
        ignore_index (int): The only label allowed besides 0 and 1.
    """
    name = sample_name(sample)
    if 'gt_sem_seg' not in sample:
        raise KeyError(f'{name}: SmokeMetric needs gt_sem_seg.')
    gt = _label_map(
        sample, 'gt_sem_seg', shape,
        '; predictions must be at the original image resolution')
    gt = gt.to(device=device, dtype=torch.long)
    bad = (gt != 0) & (gt != 1) & (gt != ignore_index)
    if bool(bad.any()):
        values = torch.unique(gt[bad])[:8].tolist()
        raise ValueError(
            f'{name}: ground truth contains labels {values} besides 0, '
            f'1 and ignore_index={ignore_index}; smoke masks must '
            'be {0, 1} (map 0/255 masks to 0/1 when loading).')
    return gt


def read_sample(sample: dict,
                ignore_index: int) -> Tuple[str, Tensor, Tensor, Tensor]:
    """The name, probability, ground truth and valid pixels of a sample.

    Returns:
        tuple: :func:`sample_name`, the (H, W) :func:`sample_probability`,
        the (H, W) :func:`sample_ground_truth` on its device, and the mask
        of the pixels that are not ``ignore_index``.
    """
    name = sample_name(sample)
    prob = sample_probability(sample)
    gt = sample_ground_truth(sample, prob.shape, prob.device, ignore_index)
    return name, prob, gt, gt != ignore_index


def sample_size_group(sample: dict, fraction: float,
                      thresholds: Tuple[float, float]) -> str:
    """The sample's ``size_group``, else the stratum of ``fraction``.

    Args:
        sample (dict): The data sample.
        fraction (float): Smoke fraction of its non-ignored pixels.
        thresholds (tuple[float, float]): Cut points of
            :func:`mmsmoke.utils.size_groups.size_group`.
    """
    group = sample.get('size_group')
    if group is None:
        return size_group(fraction, thresholds)
    if group not in SIZE_GROUPS + ('none', ):
        raise ValueError(f'{sample_name(sample)}: size_group must be one of '
                         f'{SIZE_GROUPS + ("none", )}, got {group!r}.')
    return group
