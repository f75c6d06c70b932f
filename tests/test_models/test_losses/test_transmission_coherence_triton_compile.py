"""Compile the Triton kernel of the transmission loss for CUDA, on the CPU.

Triton's wheel ships ``ptxas``, so the kernel compiles to sm_80 / sm_90
cubins without a GPU. The interpreter tests of
``test_transmission_coherence_triton.py`` cannot show this: the
interpreter does not apply all of the compiler's rules (it let a
``tl.constexpr`` name be bound again in each unrolled iteration, which the
compiler refuses), so a kernel that passes them may still fail at the
first training step on a GPU.

Every variant that ``impl='auto'`` launches for the shipped configs is
compiled: for each config whose ``model.pixel_losses`` holds
``TransmissionCoherenceLoss``, its channel count (the decode head's
``out_channels``), window (``kernel_size``) and loss-map size (the
pre-processor's ``size`` times the loss's ``scale_factor``), with
float32, float16 and bfloat16 maps, with and without the gradient. The
arguments come from :func:`kernel_launch`, which the launcher uses too,
and are specialised by Triton's own binder (as a launch does: e.g.
``n_wtiles == 1`` becomes a constant, sizes divisible by 16 get a
divisibility hint), so what is compiled is what a GPU run would compile.
Identical specialisations are compiled once. Each test uses a fresh Triton
cache, so it really compiles.
"""
import glob
import inspect
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import torch

from mmsmoke.models.losses import transmission_coherence_triton as tct
from mmsmoke.models.losses.transmission_coherence_loss import \
    TransmissionCoherenceLoss

ROOT = Path(__file__).resolve().parents[3]
#: Compute capabilities compiled for: A100 (sm_80) and H100/H200 (sm_90).
ARCHS = (80, 90)
#: The dtypes ``impl='auto'`` sends to the kernel.
DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _skip_reason() -> Optional[str]:
    """Why CUDA kernels cannot be compiled here, or None."""
    if not tct.triton_available():
        return 'triton is not importable'
    if tct.triton_interpreting():
        return ('TRITON_INTERPRET=1: triton.jit gives interpreted '
                'functions, there is nothing to compile')
    try:
        from triton.backends import backends
        from triton.backends.nvidia.compiler import get_ptxas
    except ImportError as err:
        return f'triton has no CUDA backend ({err})'
    if 'nvidia' not in backends:
        return 'triton has no CUDA backend'
    for arch in ARCHS:
        try:
            get_ptxas(arch).path
        except Exception as err:  # RuntimeError('Cannot find ptxas')
            return f'no ptxas for sm_{arch}: {err}'
    # The binder of JITFunction.run, reused below to specialise as a launch.
    from triton.runtime import jit
    if not hasattr(jit, 'create_function_from_signature'):
        return ("this triton's launcher has no create_function_from_signature"
                ' to specialise the arguments with')
    kernel = tct._coherence_kernel
    missing = [
        a for a in ('signature', 'params', '_pack_args')
        if not hasattr(kernel, a)
    ]
    if missing:
        return f"this triton's JITFunction has no {missing}"
    return None


SKIP_REASON = _skip_reason()
pytestmark = pytest.mark.skipif(
    SKIP_REASON is not None, reason=str(SKIP_REASON))


def _loss_defaults() -> Dict[str, object]:
    params = inspect.signature(TransmissionCoherenceLoss.__init__).parameters
    return {
        k: p.default
        for k, p in params.items() if p.default is not inspect.Parameter.empty
    }


def shipped_loss_maps() -> Dict[tuple, List[str]]:
    """The inputs of the kernel in the shipped configs.

    Returns:
        dict: ``(n, c, h, w, kernel_size, sigma_xy, kernel_weight)`` to the
        configs (relative paths) that train with it.
    """
    from mmengine.config import Config
    defaults = _loss_defaults()
    found: Dict[tuple, List[str]] = {}
    for path in sorted(
            glob.glob(str(ROOT / 'configs' / '**' / '*.py'), recursive=True)):
        rel = str(Path(path).relative_to(ROOT))
        if '_base_' in Path(rel).parts:
            continue
        cfg = Config.fromfile(path)
        model = cfg.get('model') or {}
        losses = model.get('pixel_losses') or []
        if isinstance(losses, dict):
            losses = [losses]
        losses = [
            loss for loss in losses
            if loss.get('type') == 'TransmissionCoherenceLoss'
        ]
        if not losses:
            continue
        head = model['decode_head']
        c = head.get('out_channels') or head['num_classes']
        size = (model.get('data_preprocessor') or {}).get('size') \
            or cfg.get('crop_size')
        assert size is not None, (
            f'{rel}: neither model.data_preprocessor.size nor crop_size is '
            'set, so the size of the transmission loss maps is unknown; '
            'extend shipped_loss_maps')
        n = cfg.train_dataloader.batch_size
        for loss in losses:
            arg = dict(defaults, **loss)
            scale = float(arg['scale_factor'])
            h, w = (max(1, round(s * scale)) for s in size)
            key = (n, c, h, w, arg['kernel_size'], float(arg['sigma_xy']),
                   float(arg['kernel_weight']))
            found.setdefault(key, []).append(rel)
    return found


@pytest.fixture(scope='module')
def launches() -> List[Tuple[str, tct.KernelLaunch]]:
    """``(description, launch)`` of every shipped map, dtype and NEED_GRAD."""
    maps = shipped_loss_maps()
    assert maps, ('no config in configs/ trains with TransmissionCoherenceLoss'
                  ' in model.pixel_losses: nothing to compile')
    out = []
    for (n, c, h, w, ks, sigma_xy, kernel_weight), configs in maps.items():
        for dtype in DTYPES:
            # As transmission_coherence hands them over: all maps in the
            # dtype of the probabilities, contiguous, freshly allocated.
            prob = torch.empty(n, c, h, w, dtype=dtype)
            ts = torch.empty(n, 1, h, w, dtype=dtype)
            centre = torch.empty(n, 1, h, w, dtype=dtype)
            for need_grad in (True, False):
                launch = tct.kernel_launch(prob, ts, centre, ks, sigma_xy,
                                           kernel_weight, need_grad)
                what = (f'{tuple(prob.shape)} {dtype} kernel_size={ks} '
                        f'NEED_GRAD={need_grad} ({", ".join(configs)})')
                out.append((what, launch))
    return out


def test_auto_dtypes_are_compiled():
    # A dtype added to impl='auto' must be added to DTYPES.
    assert set(tct._AUTO_DTYPES) == set(DTYPES)


@pytest.mark.filterwarnings('ignore:TRITON_DEFAULT_FP_FUSION')
@pytest.mark.parametrize('arch', ARCHS)
def test_kernel_compiles_for_every_shipped_launch(arch, launches, monkeypatch,
                                                  tmp_path):
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, make_backend
    from triton.runtime.jit import create_function_from_signature

    monkeypatch.setenv('TRITON_CACHE_DIR', str(tmp_path))
    kernel = tct._coherence_kernel
    target = GPUTarget('cuda', arch, 32)
    backend = make_backend(target)
    binder = create_function_from_signature(kernel.signature, kernel.params,
                                            backend)
    variants: Dict[str, tuple] = {}
    for what, launch in launches:
        # The steps of JITFunction.run before it compiles.
        bound, spec, opts = binder(*launch.args, **launch.meta)
        options, signature, constexprs, attrs = kernel._pack_args(
            backend, dict(launch.meta), bound, spec, opts)
        key = repr((sorted(signature.items()), sorted(constexprs.items()),
                    sorted(attrs.items()), sorted(options.__dict__.items())))
        if key in variants:
            variants[key][0].append(what)
        else:
            variants[key] = ([what], signature, constexprs, attrs, options)
    failures = []
    start = time.perf_counter()
    for whats, signature, constexprs, attrs, options in variants.values():
        what = whats[0] if len(whats) == 1 \
            else f'{whats[0]} and {len(whats) - 1} more launches'
        try:
            compiled = triton.compile(
                ASTSource(kernel, signature, constexprs, attrs),
                target=target,
                options=options.__dict__)
            assert compiled.asm.get('cubin'), 'no cubin'
        except Exception as err:
            failures.append(f'sm_{arch} {what}: {tct._summary(err)}')
    seconds = time.perf_counter() - start
    print(f'sm_{arch}: {len(variants)} kernel variants from '
          f'{len(launches)} launches compiled in {seconds:.1f} s')
    assert not failures, '\n'.join(failures)
