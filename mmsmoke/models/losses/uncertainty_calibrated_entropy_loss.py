"""Uncertainty-calibrated entropy loss (Transmission-BVM Eq. 10)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .utils import WeightedLoss, check_label, guided_logits


@MODELS.register_module()
class UncertaintyCalibratedEntropyLoss(WeightedLoss):
    """Entropy of the prediction with the total uncertainty as temperature.

    Eq. 10 of Transmission-BVM:

    .. math::

        L_c = -\\sum_{c \\in \\{0, 1\\}} \\sigma(s / U_p)
        \\log \\sigma(s / U_p),

    where ``s`` is the logit, ``sigma`` the sigmoid (so the two terms are
    ``q = sigma(s / U_p)`` and ``1 - q``) and ``U_p`` the total (predictive)
    uncertainty learned by the uncertainty estimation network. The loss is
    averaged over the pixels that are not ``ignore_index``. For ``C > 1``
    channels the softmax entropy of ``s / U_p`` is used.

    Numerical safety: the temperature is clamped to at least
    ``min_temperature`` (default 0.01) so ``s / U_p`` stays finite when the
    uncertainty approaches 0, and the entropy is computed from
    ``logsigmoid`` / ``log_softmax``, which are finite for any logit, so no
    ``log(0)`` occurs. Half-precision logits (AMP) are upcast to float32
    first: in float16, ``s / U_p`` overflows above 65504 and the entropy
    becomes ``0 * inf = nan``. The temperature is detached: as in the
    paper, the uncertainty network is trained only by its own loss (Eq. 6).

    The released code has no such loss; the loss needs ``U_p``, which the
    stock decode head does not have: list it in ``pixel_losses`` of
    ``BVMEncoderDecoder``, which passes ``uncertainty=U_p``.

    Args:
        min_temperature (float): Lower bound of ``U_p``. Defaults to 0.01.
        loss_weight (float): Multiplier (``lambda_2`` of Eq. 11 is 0.01).
            Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_cal_ent'.
    """

    def __init__(self,
                 min_temperature: float = 0.01,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_cal_ent') -> None:
        super().__init__(loss_weight, loss_name)
        if min_temperature <= 0:
            raise ValueError('min_temperature must be positive, got '
                             f'{min_temperature}')
        self.min_temperature = float(min_temperature)

    def forward(self,
                seg_logits: Tensor,
                seg_label: Optional[Tensor] = None,
                uncertainty: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255) -> Tensor:
        """Compute the loss.

        Args:
            seg_logits (Tensor): Logits (N, C, H, W).
            seg_label (Tensor, optional): Labels (N, H, W), only used to skip
                ``ignore_index`` pixels.
            uncertainty (Tensor): Total uncertainty (N, 1, H, W) or
                (N, H, W), >= 0; resized bilinearly to the logits when its
                size differs.
            weight (Tensor, optional): Per-pixel weight (N, H, W).
            ignore_index (int): Label value to skip. Defaults to 255.

        Returns:
            Tensor: Scalar loss.
        """
        # float32 logits under AMP
        seg_logits, temp = guided_logits(
            seg_logits, uncertainty, 'uncertainty',
            'UncertaintyCalibratedEntropyLoss needs the total uncertainty '
            'U_p as temperature: list it in `pixel_losses` of '
            'BVMEncoderDecoder, which predicts it, not in '
            'decode_head.loss_decode.')
        n, c, h, w = seg_logits.shape
        x = seg_logits / temp.clamp(min=self.min_temperature)
        if c == 1:
            q = x.sigmoid()
            entropy = -(q * F.logsigmoid(x) + (1 - q) * F.logsigmoid(-x))
        else:
            log_q = x.log_softmax(dim=1)
            entropy = -(log_q.exp() * log_q).sum(dim=1, keepdim=True)
        entropy = entropy.squeeze(1)

        mask = entropy.new_ones(entropy.shape)
        if seg_label is not None:
            seg_label = check_label(seg_label, seg_logits)
            mask = (seg_label != ignore_index).to(entropy.dtype)
        num = mask.sum().clamp(min=1.0)
        if weight is not None:
            mask = mask * weight.reshape(n, h, w).to(entropy.dtype)
        return self.loss_weight * (entropy * mask).sum() / num
