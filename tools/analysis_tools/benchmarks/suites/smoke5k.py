"""The ``smoke5k`` suite: the light models at one budget on real images.

Trains each model from scratch with the same budget (iterations, batch,
crop, optimiser, schedule) on the real SMOKE5K training images with
``tools/train.py`` and evaluates it with ``tools/test.py`` on the SMOKE5K
test images (long; not part of ``all``). The data settings are those of
``configs/_base_/datasets/smoke5k.py`` with every image squashed to the
crop (:func:`benchmarks.datasets.squash_recipe`). Trans-BVM checkpoints
are tested a second time with the sigma(s / U_p) output
(``model.test_cfg.calibrate=True``).

Models: the light FoSp, the light Trans-BVM (also without L_c or without
L_trans), SegFormer-B0 and DeepLabV3+ (R18-D8 by default, to fit a CPU
budget). Goals: light FoSp above SegFormer-B0 (F-beta max) and Trans-BVM
ECE with L_c at most half the ECE without it.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

from mmsmoke.apis import offline_config
from ..core import REPO, make_row, repo_path, selected
from ..datasets import default_data_root, smoke5k_root, squash_recipe
from ..measure import MODELS as TIMING_MODELS
from ..tables import fmt, row_table
from ..training import apply_budget, train_and_test

NAME = 'smoke5k'
IN_ALL = False
TITLE = 'SMOKE5K at an equal training budget'
TEXT = ('Each model trained from scratch with the same budget (iterations, '
        'batch, crop, optimiser, schedule and pipeline in the settings) on '
        'the real SMOKE5K training images and evaluated with SmokeMetric on '
        'the real SMOKE5K test images (F-beta with beta^2 = 0.3 max and '
        'adaptive, MAE, pooled F1/IoU and per-image mF1/mIoU at the '
        'threshold, positive-class and top-label dense ECE). The models '
        'train one after the other, so this suite has no interleaving. '
        'DeepLabV3+ uses ResNet-18 (MMSeg\'s R18-D8 variant) by default to '
        'fit a CPU budget (`--deeplab-depth 50` for R50-D8); the light '
        'Trans-BVM draws B = 5 MC samples per step as in its config. '
        'Goals: light FoSp above SegFormer-B0 (F-beta max, ratio = FoSp / '
        'SegFormer) and Trans-BVM ECE with L_c (the uncertainty-calibrated '
        'entropy loss, Eq. 10) at most 0.5x the ECE without it.')
#: Models of the suite: key -> (label, config, variant).
MODELS = {
    'fosp_mit-b0': ('FoSp MiT-B0', TIMING_MODELS['fosp_mit-b0'][1], None),
    'transbvm_mit-b0':
    ('Trans-BVM MiT-B0', TIMING_MODELS['transbvm_mit-b0'][1], None),
    'transbvm_mit-b0_no-lc': ('Trans-BVM MiT-B0 without L_c',
                              TIMING_MODELS['transbvm_mit-b0'][1], 'no_lc'),
    'transbvm_mit-b0_no-trans':
    ('Trans-BVM MiT-B0 without L_trans', TIMING_MODELS['transbvm_mit-b0'][1],
     'no_trans'),
    'segformer_mit-b0':
    ('SegFormer MiT-B0', TIMING_MODELS['segformer_mit-b0'][1], None),
    'deeplabv3plus':
    ('DeepLabV3+', TIMING_MODELS['deeplabv3plus_r50'][1], 'depth'),
}
DEFAULT_MODELS = ('fosp_mit-b0', 'transbvm_mit-b0', 'transbvm_mit-b0_no-lc',
                  'segformer_mit-b0', 'deeplabv3plus')
METRICS = ('Fbeta_max', 'Fbeta_adp', 'MAE', 'F1', 'IoU', 'mF1_img', 'mIoU_img',
           'ECE', 'ECE_toplabel')
#: Lower is better for these metrics.
LOWER_IS_BETTER = ('MAE', 'ECE', 'ECE_toplabel')
#: The baseline of each run's rows.
BASELINES = {
    'fosp_mit-b0': 'segformer_mit-b0',
    'transbvm_mit-b0': 'transbvm_mit-b0_no-lc',
    # the paper's Fig. 6: after calibration (L_c and U_p-scaled output)
    # against before (no L_c, plain output)
    'transbvm_mit-b0+calibrated': 'transbvm_mit-b0_no-lc',
    'transbvm_mit-b0_no-lc+calibrated': 'transbvm_mit-b0_no-lc',
}
#: Goals: run -> metric -> goal.
GOALS = {
    'fosp_mit-b0': {
        'Fbeta_max': 'ratio > 1'
    },
    'transbvm_mit-b0': {
        'ECE': 'ratio <= 0.5',
        'Fbeta_max': 'ratio >= 1'
    },
    'transbvm_mit-b0+calibrated': {
        'ECE': 'ratio <= 0.5',
        'Fbeta_max': 'ratio >= 1'
    },
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('smoke5k')
    group.add_argument(
        '--data-root',
        default=default_data_root(),
        help='folder holding SMOKE5K/{train,test}/{img,gt}')
    group.add_argument('--iters', type=int, default=300)
    group.add_argument('--train-batch', type=int, default=4)
    group.add_argument('--crop', type=int, default=256)
    group.add_argument('--lr', type=float, default=1e-3)
    group.add_argument('--workers', type=int, default=1)
    group.add_argument(
        '--max-test-images',
        type=int,
        default=None,
        help='evaluate on the first N test images only (default all 400)')
    group.add_argument('--threshold', type=float, default=0.5)
    group.add_argument(
        '--deeplab-depth', type=int, choices=(18, 50), default=18)
    group.add_argument(
        '--smoke5k-models',
        nargs='+',
        choices=tuple(MODELS),
        default=list(DEFAULT_MODELS))
    group.add_argument(
        '--smoke5k-work-dir', default='work_dirs/benchmark_smoke5k')
    group.add_argument(
        '--save-interval',
        type=int,
        default=None,
        help='also checkpoint every N iterations (the newest is kept), so '
        'that a long run can be continued with --resume')
    group.add_argument(
        '--resume',
        action='store_true',
        help='continue an interrupted training from its last checkpoint')
    group.add_argument(
        '--skip-existing',
        action='store_true',
        help='re-use a final checkpoint already in the work dir')
    group.add_argument(
        '--retest',
        action='store_true',
        help='with --skip-existing: test re-used checkpoints again even '
        'when their metrics are stored (to add metrics reported since), '
        'keeping their training time')


def check_arguments(args: argparse.Namespace, error) -> None:
    for name in ('iters', 'train_batch', 'crop'):
        if getattr(args, name) < 1:
            error(f'--{name.replace("_", "-")} must be >= 1')
    if args.save_interval is not None and args.save_interval < 1:
        error('--save-interval must be >= 1')


def budget(args: argparse.Namespace) -> dict:
    """The training budget shared by every smoke5k model."""
    return dict(
        iters=args.iters,
        batch=args.train_batch,
        crop=f'{args.crop}x{args.crop}',
        init='from scratch',
        optimizer=f'AdamW lr {args.lr:g}, wd 0.01',
        schedule='linear warm-up, poly',
        test_images=args.max_test_images or 'all',
        threshold=args.threshold,
        deeplab=f'R{args.deeplab_depth}-D8')


settings = budget


def _apply_variant(cfg, variant: Optional[str], args: argparse.Namespace,
                   config: str) -> None:
    if variant == 'depth' and args.deeplab_depth == 18:
        # MMSeg's R18 variant of DeepLabV3+ (narrower heads).
        cfg.model.backbone.depth = 18
        cfg.model.decode_head.update(
            in_channels=512, c1_in_channels=64, c1_channels=12, channels=128)
        cfg.model.auxiliary_head.update(in_channels=256, channels=64)
    elif variant in ('no_lc', 'no_trans'):
        drop = ('UncertaintyCalibratedEntropyLoss'
                if variant == 'no_lc' else 'TransmissionCoherenceLoss')
        losses = [l for l in cfg.model.pixel_losses if l['type'] != drop]
        if len(losses) == len(cfg.model.pixel_losses):
            raise ValueError(f'{config}: has no {drop} to remove')
        cfg.model.pixel_losses = losses


def build_config(key: str, args: argparse.Namespace, data_root: str,
                 work_dir: str):
    """The training/test config of one smoke5k model.

    The model's config, with the data of
    :func:`benchmarks.datasets.squash_recipe` at ``--crop`` (also its
    ``tta_pipeline``, for ``tools/test.py <work dir>/benchmark_config.py
    CKPT --tta``), the budget and AdamW.

    Args:
        key (str): A key of :data:`MODELS`.
        args (argparse.Namespace): The budget (``iters``, ``crop``,
            ``train_batch``, ``lr``, ``workers``, ``max_test_images``,
            ``threshold``, ``deeplab_depth``, ``save_interval``, ``seed``).
        data_root (str): The SMOKE5K folder ({train,test}/{img,gt}).
        work_dir (str): The model's work directory.

    Returns:
        Config: The config.
    """
    _, config, variant = MODELS[key]
    cfg = offline_config(repo_path(config))
    crop = (args.crop, args.crop)
    cfg.model.data_preprocessor.size = crop
    _apply_variant(cfg, variant, args, config)
    recipe = squash_recipe(crop)
    cfg.tta_pipeline = recipe.tta_pipeline
    cfg.train_dataloader = recipe.train_dataloader
    cfg.test_dataloader = recipe.test_dataloader
    apply_budget(cfg, args, data_root)
    paramwise = cfg.optim_wrapper.get('paramwise_cfg', None)
    cfg.optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(
            type='AdamW', lr=args.lr, betas=(0.9, 0.999), weight_decay=0.01))
    if paramwise:
        cfg.optim_wrapper['paramwise_cfg'] = paramwise
    cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = work_dir
    return cfg


def train_and_test_model(key: str, args: argparse.Namespace, data_root: str,
                         budget: dict) -> dict:
    """Train (``tools/train.py``) and test (``tools/test.py``) one model.

    Trans-BVM checkpoints are tested a second time with the sigma(s / U_p)
    output (``model.test_cfg.calibrate=True``). See
    :func:`benchmarks.training.train_and_test` for re-use and
    ``--resume``.

    Args:
        key (str): A key of :data:`MODELS`.
        args (argparse.Namespace): Command-line arguments.
        data_root (str): The SMOKE5K folder.
        budget (dict): :func:`budget`.

    Returns:
        dict: ``label``, ``metrics``, ``metrics_calibrated`` (None but for
        Trans-BVM), ``train_s`` (None when re-used) and ``checkpoint``.
    """
    label = MODELS[key][0]
    if MODELS[key][2] == 'depth':
        label = f'{label} R{args.deeplab_depth}-D8'
    work = osp.abspath(osp.join(args.smoke5k_work_dir, key))
    cfg = build_config(key, args, data_root, work)
    extra = {}
    if cfg.model.type == 'BVMEncoderDecoder':
        extra['calibrated'] = [
            '--cfg-options', 'model.test_cfg.calibrate=True'
        ]
    result = train_and_test(
        cfg,
        work,
        args.iters,
        dict(budget, data_root=data_root, seed=args.seed),
        resume=args.resume,
        skip_existing=args.skip_existing,
        retest=getattr(args, 'retest', False),
        extra_tests=extra,
        name=f'smoke5k: {key}')
    return dict(
        result,
        label=label,
        metrics_calibrated=result['extra_metrics'].get('calibrated'))


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Train each model with one budget, evaluate on SMOKE5K test."""
    data_root = smoke5k_root(args.data_root)
    shared = budget(args)
    results: Dict[str, dict] = {}
    for key in selected(args.smoke5k_models, args.match):
        results[key] = train_and_test_model(key, args, data_root, shared)
    for key in list(results):
        if results[key].get('metrics_calibrated'):
            # the same checkpoint, tested with sigma(s / U_p) (Eq. 10) output
            results[f'{key}+calibrated'] = dict(
                results[key],
                label=f'{results[key]["label"]}, sigma(s/U_p) output',
                metrics=results[key]['metrics_calibrated'],
                train_s=None)

    def metric(key: str, name: str) -> Optional[float]:
        if key not in results:
            return None
        value = results[key]['metrics'].get(name)
        return float(value) if isinstance(value, (int, float)) else None

    rows = []
    for key, res in results.items():
        base_key = BASELINES.get(key)
        for name in METRICS:
            value = metric(key, name)
            if value is None and name not in res['metrics']:
                continue
            baseline = metric(base_key, name) if base_key else None
            goal = GOALS.get(key, {}).get(name)
            ratio = (
                value / baseline if value is not None and baseline else None)
            rows.append(
                make_row(
                    NAME,
                    res['label'],
                    name,
                    value,
                    '',
                    ctx,
                    baseline=baseline,
                    baseline_name=(results[base_key]['label']
                                   if baseline is not None else None),
                    ratio=ratio,
                    ratio_def='value / baseline'
                    if ratio is not None else None,
                    goal=goal,
                    note=('baseline missing: train '
                          f'{base_key} in the same run'
                          if goal and baseline is None else None),
                    settings=dict(shared),
                    details=dict(
                        train_s=res['train_s'],
                        checkpoint=osp.relpath(res['checkpoint'], REPO)
                        if res['checkpoint'].startswith(REPO) else
                        res['checkpoint'])))
    return rows


def render(rows: List[dict]) -> List[str]:
    """Every value in a model x metric table, then the goal rows."""
    return metric_table(rows) + row_table([r for r in rows if r.get('goal')],
                                          show_settings=False)


def metric_table(rows: List[dict]) -> List[str]:
    """Markdown table: one line per model, the metrics as columns."""
    names = []
    values: Dict[tuple, Optional[float]] = {}
    for r in rows:
        if r['name'] not in names:
            names.append(r['name'])
        values[(r['name'], r['metric'])] = r.get('value')
    metrics = [m for m in METRICS if any((n, m) in values for n in names)]
    if not metrics:
        return []
    arrows = {
        m: ' (lower better)' if m in LOWER_IS_BETTER else ''
        for m in metrics
    }
    out = [
        '| model | ' + ' | '.join(m + arrows[m] for m in metrics) + ' |',
        '|---|' + '---|' * len(metrics)
    ]
    for n in names:
        out.append(f'| {n} | ' +
                   ' | '.join(fmt(values.get((n, m))) for m in metrics) + ' |')
    return out + ['']
