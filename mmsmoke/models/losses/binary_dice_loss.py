"""Soft Dice loss for one sigmoid smoke channel."""
from typing import Optional

import torch
from torch import Tensor, nn

from mmseg.models.losses import DiceLoss
from mmseg.registry import MODELS

from .utils import WeightedLoss, check_label, check_logits


@MODELS.register_module()
class BinaryDiceLoss(WeightedLoss):
    """Soft Dice loss of ``sigmoid(logit)`` against the smoke mask.

    For each image (or the whole batch, ``per_image=False``), over the
    pixels that are not ``ignore_index``:

    .. math::

        L = 1 - \\frac{2 \\sum w p y + \\epsilon}
        {\\sum w p^k + \\sum w y^k + \\epsilon},
        \\quad p = \\sigma(s),

    with ``k = 1`` (``square_denominator=False``) or ``k = 2`` (the V-Net
    form), ``w`` an optional per-pixel weight and ``epsilon`` the smoothing.
    With ``per_image=True`` the per-image losses are averaged.

    Why not MMSeg's ``DiceLoss``: with ``out_channels=1`` it one-hot encodes
    the label into ``num_classes = 1`` channel, which is the *background*
    mask, so a perfect smoke prediction gets the largest loss (1.0) and its
    inverse the smallest (``tests/test_models/test_losses/
    test_binary_dice_loss.py`` shows it). mmsmoke's segmentors refuse
    ``DiceLoss`` on a one-channel head and point here.

    Args:
        smooth (float): ``epsilon``; with the default 1.0 an image without
            smoke and a prediction near 0 gives a loss near 0 instead of
            an undefined ratio. Defaults to 1.0.
        square_denominator (bool): Use ``p^2`` and ``y^2`` in the
            denominator (V-Net). Defaults to False.
        per_image (bool): Average the loss of each image (True) or compute
            one Dice over the batch (False), which weighs images by their
            smoke area. Defaults to True.
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_dice'.
    """

    def __init__(self,
                 smooth: float = 1.0,
                 square_denominator: bool = False,
                 per_image: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__(loss_weight, loss_name)
        if smooth < 0:
            raise ValueError(f'smooth must be >= 0, got {smooth}')
        self.smooth = float(smooth)
        self.square_denominator = square_denominator
        self.per_image = per_image

    def forward(self,
                seg_logits: Tensor,
                seg_label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            seg_logits (Tensor): One-channel logits (N, 1, H, W).
            seg_label (Tensor): Labels in {0, 1, ignore_index}, (N, H, W)
                or (N, 1, H, W).
            weight (Tensor, optional): Per-pixel weight (N, H, W).
            ignore_index (int): Label value to skip. Defaults to 255.
            **kwargs: Other arguments a decode head passes (ignored).

        Returns:
            Tensor: Scalar loss.
        """
        seg_logits = check_logits(seg_logits)
        n, c, h, w = seg_logits.shape
        if c != 1:
            raise ValueError(
                'BinaryDiceLoss takes one sigmoid channel (out_channels=1), '
                f'got {c} channels; use MMSeg\'s DiceLoss for softmax heads')
        seg_label = check_label(seg_label, seg_logits)
        valid = seg_label != ignore_index
        bad = valid & (seg_label != 0) & (seg_label != 1)
        if bad.any():
            values = sorted(seg_label[bad].unique().tolist())
            raise ValueError('BinaryDiceLoss expects labels in {0, 1, '
                             f'{ignore_index}}}, got {values}')
        mask = valid.to(seg_logits.dtype)
        if weight is not None:
            mask = mask * weight.reshape(n, h, w).to(seg_logits.dtype)
        prob = seg_logits[:, 0].sigmoid()
        target = (seg_label == 1).to(prob.dtype)
        dims = (1, 2) if self.per_image else (0, 1, 2)
        inter = (mask * prob * target).sum(dim=dims)
        if self.square_denominator:
            denom = (mask * prob * prob).sum(dim=dims) + \
                (mask * target).sum(dim=dims)
        else:
            denom = (mask * prob).sum(dim=dims) + (mask * target).sum(dim=dims)
        tiny = torch.finfo(prob.dtype).tiny
        dice = (2 * inter + self.smooth) / (denom +
                                            self.smooth).clamp(min=tiny)
        dice = dice.reshape(-1)  # (N,) per image, (1,) for the batch
        # Images whose pixels are all ignored (or weighted 0) do not count;
        # with none counted the loss is 0, still connected to the logits.
        counted = (mask > 0).flatten(1).any(dim=1)
        if not self.per_image:
            counted = counted.any(dim=0, keepdim=True)
        counted = counted.to(dice.dtype)
        loss = ((1 - dice) * counted).sum() / counted.sum().clamp(min=1.0)
        return self.loss_weight * loss


def check_one_channel_losses(segmentor: nn.Module) -> None:
    """Refuse MMSeg's ``DiceLoss`` on a head with one sigmoid channel.

    ``DiceLoss`` one-hot encodes the label into as many channels as the
    logits have; with one channel that is the background mask, so the loss
    pushes the smoke probability toward the background. The decode head and
    every auxiliary head are checked; softmax heads (``out_channels > 1``)
    pass.

    Raises:
        ValueError: If a one-channel head has a ``DiceLoss``; the message
            names the head.
    """
    heads = [(segmentor.decode_head, 'decode_head')]
    auxiliary = getattr(segmentor, 'auxiliary_head', None)
    if isinstance(auxiliary, nn.ModuleList):
        heads += [(head, f'auxiliary_head (aux_{idx})')
                  for idx, head in enumerate(auxiliary)]
    elif auxiliary is not None:
        heads.append((auxiliary, 'auxiliary_head (aux)'))
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
