"""Common base of the binary smoke datasets."""
import logging
import os.path as osp
from typing import Dict, List, Optional

import mmengine
from mmengine import fileio
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .transforms.loading import MASK_CONVENTIONS
from .transforms.pipeline_check import check_pipeline_loaders

SMOKE_METAINFO = dict(
    classes=('background', 'smoke'), palette=[[0, 0, 0], [255, 96, 0]])


@DATASETS.register_module()
class BinarySmokeDataset(BaseSegDataset):
    """Generic binary smoke dataset of image/mask folder pairs.

    Images in ``data_prefix['img_path']`` are paired by stem with masks in
    ``data_prefix['seg_map_path']``; an optional ``ann_file`` lists the stems
    of a split, one per line. Labels are {0: background, 1: smoke}; the raw
    mask values follow ``mask_convention`` (see
    :data:`mmsmoke.datasets.transforms.MASK_CONVENTIONS`), which
    :class:`LoadSmokeAnnotations` maps explicitly, so 255 never becomes the
    ignore index.

    ``pipeline`` runs as the config names it. A pipeline that names
    MMSeg's ``LoadAnnotations`` (which would read the smoke pixels of a
    {0, 255} mask as the ignore index) or ``LoadImageFromFile(
    ignore_empty=True)`` (which would skip broken images silently) is
    refused with an error that names the config keys
    (:func:`~mmsmoke.datasets.transforms.check_pipeline_loaders`).

    Problems are reported when the dataset is built, naming the path: a
    missing data root or folder, an empty or missing split file, no images
    found, and images without a mask. Without a split file the folders are
    scanned, and files that this scan skips are reported in a warning
    rather than dropped silently: files in the image folder whose name does
    not end with ``img_suffix`` (the match is case-sensitive, so ``.JPG``
    is skipped for ``.jpg``) and masks without an image.

    Args:
        mask_convention (str): ``'zero_255'`` or ``'zero_one'``.
            Defaults to ``'zero_255'``.
        img_suffix (str): Image suffix. Defaults to ``'.jpg'``.
        seg_map_suffix (str): Mask suffix. Defaults to ``'.png'``.
        size_group_files (dict, optional): Maps ``'small'``/``'medium'``/
            ``'large'`` to split files (relative to ``data_root``) whose stems
            get that ``size_group`` in their data info, for the metric's size
            breakdown. Files that do not exist are skipped.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = SMOKE_METAINFO

    def __init__(self,
                 mask_convention: str = 'zero_255',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 size_group_files: Optional[Dict[str, str]] = None,
                 **kwargs) -> None:
        if mask_convention not in MASK_CONVENTIONS:
            raise ValueError(f'unknown mask_convention {mask_convention!r}; '
                             f'choose from {sorted(MASK_CONVENTIONS)}')
        if kwargs.get('reduce_zero_label', False):
            raise ValueError('reduce_zero_label must be False for binary '
                             'smoke masks')
        self.mask_convention = mask_convention
        self.size_group_files = dict(size_group_files or {})
        check_pipeline_loaders(kwargs.get('pipeline') or [],
                               type(self).__name__)
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)

    def _check_paths(self) -> None:
        if self.data_root and not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{self.data_root}: data root does not exist')
        img_dir = self.data_prefix.get('img_path', '')
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'{img_dir}: image folder does not exist')
        ann_dir = self.data_prefix.get('seg_map_path')
        if ann_dir is not None and not osp.isdir(ann_dir):
            raise FileNotFoundError(f'{ann_dir}: mask folder does not exist')
        if self.ann_file and not osp.isdir(self.ann_file):
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'{self.ann_file}: split file does not exist')
            stems = [ln.strip() for ln in mmengine.list_from_file(
                self.ann_file, backend_args=self.backend_args)]
            if not any(stems):
                raise ValueError(f'{self.ann_file}: split file lists no '
                                 f'images')

    def _size_groups(self) -> Dict[str, str]:
        groups = {}
        for group, path in self.size_group_files.items():
            if self.data_root and not osp.isabs(path):
                path = osp.join(self.data_root, path)
            if osp.isfile(path):
                for stem in mmengine.list_from_file(path):
                    if stem.strip():
                        groups[stem.strip()] = group
        return groups

    def load_data_list(self) -> List[dict]:
        """Load the pairs and check that every image and mask exists.

        Returns:
            list[dict]: Data infos, each with ``mask_convention`` and, where
            known, ``size_group``.
        """
        self._check_paths()
        # Keep blank lines out of the split (BaseSegDataset would turn them
        # into paths to the folder itself).
        data_list = [
            d for d in super().load_data_list()
            if osp.basename(d['img_path']) != self.img_suffix
        ]
        where = self.ann_file or self.data_prefix.get('img_path', '')
        if not data_list:
            raise ValueError(f'{where}: no images with suffix '
                             f'{self.img_suffix!r} found')
        missing_img = [d['img_path'] for d in data_list
                       if not osp.isfile(d['img_path'])]
        if missing_img:
            raise FileNotFoundError(
                f'{len(missing_img)} image(s) listed in {where} do not '
                f'exist, e.g. {missing_img[:3]}')
        missing_mask = [d['seg_map_path'] for d in data_list
                        if 'seg_map_path' in d
                        and not osp.isfile(d['seg_map_path'])]
        if missing_mask:
            raise FileNotFoundError(
                f'{len(missing_mask)} mask(s) missing for images in {where}, '
                f'e.g. {missing_mask[:3]}')
        if not self.ann_file:
            self._warn_skipped_files(data_list)
        groups = self._size_groups()
        for d in data_list:
            d['mask_convention'] = self.mask_convention
            stem = osp.splitext(osp.basename(d['img_path']))[0]
            if stem in groups:
                d['size_group'] = groups[stem]
        return data_list

    def _warn_skipped_files(self, data_list: List[dict]) -> None:
        """Warn about files that the folder scan leaves out.

        Args:
            data_list (list[dict]): The pairs that were found.
        """
        img_dir = self.data_prefix.get('img_path', '')
        skipped = [
            f for f in fileio.list_dir_or_file(
                img_dir,
                list_dir=False,
                recursive=True,
                backend_args=self.backend_args)
            if not f.endswith(self.img_suffix)
            and not osp.basename(f).startswith('.')
        ]
        if skipped:
            print_log(
                f'{img_dir}: {len(skipped)} file(s) do not end with '
                f'img_suffix {self.img_suffix!r} (case-sensitive) and are '
                f'not used, e.g. {sorted(skipped)[:3]}',
                logger='current',
                level=logging.WARNING)
        ann_dir = self.data_prefix.get('seg_map_path')
        if ann_dir is None:
            return
        used = {
            osp.relpath(d['seg_map_path'], ann_dir)
            for d in data_list if 'seg_map_path' in d
        }
        orphans = [
            f for f in fileio.list_dir_or_file(
                ann_dir,
                list_dir=False,
                suffix=self.seg_map_suffix,
                recursive=True,
                backend_args=self.backend_args) if f not in used
        ]
        if orphans:
            print_log(
                f'{ann_dir}: {len(orphans)} mask(s) have no image with '
                f'suffix {self.img_suffix!r} in {img_dir} and are not used, '
                f'e.g. {sorted(orphans)[:3]}',
                logger='current',
                level=logging.WARNING)
