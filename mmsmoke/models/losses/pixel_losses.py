"""Losses on the decode head's logits that also see maps of the batch."""
import inspect
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils.transmission import resized_transmission

#: Maps a pixel loss may take, by the name of its ``forward`` argument.
PIXEL_LOSS_MAPS = ('transmission', 'uncertainty')
#: The transmission estimate of Transmission-BVM (Eq. 9) by default.
DEFAULT_TRANSMISSION_CFG = dict(kernel_size=15, omega=0.95, top_ratio=0.001)


def _map_arguments(loss: nn.Module) -> Tuple[str, ...]:
    """The maps of :data:`PIXEL_LOSS_MAPS` that ``loss.forward`` names."""
    params = inspect.signature(loss.forward).parameters
    return tuple(name for name in PIXEL_LOSS_MAPS if name in params)


@MODELS.register_module()
class PixelLosses(nn.ModuleList):
    """The ``pixel_losses`` of a :class:`SmokeEncoderDecoder`.

    Stock decode heads call their losses as ``loss(seg_logits, seg_label,
    weight=..., ignore_index=...)``, so a loss that needs the image-derived
    medium transmission (Transmission-BVM Eq. 7-9) or the predicted
    uncertainty (Eq. 10) cannot live in ``decode_head.loss_decode``. The
    segmentor hands these losses the head's logits resized to the label
    size, and each loss gets the maps its ``forward`` names
    (``transmission``, ``uncertainty``), read once when the module is
    built, so any stock loss can be listed too:

    ``loss(seg_logits, seg_label, weight=None, ignore_index=...,
    transmission=T)``.

    ``T`` is estimated once per batch, without gradient, from the RGB image
    in [0, 1] (dark channel prior, Eq. 9,
    :func:`~mmsmoke.models.utils.transmission.estimate_transmission`) and
    only when a loss names it. Items with the same ``loss_name`` are summed.

    A ``ModuleList`` of the losses, so checkpoints keep the keys
    ``pixel_losses.<i>.*``.

    Args:
        losses (dict | list[dict], optional): Loss configs; None or [] for
            none.
        transmission_cfg (dict, optional): Arguments of
            ``estimate_transmission`` (``kernel_size=15``, ``omega=0.95``,
            ``top_ratio=0.001`` by default).
    """

    def __init__(self,
                 losses: Union[OptConfigType, Sequence[ConfigType]] = None,
                 transmission_cfg: OptConfigType = None) -> None:
        if losses is None:
            losses = []
        elif isinstance(losses, Mapping):
            losses = [losses]
        built = []
        for cfg in losses:
            loss = MODELS.build(cfg) if isinstance(cfg, Mapping) else cfg
            if not hasattr(loss, 'loss_name'):
                raise TypeError(
                    f'model.pixel_losses: {type(loss).__name__} has no '
                    '`loss_name` property')
            built.append(loss)
        super().__init__(built)
        self.transmission_cfg = dict(DEFAULT_TRANSMISSION_CFG)
        self.transmission_cfg.update(transmission_cfg or {})
        self.map_arguments = [_map_arguments(loss) for loss in self]

    @property
    def needed_maps(self) -> Tuple[str, ...]:
        """The maps some loss takes, in :data:`PIXEL_LOSS_MAPS` order."""
        names = {name for args in self.map_arguments for name in args}
        return tuple(name for name in PIXEL_LOSS_MAPS if name in names)

    def transmission(self,
                     images: Tensor,
                     size: Optional[Sequence[int]] = None) -> Tensor:
        """Transmission (N, 1, H, W) of RGB images in [0, 1], no grad.

        Args:
            images (Tensor): RGB images in [0, 1] (N, 3, H, W).
            size (Sequence[int], optional): Output size; defaults to the
                image size.
        """
        return resized_transmission(
            images,
            size=tuple(size) if size is not None else None,
            **self.transmission_cfg)

    def forward(self,
                seg_logits: Tensor,
                seg_label: Tensor,
                ignore_index: int,
                maps: Optional[Mapping[str, Tensor]] = None,
                images: Optional[Tensor] = None,
                provider: str = 'the segmentor') -> Dict[str, Tensor]:
        """Every loss on the logits, by ``loss_name`` (not prefixed).

        Args:
            seg_logits (Tensor): Logits at the label size (N, C, H, W).
            seg_label (Tensor): Labels (N, H, W).
            ignore_index (int): The label value to skip.
            maps (dict[str, Tensor], optional): Maps the segmentor has
                (e.g. ``uncertainty``), at any resolution.
            images (Tensor, optional): RGB images in [0, 1], for ``T``;
                needed when a loss takes ``transmission`` and ``maps`` has
                none.
            provider (str): Named in the error of a missing map.

        Returns:
            dict[str, Tensor]: Loss items.
        """
        available = dict(maps or {})
        if 'transmission' in self.needed_maps and \
                'transmission' not in available:
            if images is None:
                raise ValueError('model.pixel_losses: a loss takes the '
                                 'transmission, but no RGB image was given')
            available['transmission'] = self.transmission(
                images, seg_label.shape[-2:])
        losses: Dict[str, Tensor] = {}
        for loss, names in zip(self, self.map_arguments):
            missing = [name for name in names if name not in available]
            if missing:
                raise ValueError(
                    f'model.pixel_losses: {type(loss).__name__} needs '
                    f'`{missing[0]}`, which {provider} does not provide; '
                    '`uncertainty` comes from BVMEncoderDecoder')
            value = loss(
                seg_logits,
                seg_label,
                weight=None,
                ignore_index=ignore_index,
                **{name: available[name]
                   for name in names})
            name = loss.loss_name
            losses[name] = losses[name] + value if name in losses else value
        return losses
