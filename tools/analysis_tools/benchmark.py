"""One benchmark command: every measured figure of mmsmoke in one table.

Runs one or more suites and writes ``<out-dir>/benchmarks.json`` (the rows)
and ``<out-dir>/benchmarks.md`` (a table per suite rendered from the JSON).
Running a suite replaces that suite's rows and keeps the others, so the
long ``smoke5k`` suite and the timing suites can be run separately.

Suites:

* ``train_step``: seconds per training step (``model.train_step``:
  pre-processing, forward, backward, optimiser step) of FoSp R50 and
  Trans-BVM R50 against DeepLabV3+ R50, and of the light FoSp / Trans-BVM
  against SegFormer-B0 (default 256x256, batch 2).
* ``transmission``: the transmission coherence loss against the ``unfold``
  implementation (time, peak memory, difference of the values; default
  480x480, batch 6), and the share of the dark-channel-prior transmission
  in a Trans-BVM R50 training step.
* ``uncertainty``: Trans-BVM sampling-free uncertainty against MC sampling
  (latency and the Spearman correlation of the maps).
* ``inference``: images per second of each model at 480x480.
* ``params_flops``: parameters and FLOPs of every model config.
* ``smoke5k``: trains the light models and the baselines with one budget
  on the real SMOKE5K images and evaluates them on its test set (long; not
  part of ``all``).
* ``early_smoke``: trains and tests, at one budget, what finds small smoke
  on the real SMOKE5K images: the native-resolution recipe against the
  earlier 256x256 one, with and without ``SyntheticSmokeOverlay``, and
  FoSp without Focus or Separation (long; not part of ``all``).
* ``pretrained``: fine-tunes the light models on the ImageNet
  EfficientNet-Lite0 on the real SMOKE5K images, tests them at native
  resolution and on the smoke-free frame protocol at an operating point
  chosen on training crops (long; not part of ``all``).
* ``camera``: a trained model exported to ONNX, fp32 and onnxruntime int8:
  frames/s at 1 and 2 threads and Fβ-max of each (``--camera-*``; not part
  of ``all``).
* ``gpu``: training images/s, ms/step and peak memory per precision and
  memory format, and inference images/s eager / CUDA graph / compiled
  (``--gpu-*`` options; meant for a GPU, not part of ``all``).
* ``all``: every suite but ``smoke5k``, ``early_smoke``, ``pretrained``,
  ``camera`` and ``gpu``;
  ``quick``: ``transmission`` and ``params_flops``.

The two things a row compares run in the same process, alternating run by
run after warm-up rounds, and the row keeps the medians, so that a load
change on a shared machine affects both alike.

This file is the command line; the suites live in ``benchmarks/suites/``
(one module each, with its options and the text of its report section),
the report in ``benchmarks/report.py``.

Examples::

    python tools/analysis_tools/benchmark.py --suite all
    python tools/analysis_tools/benchmark.py --suite smoke5k
    # a long smoke5k run in several sittings: checkpoint every 500
    # iterations, and run the same command again to continue
    python tools/analysis_tools/benchmark.py --suite smoke5k --iters 10000 \\
        --save-interval 500 --resume --smoke5k-models transbvm_mit-b0
    python tools/analysis_tools/benchmark.py --suite uncertainty \\
        --checkpoint work_dirs/benchmark_smoke5k/transbvm_mit-b0/iter_300.pth
    # a smoke test at tiny settings
    python tools/analysis_tools/benchmark.py --suite train_step --size 64 \\
        --batch 2 --repeats 1 --warmup 0 --out-dir /tmp/bench
"""
import argparse
import datetime
import logging
import os.path as osp
import shlex
import sys
import time
from typing import List, Optional, Sequence

import torch

from benchmarks import report
from benchmarks.core import TOOL, log
from benchmarks.measure import machine_info
from benchmarks.suites import ALIASES, MODULES, SUITES
from benchmarks.suites import expand_suites


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run benchmark suites and write benchmarks.json/.md',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        '--suite',
        action='append',
        choices=SUITES + tuple(ALIASES),
        help='suite to run (repeatable); all = every suite but smoke5k, '
        'quick = transmission + params_flops')
    parser.add_argument(
        '--out-dir', default='docs', help='where the json/md files go')
    parser.add_argument(
        '--render-only',
        action='store_true',
        help='only re-render benchmarks.md from benchmarks.json')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='torch device')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument(
        '--size',
        type=int,
        default=None,
        help='input side for every suite (defaults: train_step 256, '
        'transmission loss 480 and step 256, uncertainty the config crop, '
        'inference 480, params_flops 512)')
    parser.add_argument(
        '--batch',
        type=int,
        default=None,
        help='batch for train_step and transmission (defaults: 2, loss 6)')
    parser.add_argument(
        '--repeats', type=int, default=5, help='timed rounds per row')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed rounds per row')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--match',
        default=None,
        help='regex: only the models/configs whose key or path matches '
        '(pairs by model key, params_flops by config path, smoke5k by key)')
    for module in MODULES.values():
        if hasattr(module, 'add_arguments'):
            module.add_arguments(parser)
    args = parser.parse_args(argv)
    if not args.suite and not args.render_only:
        parser.error('give at least one --suite (or --render-only)')
    if args.repeats < 1:
        parser.error('--repeats must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.size is not None and args.size < 32:
        parser.error('--size must be >= 32')
    for module in MODULES.values():
        if hasattr(module, 'check_arguments'):
            module.check_arguments(args, parser.error)
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    json_path = osp.join(args.out_dir, 'benchmarks.json')
    doc = report.load_document(json_path)
    if args.render_only:
        paths = report.write_outputs(doc, args.out_dir)
        log(f'rendered {paths[1]}')
        return doc
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # the models' init and optim logs
    device = torch.device(args.device)
    machine = machine_info(device)
    command = 'python ' + ' '.join(shlex.quote(a) for a in [TOOL] + argv)
    # report_rows: the rows before this command, for suites that re-use
    # finished runs (early_smoke)
    ctx = dict(
        device=machine['device'],
        command=command,
        torch_device=device,
        report_rows=list(doc['rows']))
    try:
        for suite in expand_suites(args.suite):
            started = time.perf_counter()
            module = MODULES[suite]

            def header() -> dict:
                return dict(
                    date=datetime.datetime.now(
                        datetime.timezone.utc).isoformat(timespec='seconds'),
                    machine=machine,
                    command=command,
                    settings=module.settings(args),
                    duration_s=round(time.perf_counter() - started, 1))

            def save_rows(rows: List[dict]) -> None:
                # a long suite's rows so far (each finished run)
                report.write_outputs(
                    report.merge_document(doc, {suite: header()}, rows),
                    args.out_dir)

            ctx['save_rows'] = save_rows
            suite_rows = module.run(args, ctx)
            # Written after each suite: a later failure keeps these rows.
            doc = report.merge_document(doc, {suite: header()}, suite_rows)
            paths = report.write_outputs(doc, args.out_dir)
            log(f'{suite}: {len(suite_rows)} rows in '
                f'{round(time.perf_counter() - started, 1)} s -> '
                f'{paths[0]}')
    finally:
        logger.setLevel(level)
    return doc


if __name__ == '__main__':
    main()
