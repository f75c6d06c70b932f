"""A random crop that keeps small smoke in view."""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SmokeAwareCrop(RandomCrop):
    """Random crop that, with probability ``smoke_prob``, contains smoke.

    Early smoke covers a tiny part of a frame (the median SMOKE5K test mask
    covers 0.33% of the image), so a plain random crop of a large image
    often shows no smoke at all. This crop differs from MMSeg's
    ``RandomCrop`` only in how the crop box is chosen:

    1. With probability ``smoke_prob``, if the label has smoke pixels
       (``== smoke_label``): one connected smoke component (8-connectivity)
       is picked **uniformly among the components**, not in proportion to
       its area, so that a tiny plume is as likely to be centred on as a
       large one next to it; then one pixel of that component, uniformly;
       then the crop offset, uniformly among the offsets whose box contains
       that pixel (and lies inside the image).
    2. Otherwise (no smoke, or the ``1 - smoke_prob`` case) the box is
       ``RandomCrop``'s: a uniform offset, redrawn up to ten times while
       one class exceeds ``cat_max_ratio`` of the crop.

    ``cat_max_ratio`` is not applied to smoke-centred boxes: they contain
    smoke, and redrawing them towards mixed content would bias the choice
    of the pixel. An image smaller than the crop along an axis is not
    padded: the box spans the whole axis, as in ``RandomCrop`` (pad
    afterwards if the batch needs a fixed size). Random numbers come from
    numpy's global random state, as in ``RandomCrop`` (mmengine seeds it
    per dataloader worker).

    Required keys: ``img``, ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, every key in ``seg_fields``.

    Args:
        crop_size (int | tuple[int, int]): Crop ``(h, w)`` (an int for a
            square).
        smoke_prob (float): Probability of a smoke-centred crop when the
            label has smoke. Default 0.5.
        cat_max_ratio (float): Largest share one class may take in a plain
            random crop (``RandomCrop``'s rule; 1 disables it). Default 1.
        ignore_index (int): Label ignored by ``cat_max_ratio``. Default 255.
        smoke_label (int): Label value of smoke. Default 1.
    """

    # Our own list: cache_randomness registers the decorated crop_bbox
    # here instead of appending a second entry to RandomCrop's list.
    _methods_with_randomness: list = []

    def __init__(self,
                 crop_size: Union[int, Sequence[int]],
                 smoke_prob: float = 0.5,
                 cat_max_ratio: float = 1.,
                 ignore_index: int = 255,
                 smoke_label: int = 1) -> None:
        if isinstance(crop_size, (int, np.integer)) and \
                not isinstance(crop_size, bool):
            crop_size = (int(crop_size), int(crop_size))
        if isinstance(crop_size, (str, bytes)) or not hasattr(
                crop_size, '__len__') or len(crop_size) != 2 or not all(
                    isinstance(v, (int, np.integer))
                    and not isinstance(v, bool) and v > 0 for v in crop_size):
            raise ValueError('crop_size must be a positive int or a pair of '
                             f'positive ints (h, w), got {crop_size!r}')
        if isinstance(smoke_prob, bool) or not isinstance(
                smoke_prob, (int, float)) or not 0 <= smoke_prob <= 1:
            raise ValueError(f'smoke_prob must be a number in [0, 1], got '
                             f'{smoke_prob!r}')
        if isinstance(cat_max_ratio, bool) or not isinstance(
                cat_max_ratio, (int, float)) or not 0 < cat_max_ratio <= 1:
            raise ValueError('cat_max_ratio must be in (0, 1] (1 disables '
                             f'it), got {cat_max_ratio!r}')
        for name, value in (('ignore_index', ignore_index), ('smoke_label',
                                                             smoke_label)):
            if isinstance(value,
                          bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f'{name} must be an int, got {value!r}')
        if smoke_label == ignore_index:
            raise ValueError(f'smoke_label ({smoke_label}) must differ from '
                             f'ignore_index ({ignore_index})')
        super().__init__(
            crop_size=(int(crop_size[0]), int(crop_size[1])),
            cat_max_ratio=float(cat_max_ratio),
            ignore_index=int(ignore_index))
        self.smoke_prob = float(smoke_prob)
        self.smoke_label = int(smoke_label)

    def _smoke_pixel(self, seg: np.ndarray) -> Tuple[int, int]:
        """A smoke pixel: uniform component, then uniform pixel in it."""
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            (seg == self.smoke_label).astype(np.uint8), connectivity=8)
        comp = np.random.randint(1, count)  # label 0 is the background
        x, y = stats[comp, cv2.CC_STAT_LEFT], stats[comp, cv2.CC_STAT_TOP]
        w, h = stats[comp, cv2.CC_STAT_WIDTH], stats[comp, cv2.CC_STAT_HEIGHT]
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == comp)
        pick = np.random.randint(len(ys))
        return int(y + ys[pick]), int(x + xs[pick])

    def _box_around(self, shape: Tuple[int, int], pixel: Tuple[int,
                                                               int]) -> tuple:
        """A uniform crop box inside ``shape`` that contains ``pixel``."""
        offsets = []
        for size, crop, p in zip(shape, self.crop_size, pixel):
            margin = max(size - crop, 0)
            lo, hi = max(0, p - crop + 1), min(p, margin)
            offsets.append(np.random.randint(lo, hi + 1))
        oy, ox = offsets
        return (oy, oy + self.crop_size[0], ox, ox + self.crop_size[1])

    @cache_randomness
    def crop_bbox(self, results: dict) -> tuple:
        """Choose the crop box ``(y1, y2, x1, x2)`` (see the class doc).

        Args:
            results (dict): Result dict with ``img`` and ``gt_seg_map``.

        Returns:
            tuple: Coordinates of the crop.
        """
        seg = results.get('gt_seg_map')
        if seg is None:
            raise KeyError('SmokeAwareCrop needs results["gt_seg_map"]; put '
                           'it after LoadAnnotations')
        img_shape = results['img'].shape[:2]
        if seg.shape[:2] != img_shape:
            raise ValueError(f'SmokeAwareCrop: gt_seg_map shape {seg.shape} '
                             f'differs from img shape {img_shape}')
        # Without smoke no number is drawn here, so the box is exactly
        # RandomCrop's for the same random state.
        if (seg == self.smoke_label).any() and \
                np.random.rand() < self.smoke_prob:
            return self._box_around(img_shape, self._smoke_pixel(seg))
        return super().crop_bbox(results)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'smoke_prob={self.smoke_prob}, '
                f'cat_max_ratio={self.cat_max_ratio}, '
                f'ignore_index={self.ignore_index}, '
                f'smoke_label={self.smoke_label})')
