"""Training suites: the schedule, and training and testing in subprocesses.

The ``smoke5k`` and ``early_smoke`` suites train a config with
``tools/train.py`` and test it with ``tools/test.py``, as a user would.
"""
import datetime
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

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
        type='AtomicCheckpointHook',
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


#: An mmengine training log line: its time stamp (``12/07 09:31:30`` on the
#: console, ``2026/12/07 09:31:30`` in the log file of the run's folder; the
#: year is dropped), iteration and the ``time`` (seconds per iteration,
#: averaged over the last few).
_TRAIN_LINE = re.compile(r'^(?:\d{4}/)?(\d\d/\d\d \d\d:\d\d:\d\d) - mmengine - '
                         r'INFO - '
                         r'Iter\(train\) \[\s*(\d+)/\d+\].*?\btime: ([\d.]+)')


def logged_train_seconds(work: str) -> Optional[float]:
    """Training time of a run from its mmengine logs, across resumptions.

    For a run trained in several parts (``--resume`` after an interruption)
    no single wall-clock covers it. Every ``train*.log`` in ``work`` is
    read; between two logged iterations of one log the time is the
    difference of their time stamps, and before the first logged iteration
    of a log it is the logged ``time`` per iteration times the iterations
    since the previous logged one. An iteration logged again after a
    resumption counts once, with its last log, so work lost to an
    interruption is not counted.

    Args:
        work (str): The work directory.

    Returns:
        float or None: Seconds, or None when no log has a training line.
    """
    # logged iteration -> (iterations it covers, seconds)
    spans: Dict[int, Tuple[int, float]] = {}
    for path in sorted(
            glob.glob(osp.join(work, 'train*.log')), key=osp.getmtime):
        previous = None
        with open(path, errors='replace') as f:
            for line in f:
                match = _TRAIN_LINE.match(line)
                if match is None:
                    continue
                stamp = datetime.datetime.strptime(
                    match.group(1), '%m/%d %H:%M:%S')
                it, per_iter = int(match.group(2)), float(match.group(3))
                if previous is not None and it > previous[0]:
                    delta = (stamp - previous[1]).total_seconds()
                    if delta < 0:  # the log ran over a new year
                        delta += 365 * 86400
                    spans[it] = (it - previous[0], delta)
                else:
                    done = max([i for i in spans if i < it], default=0)
                    spans[it] = (it - done, per_iter * (it - done))
                previous = (it, stamp)
    if not spans:
        return None
    total, done = 0.0, 0
    for it in sorted(spans):
        steps, seconds = spans[it]
        # a span longer than the gap to the last counted iteration (after
        # a resumption) counts in proportion
        total += seconds * min(1.0, (it - done) / steps)
        done = it
    return total


def train_and_test(cfg,
                   work: str,
                   iters: int,
                   stamp: dict,
                   resume: bool = False,
                   skip_existing: bool = False,
                   retest: bool = False,
                   extra_tests: Optional[Dict[str, List[str]]] = None,
                   name: str = '') -> dict:
    """Train a config with ``tools/train.py``, test it with ``tools/test.py``.

    The metrics are kept in ``<work>/benchmark_result.json`` with
    ``stamp``; with ``skip_existing`` a final checkpoint is re-used, and so
    are its metrics when the stamp and the checkpoint are unchanged (unless
    ``retest``).

    ``train_s`` is the wall-clock of ``tools/train.py`` when the run trained
    in one go; for a run resumed after an interruption, or a re-used
    checkpoint whose time was not kept, it is :func:`logged_train_seconds`
    (``train_s_source`` says which).

    Args:
        cfg (Config): The complete config; ``cfg.work_dir`` is ``work``.
        work (str): The work directory.
        iters (int): The training length (names the final checkpoint).
        stamp (dict): What makes two runs the same (budget, data, seed).
        resume (bool): Continue from ``<work>/last_checkpoint`` if present.
        skip_existing (bool): Re-use a final checkpoint.
        retest (bool): With ``skip_existing``, test a re-used checkpoint
            again even when its metrics are stored (e.g. to add metrics
            reported since); its stored training time is kept.
        extra_tests (dict[str, list[str]], optional): Further tests of the
            same checkpoint: name -> extra ``tools/test.py`` arguments.
        name (str): Name for the progress lines.

    Returns:
        dict: ``metrics``, ``extra_metrics`` (name -> metrics),
        ``train_s``, ``train_s_source``, ``test_s`` and ``checkpoint``.
    """
    extra_tests = dict(extra_tests or {})
    os.makedirs(work, exist_ok=True)
    cfg_path = osp.join(work, 'benchmark_config.py')
    ckpt = osp.join(work, f'iter_{iters}.pth')
    result_path = osp.join(work, 'benchmark_result.json')
    reuse = skip_existing and osp.isfile(ckpt)
    train_s, train_s_source = None, None
    if reuse and osp.isfile(result_path):
        with open(result_path) as f:
            cached = json.load(f)
        same_ckpt = cached.get('checkpoint_mtime') == osp.getmtime(ckpt)
        if not retest and same_ckpt and cached.get('stamp') == stamp and set(
                cached['result'].get('extra_metrics', {})) == set(extra_tests):
            log(f'{name}: re-using {result_path}')
            return cached['result']
        if same_ckpt:
            train_s = cached['result'].get('train_s')
            train_s_source = cached['result'].get('train_s_source',
                                                  'wall-clock')
    cfg.dump(cfg_path)
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
        elapsed = run_logged(cmd, osp.join(work, log_name))
        if not resumed:  # a resumed run's wall-clock covers its last part
            train_s, train_s_source = elapsed, 'wall-clock'
    if train_s is None:
        train_s = logged_train_seconds(work)
        train_s_source = None if train_s is None else 'logged iterations'
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
    result = dict(metrics=metrics, extra_metrics=extra_metrics)
    result.update(train_s=train_s, train_s_source=train_s_source)
    result.update(test_s=test_s, checkpoint=ckpt)
    with open(result_path, 'w') as f:
        json.dump(
            dict(
                stamp=stamp,
                checkpoint_mtime=osp.getmtime(ckpt),
                result=result),
            f,
            indent=2)
    return result


def apply_data(cfg, args, data_root: str) -> None:
    """The data and test settings of one training-suite run.

    The data root and ``--workers`` of both loaders, ``--train-batch``,
    ``--max-test-images`` and ``SmokeMetric`` at ``--threshold`` (without
    reliability bins).
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


def apply_budget(cfg, args, data_root: str) -> None:
    """:func:`apply_data`, then :func:`apply_schedule` (``--iters``,
    ``--save-interval``)."""
    apply_data(cfg, args, data_root)
    apply_schedule(cfg, args.iters, args.save_interval)
