"""Cut SMOKE5K frames into fixed-size smoke and smoke-free crops.

    python tools/dataset_converters/smoke5k_frames.py data/SMOKE5K \\
        --out data/SMOKE5K_frames --splits train test

No SMOKE5K test mask is empty, so the released test set cannot measure
false alarms on real scenes. This converter makes, deterministically, a
frame-level protocol from the real frames: from each source frame of a
split it cuts

* one **smoke crop**: the ``--crop-size`` window (default 256x256) that
  holds the most ground-truth smoke pixels; when several windows hold as
  many (a plume smaller than the window), one of them is drawn, so the
  plume does not always sit in the centre;
* up to ``--free-per-frame`` **smoke-free crops** (default 2): windows on a
  ``--stride`` grid (default 32 px, plus the last row and column of
  positions) with no smoke pixel within ``--margin`` pixels (default 32) of
  the window, i.e. no smoke in the window grown by the margin on every
  side (a square, Chebyshev-distance dilation of the mask; the image
  border clips it). The margin keeps the faint, unlabelled fringe of a
  plume out of the smoke-free crops. Windows are drawn one at a time, each
  one overlapping neither the smoke crop nor an earlier one, so no pixel
  of a frame is in two crops.

Crops keep the original pixels: nothing is resized, and a frame smaller
than the crop in either dimension is skipped (listed in ``summary.json``).
Draws come from a generator seeded with ``--seed`` and the frame's split
and name, and frames are read in sorted order, so a run is reproducible
and a frame's crops do not depend on the other frames.

Output, in the SMOKE5K layout that ``SMOKE5KDataset`` reads (``.jpg``
images, ``.png`` masks with values {0, 255}; smoke-free masks are all 0)::

    <out>/<split>/img/<stem>_<kind>_x<x>_y<y>.jpg
    <out>/<split>/gt/<stem>_<kind>_x<x>_y<y>.png
    <out>/<split>/manifest.csv    one row per crop
    <out>/<split>/summary.json    settings, counts, skipped frames

``<kind>`` is ``smoke`` or ``free``. The manifest columns are ``file``,
``source`` (the frame, relative to the source root), ``x``, ``y``,
``width``, ``height`` (the box in the frame), ``kind`` (``smoke`` or
``smoke-free``), ``smoke_pixels`` and ``smoke_fraction`` of the crop, its
``size_group`` (:func:`mmsmoke.utils.size_groups.size_group` of the crop's
smoke fraction, ``none`` for smoke-free crops; the metrics derive the same
group from the crop's mask), and ``source_smoke_fraction``.

Deviation: the crops are JPEG files like the released images, so the
pixels are re-encoded once (quality ``--jpeg-quality``, default 95, 4:4:4
chroma). Smoke and smoke-free crops are written alike, so this does not
favour either class.

Run it on ``test`` for the evaluation frames and on ``train`` for the
frames on which the alarm operating point is chosen
(``tools/analysis_tools/choose_operating_point.py``). The released train
split also holds 4,000 synthetic 256x256 composites named ``<g>_<n>.jpg``;
``--exclude '[1-9]_*.jpg'`` leaves them out (they would give smoke crops
only, since their single window holds smoke).
"""
import argparse
import csv
import fnmatch
import json
import os
import os.path as osp
import sys
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np


import converter_cli

from mmsmoke.datasets.transforms.loading import (
    MASK_CONVENTIONS, LoadSmokeImageFromFile, decode_mask)
from mmsmoke.utils.size_groups import size_group

MANIFEST_COLUMNS = ('file', 'source', 'x', 'y', 'width', 'height', 'kind',
                    'smoke_pixels', 'smoke_fraction', 'size_group',
                    'source_smoke_fraction')
#: ``kind`` of the manifest and the tag in the file names.
KINDS = {'smoke': 'smoke', 'smoke-free': 'free'}

Box = Tuple[int, int]  # (y, x) of the top-left corner


def window_sums(mask: np.ndarray, size: int, grow: int = 0) -> np.ndarray:
    """Smoke pixels in every ``size`` x ``size`` window grown by ``grow``.

    Entry ``[y, x]`` counts the smoke pixels of rows ``[y - grow, y + size
    + grow)`` and columns ``[x - grow, x + size + grow)``, clipped to the
    image, for every window position ``0 <= y <= H - size``, ``0 <= x <= W
    - size`` (from a summed-area table, exact).
    """
    m = np.pad(mask.astype(np.int64), grow)
    ii = np.zeros((m.shape[0] + 1, m.shape[1] + 1), np.int64)
    ii[1:, 1:] = m.cumsum(0).cumsum(1)
    s = size + 2 * grow
    return ii[s:, s:] - ii[:-s, s:] - ii[s:, :-s] + ii[:-s, :-s]


def grid_positions(length: int, size: int, stride: int) -> np.ndarray:
    """Window starts ``0, stride, ...`` and the last one, ``length - size``."""
    last = length - size
    return np.unique(np.append(np.arange(0, last + 1, stride), last))


def _overlaps(box: Box, others: Sequence[Box], size: int) -> bool:
    return any(
        abs(box[0] - o[0]) < size and abs(box[1] - o[1]) < size
        for o in others)


def frame_rng(seed: int, split: str, stem: str) -> np.random.Generator:
    """The generator of one frame: from the seed, split and name only."""
    return np.random.default_rng(
        [seed, zlib.crc32(f'{split}/{stem}'.encode())])


def choose_crops(mask: np.ndarray, size: int, margin: int, stride: int,
                 free_per_frame: int,
                 rng: np.random.Generator) -> Tuple[Optional[Box], List[Box]]:
    """The smoke crop and the smoke-free crops of one frame.

    Args:
        mask (np.ndarray): (H, W) bool smoke mask, H and W >= ``size``.
        size (int): Crop side in pixels.
        margin (int): Smoke-free crops have no smoke pixel within this many
            pixels of the window.
        stride (int): Grid step of the smoke-free candidates.
        free_per_frame (int): Most smoke-free crops.
        rng (np.random.Generator): The frame's generator.

    Returns:
        tuple: The smoke crop's (y, x), or None for a mask without smoke,
        and the list of smoke-free crops' (y, x), in drawing order.
    """
    smoke_box = None
    if mask.any():
        counts = window_sums(mask, size)
        best = np.flatnonzero(counts == counts.max())
        y, x = np.unravel_index(best[rng.integers(best.size)], counts.shape)
        smoke_box = (int(y), int(x))
    free = window_sums(mask, size, margin) == 0
    ys = grid_positions(mask.shape[0], size, stride)
    xs = grid_positions(mask.shape[1], size, stride)
    free = free[np.ix_(ys, xs)]
    candidates = [(int(ys[i]), int(xs[j])) for i, j in zip(*np.nonzero(free))]
    taken: List[Box] = [] if smoke_box is None else [smoke_box]
    chosen: List[Box] = []
    while len(chosen) < free_per_frame:
        candidates = [c for c in candidates if not _overlaps(c, taken, size)]
        if not candidates:
            break
        box = candidates[rng.integers(len(candidates))]
        chosen.append(box)
        taken.append(box)
    return smoke_box, chosen


def read_pair(img_path: str, mask_path: str) -> Tuple[np.ndarray, np.ndarray]:
    """The BGR image and the bool smoke mask of a SMOKE5K pair."""
    if not osp.isfile(mask_path):
        raise FileNotFoundError(f'{mask_path}: mask missing for {img_path}')
    img = LoadSmokeImageFromFile().transform(dict(img_path=img_path))['img']
    with open(mask_path, 'rb') as f:
        raw = decode_mask(f.read(), mask_path)
    bad = sorted(
        set(np.unique(raw).tolist()) - set(MASK_CONVENTIONS['zero_255']))
    if bad:
        raise ValueError(f'{mask_path}: mask values {bad[:5]} outside '
                         "the 'zero_255' convention [0, 255]")
    if raw.shape != img.shape[:2]:
        raise ValueError(f'{mask_path}: size {raw.shape[1]}x{raw.shape[0]} '
                         f'differs from image {img_path} size '
                         f'{img.shape[1]}x{img.shape[0]}')
    return img, raw == 255


def convert_split(
    root: str,
    split: str,
    out: str,
    size: int = 256,
    margin: int = 32,
    stride: int = 32,
    free_per_frame: int = 2,
    seed: int = 0,
    jpeg_quality: int = 95,
    exclude: Sequence[str] = ()) -> Dict[str, object]:
    """Write the crops, ``manifest.csv`` and ``summary.json`` of a split.

    Args:
        root (str): Source root holding ``<split>/{img,gt}``.
        split (str): Split folder name (``train`` or ``test``).
        out (str): Output root; ``<out>/<split>`` must not exist yet.
        size, margin, stride, free_per_frame, seed, jpeg_quality: See the
            command line.
        exclude (Sequence[str]): ``fnmatch`` patterns of image file names
            to leave out.

    Returns:
        dict: The summary (settings, frame and crop counts, skipped frames).
    """
    img_dir = osp.join(root, split, 'img')
    gt_dir = osp.join(root, split, 'gt')
    dst = osp.join(out, split)
    if osp.lexists(dst):
        raise FileExistsError(f'{dst} exists; remove it or choose --out')
    os.makedirs(osp.join(dst, 'img'))
    os.makedirs(osp.join(dst, 'gt'))
    names = sorted(f for f in os.listdir(img_dir) if f.endswith('.jpg'))
    if not names:
        raise ValueError(f'{img_dir}: no .jpg images')
    excluded = [
        f for f in names if any(fnmatch.fnmatchcase(f, p) for p in exclude)
    ]
    skip = set(excluded)
    stems = [f[:-4] for f in names if f not in skip]
    rows, too_small, no_free = [], [], 0
    jpeg = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    if hasattr(cv2, 'IMWRITE_JPEG_SAMPLING_FACTOR'):
        jpeg += [
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
        ]
    for stem in stems:
        img_path = osp.join(img_dir, stem + '.jpg')
        img, mask = read_pair(img_path, osp.join(gt_dir, stem + '.png'))
        h, w = mask.shape
        if h < size or w < size:
            too_small.append(f'{split}/img/{stem}.jpg ({w}x{h})')
            continue
        smoke_box, free_boxes = choose_crops(mask, size, margin, stride,
                                             free_per_frame,
                                             frame_rng(seed, split, stem))
        no_free += int(not free_boxes)
        boxes = ([] if smoke_box is None else [('smoke', smoke_box)]) + [
            ('smoke-free', b) for b in free_boxes
        ]
        for kind, (y, x) in boxes:
            name = f'{stem}_{KINDS[kind]}_x{x}_y{y}'
            crop = mask[y:y + size, x:x + size]
            if not cv2.imwrite(
                    osp.join(dst, 'img', name + '.jpg'),
                    np.ascontiguousarray(img[y:y + size, x:x + size]), jpeg):
                raise OSError(f'{dst}/img/{name}.jpg: cannot write')
            cv2.imwrite(
                osp.join(dst, 'gt', name + '.png'),
                crop.astype(np.uint8) * 255)
            fraction = float(crop.mean())
            rows.append(
                dict(
                    file=name,
                    source=f'{split}/img/{stem}.jpg',
                    x=x,
                    y=y,
                    width=size,
                    height=size,
                    kind=kind,
                    smoke_pixels=int(crop.sum()),
                    smoke_fraction=f'{fraction:.6f}',
                    size_group=size_group(fraction),
                    source_smoke_fraction=f'{float(mask.mean()):.6f}'))
    with open(osp.join(dst, 'manifest.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    kinds = [r['kind'] for r in rows]
    smoke_groups = [r['size_group'] for r in rows if r['kind'] == 'smoke']
    summary = dict(
        source=osp.abspath(osp.join(root, split)),
        crop_size=size,
        margin=margin,
        stride=stride,
        free_per_frame=free_per_frame,
        seed=seed,
        jpeg_quality=jpeg_quality,
        exclude=list(exclude),
        frames_excluded=len(excluded),
        frames=len(stems),
        frames_too_small=too_small,
        frames_without_smoke_free_crop=no_free,
        smoke_crops=kinds.count('smoke'),
        smoke_free_crops=kinds.count('smoke-free'),
        smoke_crops_by_size_group={
            g: smoke_groups.count(g)
            for g in ('small', 'medium', 'large')
        })
    with open(osp.join(dst, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return summary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'src', help='SMOKE5K zip or folder holding <split>/{img,gt}')
    parser.add_argument('--out', default='data/SMOKE5K_frames')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=['train', 'test'],
        help='split folders to convert')
    parser.add_argument(
        '--crop-size', type=int, default=256, help='crop side in pixels')
    parser.add_argument(
        '--margin',
        type=int,
        default=32,
        help='smoke-free crops have no smoke pixel within this many pixels')
    parser.add_argument(
        '--stride',
        type=int,
        default=32,
        help='grid step of the smoke-free candidate windows')
    parser.add_argument(
        '--free-per-frame',
        type=int,
        default=2,
        help='most smoke-free crops per frame')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--jpeg-quality', type=int, default=95)
    parser.add_argument(
        '--exclude',
        nargs='*',
        default=[],
        help="fnmatch patterns of image names to skip, e.g. '[1-9]_*.jpg' "
        "for SMOKE5K's synthetic training composites")
    args = parser.parse_args(argv)
    for key in ('crop_size', 'stride'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be >= 1')
    for key in ('margin', 'free_per_frame'):
        if getattr(args, key) < 0:
            parser.error(f'--{key.replace("_", "-")} must be >= 0')
    if not 1 <= args.jpeg_quality <= 100:
        parser.error('--jpeg-quality must lie in [1, 100]')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    required = [f'{s}/{d}' for s in args.splits for d in ('img', 'gt')]
    try:
        with converter_cli.extracted_root(args.src, args.out,
                                          required) as root:
            for split in args.splits:
                s = convert_split(root, split, args.out, args.crop_size,
                                  args.margin, args.stride,
                                  args.free_per_frame, args.seed,
                                  args.jpeg_quality, args.exclude)
                print(f'{split}: {s["frames"]} frames '
                      f'({s["frames_excluded"]} excluded), '
                      f'{len(s["frames_too_small"])} smaller than '
                      f'{args.crop_size}px skipped; {s["smoke_crops"]} '
                      f'smoke crops {s["smoke_crops_by_size_group"]}, '
                      f'{s["smoke_free_crops"]} smoke-free crops '
                      f'({s["frames_without_smoke_free_crop"]} frames '
                      'without one)')
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'crops ready at {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
