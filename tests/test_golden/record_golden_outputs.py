"""Record the golden outputs of every shipped config.

For each config under ``configs/`` (every subfolder, ``_base_`` excluded)
the model is built offline (``model.pretrained=None``, backbone
``init_cfg=None``, SyncBN reverted to BN as in a one-process run), seeded
and initialised with ``init_weights()`` as the training tools do, and run on
a tiny deterministic CPU batch (2 images, 64x64 unless listed in
``SIZES``):

1. ``model.loss`` in train mode: every scalar of the loss dict, plus the
   total ``loss`` that ``parse_losses`` back-propagates;
2. one SGD step (lr 0.01, no momentum) on that total;
3. ``model.loss`` again on the same batch (the step's effect);
4. ``model.predict`` in eval mode: a summary of ``seg_logits`` (the
   probability for one-channel models), ``pred_sem_seg`` and every other
   ``pred_*`` map of each output sample: shape, sum, mean, std, min, max
   and the values at 8 fixed positions.

The global RNGs (``random``, ``numpy``, ``torch``) are seeded right before
building and before each of the three forward calls, so stochastic parts
(drop path, dropout, MC samples, latent sampling, FoSp's random inpainting
holes) are reproducible.

Everything runs in **float64**: the model is built with float64 as the
default dtype (its parameters, buffers and every tensor it makes without a
dtype are float64) and the pre-processed batch (network input and every
float map in the data samples) is cast to float64. In float32 the record depended on the CPU: oneDNN and MKL pick
other kernels (another reduction order, FMA or not) on AVX2 and AVX-512
machines and at other thread counts, and one SGD step amplified the
difference to a relative 1e-3 in the smallest losses. In float64 the same
kernel differences are about nine orders of magnitude smaller, so the
values hold across CPUs and thread counts at a tolerance (``REL_TOL``)
far tighter than any real change of a loss or a head.

The data pre-processor's pad ``size`` is set to the input size (the
configs pad to their crop size, 512x512 and so on, which would make this a
full-size run); everything else is the config as shipped. Slide-mode test
configs keep their ``test_cfg`` (their 640x640 window covers the input in
one window); a window smaller than the input would be set to the input
size and the record would say so in ``notes``.

``tests/test_golden/test_golden_outputs.py`` reruns the same procedure
(it imports this file) and compares with the recorded values. Rerun this
script only for a deliberate change of model outputs, and say so in the
commit::

    OMP_NUM_THREADS=1 python tests/test_golden/record_golden_outputs.py

``--configs`` re-records only the named configs (the others are kept);
``--out`` writes elsewhere (e.g. to compare two runs).
"""
import argparse
import contextlib
import json
import logging
import platform
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs'
GOLDEN_FILE = REPO / 'tests' / 'test_golden' / 'golden_outputs.json'

#: Input size (H, W) of every config not listed in ``SIZES``.
DEFAULT_SIZE = (64, 64)
#: Smaller inputs for configs too slow at DEFAULT_SIZE (path relative to
#: the repository). None so far: the slowest config (DeepLabV3+ with ten MC
#: passes of its head per step) takes about 4 s on one CPU thread.
SIZES: Dict[str, Tuple[int, int]] = {}
BATCH = 2
SEED = 0
LR = 0.01
#: Fixed probe positions, as fractions of (H, W); channel ``k % C``.
PROBES = ((0.1, 0.1), (0.1, 0.9), (0.5, 0.5), (0.9, 0.1), (0.9, 0.9),
          (0.3, 0.7), (0.7, 0.3), (0.25, 0.55))
#: Comparison tolerances of the golden test: |fresh - recorded| <=
#: max(REL_TOL * |recorded|, ABS_TOL). Loss values use LOSS_ABS_TOL: some
#: terms are tiny at initialisation (the transmission coherence loss is
#: about 1e-5, the calibrated entropy loss 3e-4), and a larger absolute
#: tolerance would let them change unnoticed. The values are float64
#: (see the module docstring): the largest relative spread measured
#: across kernels (SSE4.1/4.2 forced with ONEDNN_MAX_CPU_ISA and
#: MKL_ENABLE_INSTRUCTIONS against AVX2) and thread counts (1, 2) is
#: 3.5e-13 (docs/reliability.md), float32's was 1.2e-3. REL_TOL leaves a
#: margin of four orders of magnitude above the float64 spread and is
#: still a thousand times tighter than the float32 test's 1e-5.
REL_TOL = 1e-8
ABS_TOL = 1e-12
LOSS_ABS_TOL = 1e-15
#: Digits kept in the record: enough for REL_TOL.
DIGITS = 15
#: The dtype the golden procedure runs in.
DTYPE = torch.float64


def config_paths() -> List[str]:
    """Every shipped config, as a path relative to the repository."""
    return sorted(
        p.relative_to(REPO).as_posix() for p in CONFIG_DIR.rglob('*.py')
        if '_base_' not in p.relative_to(CONFIG_DIR).parts)


def input_size(path: str) -> Tuple[int, int]:
    return SIZES.get(path, DEFAULT_SIZE)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def register() -> None:
    from mmseg.utils import register_all_modules

    import mmsmoke  # noqa: F401
    register_all_modules(init_default_scope=True)


def load_config(path: str, size: Tuple[int, int]):
    """The config with pretrained weights off and the tiny pad size."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / path))
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    if cfg.model.get('data_preprocessor') is not None:
        cfg.model.data_preprocessor.size = tuple(size)
    return cfg


@contextlib.contextmanager
def quiet_logger():
    """Silence mmengine's per-parameter initialisation report."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def seeded_model(cfg) -> torch.nn.Module:
    """:func:`mmsmoke.apis.build_model`, initialised from a fixed seed.

    As in a one-process run of the training tool: SyncBN reverted to BN,
    then ``init_weights``.
    """
    from mmsmoke.apis import build_model
    seed_everything(SEED)
    with quiet_logger():
        model = build_model(cfg, device='cpu', init_weights=True)
    # parameters made with an explicit float32 (none today) follow too
    return model.to(torch.get_default_dtype())


def fit_slide_window(cfg, size: Tuple[int, int]) -> List[str]:
    """Make a slide-mode window cover the tiny input, if it does not.

    Returns:
        list[str]: Notes on what was changed (empty if nothing).
    """
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('mode', 'whole') != 'slide':
        return []
    crop = tuple(test_cfg['crop_size'])
    if crop[0] >= size[0] and crop[1] >= size[1]:
        return []
    test_cfg.crop_size = tuple(size)
    test_cfg.stride = tuple(size)
    return [
        f'slide crop_size {crop} < input {tuple(size)}: crop_size and '
        'stride set to the input size'
    ]


def make_batch(size: Tuple[int, int], num: int = BATCH) -> dict:
    """A deterministic uint8 BGR batch with binary labels and ignored pixels.

    Each label holds a smoke rectangle (about a quarter of the image) and a
    few ignored (255) pixels; the image is random, brighter and greyer over
    the smoke.
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    h, w = size
    gen = torch.Generator().manual_seed(1234)
    inputs, samples = [], []
    for i in range(num):
        label = torch.zeros(1, h, w, dtype=torch.long)
        label[:, h // 8 + 2 * i:h // 2 + h // 8,
              w // 4:w // 4 + w // 2 - 3 * i] = 1
        label[:, h - 3:h - 1, 2 + i:6 + i] = 255
        label[:, h // 4, w // 2 + i] = 255
        img = torch.randint(0, 256, (3, h, w), generator=gen)
        smoke = label[0] == 1
        img[:, smoke] = (img[:, smoke] + 3 * 200) // 4
        inputs.append(img.to(torch.uint8))
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(
            dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _f(value: float, digits: int = DIGITS) -> float:
    """A value rounded to ``digits`` significant digits."""
    return float(f'{float(value):.{digits}g}')


@contextlib.contextmanager
def golden_dtype():
    """Make :data:`DTYPE` the default dtype, and restore the old one."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(DTYPE)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def cast_batch(data: dict) -> dict:
    """The pre-processed batch in :data:`DTYPE`.

    The pre-processors make float32 (``.float()``, as MMSeg's does); the
    network input and every floating map written into the data samples
    are cast, integer labels are kept.
    """
    from mmengine.structures import PixelData
    inputs = data['inputs']
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.to(DTYPE)
    else:
        inputs = [x.to(DTYPE) for x in inputs]
    samples = data.get('data_samples')
    for sample in samples or ():
        for key in list(sample.keys()):
            value = sample.get(key)
            if isinstance(value, PixelData) and \
                    value.data.is_floating_point():
                sample.set_data({key: PixelData(data=value.data.to(DTYPE))})
    return dict(inputs=inputs, data_samples=samples)


def summarise_map(data: torch.Tensor) -> dict:
    """Shape, statistics and 8 probe values of a (C, H, W) map."""
    data = data.detach().cpu()
    c, h, w = data.shape
    flat = data.double()
    probes = []
    for k, (fy, fx) in enumerate(PROBES):
        probes.append(_f(data[k % c, int(fy * h), int(fx * w)]))
    return dict(
        shape=[c, h, w],
        dtype=str(data.dtype).replace('torch.', ''),
        sum=_f(flat.sum()),
        mean=_f(flat.mean()),
        std=_f(flat.std()),
        min=_f(flat.min()),
        max=_f(flat.max()),
        probes=probes)


def loss_record(losses: dict) -> dict:
    """Every scalar of a loss dict (lists of scalars are summed, as
    ``parse_losses`` does)."""
    out = {}
    for name, value in sorted(losses.items()):
        if isinstance(value, torch.Tensor):
            out[name] = _f(value.detach().double().mean())
        elif isinstance(value, (list, tuple)):
            out[name] = _f(sum(v.detach().double().mean() for v in value))
        else:
            out[name] = _f(value)
    return out


def sample_record(sample) -> dict:
    """``seg_logits`` and every ``pred_*`` map of one output sample."""
    out = {}
    for key in sorted(sample.keys()):
        if key == 'seg_logits' or key.startswith('pred_'):
            out[key] = summarise_map(sample.get(key).data)
    return out


def run_config(path: str) -> dict:
    """The golden record of one config (see the module docstring)."""
    with golden_dtype():
        return _record(path)


def _record(path: str) -> dict:
    size = input_size(path)
    cfg = load_config(path, size)
    config_mode = (cfg.model.get('test_cfg') or {}).get('mode', 'whole')
    notes = fit_slide_window(cfg, size)
    model = seeded_model(cfg)
    record = dict(
        input_size=list(size),
        batch=BATCH,
        segmentor=type(model).__name__,
        config_test_mode=config_mode,
        test_mode=(model.test_cfg or {}).get('mode', 'whole'),
        num_params=sum(p.numel() for p in model.parameters()),
    )
    if notes:
        record['notes'] = notes
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    model.train()
    seed_everything(SEED + 1)
    data = cast_batch(model.data_preprocessor(make_batch(size), True))
    losses = model.loss(**data)
    total, _ = model.parse_losses(losses)
    first = loss_record(losses)
    first['loss'] = _f(total.detach())
    record['loss_before_step'] = first
    optimizer.zero_grad()
    total.backward()
    optimizer.step()

    seed_everything(SEED + 2)
    data = cast_batch(model.data_preprocessor(make_batch(size), True))
    with torch.no_grad():
        losses = model.loss(**data)
        total, _ = model.parse_losses(losses)
    second = loss_record(losses)
    second['loss'] = _f(total)
    record['loss_after_step'] = second

    model.eval()
    seed_everything(SEED + 3)
    with torch.no_grad():
        # ``test_step`` without its cast: pre-process, then predict
        data = cast_batch(model.data_preprocessor(make_batch(size), False))
        results = model(**data, mode='predict')
    record['predict'] = [sample_record(s) for s in results]
    return record


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Record the golden outputs of every shipped config')
    parser.add_argument(
        '--configs',
        nargs='+',
        help='re-record only these configs (paths relative to the '
        'repository); the others are kept from --out')
    parser.add_argument(
        '--out', default=str(GOLDEN_FILE), help='output JSON file')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch CPU threads (the record does not depend on it; other '
        'counts are for measuring the spread)')
    return parser.parse_args(argv)


def dump(golden: dict, path: Path) -> None:
    text = json.dumps(golden, indent=1, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + '\n')


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    register()
    out = Path(args.out)
    every = config_paths()
    if args.configs:
        unknown = sorted(set(args.configs) - set(every))
        if unknown:
            sys.exit(f'not shipped configs: {unknown}')
        golden = json.loads(out.read_text()) if out.is_file() else {}
        configs = dict(golden.get('configs', {}))
        todo = args.configs
    else:
        configs, todo = {}, every
    for path in todo:
        start = time.perf_counter()
        configs[path] = run_config(path)
        print(f'{time.perf_counter() - start:6.2f}s  {path}', flush=True)
    golden = dict(
        meta=dict(
            torch=torch.__version__,
            machine=platform.machine(),
            dtype=str(DTYPE).replace('torch.', ''),
            default_input_size=list(DEFAULT_SIZE),
            seed=SEED,
            lr=LR,
            rel_tol=REL_TOL,
            abs_tol=ABS_TOL,
            loss_abs_tol=LOSS_ABS_TOL),
        configs={k: configs[k]
                 for k in sorted(configs) if k in every})
    dump(golden, out)
    print(f'wrote {len(golden["configs"])} configs to {out}')


if __name__ == '__main__':
    main()
