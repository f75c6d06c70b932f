"""SMOKE5K (Yan, Zhang and Barnes, AAAI 2022)."""
from mmseg.registry import DATASETS

from .base_smoke_dataset import BinarySmokeDataset


@DATASETS.register_module()
class SMOKE5KDataset(BinarySmokeDataset):
    """SMOKE5K smoke segmentation dataset.

    Layout as released::

        SMOKE5K/
          train/img/*.jpg   train/gt/*.png
          test/img/*.jpg    test/gt/*.png

    Masks are 8-bit grey PNGs with values {0, 255}, mapped to
    {0: background, 1: smoke}. Select the split with
    ``data_prefix=dict(img_path='test/img', seg_map_path='test/gt')``.
    Test images range from 320x240 to 3072x2048 and evaluation is done at
    full resolution.

    Args:
        **kwargs: Passed to :class:`BinarySmokeDataset`.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault('mask_convention', 'zero_255')
        kwargs.setdefault('data_prefix',
                          dict(img_path='train/img', seg_map_path='train/gt'))
        super().__init__(img_suffix='.jpg', seg_map_suffix='.png', **kwargs)
