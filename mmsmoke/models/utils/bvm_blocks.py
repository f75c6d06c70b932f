"""Building blocks of the Transmission-BVM decode head.

* :class:`LatentEncoder`: the inference network ``P_omega(z | x)``.
* :class:`ChannelAttention` and :class:`RCAB`: residual channel attention
  (Zhang et al., ECCV 2018), as the paper and the release use it.
* :class:`DenseASPP`: densely connected atrous spatial pyramid pooling
  (Yang et al., CVPR 2018).
"""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmseg.utils import ConfigType, OptConfigType


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


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention of RCAB.

    Args:
        channels (int): Feature channels.
        reduction (int): Channel reduction of the bottleneck.
            Defaults to 16.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return x * self.attention(x)


class RCAB(nn.Module):
    """Residual channel attention block: conv-ReLU-conv-CA plus identity.

    Args:
        channels (int): Feature channels.
        reduction (int): Reduction of the channel attention.
            Defaults to 16.
        conv_cfg (dict, optional): Convolution config.
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 conv_cfg: OptConfigType = None) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvModule(
                channels,
                channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=dict(type='ReLU')),
            ConvModule(
                channels,
                channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None), ChannelAttention(channels, reduction))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class DenseASPP(nn.Module):
    """Densely connected atrous convolutions (DenseASPP).

    Layer ``i`` sees the concatenation of the input and the outputs of all
    earlier layers, applies a 1x1 bottleneck and a 3x3 convolution with
    dilation ``dilations[i]``, and adds ``growth_channels`` channels; the
    concatenation of everything is projected to ``out_channels``. Unlike
    the release's ``Classifier_Module`` (a sum of parallel dilated
    convolutions, DeepLab-v2 style), the receptive fields of the layers
    compose, as in Yang et al. (CVPR 2018).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        bottleneck_channels (int): Width of the 1x1 bottlenecks.
        growth_channels (int): Channels each dilated layer adds.
        dilations (Sequence[int]): Dilation of each layer.
            Defaults to (3, 6, 12, 18, 24) (DenseASPP's rates).
        conv_cfg (dict, optional): Convolution config.
        norm_cfg (dict, optional): Normalisation config.
        act_cfg (dict): Activation config.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bottleneck_channels: int,
        growth_channels: int,
        dilations: Sequence[int] = (3, 6, 12, 18, 24),
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = None,
        act_cfg: ConfigType = dict(type='ReLU')
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        channels = in_channels
        for dilation in dilations:
            self.layers.append(
                nn.Sequential(
                    ConvModule(
                        channels,
                        bottleneck_channels,
                        1,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg),
                    ConvModule(
                        bottleneck_channels,
                        growth_channels,
                        3,
                        padding=dilation,
                        dilation=dilation,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg)))
            channels += growth_channels
        self.project = ConvModule(
            channels,
            out_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, dim=1)))
        return self.project(torch.cat(feats, dim=1))


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
