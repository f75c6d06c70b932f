"""Prepare the SmokeSeg download for ``configs/_base_/datasets/smokeseg.py``.

    python tools/dataset_converters/smokeseg.py SmokeSeg.zip --out data/SmokeSeg
    python tools/dataset_converters/smokeseg.py /path/to/SmokeSeg --link

The release keeps its splits in ``SmokeSeg_ImageSets/Segmentation``; the
prepared copy has them at the VOC path ``ImageSets/Segmentation`` (train,
val, test, test_small, test_medium, test_large). Every listed pair is
checked: palette masks with indices {0, 1}, equal sizes.
"""
import argparse
import os
import os.path as osp
import shutil
import sys


import converter_cli

from mmsmoke.datasets.preparation import check_pairs, place

SPLITS = ('train', 'val', 'test', 'test_small', 'test_medium', 'test_large')


def prepare(args: argparse.Namespace) -> None:
    with converter_cli.extracted_root(
            args.src, args.out, ['JPEGImages', 'SegmentationClass']) as root:
        split_dir = None
        for name in ('ImageSets/Segmentation',
                     'SmokeSeg_ImageSets/Segmentation'):
            if osp.isdir(osp.join(root, name)):
                split_dir = osp.join(root, name)
                break
        if split_dir is None:
            raise FileNotFoundError(f'{root}: no ImageSets/Segmentation or '
                                    f'SmokeSeg_ImageSets/Segmentation folder')
        for split in SPLITS:
            path = osp.join(split_dir, f'{split}.txt')
            if not osp.isfile(path):
                print(f'{split}: no split file, skipped')
                continue
            with open(path) as f:
                stems = [ln.strip() for ln in f if ln.strip()]
            stats = check_pairs(
                osp.join(root, 'JPEGImages'),
                osp.join(root, 'SegmentationClass'), 'zero_one', stems)
            print(f'{split}: {stats["pairs"]} pairs, median smoke fraction '
                  f'{stats["median_smoke_fraction"]:.4f}')
        # The output is a real folder: images and masks copied (or linked),
        # split files always copied, so the source is never modified.
        if osp.lexists(args.out):
            raise FileExistsError(f'{args.out} exists; remove it first')
        link = args.link and osp.isdir(args.src)
        for sub in ('JPEGImages', 'SegmentationClass'):
            place(osp.join(root, sub), osp.join(args.out, sub), link=link)
        os.makedirs(osp.join(args.out, 'ImageSets'))
        shutil.copytree(split_dir,
                        osp.join(args.out, 'ImageSets', 'Segmentation'))
    print(f'SmokeSeg ready at {args.out}')


def main() -> int:
    return converter_cli.main(__doc__.splitlines()[0], 'SmokeSeg',
                              'data/SmokeSeg', prepare)


if __name__ == '__main__':
    sys.exit(main())
