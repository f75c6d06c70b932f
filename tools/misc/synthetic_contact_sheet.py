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
from typing import List, Tuple

import cv2
import numpy as np

from mmsmoke.datasets.synthetic.generator import SyntheticSmokeGenerator

import contact_sheet as cs

ROWS: Tuple[Tuple[str, str],
            ...] = (('plume', 'medium'), ('plume', 'large'),
                    ('thin', 'medium'), ('thin', 'large'), ('small', 'small'),
                    ('distractor', 'none'), ('negative', 'none'))
LABEL_PANELS = ('mask', 'alpha', 'transmission', 'outline')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Contact sheet of synthetic smoke samples: image / mask '
        '/ alpha / transmission, one row per kind.')
    cs.add_out_argument(parser, 'docs/images/synthetic_contact_sheet.jpg',
                        'output image (.jpg or .png)')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=[256, 256],
        metavar=('H', 'W'),
        help='generated image size')
    cs.add_seed_argument(parser, 'generator seed')
    parser.add_argument(
        '--per-row', type=int, default=2, help='samples per kind (row)')
    cs.add_panel_argument(
        parser, 'width of the image panel in pixels (label panels are half)')
    parser.add_argument(
        '--quality', type=int, default=88, help='initial JPEG quality')
    cs.add_max_kb_argument(
        parser, 390,
        'lower the JPEG quality until the file is below this size')
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
    return cs.frame(
        cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA))


def gray(x: np.ndarray) -> np.ndarray:
    x8 = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    return np.repeat(x8[..., None], 3, axis=2)


def overlay(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image with the mask outline drawn in red."""
    return cs.outline(img.copy(), mask, (255, 40, 40))


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
    grid = cs.vcat([cs.hcat(small[:2], 2), cs.hcat(small[2:], 2)], 2)
    big = panel(s['img'], width)
    if grid.shape[0] < big.shape[0]:
        grid = cs.vcat([
            grid,
            np.full((big.shape[0] - grid.shape[0] - 2, grid.shape[1], 3), 255,
                    np.uint8)
        ], 2)
    row = cs.hcat([big, grid[:big.shape[0]]], 3)
    caption = (f"#{index}  {m['kind']}  {m['size_group']} "
               f"{100 * m['smoke_fraction']:.2f}%  "
               f"alpha_max {m['alpha_max']:.2f}  {m['palette']}")
    if m['distractors']:
        caption += '  +' + '+'.join(m['distractors'])
    return cs.vcat([cs.text_strip(caption, row.shape[1]), row], 0)


def build_sheet(gen: SyntheticSmokeGenerator, per_row: int, width: int,
                start: int) -> np.ndarray:
    """Render the whole sheet as an RGB uint8 array."""
    blocks = []
    for kind, target in ROWS:
        tiles = [
            sample_tile(gen, index, width)
            for index in find_indices(gen, kind, target, per_row, start)
        ]
        row = cs.hcat(tiles, 14)
        title = cs.text_strip(f'kind: {kind}   (target size: {target})',
                              row.shape[1], 20, 0.5)
        blocks.append(cs.vcat([title, row], 0))
    legend = cs.text_strip(
        f'image | mask = alpha > {gen.mask_threshold} | alpha (soft '
        'density) | transmission t = 1 - alpha | mask outline on the image',
        blocks[0].shape[1], 20, 0.45)
    return cs.add_border(cs.vcat([legend] + blocks, 6))


def main() -> None:
    args = parse_args()
    gen = SyntheticSmokeGenerator(img_size=tuple(args.size), seed=args.seed)
    sheet = build_sheet(gen, args.per_row, args.panel, args.start)
    cs.make_parent_dir(args.out)
    bgr = np.ascontiguousarray(sheet[..., ::-1])
    if args.out.lower().endswith(('.jpg', '.jpeg')):
        quality, _, kb = cs.write_below(
            args.out,
            args.max_kb,
            args.quality,
            lowest=40,
            lower=lambda q: q - 5,
            render=lambda q: (bgr, [cv2.IMWRITE_JPEG_QUALITY, q]))
        print(f'wrote {args.out}: {sheet.shape[1]}x{sheet.shape[0]}, '
              f'JPEG quality {quality}, {kb:.0f} KB')
    else:
        cs.write_image(args.out, bgr)
        print(f'wrote {args.out}: {sheet.shape[1]}x{sheet.shape[0]}')


if __name__ == '__main__':
    main()
