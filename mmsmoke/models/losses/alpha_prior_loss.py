"""Prior on the smoke opacity estimated by FoSp's separation module."""
from mmseg.registry import MODELS
from torch import Tensor

from .utils import WeightedLoss, upcast_half


@MODELS.register_module()
class AlphaPriorLoss(WeightedLoss):
    """Keep the smoke opacity at zero off smoke and sparse everywhere.

    ``L = w_free * mean(a | label == 0) + w_sparse * mean(a | label valid)``

    The first term uses the ground truth: a pixel labelled background has
    no smoke, so its opacity is 0. The second is a weak L1 sparsity prior:
    among the decompositions that satisfy :class:`ImageFormationLoss` it
    prefers the least opaque smoke, which rules out the trivial
    ``a = 1, S = I``. Not part of the released FoSp code (see
    ``docs/fosp.md``).

    Args:
        smoke_free_weight (float): Weight ``w_free``. Defaults to 1.0.
        sparsity_weight (float): Weight ``w_sparse``. Defaults to 0.05.
        loss_weight (float): Multiplier of the whole loss. Defaults to 1.0.
        ignore_index (int): Label value to ignore. Defaults to 255.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Defaults to ``'loss_alpha'``.
    """

    def __init__(self,
                 smoke_free_weight: float = 1.0,
                 sparsity_weight: float = 0.05,
                 loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 loss_name: str = 'loss_alpha') -> None:
        super().__init__(loss_weight, loss_name)
        self.smoke_free_weight = smoke_free_weight
        self.sparsity_weight = sparsity_weight
        self.ignore_index = ignore_index

    def forward(self, alpha: Tensor, label: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            alpha (Tensor): Opacity (N, 1, H, W) in [0, 1].
            label (Tensor): Labels (N, H, W) or (N, 1, H, W) with
                {0: background, 1: smoke, ignore_index: ignored}, at the
                size of ``alpha``.

        Returns:
            Tensor: Scalar loss.
        """
        alpha = upcast_half(alpha)  # float32 under AMP
        if label.dim() == 3:
            label = label.unsqueeze(1)
        if label.shape[0] != alpha.shape[0] or \
                label.shape[-2:] != alpha.shape[-2:]:
            raise ValueError(
                f'AlphaPriorLoss: label shape {tuple(label.shape)} does not '
                f'match alpha {tuple(alpha.shape)}')
        valid = (label != self.ignore_index).to(alpha)
        free = (label == 0).to(alpha)
        free_term = (alpha * free).sum() / free.sum().clamp(min=1.0)
        sparse_term = (alpha * valid).sum() / valid.sum().clamp(min=1.0)
        loss = (
            self.smoke_free_weight * free_term +
            self.sparsity_weight * sparse_term)
        return self.loss_weight * loss
