"""Segmentor of FoSp (Yao et al., AAAI 2024)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors.encoder_decoder import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList, add_prefix)
from torch import Tensor

from ..separation import SeparationModule  # noqa: F401
from ..utils.fosp_ops import restore_to_original
from ..utils.image_ops import denormalize_inputs
from ..utils.one_channel import (OneChannelAuxiliaryMixin,
                                 check_one_channel_losses)

Maps = Dict[str, Tensor]


@MODELS.register_module()
class FoSpEncoderDecoder(OneChannelAuxiliaryMixin, EncoderDecoder):
    """Encoder-decoder with FoSp's Focus and Separation stages.

    `FoSp <https://arxiv.org/abs/2306.04474>`_ (paper Fig. 2, "FoSp
    Overview"): backbone -> :class:`FocusNeck` (focus map and
    focus-weighted features) -> :class:`SeparationModule` (the focus
    region is inpainted; smoke layer and background of the *image*) ->
    :class:`DomainFusionHead`.

    The separation module needs the un-normalised image, which a stock
    decode head never sees; this segmentor recovers it on the device with
    :func:`denormalize_inputs` and appends the separation's foreground
    tensor to the neck outputs, so the head input is
    ``neck_outputs + (foreground_feature,)`` (index 9 after FocusNeck).
    The separation losses are returned with the prefix ``sep.``.

    ``predict`` adds to every :class:`SegDataSample`, un-padded, un-flipped
    and resized to ``ori_shape`` exactly like ``seg_logits``:

    - ``pred_focus``: focus probability, (1, H, W);
    - ``pred_alpha``: smoke opacity a, (1, H, W);
    - ``pred_foreground``: smoke layer a * S (RGB in [0, 1]), (3, H, W);
    - ``pred_background``: estimated smoke-free background B (RGB in
      [0, 1]), (3, H, W).

    ``test_cfg.mode='slide'`` accumulates these maps over the windows and
    divides by the window count, like the logits.

    Deviations from the released ``EncoderDecoderFOSP``: the image is
    de-normalised in one batched op on the device and stays RGB in [0, 1]
    (the release loops over images in numpy on the CPU, hands the head a
    BGR image in [-1, 1] by accident of ``mmcv.imdenormalize``'s default);
    the extra maps are returned instead of being discarded.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Decode head config.
        neck (dict, optional): Neck config, normally :class:`FocusNeck`.
        separation (dict, optional): Separation module config; None runs
            without separation (then the head needs ``fg_index=None``).
        focus_index (int, optional): Position of the focus logit in the
            neck output; None reads the neck's ``focus_index`` attribute.
        auxiliary_head (dict, optional): Auxiliary head config.
        train_cfg (dict, optional): Training config.
        test_cfg (dict, optional): Testing config (``mode`` 'whole' or
            'slide' with ``crop_size`` and ``stride``).
        data_preprocessor (dict, optional): Data pre-processor config.
        pretrained (str, optional): Backbone checkpoint.
        init_cfg (dict, optional): Initialisation config.
    """

    #: Data-sample field of each extra map.
    MAP_FIELDS = dict(
        focus='pred_focus',
        alpha='pred_alpha',
        foreground='pred_foreground',
        background='pred_background')

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 neck: OptConfigType = None,
                 separation: OptConfigType = None,
                 focus_index: Optional[int] = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg)
        check_one_channel_losses(self)
        if focus_index is None and self.with_neck:
            focus_index = getattr(self.neck, 'focus_index', None)
        self.focus_index = focus_index
        self.separation = MODELS.build(separation) if separation else None
        if self.separation is not None and focus_index is None:
            raise ValueError(
                'FoSpEncoderDecoder: the separation module inpaints the focus '
                'region, but the neck exposes no focus logit; use FocusNeck '
                'or set focus_index')

    # ------------------------------------------------------------ helpers
    def _test_mode(self) -> str:
        cfg = self.test_cfg or dict()
        mode = cfg.get('mode', 'whole')
        if mode not in ('whole', 'slide'):
            raise ValueError('FoSpEncoderDecoder test_cfg.mode must be '
                             f'"whole" or "slide", got {mode!r}')
        return mode

    def _focus_logit(self, feats: Sequence[Tensor]) -> Tensor:
        if self.focus_index >= len(feats):
            raise IndexError(
                f'FoSpEncoderDecoder: focus_index {self.focus_index} is out '
                f'of range for the {len(feats)} neck outputs')
        return feats[self.focus_index]

    def _head_inputs(
        self,
        inputs: Tensor,
        feats: Sequence[Tensor],
        label: Optional[Tensor] = None
    ) -> Tuple[Tuple[Tensor, ...], Maps, Dict[str, Tensor]]:
        """Run the separation and append its foreground to the features.

        Returns:
            tuple: The head inputs, the separation maps (empty without
            separation) and the separation losses (empty unless ``label``
            is given).
        """
        feats = tuple(feats)
        if self.separation is None:
            return feats, {}, {}
        image = denormalize_inputs(inputs, self.data_preprocessor)
        focus = self._focus_logit(feats)
        if label is None:
            sep, losses = self.separation(image, focus), {}
        else:
            sep, losses = self.separation.loss(image, focus, label)
        maps = dict(
            alpha=sep['alpha'],
            foreground=sep['foreground'],
            background=sep['background'])
        return feats + (sep['feature'], ), maps, losses

    def _encode_decode_with_maps(
            self, inputs: Tensor,
            batch_img_metas: List[dict]) -> Tuple[Tensor, Maps]:
        """Logits and extra maps, all at the size of ``inputs``."""
        feats = self.extract_feat(inputs)
        head_inputs, maps, _ = self._head_inputs(inputs, feats)
        seg_logits = self.decode_head.predict(head_inputs, batch_img_metas,
                                              self.test_cfg)
        size = inputs.shape[-2:]
        # the separation maps are at its working size
        for key, value in maps.items():
            if value.shape[-2:] != size:
                maps[key] = F.interpolate(
                    value,
                    size=size,
                    mode='bilinear',
                    align_corners=self.align_corners).clamp_(0.0, 1.0)
        if self.focus_index is not None:
            maps['focus'] = F.interpolate(
                self._focus_logit(feats),
                size=size,
                mode='bilinear',
                align_corners=self.align_corners).sigmoid()
        return seg_logits, {k: v.detach() for k, v in maps.items()}

    def _slide_with_maps(self, inputs: Tensor,
                         batch_img_metas: List[dict]) -> Tuple[Tensor, Maps]:
        """Sliding-window inference that also averages the extra maps."""
        h_stride, w_stride = self.test_cfg['stride']
        h_crop, w_crop = self.test_cfg['crop_size']
        batch_size, _, h_img, w_img = inputs.size()
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = inputs.new_zeros((batch_size, self.out_channels, h_img, w_img))
        count = inputs.new_zeros((batch_size, 1, h_img, w_img))
        maps: Maps = dict()
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y1 = h_idx * h_stride
                x1 = w_idx * w_stride
                y2 = min(y1 + h_crop, h_img)
                x2 = min(x1 + w_crop, w_img)
                y1 = max(y2 - h_crop, 0)
                x1 = max(x2 - w_crop, 0)
                crop = inputs[:, :, y1:y2, x1:x2]
                batch_img_metas[0]['img_shape'] = crop.shape[2:]
                logits, crop_maps = self._encode_decode_with_maps(
                    crop, batch_img_metas)
                pad = (int(x1), int(w_img - x2), int(y1), int(h_img - y2))
                preds += F.pad(logits, pad)
                for key, value in crop_maps.items():
                    padded = F.pad(value, pad)
                    maps[key] = maps[key] + padded if key in maps else padded
                count[:, :, y1:y2, x1:x2] += 1
        if (count == 0).any():
            raise RuntimeError('slide inference left pixels uncovered; check '
                               'test_cfg.crop_size and stride')
        return preds / count, {k: v / count for k, v in maps.items()}

    def _inference_with_maps(
            self, inputs: Tensor,
            batch_img_metas: List[dict]) -> Tuple[Tensor, Maps]:
        if self._test_mode() == 'slide':
            return self._slide_with_maps(inputs, batch_img_metas)
        return self._encode_decode_with_maps(inputs, batch_img_metas)

    # ------------------------------------------------ EncoderDecoder API
    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Logits at the input size (the extra maps are dropped)."""
        return self._encode_decode_with_maps(inputs, batch_img_metas)[0]

    def slide_inference(self, inputs: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Sliding-window logits (see :meth:`predict` for the maps)."""
        return self._slide_with_maps(inputs, batch_img_metas)[0]

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Logits in 'whole' or 'slide' mode (the maps are dropped)."""
        return self._inference_with_maps(inputs, batch_img_metas)[0]

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Compute the decode-head, auxiliary and separation losses.

        Args:
            inputs (Tensor): Normalised images (N, 3, H, W).
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: Loss terms; separation terms are prefixed
            ``sep.``, decode-head terms ``decode.``.
        """
        feats = self.extract_feat(inputs)
        label = None
        if self.separation is not None:
            label = torch.stack(
                [sample.gt_sem_seg.data for sample in data_samples])
        head_inputs, _, sep_losses = self._head_inputs(inputs, feats, label)
        losses = dict()
        losses.update(
            self._decode_head_forward_train(head_inputs, data_samples))
        if self.with_auxiliary_head:
            losses.update(
                self._auxiliary_head_forward_train(head_inputs, data_samples))
        losses.update(add_prefix(sep_losses, 'sep'))
        return losses

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict masks plus the focus and separation maps.

        Args:
            inputs (Tensor): Normalised images (N, 3, H, W).
            data_samples (list[SegDataSample], optional): With metainfo.

        Returns:
            list[SegDataSample]: ``seg_logits``, ``pred_sem_seg`` and the
            ``pred_focus``/``pred_alpha``/``pred_foreground``/
            ``pred_background`` fields (see the class docstring).
        """
        if data_samples is not None:
            batch_img_metas = [sample.metainfo for sample in data_samples]
        else:
            batch_img_metas = [
                dict(
                    ori_shape=inputs.shape[2:],
                    img_shape=inputs.shape[2:],
                    pad_shape=inputs.shape[2:],
                    padding_size=[0, 0, 0, 0])
            ] * inputs.shape[0]
        seg_logits, maps = self._inference_with_maps(inputs, batch_img_metas)
        results = self.postprocess_result(seg_logits, data_samples)
        for i, sample in enumerate(results):
            for key, value in maps.items():
                value = value[i:i + 1]
                if data_samples is not None:
                    value = restore_to_original(value, sample.metainfo,
                                                self.align_corners)
                else:
                    value = value[0]
                sample.set_data({self.MAP_FIELDS[key]: PixelData(data=value)})
        return results

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Final logits of the head, without post-processing."""
        feats = self.extract_feat(inputs)
        head_inputs, _, _ = self._head_inputs(inputs, feats)
        return self.decode_head.forward(head_inputs)
