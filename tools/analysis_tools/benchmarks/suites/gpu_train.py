"""The training part of the ``gpu`` suite.

Images per second, milliseconds per step and peak memory of
``model.train_step`` for each model x precision x memory format; the AMP
precisions through mmengine's ``AmpOptimWrapper`` (a CPU stand-in with the
same backward and step off CUDA).
"""
import contextlib
import copy
import math
import traceback
from typing import Optional

import torch

from ..core import error_text
from ..measure import (GIB, MODELS, device_name, optim_config, release,
                       time_calls, train_batch)

PRECISIONS = ('fp32', 'bf16', 'fp16')
AMP_DTYPES = {'bf16': 'bfloat16', 'fp16': 'float16'}


def tf32_settings() -> dict:
    """Whether fp32 matmuls/convolutions may use TF32 on this device."""
    out = {}
    for key, get in (('tf32_matmul',
                      lambda: torch.backends.cuda.matmul.allow_tf32),
                     ('tf32_cudnn', lambda: torch.backends.cudnn.allow_tf32)):
        try:
            with _no_warnings():
                out[key] = bool(get())
        except Exception:  # noqa: BLE001 (an API that moved)
            out[key] = None
    return out


@contextlib.contextmanager
def _no_warnings():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield


# ----------------------------------------------------------------------------
# AMP
# ----------------------------------------------------------------------------
def _host_amp_wrapper_class():
    from mmengine.optim import AmpOptimWrapper, OptimWrapper

    class HostAmpOptimWrapper(AmpOptimWrapper):
        """``AmpOptimWrapper`` off CUDA: same backward/step, CPU scaler.

        mmengine's ``AmpOptimWrapper.__init__`` refuses to run without a
        GPU; this one only replaces the constructor (a
        ``torch.amp.GradScaler`` for the device) and the autocast context
        (``torch.autocast`` on the device), and inherits the backward and
        step that scale the loss, unscale and skip non-finite steps.
        """

        def __init__(self, optimizer, dtype: str, device_type: str,
                     **kwargs) -> None:
            OptimWrapper.__init__(self, optimizer=optimizer, **kwargs)
            self._scale_update_param = None
            self.loss_scaler = torch.amp.GradScaler(device_type)
            self.cast_dtype = getattr(torch, dtype)
            self.device_type = device_type

        @contextlib.contextmanager
        def optim_context(self, model: torch.nn.Module):
            with OptimWrapper.optim_context(self, model), torch.autocast(
                    self.device_type, dtype=self.cast_dtype):
                yield

    return HostAmpOptimWrapper


def amp_skip_reason(precision: str, device: torch.device) -> Optional[str]:
    """Why a precision cannot be measured on a device (None if it can)."""
    if precision == 'fp32':
        return None
    if device.type == 'cuda':
        if precision == 'bf16' and not torch.cuda.is_bf16_supported():
            return (f'skipped: {device_name(device)} does not support '
                    'bfloat16')
        return None
    if precision == 'fp16':
        return ('skipped: fp16 AMP is measured on CUDA devices only '
                "(mmengine's autocast takes only bfloat16 on the CPU)")
    if device.type != 'cpu':
        return f'skipped: AMP is measured on CUDA and CPU, not {device.type}'
    return None


def build_optim_wrapper(model: torch.nn.Module, optim_cfg, precision: str,
                        device: torch.device):
    """The config's optimiser wrapper at a precision.

    ``fp32``: the config's ``OptimWrapper``. ``bf16``/``fp16`` on CUDA:
    mmengine's ``AmpOptimWrapper`` with ``dtype`` and ``loss_scale =
    'dynamic'`` (``tools/train.py --amp``); elsewhere the CPU stand-in
    with the same backward and step.

    Raises:
        ValueError: If the config's ``optim_wrapper.type`` is neither
            ``OptimWrapper`` nor ``AmpOptimWrapper``.
    """
    from mmengine.optim import build_optim_wrapper as build
    cfg = copy.deepcopy(optim_cfg)
    kind = cfg.get('type', 'OptimWrapper')
    if kind not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise ValueError(
            f'optim_wrapper.type {kind}: the gpu suite sets the precision '
            'itself and needs OptimWrapper or AmpOptimWrapper in the config')
    for key in ('loss_scale', 'dtype', 'use_fsdp'):
        cfg.pop(key, None)
    if precision == 'fp32':
        cfg['type'] = 'OptimWrapper'
        return build(model, cfg)
    if precision not in AMP_DTYPES:
        raise ValueError(f'precision {precision!r}: use one of {PRECISIONS}')
    if device.type == 'cuda':
        cfg.update(
            type='AmpOptimWrapper',
            dtype=AMP_DTYPES[precision],
            loss_scale='dynamic')
        return build(model, cfg)
    cfg['type'] = 'OptimWrapper'
    base = build(model, cfg)
    return _host_amp_wrapper_class()(
        optimizer=base.optimizer,
        dtype=AMP_DTYPES[precision],
        device_type=device.type,
        accumulative_counts=cfg.get('accumulative_counts', 1),
        clip_grad=cfg.get('clip_grad', None))


# ----------------------------------------------------------------------------
# training rows
# ----------------------------------------------------------------------------
def train_model_rows(run, key: str, images) -> None:
    """All precision x memory-format rows of one model."""
    args, device = run.args, run.device
    label, config = MODELS[key]
    batch = args.gpu_batch
    data = train_batch(images[:batch], device)
    optim_cfg = optim_config(config)
    reference = None  # fp32 contiguous images/s
    for fmt in args.gpu_memory_formats:
        model = None
        for precision in args.gpu_precisions:
            name = f'{label}, {precision}, {fmt}'
            settings = run.settings(
                batch=batch,
                precision=precision,
                memory_format=fmt,
                steps=args.gpu_steps,
                warmup=args.gpu_warmup,
                cudnn_benchmark=args.gpu_cudnn_benchmark,
                **(tf32_settings()
                   if precision == 'fp32' and device.type == 'cuda' else {}))
            reason = amp_skip_reason(precision, device) or run.over_budget()
            if reason is None:
                try:
                    if model is None:
                        model = run.seeded_model(key)
                        if fmt == 'channels_last':
                            from mmsmoke.engine.speed import to_channels_last
                            to_channels_last(model)
                        initial = copy.deepcopy(model.state_dict())
                    else:
                        model.load_state_dict(initial)
                    res = _measure_train(model, optim_cfg, precision, data,
                                         device, args.gpu_steps,
                                         args.gpu_warmup)
                except Exception as err:  # noqa: BLE001 (a row, not a crash)
                    traceback.print_exc()
                    reason = f'failed: {error_text(err)}'
                    model = None
                    release()
            if reason is not None:
                run.add_figure(
                    name,
                    'train images/s',
                    None,
                    'img/s',
                    settings,
                    config,
                    note=reason)
                continue
            ips = batch / res['median']
            is_ref = precision == 'fp32' and fmt == 'contiguous'
            if is_ref:
                reference = ips
            details = dict(
                config=config,
                ms_per_step_median=1e3 * res['median'],
                ms_per_step_mean=1e3 * res['mean'],
                ms_per_step_best=1e3 * res['best'],
                peak_memory_gib=None
                if res['peak_bytes'] is None else res['peak_bytes'] / GIB,
                final_loss=res['loss'],
                skipped_steps=res['skipped_steps'],
                loss_scale=res['loss_scale'])
            note = None
            if res['loss'] is None or not math.isfinite(res['loss']):
                note = f'non-finite loss {res["loss"]} after the timed steps'
            run.add(
                name,
                'train images/s',
                ips,
                'img/s',
                baseline=None if is_ref else reference,
                baseline_name=None if is_ref else 'fp32, contiguous',
                ratio=None if is_ref or not reference else ips / reference,
                ratio_def=None if is_ref else 'value / baseline',
                note=note,
                settings=settings,
                details=details)
            run.add_figure(name, 'train step time', 1e3 * res['median'],
                           'ms/step', settings, config)
            if device.type == 'cuda':
                run.add_figure(name, 'train peak memory',
                               details['peak_memory_gib'], 'GiB', settings,
                               config)
        del model
        release()


def _measure_train(model: torch.nn.Module, optim_cfg, precision: str,
                   data: dict, device: torch.device, steps: int,
                   warmup: int) -> dict:
    """Time ``model.train_step`` at one precision."""
    wrapper = build_optim_wrapper(model, optim_cfg, precision, device)
    scaler = getattr(wrapper, 'loss_scaler', None)
    model.train()
    state = dict(
        skipped=0, scale=None if scaler is None else float(scaler.get_scale()))

    def step():
        return model.train_step(data, wrapper)

    def after():
        if scaler is not None:
            scale = float(scaler.get_scale())
            # dynamic loss scaling halves the scale on a skipped step
            if state['scale'] is not None and scale < state['scale']:
                state['skipped'] += 1
            state['scale'] = scale

    res = time_calls(step, device, steps, warmup, after=after)
    log_vars = res['last']
    loss = log_vars.get('loss') if isinstance(log_vars, dict) else None
    res['loss'] = None if loss is None else float(
        loss.detach() if isinstance(loss, torch.Tensor) else loss)
    res['skipped_steps'] = state['skipped'] if scaler is not None else None
    res['loss_scale'] = state['scale']
    wrapper.zero_grad()
    del wrapper
    return res
