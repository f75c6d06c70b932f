"""Bayesian latent variable decode head of Transmission-BVM."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType
from ..layers import RCAB, DenseASPP


class LatentEncoder(nn.Module):
    """Inference network ``P_omega(z | x)``: image to ``mu``, ``log var``.

    Five 4x4 stride-2 convolutions (each with normalisation and LeakyReLU)
    encode the image; global average pooling and two linear layers give the
    mean and the log-variance of a diagonal Gaussian over ``z``
    (Transmission-BVM Sec. "Latent Variable Model").

    Deviations from the release, with reasons: global average pooling
    replaces the release's flatten + ``Linear`` whose input size is tied to
    the training size (8x8, 11x11, 15x15 for 256/352/480 pixels), so any
    input size works; each layer has its own normalisation (the release
    reuses ``bn4`` for the fifth layer).

    Args:
        in_channels (int): Image channels. Defaults to 3.
        base_channels (int): Width of the first layer; the widths are
            ``c, 2c, 4c, 8c, 8c``. Defaults to 32.
        latent_dim (int): Dimension of ``z``. Defaults to 8.
        norm_cfg (dict): Normalisation layer config. Defaults to BN.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 32,
        latent_dim: int = 8,
        norm_cfg: ConfigType = dict(type='BN')) -> None:
        super().__init__()
        widths = [base_channels * m for m in (1, 2, 4, 8, 8)]
        layers = []
        prev = in_channels
        for width in widths:
            layers.append(
                ConvModule(
                    prev,
                    width,
                    4,
                    stride=2,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=dict(type='LeakyReLU', negative_slope=0.2)))
            prev = width
        self.convs = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(prev, latent_dim)
        self.fc_logvar = nn.Linear(prev, latent_dim)
        self.latent_dim = latent_dim

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        """Return ``mu`` and ``log sigma^2``, each (N, latent_dim)."""
        feat = self.convs(image).mean(dim=(2, 3))
        return self.fc_mu(feat), self.fc_logvar(feat)


def gaussian_kl_to_standard_normal(
        mu: Tensor,
        logvar: Tensor,
        reduction: Optional[str] = 'mean') -> Tensor:
    """``KL(N(mu, diag(exp(logvar))) || N(0, I))``, summed over dimensions.

    ``0.5 * sum_d (mu_d^2 + exp(logvar_d) - logvar_d - 1)``.

    Args:
        mu (Tensor): Means (N, D).
        logvar (Tensor): Log-variances (N, D).
        reduction (str, optional): 'mean' over the batch, 'sum', or
            None/'none' for the per-sample values.

    Returns:
        Tensor: The divergence.
    """
    kl = 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(dim=1)
    if reduction == 'mean':
        return kl.mean()
    if reduction == 'sum':
        return kl.sum()
    if reduction in (None, 'none'):
        return kl
    raise ValueError(f'reduction must be mean, sum or none, got {reduction}')


@MODELS.register_module()
class BVMHead(BaseDecodeHead):
    """Decode head ``P_theta(y | x, z)`` with latent ``z`` and MC dropout.

    Transmission-BVM (Yan, Zhang and Barnes, AAAI 2022), Sec. "Bayesian
    Latent Variable Model":

    1. The inference network ``P_omega(z | x)``
       (:class:`LatentEncoder`, five
       convolutions on the image) gives ``mu`` and ``log sigma^2``; ``z`` is
       drawn with the reparameterisation ``z = mu + sigma * eps``. Its KL
       divergence to the prior ``N(0, I)`` is the second term of Eq. 2
       (``loss_kl``).
    2. ``z`` is tiled to the size of ``f4`` and concatenated with it; a 3x3
       convolution gives ``f4'``.
    3. ``f1, f2, f3, f4'`` each pass a 3x3 convolution followed by dropout
       with rate 0.3 (MC dropout, the Bayesian part: it is active whenever
       the module is in training mode, and the segmentor switches it on for
       MC sampling at test time), giving ``s1..s4``.
    4. A residual channel attention block (RCAB) follows each ``s_k``.
    5. A DenseASPP module aggregates the four levels (upsampled to ``f1``'s
       size and concatenated) and ``conv_seg`` gives the logit at 1/4
       resolution (1 channel for the binary smoke convention).

    The head declares a latent-head interface, :meth:`infer_latent`
    (``P_omega(z | x)`` of the normalised input batch), :meth:`decode`
    (``P_theta(y | x, z)``), :meth:`reparameterize` and :meth:`loss_kl`,
    which :class:`~mmsmoke.models.segmentors.BVMEncoderDecoder` drives: it
    samples ``z`` in training (the one path of the KL term) and uses the
    posterior mean at test time. ``loss_by_feat`` and ``predict_by_feat``
    are the stock ones.

    Deviations from the authors' release, with reasons:

    * KL to ``N(0, I)`` as Eq. 2 states; the release uses
      ``N(0, exp(1) I)`` by mistake (``logvar = 1`` taken as the scale).
    * The inference network ends in global average pooling instead of a
      ``Linear`` whose input size is tied to the training size, so any
      input size works.
    * ``f4'`` keeps ``f4``'s spatial size but has ``channels`` channels: a
      3x3 convolution from 2048 + 8 to 2048 channels would add 38M
      parameters (more than the ResNet-50 backbone); the release likewise
      reduces ``f4`` to 32 channels before concatenating ``z``.
    * Real DenseASPP (densely connected dilated convolutions) as the paper
      says, instead of the release's summed parallel dilated convolutions;
      no second "refinement" stage with holistic attention (not in the
      paper) and no L2 weight penalty (not in the paper).
    * Convolutions have BN + ReLU (the release's ASPP reductions have
      neither); the release's dropout is always on (also at test time),
      here it follows the training mode so that the sampling-free
      prediction is deterministic.
    * Every parameter takes part in each training forward, so DDP needs no
      ``find_unused_parameters``.

    Args:
        latent_dim (int): Dimension of ``z``. Defaults to 8.
        latent_channels (int): Width of the first layer of the inference
            network. Defaults to 32.
        image_channels (int): Channels of the image fed to the inference
            network. Defaults to 3.
        mc_dropout_ratio (float): Dropout rate after each level
            convolution. Defaults to 0.3.
        rcab_reduction (int): Channel reduction in RCAB. Defaults to 16.
        dense_aspp_dilations (Sequence[int]): Dilations of DenseASPP.
            Defaults to (3, 6, 12, 18, 24).
        dense_aspp_growth (int, optional): Channels each DenseASPP layer
            adds. Defaults to ``channels``.
        dense_aspp_bottleneck (int, optional): Bottleneck width of the
            DenseASPP layers. Defaults to ``2 * channels``.
        kl_weight (float): Weight of ``loss_kl``. Defaults to 1.0 (Eq. 2).
        **kwargs: :class:`BaseDecodeHead` arguments. ``in_channels`` and
            ``in_index`` must list four levels; ``input_transform`` is
            'multiple_select'; ``dropout_ratio`` (dropout before
            ``conv_seg``) defaults to 0 here.
    """

    def __init__(self,
                 latent_dim: int = 8,
                 latent_channels: int = 32,
                 image_channels: int = 3,
                 mc_dropout_ratio: float = 0.3,
                 rcab_reduction: int = 16,
                 dense_aspp_dilations: Sequence[int] = (3, 6, 12, 18, 24),
                 dense_aspp_growth: Optional[int] = None,
                 dense_aspp_bottleneck: Optional[int] = None,
                 kl_weight: float = 1.0,
                 **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(**kwargs)
        if self.input_transform != 'multiple_select' or len(
                self.in_channels) != 4:
            raise ValueError(
                'BVMHead needs four feature levels: in_channels and in_index '
                'must have 4 entries with '
                "input_transform='multiple_select', got in_channels="
                f'{self.in_channels}, input_transform={self.input_transform}')
        if not 0 <= mc_dropout_ratio < 1:
            raise ValueError('mc_dropout_ratio must be in [0, 1), got '
                             f'{mc_dropout_ratio}')
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        conv_kwargs = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

        self.latent_encoder = LatentEncoder(
            image_channels,
            latent_channels,
            latent_dim,
            norm_cfg=self.norm_cfg or dict(type='BN'))
        self.latent_fusion = ConvModule(
            self.in_channels[3] + latent_dim,
            self.channels,
            3,
            padding=1,
            **conv_kwargs)
        level_in = list(self.in_channels[:3]) + [self.channels]
        self.level_convs = nn.ModuleList([
            ConvModule(c, self.channels, 3, padding=1, **conv_kwargs)
            for c in level_in
        ])
        self.mc_dropout = nn.Dropout(mc_dropout_ratio)
        self.rcabs = nn.ModuleList([
            RCAB(self.channels, rcab_reduction, conv_cfg=self.conv_cfg)
            for _ in range(4)
        ])
        self.dense_aspp = DenseASPP(
            4 * self.channels,
            self.channels,
            bottleneck_channels=dense_aspp_bottleneck or 2 * self.channels,
            growth_channels=dense_aspp_growth or self.channels,
            dilations=dense_aspp_dilations,
            **conv_kwargs)

    def infer_latent(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        """``P_omega(z | x)``: mean and log-variance, each (N, latent_dim).
        """
        if image is None:
            raise ValueError(
                'BVMHead needs the input image for its inference network '
                "P(z|x); use it under model.type='BVMEncoderDecoder'")
        return self.latent_encoder(image)

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
        """Draw ``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)``."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def loss_kl(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """Weighted ``KL(N(mu, sigma^2) || N(0, I))``, batch mean (Eq. 2)."""
        return self.kl_weight * gaussian_kl_to_standard_normal(mu, logvar)

    def decode(self, inputs: List[Tensor], z: Tensor) -> Tensor:
        """Logits for given backbone features and latent code.

        Args:
            inputs (list[Tensor]): Backbone features.
            z (Tensor): Latent codes (N, latent_dim).

        Returns:
            Tensor: Logits (N, out_channels, H/4, W/4) (``f1``'s size).
        """
        feats = self._transform_inputs(inputs)
        f4 = feats[3]
        if z.shape != (f4.shape[0], self.latent_dim):
            raise ValueError(f'z must have shape ({f4.shape[0]}, '
                             f'{self.latent_dim}), got {tuple(z.shape)}')
        z_map = z.to(f4.dtype).view(*z.shape, 1, 1)
        z_map = z_map.expand(-1, -1, f4.shape[2], f4.shape[3])
        f4_prime = self.latent_fusion(torch.cat([f4, z_map], dim=1))
        levels = [feats[0], feats[1], feats[2], f4_prime]
        size = levels[0].shape[2:]
        outs = []
        for level, conv, rcab in zip(levels, self.level_convs, self.rcabs):
            out = rcab(self.mc_dropout(conv(level)))
            if out.shape[2:] != size:
                out = resize(
                    out,
                    size=size,
                    mode='bilinear',
                    align_corners=self.align_corners)
            outs.append(out)
        return self.cls_seg(self.dense_aspp(torch.cat(outs, dim=1)))

    def forward(self,
                inputs: List[Tensor],
                z: Optional[Tensor] = None) -> Tensor:
        """Logits for the latent codes ``z``.

        :class:`~mmsmoke.models.segmentors.BVMEncoderDecoder` infers ``z``
        from the image (:meth:`infer_latent`) and passes it; a stock
        ``EncoderDecoder`` hands its head no image, so it cannot drive this
        head.

        Args:
            inputs (list[Tensor]): Backbone features.
            z (Tensor): Latent codes (N, latent_dim).

        Returns:
            Tensor: Logits (N, out_channels, H/4, W/4).
        """
        if z is None:
            raise ValueError(
                'BVMHead is a latent head: its z comes from the image, so it '
                "runs under model.type='BVMEncoderDecoder', which infers z; a "
                'stock EncoderDecoder cannot drive it')
        return self.decode(inputs, z)
