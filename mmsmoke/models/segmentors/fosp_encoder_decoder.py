"""Segmentor of FoSp (Yao et al., AAAI 2024)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList, add_prefix
from torch import Tensor

from ..necks.focus_neck import FocusNeck, FocusOutputs
from .smoke_encoder_decoder import (HeadStep, LogitsAndMaps, Maps,
                                    SmokeEncoderDecoder)

#: The separation maps, by name (``pred_<name>``).
SEPARATION_MAPS = ('alpha', 'foreground', 'background')


def _with_foreground_channels(decode_head: ConfigType,
                              separation: OptConfigType) -> ConfigType:
    """The decode-head config with ``fg_in_channels`` of the separation.

    As ``EncoderDecoder`` reads ``num_classes`` from its head, the head
    reads the width of the foreground tensor from the separation module
    (its class attribute ``out_channels``), so no config repeats it. The
    head declares that it takes one (class attribute
    ``takes_foreground``, as :class:`DomainFusionHead` does).
    """
    if not separation:
        return decode_head
    sep_cls = MODELS.get(separation['type'])
    head_cls = MODELS.get(decode_head['type'])
    if sep_cls is None or head_cls is None:
        missing = separation['type'] if sep_cls is None \
            else decode_head['type']
        raise KeyError(f'FoSpEncoderDecoder: {missing!r} is not registered '
                       'in the MODELS registry; check the config type')
    channels = int(sep_cls.out_channels)
    if not getattr(head_cls, 'takes_foreground', False):
        raise ValueError(
            f'FoSpEncoderDecoder: the separation foreground needs a head '
            f'that takes it (DomainFusionHead); {decode_head["type"]} does '
            'not. Remove model.separation or change model.decode_head.type')
    given = decode_head.get('fg_in_channels', None)
    if given is not None and int(given) != channels:
        raise ValueError(
            f'FoSpEncoderDecoder: model.decode_head.fg_in_channels={given} '
            f'but {separation["type"]} produces {channels} channels; delete '
            'model.decode_head.fg_in_channels (it is set from the separation)')
    head = ConfigDict(decode_head)
    head['fg_in_channels'] = channels
    return head


@MODELS.register_module()
class FoSpEncoderDecoder(SmokeEncoderDecoder):
    """Encoder-decoder with FoSp's Focus and Separation stages.

    `FoSp <https://arxiv.org/abs/2306.04474>`_ (paper Fig. 2, "FoSp
    Overview"): backbone -> :class:`FocusNeck` (focus map and
    focus-weighted features) -> :class:`SeparationModule` (the focus
    region is inpainted; smoke layer and background of the *image*) ->
    :class:`DomainFusionHead`.

    The parts travel by name: the neck returns a
    :class:`~mmsmoke.models.necks.FocusOutputs` (``features``, ``focus``,
    ``sides``); the separation module takes the RGB image in [0, 1] of the
    batch (:meth:`batch_images`) and ``focus``; the head takes the neck outputs and the
    separation's ``feature`` as ``foreground=``. The head's
    ``fg_in_channels`` is set from the separation module's
    ``out_channels``. The separation losses are returned with the prefix
    ``sep.``.

    :meth:`encode_decode_with_maps` gives, and :meth:`predict` writes into
    every :class:`SegDataSample` (un-padded, un-flipped and resized to
    ``ori_shape`` exactly like ``seg_logits``; slide mode averages them
    over the windows):

    - ``pred_focus``: focus probability, (1, H, W);
    - ``pred_alpha``: smoke opacity a, (1, H, W);
    - ``pred_foreground``: smoke layer a * S (RGB in [0, 1]), (3, H, W);
    - ``pred_background``: estimated smoke-free background B (RGB in
      [0, 1]), (3, H, W).

    Deviations from the released ``EncoderDecoderFOSP``: the separation
    sees the RGB image in [0, 1], inverted from the input on the device
    in one batched step (the release
    de-normalises in numpy on the CPU, image by image, and hands the head a
    BGR image in [-1, 1] by accident of ``mmcv.imdenormalize``'s default);
    the extra maps are returned instead of being discarded.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Decode head config.
        separation (dict, optional): Separation module config; None runs
            without separation.
        **kwargs: :class:`SmokeEncoderDecoder` arguments: ``neck``
            (normally :class:`FocusNeck`), ``auxiliary_head``,
            ``train_cfg``, ``test_cfg``, ``data_preprocessor``,
            ``pretrained``, ``init_cfg``.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 separation: OptConfigType = None,
                 **kwargs) -> None:
        super().__init__(
            backbone=backbone,
            decode_head=_with_foreground_channels(decode_head, separation),
            **kwargs)
        self.separation = MODELS.build(separation) if separation else None
        if self.separation is not None and not isinstance(
                getattr(self, 'neck', None), FocusNeck):
            raise ValueError(
                'FoSpEncoderDecoder: the separation module inpaints the '
                'focus region, but the neck gives no focus logit; use '
                "model.neck.type='FocusNeck' or remove model.separation")
        self.needs_images = self.separation is not None

    # ------------------------------------------------------------ helpers
    def _focus(self, feats: Sequence[Tensor]) -> Optional[Tensor]:
        """The focus logit, by name; None without :class:`FocusNeck`."""
        return feats.focus if isinstance(feats, FocusOutputs) else None

    def _separate(
        self,
        images: Tensor,
        feats: Sequence[Tensor],
        label: Optional[Tensor] = None
    ) -> Tuple[Optional[Tensor], Maps, Dict[str, Tensor]]:
        """Run the separation on the focus region.

        Returns:
            tuple: The foreground tensor for the head (None without
            separation), the separation maps and the separation losses
            (empty unless ``label`` is given).
        """
        if self.separation is None:
            return None, {}, {}
        focus = self._focus(feats)
        if focus is None:
            raise ValueError(
                'FoSpEncoderDecoder: the separation module inpaints the '
                'focus region, but the neck gives no focus logit; use '
                "model.neck.type='FocusNeck' or remove model.separation")
        if label is None:
            sep, losses = self.separation(images, focus), {}
        else:
            sep, losses = self.separation.loss(images, focus, label)
        maps = {name: sep[name] for name in SEPARATION_MAPS}
        return sep['feature'], maps, losses

    def _head_kwargs(self, foreground: Optional[Tensor]) -> dict:
        return {} if foreground is None else dict(foreground=foreground)

    # -------------------------------------------------------------- hooks
    def map_names(self, test_cfg: OptConfigType = None) -> Tuple[str, ...]:
        """``focus`` (with :class:`FocusNeck`), then the separation maps
        (with a separation module)."""
        focus = isinstance(getattr(self, 'neck', None), FocusNeck)
        return (('focus', ) if focus else ()) + (
            SEPARATION_MAPS if self.separation is not None else ())

    def encode_decode_with_maps(
            self, inputs: Tensor, images: Optional[Tensor],
            batch_img_metas: List[dict],
            test_cfg: OptConfigType = None) -> LogitsAndMaps:
        """Logits plus the focus and separation maps, at the input size
        (FoSp has no test options besides the base's)."""
        feats = self.extract_feat(inputs)
        if self.needs_images and images is None:
            images = self.batch_images(inputs)
        foreground, maps, _ = self._separate(images, feats)
        seg_logits = self.decode_head.predict_by_feat(
            self.decode_head.forward(feats, **self._head_kwargs(foreground)),
            batch_img_metas)
        size = inputs.shape[-2:]
        # the separation maps are at its working size
        for key, value in maps.items():
            if value.shape[-2:] != size:
                maps[key] = F.interpolate(
                    value,
                    size=size,
                    mode='bilinear',
                    align_corners=self.align_corners).clamp_(0.0, 1.0)
        focus = self._focus(feats)
        if focus is not None:
            maps['focus'] = F.interpolate(
                focus,
                size=size,
                mode='bilinear',
                align_corners=self.align_corners).sigmoid()
        return seg_logits, {k: v.detach() for k, v in maps.items()}

    def head_forward_train(self, inputs: Tensor, feats: Sequence[Tensor],
                           data_samples: SampleList) -> HeadStep:
        """The separation (on the focus region, its losses prefixed
        ``sep.``), then the decode head with its foreground.

        Args:
            inputs (Tensor): Normalised images (N, 3, H, W).
            feats: The neck outputs (:class:`FocusOutputs`).
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.
        """
        foreground, sep_losses = None, {}
        if self.separation is not None:
            foreground, _, sep_losses = self._separate(
                self.batch_images(inputs), feats,
                self.batch_labels(data_samples))
        head_losses, seg_logits = self.decode_head_losses(
            feats, data_samples, **self._head_kwargs(foreground))
        return HeadStep(head_losses, seg_logits, {},
                        add_prefix(sep_losses, 'sep'))

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[SampleList] = None) -> Tensor:
        """Final logits of the head, without post-processing."""
        feats = self.extract_feat(inputs)
        foreground = None
        if self.separation is not None:
            foreground, _, _ = self._separate(self.batch_images(inputs), feats)
        return self.decode_head.forward(feats, **self._head_kwargs(foreground))
