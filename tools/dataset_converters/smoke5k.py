"""Prepare the SMOKE5K download for ``configs/_base_/datasets/smoke5k.py``.

    python tools/dataset_converters/smoke5k.py SMOKE5K.zip --out data/SMOKE5K
    python tools/dataset_converters/smoke5k.py /path/to/SMOKE5K --link

Accepts the released zip (which nests ``SMOKE5K/SMOKE5K/{train,test}``) or
an extracted folder, places ``{train,test}/{img,gt}`` at ``--out`` (copied,
or linked with ``--link``), and checks every pair: a mask for each image,
equal sizes, mask values {0, 255}. It prints a summary per split.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '../..')))

from mmsmoke.datasets.preparation import (check_pairs,  # noqa: E402
                                          extract_archive, find_root, place)


def prepare(args: argparse.Namespace) -> None:
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=osp.dirname(
            osp.abspath(args.out))) as tmp:
        top = extract_archive(args.src, tmp)
        root = find_root(top, ['train/img', 'train/gt', 'test/img',
                               'test/gt'])
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='SMOKE5K zip or extracted folder')
    parser.add_argument('--out', default='data/SMOKE5K')
    parser.add_argument('--link', action='store_true',
                        help='symlink an extracted folder instead of copying')
    args = parser.parse_args()
    try:
        prepare(args)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
