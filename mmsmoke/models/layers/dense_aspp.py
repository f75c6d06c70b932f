"""Densely connected atrous spatial pyramid pooling (Yang et al., CVPR
2018), used by the Transmission-BVM decode head."""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmseg.utils import ConfigType, OptConfigType


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
