"""Write a procedural synthetic smoke dataset to disk.

The images, masks, soft densities (alpha) and transmission maps come from
:class:`mmsmoke.datasets.synthetic.SyntheticSmokeGenerator`; see
``docs/synthetic_smoke.md``.

Examples::

    # SMOKE5K-style folders: out/{train,test}/{img,gt,alpha,trans}
    python tools/dataset_converters/generate_synthetic_smoke.py \
        --out data/synthetic_smoke5k --num-train 300 --num-test 100

    # SmokeSeg-style (VOC) folders with size-stratified test lists
    python tools/dataset_converters/generate_synthetic_smoke.py \
        --out data/synthetic_smokeseg --layout smokeseg \
        --num-train 300 --num-val 50 --num-test 100 --size 256 256
"""
import argparse
import json
import sys

from mmsmoke.datasets.synthetic.writer import LAYOUTS, generate_dataset


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate a seeded synthetic smoke segmentation dataset '
        '(images, binary masks, alpha and transmission maps).')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--layout',
        choices=LAYOUTS,
        default='smoke5k',
        help='smoke5k: {split}/{img,gt,alpha,trans}; smokeseg: VOC folders '
        'with ImageSets/Segmentation split lists')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=0)
    parser.add_argument('--num-test', type=int, default=100)
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        '--size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='image height and width (default 256 256)')
    size.add_argument(
        '--img-size', type=int, metavar='S', help='square images of S x S')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='worker processes (the output does not depend on it)')
    parser.add_argument(
        '--mask-threshold',
        type=float,
        default=0.1,
        help='a pixel is smoke in the mask when alpha > this value')
    parser.add_argument(
        '--no-camera-effects',
        action='store_true',
        help='skip vignetting, blur, sensor noise and the JPEG round trip')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='write into a non-empty output directory')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.img_size is not None:
        img_size = (args.img_size, args.img_size)
    elif args.size is not None:
        img_size = tuple(args.size)
    else:
        img_size = (256, 256)
    summary = generate_dataset(
        args.out,
        layout=args.layout,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        img_size=img_size,
        seed=args.seed,
        workers=args.workers,
        generator_cfg=dict(
            mask_threshold=args.mask_threshold,
            camera_effects=not args.no_camera_effects),
        overwrite=args.overwrite,
        progress=True)

    print(f"Wrote {summary['num_images']} images "
          f"({summary['img_size'][0]}x{summary['img_size'][1]}, layout "
          f"{summary['layout']}, seed {summary['seed']}) to "
          f"{summary['out_dir']} in {summary['elapsed_s']:.1f} s "
          f"({summary['images_per_s']:.1f} images/s, "
          f"{summary['workers']} worker(s)).")
    print(f"Mask: alpha > {summary['mask_threshold']}; transmission = "
          '1 - alpha.')
    header = (f"{'split':<6} {'images':>6} {'no smoke':>8} {'small':>6} "
              f"{'medium':>6} {'large':>6} {'distract.':>9}")
    print(header)
    print('-' * len(header))
    for split, info in summary['splits'].items():
        g = info['size_groups']
        print(f"{split:<6} {info['num_images']:>6} "
              f"{info['num_smoke_free']:>8} {g['small']:>6} "
              f"{g['medium']:>6} {g['large']:>6} "
              f"{info['with_distractors']:>9}")
    print('kinds: ' + json.dumps({
        s: i['kinds']
        for s, i in summary['splits'].items()
    }))
    print('meta: ' + ', '.join(summary['meta_files']))
    return summary


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileExistsError) as err:
        sys.exit(f'error: {err}')
