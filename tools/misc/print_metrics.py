"""Print the metrics of the newest ``tools/test.py`` run in a work dir.

    python tools/misc/print_metrics.py WORK_DIR [--keys Fbeta_max MAE ...]

``tools/test.py`` writes ``WORK_DIR/<timestamp>/<timestamp>.json``; this
prints its scalar metrics as an aligned table, headline numbers first.
"""
import argparse
import glob
import json
import os.path as osp
import sys

HEADLINE = ('Fbeta_max', 'Fbeta_adp', 'Fbeta_mean', 'MAE', 'Smeasure',
            'mF1_img', 'mIoU_img', 'IoU', 'F1', 'ECE', 'false_alarm_rate')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--keys', nargs='*', help='only these metrics')
    args = parser.parse_args()
    files = sorted(glob.glob(osp.join(args.work_dir, '*', '*.json')))
    if not files:
        print(f'{args.work_dir}: no metrics json found', file=sys.stderr)
        return 1
    with open(files[-1]) as f:
        metrics = json.load(f)
    scalars = {k: v for k, v in metrics.items()
               if isinstance(v, (int, float)) and k not in ('time',
                                                            'data_time')}
    keys = args.keys or (
        [k for k in HEADLINE if k in scalars] +
        sorted(k for k in scalars if k not in HEADLINE))
    width = max(len(k) for k in keys)
    print(f'metrics of {files[-1]}:')
    for k in keys:
        if k in scalars:
            print(f'  {k:<{width}}  {scalars[k]:.4f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
