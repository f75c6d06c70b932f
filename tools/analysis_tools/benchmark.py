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
* ``gpu``: training images/s, ms/step and peak memory per precision and
  memory format, and inference images/s eager / CUDA graph / compiled
  (``benchmark_gpu.py``; ``--gpu-*`` options; meant for a GPU, not part
  of ``all``).
* ``all``: every suite but ``smoke5k`` and ``gpu``; ``quick``:
  ``transmission`` and ``params_flops``.

The two things a row compares run in the same process, alternating run by
run after warm-up rounds, and the row keeps the medians, so that a load
change on a shared machine affects both alike.

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
import gc
import glob
import json
import logging
import math
import os
import os.path as osp
import platform
import re
import shlex
import sys
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

# The sibling tools hold the shared measurement code.
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark_early_smoke as early_bench  # noqa: E402
import benchmark_gpu as gpu_bench  # noqa: E402
import benchmark_transmission_loss as loss_bench  # noqa: E402
import fosp_complexity as complexity  # noqa: E402
from benchmark_core import check_goal, make_row  # noqa: E402,F401
from benchmark_core import apply_schedule, train_and_test  # noqa: E402

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = 'tools/analysis_tools/benchmark.py'
FORMAT = 'mmsmoke-benchmarks/1'
SUITES = ('train_step', 'transmission', 'uncertainty', 'inference',
          'params_flops', 'smoke5k', 'early_smoke', 'gpu')
ALIASES = {
    'all':
    tuple(s for s in SUITES if s not in ('smoke5k', 'early_smoke', 'gpu')),
    'quick': ('transmission', 'params_flops'),
}
ROW_KEYS = ('suite', 'name', 'metric', 'value', 'baseline', 'ratio', 'unit',
            'device', 'command', 'goal', 'goal_met')

#: Models of the timing suites: key -> (label, config).
MODELS = {
    'fosp_r50': ('FoSp R50',
                 'configs/fosp/fosp_r50_4xb2-40k_smoke5k-512x512.py'),
    'transbvm_r50':
    ('Trans-BVM R50',
     'configs/transbvm/transbvm_r50_1xb6-50e_smoke5k-480x480.py'),
    'fosp_mit-b0': ('FoSp MiT-B0 (light)',
                    'configs/fosp/fosp_mit-b0_1xb4-800_synthetic-256x256.py'),
    'transbvm_mit-b0':
    ('Trans-BVM MiT-B0 (light)',
     'configs/transbvm/transbvm_mit-b0_1xb4-2k_synthetic-256x256.py'),
    'deeplabv3plus_r50':
    ('DeepLabV3+ R50-D8',
     'configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py'),
    'segformer_mit-b0':
    ('SegFormer MiT-B0',
     'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py'),
}
#: (model, baseline, goal on the step-time ratio) of train_step/inference.
PAIRS = (
    ('fosp_r50', 'deeplabv3plus_r50', 'ratio <= 1.3'),
    ('transbvm_r50', 'deeplabv3plus_r50', 'ratio <= 1.5'),
    ('fosp_mit-b0', 'segformer_mit-b0', None),
    ('transbvm_mit-b0', 'segformer_mit-b0', None),
)
#: Models of the smoke5k suite: key -> (label, config, variant).
SMOKE5K_MODELS = {
    'fosp_mit-b0': ('FoSp MiT-B0', MODELS['fosp_mit-b0'][1], None),
    'transbvm_mit-b0':
    ('Trans-BVM MiT-B0', MODELS['transbvm_mit-b0'][1], None),
    'transbvm_mit-b0_no-lc':
    ('Trans-BVM MiT-B0 without L_c', MODELS['transbvm_mit-b0'][1], 'no_lc'),
    'transbvm_mit-b0_no-trans': ('Trans-BVM MiT-B0 without L_trans',
                                 MODELS['transbvm_mit-b0'][1], 'no_trans'),
    'segformer_mit-b0':
    ('SegFormer MiT-B0', MODELS['segformer_mit-b0'][1], None),
    'deeplabv3plus': ('DeepLabV3+', MODELS['deeplabv3plus_r50'][1], 'depth'),
}
SMOKE5K_DEFAULT = ('fosp_mit-b0', 'transbvm_mit-b0', 'transbvm_mit-b0_no-lc',
                   'segformer_mit-b0', 'deeplabv3plus')
SMOKE5K_METRICS = ('Fbeta_max', 'Fbeta_adp', 'MAE', 'F1', 'IoU', 'mF1_img',
                   'mIoU_img', 'ECE', 'ECE_toplabel')
#: Lower is better for these metrics.
LOWER_IS_BETTER = ('MAE', 'ECE', 'ECE_toplabel')



# ----------------------------------------------------------------------------
# rows, goals, merging and rendering
# ----------------------------------------------------------------------------
def empty_document() -> dict:
    return dict(format=FORMAT, updated=None, suites={}, rows=[])


def load_document(path: str) -> dict:
    """Read an existing ``benchmarks.json`` (an empty one if absent)."""
    if not osp.exists(path):
        return empty_document()
    try:
        with open(path) as f:
            doc = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: not valid JSON ({err}); move it away to '
                         'start a new file') from err
    if not isinstance(doc, dict) or doc.get('format') != FORMAT \
            or not isinstance(doc.get('rows'), list):
        raise ValueError(f'{path}: not a {FORMAT} file; move it away to '
                         'start a new file')
    doc.setdefault('suites', {})
    return doc


def merge_document(doc: dict, suite_headers: Dict[str, dict],
                   rows: List[dict]) -> dict:
    """Replace the rows of the suites that ran, keep the others.

    Args:
        doc (dict): The existing document.
        suite_headers (dict[str, dict]): Header (date, machine, command,
            settings) of each suite that ran.
        rows (list[dict]): All rows of those suites.

    Returns:
        dict: The new document, rows ordered by suite.
    """
    ran = set(suite_headers)
    kept = [r for r in doc.get('rows', []) if r.get('suite') not in ran]
    merged = kept + list(rows)
    order = {s: i for i, s in enumerate(SUITES)}
    merged.sort(key=lambda r: order.get(r.get('suite'), len(order)))
    suites = {k: v for k, v in doc.get('suites', {}).items() if k not in ran}
    suites.update(suite_headers)
    updated = max((h.get('date', '') for h in suites.values()), default=None)
    return dict(format=FORMAT, updated=updated, suites=suites, rows=merged)


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return '-'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f'{value:.3e}'
        return f'{value:.{digits}g}'
    return str(value)


def _status(row: dict) -> str:
    if not row.get('goal'):
        return ''
    met = row.get('goal_met')
    if met is True:
        return 'met'
    if met is False:
        return f'**MISSED** (goal: {row["goal"]})'
    return 'not assessed'


SUITE_TEXT = {
    'train_step':
    ('Training step time',
     'Seconds per full training step: `model.train_step` on one fixed '
     'synthetic batch (data pre-processing, forward, backward and the '
     "optimiser step of the model's own config), `model.train()`, "
     'models built from the configs with pretrained weights off and '
     'SyncBN replaced by BN. The two models of a row alternate step by '
     'step after warm-up steps; value and baseline are medians, ratio = '
     'value / baseline (lower is better). Trans-BVM runs its B Monte '
     'Carlo head samples per step (B in the settings). Goals: FoSp R50 '
     '<= 1.3x DeepLabV3+ R50 and Trans-BVM R50 <= 1.5x DeepLabV3+ R50; '
     'the light rows have no goal.'),
    'transmission':
    ('Transmission coherence loss and DCP transmission',
     'The transmission coherence loss (forward + backward) against the '
     'straightforward `F.unfold` implementation on the same inputs, '
     'alternating run by run: ratio = unfold / this loss, for the time '
     '(medians) and for the peak extra memory (tensor storages alive '
     'during one forward + backward on the CPU, '
     '`torch.cuda.max_memory_allocated` on a GPU). The two are checked '
     'to agree before timing (maximum absolute difference of the loss '
     'value and of the gradient in the row). Goal: at least 10x faster '
     'with at most 1/10 of the memory. The DCP row is the time of the '
     "dark-channel-prior transmission of a batch against the model's "
     'whole training step on the same batch (ratio = its share of the '
     'step).'),
    'uncertainty':
    ('Sampling-free uncertainty against Monte Carlo sampling',
     'Trans-BVM inference of one image with the sampling-free '
     'uncertainty (one pass + the uncertainty network g_gamma) against '
     'MC sampling with B samples, alternating run by run (medians); '
     'ratio = MC / sampling-free (higher is better). "MC, full network" '
     "re-runs the whole network per sample as the authors' test "
     'scripts do; "MC, features reused" is this package\'s own MC mode, '
     'which runs the backbone once and only the head B times, so its '
     'ratio is bounded by (backbone + B head) / (backbone + head + '
     'g_gamma) whatever g_gamma costs. Spearman rho correlates the '
     'sampling-free total-uncertainty map with the MC one pixel by '
     'pixel, per image (mean over images). It is meaningful only for a '
     'trained model: the row says whether the weights came from a '
     'checkpoint. Goal: at least 8x faster with rho >= 0.7.'),
    'inference':
    ('Inference speed',
     'Images per second of `model.predict` on one image (batch 1, no '
     'gradient), each model alternating run by run with its baseline '
     '(DeepLabV3+ R50 for the R50 models, SegFormer-B0 for the light '
     'ones); value and baseline are 1 / median latency, ratio = value / '
     'baseline (higher is faster). Trans-BVM includes its sampling-free '
     'uncertainty maps, FoSp its focus and separation maps.'),
    'params_flops':
    ('Parameters and FLOPs',
     'Parameters (millions) and FLOPs (G multiply-adds of one '
     '`mode="tensor"` pass of one image, counted by mmengine\'s '
     '`FlopAnalyzer`; element-wise operators and interpolation are not '
     'counted) of every model config in `configs/`.'),
    'smoke5k':
    ('SMOKE5K at an equal training budget',
     'Each model trained from scratch with the same budget (iterations, '
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
     'entropy loss, Eq. 10) at most 0.5x the ECE without it.'),
    'early_smoke': (early_bench.TITLE, early_bench.TEXT),
    'gpu': (gpu_bench.TITLE, gpu_bench.TEXT),
}


def render_markdown(doc: dict) -> str:
    """The Markdown page of a benchmarks document."""
    lines = [
        '# Benchmarks', '',
        f'Generated by `{TOOL}` from `benchmarks.json` (do not edit by '
        'hand; re-run the suite or `--render-only`). Last update: '
        f'{doc.get("updated") or "-"}.', ''
    ]
    rows = doc.get('rows', [])
    goals = [r for r in rows if r.get('goal')]
    if goals:
        met = sum(r.get('goal_met') is True for r in goals)
        missed = [r for r in goals if r.get('goal_met') is False]
        lines.append(f'Goals: {met} met, {len(missed)} missed, '
                     f'{len(goals) - met - len(missed)} not assessed.')
        for r in missed:
            lines.append(f'- MISSED: {r["suite"]} / {r["name"]} / '
                         f'{r["metric"]}: {r["goal"]} (value '
                         f'{_fmt(r["value"])}, ratio {_fmt(r["ratio"])})')
        lines.append('')
    for suite in SUITES:
        suite_rows = [r for r in rows if r.get('suite') == suite]
        header = doc.get('suites', {}).get(suite)
        if not suite_rows and header is None:
            continue
        title, text = SUITE_TEXT[suite]
        lines += [f'## {title} (`{suite}`)', '', text, '']
        if header:
            machine = header.get('machine', {})
            lines.append(f'Measured {header.get("date", "-")} on '
                         f'{machine.get("device", "-")}, torch '
                         f'{machine.get("torch", "-")}, in '
                         f'{_fmt(header.get("duration_s"))} s, with '
                         f'`{header.get("command", "-")}`.')
            settings = header.get('settings')
            if settings:
                lines.append('Settings: ' +
                             '; '.join(f'{k} = {_fmt(v)}'
                                       for k, v in settings.items()) + '.')
            lines.append('')
        if suite == 'early_smoke':
            lines += early_bench.render_table(suite_rows)
            lines += _row_table([
                r for r in suite_rows
                if r.get('goal') or r['metric'] not in early_bench.METRICS
            ],
                                show_settings=False)
        elif suite == 'smoke5k':
            # Every value is in the model x metric table; the row table
            # keeps the goal rows (settings are the header's budget).
            lines += _smoke5k_table(suite_rows)
            lines += _row_table([r for r in suite_rows if r.get('goal')],
                                show_settings=False)
        else:
            lines += _row_table(suite_rows)
    return '\n'.join(lines).rstrip() + '\n'


def _row_table(rows: List[dict], show_settings: bool = True) -> List[str]:
    if not rows:
        return ['(no rows)', '']
    columns = ['name', 'metric', 'value', 'baseline', 'ratio', 'unit']
    if show_settings:
        columns.append('settings')
    columns += ['goal', 'status']
    out = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    notes = []
    for r in rows:
        settings = '; '.join(f'{k} {_fmt(v)}'
                             for k, v in r.get('settings', {}).items())
        base = _fmt(r.get('baseline'))
        if r.get('baseline_name') and r.get('baseline') is not None:
            base = f'{base} ({r["baseline_name"]})'
        ratio = _fmt(r.get('ratio'), 3)
        if r.get('ratio') is not None:
            ratio += 'x'
        name = r['name']
        if r.get('note'):
            notes.append(f'{len(notes) + 1}. {r["name"]}, {r["metric"]}: '
                         f'{r["note"]}')
            name += f' [{len(notes)}]'
        cells = [
            name, r['metric'],
            _fmt(r.get('value')), base, ratio,
            r.get('unit', '')
        ]
        if show_settings:
            cells.append(settings)
        cells += [r.get('goal') or '', _status(r)]
        out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')
    if notes:
        out += ['Notes:', ''] + notes + ['']
    return out


def _smoke5k_table(rows: List[dict]) -> List[str]:
    names = []
    values: Dict[Tuple[str, str], Optional[float]] = {}
    for r in rows:
        if r['name'] not in names:
            names.append(r['name'])
        values[(r['name'], r['metric'])] = r.get('value')
    metrics = [
        m for m in SMOKE5K_METRICS if any((n, m) in values for n in names)
    ]
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
                   ' | '.join(_fmt(values.get((n, m)))
                              for m in metrics) + ' |')
    return out + ['']


# ----------------------------------------------------------------------------
# shared measurement helpers
# ----------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` or ``platform``)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def machine_info(device: torch.device) -> dict:
    """Date-independent description of the machine the rows come from."""
    import mmseg
    info = dict(
        cpu=cpu_model(),
        cpu_cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        mmseg=mmseg.__version__,
        python=platform.python_version())
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
        info['device'] = f'{info["gpu"]} (CUDA)'
    else:
        info['device'] = (f'CPU {info["cpu"]} ({info["cpu_cores"]} cores, '
                          f'{info["torch_threads"]} torch threads)')
    return info


def repo_path(path: str) -> str:
    """A path relative to the repository, made absolute."""
    return path if osp.isabs(path) else osp.join(REPO, path)


def build_model(config: str,
                device: torch.device,
                size: Optional[int] = None,
                checkpoint: Optional[str] = None) -> torch.nn.Module:
    """A config's segmentor, offline, optionally with a checkpoint.

    Args:
        config (str): Config path (relative to the repository or absolute).
        device (torch.device): Device.
        size (int, optional): Pad size of the data pre-processor (the
            configs pad training batches to their crop size).
        checkpoint (str, optional): Weights to load (strictly).

    Returns:
        torch.nn.Module: The model in eval mode.
    """
    cfg = complexity.load_offline_config(repo_path(config))
    if size is not None and 'data_preprocessor' in cfg.model:
        cfg.model.data_preprocessor.size = (size, size)
    model = complexity.build_model(cfg, device)
    if checkpoint is not None:
        from mmengine.runner import load_checkpoint
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'{checkpoint}: checkpoint not found')
        try:
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
        except RuntimeError as err:
            raise RuntimeError(f'{checkpoint} does not fit {config}: '
                               f'{err}') from err
        model.to(device).eval()
    return model


def config_crop(config: str) -> Optional[int]:
    """The ``crop_size`` side a config declares, if any."""
    from mmengine.config import Config
    crop = Config.fromfile(repo_path(config)).get('crop_size')
    return int(crop[0]) if crop else None


def synthetic_samples(num: int,
                      size: int,
                      seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``num`` synthetic smoke images (BGR uint8) and masks ({0, 1})."""
    from mmsmoke.datasets.synthetic import SyntheticSmokeGenerator
    gen = SyntheticSmokeGenerator(img_size=(size, size), seed=seed)
    out = []
    index = 0
    while len(out) < num:
        sample = gen.sample(index)
        index += 1
        if num > 1 and not sample['mask'].any() and index < 10 * num:
            continue  # smoke in every image of a batch
        out.append((np.ascontiguousarray(sample['img'][..., ::-1]),
                    sample['mask'].astype(np.int64)))
    return out


def train_batch(samples: Sequence[Tuple[np.ndarray, np.ndarray]]) -> dict:
    """A ``train_step`` data batch from (image, mask) pairs."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    inputs, data_samples = [], []
    for img, mask in samples:
        h, w = mask.shape
        inputs.append(torch.from_numpy(img.transpose(2, 0, 1).copy()))
        sample = SegDataSample(
            gt_sem_seg=PixelData(data=torch.from_numpy(mask)[None]))
        sample.set_metainfo(
            dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        data_samples.append(sample)
    return dict(inputs=inputs, data_samples=data_samples)


def normalised_input(model: torch.nn.Module, img: np.ndarray) -> torch.Tensor:
    """One BGR image through the model's data pre-processor (test mode)."""
    tensor = torch.from_numpy(img.transpose(2, 0, 1).copy())
    with torch.no_grad():
        return model.data_preprocessor(dict(inputs=[tensor]), False)['inputs']


def _check_train_batch(batch: int) -> None:
    if batch < 2:
        raise ValueError(
            f'--batch {batch}: training steps need a batch of at least 2 '
            '(batch norm after global pooling, e.g. in the ASPP image '
            'pooling of DeepLabV3+, cannot train on one sample)')


def _selected(keys: Sequence[str], pattern: Optional[str]) -> List[str]:
    if not pattern:
        return list(keys)
    regex = re.compile(pattern)
    return [k for k in keys if regex.search(k)]


def _release() -> None:
    """Free the memory of the models the caller has just deleted."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _log(msg: str) -> None:
    print(f'[benchmark] {msg}', flush=True)


# ----------------------------------------------------------------------------
# suites
# ----------------------------------------------------------------------------
def suite_train_step(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Step time of each model against its baseline, interleaved."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    size = args.size or 256
    batch = args.batch or 2
    _check_train_batch(batch)
    device = ctx['torch_device']
    samples = synthetic_samples(batch, size, args.seed)
    data = train_batch(samples)
    rows = []
    pairs = [
        p for p in PAIRS
        if p[0] in _selected([q[0] for q in PAIRS], args.match)
    ]
    for key, base_key, goal in pairs:
        steps = {}
        extra = {}
        models = []
        for k in (key, base_key):
            config = MODELS[k][1]
            model = build_model(config, device, size)
            optim = build_optim_wrapper(
                model,
                Config.fromfile(repo_path(config)).optim_wrapper)
            model.train()
            models.append((model, optim))
            steps[k] = _train_step_fn(model, optim, data)
            if hasattr(model, 'train_mc_samples'):
                extra['mc_samples'] = model.train_mc_samples
        _log(f'train_step: {key} vs {base_key} ({size}x{size}, batch '
             f'{batch}, {args.repeats} repeats)')
        times = loss_bench.time_interleaved(steps, device, args.repeats,
                                            args.warmup)
        a, b = times[key]['median'], times[base_key]['median']
        rows.append(
            make_row(
                'train_step',
                MODELS[key][0],
                'train step time',
                a,
                's/step',
                ctx,
                baseline=b,
                baseline_name=MODELS[base_key][0],
                ratio=a / b,
                ratio_def='value / baseline',
                goal=goal,
                settings=dict(
                    size=f'{size}x{size}',
                    batch=batch,
                    repeats=args.repeats,
                    warmup=args.warmup,
                    **extra),
                details=dict(
                    value_best=times[key]['best'],
                    baseline_best=times[base_key]['best'],
                    config=MODELS[key][1],
                    baseline_config=MODELS[base_key][1])))
        del models, steps, model, optim
        _release()
    return rows


def _train_step_fn(model: torch.nn.Module, optim,
                   data: dict) -> Callable[[], None]:

    def run() -> None:
        model.train_step(data, optim)

    return run


def suite_transmission(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """The loss against unfold, and the DCP share of a training step."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    device = ctx['torch_device']
    size = args.size or 480
    batch = args.batch or 6
    _log(f'transmission: loss vs unfold ({size}x{size}, batch {batch})')
    res = loss_bench.bench_loss(
        size,
        batch,
        kernel_size=5,
        repeat=args.repeats,
        device=device,
        seed=args.seed,
        warmup=args.warmup)
    settings = dict(
        size=f'{size}x{size}',
        batch=batch,
        kernel=5,
        repeats=args.repeats,
        warmup=args.warmup)
    diffs = dict(
        value_max_abs_diff=res['value_abs_diff'],
        grad_max_abs_diff=res['grad_max_abs_diff'],
        value_rel_diff=res['value_rel_err'],
        grad_rel_diff=res['grad_rel_err'])
    rows = [
        make_row(
            'transmission',
            'TransmissionCoherenceLoss',
            'forward + backward time',
            res['ours_median_s'],
            's',
            ctx,
            baseline=res['unfold_median_s'],
            baseline_name='unfold',
            ratio=res['unfold_median_s'] / res['ours_median_s'],
            ratio_def='baseline / value (speed-up)',
            goal='ratio >= 10',
            settings=settings,
            details=dict(
                value_best=res['ours_s'],
                baseline_best=res['unfold_s'],
                **diffs)),
        make_row(
            'transmission',
            'TransmissionCoherenceLoss',
            'peak extra memory',
            res['ours_peak_mib'],
            'MiB',
            ctx,
            baseline=res['unfold_peak_mib'],
            baseline_name='unfold',
            ratio=res['unfold_peak_mib'] / max(res['ours_peak_mib'], 1e-9),
            ratio_def='baseline / value (memory saving)',
            goal='ratio >= 10',
            settings=settings),
        make_row(
            'transmission',
            'TransmissionCoherenceLoss',
            'max abs diff of the loss value',
            res['value_abs_diff'],
            '',
            ctx,
            note=('the gradients differ by at most '
                  f'{res["grad_max_abs_diff"]:.3g} (absolute); checked to '
                  'agree to 1e-4 (relative) before timing'),
            settings=settings,
            details=diffs),
    ]

    step_size = args.size or 256
    step_batch = args.batch or 2
    _check_train_batch(step_batch)
    label, config = MODELS['transbvm_r50']
    _log(f'transmission: DCP share of a {label} step ({step_size}x'
         f'{step_size}, batch {step_batch})')
    model = build_model(config, device, step_size)
    optim = build_optim_wrapper(
        model,
        Config.fromfile(repo_path(config)).optim_wrapper)
    model.train()
    data = train_batch(synthetic_samples(step_batch, step_size, args.seed))
    with torch.no_grad():
        inputs = model.data_preprocessor(data, True)['inputs']

    def dcp() -> None:
        model.compute_transmission(inputs)

    times = loss_bench.time_interleaved(
        dict(step=_train_step_fn(model, optim, data), dcp=dcp), device,
        args.repeats, args.warmup)
    a, b = times['dcp']['median'], times['step']['median']
    rows.append(
        make_row(
            'transmission',
            f'DCP transmission in a {label} step',
            'estimate_transmission time',
            a,
            's',
            ctx,
            baseline=b,
            baseline_name='whole training step',
            ratio=a / b,
            ratio_def='value / baseline (share of the step)',
            settings=dict(
                size=f'{step_size}x{step_size}',
                batch=step_batch,
                mc_samples=model.train_mc_samples,
                repeats=args.repeats,
                warmup=args.warmup),
            details=dict(config=config, **model.transmission_cfg)))
    del model, optim
    _release()
    return rows


def rank_average(x: torch.Tensor) -> torch.Tensor:
    """1-based ranks of a 1-D tensor, ties given their average rank."""
    _, inverse, counts = torch.unique(
        x, sorted=True, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).to(torch.float64)
    return (ends - (counts.to(torch.float64) - 1) / 2)[inverse]


def spearman(a, b) -> float:
    """Spearman rank correlation of two equally sized arrays.

    Uses ``scipy.stats.spearmanr`` when SciPy is installed, otherwise the
    Pearson correlation of average ranks computed with torch (the same
    definition). NaN when either input is constant.
    """
    a = torch.as_tensor(np.asarray(a), dtype=torch.float64).flatten()
    b = torch.as_tensor(np.asarray(b), dtype=torch.float64).flatten()
    if a.numel() != b.numel():
        raise ValueError(f'spearman: sizes differ ({a.numel()} and '
                         f'{b.numel()})')
    if a.numel() < 2:
        return float('nan')
    try:
        from scipy.stats import spearmanr
    except ImportError:
        spearmanr = None
    if spearmanr is not None:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            res = spearmanr(a.numpy(), b.numpy())
        return float(getattr(res, 'statistic', res[0]))
    return spearman_torch(a, b)


def spearman_torch(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman rank correlation with torch only (average ranks)."""
    ra = rank_average(a.flatten().to(torch.float64))
    rb = rank_average(b.flatten().to(torch.float64))
    ra = ra - ra.mean()
    rb = rb - rb.mean()
    denom = torch.sqrt((ra * ra).sum() * (rb * rb).sum())
    if denom.item() == 0:
        return float('nan')
    return float((ra * rb).sum() / denom)


def uncertainty_images(args: argparse.Namespace,
                       num: int) -> Tuple[str, List[np.ndarray]]:
    """Images for the correlation: real SMOKE5K test images if present."""
    import mmcv
    img_dir = osp.join(args.data_root, 'SMOKE5K', 'test', 'img')
    if osp.isdir(img_dir):
        paths = sorted(glob.glob(osp.join(img_dir, '*.jpg')))[:num]
        if paths:
            imgs = []
            for p in paths:
                img = mmcv.imread(p)
                if img is None:
                    raise ValueError(f'{p}: cannot read the image')
                imgs.append(img)
            return f'SMOKE5K test (first {len(imgs)}, {img_dir})', imgs
    imgs = [img for img, _ in synthetic_samples(num, 256, args.seed)]
    return f'synthetic ({len(imgs)} images; {img_dir} not found)', imgs


def _uncertainty_map(model: torch.nn.Module, inputs: torch.Tensor, mode: str,
                     mc_samples: int, seed: int) -> torch.Tensor:
    saved = model.test_cfg
    model.test_cfg = dict(
        mode='whole', uncertainty=mode, mc_samples=mc_samples)
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            out = model.predict(inputs)
    finally:
        model.test_cfg = saved
    return out[0].pred_uncertainty_total.data.float().cpu()


def suite_uncertainty(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Latency and map correlation of sampling-free vs MC uncertainty."""
    import mmcv
    device = ctx['torch_device']
    mc = args.mc_samples
    entries = [
        (MODELS[k][0], MODELS[k][1])
        for k in _selected(['transbvm_r50', 'transbvm_mit-b0'], args.match)
    ]
    if args.checkpoint and not any(
            osp.abspath(repo_path(c)) == osp.abspath(
                repo_path(args.checkpoint_config)) for _, c in entries):
        entries.append((osp.splitext(osp.basename(args.checkpoint_config))[0],
                        args.checkpoint_config))
    source, images = uncertainty_images(args, args.uncertainty_images)
    rows = []
    for label, config in entries:
        trained = bool(args.checkpoint) and osp.abspath(
            repo_path(config)) == osp.abspath(
                repo_path(args.checkpoint_config))
        size = args.size or config_crop(config) or 480
        model = build_model(
            config, device, checkpoint=args.checkpoint if trained else None)
        weights = (f'trained ({args.checkpoint})'
                   if trained else 'untrained (random initialisation)')
        inputs = [
            normalised_input(model, mmcv.imresize(img,
                                                  (size, size))).to(device)
            for img in images
        ]
        _log(f'uncertainty: {label} latency ({size}x{size}, B={mc})')
        times = loss_bench.time_uncertainty_inference(model, inputs[0], mc,
                                                      args.repeats, device,
                                                      args.warmup)
        med = {k: v['median'] for k, v in times.items()}
        settings = dict(
            size=f'{size}x{size}',
            batch=1,
            mc_samples=mc,
            repeats=args.repeats,
            warmup=args.warmup,
            weights='trained' if trained else 'untrained')
        for mode, title in (('mc_full_network', 'MC, full network'),
                            ('mc', 'MC, features reused')):
            rows.append(
                make_row(
                    'uncertainty',
                    label,
                    f'sampling-free latency vs {title}',
                    med['sampling_free'],
                    's/image',
                    ctx,
                    baseline=med[mode],
                    baseline_name=f'{title}, B={mc}',
                    ratio=med[mode] / med['sampling_free'],
                    ratio_def='baseline / value (speed-up)',
                    goal='ratio >= 8',
                    note=None if mode == 'mc_full_network' else
                    ('bounded by (backbone + B head) / (backbone + '
                     'head + g_gamma): the backbone runs once in both'),
                    settings=settings,
                    details=dict(
                        prediction_only_s=med['prediction_only'],
                        config=config)))
        _log(f'uncertainty: {label} Spearman on {len(inputs)} images')
        rhos = []
        for i, x in enumerate(inputs):
            sf = _uncertainty_map(model, x, 'sampling_free', mc, args.seed)
            ref = _uncertainty_map(model, x, 'mc', mc, args.seed + i)
            rhos.append(spearman(sf, ref))
        finite = [r for r in rhos if math.isfinite(r)]
        rho = float(np.mean(finite)) if finite else None
        note = (f'weights: {weights}; images: {source}; '
                f'{len(finite)} of {len(rhos)} images with non-constant '
                'maps')
        if not trained:
            note += ('; an untrained model\'s maps say nothing about the '
                     'method, pass --checkpoint for a meaningful value')
        rows.append(
            make_row(
                'uncertainty',
                label,
                'Spearman rho (sampling-free vs MC total uncertainty)',
                rho,
                '',
                ctx,
                goal='value >= 0.7',
                assess=trained,
                note=note,
                settings=dict(settings, images=len(inputs)),
                details=dict(
                    rho_min=min(finite) if finite else None,
                    rho_max=max(finite) if finite else None,
                    trained=trained,
                    checkpoint=args.checkpoint if trained else None,
                    config=config)))
        del model, inputs
        _release()
    return rows


def suite_inference(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Images per second of each model against its baseline."""
    device = ctx['torch_device']
    size = args.size or 480
    img = synthetic_samples(1, size, args.seed)[0][0]
    rows = []
    pairs = [
        p for p in PAIRS
        if p[0] in _selected([q[0] for q in PAIRS], args.match)
    ]
    for key, base_key, _ in pairs:
        fns = {}
        models = []
        for k in (key, base_key):
            model = build_model(MODELS[k][1], device)
            x = normalised_input(model, img).to(device)
            models.append(model)
            fns[k] = _predict_fn(model, x)
        _log(f'inference: {key} vs {base_key} ({size}x{size})')
        times = loss_bench.time_interleaved(fns, device, args.repeats,
                                            args.warmup)
        a = 1.0 / times[key]['median']
        b = 1.0 / times[base_key]['median']
        rows.append(
            make_row(
                'inference',
                MODELS[key][0],
                'images per second',
                a,
                'FPS',
                ctx,
                baseline=b,
                baseline_name=MODELS[base_key][0],
                ratio=a / b,
                ratio_def='value / baseline',
                settings=dict(
                    size=f'{size}x{size}',
                    batch=1,
                    repeats=args.repeats,
                    warmup=args.warmup),
                details=dict(
                    latency_median_s=times[key]['median'],
                    baseline_latency_median_s=times[base_key]['median'],
                    config=MODELS[key][1])))
        del models, fns, model, x
        _release()
    return rows


def _predict_fn(model: torch.nn.Module,
                inputs: torch.Tensor) -> Callable[[], None]:

    def run() -> None:
        with torch.no_grad():
            model.predict(inputs)

    return run


def model_configs() -> List[str]:
    """Every model config under ``configs/`` (``_base_`` excluded)."""
    paths = glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    rel = sorted(osp.relpath(p, REPO) for p in paths)
    return [p for p in rel if '_base_' not in p.split(os.sep)]


def suite_params_flops(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Parameters and FLOPs of every model config."""
    size = args.size or 512
    rows = []
    for config in _selected(model_configs(), args.match):
        _log(f'params_flops: {config}')
        name = osp.splitext(osp.basename(config))[0]
        model = build_model(config, torch.device('cpu'))
        params = complexity.count_params(model)
        rows.append(
            make_row(
                'params_flops',
                name,
                'parameters',
                params['total'],
                'M',
                ctx,
                settings=dict(),
                details=dict(
                    config=config,
                    **{
                        f'{k}_M': v
                        for k, v in params.items() if k != 'total'
                    })))
        note = None
        try:
            total, parts = complexity.count_flops(model, (size, size))
            total_g = total / 1e9
            details = {f'{k}_G': v / 1e9 for k, v in parts.items()}
        except Exception as err:  # noqa: BLE001 (recorded in the row)
            total_g, details = None, {}
            note = f'FLOP count failed: {type(err).__name__}: {err}'
        rows.append(
            make_row(
                'params_flops',
                name,
                'FLOPs',
                total_g,
                'G',
                ctx,
                note=note,
                settings=dict(size=f'{size}x{size}', batch=1),
                details=dict(config=config, **details)))
        del model
        _release()
    return rows


# ----------------------------------------------------------------------------
# smoke5k: equal-budget training on the real images
# ----------------------------------------------------------------------------
def smoke5k_config(key: str, args: argparse.Namespace, data_root: str,
                   work_dir: str):
    """The training/test config of one smoke5k model.

    Args:
        key (str): A key of ``SMOKE5K_MODELS``.
        args (argparse.Namespace): The budget (``iters``, ``crop``,
            ``train_batch``, ``lr``, ``workers``, ``max_test_images``,
            ``threshold``, ``deeplab_depth``, ``seed``).
        data_root (str): The SMOKE5K folder ({train,test}/{img,gt}).
        work_dir (str): The model's work directory.

    Returns:
        Config: The config.
    """
    label, config, variant = SMOKE5K_MODELS[key]
    cfg = complexity.load_offline_config(repo_path(config))
    crop = (args.crop, args.crop)
    cfg.model.data_preprocessor.size = crop
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
    meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                 'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                 'reduce_zero_label', 'size_group')
    train_pipeline = [
        dict(type='LoadSmokeImageFromFile'),
        dict(type='LoadSmokeAnnotations'),
        dict(
            type='RandomResize',
            scale=crop,
            ratio_range=(1.0, 2.0),
            keep_ratio=False),
        dict(type='RandomCrop', crop_size=crop),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]
    test_pipeline = [
        dict(type='LoadSmokeImageFromFile'),
        dict(type='Resize', scale=crop, keep_ratio=False),
        dict(type='LoadSmokeAnnotations'),
        dict(type='PackSegInputs', meta_keys=meta_keys)
    ]
    # `tools/test.py <work dir>/benchmark_config.py CKPT --tta`: the test
    # size x 0.75, 1, 1.25 and horizontal flips (ratio 1 = test_pipeline).
    cfg.tta_pipeline = [
        dict(type='LoadSmokeImageFromFile'),
        dict(
            type='TestTimeAug',
            transforms=[
                [
                    dict(
                        type='Resize',
                        scale=(int(crop[0] * r), int(crop[1] * r)),
                        keep_ratio=False) for r in (0.75, 1.0, 1.25)
                ],
                [
                    dict(type='RandomFlip', prob=0., direction='horizontal'),
                    dict(type='RandomFlip', prob=1., direction='horizontal')
                ],
                [dict(type='LoadSmokeAnnotations')],
                [dict(type='PackSegInputs', meta_keys=meta_keys)],
            ])
    ]
    workers = args.workers
    cfg.train_dataloader = dict(
        batch_size=args.train_batch,
        num_workers=workers,
        persistent_workers=workers > 0,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(
            type='SMOKE5KDataset',
            data_root=data_root,
            data_prefix=dict(img_path='train/img', seg_map_path='train/gt'),
            pipeline=train_pipeline))
    test_dataset = dict(
        type='SMOKE5KDataset',
        data_root=data_root,
        data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
        pipeline=test_pipeline)
    if args.max_test_images:
        test_dataset['indices'] = args.max_test_images
    cfg.test_dataloader = dict(
        batch_size=1,
        num_workers=workers,
        persistent_workers=workers > 0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=test_dataset)
    cfg.test_evaluator = dict(
        type='SmokeMetric',
        threshold=args.threshold,
        return_reliability_bins=False)
    apply_schedule(cfg, args.iters, args.save_interval)
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


def smoke5k_budget(args: argparse.Namespace) -> dict:
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


def smoke5k_train_and_test(key: str, args: argparse.Namespace, data_root: str,
                           budget: dict) -> dict:
    """Train (``tools/train.py``) and test (``tools/test.py``) one model.

    Trans-BVM checkpoints are tested a second time with the sigma(s / U_p)
    output (``model.test_cfg.calibrate=True``). See
    :func:`benchmark_core.train_and_test` for re-use and ``--resume``.

    Args:
        key (str): A key of ``SMOKE5K_MODELS``.
        args (argparse.Namespace): Command-line arguments.
        data_root (str): The SMOKE5K folder.
        budget (dict): :func:`smoke5k_budget`.

    Returns:
        dict: ``label``, ``metrics``, ``metrics_calibrated`` (None but for
        Trans-BVM), ``train_s`` (None when re-used) and ``checkpoint``.
    """
    label = SMOKE5K_MODELS[key][0]
    if SMOKE5K_MODELS[key][2] == 'depth':
        label = f'{label} R{args.deeplab_depth}-D8'
    work = osp.abspath(osp.join(args.smoke5k_work_dir, key))
    cfg = smoke5k_config(key, args, data_root, work)
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
        extra_tests=extra,
        name=f'smoke5k: {key}')
    return dict(
        result,
        label=label,
        metrics_calibrated=result['extra_metrics'].get('calibrated'))


def suite_smoke5k(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Train each model with one budget, evaluate on SMOKE5K test."""
    data_root = osp.join(args.data_root, 'SMOKE5K')
    for sub in ('train/img', 'train/gt', 'test/img', 'test/gt'):
        if not osp.isdir(osp.join(data_root, sub)):
            raise FileNotFoundError(
                f'{osp.join(data_root, sub)}: SMOKE5K folder not found; set '
                '--data-root to the folder that holds SMOKE5K/')
    keys = _selected(args.smoke5k_models, args.match)
    budget = smoke5k_budget(args)
    results: Dict[str, dict] = {}
    for key in keys:
        results[key] = smoke5k_train_and_test(key, args, data_root, budget)
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
        base_key = {
            'fosp_mit-b0': 'segformer_mit-b0',
            'transbvm_mit-b0': 'transbvm_mit-b0_no-lc',
            # the paper's Fig. 6: after calibration (L_c and U_p-scaled
            # output) against before (no L_c, plain output)
            'transbvm_mit-b0+calibrated': 'transbvm_mit-b0_no-lc',
            'transbvm_mit-b0_no-lc+calibrated': 'transbvm_mit-b0_no-lc',
        }.get(key)
        for name in SMOKE5K_METRICS:
            value = metric(key, name)
            if value is None and name not in res['metrics']:
                continue
            baseline = metric(base_key, name) if base_key else None
            goal = None
            if key == 'fosp_mit-b0' and name == 'Fbeta_max':
                goal = 'ratio > 1'
            elif key in ('transbvm_mit-b0', 'transbvm_mit-b0+calibrated'):
                goal = {
                    'ECE': 'ratio <= 0.5',
                    'Fbeta_max': 'ratio >= 1'
                }.get(name)
            ratio = (
                value / baseline if value is not None and baseline else None)
            rows.append(
                make_row(
                    'smoke5k',
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
                    settings=dict(budget),
                    details=dict(
                        train_s=res['train_s'],
                        checkpoint=osp.relpath(res['checkpoint'], REPO)
                        if res['checkpoint'].startswith(REPO) else
                        res['checkpoint'])))
    return rows


SUITE_FUNCS = {
    'train_step': suite_train_step,
    'transmission': suite_transmission,
    'uncertainty': suite_uncertainty,
    'inference': suite_inference,
    'params_flops': suite_params_flops,
    'smoke5k': suite_smoke5k,
    'early_smoke': lambda args, ctx: early_bench.suite_early_smoke(
        args, ctx, ctx.get('save_rows')),
    'gpu': gpu_bench.suite_gpu,
}


def suite_settings(suite: str, args: argparse.Namespace) -> dict:
    """Settings of a suite for its header."""
    common = dict(repeats=args.repeats, warmup=args.warmup)
    if suite == 'train_step':
        return dict(size=args.size or 256, batch=args.batch or 2, **common)
    if suite == 'transmission':
        return dict(
            loss_size=args.size or 480,
            loss_batch=args.batch or 6,
            step_size=args.size or 256,
            step_batch=args.batch or 2,
            **common)
    if suite == 'uncertainty':
        return dict(
            size=args.size or 'config crop',
            mc_samples=args.mc_samples,
            images=args.uncertainty_images,
            checkpoint=args.checkpoint,
            **common)
    if suite == 'inference':
        return dict(size=args.size or 480, batch=1, **common)
    if suite == 'params_flops':
        return dict(size=args.size or 512)
    if suite == 'gpu':
        return gpu_bench.suite_settings(args)
    if suite == 'early_smoke':
        return early_bench.budget(args)
    return smoke5k_budget(args)


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def default_data_root() -> str:
    return os.environ.get('MMSMOKE_SHARED_DATA',
                          osp.abspath(osp.join(REPO, '..', 'shared', 'data')))


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
    unc = parser.add_argument_group('uncertainty')
    unc.add_argument('--mc-samples', type=int, default=10)
    unc.add_argument(
        '--uncertainty-images',
        type=int,
        default=20,
        help='images for the Spearman correlation')
    unc.add_argument(
        '--checkpoint',
        default=None,
        help='trained Trans-BVM weights for --checkpoint-config')
    unc.add_argument(
        '--checkpoint-config',
        default=MODELS['transbvm_mit-b0'][1],
        help='config of --checkpoint')
    smoke = parser.add_argument_group('smoke5k')
    smoke.add_argument(
        '--data-root',
        default=default_data_root(),
        help='folder holding SMOKE5K/{train,test}/{img,gt}')
    smoke.add_argument('--iters', type=int, default=300)
    smoke.add_argument('--train-batch', type=int, default=4)
    smoke.add_argument('--crop', type=int, default=256)
    smoke.add_argument('--lr', type=float, default=1e-3)
    smoke.add_argument('--workers', type=int, default=1)
    smoke.add_argument(
        '--max-test-images',
        type=int,
        default=None,
        help='evaluate on the first N test images only (default all 400)')
    smoke.add_argument('--threshold', type=float, default=0.5)
    smoke.add_argument(
        '--deeplab-depth', type=int, choices=(18, 50), default=18)
    smoke.add_argument(
        '--smoke5k-models',
        nargs='+',
        choices=tuple(SMOKE5K_MODELS),
        default=list(SMOKE5K_DEFAULT))
    smoke.add_argument(
        '--smoke5k-work-dir', default='work_dirs/benchmark_smoke5k')
    smoke.add_argument(
        '--save-interval',
        type=int,
        default=None,
        help='also checkpoint every N iterations (the newest is kept), so '
        'that a long run can be continued with --resume')
    smoke.add_argument(
        '--resume',
        action='store_true',
        help='continue an interrupted training from its last checkpoint')
    smoke.add_argument(
        '--skip-existing',
        action='store_true',
        help='re-use a final checkpoint already in the work dir')
    early_bench.add_arguments(parser)
    gpu_bench.add_arguments(parser)
    args = parser.parse_args(argv)
    gpu_bench.check_arguments(args, parser.error)
    if not args.suite and not args.render_only:
        parser.error('give at least one --suite (or --render-only)')
    for name in ('repeats', 'iters', 'train_batch', 'crop', 'mc_samples',
                 'uncertainty_images'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.save_interval is not None and args.save_interval < 1:
        parser.error('--save-interval must be >= 1')
    if args.size is not None and args.size < 32:
        parser.error('--size must be >= 32')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        parser.error(f'--checkpoint {args.checkpoint}: file not found')
    return args


def expand_suites(names: Sequence[str]) -> List[str]:
    """Suites in canonical order, aliases expanded, duplicates removed."""
    wanted = set()
    for name in names:
        wanted.update(ALIASES.get(name, (name, )))
    return [s for s in SUITES if s in wanted]


def write_outputs(doc: dict, out_dir: str) -> Tuple[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    json_path = osp.join(out_dir, 'benchmarks.json')
    md_path = osp.join(out_dir, 'benchmarks.md')
    with open(json_path + '.tmp', 'w') as f:
        json.dump(doc, f, indent=2)
        f.write('\n')
    os.replace(json_path + '.tmp', json_path)
    with open(md_path, 'w') as f:
        f.write(render_markdown(doc))
    return json_path, md_path


def main(argv: Optional[Sequence[str]] = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    json_path = osp.join(args.out_dir, 'benchmarks.json')
    doc = load_document(json_path)
    if args.render_only:
        paths = write_outputs(doc, args.out_dir)
        _log(f'rendered {paths[1]}')
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
    ctx = dict(device=machine['device'], command=command, torch_device=device)
    try:
        for suite in expand_suites(args.suite):
            started = time.perf_counter()

            def header() -> dict:
                return dict(
                    date=datetime.datetime.now(
                        datetime.timezone.utc).isoformat(timespec='seconds'),
                    machine=machine,
                    command=command,
                    settings=suite_settings(suite, args),
                    duration_s=round(time.perf_counter() - started, 1))

            def save_rows(rows: List[dict]) -> None:
                # a long suite's rows so far (each finished run)
                write_outputs(
                    merge_document(doc, {suite: header()}, rows),
                    args.out_dir)

            ctx['save_rows'] = save_rows
            suite_rows = SUITE_FUNCS[suite](args, ctx)
            # Written after each suite: a later failure keeps these rows.
            doc = merge_document(doc, {suite: header()}, suite_rows)
            paths = write_outputs(doc, args.out_dir)
            _log(f'{suite}: {len(suite_rows)} rows in '
                 f'{round(time.perf_counter() - started, 1)} s -> '
                 f'{paths[0]}')
    finally:
        logger.setLevel(level)
    return doc


if __name__ == '__main__':
    main()
