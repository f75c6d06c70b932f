"""Helpers for decode heads with one sigmoid channel (``out_channels=1``).

MMSeg supports such heads, but its training-log accuracy and its
``DiceLoss`` assume one channel per class. These helpers give the
thresholded accuracy and refuse the loss that would train the wrong mask.
"""
from typing import Dict, List

import torch
from torch import Tensor, nn

from mmseg.models.losses import DiceLoss, accuracy
from mmseg.models.utils import resize
from mmseg.utils import SampleList, add_prefix


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
    if 'acc_seg' in losses and seg_logits.shape[1] == 1:
        losses['acc_seg'] = head_accuracy(head, seg_logits, batch_data_samples)
    return losses


def _auxiliary_heads(auxiliary_head: nn.Module) -> List[tuple]:
    """(head, loss prefix) pairs, named as ``EncoderDecoder`` names them."""
    if isinstance(auxiliary_head, nn.ModuleList):
        return [(head, f'aux_{idx}')
                for idx, head in enumerate(auxiliary_head)]
    return [(auxiliary_head, 'aux')]


def auxiliary_head_losses(auxiliary_head: nn.Module, inputs: List[Tensor],
                          data_samples: SampleList) -> Dict[str, Tensor]:
    """Auxiliary-head losses as MMSeg's ``EncoderDecoder`` computes them.

    The same loss items and ``aux`` / ``aux_{idx}`` prefixes, with
    :func:`fix_binary_acc_seg` applied to each one-channel head.

    Args:
        auxiliary_head (nn.Module): A decode head or an ``nn.ModuleList``
            of them.
        inputs (list[Tensor]): The features the heads take.
        data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

    Returns:
        dict[str, Tensor]: Prefixed loss items.
    """
    losses: Dict[str, Tensor] = dict()
    for head, prefix in _auxiliary_heads(auxiliary_head):
        seg_logits = head.forward(inputs)
        head_losses = fix_binary_acc_seg(
            head.loss_by_feat(seg_logits, data_samples), head, seg_logits,
            data_samples)
        losses.update(add_prefix(head_losses, prefix))
    return losses


def check_one_channel_losses(segmentor: nn.Module) -> None:
    """Refuse MMSeg's ``DiceLoss`` on a head with one sigmoid channel.

    ``DiceLoss`` one-hot encodes the label into as many channels as the
    logits have; with one channel that is the background mask, so the loss
    pushes the smoke probability toward the background. The decode head and
    every auxiliary head are checked; softmax heads (``out_channels > 1``)
    pass.

    Args:
        segmentor (nn.Module): An ``EncoderDecoder`` after its heads are
            built.

    Raises:
        ValueError: If a one-channel head has a ``DiceLoss``; the message
            names the head.
    """
    heads = [(segmentor.decode_head, 'decode_head')]
    if getattr(segmentor, 'auxiliary_head', None) is not None:
        heads += [
            (head, f'auxiliary_head ({prefix})')
            for head, prefix in _auxiliary_heads(segmentor.auxiliary_head)
        ]
    for head, owner in heads:
        if getattr(head, 'out_channels', None) != 1:
            continue
        losses = head.loss_decode
        if not isinstance(losses, nn.ModuleList):
            losses = [losses]
        if any(isinstance(loss, DiceLoss) for loss in losses):
            raise ValueError(
                f'{owner}: MMSeg\'s DiceLoss on one sigmoid channel '
                '(out_channels=1) scores the prediction against the '
                'background mask; use dict(type=\'BinaryDiceLoss\') '
                'from mmsmoke instead')


class OneChannelAuxiliaryMixin:
    """Segmentor mixin: auxiliary-head losses via :func:`auxiliary_head_losses`.

    Put it before ``EncoderDecoder`` in the bases so that one-channel
    auxiliary heads log the thresholded ``acc_seg``.
    """

    def _auxiliary_head_forward_train(self, inputs: List[Tensor],
                                      data_samples: SampleList) -> dict:
        """Auxiliary-head losses, ``acc_seg`` thresholded for one channel.

        Args:
            inputs (list[Tensor]): Features the auxiliary heads take.
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: Loss items prefixed ``aux``/``aux_{idx}``.
        """
        return auxiliary_head_losses(self.auxiliary_head, inputs, data_samples)
