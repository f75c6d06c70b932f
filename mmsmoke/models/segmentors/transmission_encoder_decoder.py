"""Encoder-decoder that feeds the medium transmission to pixel losses."""
import inspect
from typing import Dict, List, Optional, Sequence, Union

from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList, add_prefix
from ..utils.transmission import resized_transmission
from .smoke_encoder_decoder import SmokeEncoderDecoder

#: Keyword arguments a pixel loss may declare in its ``forward`` to receive
#: the corresponding map from the segmentor.
PIXEL_LOSS_EXTRAS = ('transmission', 'uncertainty')


@MODELS.register_module()
class TransmissionEncoderDecoder(SmokeEncoderDecoder):
    """EncoderDecoder that computes the transmission and applies pixel losses.

    Stock decode heads call their losses as ``loss(seg_logits, seg_label,
    weight=..., ignore_index=...)``, so a loss that needs the image-derived
    medium transmission (Transmission-BVM Eq. 7-9) cannot live in
    ``decode_head.loss_decode``. This segmentor runs, in training:

    1. ``decode_head.forward`` and ``decode_head.loss_by_feat`` (the head's
       own ``loss_decode``, unchanged);
    2. the transmission ``T`` of the batch, once, from the RGB image in
       [0, 1] that
       :class:`~mmsmoke.models.data_preprocessors.SmokeDataPreProcessor`
       hands over (dark channel prior, Eq. 9,
       :func:`mmsmoke.models.utils.transmission.estimate_transmission`),
       batched on the device without gradient;
    3. every loss of ``pixel_losses`` on the same logits resized to the
       label size (as ``loss_by_feat`` does), called as
       ``loss(seg_logits, seg_label, weight=None, ignore_index=...,
       transmission=T)``. A loss receives ``transmission`` (and, from
       subclasses, ``uncertainty``) only if its ``forward`` names that
       argument, so any stock loss can be listed too.

    Loss items are prefixed ``decode.`` like the head's; items with the
    same ``loss_name`` are summed. Inference is the stock one. Any decode
    head works, so the transmission loss is added to e.g. DeepLabV3+ or
    SegFormer by config alone.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Decode head config.
        pixel_losses (dict | list[dict], optional): Losses applied to the
            decode head's logits with the extra maps.
        transmission_cfg (dict, optional): Arguments of
            ``estimate_transmission`` (``kernel_size=15``, ``omega=0.95``,
            ``top_ratio=0.001`` by default).
        **kwargs: :class:`SmokeEncoderDecoder` arguments (``neck``,
            ``auxiliary_head``, ``train_cfg``, ``test_cfg``,
            ``data_preprocessor``, ``pretrained``, ``init_cfg``).
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 pixel_losses: Union[OptConfigType,
                                     Sequence[ConfigType]] = None,
                 transmission_cfg: OptConfigType = None,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, decode_head=decode_head, **kwargs)
        self.transmission_cfg = dict(
            kernel_size=15, omega=0.95, top_ratio=0.001)
        self.transmission_cfg.update(transmission_cfg or {})
        if pixel_losses is None:
            pixel_losses = []
        elif isinstance(pixel_losses, dict):
            pixel_losses = [pixel_losses]
        self.pixel_losses = nn.ModuleList()
        for cfg in pixel_losses:
            loss = MODELS.build(cfg)
            if not hasattr(loss, 'loss_name'):
                raise TypeError(f'pixel loss {type(loss).__name__} has no '
                                '`loss_name` property')
            self.pixel_losses.append(loss)

    @staticmethod
    def _loss_extras(loss: nn.Module) -> List[str]:
        """The extra maps ``loss.forward`` declares, by argument name."""
        params = inspect.signature(loss.forward).parameters
        return [name for name in PIXEL_LOSS_EXTRAS if name in params]

    def compute_transmission(self,
                             images: Tensor,
                             size: Optional[Sequence[int]] = None) -> Tensor:
        """Transmission (N, 1, H, W) of RGB images in [0, 1], no grad.

        Args:
            images (Tensor): RGB images in [0, 1] (:meth:`batch_images`).
            size (Sequence[int], optional): Output size; defaults to the
                image size.

        Returns:
            Tensor: Transmission in [0, 1].
        """
        return resized_transmission(
            images,
            size=tuple(size) if size is not None else None,
            **self.transmission_cfg)

    def _pixel_losses_forward(
            self,
            seg_logits: Tensor,
            data_samples: SampleList,
            inputs: Tensor,
            extras: Optional[Dict[str, Tensor]] = None) -> Dict[str, Tensor]:
        """Apply ``pixel_losses`` to the decode head's logits.

        Args:
            seg_logits (Tensor): Decode head output (any resolution).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``
                (and ``rgb_image``, for ``T``).
            inputs (Tensor): Normalised input batch.
            extras (dict[str, Tensor], optional): Further maps by name
                (e.g. ``uncertainty``) at any resolution.

        Returns:
            dict[str, Tensor]: Loss items (not yet prefixed).
        """
        losses: Dict[str, Tensor] = {}
        if len(self.pixel_losses) == 0:
            return losses
        seg_logits, seg_label = self.logits_at_label_size(
            seg_logits, data_samples)
        size = seg_label.shape[2:]
        seg_label = seg_label.squeeze(1)
        available = dict(extras or {})
        needs = {
            name
            for loss in self.pixel_losses
            for name in self._loss_extras(loss)
        }
        if 'transmission' in needs and 'transmission' not in available:
            available['transmission'] = self.compute_transmission(
                self.batch_images(inputs, data_samples), size)
        for loss in self.pixel_losses:
            kwargs = {}
            for name in self._loss_extras(loss):
                if name not in available:
                    raise ValueError(
                        f'{type(loss).__name__} needs `{name}`, which '
                        f'{type(self).__name__} does not provide; '
                        '`uncertainty` comes from BVMEncoderDecoder.')
                kwargs[name] = available[name]
            value = loss(
                seg_logits,
                seg_label,
                weight=None,
                ignore_index=self.decode_head.ignore_index,
                **kwargs)
            if loss.loss_name in losses:
                losses[loss.loss_name] = losses[loss.loss_name] + value
            else:
                losses[loss.loss_name] = value
        return losses

    def add_pixel_losses(self, losses: Dict[str, Tensor],
                         pixel: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Sum the pixel-loss items into the head's items, by name."""
        for name, value in pixel.items():
            losses[name] = losses[name] + value if name in losses else value
        return losses

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of the decode head, the pixel losses and auxiliary heads.

        Args:
            inputs (Tensor): Normalised input batch (N, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: Loss items; the head's and the pixel losses
            are prefixed ``decode.``.
        """
        x = self.extract_feat(inputs)
        head_losses, seg_logits = self.decode_head_losses(x, data_samples)
        if len(self.pixel_losses) > 0:
            if seg_logits is None:
                raise ValueError(
                    f'{type(self.decode_head).__name__} computes its own '
                    'loss terms, so its logits cannot be given to '
                    'model.pixel_losses; use a head that keeps the stock '
                    'BaseDecodeHead.loss')
            self.add_pixel_losses(
                head_losses,
                self._pixel_losses_forward(seg_logits, data_samples, inputs))
        losses = add_prefix(head_losses, 'decode')
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        return losses
