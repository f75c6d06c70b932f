"""Peak memory of whole-image vs sliding-window inference on large images.

Each measurement runs in a fresh process: it builds the config's model from
scratch (no weights are needed to measure memory), makes a random image of
the given size, normalises it with the model's data pre-processor, resets
the peak RSS (Linux ``/proc/self/clear_refs``) and runs ``model.predict``
with ``test_cfg.mode`` set to ``whole`` or ``slide``. Reported: the RSS
before inference (interpreter, model, image and normalised input) and the
peak RSS during inference; their difference is the inference's working
memory. Slide inference keeps that bounded by the crop plus a few
full-size single-channel maps (the accumulated logits, the window count,
the output probability and mask); whole-image inference grows with the
image, for MiT backbones quadratically (attention over all tokens).

Example::

    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_slide_memory.py \\
        --slide-sizes 512x768 1024x1536 2048x3072 \\
        --whole-sizes 512x768 1024x1536 --out work_dirs/slide_memory.json
"""
import argparse
import json
import os
import subprocess
import sys
from typing import List, Tuple

from benchmarks.rss import argument_parser, write_json


def parse_size(text: str) -> Tuple[int, int]:
    """Parse ``HxW`` into ``(H, W)``."""
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'size must be HxW (e.g. 2048x3072), got {text!r}') from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f'size must be positive: {text!r}')
    return h, w


def parse_args() -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument(
        '--slide-sizes',
        nargs='*',
        type=parse_size,
        default=[(512, 768), (1024, 1536), (2048, 3072)],
        help='image sizes HxW for slide inference')
    parser.add_argument(
        '--whole-sizes',
        nargs='*',
        type=parse_size,
        default=[(512, 768), (1024, 1536)],
        help='image sizes HxW for whole-image inference (for 2048x3072 '
        'MiT-B0 attention alone needs an estimated 10-20 GiB, so it is not '
        'in the default)')
    parser.add_argument('--crop', type=int, default=512)
    parser.add_argument('--stride', type=int, default=341)
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--single', nargs=2, metavar=('MODE', 'HxW'),
        help=argparse.SUPPRESS)  # one measurement, in this process
    return parser.parse_args()


def measure(config: str, mode: str, size: Tuple[int, int], crop: int,
            stride: int) -> dict:
    """One measurement in the current process; see the module docstring."""
    import torch
    from mmengine.config import ConfigDict
    from mmengine.structures import PixelData

    from mmseg.structures import SegDataSample
    from mmsmoke.apis import build_model, load_config
    from mmsmoke.utils.memory import (current_rss_mib, peak_rss_mib,
                                      reset_peak_rss)

    cfg = load_config(config)
    if mode == 'slide':
        cfg.model.test_cfg = ConfigDict(
            mode='slide', crop_size=(crop, crop), stride=(stride, stride))
    else:
        cfg.model.test_cfg = ConfigDict(mode='whole')
    torch.manual_seed(0)
    model = build_model(cfg, device='cpu', init_weights=True)
    h, w = size
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, h, w, dtype=torch.uint8))
    with torch.no_grad():
        batch = model.data_preprocessor(
            dict(inputs=[img], data_samples=[sample]), False)
        del img
        before = current_rss_mib()
        exact_peak = reset_peak_rss()
        result = model.predict(batch['inputs'], batch['data_samples'])[0]
        peak = peak_rss_mib()
    prob = result.seg_logits.data
    return dict(
        mode=mode,
        height=h,
        width=w,
        crop=crop if mode == 'slide' else None,
        stride=stride if mode == 'slide' else None,
        rss_before_mib=round(before, 1),
        peak_rss_mib=round(peak, 1),
        inference_mib=round(peak - before, 1),
        peak_is_of_inference_only=exact_peak,
        output_shape=list(prob.shape),
        output_finite=bool(torch.isfinite(prob).all()))


def run_all(args: argparse.Namespace) -> List[dict]:
    jobs = [('whole', s) for s in args.whole_sizes] + \
        [('slide', s) for s in args.slide_sizes]
    results = []
    for mode, (h, w) in jobs:
        cmd = [
            sys.executable, __file__, '--config', args.config, '--crop',
            str(args.crop), '--stride',
            str(args.stride), '--single', mode, f'{h}x{w}'
        ]
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ))
        if proc.returncode != 0:
            results.append(
                dict(
                    mode=mode,
                    height=h,
                    width=w,
                    error=proc.stderr.strip().splitlines()[-1:]))
            print(f'{mode} {h}x{w}: failed: {results[-1]["error"]}')
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    return results


def print_table(results: List[dict]) -> None:
    print('\n| mode | image (HxW) | RSS before (MiB) | peak RSS (MiB) | '
          'inference (MiB) |')
    print('|---|---|---|---|---|')
    for r in results:
        if 'error' in r:
            print(f"| {r['mode']} | {r['height']}x{r['width']} | failed | | |")
            continue
        mode = r['mode'] if r['mode'] == 'whole' else \
            f"slide {r['crop']}/{r['stride']}"
        print(f"| {mode} | {r['height']}x{r['width']} | "
              f"{r['rss_before_mib']:.0f} | {r['peak_rss_mib']:.0f} | "
              f"{r['inference_mib']:.0f} |")


def main() -> None:
    args = parse_args()
    if args.single:
        mode, size = args.single
        if mode not in ('whole', 'slide'):
            raise SystemExit(f'mode must be whole or slide, got {mode!r}')
        print(
            json.dumps(
                measure(args.config, mode, parse_size(size), args.crop,
                        args.stride)))
        return
    results = run_all(args)
    print_table(results)
    if args.out:
        write_json(args.out, results)


if __name__ == '__main__':
    main()
