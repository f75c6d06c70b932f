"""Random rescaling relative to the image's own size."""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale the image and its labels by a random factor of its own size.

    MMSeg's ``RandomResize`` draws a target size around a fixed ``scale``,
    so a mixed-size dataset (SMOKE5K: 320x240 to 3072x2048) is brought to
    one size and a plume's pixel size depends on the size of the image it
    came from. Early smoke covers a few dozen pixels at the camera's
    resolution; this transform keeps training images near that resolution
    (the early-smoke recipe draws ``r`` in [0.75, 1.25]) so that training
    and testing at the native resolution see plumes of the same pixel size.

    The factor ``r`` is drawn uniformly from ``ratio_range`` with numpy's
    global random state (which mmengine seeds per dataloader worker), then
    mmcv's :class:`~mmcv.transforms.Resize` is applied with
    ``scale_factor=r`` and ``keep_ratio=True``: bilinear for the image,
    nearest for every label map in ``seg_fields``.

    Required keys: ``img``; modified: ``img``, ``img_shape``, the label
    maps; added: ``scale``, ``scale_factor``, ``keep_ratio``.

    Args:
        ratio_range (tuple[float, float]): Lowest and highest factor,
            ``0 < low <= high``. Defaults to (0.75, 1.25).
        interpolation (str): Image interpolation of mmcv's ``Resize``.
            Defaults to 'bilinear'.
    """

    def __init__(self,
                 ratio_range: Tuple[float, float] = (0.75, 1.25),
                 interpolation: str = 'bilinear') -> None:
        super().__init__()
        if (not isinstance(ratio_range, (tuple, list))
                or len(ratio_range) != 2
                or not 0 < float(ratio_range[0]) <= float(ratio_range[1])):
            raise ValueError('RandomRescale ratio_range must be (low, high) '
                             f'with 0 < low <= high, got {ratio_range!r}')
        self.ratio_range = (float(ratio_range[0]), float(ratio_range[1]))
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        ratio = float(np.random.uniform(*self.ratio_range))
        resize = Resize(
            scale_factor=ratio,
            keep_ratio=True,
            interpolation=self.interpolation)
        return resize(results)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ratio_range={self.ratio_range}, '
                f'interpolation={self.interpolation!r})')
