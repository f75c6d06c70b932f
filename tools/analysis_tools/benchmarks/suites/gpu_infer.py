"""The inference part of the ``gpu`` suite.

Images per second at each batch size of the tensor path (eager, replayed
from a CUDA graph, compiled) and of ``model.predict`` (eager, compiled).
"""
import argparse
import time
import traceback
from typing import Optional, Sequence

import torch

from benchmark_transmission_loss import synchronize
from ..core import error_text
from ..measure import GIB, MODELS, normalised_batch, release, time_calls

INFER_MODES = ('eager', 'predict', 'cudagraph', 'compile')
#: Row names of the inference paths and modes.
PATH_NAMES = {'tensor': 'tensor path', 'predict': 'predict'}
MODE_NAMES = {
    'eager': 'eager',
    'predict': 'eager',
    'cudagraph': 'CUDA graph',
    'compile': 'compiled'
}


def compile_options(args: argparse.Namespace) -> dict:
    """``torch.compile`` arguments of the compile mode."""
    options = dict(backend=args.gpu_compile_backend, dynamic=False)
    if args.gpu_compile_mode:
        options['mode'] = args.gpu_compile_mode
    return options


def max_abs_diff(a, b) -> Optional[float]:
    """Largest absolute difference of two tensors or tuples of tensors."""
    a = a if isinstance(a, (tuple, list)) else (a, )
    b = b if isinstance(b, (tuple, list)) else (b, )
    if len(a) != len(b):
        return None
    diffs = [(x.float() - y.float()).abs().max().item() for x, y in zip(a, b)
             if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)]
    return max(diffs) if diffs else None


def infer_rows(run, images) -> None:
    """Inference rows: eager, predict and CUDA graph, then compile."""
    args = run.args
    modes = args.gpu_infer_modes
    first = [m for m in modes if m != 'compile']
    if first:
        for key in args.gpu_infer_models:
            _infer_model(run, key, images, first)
    if 'compile' in modes:
        for key in args.gpu_infer_models:
            _infer_model(run, key, images, ['compile'])


def _infer_model(run, key: str, images, modes: Sequence[str]) -> None:
    args, device = run.args, run.device
    label, config = MODELS[key]
    reason = run.over_budget()
    model = None
    build_error = None
    if reason is None:
        try:
            model = run.seeded_model(key)
            model.eval()
        except Exception as err:  # noqa: BLE001
            traceback.print_exc()
            build_error = f'failed: {error_text(err)}'
    compiled = None  # names of the compiled parts, or the compile error
    for batch in args.gpu_infer_batches:
        x = None
        if model is not None:
            x = normalised_batch(model, [img for img, _ in images[:batch]],
                                 device)
        for mode in modes:
            paths = ('tensor', 'predict') if mode == 'compile' else ((
                'predict', ) if mode == 'predict' else ('tensor', ))
            for path in paths:
                name = (f'{label}, batch {batch}, '
                        f'{PATH_NAMES[path]}, {MODE_NAMES[mode]}')
                settings = run.settings(batch=batch, mode=mode, path=path)
                skip = reason or build_error or run.over_budget()
                if skip is None and mode == 'cudagraph' and \
                        device.type != 'cuda':
                    skip = 'skipped: CUDA graphs need a CUDA device'
                if skip is None and mode == 'compile' and \
                        isinstance(compiled, str):
                    skip = compiled
                if skip is None:
                    try:
                        if mode == 'compile' and compiled is None:
                            compiled = _compile(run, model)
                        res = _measure_infer(run, model, x, mode, path)
                    except Exception as err:  # noqa: BLE001
                        traceback.print_exc()
                        skip = f'failed: {error_text(err)}'
                        if mode == 'compile':
                            compiled = (f'skipped: compile failed at batch '
                                        f'{batch}, {path} path ({skip})')
                        release()
                if skip is not None:
                    run.add_figure(
                        name,
                        'inference images/s',
                        None,
                        'img/s',
                        settings,
                        config,
                        note=skip)
                    continue
                _infer_row(run, label, name, batch, res, settings, config)
        del x
    del model
    if 'compile' in modes and hasattr(torch, '_dynamo'):
        torch._dynamo.reset()
    release()


def _compile(run, model: torch.nn.Module):
    from mmsmoke.engine.speed import compile_submodules
    return compile_submodules(model, compile_options(run.args))


def _measure_infer(run, model: torch.nn.Module, x: torch.Tensor, mode: str,
                   path: str) -> dict:
    """Time one inference variant; ``details`` hold its extra numbers."""
    args, device = run.args, run.device
    details = {}
    graph = None
    with torch.no_grad():
        if path == 'predict':

            def fn():
                return model.predict(x)
        elif mode == 'cudagraph':
            fn, graph, reference = _cuda_graph(model, x, device,
                                               args.gpu_warmup)
            details['max_abs_diff_vs_eager'] = max_abs_diff(fn(), reference)
        else:

            def fn():
                return model(x, mode='tensor')

        if mode == 'compile':
            # the first call compiles (for this shape)
            start = time.perf_counter()
            first = fn()
            synchronize(device)
            details['compile_s'] = time.perf_counter() - start
            if path == 'tensor':
                eager = _eager_output(model, x)
                if eager is not None:
                    details['max_abs_diff_vs_eager'] = max_abs_diff(
                        first, eager)
                del eager
            del first
        res = time_calls(fn, device, args.gpu_infer_steps, args.gpu_warmup)
    res.pop('last')
    res['details'] = details
    del graph
    return res


def _eager_output(model: torch.nn.Module, x: torch.Tensor):
    """The tensor path with the compiled parts run eagerly (or None).

    Uses ``torch.compiler.set_stance('force_eager')`` (torch >= 2.6).
    """
    set_stance = getattr(getattr(torch, 'compiler', None), 'set_stance', None)
    if set_stance is None:
        return None
    with set_stance('force_eager'):
        return model(x, mode='tensor')


def _cuda_graph(model: torch.nn.Module, x: torch.Tensor, device: torch.device,
                warmup: int):
    """Capture the eager tensor path in a CUDA graph.

    Returns:
        tuple: ``fn`` (copies the input in and replays), the graph, and
        the eager output for comparison.
    """
    static_x = x.clone()
    reference = model(x, mode='tensor')
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        for _ in range(max(3, warmup)):
            model(static_x, mode='tensor')
    torch.cuda.current_stream(device).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = model(static_x, mode='tensor')

    def fn():
        static_x.copy_(x)
        graph.replay()
        return static_out

    return fn, graph, reference


def _infer_row(run, label: str, name: str, batch: int, res: dict,
               settings: dict, config: str) -> None:
    ips = batch / res['median']
    is_ref = settings['mode'] == 'eager' and settings['path'] == 'tensor'
    if is_ref:
        run.infer_reference[(label, batch)] = ips
    reference = None if is_ref else run.infer_reference.get((label, batch))
    details = dict(
        config=config,
        ms_per_batch_median=1e3 * res['median'],
        ms_per_batch_best=1e3 * res['best'],
        peak_memory_gib=None
        if res['peak_bytes'] is None else res['peak_bytes'] / GIB,
        **res['details'])
    run.add(
        name,
        'inference images/s',
        ips,
        'img/s',
        baseline=reference,
        baseline_name=None if reference is None else 'eager, tensor path',
        ratio=None if reference is None else ips / reference,
        ratio_def=None if reference is None else 'value / baseline',
        settings=settings,
        details=details)
    run.add_figure(name, 'inference latency', 1e3 * res['median'], 'ms/batch',
                   settings, config)
