"""Focus module of FoSp (Yao et al., AAAI 2024) as a reusable MMSeg neck."""
from typing import List, NamedTuple, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from ..utils.image_ops import resize_like


class FocusOutputs(NamedTuple):
    """The outputs of :class:`FocusNeck`, by name.

    A tuple, so that a stock decode head reads the features by position
    (``in_index=[0, 1, 2, 3]``); the FoSp parts read them by name.
    """

    #: Focus-weighted features F'1..F'4 (strides 4, 8, 16, 32).
    f1: Tensor
    f2: Tensor
    f3: Tensor
    f4: Tensor
    #: Focus logit ``f`` (N, 1, h, w) at the focus level.
    focus: Tensor
    #: Side logits (N, 1, h_i, w_i).
    o4: Tensor
    o8: Tensor
    o16: Tensor
    o32: Tensor

    #: Names of the side logits, finest first.
    SIDE_FIELDS = ('o4', 'o8', 'o16', 'o32')

    @property
    def features(self) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The four focus-weighted feature maps, finest first."""
        return (self.f1, self.f2, self.f3, self.f4)

    @property
    def sides(self) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The side logits ``o4, o8, o16, o32``."""
        return tuple(getattr(self, name) for name in self.SIDE_FIELDS)


@MODELS.register_module()
class FocusNeck(BaseModule):
    """Bidirectional cascade Focus module of `FoSp
    <https://arxiv.org/abs/2306.04474>`_ (paper Sec. "Focus module").

    The finest (1/4) and the coarsest (1/32) backbone features are each
    guided toward the neighbouring mid resolution (1/8 and 1/16):

    .. code:: text

        high -> mid:  o4  = conv(F1)               Q4  = F1 * sig(o4) + F1
                      o8  = conv([up(conv(Q4)) -> size(F2), F2])
        low  -> mid:  o32 = conv(F4)               Q32 = F4 * sig(o32) + F4
                      o16 = conv([up(conv(Q32)) -> size(F3), F3])
        focus:        f   = conv([o8, o16] at the focus level)
        output:       F'i = Fi * sig(f -> size(Fi)) + Fi      i = 1..4

    All of ``o4, o8, o16, o32, f`` are one-channel logits; the FoSp head
    supervises them (deep supervision) and the separation module turns
    ``sigmoid(f)`` into the region to inpaint.

    **Output contract.** ``forward`` returns a :class:`FocusOutputs`, a
    named tuple of 9 tensors:

    ====== ====================================== ===========================
    index  content                                shape
    ====== ====================================== ===========================
    0..3   focus-weighted features F'1..F'4       same as the inputs
    4      focus logit ``f``                      (N, 1, h, w) at focus level
    5..8   side logits ``o4, o8, o16, o32``       (N, 1, h_i, w_i)
    ====== ====================================== ===========================

    A stock decode head (``UPerHead``, ``SegformerHead``, ...) with
    ``in_index=[0, 1, 2, 3]`` therefore uses the neck alone; the FoSp
    parts read the fields by name (``features``, ``focus``, ``sides``):
    the :class:`DomainFusionHead` supervises ``focus`` and ``sides``, the
    separation module inpaints the region of ``focus``.

    Deviations from the released code (``FOSP_main.py``, ``BCG``):

    - The focus-weighting ``F * sig(f) + F``, done in the release's decode
      head, lives here so that a stock head can consume it.
    - Resizing uses bilinear ``F.interpolate`` to the target feature size
      (the release uses ``torchvision.transforms.Resize`` and resizes the
      focus map to a fixed 512 x 512); nothing depends on the input size.
    - Channel numbers come from ``in_channels``, so ResNet (256..2048),
      MiT (e.g. 64..512) and ConvNeXt (96..768) backbones all work.
    - ``focus_level`` makes the resolution of ``f`` configurable; the
      default (2, i.e. 1/16) is the release's choice.

    Args:
        in_channels (Sequence[int]): Channels of the 4 input feature maps,
            finest first (strides 4, 8, 16, 32).
        focus_level (int): Index of the mid resolution at which the focus
            logit is formed: 1 (1/8) or 2 (1/16). Defaults to 2 (release).
        residual (bool): If True the features are weighted as
            ``F * m + F`` (release and paper), else ``F * m``.
            Defaults to True.
        cascade (bool): Guide the mid resolutions with the finest and the
            coarsest features (the bidirectional cascade). False is an
            ablation: ``o8 = conv(F2)`` and ``o16 = conv(F3)`` alone, the
            side logits ``o4``/``o32`` are still produced (and supervised)
            but guide nothing. Defaults to True.
        weight_features (bool): Return the focus-weighted features. False
            is an ablation: outputs 0..3 are the inputs unchanged, the
            focus logit is still returned (the separation module needs
            it). Defaults to True.
        align_corners (bool): ``align_corners`` of every bilinear resize.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None.
    """

    #: Length of the output tuple.
    num_outs: int = len(FocusOutputs._fields)

    def __init__(self,
                 in_channels: Sequence[int],
                 focus_level: int = 2,
                 residual: bool = True,
                 cascade: bool = True,
                 weight_features: bool = True,
                 align_corners: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if len(in_channels) != 4 or any(not isinstance(c, int) or c <= 0
                                        for c in in_channels):
            raise ValueError(
                'FocusNeck needs in_channels of 4 positive ints (strides 4, '
                f'8, 16, 32, finest first), got {in_channels}')
        if focus_level not in (1, 2):
            raise ValueError('FocusNeck focus_level must be 1 (1/8) or 2 '
                             f'(1/16), got {focus_level}')
        c1, c2, c3, c4 = in_channels
        self.in_channels = in_channels
        self.focus_level = focus_level
        self.residual = residual
        self.cascade = bool(cascade)
        self.weight_features = bool(weight_features)
        self.align_corners = align_corners

        # high resolution (1/4) -> mid (1/8)
        self.side_high = nn.Conv2d(c1, 1, 1)
        if self.cascade:
            self.guide_high = nn.Conv2d(c1, c2, 1)
        self.mid_high = nn.Conv2d((2 if self.cascade else 1) * c2, 1, 1)
        # low resolution (1/32) -> mid (1/16)
        self.side_low = nn.Conv2d(c4, 1, 1)
        if self.cascade:
            self.guide_low = nn.Conv2d(c4, c3, 1)
        self.mid_low = nn.Conv2d((2 if self.cascade else 1) * c3, 1, 1)
        # both mid logits -> focus logit
        self.focus_fuse = nn.Conv2d(2, 1, 1)

    def _check_inputs(self, inputs: Sequence[Tensor]) -> None:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 4:
            n = len(inputs) if isinstance(inputs, (list, tuple)) else 'a'
            raise ValueError(
                f'FocusNeck expects 4 feature maps (strides 4..32), got {n} '
                f'{type(inputs).__name__}; set the backbone out_indices to '
                '(0, 1, 2, 3)')
        for i, (x, c) in enumerate(zip(inputs, self.in_channels)):
            if x.dim() != 4:
                raise ValueError(
                    f'FocusNeck input {i} must be (N, C, H, W), got shape '
                    f'{tuple(x.shape)}; mmpretrain backbones need '
                    'gap_before_final_norm=False')
            if x.shape[1] != c:
                raise ValueError(
                    f'FocusNeck input {i} has {x.shape[1]} channels but '
                    f'in_channels[{i}]={c}')

    def focus_weight(self, feat: Tensor, focus_logit: Tensor) -> Tensor:
        """Weight a feature map with the focus map (paper's focus fusion).

        Args:
            feat (Tensor): Feature map (N, C, H, W).
            focus_logit (Tensor): Focus logit (N, 1, h, w).

        Returns:
            Tensor: ``feat * m (+ feat)`` with ``m = sigmoid(focus)``
            resized to (H, W).
        """
        m = resize_like(focus_logit, feat, self.align_corners).sigmoid()
        return feat * m + feat if self.residual else feat * m

    def forward(self, inputs: Sequence[Tensor]) -> FocusOutputs:
        """Run the bidirectional cascade.

        Args:
            inputs (Sequence[Tensor]): 4 feature maps, finest first.

        Returns:
            FocusOutputs: See the output contract in the class docstring.
        """
        self._check_inputs(inputs)
        f1, f2, f3, f4 = inputs

        o4 = self.side_high(f1)
        o32 = self.side_low(f4)
        if self.cascade:
            q4 = f1 * o4.sigmoid() + f1
            q4 = resize_like(self.guide_high(q4), f2, self.align_corners)
            o8 = self.mid_high(torch.cat([q4, f2], dim=1))
            q32 = f4 * o32.sigmoid() + f4
            q32 = resize_like(self.guide_low(q32), f3, self.align_corners)
            o16 = self.mid_low(torch.cat([q32, f3], dim=1))
        else:
            o8 = self.mid_high(f2)
            o16 = self.mid_low(f3)

        ref = o8 if self.focus_level == 1 else o16
        mids = [resize_like(o, ref, self.align_corners) for o in (o8, o16)]
        focus = self.focus_fuse(torch.cat(mids, dim=1))

        if self.weight_features:
            outs: List[Tensor] = [self.focus_weight(f, focus) for f in inputs]
        else:
            outs = list(inputs)
        return FocusOutputs(*outs, focus=focus, o4=o4, o8=o8, o16=o16, o32=o32)
