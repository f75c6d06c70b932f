"""Writing synthetic smoke datasets to disk (SMOKE5K or SmokeSeg layout).

:func:`generate_dataset` writes the samples of a
:class:`~mmsmoke.datasets.synthetic.SyntheticSmokeGenerator` with their
binary masks, alpha and transmission maps, per-image meta and split lists,
in one process or in a pool of workers; the output does not depend on the
number of workers.
"""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from .generator import SyntheticSmokeGenerator
from .kinds import KINDS

#: Split name -> first generator index of that split. Splits draw from
#: disjoint index ranges, so changing ``num_train`` leaves val/test as is.
SPLIT_OFFSETS: Dict[str, int] = {
    'train': 0,
    'val': 10_000_000,
    'test': 20_000_000
}
#: Largest split size (names carry a six-digit counter).
MAX_PER_SPLIT = 1_000_000
#: Dataset layouts written by :func:`generate_dataset`.
LAYOUTS: Tuple[str, ...] = ('smoke5k', 'smokeseg')
#: VOC palette entries for the two SmokeSeg classes.
VOC_PALETTE: Tuple[Tuple[int, int, int], ...] = ((0, 0, 0), (128, 0, 0))

#: Generator of this process: set by the pool initializer (workers) or
#: for the duration of a serial :func:`generate_dataset` run.
_WORKER_GEN: Optional[SyntheticSmokeGenerator] = None


def _init_worker(gen_kwargs: dict) -> None:
    global _WORKER_GEN
    _WORKER_GEN = SyntheticSmokeGenerator(**gen_kwargs)


def _palette_png(mask: np.ndarray) -> Image.Image:
    im = Image.fromarray(mask.astype(np.uint8), mode='P')
    pal = [v for rgb in VOC_PALETTE for v in rgb]
    im.putpalette(pal + [0] * (768 - len(pal)))
    return im


def _imwrite(path: str, img: np.ndarray, params: Sequence[int] = ()) -> None:
    if not cv2.imwrite(path, img, list(params)):
        raise OSError(f'could not write {path}')


def _write_one(job: Tuple[str, str, str, int, str]) -> dict:
    """Generate one sample and write its files; return its meta."""
    out_dir, layout, split, index, name = job
    gen = _WORKER_GEN
    s = gen.sample(index)
    img_bgr = np.ascontiguousarray(s['img'][..., ::-1])
    alpha8 = np.round(s['alpha'] * 255).astype(np.uint8)
    trans8 = np.round(s['transmission'] * 255).astype(np.uint8)
    jpg = [cv2.IMWRITE_JPEG_QUALITY, 92]
    if layout == 'smoke5k':
        root = osp.join(out_dir, split)
        _imwrite(osp.join(root, 'img', name + '.jpg'), img_bgr, jpg)
        _imwrite(osp.join(root, 'gt', name + '.png'), s['mask'] * 255)
        _imwrite(osp.join(root, 'alpha', name + '.png'), alpha8)
        _imwrite(osp.join(root, 'trans', name + '.png'), trans8)
    else:
        _imwrite(osp.join(out_dir, 'JPEGImages', name + '.jpg'), img_bgr, jpg)
        _palette_png(s['mask']).save(
            osp.join(out_dir, 'SegmentationClass', name + '.png'))
        _imwrite(osp.join(out_dir, 'Alpha', name + '.png'), alpha8)
        _imwrite(osp.join(out_dir, 'Transmission', name + '.png'), trans8)
    meta = dict(name=name, split=split)
    meta.update(s['meta'])
    return meta


def generate_dataset(out_dir: str,
                     layout: str = 'smoke5k',
                     num_train: int = 300,
                     num_val: int = 0,
                     num_test: int = 100,
                     img_size: Tuple[int, int] = (256, 256),
                     seed: int = 0,
                     workers: int = 1,
                     generator_cfg: Optional[dict] = None,
                     overwrite: bool = False,
                     progress: bool = False) -> dict:
    """Write a synthetic smoke dataset in a SMOKE5K or SmokeSeg layout.

    Sample ``i`` of split ``s`` is ``generator.sample(SPLIT_OFFSETS[s] + i)``
    and is named ``f'{s}_{i:06d}'``.

    Layout ``'smoke5k'``::

        out_dir/{train,val,test}/img/<name>.jpg     (JPEG quality 92)
        out_dir/{train,val,test}/gt/<name>.png      (mode L, {0, 255})
        out_dir/{train,val,test}/alpha/<name>.png   (uint8 alpha * 255)
        out_dir/{train,val,test}/trans/<name>.png   (uint8 (1-alpha) * 255)
        out_dir/{train,val,test}/meta.json          (list of per-image meta)

    (``val`` only when ``num_val > 0``.) Layout ``'smokeseg'`` (VOC)::

        out_dir/JPEGImages/<name>.jpg
        out_dir/SegmentationClass/<name>.png    (mode P, VOC palette, {0, 1})
        out_dir/Alpha/<name>.png, out_dir/Transmission/<name>.png
        out_dir/ImageSets/Segmentation/{train,val,test,test_small,
                                        test_medium,test_large}.txt
        out_dir/meta.json

    ``test_small/medium/large`` partition the smoke-containing test images by
    :func:`~mmsmoke.utils.size_groups.size_group`; smoke-free test images are
    listed only in ``test.txt``.

    Args:
        out_dir (str): Output directory.
        layout (str): ``'smoke5k'`` or ``'smokeseg'``.
        num_train (int): Number of training images.
        num_val (int): Number of validation images.
        num_test (int): Number of test images.
        img_size (tuple[int, int]): ``(H, W)`` of every image.
        seed (int): Generator seed.
        workers (int): Worker processes; the output does not depend on it.
        generator_cfg (dict, optional): Further
            :class:`SyntheticSmokeGenerator` arguments.
        overwrite (bool): Allow writing into a non-empty ``out_dir`` (files
            are overwritten; other files are left in place).
        progress (bool): Show an ``mmengine`` progress bar.

    Returns:
        dict: Summary with the layout, size, seed, per-split counts of
        images, kinds, size groups, smoke-free images and images with
        distractors, the wall-clock time (``elapsed_s``), the CPU time of
        the calling process (``main_process_cpu_s``; it excludes worker
        processes) and the paths of the meta files.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    counts = dict(train=num_train, val=num_val, test=num_test)
    for split, num in counts.items():
        if not isinstance(num, (int, np.integer)) or num < 0:
            raise ValueError(f'num_{split} must be a non-negative int, got '
                             f'{num!r}')
        if num > MAX_PER_SPLIT:
            raise ValueError(f'num_{split} must be <= {MAX_PER_SPLIT} (names '
                             f'have six digits), got {num}')
    if sum(counts.values()) == 0:
        raise ValueError('nothing to generate: all split sizes are 0')
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f'workers must be an int >= 1, got {workers!r}')
    if osp.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise FileExistsError(
            f'output directory {out_dir} is not empty; pass overwrite=True '
            '(--overwrite) to write into it anyway')
    gen_kwargs = dict(generator_cfg or {})
    gen_kwargs.update(img_size=tuple(int(v) for v in img_size), seed=seed)
    gen = SyntheticSmokeGenerator(**gen_kwargs)  # validates arguments early

    splits = [s for s in ('train', 'val', 'test') if counts[s] > 0]
    if layout == 'smoke5k':
        for split in splits:
            for sub in ('img', 'gt', 'alpha', 'trans'):
                os.makedirs(osp.join(out_dir, split, sub), exist_ok=True)
    else:
        for sub in ('JPEGImages', 'SegmentationClass', 'Alpha', 'Transmission',
                    osp.join('ImageSets', 'Segmentation')):
            os.makedirs(osp.join(out_dir, sub), exist_ok=True)

    jobs = [(out_dir, layout, split, SPLIT_OFFSETS[split] + i,
             f'{split}_{i:06d}') for split in splits
            for i in range(counts[split])]
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(jobs))
    start = time.perf_counter()
    cpu_start = time.process_time()
    metas: List[dict] = []
    if workers == 1:
        global _WORKER_GEN
        previous = _WORKER_GEN
        _WORKER_GEN = gen
        try:
            for job in jobs:
                metas.append(_write_one(job))
                if bar is not None:
                    bar.update()
        finally:
            _WORKER_GEN = previous
    else:
        import multiprocessing as mp

        # Forked children must not use OpenCV's thread pool (its threads do
        # not survive a fork and the child would hang), so OpenCV runs
        # single-threaded while the pool exists. Where fork is unavailable,
        # spawn is used; the output is the same either way.
        method = 'fork' if 'fork' in mp.get_all_start_methods() else 'spawn'
        chunk = max(1, min(16, len(jobs) // (4 * workers)))
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with mp.get_context(method).Pool(
                    workers, initializer=_init_worker,
                    initargs=(gen_kwargs, )) as pool:
                for meta in pool.imap(_write_one, jobs, chunksize=chunk):
                    metas.append(meta)
                    if bar is not None:
                        bar.update()
        finally:
            cv2.setNumThreads(threads)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    if bar is not None:
        print()

    by_split: Dict[str, List[dict]] = {s: [] for s in splits}
    for meta in metas:
        by_split[meta['split']].append(meta)
    meta_files = []
    if layout == 'smoke5k':
        for split in splits:
            path = osp.join(out_dir, split, 'meta.json')
            with open(path, 'w') as f:
                json.dump(by_split[split], f, indent=1)
            meta_files.append(path)
    else:
        path = osp.join(out_dir, 'meta.json')
        with open(path, 'w') as f:
            json.dump(metas, f, indent=1)
        meta_files.append(path)
        lists = {
            s: [m['name'] for m in by_split.get(s, [])]
            for s in ('train', 'val', 'test')
        }
        for group in ('small', 'medium', 'large'):
            lists[f'test_{group}'] = [
                m['name'] for m in by_split.get('test', [])
                if m['size_group'] == group
            ]
        set_dir = osp.join(out_dir, 'ImageSets', 'Segmentation')
        for key, names in lists.items():
            with open(osp.join(set_dir, key + '.txt'), 'w') as f:
                f.write(''.join(n + '\n' for n in names))

    summary = dict(
        out_dir=out_dir,
        layout=layout,
        img_size=list(gen.img_size),
        seed=gen.seed,
        mask_threshold=gen.mask_threshold,
        workers=int(workers),
        num_images=len(metas),
        elapsed_s=round(elapsed, 3),
        main_process_cpu_s=round(cpu, 3),
        images_per_s=round(len(metas) / max(elapsed, 1e-9), 2),
        meta_files=meta_files,
        splits={})
    for split in splits:
        items = by_split[split]
        summary['splits'][split] = dict(
            num_images=len(items),
            num_smoke_free=sum(not m['has_smoke'] for m in items),
            kinds={k: sum(m['kind'] == k for m in items)
                   for k in KINDS},
            size_groups={
                g: sum(m['size_group'] == g for m in items)
                for g in ('none', 'small', 'medium', 'large')
            },
            with_distractors=sum(bool(m['distractors']) for m in items))
    return summary
