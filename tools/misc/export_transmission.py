"""Export dark-channel-prior transmission maps of an image folder as PNGs.

Training computes the transmission on the fly (see
``mmsmoke.models.utils.transmission``); this tool writes the same maps
(Transmission-BVM Eq. 9) to disk for inspection, one 8-bit grey PNG per
image with the same stem (``T * 255``).

Example::

    python tools/misc/export_transmission.py data/SMOKE5K/test/img \\
        work_dirs/transmission --kernel-size 15 --omega 0.95
"""
import argparse
import os
import os.path as osp

import mmcv
import numpy as np
import torch
from mmengine.utils import ProgressBar, mkdir_or_exist

from mmsmoke.models.utils.transmission import estimate_transmission

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export dark-channel-prior transmission maps (PNG).')
    parser.add_argument('img_dir', help='folder of input images')
    parser.add_argument('out_dir', help='folder for the transmission PNGs')
    parser.add_argument(
        '--kernel-size',
        type=int,
        default=15,
        help='side of the dark-channel patch (odd)')
    parser.add_argument(
        '--omega',
        type=float,
        default=0.95,
        help='haze-keeping factor; 1.0 is Eq. 9 of the paper literally')
    parser.add_argument(
        '--top-ratio',
        type=float,
        default=0.001,
        help='fraction of the brightest dark-channel pixels for A')
    parser.add_argument(
        '--recursive', action='store_true', help='also scan sub-folders')
    parser.add_argument(
        '--device', default='cpu', help='torch device, e.g. cuda:0')
    return parser.parse_args()


def list_images(img_dir: str, recursive: bool) -> list:
    """Relative paths of the images under ``img_dir``, sorted."""
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image folder not found: {img_dir}')
    names = []
    for root, _, files in os.walk(img_dir):
        for name in files:
            if name.lower().endswith(IMG_EXTENSIONS):
                names.append(osp.relpath(osp.join(root, name), img_dir))
        if not recursive:
            break
    if not names:
        raise FileNotFoundError(
            f'no images ({", ".join(IMG_EXTENSIONS)}) in {img_dir}')
    return sorted(names)


def export_one(path: str, out_path: str, device: torch.device,
               **kwargs) -> None:
    """Write the transmission map of one image to ``out_path``."""
    try:
        img = mmcv.imread(path, flag='color', channel_order='rgb')
    except Exception as exc:  # decoders raise various types
        raise OSError(f'cannot read image {path}: {exc}') from exc
    if img is None:
        raise OSError(f'cannot read image {path}')
    tensor = torch.from_numpy(np.ascontiguousarray(img)).to(device)
    tensor = tensor.permute(2, 0, 1)[None].float() / 255.0
    trans = estimate_transmission(tensor, **kwargs)[0, 0]
    out = (trans * 255.0).round().clamp(0, 255).to(torch.uint8)
    if not mmcv.imwrite(out.cpu().numpy(), out_path):
        raise OSError(f'cannot write {out_path}')


def main() -> None:
    args = parse_args()
    names = list_images(args.img_dir, args.recursive)
    mkdir_or_exist(args.out_dir)
    device = torch.device(args.device)
    progress = ProgressBar(len(names))
    for name in names:
        out_path = osp.join(args.out_dir, osp.splitext(name)[0] + '.png')
        mkdir_or_exist(osp.dirname(out_path))
        export_one(
            osp.join(args.img_dir, name),
            out_path,
            device,
            kernel_size=args.kernel_size,
            omega=args.omega,
            top_ratio=args.top_ratio)
        progress.update()
    print(f'\n{len(names)} transmission maps written to {args.out_dir}')


if __name__ == '__main__':
    main()
