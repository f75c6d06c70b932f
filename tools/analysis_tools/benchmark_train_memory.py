"""Resident memory over a long CPU training run, to check it does not grow.

Trains a config (by default the SegFormer MiT-B0 demo, from scratch) with
MMEngine's runner for ``--iters`` iterations on a SMOKE5K-layout set (the
embedded synthetic set, generated with
``tools/dataset_converters/generate_synthetic_smoke.py``) at a reduced crop,
and samples the process RSS every ``--interval`` iterations with
:class:`mmsmoke.engine.RSSMonitorHook`. ``num_workers=0`` keeps data
loading in the measured process; validation is off and one checkpoint is
written at the end (after the last sample).

Example::

    python tools/dataset_converters/generate_synthetic_smoke.py \\
        --out /tmp/synthetic_smoke --layout smoke5k
    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_train_memory.py \\
        --data-root /tmp/synthetic_smoke --iters 1000 --crop 128 \\
        --batch-size 2 --work-dir /tmp/train_memory
"""
import argparse
import json

from benchmarks.rss import argument_parser, monitored_config
from benchmarks.rss import parse_run_args, run_monitored
from benchmarks.rss import write_json


def parse_args() -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument(
        '--data-root', required=True, help='SMOKE5K-layout root')
    parser.add_argument('--iters', type=int, default=1000)
    parser.add_argument('--crop', type=int, default=128)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--interval', type=int, default=50)
    parser.add_argument(
        '--report-at',
        type=int,
        nargs='*',
        default=[100, 500, 1000],
        help='iterations summarised at the end')
    return parse_run_args(parser)


def main() -> None:
    args = parse_args()
    cfg = monitored_config(args, 'train', args.interval)
    crop = (args.crop, args.crop)
    cfg.model.data_preprocessor.size = crop
    loader = cfg.train_dataloader
    loader.batch_size = args.batch_size
    loader.dataset.data_root = args.data_root
    for step in loader.dataset.pipeline:
        if step['type'] in ('RandomResize', 'Resize'):
            step['scale'] = crop
        elif step['type'] == 'RandomCrop':
            step['crop_size'] = crop
    # No validation (mmengine would validate after the last iteration).
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.train_cfg.max_iters = args.iters
    cfg.train_cfg.pop('val_interval', None)
    # Stretch or shorten the decay to the run (the warm-up stays).
    last = cfg.param_scheduler[-1]
    if last.get('begin', 0) < args.iters:
        last['end'] = args.iters
    cfg.default_hooks.checkpoint = dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=args.iters,
        max_keep_ckpts=1)
    cfg.randomness = dict(seed=0)

    _, _, records = run_monitored(cfg, 'train')
    by_iter = {r['iter']: r for r in records if r['mode'] == 'train'}
    print('\n| iteration | RSS (MiB) | peak so far (MiB) |')
    print('|---|---|---|')
    for i in sorted(by_iter):
        r = by_iter[i]
        print(f"| {i} | {r['rss_mib']:.0f} | {r['peak_rss_mib']:.0f} |")
    summary = {
        f'rss_at_{i}_mib': by_iter[i]['rss_mib']
        for i in args.report_at if i in by_iter
    }
    marks = [i for i in args.report_at if i in by_iter]
    for a, b in zip(marks, marks[1:]):
        summary[f'growth_{a}_to_{b}_mib'] = round(
            by_iter[b]['rss_mib'] - by_iter[a]['rss_mib'], 2)
    summary['peak_rss_mib'] = max(r['peak_rss_mib'] for r in records)
    print(json.dumps(summary))
    if args.out:
        write_json(args.out, dict(summary=summary, records=records))


if __name__ == '__main__':
    main()
