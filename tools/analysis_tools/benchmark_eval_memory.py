"""Resident memory of a full evaluation run, sampled every N images.

Runs MMEngine's test loop (the loop of ``tools/test.py``) on a SMOKE5K-
layout split with ``SmokeMetric``, whose per-image reduction keeps a few
hundred numbers per image instead of the full-resolution maps, and samples
the process RSS with :class:`mmsmoke.engine.RSSMonitorHook`. Without a
checkpoint the model is the config's, built from scratch: prediction
quality does not matter for memory, and the predictions still go through
the full-resolution post-processing and metric. ``num_workers=0`` keeps
everything in the measured process.

The RSS sampled after an image includes that image's full-resolution
prediction and ground truth, so it follows the size of the current image.
Printed: the RSS after the first image, every ``--print-every`` images and
after the metrics, with the image size; the peak RSS; the growth between
image ``--growth-from`` and the last one; and the growth between the first
and the last sampled image of the most common size after ``--growth-from``
(the same per-image working set), with the range of RSS over those images.
The allocator keeps some memory after a large image, so the RSS after a
small image that follows large ones sits higher than after a run of small
ones; the per-image records in ``--out`` show the sequence.

Example::

    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_eval_memory.py \\
        --data-root ../shared/data/SMOKE5K --interval 1 \\
        --work-dir /tmp/eval_memory --out /tmp/eval_memory/rss.json
"""
import argparse
import json
from collections import Counter

from benchmarks.rss import argument_parser, monitored_config
from benchmarks.rss import parse_run_args, run_monitored
from benchmarks.rss import write_json


def parse_args() -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument(
        '--checkpoint', help='weights to load (default: from scratch)')
    parser.add_argument(
        '--data-root', required=True, help='SMOKE5K-layout root')
    parser.add_argument('--split', default='test')
    parser.add_argument(
        '--interval', type=int, default=1, help='sample every N images')
    parser.add_argument(
        '--print-every', type=int, default=25, help='table row every N')
    parser.add_argument(
        '--growth-from',
        type=int,
        default=100,
        help='report the RSS growth from this image to the last one')
    return parse_run_args(parser)


def main() -> None:
    args = parse_args()
    from PIL import Image

    cfg = monitored_config(args, 'test', args.print_every)
    cfg.load_from = args.checkpoint
    loader = cfg.test_dataloader
    loader.batch_size = 1
    loader.dataset.type = 'SMOKE5KDataset'
    loader.dataset.data_root = args.data_root
    loader.dataset.data_prefix = dict(
        img_path=f'{args.split}/img', seg_map_path=f'{args.split}/gt')
    loader.dataset.pop('ann_file', None)
    # Streaming metric: no per-image results or maps kept or written.
    cfg.test_evaluator.keep_results = False
    cfg.test_evaluator.output_dir = None

    runner, metrics, records = run_monitored(cfg, 'test')
    per_image = {r['iter']: r for r in records if r['mode'] == 'test'}
    dataset = runner.test_dataloader.dataset
    for i, r in per_image.items():
        with Image.open(dataset.get_data_info(i - 1)['img_path']) as im:
            r['width'], r['height'] = im.size
    last = max(per_image)
    final = [r for r in records if r['mode'] == 'test_metrics'][-1]
    peak = max(r['peak_rss_mib'] for r in records)
    print('\n| images | current image (WxH) | RSS (MiB) | peak so far (MiB) |')
    print('|---|---|---|---|')
    for i in sorted(per_image):
        if i not in (1, last) and i % args.print_every:
            continue
        r = per_image[i]
        print(f"| {i} | {r['width']}x{r['height']} | {r['rss_mib']:.0f} | "
              f"{r['peak_rss_mib']:.0f} |")
    print(f"| after metrics | | {final['rss_mib']:.0f} | "
          f"{final['peak_rss_mib']:.0f} |")
    summary = dict(
        images=last,
        start_rss_mib=per_image[min(per_image)]['rss_mib'],
        peak_rss_mib=peak,
        end_rss_mib=final['rss_mib'])
    later = [i for i in sorted(per_image) if i >= args.growth_from]
    if later:
        first = later[0]
        summary[f'growth_{first}_to_{last}_mib'] = round(
            per_image[last]['rss_mib'] - per_image[first]['rss_mib'], 1)
        sizes = Counter(
            (per_image[i]['width'], per_image[i]['height']) for i in later)
        size = sizes.most_common(1)[0][0]
        same = [
            i for i in later
            if (per_image[i]['width'], per_image[i]['height']) == size
        ]
        rss = [per_image[i]['rss_mib'] for i in same]
        summary['same_size'] = f'{size[0]}x{size[1]}'
        summary['same_size_images'] = len(same)
        summary[f'same_size_growth_{same[0]}_to_{same[-1]}_mib'] = round(
            rss[-1] - rss[0], 2)
        summary['same_size_rss_min_max_mib'] = [min(rss), max(rss)]
        summary[f'max_rss_after_{first}_mib'] = max(per_image[i]['rss_mib']
                                                    for i in later)
    print(json.dumps(summary))
    if args.out:
        write_json(
            args.out,
            dict(
                summary=summary,
                records=records,
                metrics={
                    k: v
                    for k, v in metrics.items() if isinstance(v, (int, float))
                }))


if __name__ == '__main__':
    main()
