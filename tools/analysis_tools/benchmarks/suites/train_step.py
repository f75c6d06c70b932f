"""The ``train_step`` suite: seconds per training step.

``model.train_step`` (pre-processing, forward, backward, optimiser step)
of FoSp R50 and Trans-BVM R50 against DeepLabV3+ R50, and of the light
FoSp / Trans-BVM against SegFormer-B0 (default 256x256, batch 2), on one
fixed synthetic batch. The two models of a row run in the same process,
alternating step by step after warm-up steps, and the row keeps the
medians, so that a load change on a shared machine affects both alike.
"""
import argparse
from typing import List

from mmsmoke.apis import build_model
from ..core import repo_path
from ..measure import (MODELS, check_train_batch, optim_config, pad_to,
                       pair_row, synthetic_samples, timed_pairs,
                       timing_settings, train_batch, train_step_fn)

NAME = 'train_step'
IN_ALL = True
TITLE = 'Training step time'
TEXT = ('Seconds per full training step: `model.train_step` on one fixed '
        'synthetic batch (data pre-processing, forward, backward and the '
        "optimiser step of the model's own config), `model.train()`, "
        'models built from the configs with pretrained weights off and '
        'SyncBN replaced by BN. The two models of a row alternate step by '
        'step after warm-up steps; value and baseline are medians, ratio = '
        'value / baseline (lower is better). Trans-BVM runs its B Monte '
        'Carlo head samples per step (B in the settings). Goals: FoSp R50 '
        '<= 1.3x DeepLabV3+ R50 and Trans-BVM R50 <= 1.5x DeepLabV3+ R50; '
        'the light rows have no goal.')


def settings(args: argparse.Namespace) -> dict:
    return timing_settings(args, size=args.size or 256, batch=args.batch or 2)


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Step time of each model against its baseline, interleaved."""
    from mmengine.optim import build_optim_wrapper
    size = args.size or 256
    batch = args.batch or 2
    check_train_batch(batch)
    device = ctx['torch_device']
    data = train_batch(synthetic_samples(batch, size, args.seed))

    def prepare(key: str):
        config = MODELS[key][1]
        model = build_model(
            repo_path(config), device=device, cfg_options=pad_to(size))
        optim = build_optim_wrapper(model, optim_config(config))
        model.train()
        facts = {}
        if hasattr(model, 'train_mc_samples'):
            facts['mc_samples'] = model.train_mc_samples
        return train_step_fn(model, optim, data), facts

    rows = []
    for key, base_key, goal, times, facts in timed_pairs(
            args, device, prepare, NAME,
            f'({size}x{size}, batch {batch}, {args.repeats} repeats)'):
        rows.append(
            pair_row(
                NAME,
                key,
                base_key,
                'train step time',
                times[key]['median'],
                times[base_key]['median'],
                's/step',
                ctx,
                goal=goal,
                settings=dict(
                    size=f'{size}x{size}',
                    batch=batch,
                    repeats=args.repeats,
                    warmup=args.warmup,
                    **facts[key],
                    **facts[base_key]),
                details=dict(
                    value_best=times[key]['best'],
                    baseline_best=times[base_key]['best'],
                    config=MODELS[key][1],
                    baseline_config=MODELS[base_key][1])))
    return rows
