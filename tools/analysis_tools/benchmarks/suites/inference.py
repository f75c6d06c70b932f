"""The ``inference`` suite: images per second of each model.

``model.predict`` on one image (batch 1, no gradient; default 480x480) of
each model against its baseline (DeepLabV3+ R50 for the R50 models,
SegFormer-B0 for the light ones), alternating run by run after warm-up
rounds; the row keeps 1 / median latency.
"""
import argparse
from typing import Callable, List

import torch

from mmsmoke.apis import build_model
from ..core import repo_path
from ..measure import (MODELS, normalised_batch, pair_row,
                       synthetic_samples, timed_pairs, timing_settings)

NAME = 'inference'
IN_ALL = True
TITLE = 'Inference speed'
TEXT = ('Images per second of `model.predict` on one image (batch 1, no '
        'gradient), each model alternating run by run with its baseline '
        '(DeepLabV3+ R50 for the R50 models, SegFormer-B0 for the light '
        'ones); value and baseline are 1 / median latency, ratio = value / '
        'baseline (higher is faster). Trans-BVM includes its sampling-free '
        'uncertainty maps, FoSp its focus and separation maps.')


def settings(args: argparse.Namespace) -> dict:
    return timing_settings(args, size=args.size or 480, batch=1)


def predict_fn(model: torch.nn.Module,
               inputs: torch.Tensor) -> Callable[[], None]:
    """One ``model.predict`` of ``inputs`` per call, without gradients."""

    def run() -> None:
        with torch.no_grad():
            model.predict(inputs)

    return run


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Images per second of each model against its baseline."""
    device = ctx['torch_device']
    size = args.size or 480
    img = synthetic_samples(1, size, args.seed)[0][0]

    def prepare(key: str):
        model = build_model(repo_path(MODELS[key][1]), device=device)
        return predict_fn(model, normalised_batch(model, [img]).to(device)), {}

    rows = []
    for key, base_key, _, times, _ in timed_pairs(args, device, prepare, NAME,
                                                  f'({size}x{size})'):
        rows.append(
            pair_row(
                NAME,
                key,
                base_key,
                'images per second',
                1.0 / times[key]['median'],
                1.0 / times[base_key]['median'],
                'FPS',
                ctx,
                settings=dict(
                    size=f'{size}x{size}',
                    batch=1,
                    repeats=args.repeats,
                    warmup=args.warmup),
                details=dict(
                    latency_median_s=times[key]['median'],
                    baseline_latency_median_s=times[base_key]['median'],
                    config=MODELS[key][1])))
    return rows
