"""The ``uncertainty`` suite: sampling-free uncertainty against MC sampling.

Trans-BVM inference of one image with the sampling-free uncertainty (one
pass + the uncertainty network g_gamma) against Monte Carlo sampling with
B samples, both as the authors' test scripts run it (the whole network per
sample) and as this package's MC mode runs it (the backbone once, the head
B times): latency (alternating run by run, medians), and the Spearman
correlation of the total-uncertainty maps on real SMOKE5K test images
(synthetic ones when SMOKE5K is absent). The correlation means something
only for trained weights (``--checkpoint``).
"""
import argparse
import glob
import math
import os.path as osp
import warnings
from typing import List, Tuple

import numpy as np
import torch

import benchmark_transmission_loss as loss_bench
from mmsmoke.apis import build_model
from ..core import log, make_row, repo_path, selected
from ..measure import (MODELS, config_crop, normalised_batch,
                       release, synthetic_samples, timing_settings)

NAME = 'uncertainty'
IN_ALL = True
TITLE = 'Sampling-free uncertainty against Monte Carlo sampling'
TEXT = ('Trans-BVM inference of one image with the sampling-free '
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
        'checkpoint. Goal: at least 8x faster with rho >= 0.7.')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('uncertainty')
    group.add_argument('--mc-samples', type=int, default=10)
    group.add_argument(
        '--uncertainty-images',
        type=int,
        default=20,
        help='images for the Spearman correlation')
    group.add_argument(
        '--checkpoint',
        default=None,
        help='trained Trans-BVM weights for --checkpoint-config')
    group.add_argument(
        '--checkpoint-config',
        default=MODELS['transbvm_mit-b0'][1],
        help='config of --checkpoint')


def check_arguments(args: argparse.Namespace, error) -> None:
    for name in ('mc_samples', 'uncertainty_images'):
        if getattr(args, name) < 1:
            error(f'--{name.replace("_", "-")} must be >= 1')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        error(f'--checkpoint {args.checkpoint}: file not found')


def settings(args: argparse.Namespace) -> dict:
    return timing_settings(
        args,
        size=args.size or 'config crop',
        mc_samples=args.mc_samples,
        images=args.uncertainty_images,
        checkpoint=args.checkpoint)


# ----------------------------------------------------------------------------
# rank correlation
# ----------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------
# the suite
# ----------------------------------------------------------------------------
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


def _same_config(a: str, b: str) -> bool:
    return osp.abspath(repo_path(a)) == osp.abspath(repo_path(b))


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Latency and map correlation of sampling-free vs MC uncertainty."""
    entries = [
        MODELS[k]
        for k in selected(['transbvm_r50', 'transbvm_mit-b0'], args.match)
    ]
    if args.checkpoint and not any(
            _same_config(c, args.checkpoint_config) for _, c in entries):
        entries.append((osp.splitext(osp.basename(args.checkpoint_config))[0],
                        args.checkpoint_config))
    source, images = uncertainty_images(args, args.uncertainty_images)
    rows = []
    for label, config in entries:
        rows += _model_rows(args, ctx, label, config, source, images)
    return rows


def _model_rows(args: argparse.Namespace, ctx: dict, label: str, config: str,
                source: str, images: List[np.ndarray]) -> List[dict]:
    import mmcv
    device = ctx['torch_device']
    mc = args.mc_samples
    trained = bool(args.checkpoint) and _same_config(config,
                                                     args.checkpoint_config)
    size = args.size or config_crop(config) or 480
    model = build_model(
        repo_path(config),
        args.checkpoint if trained else None,
        device,
        strict=True)
    weights = (f'trained ({args.checkpoint})'
               if trained else 'untrained (random initialisation)')
    inputs = [
        normalised_batch(model, [mmcv.imresize(img, (size, size))]).to(device)
        for img in images
    ]
    log(f'uncertainty: {label} latency ({size}x{size}, B={mc})')
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
    rows = []
    for mode, title in (('mc_full_network', 'MC, full network'),
                        ('mc', 'MC, features reused')):
        rows.append(
            make_row(
                NAME,
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
                    prediction_only_s=med['prediction_only'], config=config)))
    log(f'uncertainty: {label} Spearman on {len(inputs)} images')
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
            NAME,
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
    release()
    return rows
