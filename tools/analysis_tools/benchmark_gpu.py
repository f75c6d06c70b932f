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
"""
import argparse
import contextlib
import copy
import gc
import json
import math
import os
import os.path as osp
import statistics
import time
import traceback
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from benchmark_core import make_row
from fosp_complexity import build_model as build_offline_model
from fosp_complexity import load_offline_config

SUITE = 'gpu'
REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

#: Models the suite can run: key -> (label, config). The same configs as
#: the MODELS table of benchmark.py.
GPU_MODELS = {
    'fosp_r50': ('FoSp R50',
                 'configs/fosp/fosp_r50_4xb2-40k_smoke5k-512x512.py'),
    'transbvm_r50':
    ('Trans-BVM R50',
     'configs/transbvm/transbvm_r50_1xb6-50e_smoke5k-480x480.py'),
    'deeplabv3plus_r50':
    ('DeepLabV3+ R50-D8',
     'configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py'),
    'fosp_mit-b0': ('FoSp MiT-B0 (light)',
                    'configs/fosp/fosp_mit-b0_1xb4-800_synthetic-256x256.py'),
    'transbvm_mit-b0':
    ('Trans-BVM MiT-B0 (light)',
     'configs/transbvm/transbvm_mit-b0_1xb4-2k_synthetic-256x256.py'),
    'segformer_mit-b0':
    ('SegFormer MiT-B0',
     'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py'),
}
TRAIN_MODELS = ('fosp_r50', 'transbvm_r50', 'deeplabv3plus_r50')
INFER_MODELS = ('fosp_mit-b0', 'transbvm_mit-b0', 'fosp_r50')
PRECISIONS = ('fp32', 'bf16', 'fp16')
MEMORY_FORMATS = ('contiguous', 'channels_last')
INFER_MODES = ('eager', 'predict', 'cudagraph', 'compile')
AMP_DTYPES = {'bf16': 'bfloat16', 'fp16': 'float16'}
#: Row names of the inference paths and modes.
PATH_NAMES = {'tensor': 'tensor path', 'predict': 'predict'}
MODE_NAMES = {
    'eager': 'eager',
    'predict': 'eager',
    'cudagraph': 'CUDA graph',
    'compile': 'compiled'
}
GIB = float(1 << 30)

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
# command line (called by benchmark.py)
# ----------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--gpu-*`` options to benchmark.py's parser."""
    group = parser.add_argument_group(
        'gpu', 'the gpu suite (--size, --batch, --repeats and --warmup do '
        'not apply to it)')
    group.add_argument(
        '--gpu-models',
        nargs='+',
        choices=tuple(GPU_MODELS),
        default=None,
        help='models of both parts (overrides --gpu-train-models and '
        '--gpu-infer-models)')
    group.add_argument(
        '--gpu-train-models',
        nargs='*',
        choices=tuple(GPU_MODELS),
        default=list(TRAIN_MODELS),
        help='models of the training part (none: skip it)')
    group.add_argument(
        '--gpu-infer-models',
        nargs='*',
        choices=tuple(GPU_MODELS),
        default=list(INFER_MODELS),
        help='models of the inference part (none: skip it)')
    group.add_argument(
        '--gpu-size', type=int, default=512, help='square input side')
    group.add_argument(
        '--gpu-batch', type=int, default=16, help='training batch')
    group.add_argument(
        '--gpu-infer-batches',
        type=int,
        nargs='+',
        default=[1, 16],
        help='inference batches')
    group.add_argument(
        '--gpu-steps', type=int, default=10, help='timed training steps')
    group.add_argument(
        '--gpu-infer-steps',
        type=int,
        default=20,
        help='timed inference calls')
    group.add_argument(
        '--gpu-warmup',
        type=int,
        default=3,
        help='untimed steps/calls before the timed ones')
    group.add_argument(
        '--gpu-precisions',
        nargs='+',
        choices=PRECISIONS,
        default=list(PRECISIONS),
        help='training precisions')
    group.add_argument(
        '--gpu-memory-formats',
        nargs='+',
        choices=MEMORY_FORMATS,
        default=list(MEMORY_FORMATS),
        help='training memory formats')
    group.add_argument(
        '--gpu-infer-modes',
        nargs='+',
        choices=INFER_MODES,
        default=list(INFER_MODES),
        help='inference modes')
    group.add_argument(
        '--gpu-compile-backend',
        default='inductor',
        help='torch.compile backend of the compile mode')
    group.add_argument(
        '--gpu-compile-mode',
        default=None,
        help='torch.compile mode of the compile mode (inductor only), e.g. '
        'reduce-overhead; default: torch\'s default, as tools/test.py '
        '--compile')
    group.add_argument(
        '--gpu-cudnn-benchmark',
        action='store_true',
        help='torch.backends.cudnn.benchmark on (the configs have '
        'env_cfg.cudnn_benchmark=False)')
    group.add_argument(
        '--gpu-time-budget',
        type=float,
        default=None,
        help='seconds: start no variant after this (its row says so)')
    group.add_argument(
        '--gpu-rows-jsonl',
        default=None,
        help='also append every row to this JSON-lines file as soon as it '
        'is measured (kept if the run is cut short)')


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


def suite_settings(args: argparse.Namespace) -> dict:
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


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def log(msg: str) -> None:
    print(f'[benchmark gpu] {msg}', flush=True)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (no-op on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    elif device.type == 'mps':
        torch.mps.synchronize()


def device_name(device: torch.device) -> str:
    """``torch.cuda.get_device_name`` on CUDA, else the device type."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return device.type


def release(device: torch.device) -> None:
    """Free the memory of the objects the caller has just dropped."""
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def error_text(err: BaseException, limit: int = 400) -> str:
    """One line: the exception type and the start of its message."""
    text = ' '.join(str(err).split())
    if len(text) > limit:
        text = text[:limit] + ' ...'
    return f'{type(err).__name__}: {text}'


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


def _compile_label(args: argparse.Namespace) -> str:
    mode = args.gpu_compile_mode or 'default'
    return f'backend {args.gpu_compile_backend}, mode {mode}, dynamic False'


def compile_options(args: argparse.Namespace) -> dict:
    """``torch.compile`` arguments of the compile mode."""
    options = dict(backend=args.gpu_compile_backend, dynamic=False)
    if args.gpu_compile_mode:
        options['mode'] = args.gpu_compile_mode
    return options


def build_model(key: str, device: torch.device, size: int,
                seed: int) -> torch.nn.Module:
    """A model of :data:`GPU_MODELS`, offline, with seeded random weights.

    The data pre-processor pads to ``size`` (the configs pad training
    batches to their crop size).
    """
    cfg = load_offline_config(osp.join(REPO, GPU_MODELS[key][1]))
    if 'data_preprocessor' in cfg.model:
        cfg.model.data_preprocessor.size = (size, size)
    torch.manual_seed(seed)
    return build_offline_model(cfg, device)


def optim_config(key: str):
    """The ``optim_wrapper`` config of a model's config."""
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO, GPU_MODELS[key][1])).optim_wrapper


def synthetic_images(num: int, size: int,
                     seed: int) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``num`` synthetic smoke images (BGR uint8) and masks ({0, 1})."""
    from mmsmoke.datasets.synthetic import SyntheticSmokeGenerator
    gen = SyntheticSmokeGenerator(img_size=(size, size), seed=seed)
    out = []
    index = 0
    while len(out) < num:
        sample = gen.sample(index)
        index += 1
        if not sample['mask'].any() and index < 10 * num:
            continue  # smoke in every image: every loss term is active
        out.append((np.ascontiguousarray(sample['img'][..., ::-1]),
                    sample['mask'].astype(np.int64)))
    return out


def train_data(images: Sequence[Tuple[np.ndarray, np.ndarray]],
               device: torch.device) -> dict:
    """A ``train_step`` batch (uint8 images, data samples) on ``device``."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    inputs, samples = [], []
    for img, mask in images:
        h, w = mask.shape
        inputs.append(
            torch.from_numpy(img.transpose(2, 0, 1).copy()).to(device))
        sample = SegDataSample(
            gt_sem_seg=PixelData(data=torch.from_numpy(mask)[None]))
        sample.set_metainfo(
            dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        samples.append(sample.to(device))
    return dict(inputs=inputs, data_samples=samples)


def normalised_batch(model: torch.nn.Module,
                     images: Sequence[Tuple[np.ndarray, np.ndarray]],
                     device: torch.device) -> torch.Tensor:
    """Images through the model's data pre-processor (test mode)."""
    inputs = [
        torch.from_numpy(img.transpose(2, 0, 1).copy()).to(device)
        for img, _ in images
    ]
    with torch.no_grad():
        return model.data_preprocessor(dict(inputs=inputs), False)['inputs']


def max_abs_diff(a, b) -> Optional[float]:
    """Largest absolute difference of two tensors or tuples of tensors."""
    a = a if isinstance(a, (tuple, list)) else (a, )
    b = b if isinstance(b, (tuple, list)) else (b, )
    if len(a) != len(b):
        return None
    diffs = [(x.float() - y.float()).abs().max().item() for x, y in zip(a, b)
             if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)]
    return max(diffs) if diffs else None


def time_calls(fn: Callable[[], object],
               device: torch.device,
               steps: int,
               warmup: int,
               after: Optional[Callable[[], None]] = None) -> dict:
    """Time ``steps`` calls of ``fn`` after ``warmup`` untimed ones.

    Each call is timed between two device synchronisations (a training
    loop synchronises every step when it logs the losses). The peak
    memory counter is reset before the timed calls.

    Args:
        fn (Callable): What to time.
        device (torch.device): Device to synchronise.
        steps (int): Timed calls (>= 1).
        warmup (int): Untimed calls before them.
        after (Callable, optional): Called after every call, untimed.

    Returns:
        dict: ``times`` (s), ``median``, ``mean``, ``best`` (s),
        ``peak_bytes`` (CUDA only, else None) and ``last``, the last
        call's result.
    """
    result = None
    for _ in range(warmup):
        result = fn()
        if after is not None:
            after()
    synchronize(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(steps):
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
        if after is not None:
            after()
    peak = (
        torch.cuda.max_memory_allocated(device)
        if device.type == 'cuda' else None)
    return dict(
        times=times,
        median=statistics.median(times),
        mean=statistics.fmean(times),
        best=min(times),
        peak_bytes=peak,
        last=result)


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


def suite_gpu(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Run the gpu suite.

    Args:
        args (argparse.Namespace): benchmark.py's options (``--gpu-*``,
            ``--seed``).
        ctx (dict): Run context: ``device`` (text), ``command`` and
            ``torch_device``.

    Returns:
        list[dict]: The rows.
    """
    run = _Run(args, ctx)
    cudnn_before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = bool(args.gpu_cudnn_benchmark)
    try:
        num = max([args.gpu_batch] + list(args.gpu_infer_batches))
        if args.gpu_train_models or args.gpu_infer_models:
            log(f'{num} synthetic {args.gpu_size}x{args.gpu_size} images on '
                f'{run.device_name}')
            images = synthetic_images(num, args.gpu_size, args.seed)
        for key in args.gpu_train_models:
            train_model_rows(run, key, images)
        if args.gpu_infer_models:
            infer_rows(run, images)
    finally:
        torch.backends.cudnn.benchmark = cudnn_before
    return run.rows


# --------------------------------------------------------------- training
def train_model_rows(run: _Run, key: str, images) -> None:
    """All precision x memory-format rows of one model."""
    args, device = run.args, run.device
    label, config = GPU_MODELS[key]
    batch = args.gpu_batch
    data = train_data(images[:batch], device)
    optim_cfg = optim_config(key)
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
            if reason is not None:
                run.add(
                    name,
                    'train images/s',
                    None,
                    'img/s',
                    note=reason,
                    settings=settings,
                    details=dict(config=config))
                continue
            try:
                if model is None:
                    model = build_model(key, device, args.gpu_size, args.seed)
                    if fmt == 'channels_last':
                        from mmsmoke.engine.speed import to_channels_last
                        to_channels_last(model)
                    initial = copy.deepcopy(model.state_dict())
                else:
                    model.load_state_dict(initial)
                res = _measure_train(model, optim_cfg, precision, data, device,
                                     args.gpu_steps, args.gpu_warmup)
            except Exception as err:  # noqa: BLE001 (a row, not a crash)
                traceback.print_exc()
                run.add(
                    name,
                    'train images/s',
                    None,
                    'img/s',
                    note=f'failed: {error_text(err)}',
                    settings=settings,
                    details=dict(config=config))
                model = None
                release(device)
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
            run.add(
                name,
                'train step time',
                1e3 * res['median'],
                'ms/step',
                settings=settings,
                details=dict(config=config))
            if device.type == 'cuda':
                run.add(
                    name,
                    'train peak memory',
                    details['peak_memory_gib'],
                    'GiB',
                    settings=settings,
                    details=dict(config=config))
        del model
        release(device)


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


# -------------------------------------------------------------- inference
def infer_rows(run: _Run, images) -> None:
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


def _infer_model(run: _Run, key: str, images, modes: Sequence[str]) -> None:
    args, device = run.args, run.device
    label, config = GPU_MODELS[key]
    reason = run.over_budget()
    model = None
    build_error = None
    if reason is None:
        try:
            model = build_model(key, device, args.gpu_size, args.seed)
            model.eval()
        except Exception as err:  # noqa: BLE001
            traceback.print_exc()
            build_error = f'failed: {error_text(err)}'
    compiled = None  # names of the compiled parts, or the compile error
    for batch in args.gpu_infer_batches:
        x = None
        if model is not None:
            x = normalised_batch(model, images[:batch], device)
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
                if skip is not None:
                    run.add(
                        name,
                        'inference images/s',
                        None,
                        'img/s',
                        note=skip,
                        settings=settings,
                        details=dict(config=config))
                    continue
                try:
                    if mode == 'compile' and compiled is None:
                        compiled = _compile(run, model)
                    res = _measure_infer(run, model, x, mode, path)
                except Exception as err:  # noqa: BLE001
                    traceback.print_exc()
                    text = f'failed: {error_text(err)}'
                    if mode == 'compile':
                        compiled = (f'skipped: compile failed at batch '
                                    f'{batch}, {path} path ({text})')
                    run.add(
                        name,
                        'inference images/s',
                        None,
                        'img/s',
                        note=text,
                        settings=settings,
                        details=dict(config=config))
                    release(device)
                    continue
                _infer_row(run, label, name, batch, res, settings, config)
        del x
    del model
    if 'compile' in modes and hasattr(torch, '_dynamo'):
        torch._dynamo.reset()
    release(device)


def _compile(run: _Run, model: torch.nn.Module):
    from mmsmoke.engine.speed import compile_submodules
    return compile_submodules(model, compile_options(run.args))


def _measure_infer(run: _Run, model: torch.nn.Module, x: torch.Tensor,
                   mode: str, path: str) -> dict:
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


def _infer_row(run: _Run, label: str, name: str, batch: int, res: dict,
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
    run.add(
        name,
        'inference latency',
        1e3 * res['median'],
        'ms/batch',
        settings=settings,
        details=dict(config=config))
