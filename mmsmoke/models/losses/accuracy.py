"""Training-log accuracy of decode heads, one sigmoid channel included.

MMSeg supports heads with one sigmoid channel (``out_channels=1``), but its
training-log accuracy takes the arg-max over the channels. These functions
threshold one channel instead; more channels go to MMSeg's ``accuracy``.
"""
from typing import Dict

import torch
from torch import Tensor, nn

from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.utils import SampleList


def seg_accuracy(seg_logits: Tensor,
                 seg_label: Tensor,
                 threshold: float = 0.5,
                 ignore_index: int = 255) -> Tensor:
    """Pixel accuracy in percent, for softmax and sigmoid logits alike.

    MMSeg's :func:`mmseg.models.losses.accuracy` takes the arg-max over the
    channels. With one sigmoid channel (``out_channels=1``) the arg-max is
    always channel 0, so the ``acc_seg`` that the stock ``loss_by_feat``
    logs is the share of background pixels in the labels, whatever the
    model predicts. Here one channel is thresholded instead:
    ``sigmoid(logit) > threshold`` is smoke, as in ``predict_by_feat``.
    More channels are passed on to MMSeg's ``accuracy``.

    Args:
        seg_logits (Tensor): Logits (N, C, H, W) at the label size.
        seg_label (Tensor): Labels (N, H, W) or (N, 1, H, W).
        threshold (float): Probability above which one channel predicts
            class 1. Defaults to 0.5.
        ignore_index (int): Label value left out. Defaults to 255.

    Returns:
        Tensor: Scalar accuracy in percent (0 when every pixel is ignored),
        without gradient.
    """
    if seg_label.dim() == 4:
        seg_label = seg_label.squeeze(1)
    if seg_logits.shape[1] != 1:
        return accuracy(seg_logits, seg_label, ignore_index=ignore_index)
    if seg_logits.shape[2:] != seg_label.shape[1:]:
        raise ValueError(
            f'seg_accuracy: logits of size {tuple(seg_logits.shape[2:])} '
            f'and labels of size {tuple(seg_label.shape[1:])} differ')
    with torch.no_grad():
        pred = (seg_logits[:, 0].float().sigmoid() > threshold).long()
        valid = seg_label != ignore_index
        correct = ((pred == seg_label) & valid).sum().float()
        return 100.0 * correct / valid.sum().clamp(min=1).float()


def head_accuracy(head: nn.Module, seg_logits: Tensor,
                  batch_data_samples: SampleList) -> Tensor:
    """:func:`seg_accuracy` of a decode head's logits against its labels.

    The logits are resized to the label size as the stock ``loss_by_feat``
    does, and the head's own ``threshold``, ``ignore_index`` and
    ``align_corners`` are used.

    Args:
        head (nn.Module): A :class:`mmseg.models.decode_heads.BaseDecodeHead`.
        seg_logits (Tensor): The head's logits (N, C, h, w).
        batch_data_samples (list[SegDataSample]): Samples with
            ``gt_sem_seg``.

    Returns:
        Tensor: Scalar accuracy in percent.
    """
    seg_label = torch.stack([s.gt_sem_seg.data for s in batch_data_samples],
                            dim=0)
    logits = resize(
        seg_logits,
        size=seg_label.shape[2:],
        mode='bilinear',
        align_corners=getattr(head, 'align_corners', False))
    threshold = getattr(head, 'threshold', None)
    return seg_accuracy(
        logits,
        seg_label,
        threshold=0.5 if threshold is None else threshold,
        ignore_index=getattr(head, 'ignore_index', 255))


def fix_binary_acc_seg(losses: Dict[str, Tensor], head: nn.Module,
                       seg_logits: Tensor,
                       batch_data_samples: SampleList) -> Dict[str, Tensor]:
    """Replace the stock ``acc_seg`` of a one-channel head, in place.

    Heads with more channels, and loss dicts without ``acc_seg``, are left
    as they are.

    Args:
        losses (dict[str, Tensor]): Output of the head's ``loss_by_feat``.
        head (nn.Module): The decode head.
        seg_logits (Tensor): The logits the losses were computed from.
        batch_data_samples (list[SegDataSample]): Samples with
            ``gt_sem_seg``.

    Returns:
        dict[str, Tensor]: ``losses``.
    """
    if 'acc_seg' in losses and isinstance(seg_logits, Tensor) and \
            seg_logits.shape[1] == 1:
        losses['acc_seg'] = head_accuracy(head, seg_logits, batch_data_samples)
    return losses
