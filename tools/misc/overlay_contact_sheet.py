"""Contact sheet of SyntheticSmokeOverlay on real SMOKE5K training images.

For ``--num`` training images drawn at ``--seed`` (no selection by
content) each row shows, left to right:

1. the original image, with its own smoke label outlined in yellow;
2. the image with the overlay (``prob=1``, the transform's other defaults,
   distractors with probability ``--distractor-prob``);
3. the same with the added smoke label (``alpha > mask_threshold``)
   outlined in red and the original label in yellow;
4. a zoom on the largest added plume (twice its mask's extent, at least
   a fifth of the image), without outlines.

Images wider than ``--max-width`` are first resized to that width (the
training pipeline resizes SMOKE5K's 2048x1536 frames to a similar size
before cropping), so the plume sizes are those of training. The caption
gives the file, each added plume's mask area (percent of the image), peak
opacity and colour style, and the distractors. The sheet is written as a
PNG; the panels shrink until the file is below ``--max-kb``.

Example::

    python tools/misc/overlay_contact_sheet.py \
        --data-root ../shared/data/SMOKE5K \
        --out docs/images/synthetic_overlay_smoke5k.png
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Tuple

import cv2
import numpy as np

from mmsmoke.datasets.transforms.synthetic_overlay import \
    SyntheticSmokeOverlay

import contact_sheet as cs

YELLOW, RED = (0, 220, 255), (40, 40, 255)  # BGR


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Contact sheet of SyntheticSmokeOverlay on SMOKE5K '
        'training images: original | overlay | label outlines | zoom.')
    parser.add_argument(
        '--data-root',
        default='../shared/data/SMOKE5K',
        help='SMOKE5K root holding train/img and train/gt')
    cs.add_out_argument(parser, 'docs/images/synthetic_overlay_smoke5k.png',
                        'output PNG')
    parser.add_argument(
        '--num', type=int, default=12, help='number of images (rows)')
    cs.add_seed_argument(parser, 'seed of the image choice and of the overlay')
    parser.add_argument(
        '--distractor-prob',
        type=float,
        default=0.25,
        help='distractor probability of the overlay')
    parser.add_argument(
        '--max-width',
        type=int,
        default=640,
        help='resize wider images to this width before the overlay')
    cs.add_panel_argument(parser, 'initial panel width (px)')
    cs.add_max_kb_argument(
        parser, 1400, 'shrink the panels until the PNG is below this size')
    return parser.parse_args()


def list_pairs(data_root: str) -> List[Tuple[str, str]]:
    """Sorted (image, mask) paths of the training split."""
    img_dir = osp.join(data_root, 'train', 'img')
    gt_dir = osp.join(data_root, 'train', 'gt')
    if not osp.isdir(img_dir) or not osp.isdir(gt_dir):
        raise FileNotFoundError(f'{data_root}: expected train/img and '
                                f'train/gt folders (SMOKE5K layout)')
    pairs = []
    for name in sorted(os.listdir(img_dir)):
        stem, ext = osp.splitext(name)
        gt = osp.join(gt_dir, stem + '.png')
        if ext.lower() in ('.jpg', '.jpeg', '.png') and osp.isfile(gt):
            pairs.append((osp.join(img_dir, name), gt))
    if not pairs:
        raise FileNotFoundError(f'{img_dir}: no image/mask pairs found')
    return pairs


def load_pair(img_path: str, gt_path: str,
              max_width: int) -> Tuple[np.ndarray, np.ndarray]:
    """BGR image and {0, 1} label, resized to at most ``max_width``."""
    img = cv2.imread(img_path, cv2.IMREAD_COLOR)
    gt = cv2.imread(gt_path, cv2.IMREAD_GRAYSCALE)
    if img is None or gt is None:
        raise ValueError(f'cannot read {img_path} or {gt_path}')
    label = (gt > 127).astype(np.uint8)
    h, w = img.shape[:2]
    if w > max_width:
        size = (max_width, int(round(h * max_width / w)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
    return img, label


def fit_panel(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize into a ``width`` x ``height`` panel (letterboxed, framed)."""
    h, w = img.shape[:2]
    scale = min(width / w, height / h)
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    small = cv2.resize(img, size, interpolation=interp)
    out = np.full((height, width, 3), 255, np.uint8)
    y, x = (height - size[1]) // 2, (width - size[0]) // 2
    out[y:y + size[1], x:x + size[0]] = small
    return cs.frame(out)


def zoom_box(box: Optional[List[int]], shape: Tuple[int, int],
             aspect: float) -> Tuple[int, int, int, int]:
    """A region of the panel's aspect around ``box`` (whole image if None)."""
    h, w = shape
    if box is None:
        return 0, h, 0, w
    y0, y1, x0, x1 = box
    bh = max((y1 - y0) * 2.0, 0.2 * h)
    bw = max((x1 - x0) * 2.0, 0.2 * w)
    bw, bh = max(bw, bh * aspect), max(bh, bw / aspect)
    bw, bh = min(bw, w), min(bh, h)
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    ya = int(np.clip(cy - bh / 2, 0, h - bh))
    xa = int(np.clip(cx - bw / 2, 0, w - bw))
    return ya, ya + int(bh), xa, xa + int(bw)


def render_rows(samples: List[dict], width: int) -> np.ndarray:
    height = int(round(width * 3 / 4))
    rows = []
    for s in samples:
        img, label, res = s['img'], s['label'], s['results']
        new, new_label = res['img'], res['gt_seg_map']
        added = (new_label == 1) & (label != 1)
        orig = cs.outline(img.copy(), label == 1, YELLOW)
        lab = cs.outline(new.copy(), label == 1, YELLOW)
        lab = cs.outline(lab, added, RED)
        plumes = [p for p in res['synthetic_plumes'] if p['status'] == 'added']
        box = None
        if plumes:
            big = max(plumes, key=lambda p: p['area'])
            y0, y1, x0, x1 = big['box']
            ys, xs = np.nonzero(added[y0:y1, x0:x1])
            if len(ys):
                box = [
                    y0 + ys.min(), y0 + ys.max() + 1, x0 + xs.min(),
                    x0 + xs.max() + 1
                ]
        ya, yb, xa, xb = zoom_box(box, new.shape[:2], width / height)
        zoom = fit_panel(new[ya:yb, xa:xb], width, height)
        factor = new.shape[1] / max(xb - xa, 1)
        cv2.putText(zoom, f'zoom x{factor:.1f} of panel 2', (4, height - 6),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                    cv2.LINE_AA)
        panels = [fit_panel(x, width, height) for x in (orig, new, lab)]
        row = cs.hcat(panels + [zoom], 3)
        parts = [
            f"{p['area'] * 100:.2f}% a{p['alpha_max']:.2f} {p['style']}"
            for p in plumes
        ]
        dropped = len(res['synthetic_plumes']) - len(plumes)
        caption = f"{s['name']}   added: " + (', '.join(parts) or 'none')
        if dropped:
            caption += f'   ({dropped} not visible, dropped)'
        if res['synthetic_distractors']:
            caption += '   + ' + '+'.join(res['synthetic_distractors'])
        rows.append(cs.vcat([cs.text_strip(caption, row.shape[1]), row], 0))
    legend = cs.text_strip(
        'original (its label: yellow) | with SyntheticSmokeOverlay | '
        'added label alpha > 0.1 (red) | zoom on the largest added plume',
        rows[0].shape[1], 20, 0.45)
    return cs.add_border(cs.vcat([legend] + rows, 6))


def main() -> None:
    args = parse_args()
    pairs = list_pairs(args.data_root)
    rng = np.random.default_rng(args.seed)
    chosen = sorted(
        rng.choice(len(pairs), min(args.num, len(pairs)), replace=False))
    overlay = SyntheticSmokeOverlay(
        prob=1.0, distractor_prob=args.distractor_prob, seed=args.seed)
    samples = []
    for i in chosen:
        img, label = load_pair(*pairs[i], args.max_width)
        results = overlay(
            dict(
                img=img.copy(),
                gt_seg_map=label.copy(),
                seg_fields=['gt_seg_map']))
        samples.append(
            dict(
                name=osp.basename(pairs[i][0]),
                img=img,
                label=label,
                results=results))
    cs.make_parent_dir(args.out)
    width, sheet, kb = cs.write_below(
        args.out,
        args.max_kb,
        args.panel,
        lowest=96,
        lower=lambda w: int(w * 0.9),
        render=lambda w:
        (render_rows(samples, w), [cv2.IMWRITE_PNG_COMPRESSION, 9]))
    print(f'wrote {args.out}: {sheet.shape[1]}x{sheet.shape[0]}, panels '
          f'{width} px wide, {kb:.0f} KB, {len(samples)} images')


if __name__ == '__main__':
    main()
