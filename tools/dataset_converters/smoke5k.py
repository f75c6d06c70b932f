"""Prepare the SMOKE5K download for ``configs/_base_/datasets/smoke5k.py``.

    python tools/dataset_converters/smoke5k.py SMOKE5K.zip --out data/SMOKE5K
    python tools/dataset_converters/smoke5k.py /path/to/SMOKE5K --link

Accepts the released zip (which nests ``SMOKE5K/SMOKE5K/{train,test}``) or
an extracted folder, places ``{train,test}/{img,gt}`` at ``--out`` (copied,
or linked with ``--link``), and checks every pair: a mask for each image,
equal sizes, mask values {0, 255}. It prints a summary per split.
"""
import argparse
import os.path as osp
import sys


import converter_cli

from mmsmoke.datasets.preparation import check_pairs, place

#: The folders the extracted release must hold below its root.
LAYOUT = ('train/img', 'train/gt', 'test/img', 'test/gt')


def prepare(args: argparse.Namespace) -> None:
    with converter_cli.extracted_root(args.src, args.out, LAYOUT) as root:
        for split in ('train', 'test'):
            stats = check_pairs(
                osp.join(root, split, 'img'), osp.join(root, split, 'gt'),
                'zero_255')
            print(f'{split}: {stats["pairs"]} pairs, {stats["empty_masks"]} '
                  f'without smoke, median smoke fraction '
                  f'{stats["median_smoke_fraction"]:.4f}, sizes '
                  f'{dict(stats["sizes"].most_common(5))}')
        place(root, args.out, link=args.link and osp.isdir(args.src))
    print(f'SMOKE5K ready at {args.out}')


def main() -> int:
    return converter_cli.main(__doc__.splitlines()[0], 'SMOKE5K',
                              'data/SMOKE5K', prepare)


if __name__ == '__main__':
    sys.exit(main())
