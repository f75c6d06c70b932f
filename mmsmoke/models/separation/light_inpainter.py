"""Default background estimator of the FoSp separation module."""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor, nn


@MODELS.register_module()
class LightInpainter(BaseModule):
    """Small U-Net that fills holes of an RGB image.

    It plays the role of the inpainting generator in FoSp's Separation
    module (paper Sec. "Separation module"): the region the Focus module
    points at is hidden and re-synthesised from its surroundings, which
    gives the smoke-free background ``B``.

    Deviation from the released code: the release runs a frozen,
    randomly initialised, truncated MAT generator (about 60 M parameters,
    CUDA only, fixed 512 x 512 input). This network is light (about 0.2 M
    parameters with the defaults), works at any input size and device, and
    is trained (self-supervised, :class:`InpaintingLoss`), so ``B`` is a
    real image.

    **Background-estimator interface** (any registered module with this
    ``forward`` can replace it in ``SeparationModule(inpainter=...)``):
    ``forward(image, hole) -> prediction``, where ``image`` is RGB in
    [0, 1] of shape (N, 3, H, W), ``hole`` is (N, 1, H, W) with 1 on the
    pixels to fill, and the prediction is (N, 3, H, W) in [0, 1]. Pixels
    outside the hole must not be read from ``image``; the caller composites
    ``image * (1 - hole) + prediction * hole``.

    Architecture: a stem, ``num_downsamples`` stride-2 stages (channels
    doubling up to ``4 * base_channels``), residual dilated 3x3 convs at
    the bottleneck for a large receptive field, and a decoder that
    upsamples and concatenates the skips. Any input size works (the decoder
    resizes to each skip's size).

    Args:
        base_channels (int): Channels of the full-resolution stage.
            Defaults to 16.
        num_downsamples (int): Number of stride-2 stages. Defaults to 3.
        dilations (Sequence[int]): Dilations of the bottleneck convs.
            Defaults to (2, 4, 8).
        norm_cfg (dict, optional): Norm layer config; None (default) keeps
            the net independent of the batch composition.
        act_cfg (dict): Activation config. Defaults to LeakyReLU(0.2).
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 base_channels: int = 16,
                 num_downsamples: int = 3,
                 dilations: Sequence[int] = (2, 4, 8),
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(
                     type='LeakyReLU', negative_slope=0.2),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if base_channels <= 0 or num_downsamples < 0:
            raise ValueError('LightInpainter needs base_channels > 0 and '
                             f'num_downsamples >= 0, got {base_channels}, '
                             f'{num_downsamples}')
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        chans = [
            base_channels * min(2**i, 4) for i in range(num_downsamples + 1)
        ]
        self.stem = ConvModule(4, chans[0], 3, padding=1, **conv)
        self.downs = nn.ModuleList()
        for cin, cout in zip(chans[:-1], chans[1:]):
            self.downs.append(
                nn.Sequential(
                    ConvModule(cin, cout, 3, stride=2, padding=1, **conv),
                    ConvModule(cout, cout, 3, padding=1, **conv)))
        self.context = nn.ModuleList(
            ConvModule(chans[-1], chans[-1], 3, padding=d, dilation=d, **conv)
            for d in dilations)
        self.ups = nn.ModuleList()
        for cskip, cin in zip(chans[-2::-1], chans[:0:-1]):
            self.ups.append(
                ConvModule(cin + cskip, cskip, 3, padding=1, **conv))
        self.to_rgb = nn.Conv2d(chans[0], 3, 3, padding=1)

    def forward(self, image: Tensor, hole: Tensor) -> Tensor:
        """Predict the image content, in particular inside the hole.

        Args:
            image (Tensor): RGB image in [0, 1], (N, 3, H, W).
            hole (Tensor): Hole mask, (N, 1, H, W), 1 = unknown.

        Returns:
            Tensor: Predicted RGB image in [0, 1], (N, 3, H, W).
        """
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError('LightInpainter expects an RGB image (N, 3, H, '
                             f'W), got {tuple(image.shape)}')
        if hole.shape != (image.shape[0], 1) + image.shape[2:]:
            raise ValueError(f'LightInpainter hole must be (N, 1, H, W) = '
                             f'{(image.shape[0], 1) + tuple(image.shape[2:])}'
                             f', got {tuple(hole.shape)}')
        hole = hole.to(image)
        known = (image * 2.0 - 1.0) * (1.0 - hole)
        x = self.stem(torch.cat([known, hole], dim=1))
        skips: List[Tensor] = []
        for down in self.downs:
            skips.append(x)
            x = down(x)
        for layer in self.context:
            x = x + layer(x)
        for up, skip in zip(self.ups, reversed(skips)):
            x = F.interpolate(
                x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
            x = up(torch.cat([x, skip], dim=1))
        return self.to_rgb(x).sigmoid()
