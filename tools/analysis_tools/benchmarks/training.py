"""Training suites: the schedule, and training and testing in subprocesses.

The ``smoke5k`` and ``early_smoke`` suites train a config with
``tools/train.py`` and test it with ``tools/test.py``, as a user would.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from .core import REPO, log


def apply_schedule(cfg, iters: int, save_interval: Optional[int]) -> None:
    """The training length and schedule shared by the training suites.

    ``iters`` iterations without validation, linear warm-up over
    ``min(50, iters / 6)`` iterations then poly decay to 0, a log line
    every ``min(50, iters / 10)`` iterations and a checkpoint every
    ``save_interval`` iterations (the last one kept) and at the end.
    """
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.val_cfg = None
    cfg.test_cfg = dict(type='TestLoop')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    warm = max(1, min(50, iters // 6))
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=1e-3,
            by_epoch=False,
            begin=0,
            end=warm)
    ]
    if iters > warm:
        cfg.param_scheduler.append(
            dict(
                type='PolyLR',
                eta_min=0.0,
                power=1.0,
                begin=warm,
                end=iters,
                by_epoch=False))
    cfg.default_hooks.logger = dict(
        type='LoggerHook',
        interval=max(1, min(50, iters // 10)),
        log_metric_by_epoch=False)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=min(iters, save_interval or iters),
        max_keep_ckpts=1)


def run_logged(cmd: List[str], log_path: str) -> float:
    """Run ``cmd`` from the repository root, output to ``log_path``.

    Returns:
        float: Wall time in seconds.

    Raises:
        RuntimeError: On a non-zero exit, with the log's tail.
    """
    start = time.perf_counter()
    with open(log_path, 'w') as log_file:
        proc = subprocess.run(
            cmd, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO)
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{" ".join(cmd)} failed with exit code '
                           f'{proc.returncode}; log {log_path}:\n{tail}')
    return time.perf_counter() - start


def run_test(cfg_path: str,
             ckpt: str,
             test_dir: str,
             log_path: str,
             extra: Sequence[str] = ()) -> dict:
    """Run ``tools/test.py`` and return the metrics it wrote."""
    started = time.time()
    run_logged([
        sys.executable,
        osp.join(REPO, 'tools', 'test.py'), cfg_path, ckpt, '--work-dir',
        test_dir, *extra
    ], log_path)
    found = [
        p for p in glob.glob(osp.join(test_dir, '*', '*.json'))
        if osp.getmtime(p) >= started - 1
    ]
    if not found:
        raise FileNotFoundError(f'{test_dir}: the test run wrote no '
                                'metrics file')
    with open(max(found, key=osp.getmtime)) as f:
        return json.load(f)


def train_and_test(cfg,
                   work: str,
                   iters: int,
                   stamp: dict,
                   resume: bool = False,
                   skip_existing: bool = False,
                   extra_tests: Optional[Dict[str, List[str]]] = None,
                   name: str = '') -> dict:
    """Train a config with ``tools/train.py``, test it with ``tools/test.py``.

    The metrics are kept in ``<work>/benchmark_result.json`` with
    ``stamp``; with ``skip_existing`` a final checkpoint is re-used, and so
    are its metrics when the stamp and the checkpoint are unchanged.

    Args:
        cfg (Config): The complete config; ``cfg.work_dir`` is ``work``.
        work (str): The work directory.
        iters (int): The training length (names the final checkpoint).
        stamp (dict): What makes two runs the same (budget, data, seed).
        resume (bool): Continue from ``<work>/last_checkpoint`` if present.
        skip_existing (bool): Re-use a final checkpoint.
        extra_tests (dict[str, list[str]], optional): Further tests of the
            same checkpoint: name -> extra ``tools/test.py`` arguments.
        name (str): Name for the progress lines.

    Returns:
        dict: ``metrics``, ``extra_metrics`` (name -> metrics),
        ``train_s`` (None when re-used or resumed) and ``checkpoint``.
    """
    extra_tests = dict(extra_tests or {})
    os.makedirs(work, exist_ok=True)
    cfg_path = osp.join(work, 'benchmark_config.py')
    ckpt = osp.join(work, f'iter_{iters}.pth')
    result_path = osp.join(work, 'benchmark_result.json')
    reuse = skip_existing and osp.isfile(ckpt)
    if reuse and osp.isfile(result_path):
        with open(result_path) as f:
            cached = json.load(f)
        if cached.get('stamp') == stamp and cached.get(
                'checkpoint_mtime') == osp.getmtime(ckpt) and set(
                    cached['result'].get('extra_metrics',
                                         {})) == set(extra_tests):
            log(f'{name}: re-using {result_path}')
            return cached['result']
    cfg.dump(cfg_path)
    train_s = None
    if not reuse:
        log(f'{name}: training ({iters} iterations), log {work}/train.log')
        cmd = [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'), cfg_path, '--work-dir', work
        ]
        log_name = 'train.log'
        resumed = resume and osp.isfile(osp.join(work, 'last_checkpoint'))
        if resumed:
            # mmengine resumes from the checkpoint named in last_checkpoint
            log(f'{name}: resuming from the last checkpoint')
            cmd.append('--resume')
            log_name = f'train_resumed_{int(time.time())}.log'
        train_s = run_logged(cmd, osp.join(work, log_name))
        if resumed:
            train_s = None  # only the resumed part was timed
    if not osp.isfile(ckpt):
        raise FileNotFoundError(f'{ckpt}: training wrote no checkpoint')
    log(f'{name}: testing, log {work}/test.log')
    started = time.perf_counter()
    metrics = run_test(cfg_path, ckpt, osp.join(work, 'test'),
                       osp.join(work, 'test.log'))
    test_s = time.perf_counter() - started
    extra_metrics = {}
    for test_name, test_args in extra_tests.items():
        log(f'{name}: testing ({test_name}), log {work}/test_{test_name}.log')
        extra_metrics[test_name] = run_test(
            cfg_path, ckpt, osp.join(work, f'test_{test_name}'),
            osp.join(work, f'test_{test_name}.log'), test_args)
    result = dict(
        metrics=metrics,
        extra_metrics=extra_metrics,
        train_s=train_s,
        test_s=test_s,
        checkpoint=ckpt)
    with open(result_path, 'w') as f:
        json.dump(
            dict(
                stamp=stamp,
                checkpoint_mtime=osp.getmtime(ckpt),
                result=result),
            f,
            indent=2)
    return result


def apply_budget(cfg, args, data_root: str) -> None:
    """The data, test and schedule settings of one training-suite run.

    The data root and ``--workers`` of both loaders, ``--train-batch``,
    ``--max-test-images``, ``SmokeMetric`` at ``--threshold`` (without
    reliability bins) and :func:`apply_schedule` (``--iters``,
    ``--save-interval``).
    """
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data_root
        loader.num_workers = args.workers
        loader.persistent_workers = args.workers > 0
    cfg.train_dataloader.batch_size = args.train_batch
    if args.max_test_images:
        cfg.test_dataloader.dataset['indices'] = args.max_test_images
    cfg.test_evaluator = dict(
        type='SmokeMetric',
        threshold=args.threshold,
        return_reliability_bins=False)
    apply_schedule(cfg, args.iters, args.save_interval)
