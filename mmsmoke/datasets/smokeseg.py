"""SmokeSeg (Yao et al., FoSp, AAAI 2024)."""
from mmseg.registry import DATASETS

from .base_smoke_dataset import BinarySmokeDataset

SPLIT_DIR = 'ImageSets/Segmentation'


@DATASETS.register_module()
class SmokeSegDataset(BinarySmokeDataset):
    """SmokeSeg early-smoke dataset, PASCAL VOC layout.

    Layout::

        SmokeSeg/
          JPEGImages/*.jpg
          SegmentationClass/*.png          # palette PNG, indices {0, 1}
          ImageSets/Segmentation/{train,val,test,test_small,test_medium,
                                  test_large}.txt

    The released archive names the split folder
    ``SmokeSeg_ImageSets/Segmentation``; ``tools/dataset_converters/
    smokeseg.py`` links it to the VOC name. Masks are palette PNGs whose
    indices are the labels. Images listed in ``test_small``, ``test_medium``
    and ``test_large`` get a ``size_group`` so the metric reports the paper's
    size breakdown; evaluate one subset alone by passing its file as
    ``ann_file``.

    Args:
        ann_file (str): Split file relative to ``data_root``.
            Defaults to ``'ImageSets/Segmentation/train.txt'``.
        **kwargs: Passed to :class:`BinarySmokeDataset`.
    """

    def __init__(self,
                 ann_file: str = f'{SPLIT_DIR}/train.txt',
                 **kwargs) -> None:
        kwargs.setdefault('mask_convention', 'zero_one')
        kwargs.setdefault(
            'data_prefix',
            dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
        kwargs.setdefault(
            'size_group_files', {
                g: f'{SPLIT_DIR}/test_{g}.txt'
                for g in ('small', 'medium', 'large')
            })
        super().__init__(
            ann_file=ann_file,
            img_suffix='.jpg',
            seg_map_suffix='.png',
            **kwargs)
