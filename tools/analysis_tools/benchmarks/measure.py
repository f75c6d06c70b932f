"""What the timing suites measure with: machine, models, batches, timers.

The models are built offline from their configs (no pretrained weights,
SyncBN replaced by BN); the batches are synthetic smoke images.
"""
import gc
import os
import platform
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

import benchmark_transmission_loss as loss_bench
from .core import log, make_row, repo_path, selected

GIB = float(1 << 30)
#: Models of the timing suites: key -> (label, config).
MODELS = {
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
#: (model, baseline, goal on the ratio) of train_step and inference.
PAIRS = (
    ('fosp_r50', 'deeplabv3plus_r50', 'ratio <= 1.3'),
    ('transbvm_r50', 'deeplabv3plus_r50', 'ratio <= 1.5'),
    ('fosp_mit-b0', 'segformer_mit-b0', None),
    ('transbvm_mit-b0', 'segformer_mit-b0', None),
)


def selected_pairs(pattern: Optional[str]) -> List[Tuple[str, str, str]]:
    """The pairs whose model key ``--match`` finds."""
    keys = selected([p[0] for p in PAIRS], pattern)
    return [p for p in PAIRS if p[0] in keys]


def timed_pairs(args, device: torch.device,
                prepare: Callable[[str], Tuple[Callable[[], None], dict]],
                suite: str, detail: str) -> Iterator[tuple]:
    """Time the two models of each selected pair, alternating run by run.

    Args:
        args (argparse.Namespace): ``match``, ``repeats`` and ``warmup``.
        device (torch.device): Device to synchronise.
        prepare (Callable): Builds a model of :data:`MODELS` by key and
            returns the function to time and a dict of facts about it.
        suite (str): Name for the progress line.
        detail (str): The sizes, for the progress line.

    Yields:
        tuple: ``key``, ``base_key``, ``goal``, the times
        (``benchmark_transmission_loss.time_interleaved`` by key) and the
        facts by key; the models are released after each pair.
    """
    for key, base_key, goal in selected_pairs(args.match):
        fns, facts = {}, {}
        for k in (key, base_key):
            fns[k], facts[k] = prepare(k)
        log(f'{suite}: {key} vs {base_key} {detail}')
        times = loss_bench.time_interleaved(fns, device, args.repeats,
                                            args.warmup)
        yield key, base_key, goal, times, facts
        del fns, facts
        release()


def pair_row(suite: str, key: str, base_key: str, metric: str, value: float,
             baseline: float, unit: str, ctx: dict, **kwargs) -> dict:
    """A row of a model against its baseline, ratio = value / baseline."""
    return make_row(
        suite,
        MODELS[key][0],
        metric,
        value,
        unit,
        ctx,
        baseline=baseline,
        baseline_name=MODELS[base_key][0],
        ratio=value / baseline,
        ratio_def='value / baseline',
        **kwargs)


def timing_settings(args, **sizes) -> dict:
    """Header settings of a timing suite: its sizes, repeats and warm-up."""
    return dict(sizes, repeats=args.repeats, warmup=args.warmup)


# ----------------------------------------------------------------------------
# the machine
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


def device_name(device: torch.device) -> str:
    """``torch.cuda.get_device_name`` on CUDA, else the device type."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return device.type


def release() -> None:
    """Free the memory of the models the caller has just deleted."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ----------------------------------------------------------------------------
# models and batches
# ----------------------------------------------------------------------------
def pad_to(size: Optional[int]) -> dict:
    """``cfg_options`` of :func:`mmsmoke.apis.build_model` that make the
    data pre-processor pad to ``size x size`` (the configs pad training
    batches to their crop size); none for None."""
    return {} if size is None else {
        'model.data_preprocessor.size': (size, size)
    }


def optim_config(config: str):
    """The ``optim_wrapper`` of a config."""
    from mmengine.config import Config
    return Config.fromfile(repo_path(config)).optim_wrapper


def config_crop(config: str) -> Optional[int]:
    """The ``crop_size`` side a config declares, if any."""
    from mmengine.config import Config
    crop = Config.fromfile(repo_path(config)).get('crop_size')
    return int(crop[0]) if crop else None


def synthetic_samples(num: int,
                      size: int,
                      seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``num`` synthetic smoke images (BGR uint8) and masks ({0, 1}).

    In a batch (``num`` > 1) every image has smoke, so that every loss term
    is active.
    """
    from mmsmoke.datasets.synthetic import SyntheticSmokeGenerator
    gen = SyntheticSmokeGenerator(img_size=(size, size), seed=seed)
    out = []
    index = 0
    while len(out) < num:
        sample = gen.sample(index)
        index += 1
        if num > 1 and not sample['mask'].any() and index < 10 * num:
            continue
        out.append((np.ascontiguousarray(sample['img'][..., ::-1]),
                    sample['mask'].astype(np.int64)))
    return out


def _chw(img: np.ndarray, device: Optional[torch.device]) -> torch.Tensor:
    tensor = torch.from_numpy(img.transpose(2, 0, 1).copy())
    return tensor if device is None else tensor.to(device)


def train_batch(samples: Sequence[Tuple[np.ndarray, np.ndarray]],
                device: Optional[torch.device] = None) -> dict:
    """A ``train_step`` data batch from (image, mask) pairs.

    Args:
        samples (Sequence[tuple]): BGR uint8 images and {0, 1} masks.
        device (torch.device, optional): Put the batch there (default:
            leave it on the CPU for the data pre-processor to move).
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    inputs, data_samples = [], []
    for img, mask in samples:
        h, w = mask.shape
        inputs.append(_chw(img, device))
        sample = SegDataSample(
            gt_sem_seg=PixelData(data=torch.from_numpy(mask)[None]))
        sample.set_metainfo(
            dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        data_samples.append(sample if device is None else sample.to(device))
    return dict(inputs=inputs, data_samples=data_samples)


def normalised_batch(model: torch.nn.Module,
                     imgs: Sequence[np.ndarray],
                     device: Optional[torch.device] = None) -> torch.Tensor:
    """BGR images through the model's data pre-processor (test mode)."""
    inputs = [_chw(img, device) for img in imgs]
    with torch.no_grad():
        return model.data_preprocessor(dict(inputs=inputs), False)['inputs']


def check_train_batch(batch: int) -> None:
    """Refuse a training batch that batch norm cannot train on."""
    if batch < 2:
        raise ValueError(
            f'--batch {batch}: training steps need a batch of at least 2 '
            '(batch norm after global pooling, e.g. in the ASPP image '
            'pooling of DeepLabV3+, cannot train on one sample)')


def train_step_fn(model: torch.nn.Module, optim,
                  data: dict) -> Callable[[], None]:
    """One ``model.train_step`` on ``data`` per call."""

    def run() -> None:
        model.train_step(data, optim)

    return run


# ----------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------
def time_calls(fn: Callable[[], object],
               device: torch.device,
               steps: int,
               warmup: int,
               after: Optional[Callable[[], None]] = None) -> dict:
    """``steps`` timed calls of one function: the timing loop
    (:func:`benchmark_transmission_loss.time_interleaved`) on it alone.

    Returns:
        dict: ``times`` (s), ``median``, ``mean``, ``best`` (s),
        ``peak_bytes`` (CUDA only, else None) and ``last``, the last
        call's result.
    """
    return loss_bench.time_interleaved({'fn': fn}, device, steps, warmup,
                                       after)['fn']
