"""The ``gpu`` suite of ``benchmark.py``: training and inference throughput.

Two parts, each on in-memory synthetic batches already on the device, so
that no data loading is measured:

* training: images per second, milliseconds per step and peak memory of
  ``model.train_step`` (pre-processing, forward, backward, optimiser step
  of the model's own config) for each model x precision x memory format:

  - precisions ``fp32``, ``bf16`` and ``fp16``: the AMP ones through
    mmengine's ``AmpOptimWrapper`` with ``dtype`` and ``loss_scale =
    'dynamic'``, i.e. ``torch.autocast`` around the forward and a
    ``GradScaler`` on the backward and step, what ``tools/train.py --amp``
    (plus ``--cfg-options optim_wrapper.dtype=bfloat16`` for bf16) runs;
  - memory formats ``contiguous`` and ``channels_last``: the latter
    converts the model and its input batches exactly as
    ``tools/train.py --channels-last`` does
    (:func:`mmsmoke.engine.speed.to_channels_last`);

* inference: images per second at each batch size, in the modes

  - ``eager``: the tensor path ``model(inputs, mode='tensor')`` (backbone,
    neck, FoSp's separation, the head's logits at the head's resolution;
    for Trans-BVM also the sampling-free uncertainty maps) in eager mode;
  - ``predict``: ``model.predict(inputs)``, the path of ``tools/test.py``
    (adds resizing to the input size, the sigmoid/threshold and the extra
    maps in the data samples);
  - ``cudagraph``: the eager tensor path captured once in a CUDA graph
    (``torch.cuda.CUDAGraph``) and replayed: what removing the host cost
    (Python, kernel launches) alone gains; CUDA devices only;
  - ``compile``: the tensor path and the predict path after
    :func:`mmsmoke.engine.speed.compile_submodules`, what
    ``tools/test.py --compile`` does; the compilation time is in the
    row's details.

Every row names the device (``torch.cuda.get_device_name``) in its settings.
A variant that fails (out of memory, a mode that does not work with a
model) gives a row with no value and the error in its note; the suite goes
on. ``--gpu-time-budget`` bounds the suite: once that many seconds have
passed, the remaining variants give rows that say they were not run. The
compile variants run last (they compile for tens of seconds per model and
batch size), after every eager, predict and CUDA-graph variant.

The suite also runs on a CPU, for tests, at tiny sizes; there fp16 AMP is
skipped (mmengine autocasts only bfloat16 on the CPU), bf16 runs through
the same ``AmpOptimWrapper`` methods with a CPU ``GradScaler``, CUDA graphs
are skipped and peak memory is not measured.

This module holds the options, the settings and the run; the two parts are
in ``gpu_train.py`` and ``gpu_infer.py``.
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch

from mmsmoke.apis import build_model
from .. import measure
from ..core import make_row, repo_path
from ..measure import MODELS, device_name, synthetic_samples
from .gpu_infer import INFER_MODES, infer_rows
from .gpu_train import PRECISIONS, train_model_rows

NAME = SUITE = 'gpu'
IN_ALL = False
#: Default models of the two parts (keys of ``benchmarks.measure.MODELS``).
TRAIN_MODELS = ('fosp_r50', 'transbvm_r50', 'deeplabv3plus_r50')
INFER_MODELS = ('fosp_mit-b0', 'transbvm_mit-b0', 'fosp_r50')
MEMORY_FORMATS = ('contiguous', 'channels_last')

TITLE = 'GPU throughput'
TEXT = (
    'Throughput on synthetic batches already on the device (no data '
    'loading). Training: `model.train_step` (pre-processing, forward, '
    "backward, the config's optimiser) at --gpu-size, batch --gpu-batch, "
    'for each precision (fp32; bf16 and fp16 through mmengine\'s '
    '`AmpOptimWrapper`: autocast + dynamic loss scaling, as `tools/train.py '
    '--amp`) and memory format (contiguous; channels_last as `tools/train.py '
    '--channels-last`); each step is timed between two device '
    'synchronisations after --gpu-warmup untimed steps; images/s = batch / '
    'median step time; ratio = value / fp32 contiguous of the same model; '
    'peak memory = `torch.cuda.max_memory_allocated` over the timed steps. '
    'Inference: images/s at each batch of the tensor path `model(x, '
    'mode="tensor")` (logits at the head\'s resolution, no post-processing) '
    'in eager mode, replayed from a CUDA graph, and after '
    '`tools/test.py --compile`\'s torch.compile of the model parts; the '
    '"predict" path is `model.predict` (what `tools/test.py` runs), eager '
    'and compiled; ratio = value / eager tensor path at the same batch. '
    'Random weights (no checkpoint): the speed does not depend on them. A '
    'row without a value says why in its note (error, not supported on the '
    'device, or time budget used up).')


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def _model_choice(nargs: str, default, text: str) -> dict:
    return dict(nargs=nargs, choices=tuple(MODELS), default=default, help=text)


def _subset(values: tuple, text: str) -> dict:
    return dict(nargs='+', choices=values, default=list(values), help=text)


#: The ``--gpu-*`` options, in the order of ``--help``.
OPTIONS = (
    ('--gpu-models',
     _model_choice(
         '+', None, 'models of both parts (overrides --gpu-train-models '
         'and --gpu-infer-models)')),
    ('--gpu-train-models',
     _model_choice('*', list(TRAIN_MODELS),
                   'models of the training part (none: skip it)')),
    ('--gpu-infer-models',
     _model_choice('*', list(INFER_MODELS),
                   'models of the inference part (none: skip it)')),
    ('--gpu-size', dict(type=int, default=512, help='square input side')),
    ('--gpu-batch', dict(type=int, default=16, help='training batch')),
    ('--gpu-infer-batches',
     dict(type=int, nargs='+', default=[1, 16], help='inference batches')),
    ('--gpu-steps', dict(type=int, default=10, help='timed training steps')),
    ('--gpu-infer-steps',
     dict(type=int, default=20, help='timed inference calls')),
    ('--gpu-warmup',
     dict(
         type=int, default=3,
         help='untimed steps/calls before the timed ones')),
    ('--gpu-precisions', _subset(PRECISIONS, 'training precisions')),
    ('--gpu-memory-formats', _subset(MEMORY_FORMATS,
                                     'training memory formats')),
    ('--gpu-infer-modes', _subset(INFER_MODES, 'inference modes')),
    ('--gpu-compile-backend',
     dict(
         default='inductor',
         help='torch.compile backend of the compile mode')),
    ('--gpu-compile-mode',
     dict(
         default=None,
         help='torch.compile mode of the compile mode (inductor only), '
         "e.g. reduce-overhead; default: torch's default, as "
         'tools/test.py --compile')),
    ('--gpu-cudnn-benchmark',
     dict(
         action='store_true',
         help='torch.backends.cudnn.benchmark on (the configs have '
         'env_cfg.cudnn_benchmark=False)')),
    ('--gpu-time-budget',
     dict(
         type=float,
         default=None,
         help='seconds: start no variant after this (its row says so)')),
    ('--gpu-rows-jsonl',
     dict(
         default=None,
         help='also append every row to this JSON-lines file as soon as it '
         'is measured (kept if the run is cut short)')),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--gpu-*`` options to benchmark.py's parser."""
    group = parser.add_argument_group(
        'gpu', 'the gpu suite (--size, --batch, --repeats and --warmup do '
        'not apply to it)')
    for flag, kwargs in OPTIONS:
        group.add_argument(flag, **kwargs)


def check_arguments(args: argparse.Namespace, error: Callable[[str],
                                                              None]) -> None:
    """Validate the ``--gpu-*`` options (``error`` is ``parser.error``)."""
    if args.gpu_models is not None:
        args.gpu_train_models = list(args.gpu_models)
        args.gpu_infer_models = list(args.gpu_models)
    # Canonical order, once each: the references of the ratios (fp32,
    # contiguous; eager) are measured first.
    args.gpu_train_models = list(dict.fromkeys(args.gpu_train_models))
    args.gpu_infer_models = list(dict.fromkeys(args.gpu_infer_models))
    args.gpu_precisions = [p for p in PRECISIONS if p in args.gpu_precisions]
    args.gpu_memory_formats = [
        f for f in MEMORY_FORMATS if f in args.gpu_memory_formats
    ]
    args.gpu_infer_modes = [
        m for m in INFER_MODES if m in args.gpu_infer_modes
    ]
    args.gpu_infer_batches = list(dict.fromkeys(args.gpu_infer_batches))
    for name in ('gpu_size', 'gpu_batch', 'gpu_steps', 'gpu_infer_steps'):
        if getattr(args, name) < 1:
            error(f'--{name.replace("_", "-")} must be >= 1')
    if args.gpu_size < 32:
        error('--gpu-size must be >= 32 (the backbones downsample 32x)')
    if args.gpu_batch < 2:
        error(f'--gpu-batch {args.gpu_batch}: training needs a batch of at '
              'least 2 (batch norm after global pooling)')
    if any(b < 1 for b in args.gpu_infer_batches):
        error('--gpu-infer-batches must all be >= 1')
    if args.gpu_warmup < 0:
        error('--gpu-warmup must be >= 0')
    if args.gpu_time_budget is not None and args.gpu_time_budget <= 0:
        error('--gpu-time-budget must be > 0 seconds')


def settings(args: argparse.Namespace) -> dict:
    """Settings of the suite for the report's header."""
    return dict(
        size=f'{args.gpu_size}x{args.gpu_size}',
        train_batch=args.gpu_batch,
        infer_batches=' '.join(str(b) for b in args.gpu_infer_batches),
        steps=args.gpu_steps,
        infer_steps=args.gpu_infer_steps,
        warmup=args.gpu_warmup,
        train_models=' '.join(args.gpu_train_models) or 'none',
        infer_models=' '.join(args.gpu_infer_models) or 'none',
        precisions=' '.join(args.gpu_precisions),
        memory_formats=' '.join(args.gpu_memory_formats),
        infer_modes=' '.join(args.gpu_infer_modes),
        compile=_compile_label(args),
        cudnn_benchmark=args.gpu_cudnn_benchmark,
        time_budget_s=args.gpu_time_budget)


def _compile_label(args: argparse.Namespace) -> str:
    mode = args.gpu_compile_mode or 'default'
    return f'backend {args.gpu_compile_backend}, mode {mode}, dynamic False'


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def log(msg: str) -> None:
    print(f'[benchmark gpu] {msg}', flush=True)


# ----------------------------------------------------------------------------
# the suite
# ----------------------------------------------------------------------------
class _Run:
    """Rows, context and time budget of one suite run."""

    def __init__(self, args: argparse.Namespace, ctx: dict) -> None:
        self.args = args
        self.ctx = ctx
        self.device = ctx['torch_device']
        self.device_name = device_name(self.device)
        self.started = time.perf_counter()
        self.rows: List[dict] = []
        #: (model label, batch) -> images/s of the eager tensor path
        self.infer_reference: Dict[Tuple[str, int], float] = {}
        self.jsonl = args.gpu_rows_jsonl
        if self.jsonl:
            os.makedirs(osp.dirname(osp.abspath(self.jsonl)), exist_ok=True)
            open(self.jsonl, 'w').close()

    def seeded_model(self, key: str) -> torch.nn.Module:
        """A model of :data:`MODELS` with random weights from ``--seed``,
        padding to ``--gpu-size`` (the configs pad training batches to
        their crop size)."""
        torch.manual_seed(self.args.seed)
        return build_model(
            repo_path(MODELS[key][1]),
            device=self.device,
            cfg_options=measure.pad_to(self.args.gpu_size))

    def over_budget(self) -> Optional[str]:
        budget = self.args.gpu_time_budget
        if budget is None or time.perf_counter() - self.started < budget:
            return None
        return (f'not run: the --gpu-time-budget of {budget:g} s was used '
                'up; raise it or select fewer variants')

    def settings(self, **kwargs) -> dict:
        return dict(
            device_name=self.device_name,
            size=f'{self.args.gpu_size}x{self.args.gpu_size}',
            **kwargs)

    def add_figure(self,
                   name: str,
                   metric: str,
                   value,
                   unit: str,
                   settings: dict,
                   config: str,
                   note: Optional[str] = None) -> dict:
        """A row without a baseline; ``note`` says why it has no value."""
        return self.add(
            name,
            metric,
            value,
            unit,
            note=note,
            settings=settings,
            details=dict(config=config))

    def add(self, name: str, metric: str, value, unit: str, **kwargs) -> dict:
        row = make_row(SUITE, name, metric, value, unit, self.ctx, **kwargs)
        self.rows.append(row)
        if self.jsonl:
            with open(self.jsonl, 'a') as f:
                f.write(json.dumps(row) + '\n')
        shown = '-' if row['value'] is None else f'{row["value"]:.4g}'
        extra = f' ({row["note"]})' if row.get('note') else ''
        log(f'{name} | {metric}: {shown} {unit}{extra}')
        return row


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Run the gpu suite.

    Args:
        args (argparse.Namespace): benchmark.py's options (``--gpu-*``,
            ``--seed``).
        ctx (dict): Run context: ``device`` (text), ``command`` and
            ``torch_device``.

    Returns:
        list[dict]: The rows.
    """
    state = _Run(args, ctx)
    cudnn_before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = bool(args.gpu_cudnn_benchmark)
    try:
        num = max([args.gpu_batch] + list(args.gpu_infer_batches))
        if args.gpu_train_models or args.gpu_infer_models:
            log(f'{num} synthetic {args.gpu_size}x{args.gpu_size} images on '
                f'{state.device_name}')
            images = synthetic_samples(num, args.gpu_size, args.seed)
        for key in args.gpu_train_models:
            train_model_rows(state, key, images)
        if args.gpu_infer_models:
            infer_rows(state, images)
    finally:
        torch.backends.cudnn.benchmark = cudnn_before
    return state.rows
