"""Base segmentor of mmsmoke: logits plus named extra maps."""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors.encoder_decoder import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptSampleList, SampleList,
                         add_prefix)
from torch import Tensor, nn

from ..losses.accuracy import fix_binary_acc_seg
from ..losses.binary_dice_loss import check_one_channel_losses
from ..losses.pixel_losses import PixelLosses
from ...utils.metainfo import whole_image_meta
from ..utils.image_ops import restore_to_original

Maps = Dict[str, Tensor]
#: What :meth:`SmokeEncoderDecoder.encode_decode_with_maps` returns.
LogitsAndMaps = Tuple[Tensor, Maps]

#: Test modes every mmsmoke segmentor understands.
TEST_MODES = ('whole', 'slide')


class HeadStep(NamedTuple):
    """What the decode-head step of :meth:`SmokeEncoderDecoder.loss` gives.

    Attributes:
        losses (dict[str, Tensor]): The head's loss items, not prefixed
            (the pixel losses are summed into them, and all are prefixed
            ``decode.``).
        seg_logits (Tensor, optional): The logits the head's loss scored,
            for ``pixel_losses``; None for a head that owns its loss terms.
        maps (dict[str, Tensor]): Maps for ``pixel_losses`` by name (e.g.
            ``uncertainty``).
        extra_losses (dict[str, Tensor]): Further items, already prefixed
            (e.g. ``sep.``).
    """
    losses: Dict[str, Tensor]
    seg_logits: Optional[Tensor]
    maps: Dict[str, Tensor]
    extra_losses: Dict[str, Tensor]


def _auxiliary_heads(auxiliary_head: nn.Module) -> List[tuple]:
    """(head, loss prefix) pairs, named as ``EncoderDecoder`` names them."""
    if isinstance(auxiliary_head, nn.ModuleList):
        return [(head, f'aux_{idx}')
                for idx, head in enumerate(auxiliary_head)]
    return [(auxiliary_head, 'aux')]


def auxiliary_head_losses(auxiliary_head: nn.Module, inputs,
                          data_samples: SampleList) -> Dict[str, Tensor]:
    """Auxiliary-head losses as MMSeg's ``EncoderDecoder`` computes them.

    The same loss items and ``aux`` / ``aux_{idx}`` prefixes, with the
    ``acc_seg`` of one-channel heads thresholded
    (:func:`~mmsmoke.models.losses.accuracy.fix_binary_acc_seg`).
    """
    losses: Dict[str, Tensor] = dict()
    for head, prefix in _auxiliary_heads(auxiliary_head):
        seg_logits = head.forward(inputs)
        head_losses = fix_binary_acc_seg(
            head.loss_by_feat(seg_logits, data_samples), head, seg_logits,
            data_samples)
        losses.update(add_prefix(head_losses, prefix))
    return losses


@MODELS.register_module()
class SmokeEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` with named extra maps and optional pixel losses.

    The one base of mmsmoke's segmentors: FoSp and Transmission-BVM each
    subclass it directly. A subclass overrides at most these hooks:

    * :meth:`head_forward_train`: the decode-head step of training (the
      template :meth:`loss` runs backbone/neck, this step, the pixel losses
      and the auxiliary heads);
    * :meth:`encode_decode_with_maps`: the logits of a batch (or of a
      slide window) and a dict of extra maps by name, all at the size of
      its input, for the given ``test_cfg``;
    * :meth:`map_names`: the names of those maps;
    * ``_forward``: the tensor mode.

    This base does the rest once:

    * 'whole' and 'slide' inference (``test_cfg.mode``); the slide loop
      sums the maps over the windows and divides them by the window count,
      like the logits. :meth:`encode_decode` and :meth:`inference` give
      the same logits in 'whole' mode;
    * :meth:`postprocess_result`, which writes every map ``name`` as the
      ``PixelData`` field ``pred_<name>`` of each data sample, un-padded,
      un-flipped and resized to ``ori_shape`` by
      :func:`~mmsmoke.models.utils.image_ops.restore_to_original`, exactly
      like ``seg_logits``;
    * ``pixel_losses`` (:class:`~mmsmoke.models.losses.PixelLosses`):
      losses on the decode head's logits that also take the image-derived
      medium transmission (Transmission-BVM Eq. 9) or a map of the
      segmentor, so e.g. the transmission coherence loss is added to any
      decode head by config alone;
    * the one-channel guards: the training-log ``acc_seg`` of one-channel
      decode and auxiliary heads is thresholded
      (:func:`~mmsmoke.models.losses.accuracy.seg_accuracy`) instead of
      MMSeg's arg-max, and MMSeg's ``DiceLoss`` on one channel is refused;
    * the check of ``test_cfg`` at construction, with errors that name the
      key to change;
    * :meth:`batch_images`: the RGB image in [0, 1] of the batch inputs
      (:class:`~mmsmoke.models.data_preprocessors.SmokeDataPreProcessor`
      inverts its normalisation), for the parts that model image
      formation; one path in loss, predict, tensor mode and export.

    Without extra maps and pixel losses it is MMSeg's ``EncoderDecoder``
    plus the guards, so it can be used as a plain segmentor too.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Decode head config.
        pixel_losses (dict | list[dict], optional): Losses applied to the
            decode head's logits with the extra maps
            (:class:`~mmsmoke.models.losses.PixelLosses`).
        transmission_cfg (dict, optional): Arguments of
            ``estimate_transmission`` for the pixel losses that take the
            transmission (``kernel_size=15``, ``omega=0.95``,
            ``top_ratio=0.001`` by default).
        test_cfg (dict, optional): Testing config; defaults to
            ``dict(mode='whole')``.
        **kwargs: The other :class:`mmseg.models.segmentors.EncoderDecoder`
            arguments (``neck``, ``auxiliary_head``, ``train_cfg``,
            ``data_preprocessor``, ``pretrained``, ``init_cfg``).
    """

    #: Whether inference needs the RGB image (set by subclasses).
    needs_images: bool = False

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 pixel_losses: Union[OptConfigType,
                                     Sequence[ConfigType]] = None,
                 transmission_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 **kwargs) -> None:
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            test_cfg=ConfigDict(
                test_cfg if test_cfg is not None else dict(mode='whole')),
            **kwargs)
        self.pixel_losses = PixelLosses(pixel_losses, transmission_cfg)
        #: Whether the decode head overrides ``BaseDecodeHead.loss`` (deep
        #: supervision, as the Domain Fusion head), read once here.
        self.head_owns_loss = \
            type(self.decode_head).loss is not BaseDecodeHead.loss
        check_one_channel_losses(self)
        self.check_test_cfg()

    # ------------------------------------------------------------ config
    def check_test_cfg(self) -> None:
        """Validate ``test_cfg``; subclasses add their own keys.

        Raises:
            ValueError: Naming the ``model.test_cfg`` key to change.
        """
        mode = self.test_cfg.get('mode', 'whole')
        if mode not in TEST_MODES:
            raise ValueError(f'{type(self).__name__}: model.test_cfg.mode '
                             f'must be "whole" or "slide", got {mode!r}')
        if mode == 'slide':
            for key in ('crop_size', 'stride'):
                if key not in self.test_cfg:
                    raise ValueError(
                        f'{type(self).__name__}: model.test_cfg.mode='
                        f'"slide" needs model.test_cfg.{key}')

    # ------------------------------------------------------------ inputs
    def batch_images(self, inputs: Tensor) -> Tensor:
        """RGB images in [0, 1] (N, 3, H, W) of a batch of network inputs.

        The one path to the image, the same in loss, predict, tensor mode
        and export: the pre-processor's
        :meth:`~mmsmoke.models.data_preprocessors.SmokeDataPreProcessor.images_from_inputs`
        inverts its normalisation (after any ``batch_augments``).

        Raises:
            ValueError: If the pre-processor cannot; the message names the
                config key to change.
        """
        from_inputs = getattr(self.data_preprocessor, 'images_from_inputs',
                              None)
        if from_inputs is None:
            raise ValueError(
                f'{type(self).__name__} needs the RGB image of the batch: '
                "set model.data_preprocessor.type='SmokeDataPreProcessor' "
                'in the config')
        return from_inputs(inputs)

    @staticmethod
    def batch_labels(data_samples: SampleList) -> Tensor:
        """Stacked ``gt_sem_seg`` labels (N, 1, H, W)."""
        return torch.stack([sample.gt_sem_seg.data for sample in data_samples],
                           dim=0)

    def logits_at_label_size(
            self, seg_logits: Tensor,
            data_samples: SampleList) -> Tuple[Tensor, Tensor]:
        """Logits resized (bilinear) to the labels, as ``loss_by_feat``
        does, and the stacked labels (N, 1, H, W)."""
        seg_label = self.batch_labels(data_samples)
        return resize(
            seg_logits,
            size=seg_label.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners), seg_label

    # ------------------------------------------------------------ hooks
    def map_names(self, test_cfg: OptConfigType = None) -> Tuple[str, ...]:
        """Names of the maps :meth:`encode_decode_with_maps` returns for
        ``test_cfg`` (default: the model's); this base: none."""
        return ()

    def encode_decode_with_maps(
            self, inputs: Tensor, images: Optional[Tensor],
            batch_img_metas: List[dict],
            test_cfg: OptConfigType = None) -> LogitsAndMaps:
        """Logits and extra maps of a batch or a window (the one hook).

        Args:
            inputs (Tensor): Normalised batch (N, 3, H, W).
            images (Tensor, optional): Its RGB image in [0, 1], when
                :attr:`needs_images`; None otherwise.
            batch_img_metas (list[dict]): Image meta information.
            test_cfg (dict, optional): The test options to use instead of
                ``model.test_cfg`` (e.g. the deterministic ones of an
                export); the model's own is not changed.

        Returns:
            tuple[Tensor, dict[str, Tensor]]: Logits resized like the stock
            head's ``predict`` (the input size) and the maps of
            :meth:`map_names` (N, C, H, W) at the same size. This base: no
            maps.
        """
        return super().encode_decode(inputs, batch_img_metas), {}

    def head_forward_train(self, inputs: Tensor, feats,
                           data_samples: SampleList) -> HeadStep:
        """The decode-head step of :meth:`loss` on the backbone (and neck)
        features ``feats`` of the batch ``inputs``.

        This base: :meth:`decode_head_losses`, no maps, no extra items.
        """
        losses, seg_logits = self.decode_head_losses(feats, data_samples)
        return HeadStep(losses, seg_logits, {}, {})

    # --------------------------------------------------------- inference
    def slide_inference_with_maps(
            self, inputs: Tensor, images: Optional[Tensor],
            batch_img_metas: List[dict]) -> Tuple[Tensor, Maps]:
        """Sliding windows; logits and maps are averaged over the windows.

        The last window of a row or column is shifted back inside the
        image, as in MMSeg's ``slide_inference``.
        """
        h_stride, w_stride = self.test_cfg['stride']
        h_crop, w_crop = self.test_cfg['crop_size']
        batch_size, _, h_img, w_img = inputs.size()
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = inputs.new_zeros((batch_size, self.out_channels, h_img, w_img))
        count = inputs.new_zeros((batch_size, 1, h_img, w_img))
        maps: Maps = {}
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y1 = h_idx * h_stride
                x1 = w_idx * w_stride
                y2 = min(y1 + h_crop, h_img)
                x2 = min(x1 + w_crop, w_img)
                y1 = max(y2 - h_crop, 0)
                x1 = max(x2 - w_crop, 0)
                crop = inputs[:, :, y1:y2, x1:x2]
                crop_images = None if images is None else \
                    images[:, :, y1:y2, x1:x2]
                batch_img_metas[0]['img_shape'] = crop.shape[2:]
                logits, crop_maps = self.encode_decode_with_maps(
                    crop, crop_images, batch_img_metas)
                pad = (int(x1), int(w_img - x2), int(y1), int(h_img - y2))
                preds += F.pad(logits, pad)
                for name, value in crop_maps.items():
                    padded = F.pad(value, pad)
                    maps[name] = maps[name] + padded if name in maps \
                        else padded
                count[:, :, y1:y2, x1:x2] += 1
        if (count == 0).any():
            raise RuntimeError('slide inference left pixels uncovered; check '
                               'model.test_cfg.crop_size and stride')
        return preds / count, {k: v / count for k, v in maps.items()}

    def inference_with_maps(
            self, inputs: Tensor, images: Optional[Tensor],
            batch_img_metas: List[dict]) -> Tuple[Tensor, Maps]:
        """'whole' or 'slide' inference with the extra maps."""
        self.check_test_cfg()
        if self.test_cfg.get('mode', 'whole') == 'slide':
            return self.slide_inference_with_maps(inputs, images,
                                                  batch_img_metas)
        return self.encode_decode_with_maps(inputs, images, batch_img_metas)

    def _images_for(self, inputs: Tensor) -> Optional[Tensor]:
        return self.batch_images(inputs) if self.needs_images else None

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Logits at the input size (the maps are dropped)."""
        return self.encode_decode_with_maps(inputs, self._images_for(inputs),
                                            batch_img_metas)[0]

    def whole_inference(self, inputs: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Whole-image logits (the maps are dropped)."""
        return self.encode_decode(inputs, batch_img_metas)

    def slide_inference(self, inputs: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Sliding-window logits (the maps are dropped)."""
        return self.slide_inference_with_maps(inputs, self._images_for(inputs),
                                              batch_img_metas)[0]

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Logits in 'whole' or 'slide' mode (the maps are dropped)."""
        return self.inference_with_maps(inputs, self._images_for(inputs),
                                        batch_img_metas)[0]

    @staticmethod
    def _metas(inputs: Tensor, data_samples: OptSampleList) -> List[dict]:
        if data_samples is not None:
            return [sample.metainfo for sample in data_samples]
        return [whole_image_meta(inputs.shape[2:])] * inputs.shape[0]

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Masks, probabilities and every extra map as ``pred_<name>``.

        Args:
            inputs (Tensor): Normalised images (N, 3, H, W).
            data_samples (list[SegDataSample], optional): With metainfo.

        Returns:
            list[SegDataSample]: ``seg_logits``, ``pred_sem_seg`` and one
            ``pred_<name>`` field per extra map, at the original size.
        """
        images = self._images_for(inputs)
        seg_logits, maps = self.inference_with_maps(
            inputs, images, self._metas(inputs, data_samples))
        return self.postprocess_result(seg_logits, data_samples, maps)

    def postprocess_result(self,
                           seg_logits: Tensor,
                           data_samples: OptSampleList = None,
                           maps: Optional[Maps] = None) -> SampleList:
        """Stock post-processing plus one ``pred_<name>`` field per map.

        Args:
            seg_logits (Tensor): Logits (N, C, H, W).
            data_samples (list[SegDataSample], optional): Samples.
            maps (dict[str, Tensor], optional): Extra maps (N, C, H, W) at
                the size of ``seg_logits``.

        Returns:
            list[SegDataSample]: Results.
        """
        only_prediction = data_samples is None
        results = super().postprocess_result(seg_logits, data_samples)
        for i, sample in enumerate(results):
            if not maps:
                continue
            for name, value in maps.items():
                value = value[i:i + 1]
                value = value[0] if only_prediction else \
                    restore_to_original(value, sample.metainfo,
                                        self.align_corners)
                sample.set_data({f'pred_{name}': PixelData(data=value)})
        return results

    # ----------------------------------------------------------- training
    def decode_head_losses(self, inputs, data_samples: SampleList,
                           **head_kwargs) -> Tuple[Dict[str, Tensor], Tensor]:
        """Decode-head losses (not prefixed) and the logits they scored.

        A head that keeps ``BaseDecodeHead.loss`` is run as ``forward`` +
        ``loss_by_feat``, with a thresholded ``acc_seg`` for one channel; a
        head that overrides ``loss`` (deep supervision, as the Domain
        Fusion head) owns its terms and its accuracy, and the logits are
        then None.

        Args:
            inputs: The head inputs.
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            **head_kwargs: Passed on to the head's ``forward`` / ``loss``
                (e.g. FoSp's ``foreground``).
        """
        head = self.decode_head
        if self.head_owns_loss:
            return head.loss(inputs, data_samples, self.train_cfg,
                             **head_kwargs), None
        seg_logits = head.forward(inputs, **head_kwargs)
        losses = fix_binary_acc_seg(
            head.loss_by_feat(seg_logits, data_samples), head, seg_logits,
            data_samples)
        return losses, seg_logits

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The training losses (one template for every mmsmoke segmentor).

        Backbone (and neck) features, the decode-head step
        (:meth:`head_forward_train`), ``pixel_losses`` on its logits at the
        label size with its maps (the transmission is estimated from the
        RGB image when a loss takes it), then the auxiliary heads.

        Args:
            inputs (Tensor): Normalised input batch (N, 3, H, W).
            data_samples (list[SegDataSample]): Samples with
                ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: Loss items; the head's and the pixel losses
            are prefixed ``decode.``, then the step's extra items and the
            auxiliary heads' (``aux``).
        """
        feats = self.extract_feat(inputs)
        step = self.head_forward_train(inputs, feats, data_samples)
        head_losses = dict(step.losses)
        if len(self.pixel_losses) > 0:
            if step.seg_logits is None:
                raise ValueError(
                    f'{type(self.decode_head).__name__} computes its own '
                    'loss terms, so its logits cannot be given to '
                    'model.pixel_losses; use a head that keeps the stock '
                    'BaseDecodeHead.loss')
            seg_logits, seg_label = self.logits_at_label_size(
                step.seg_logits, data_samples)
            images = (
                self.batch_images(inputs)
                if 'transmission' in self.pixel_losses.needed_maps
                and 'transmission' not in step.maps else None)
            pixel = self.pixel_losses(
                seg_logits,
                seg_label.squeeze(1),
                self.decode_head.ignore_index,
                maps=step.maps,
                images=images,
                provider=type(self).__name__)
            for name, value in pixel.items():
                head_losses[name] = head_losses[name] + value \
                    if name in head_losses else value
        losses = add_prefix(head_losses, 'decode')
        losses.update(step.extra_losses)
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(
                feats, data_samples))
        return losses

    def _auxiliary_head_forward_train(self, inputs,
                                      data_samples: SampleList) -> dict:
        """Auxiliary-head losses (:func:`auxiliary_head_losses`)."""
        return auxiliary_head_losses(self.auxiliary_head, inputs, data_samples)
