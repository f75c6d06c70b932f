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

from ..losses.accuracy import seg_accuracy
from ..necks.focus_neck import FocusOutputs
from ..utils.image_ops import resize_like

#: Keys of the former index wiring, refused with a hint.
_REMOVED_KEYS = ('fg_index', 'focus_index', 'side_index')


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

    ``F'_i`` are ``inputs[in_index]`` (the focus-weighted features of
    :class:`FocusNeck`, ``FocusOutputs.features``). ``G_i`` is a strided
    conv pyramid over the separation foreground tensor, passed by name as
    ``forward(inputs, foreground=...)`` (the ``[|I - B|, a, a * S]``
    tensor of :class:`SeparationModule`; :class:`FoSpEncoderDecoder` sets
    ``fg_in_channels`` from the separation module's ``out_channels``, as
    ``EncoderDecoder`` reads ``num_classes`` from its head).

    Deep supervision (release ``base_decode_head.py``): every loss in
    ``loss_decode`` is applied to the final logit with
    ``final_loss_weight`` (0.5), to the focus logit ``inputs.focus`` with
    ``focus_loss_weight`` (0.1) and to each side logit ``inputs.sides[k]``
    with ``side_loss_weights[k]`` (0.1 each), i.e. the release's 6 terms;
    the focus and side logits are read by name from the
    :class:`FocusOutputs` of the neck. These weights multiply the ``loss_weight``
    inside ``loss_decode``. The final term keeps the loss's own name
    (e.g. ``loss_ce``); the others get a suffix (``loss_ce_focus``,
    ``loss_ce_side0`` ...). A pixel sampler, if set, weights the final
    term only.

    Every part is optional, so the head also works after a stock backbone
    without the neck or the separation (``focus_loss_weight=None,
    side_loss_weights=()``: a plain coarse-to-fine fusion decoder) or
    after :class:`FocusNeck` in a stock ``EncoderDecoder`` (no
    foreground: ``fg_in_channels=None``).

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
        fg_in_channels (int, optional): Channels of the foreground tensor;
            None (default) builds no foreground branch.
            :class:`FoSpEncoderDecoder` fills it in from its separation
            module; set it by hand only to use the head elsewhere.
        fg_channels (Sequence[int]): Channels of the foreground pyramid,
            finest first. Defaults to (32, 64, 128, 256).
        final_loss_weight (float): Weight of the final-logit loss.
            Defaults to 0.5 (release).
        focus_loss_weight (float, optional): Weight of the focus-logit
            loss; None disables it. Defaults to 0.1 (release).
        side_loss_weights (Sequence[float]): Weight of the loss of each
            side logit ``o4, o8, o16, o32``; empty disables them. Defaults
            to (0.1, 0.1, 0.1, 0.1) (release).
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``out_channels``, ``threshold``, ``norm_cfg``, ``loss_decode``,
            ``dropout_ratio``, ``align_corners`` ...).
    """

    #: The head takes the separation's foreground (``fg_in_channels``);
    #: ``FoSpEncoderDecoder`` sets that argument from the separation.
    takes_foreground = True

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 fusion_channels: Sequence[int] = (256, 512, 768, 1024),
                 fusion_kernel_size: int = 1,
                 fg_in_channels: Optional[int] = None,
                 fg_channels: Sequence[int] = (32, 64, 128, 256),
                 final_loss_weight: float = 0.5,
                 focus_loss_weight: Optional[float] = 0.1,
                 side_loss_weights: Sequence[float] = (0.1, 0.1, 0.1, 0.1),
                 **kwargs) -> None:
        removed = [key for key in _REMOVED_KEYS if key in kwargs]
        if removed:
            raise ValueError(
                f'DomainFusionHead: {removed} no longer exist; the focus and '
                'side logits are read by name from the FocusNeck outputs and '
                'the foreground is passed by name. Delete them from '
                'model.decode_head (focus_loss_weight=None / '
                'side_loss_weights=() disable the deep supervision)')
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
        if fg_in_channels is not None and len(fg_channels) != num_levels:
            raise ValueError(
                f'DomainFusionHead: fg_channels {tuple(fg_channels)} needs '
                f'one entry per input level ({num_levels})')
        if len(side_loss_weights) not in (0, len(FocusOutputs.SIDE_FIELDS)):
            raise ValueError('DomainFusionHead: side_loss_weights '
                             f'{tuple(side_loss_weights)} needs one weight '
                             'per side logit (o4, o8, o16, o32) or none')
        self.fg_in_channels = fg_in_channels
        self.final_loss_weight = final_loss_weight
        self.focus_loss_weight = focus_loss_weight
        self.side_loss_weights = tuple(side_loss_weights)

        cfg = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        if fg_in_channels is not None:
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

    def forward(self,
                inputs: Sequence[Tensor],
                foreground: Optional[Tensor] = None) -> Tensor:
        """Fuse the features into the final logit.

        Args:
            inputs (Sequence[Tensor]): Neck outputs (:class:`FocusOutputs`)
                or plain backbone features.
            foreground (Tensor, optional): The separation foreground tensor
                (N, fg_in_channels, H, W); required when the head has a
                foreground branch.

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
            if foreground is None:
                raise ValueError(
                    'DomainFusionHead: fg_in_channels='
                    f'{self.fg_in_channels} builds a foreground branch, but '
                    'no foreground was passed; use the head in '
                    'FoSpEncoderDecoder with a separation module, or remove '
                    'model.decode_head.fg_in_channels')
            fg_feats = self.fg_encoder(
                foreground.to(feats[0]), feats[0].shape[-2:])
        y = None
        for k, level in enumerate(reversed(range(len(feats)))):
            x = feats[level]
            parts = [x]
            if fg_feats is not None:
                parts.append(
                    resize_like(fg_feats[level], x, self.align_corners))
            if y is not None:
                parts.append(resize_like(y, x, self.align_corners))
            y = self.fusion_convs[k](torch.cat(parts, dim=1))
        return self.cls_seg(self.fusion_final(y))

    def deep_supervision(
            self,
            inputs: Sequence[Tensor]) -> List[Tuple[Tensor, float, str]]:
        """The focus and side logits to supervise, by name.

        Args:
            inputs (Sequence[Tensor]): The head inputs.

        Returns:
            list[tuple[Tensor, float, str]]: (logits, weight, name suffix).

        Raises:
            ValueError: If a weight asks for a logit that the inputs (not
                :class:`FocusOutputs`) do not have.
        """
        if self.focus_loss_weight is None and not self.side_loss_weights:
            return []
        if not isinstance(inputs, FocusOutputs):
            raise ValueError(
                'DomainFusionHead: focus_loss_weight / side_loss_weights '
                'supervise the focus and side logits of FocusNeck, but the '
                f'inputs are a {type(inputs).__name__}; without FocusNeck '
                'set model.decode_head.focus_loss_weight=None and '
                'side_loss_weights=()')
        extra: List[Tuple[Tensor, float, str]] = []
        if self.focus_loss_weight is not None:
            extra.append((inputs.focus, self.focus_loss_weight, 'focus'))
        for k, (side, weight) in enumerate(
                zip(inputs.sides, self.side_loss_weights)):
            extra.append((side, weight, f'side{k}'))
        return extra

    def loss(self,
             inputs: Sequence[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             foreground: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Forward and compute the deeply supervised losses.

        Args:
            inputs (Sequence[Tensor]): See :meth:`forward`.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            train_cfg (dict): Training config (unused).
            foreground (Tensor, optional): See :meth:`forward`.

        Returns:
            dict[str, Tensor]: The loss terms.
        """
        seg_logits = self.forward(inputs, foreground=foreground)
        return self.loss_by_feat(seg_logits, batch_data_samples,
                                 self.deep_supervision(inputs))

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
