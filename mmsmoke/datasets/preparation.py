"""Preparing downloaded smoke datasets into the layouts the configs expect.

Used by ``tools/dataset_converters/smoke5k.py`` and ``smokeseg.py``. The
released archives nest their folders differently (``SMOKE5K.zip`` holds
``SMOKE5K/SMOKE5K/{train,test}``; SmokeSeg names its split folder
``SmokeSeg_ImageSets``), so the functions locate the real root, place it
under ``data/`` (copy or symbolic link) and check every pair.
"""
import os
import os.path as osp
import shutil
import tarfile
import zipfile
from collections import Counter
from typing import Dict, Iterable, Optional

import numpy as np
from PIL import Image

from .transforms.loading import MASK_CONVENTIONS, decode_mask


def extract_archive(path: str, dst: str) -> str:
    """Extract a .zip/.tar(.gz) archive into ``dst``; return ``dst``.

    A folder is returned unchanged.
    """
    if osp.isdir(path):
        return path
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such archive or folder')
    os.makedirs(dst, exist_ok=True)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            zf.extractall(dst)
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            tf.extractall(dst, filter='data')
    else:
        raise ValueError(f'{path}: not a zip or tar archive')
    return dst


def find_root(top: str, required: Iterable[str]) -> str:
    """Return the shallowest folder under ``top`` holding all ``required``.

    Raises:
        FileNotFoundError: If no folder contains every required entry.
    """
    required = list(required)
    for dirpath, dirnames, _ in sorted(os.walk(top),
                                       key=lambda x: x[0].count(os.sep)):
        if all(osp.exists(osp.join(dirpath, r)) for r in required):
            return dirpath
        dirnames[:] = [d for d in dirnames if not d.startswith('.')]
    raise FileNotFoundError(f'{top}: no folder containing {required}')


def place(src: str, dst: str, link: bool) -> None:
    """Copy ``src`` to ``dst``, or link it there when ``link`` is set."""
    if osp.lexists(dst):
        raise FileExistsError(f'{dst} exists; remove it or choose --out')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    if link:
        os.symlink(osp.abspath(src), dst, target_is_directory=True)
    else:
        shutil.copytree(src, dst)


def check_pairs(img_dir: str,
                mask_dir: str,
                convention: str,
                stems: Optional[Iterable[str]] = None,
                img_suffix: str = '.jpg',
                mask_suffix: str = '.png') -> Dict[str, object]:
    """Check every image/mask pair and summarise the split.

    Args:
        img_dir (str): Image folder.
        mask_dir (str): Mask folder.
        convention (str): Mask convention, a key of ``MASK_CONVENTIONS``.
        stems (Iterable[str], optional): Stems to check; all images when
            omitted.
        img_suffix (str): Image suffix. Defaults to '.jpg'.
        mask_suffix (str): Mask suffix. Defaults to '.png'.

    Returns:
        dict: ``pairs``, ``empty_masks``, ``sizes`` (a Counter of WxH) and
        ``median_smoke_fraction``.

    Raises:
        ValueError: Listing every bad pair (missing mask, size mismatch,
            values outside the convention), each naming its file.
    """
    if stems is None:
        stems = sorted(
            f[:-len(img_suffix)] for f in os.listdir(img_dir)
            if f.endswith(img_suffix))
    allowed = set(MASK_CONVENTIONS[convention])
    problems, sizes, fractions, empty = [], Counter(), [], 0
    stems = list(stems)
    for stem in stems:
        img_path = osp.join(img_dir, stem + img_suffix)
        mask_path = osp.join(mask_dir, stem + mask_suffix)
        if not osp.isfile(img_path):
            problems.append(f'{img_path}: image missing')
            continue
        if not osp.isfile(mask_path):
            problems.append(f'{mask_path}: mask missing')
            continue
        with open(mask_path, 'rb') as f:
            mask = decode_mask(f.read(), mask_path)
        bad = sorted(set(np.unique(mask).tolist()) - allowed)
        if bad:
            problems.append(f'{mask_path}: values {bad[:5]} outside '
                            f'{convention!r}')
        with Image.open(img_path) as im:
            size = im.size
        if size != (mask.shape[1], mask.shape[0]):
            problems.append(f'{mask_path}: size {mask.shape[1]}x'
                            f'{mask.shape[0]} differs from image {size}')
        sizes[f'{size[0]}x{size[1]}'] += 1
        positive = max(MASK_CONVENTIONS[convention], key=lambda k: k)
        frac = float((mask == positive).mean())
        fractions.append(frac)
        empty += int(frac == 0)
    if problems:
        raise ValueError(f'{len(problems)} problem(s) in {img_dir}:\n  ' +
                         '\n  '.join(problems[:50]))
    return dict(
        pairs=len(stems),
        empty_masks=empty,
        sizes=sizes,
        median_smoke_fraction=float(np.median(fractions))
        if fractions else 0.0)
