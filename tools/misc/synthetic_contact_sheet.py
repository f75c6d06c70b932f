"""Draw a contact sheet of synthetic smoke samples and their labels.

Each row holds one kind of sample (``plume`` medium and large, ``thin``
medium and large, ``small``, ``distractor``, ``negative``), taken in index
order (no selection). Each sample is shown as the image and, at half size,
its binary mask, soft density alpha, transmission 1 - alpha and the mask
outline drawn on the image.

Example::

    python tools/misc/synthetic_contact_sheet.py \
        --out docs/images/synthetic_contact_sheet.jpg
"""
import argparse
import os
import os.path as osp
from typing import List, Tuple

import cv2
import numpy as np

from mmsmoke.datasets.synthetic.generator import SyntheticSmokeGenerator

ROWS: Tuple[Tuple[str, str],
            ...] = (('plume', 'medium'), ('plume', 'large'),
                    ('thin', 'medium'), ('thin', 'large'), ('small', 'small'),
                    ('distractor', 'none'), ('negative', 'none'))
LABEL_PANELS = ('mask', 'alpha', 'transmission', 'outline')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Contact sheet of synthetic smoke samples: image / mask '
        '/ alpha / transmission, one row per kind.')
    parser.add_argument(
        '--out',
        default='docs/images/synthetic_contact_sheet.jpg',
        help='output image (.jpg or .png)')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=[256, 256],
        metavar=('H', 'W'),
        help='generated image size')
    parser.add_argument('--seed', type=int, default=0, help='generator seed')
    parser.add_argument(
        '--per-row', type=int, default=2, help='samples per kind (row)')
    parser.add_argument(
        '--panel',
        type=int,
        default=256,
        help='width of the image panel in pixels (label panels are half)')
    parser.add_argument(
        '--quality', type=int, default=88, help='initial JPEG quality')
    parser.add_argument(
        '--max-kb',
        type=float,
        default=390,
        help='lower the JPEG quality until the file is below this size')
    parser.add_argument(
        '--start', type=int, default=0, help='first index searched')
    return parser.parse_args()


def find_indices(gen: SyntheticSmokeGenerator, kind: str, target: str,
                 count: int, start: int) -> List[int]:
    """First ``count`` indices from ``start`` with the given kind/target."""
    found, index = [], start
    while len(found) < count:
        if gen.kind_of(index) == (kind, target):
            found.append(index)
        index += 1
        if index - start > 100000:
            raise RuntimeError(f'no samples of kind {kind}/{target} found; '
                               'is its probability 0?')
    return found


def panel(img: np.ndarray, width: int) -> np.ndarray:
    """Resize to ``width`` and draw a one-pixel grey frame."""
    h, w = img.shape[:2]
    height = int(round(h * width / w))
    out = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    cv2.rectangle(out, (0, 0), (width - 1, height - 1), (110, 110, 110), 1)
    return out


def gray(x: np.ndarray) -> np.ndarray:
    x8 = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    return np.repeat(x8[..., None], 3, axis=2)


def text_strip(text: str,
               width: int,
               height: int = 16,
               scale: float = 0.4) -> np.ndarray:
    """A white strip with black text."""
    strip = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(strip, text, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def hcat(parts: List[np.ndarray], gap: int) -> np.ndarray:
    h = parts[0].shape[0]
    sep = np.full((h, gap, 3), 255, np.uint8)
    out = [parts[0]]
    for p in parts[1:]:
        out += [sep, p]
    return np.concatenate(out, axis=1)


def vcat(parts: List[np.ndarray], gap: int) -> np.ndarray:
    w = max(p.shape[1] for p in parts)
    padded = []
    for p in parts:
        if p.shape[1] < w:
            p = np.concatenate(
                [p, np.full((p.shape[0], w - p.shape[1], 3), 255, np.uint8)],
                axis=1)
        padded.append(p)
    sep = np.full((gap, w, 3), 255, np.uint8)
    out = [padded[0]]
    for p in padded[1:]:
        out += [sep, p]
    return np.concatenate(out, axis=0)


def overlay(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image with the mask outline drawn in red."""
    out = img.copy()
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (255, 40, 40), 1)
    return out


def sample_tile(gen: SyntheticSmokeGenerator, index: int,
                width: int) -> np.ndarray:
    """Caption, the image, and a 2x2 block of mask / alpha /
    transmission / outline panels at half size."""
    s = gen.sample(index)
    m = s['meta']
    half = width // 2
    small = [
        gray(s['mask'].astype(np.float32)),
        gray(s['alpha']),
        gray(s['transmission']),
        overlay(s['img'], s['mask'])
    ]
    small = [panel(p, half - 1) for p in small]
    for p, name in zip(small, LABEL_PANELS):
        cv2.putText(p, name, (3, p.shape[0] - 5), cv2.FONT_HERSHEY_SIMPLEX,
                    0.36, (0, 160, 255), 1, cv2.LINE_AA)
    grid = vcat([hcat(small[:2], 2), hcat(small[2:], 2)], 2)
    big = panel(s['img'], width)
    if grid.shape[0] < big.shape[0]:
        grid = vcat([
            grid,
            np.full((big.shape[0] - grid.shape[0] - 2, grid.shape[1], 3), 255,
                    np.uint8)
        ], 2)
    row = hcat([big, grid[:big.shape[0]]], 3)
    caption = (f"#{index}  {m['kind']}  {m['size_group']} "
               f"{100 * m['smoke_fraction']:.2f}%  "
               f"alpha_max {m['alpha_max']:.2f}  {m['palette']}")
    if m['distractors']:
        caption += '  +' + '+'.join(m['distractors'])
    return vcat([text_strip(caption, row.shape[1]), row], 0)


def build_sheet(gen: SyntheticSmokeGenerator, per_row: int, width: int,
                start: int) -> np.ndarray:
    """Render the whole sheet as an RGB uint8 array."""
    blocks = []
    for kind, target in ROWS:
        tiles = [
            sample_tile(gen, index, width)
            for index in find_indices(gen, kind, target, per_row, start)
        ]
        row = hcat(tiles, 14)
        title = text_strip(f'kind: {kind}   (target size: {target})',
                           row.shape[1], 20, 0.5)
        blocks.append(vcat([title, row], 0))
    legend = text_strip(
        f'image | mask = alpha > {gen.mask_threshold} | alpha (soft '
        'density) | transmission t = 1 - alpha | mask outline on the image',
        blocks[0].shape[1], 20, 0.45)
    sheet = vcat([legend] + blocks, 6)
    border = 6
    return cv2.copyMakeBorder(
        sheet,
        border,
        border,
        border,
        border,
        cv2.BORDER_CONSTANT,
        value=(255, 255, 255))


def main() -> None:
    args = parse_args()
    gen = SyntheticSmokeGenerator(img_size=tuple(args.size), seed=args.seed)
    sheet = build_sheet(gen, args.per_row, args.panel, args.start)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    bgr = np.ascontiguousarray(sheet[..., ::-1])
    if args.out.lower().endswith(('.jpg', '.jpeg')):
        quality = args.quality
        while True:
            ok = cv2.imwrite(args.out, bgr,
                             [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise OSError(f'could not write {args.out}')
            kb = osp.getsize(args.out) / 1024
            if kb <= args.max_kb or quality <= 40:
                break
            quality -= 5
        print(f'wrote {args.out}: {sheet.shape[1]}x{sheet.shape[0]}, '
              f'JPEG quality {quality}, {kb:.0f} KB')
    else:
        if not cv2.imwrite(args.out, bgr):
            raise OSError(f'could not write {args.out}')
        print(f'wrote {args.out}: {sheet.shape[1]}x{sheet.shape[0]}')


if __name__ == '__main__':
    main()
