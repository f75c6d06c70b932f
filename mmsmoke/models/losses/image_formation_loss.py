"""Image-formation (compositing) constraint of FoSp's separation module."""
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .inpainting_loss import InpaintingLoss
from .utils import upcast_half


@MODELS.register_module()
class ImageFormationLoss(InpaintingLoss):
    """L1 error of the smoke compositing model ``I = a * S + (1 - a) * B``.

    FoSp (paper Sec. "Separation module") separates a smoke image into a
    pure smoke foreground and a smoke-free background. This loss makes the
    separation an explicit image decomposition: with per-pixel opacity
    ``a`` (alpha), smoke colour ``S`` and background ``B``, the composite
    must reproduce the observed image ``I``. The released code has no such
    constraint (its "foreground" is a difference of inpainter features).

    On its own the constraint has the trivial solution ``a = 1, S = I``;
    pair it with :class:`AlphaPriorLoss`, which keeps ``a`` at zero on
    known smoke-free pixels and sparse elsewhere.

    The error is :class:`InpaintingLoss`'s masked per-pixel L1, here between
    the composite and the observed image; the arguments are its
    ``loss_weight`` (default 1.0) and ``loss_name`` (default
    ``'loss_formation'``).
    """

    default_loss_name = 'loss_formation'

    def forward(self,
                image: Tensor,
                alpha: Tensor,
                smoke: Tensor,
                background: Tensor,
                valid_mask: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            image (Tensor): Observed image (N, 3, H, W) in [0, 1].
            alpha (Tensor): Smoke opacity (N, 1, H, W) in [0, 1].
            smoke (Tensor): Smoke colour (N, 3, H, W) in [0, 1].
            background (Tensor): Background (N, 3, H, W) in [0, 1].
            valid_mask (Tensor, optional): (N, 1, H, W) or (N, H, W) mask of
                the pixels to use (e.g. not padding). None means all.

        Returns:
            Tensor: Scalar loss.
        """
        if not (image.shape == smoke.shape == background.shape):
            raise ValueError(
                'ImageFormationLoss: image, smoke and background must share '
                f'a shape, got {tuple(image.shape)}, {tuple(smoke.shape)}, '
                f'{tuple(background.shape)}')
        if alpha.shape[1] != 1 or alpha.shape[-2:] != image.shape[-2:]:
            raise ValueError('ImageFormationLoss: alpha must be (N, 1, H, '
                             f'W), got {tuple(alpha.shape)}')
        image, alpha, smoke, background = (
            upcast_half(t) for t in (image, alpha, smoke, background))
        composite = alpha * smoke + (1.0 - alpha) * background
        return super().forward(composite, image, valid_mask)
