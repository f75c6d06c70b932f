"""Residual channel attention (Zhang et al., ECCV 2018).

Used by the Transmission-BVM decode head, as the paper and the release use
it.
"""
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmseg.utils import OptConfigType


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
        # body.0: 3x3 conv + ReLU, body.1: 3x3 conv, body.2: attention
        convs = [
            ConvModule(
                channels,
                channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=act_cfg) for act_cfg in (dict(type='ReLU'), None)
        ]
        self.body = nn.Sequential(*convs,
                                  ChannelAttention(channels, reduction))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)
