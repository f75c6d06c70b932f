"""Domain Fusion head of FoSp (Yao et al., AAAI 2024)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor, nn

from ..utils.one_channel import seg_accuracy


class _ForegroundEncoder(nn.Module):
    """Strided conv pyramid over the separation foreground tensor.

    The tensor is first resized to twice the size of the finest feature
    (i.e. half the image for a stride-4 backbone), whatever resolution the
    separation ran at; a stride-1 and a stride-2 conv then reach the finest
    feature's size and each further stage halves it.
    """

    def __init__(self, in_channels: int, channels: Sequence[int],
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                 act_cfg: dict) -> None:
        super().__init__()
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        c0 = channels[0]
        self.stem = nn.Sequential(
            ConvModule(in_channels, c0, 3, padding=1, **cfg),
            ConvModule(c0, c0, 3, stride=2, padding=1, **cfg))
        self.stages = nn.ModuleList(
            ConvModule(cin, cout, 3, stride=2, padding=1, **cfg)
            for cin, cout in zip(channels[:-1], channels[1:]))

    def forward(self, x: Tensor, finest_size: Sequence[int]) -> List[Tensor]:
        size = (2 * int(finest_size[0]), 2 * int(finest_size[1]))
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(
                x,
                size=size,
                mode='bilinear',
                align_corners=False,
                antialias=x.shape[-2] > size[0] or x.shape[-1] > size[1])
        outs = [self.stem(x)]
        for stage in self.stages:
            outs.append(stage(outs[-1]))
        return outs


@MODELS.register_module()
class DomainFusionHead(BaseDecodeHead):
    """Domain Fusion head of `FoSp <https://arxiv.org/abs/2306.04474>`_.

    Implements the paper's Domain Fusion module (Sec. "Domain Fusion
    module") and its deep supervision. From coarse to fine, each
    (focus-weighted) backbone feature is concatenated with the foreground
    feature of the same stride and with the upsampled previous fusion
    result, and fused by a ConvModule; the finest result goes through one
    more ConvModule, dropout and ``conv_seg``:

    .. code:: text

        y_L = conv([F'_L, G_L])                          (coarsest)
        y_i = conv([F'_i, G_i, up(y_{i+1})])             i = L-1 .. 1
        logit = conv_seg(dropout(conv(y_1)))

    ``F'_i`` are ``inputs[in_index]`` (the :class:`FocusNeck` outputs
    0..3). ``G_i`` is a strided conv pyramid over the separation
    foreground tensor ``inputs[fg_index]`` (the 7-channel
    ``[|I - B|, a, a * S]`` that :class:`FoSpEncoderDecoder` appends).

    Deep supervision (release ``base_decode_head.py``): every loss in
    ``loss_decode`` is applied to the final logit with
    ``final_loss_weight`` (0.5), to the focus logit ``inputs[focus_index]``
    with ``focus_loss_weight`` (0.1) and to each side logit
    ``inputs[side_index[k]]`` with ``side_loss_weights[k]`` (0.1 each),
    i.e. the release's 6 terms. These weights multiply the ``loss_weight``
    inside ``loss_decode``. The final term keeps the loss's own name
    (e.g. ``loss_ce``); the others get a suffix (``loss_ce_focus``,
    ``loss_ce_side0`` ...). A pixel sampler, if set, weights the final
    term only.

    Every part is optional, so the head also works after a stock backbone
    without the neck or the separation (``focus_index=None,
    side_index=(), fg_index=None``: a plain coarse-to-fine fusion decoder)
    or after :class:`FocusNeck` in a stock ``EncoderDecoder``
    (``fg_index=None``).

    Deviations from the released code (``FOSP_main.py`` L198-225):

    - The focus weighting ``F * m + F`` is done by :class:`FocusNeck`.
    - The foreground features come from an image-space decomposition
      through a small trained conv pyramid instead of 1x1 "registration"
      convs on the features of a frozen random MAT generator.
    - The release predicts with a separate ``fusion_conv_seg`` and leaves
      the base head's ``conv_seg`` (and ``reconstra_conv_seg``) unused,
      which forces DDP's ``find_unused_parameters``; here ``conv_seg`` is
      the classifier and no parameter is unused.
    - Channel numbers come from the config; nothing assumes MiT-B3.

    Args:
        in_channels (Sequence[int]): Channels of the selected features,
            finest first.
        channels (int): Channels before ``conv_seg``. Release: 256.
        in_index (Sequence[int]): Indices of the features in the input
            tuple. Defaults to (0, 1, 2, 3).
        fusion_channels (Sequence[int]): Output channels of the fusion
            convs, coarsest first. Release: (256, 512, 768, 1024).
        fusion_kernel_size (int): Kernel size of the fusion convs.
            Defaults to 1 (release).
        fg_index (int, optional): Index of the separation foreground tensor
            in the input tuple; None disables the foreground branch.
            Defaults to 9 (after the 9 :class:`FocusNeck` outputs).
        fg_in_channels (int): Channels of the foreground tensor.
            Defaults to 7 (:attr:`SeparationModule.out_channels`).
        fg_channels (Sequence[int]): Channels of the foreground pyramid,
            finest first. Defaults to (32, 64, 128, 256).
        focus_index (int, optional): Index of the focus logit; None
            disables its loss. Defaults to 4.
        side_index (Sequence[int]): Indices of the side logits. Defaults to
            (5, 6, 7, 8).
        final_loss_weight (float): Weight of the final-logit loss.
            Defaults to 0.5 (release).
        focus_loss_weight (float): Weight of the focus-logit loss.
            Defaults to 0.1 (release).
        side_loss_weights (Sequence[float]): Weight of each side-logit loss.
            Defaults to (0.1, 0.1, 0.1, 0.1) (release).
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``out_channels``, ``threshold``, ``norm_cfg``, ``loss_decode``,
            ``dropout_ratio``, ``align_corners`` ...).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 fusion_channels: Sequence[int] = (256, 512, 768, 1024),
                 fusion_kernel_size: int = 1,
                 fg_index: Optional[int] = 9,
                 fg_in_channels: int = 7,
                 fg_channels: Sequence[int] = (32, 64, 128, 256),
                 focus_index: Optional[int] = 4,
                 side_index: Sequence[int] = (5, 6, 7, 8),
                 final_loss_weight: float = 0.5,
                 focus_loss_weight: float = 0.1,
                 side_loss_weights: Sequence[float] = (0.1, 0.1, 0.1, 0.1),
                 **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        if kwargs['input_transform'] != 'multiple_select':
            raise ValueError('DomainFusionHead needs input_transform='
                             f'"multiple_select", got '
                             f'{kwargs["input_transform"]!r}')
        super().__init__(
            in_channels=list(in_channels),
            channels=channels,
            in_index=list(in_index),
            **kwargs)
        num_levels = len(self.in_channels)
        if len(fusion_channels) != num_levels:
            raise ValueError(
                f'DomainFusionHead: fusion_channels {tuple(fusion_channels)} '
                f'needs one entry per input level ({num_levels})')
        if fg_index is not None and len(fg_channels) != num_levels:
            raise ValueError(
                f'DomainFusionHead: fg_channels {tuple(fg_channels)} needs '
                f'one entry per input level ({num_levels})')
        if len(side_loss_weights) != len(side_index):
            raise ValueError('DomainFusionHead: side_loss_weights '
                             f'{tuple(side_loss_weights)} and side_index '
                             f'{tuple(side_index)} must have the same length')
        self.fg_index = fg_index
        self.focus_index = focus_index
        self.side_index = tuple(side_index)
        self.final_loss_weight = final_loss_weight
        self.focus_loss_weight = focus_loss_weight
        self.side_loss_weights = tuple(side_loss_weights)

        cfg = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        if fg_index is not None:
            self.fg_encoder = _ForegroundEncoder(fg_in_channels,
                                                 list(fg_channels), **cfg)
            fg_channels = list(fg_channels)
        else:
            self.fg_encoder = None
            fg_channels = [0] * num_levels
        self.fusion_convs = nn.ModuleList()
        prev = 0
        # built coarse -> fine, like the fusion order
        for k, level in enumerate(reversed(range(num_levels))):
            cin = self.in_channels[level] + fg_channels[level] + prev
            self.fusion_convs.append(
                ConvModule(
                    cin,
                    fusion_channels[k],
                    fusion_kernel_size,
                    padding=fusion_kernel_size // 2,
                    **cfg))
            prev = fusion_channels[k]
        self.fusion_final = ConvModule(prev, channels, 1, **cfg)

    def _get(self, inputs: Sequence[Tensor], index: int, what: str) -> Tensor:
        if index >= len(inputs) or index < -len(inputs):
            hint = (' The foreground is appended by FoSpEncoderDecoder; '
                    'set fg_index=None to use the head without separation.'
                    if what == 'foreground' else
                    ' Focus/side logits come from FocusNeck; set '
                    'focus_index=None and side_index=() without it.')
            raise IndexError(
                f'DomainFusionHead: {what} index {index} is out of range for '
                f'{len(inputs)} inputs.{hint}')
        return inputs[index]

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Fuse the features into the final logit.

        Args:
            inputs (Sequence[Tensor]): Neck outputs (plus the foreground
                tensor when ``fg_index`` is set).

        Returns:
            Tensor: Logits (N, out_channels, H/4, W/4) at the finest
            selected feature's size.
        """
        feats = self._transform_inputs(inputs)
        for i, (x, c) in enumerate(zip(feats, self.in_channels)):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(
                    f'DomainFusionHead: input {self.in_index[i]} has shape '
                    f'{tuple(x.shape)}, expected {c} channels')
        fg_feats = None
        if self.fg_encoder is not None:
            fg = self._get(inputs, self.fg_index, 'foreground')
            fg_feats = self.fg_encoder(fg.to(feats[0]), feats[0].shape[-2:])
        y = None
        for k, level in enumerate(reversed(range(len(feats)))):
            x = feats[level]
            parts = [x]
            if fg_feats is not None:
                parts.append(self._resize(fg_feats[level], x))
            if y is not None:
                parts.append(self._resize(y, x))
            y = self.fusion_convs[k](torch.cat(parts, dim=1))
        return self.cls_seg(self.fusion_final(y))

    def _resize(self, x: Tensor, like: Tensor) -> Tensor:
        if x.shape[-2:] == like.shape[-2:]:
            return x
        return F.interpolate(
            x,
            size=like.shape[-2:],
            mode='bilinear',
            align_corners=self.align_corners)

    def loss(self, inputs: Sequence[Tensor], batch_data_samples: SampleList,
             train_cfg: ConfigType) -> Dict[str, Tensor]:
        """Forward and compute the deeply supervised losses.

        Args:
            inputs (Sequence[Tensor]): See :meth:`forward`.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            train_cfg (dict): Training config (unused).

        Returns:
            dict[str, Tensor]: The loss terms.
        """
        seg_logits = self.forward(inputs)
        extra: List[Tuple[Tensor, float, str]] = []
        if self.focus_index is not None:
            focus = self._get(inputs, self.focus_index, 'focus')
            extra.append((focus, self.focus_loss_weight, 'focus'))
        pairs = zip(self.side_index, self.side_loss_weights)
        for k, (idx, weight) in enumerate(pairs):
            side = self._get(inputs, idx, 'side')
            extra.append((side, weight, f'side{k}'))
        return self.loss_by_feat(seg_logits, batch_data_samples, extra)

    def loss_by_feat(
        self,
        seg_logits: Tensor,
        batch_data_samples: SampleList,
        extra_logits: Sequence[Tuple[Tensor, float, str]] = ()
    ) -> Dict[str, Tensor]:
        """Compute the losses of the final and the extra logits.

        Args:
            seg_logits (Tensor): Final logits.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            extra_logits (Sequence[tuple[Tensor, float, str]]): Extra
                logits with their weight and name suffix.

        Returns:
            dict[str, Tensor]: The loss terms.
        """
        seg_label = self._stack_batch_gt(batch_data_samples)
        size = seg_label.shape[2:]
        seg_weight = None
        if self.sampler is not None:
            seg_weight = self.sampler.sample(
                resize(
                    seg_logits,
                    size,
                    mode='bilinear',
                    align_corners=self.align_corners), seg_label)
        seg_label = seg_label.squeeze(1)
        losses_decode = self.loss_decode if isinstance(
            self.loss_decode, nn.ModuleList) else [self.loss_decode]
        terms = [(seg_logits, self.final_loss_weight, None)]
        terms += list(extra_logits)
        loss: Dict[str, Tensor] = dict()
        for logits, weight, suffix in terms:
            if logits.shape[1] != self.out_channels:
                raise ValueError(
                    f'DomainFusionHead: the {suffix or "final"} logit has '
                    f'{logits.shape[1]} channels, out_channels is '
                    f'{self.out_channels}')
            logits = resize(
                logits,
                size=size,
                mode='bilinear',
                align_corners=self.align_corners)
            for loss_decode in losses_decode:
                name = loss_decode.loss_name
                if suffix is not None:
                    name = f'{name}_{suffix}'
                value = weight * loss_decode(
                    logits,
                    seg_label,
                    weight=seg_weight if suffix is None else None,
                    ignore_index=self.ignore_index)
                loss[name] = loss[name] + value if name in loss else value
        loss['acc_seg'] = seg_accuracy(
            resize(
                seg_logits,
                size,
                mode='bilinear',
                align_corners=self.align_corners),
            seg_label,
            threshold=self.threshold if self.out_channels == 1 else 0.5,
            ignore_index=self.ignore_index)
        return loss
