"""Uncertainty estimation network ``g_gamma(x, s)`` of Transmission-BVM."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig


def binary_entropy(prob: Tensor, eps: float = 1e-6) -> Tensor:
    """Entropy of a Bernoulli probability in bits (so in [0, 1]).

    Args:
        prob (Tensor): Probabilities of the foreground.
        eps (float): Clamp of ``prob`` away from 0 and 1 before the log.

    Returns:
        Tensor: ``-(p log2 p + (1 - p) log2 (1 - p))``.
    """
    p = prob.clamp(eps, 1 - eps)
    return -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))


def mc_uncertainty(probs: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Sampling-based uncertainties of Eq. 5 from ``B`` foreground samples.

    Total (predictive) ``U_p = H[mean_b p_b]``, aleatoric
    ``U_a = mean_b H[p_b]``, epistemic ``U_e = U_p - U_a`` (the mutual
    information, >= 0 by Jensen's inequality; clamped at 0 against rounding).
    Entropies are in bits, so every map lies in [0, 1].

    Args:
        probs (Tensor): Samples (B, N, 1, H, W) of the foreground
            probability.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``U_p``, ``U_a``, ``U_e``, each
        (N, 1, H, W), and the mean probability is ``probs.mean(0)``.
    """
    total = binary_entropy(probs.mean(dim=0))
    aleatoric = binary_entropy(probs).mean(dim=0)
    # H[mean] >= mean H holds exactly; the clamp only removes rounding.
    aleatoric = torch.minimum(aleatoric, total)
    return total, aleatoric, total - aleatoric


@MODELS.register_module()
class UncertaintyEstimationNet(BaseModule):
    """M-head network regressing total and aleatoric uncertainty (Eq. 5-6).

    ``g_gamma`` takes the concatenation of the (normalised) image and the
    predicted foreground probability, encodes it with a shared five-layer
    convolutional encoder, and two independent three-layer decoders regress
    the total (predictive) uncertainty ``U_p`` and the aleatoric
    uncertainty ``U_a``; every layer but the last of each decoder has
    normalisation and LeakyReLU (paper, Sec. "Uncertainty Estimation
    Network"). It is trained with ``L_un`` (Eq. 6) against Monte Carlo
    estimates and replaces sampling at test time.

    Output parameterisation (not specified by the paper): maps are
    entropies in bits, in [0, 1]. The total head gives
    ``U_p = sigmoid(a)``; the aleatoric head gives the aleatoric fraction,
    ``U_a = U_p * sigmoid(b)``, so ``U_a <= U_p`` and the epistemic
    uncertainty ``U_e = U_p - U_a`` is non-negative by construction. In
    training the ``U_p`` factor of ``U_a`` is detached, so each decoder is
    fitted by its own target as in an M-head model. The release's
    "variance approximation" net (four convolutions and a classifier,
    one head, trained on the min-max normalised MC variance) is replaced by
    this design of the paper.

    Args:
        in_channels (int): Image channels plus prediction channels.
            Defaults to 4.
        channels (int): Width of all hidden layers. Defaults to 64.
        encoder_strides (tuple[int]): Strides of the five encoder layers.
            Defaults to (2, 1, 2, 1, 1) (output at 1/4 resolution).
        norm_cfg (dict): Normalisation config. Defaults to BN.
        negative_slope (float): Slope of the LeakyReLU. Defaults to 0.2.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 4,
                 channels: int = 64,
                 encoder_strides: Tuple[int, ...] = (2, 1, 2, 1, 1),
                 norm_cfg: ConfigType = dict(type='BN'),
                 negative_slope: float = 0.2,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(encoder_strides) != 5:
            raise ValueError('encoder_strides must list the strides of the '
                             f'5 encoder layers, got {encoder_strides}')
        act_cfg = dict(type='LeakyReLU', negative_slope=negative_slope)
        self.in_channels = in_channels
        encoder = []
        prev = in_channels
        for stride in encoder_strides:
            encoder.append(
                ConvModule(
                    prev,
                    channels,
                    3,
                    stride=stride,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
            prev = channels
        self.encoder = nn.Sequential(*encoder)
        self.total_decoder = self._make_decoder(channels, norm_cfg, act_cfg)
        self.aleatoric_decoder = self._make_decoder(channels, norm_cfg,
                                                    act_cfg)

    @staticmethod
    def _make_decoder(channels: int, norm_cfg: ConfigType,
                      act_cfg: ConfigType) -> nn.Sequential:
        return nn.Sequential(
            ConvModule(
                channels,
                channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            ConvModule(
                channels,
                channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg), nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, image: Tensor, prob: Tensor) -> Tuple[Tensor, Tensor]:
        """Predict the uncertainty maps.

        Args:
            image (Tensor): Normalised image batch (N, C_img, H, W).
            prob (Tensor): Foreground probability (N, 1, H', W'); resized
                to the image size when it differs. Detached: no gradient
                reaches the segmentation network through ``g_gamma``.

        Returns:
            tuple[Tensor, Tensor]: Total and aleatoric uncertainty, each
            (N, 1, H, W) in [0, 1] with aleatoric <= total.
        """
        if image.dim() != 4 or prob.dim() != 4:
            raise ValueError('image and prob must be 4-D (N, C, H, W), got '
                             f'{tuple(image.shape)} and {tuple(prob.shape)}')
        size = image.shape[-2:]
        prob = prob.detach().to(image.dtype)
        if prob.shape[-2:] != size:
            prob = F.interpolate(
                prob, size=size, mode='bilinear', align_corners=False)
        x = torch.cat([image.detach(), prob], dim=1)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'UncertaintyEstimationNet expects '
                             f'{self.in_channels} input channels (image + '
                             f'prediction), got {x.shape[1]}')
        feat = self.encoder(x)
        total_logit = F.interpolate(
            self.total_decoder(feat),
            size=size,
            mode='bilinear',
            align_corners=False)
        ratio_logit = F.interpolate(
            self.aleatoric_decoder(feat),
            size=size,
            mode='bilinear',
            align_corners=False)
        total = total_logit.sigmoid()
        scale = total.detach() if self.training else total
        aleatoric = scale * ratio_logit.sigmoid()
        return total, aleatoric
