"""The ``transmission`` suite: the coherence loss and the DCP transmission.

The transmission coherence loss against the ``unfold`` implementation
(time, peak memory, difference of the values; default 480x480, batch 6;
``benchmark_transmission_loss.bench_loss``), and the share of the
dark-channel-prior transmission in a Trans-BVM R50 training step (default
256x256, batch 2). The two things a row compares run in the same process,
alternating run by run after warm-up rounds, and the row keeps the medians.
"""
import argparse
from typing import List

import torch

import benchmark_transmission_loss as loss_bench
from mmsmoke.apis import build_model
from ..core import log, make_row, repo_path
from ..measure import (MODELS, check_train_batch, optim_config, pad_to,
                       release, synthetic_samples, timing_settings,
                       train_batch, train_step_fn)

NAME = 'transmission'
IN_ALL = True
TITLE = 'Transmission coherence loss and DCP transmission'
TEXT = ('The transmission coherence loss (forward + backward) against the '
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
        'step).')


def settings(args: argparse.Namespace) -> dict:
    return timing_settings(
        args,
        loss_size=args.size or 480,
        loss_batch=args.batch or 6,
        step_size=args.size or 256,
        step_batch=args.batch or 2)


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """The loss against unfold, and the DCP share of a training step."""
    return loss_rows(args, ctx) + [dcp_row(args, ctx)]


def loss_rows(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Time, memory and agreement of the loss against ``unfold``."""
    size = args.size or 480
    batch = args.batch or 6
    log(f'transmission: loss vs unfold ({size}x{size}, batch {batch})')
    res = loss_bench.bench_loss(
        size,
        batch,
        kernel_size=5,
        repeat=args.repeats,
        device=ctx['torch_device'],
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
    name = 'TransmissionCoherenceLoss'
    return [
        make_row(
            NAME,
            name,
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
            NAME,
            name,
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
            NAME,
            name,
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


def dcp_row(args: argparse.Namespace, ctx: dict) -> dict:
    """The DCP transmission of a batch against the whole training step."""
    from mmengine.optim import build_optim_wrapper
    device = ctx['torch_device']
    size = args.size or 256
    batch = args.batch or 2
    check_train_batch(batch)
    label, config = MODELS['transbvm_r50']
    log(f'transmission: DCP share of a {label} step ({size}x{size}, batch '
        f'{batch})')
    model = build_model(
        repo_path(config), device=device, cfg_options=pad_to(size))
    optim = build_optim_wrapper(model, optim_config(config))
    model.train()
    data = train_batch(synthetic_samples(batch, size, args.seed))
    with torch.no_grad():
        batch_data = model.data_preprocessor(data, True)
        images = model.batch_images(batch_data['inputs'])

    def dcp() -> None:
        model.pixel_losses.transmission(images)

    times = loss_bench.time_interleaved(
        dict(step=train_step_fn(model, optim, data), dcp=dcp), device,
        args.repeats, args.warmup)
    a, b = times['dcp']['median'], times['step']['median']
    row = make_row(
        NAME,
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
            size=f'{size}x{size}',
            batch=batch,
            mc_samples=model.train_mc_samples,
            repeats=args.repeats,
            warmup=args.warmup),
        details=dict(config=config, **model.pixel_losses.transmission_cfg))
    del model, optim
    release()
    return row
