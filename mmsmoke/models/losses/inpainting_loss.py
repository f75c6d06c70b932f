"""Masked reconstruction loss that trains FoSp's background inpainter."""
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .utils import WeightedLoss, masked_pixel_mean, upcast_half


@MODELS.register_module()
class InpaintingLoss(WeightedLoss):
    """Mean absolute error on the pixels whose true value is known.

    The FoSp separation module learns to inpaint the smoke-free background
    by self-supervision: random regions are hidden from the inpainter and
    it is asked to reconstruct them, but only where the ground truth says
    the pixel is smoke-free (there the input pixel *is* the background).
    The released FoSp code has no such loss: its inpainter is frozen and
    randomly initialised (see ``docs/fosp.md``).

    .. math::

        L = \\frac{\\sum_{p} v_p \\sum_c |\\hat{B}_{pc} - I_{pc}|}
                 {C \\cdot \\max(1, \\sum_p v_p)}

    Its arguments are those of
    :class:`~mmsmoke.models.losses.utils.WeightedLoss`: ``loss_weight``
    (default 1.0) and ``loss_name`` (default ``'loss_inpaint'``).
    """

    default_loss_name = 'loss_inpaint'

    def forward(self,
                pred: Tensor,
                target: Tensor,
                valid_mask: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Inpainted image (N, C, H, W).
            target (Tensor): Observed image (N, C, H, W).
            valid_mask (Tensor, optional): (N, 1, H, W) or (N, H, W) mask,
                1 where the target is a known background pixel. None means
                every pixel. An empty mask gives a zero loss that is still
                connected to ``pred``.

        Returns:
            Tensor: Scalar loss.
        """
        if pred.shape != target.shape:
            raise ValueError(f'{type(self).__name__}: pred and target shapes '
                             f'differ: {tuple(pred.shape)} vs '
                             f'{tuple(target.shape)}')
        pred, target = upcast_half(pred), upcast_half(target)
        err = (pred - target).abs().mean(dim=1, keepdim=True)
        return self.loss_weight * masked_pixel_mean(err, valid_mask,
                                                    type(self).__name__)
