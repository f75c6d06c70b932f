"""The Triton path of the transmission coherence loss (Eq. 7-8).

Triton chooses between compiling and its CPU interpreter when it is
imported (``TRITON_INTERPRET``), and this test process has imported it
already (through mmsmoke) without the variable. The ``test_interp_*`` tests
therefore run in a subprocess started by
:func:`test_interpreter_cases_in_subprocess` with ``TRITON_INTERPRET=1``;
in this process they are skipped. ``TRITON_INTERPRET=1 pytest <this file>``
runs them directly. The interpreter is slow, so they use tiny maps. The
CUDA tests compare the compiled kernel with the CPU loop at 480x480.
"""
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from mmsmoke.models.losses import transmission_coherence_loss as tcl
from mmsmoke.models.losses import transmission_coherence_triton as tct
from mmsmoke.models.losses.transmission_coherence_loss import (
    TransmissionCoherenceLoss, _TransmissionCoherenceFunction,
    transmission_coherence)

INTERPRETING = tct.triton_interpreting()
needs_interpreter = pytest.mark.skipif(
    not INTERPRETING,
    reason='runs in the TRITON_INTERPRET=1 subprocess of '
    'test_interpreter_cases_in_subprocess')
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available() or not tct.triton_available()
    or INTERPRETING,
    reason='needs a CUDA GPU, triton, and compiled (not interpreted) kernels')


def make_inputs(shape, with_valid, dtype=torch.float64, seed=0, device='cpu'):
    """Random ``prob``, ``trans``, centre weight and ``valid`` (or None)."""
    n, c, h, w = shape
    gen = torch.Generator().manual_seed(seed)
    prob = torch.rand(n, c, h, w, generator=gen, dtype=torch.float64)
    trans = torch.rand(n, 1, h, w, generator=gen, dtype=torch.float64)
    # Any centre weight, not only 1 - T.
    centre = torch.rand(n, 1, h, w, generator=gen, dtype=torch.float64)
    valid = None
    if with_valid:
        valid = (torch.rand(n, 1, h, w, generator=gen) > 0.3).double()
        centre = centre * valid
        valid = valid.to(device, dtype)
    maps = [x.to(device, dtype) for x in (prob, trans, centre)]
    return (*maps, valid)


def value_and_grad(prob, trans, centre, valid, kernel_size, impl, **kw):
    prob = prob.detach().clone().requires_grad_(True)
    total = transmission_coherence(
        prob, trans, centre, valid, kernel_size=kernel_size, impl=impl, **kw)
    (grad, ) = torch.autograd.grad(total, prob)
    return total.detach(), grad


def half_against_float64(prob, trans, centre, kernel_size=5):
    """The kernel on half maps against the float64 loop on the same values.

    Both autograd functions get the same (rounded) scaled transmission and
    centre weight, so only the float32 sums and the rounding of the outputs
    to the half type differ.
    """
    dtype = prob.dtype
    ts = (trans.double() / (math.sqrt(2.0) * 0.1)).to(dtype)
    args = (kernel_size, 3.0, 0.1)
    p = prob.clone().requires_grad_(True)
    value = tct.TritonCoherenceFunction.apply(p, ts, centre, *args)
    (grad, ) = torch.autograd.grad(value, p)
    p64 = prob.double().requires_grad_(True)
    ref = _TransmissionCoherenceFunction.apply(p64, ts.double(),
                                               centre.double(), *args)
    (ref_grad, ) = torch.autograd.grad(ref, p64)
    assert value.dtype == grad.dtype == dtype
    # Relative rounding of the outputs: 2^-11 (float16), 2^-8 (bfloat16).
    tol = 4 * torch.finfo(dtype).eps
    assert value.item() == pytest.approx(ref.item(), rel=tol)
    torch.testing.assert_close(
        grad.double(), ref_grad, rtol=tol, atol=1e-6 * ref_grad.abs().max())


# ---------------------------------------------------------------- CPU, always


def test_impl_is_validated():
    with pytest.raises(ValueError, match='impl'):
        TransmissionCoherenceLoss(impl='cuda')
    prob, trans, centre, _ = make_inputs((1, 1, 3, 3), False)
    with pytest.raises(ValueError, match="impl must be one of"):
        transmission_coherence(prob, trans, centre, impl='unfold')


def test_auto_is_the_loop_on_cpu():
    prob = torch.rand(2, 2, 6, 7)
    assert tct.resolve_impl('auto', prob) == 'loop'
    assert tct.resolve_impl('auto', prob.double()) == 'loop'
    for dtype in (torch.float32, torch.float64):
        logits = torch.randn(2, 1, 9, 10, dtype=dtype, requires_grad=True)
        label = torch.randint(0, 2, (2, 9, 10))
        label[:, :, -2:] = 255
        t = torch.rand(2, 1, 9, 10, dtype=dtype)
        grads = []
        values = []
        for impl in ('auto', 'loop'):
            value = TransmissionCoherenceLoss(impl=impl)(
                logits, label, transmission=t)
            values.append(value)
            grads.append(torch.autograd.grad(value, logits)[0])
        # The same code runs: bitwise equal.
        assert torch.equal(values[0], values[1])
        assert torch.equal(grads[0], grads[1])


@pytest.mark.skipif(
    INTERPRETING or not tct.triton_available(),
    reason='the interpreter runs CPU tensors; needs triton')
def test_triton_on_cpu_without_interpreter_raises():
    prob, trans, centre, _ = make_inputs((1, 1, 4, 4), False, torch.float32)
    with pytest.raises(RuntimeError, match='TRITON_INTERPRET=1'):
        transmission_coherence(prob, trans, centre, impl='triton')
    with pytest.raises(RuntimeError, match="impl='loop'"):
        TransmissionCoherenceLoss(impl='triton')(
            torch.randn(1, 1, 4, 4), transmission=trans)


@pytest.mark.skipif(
    INTERPRETING or not tct.triton_available(),
    reason='already interpreting, or no triton')
def test_interpreter_cases_in_subprocess():
    """Run this file's ``test_interp_*`` under TRITON_INTERPRET=1."""
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, TRITON_INTERPRET='1')
    cmd = [sys.executable, '-m', 'pytest', str(Path(__file__).resolve())]
    cmd += ['-q', '-rs', '-k', 'test_interp_']
    proc = subprocess.run(
        cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert 'skipped' not in out and ' passed' in out, out[-3000:]


# ------------------------- CPU, the fallback with an injected kernel failure

needs_triton = pytest.mark.skipif(
    not tct.triton_available(), reason='needs triton (kernel_launch)')


class InjectedError(RuntimeError):
    """Stands for a compile or launch error of Triton."""


@pytest.fixture
def failing_kernel(monkeypatch):
    """The kernel path taken on CPU tensors, with a launcher that fails.

    ``resolve_impl`` of the loss module picks the kernel for 'auto' (until
    the kernel has failed, as on a GPU) and for 'triton', so that the
    dispatch runs on CPU tensors; the launcher raises like a failed
    ptxas. The process-wide fallback state is reset, and restored after.
    Returns the list of launches attempted.
    """
    calls = []

    def resolve(impl, prob):
        if impl == 'triton' or (impl == 'auto'
                                and tct.auto_fallback_reason() is None):
            return 'triton'
        return tct.resolve_impl(impl, prob)

    def launch(launch, device):
        calls.append(launch)
        raise InjectedError('ptxas fatal: injected failure\n(second line)')

    monkeypatch.setattr(tct, '_AUTO_FAILURE', None)
    monkeypatch.setattr(tcl, 'resolve_impl', resolve)
    monkeypatch.setattr(tct, '_launch_kernel', launch)
    return calls


def loss_value_and_grad(impl, logits, label, trans):
    x = logits.detach().clone().requires_grad_(True)
    loss = TransmissionCoherenceLoss(kernel_size=3, impl=impl)
    value = loss(x, label, transmission=trans)
    (grad, ) = torch.autograd.grad(value, x)
    return value.detach(), grad


@needs_triton
def test_auto_falls_back_to_the_loop_once(failing_kernel):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 1, 9, 10, generator=gen)
    trans = torch.rand(2, 1, 9, 10, generator=gen)
    label = torch.randint(0, 2, (2, 9, 10), generator=gen)
    label[:, :, -2:] = 255
    loop = loss_value_and_grad('loop', logits, label, trans)
    assert not failing_kernel
    with pytest.warns(RuntimeWarning) as record:
        first = loss_value_and_grad('auto', logits, label, trans)
    assert len(failing_kernel) == 1
    assert len(record) == 1
    message = str(record[0].message)
    # Names the error (its last line) and the config key to change.
    assert 'InjectedError: (second line)' in message
    assert "impl='auto' uses the offset loop" in message
    assert 'config key `impl`' in message and "'loop'" in message
    assert 'InjectedError' in tct.auto_fallback_reason()
    # The loop's code ran: bitwise the loop's value and gradient.
    assert torch.equal(first[0], loop[0]) and torch.equal(first[1], loop[1])
    # The rest of the process: the loop, no new attempt, no new warning.
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter('always')
        second = loss_value_and_grad('auto', logits, label, trans)
        no_grad = transmission_coherence(
            logits.sigmoid(), trans, kernel_size=3, impl='auto')
    assert not [w for w in again if issubclass(w.category, RuntimeWarning)]
    assert len(failing_kernel) == 1
    assert torch.equal(second[0], loop[0]) and torch.equal(second[1], loop[1])
    assert no_grad.item() == transmission_coherence(
        logits.sigmoid(), trans, kernel_size=3, impl='loop').item()


@needs_triton
def test_triton_impl_raises_the_kernel_failure(failing_kernel):
    prob, trans, centre, _ = make_inputs((1, 1, 5, 6), False, torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no fallback warning either
        with pytest.raises(
                tct.TritonKernelError,
                match='failed to compile or launch') as info:
            transmission_coherence(prob, trans, centre, impl='triton')
    assert isinstance(info.value.__cause__, InjectedError)
    assert 'torch.float32 maps of shape (1, 1, 5, 6) on cpu' in str(info.value)
    assert len(failing_kernel) == 1
    # 'triton' does not switch 'auto' to the loop.
    assert tct.auto_fallback_reason() is None


@needs_triton
def test_only_kernel_failures_fall_back(monkeypatch):
    monkeypatch.setattr(tct, '_AUTO_FAILURE', None)

    def loop():
        raise AssertionError('the loop must not run')

    for error in (ValueError('bad input'), torch.OutOfMemoryError('oom')):

        def kernel():
            raise error

        with pytest.raises(type(error)):
            tct.run_kernel_or_fallback('auto', kernel, loop)
    assert tct.auto_fallback_reason() is None
    # Out of memory at the launch is not wrapped as a kernel failure.
    prob, trans, centre, _ = make_inputs((1, 1, 4, 4), False, torch.float32)

    def launch(launch, device):
        raise torch.OutOfMemoryError('CUDA out of memory (injected)')

    monkeypatch.setattr(tct, '_launch_kernel', launch)
    with pytest.raises(torch.OutOfMemoryError):
        tct.coherence_triton(prob, trans, centre, 3, 3.0, 0.1, True)


@needs_triton
@pytest.mark.parametrize('need_grad', [True, False])
def test_launcher_launches_kernel_launch(monkeypatch, need_grad):
    """coherence_triton launches what kernel_launch (the compile test's
    source of variants) returns, and sums its partials."""
    prob, trans, centre, _ = make_inputs((2, 3, 5, 40), False, torch.float16)
    seen = []

    def launch(launch, device):
        seen.append(launch)
        launch.partial.fill_(0.5)
        if launch.grad is not None:
            launch.grad.fill_(2.0)

    monkeypatch.setattr(tct, '_launch_kernel', launch)
    total, grad = tct.coherence_triton(prob, trans, centre, 5, 3.0, 0.1,
                                       need_grad)
    (got, ) = seen
    want = tct.kernel_launch(prob, trans, centre, 5, 3.0, 0.1, need_grad)
    assert got.meta == want.meta and got.grid == want.grid
    assert got.meta['RADIUS'] == 2 and got.meta['BLOCK_C'] == 4
    assert got.meta['BLOCK_W'] == 32 and got.meta['NEED_GRAD'] == need_grad
    assert [type(a) for a in got.args] == [type(a) for a in want.args]
    assert got.args[6:] == (3, 5, 40, 2)  # C, H, W, n_wtiles
    assert got.partial.dtype == torch.float32
    assert total.dtype == torch.float16
    assert total.item() == 0.5 * got.grid[0]
    if need_grad:
        assert grad is got.grad and grad.dtype == torch.float16
    else:
        assert grad is None and got.args[4] is got.partial


# ------------------------------------------------ CPU, Triton's interpreter

CASES = [
    # (n, c, h, w, kernel_size)
    (2, 1, 7, 11, 3),
    (1, 2, 7, 11, 5),
    (1, 1, 1, 9, 3),  # a single row
    (1, 2, 9, 1, 5),  # a single column
    (1, 1, 3, 2, 5),  # smaller than the window
    (1, 1, 1, 1, 3),  # one pixel: no pair, sum 0
]


@needs_interpreter
@pytest.mark.parametrize('with_valid', [False, True])
@pytest.mark.parametrize('n,c,h,w,kernel_size', CASES)
def test_interp_matches_loop_and_brute_force(n, c, h, w, kernel_size,
                                             with_valid,
                                             coherence_brute_force):
    prob, trans, centre, valid = make_inputs((n, c, h, w), with_valid)
    kw = dict(sigma_xy=2.0, sigma_trans=0.2, kernel_weight=0.3)
    value, grad = value_and_grad(prob, trans, centre, valid, kernel_size,
                                 'triton', **kw)
    loop_value, loop_grad = value_and_grad(prob, trans, centre, valid,
                                           kernel_size, 'loop', **kw)
    ref_value, ref_grad = coherence_brute_force(prob, trans, centre, valid,
                                                kernel_size, **kw)
    assert grad.dtype == prob.dtype
    torch.testing.assert_close(value, loop_value, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad, loop_grad, rtol=1e-12, atol=1e-14)
    assert value.item() == pytest.approx(ref_value, rel=1e-12, abs=1e-14)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-12, atol=1e-14)
    if h * w == 1:
        assert value.item() == 0.0 and not grad.any()
    # Without a gradient the kernel skips it; the sum is the same.
    no_grad = transmission_coherence(
        prob,
        trans,
        centre,
        valid,
        kernel_size=kernel_size,
        impl='triton',
        **kw)
    assert no_grad.item() == value.item()


@needs_interpreter
def test_interp_float32_loss_module_and_backward_scale():
    torch.manual_seed(0)
    logits = torch.randn(2, 2, 6, 9, requires_grad=True)
    label = torch.randint(0, 2, (2, 6, 9))
    label[0, :, :2] = 255
    trans = torch.rand(2, 1, 6, 9)
    weight = torch.rand(2, 6, 9)
    out = {}
    for impl in ('triton', 'loop'):
        loss = TransmissionCoherenceLoss(kernel_size=3, impl=impl)
        value = loss(logits, label, transmission=trans, weight=weight)
        # backward multiplies the saved gradient by grad_output.
        (grad, ) = torch.autograd.grad(3.0 * value, logits)
        out[impl] = value, grad
    assert out['triton'][0].dtype == torch.float32
    torch.testing.assert_close(
        out['triton'][0], out['loop'][0], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(
        out['triton'][1], out['loop'][1], rtol=1e-5, atol=1e-7)


@needs_interpreter
def test_interp_float16_inputs_are_summed_in_float32():
    prob, trans, centre, _ = make_inputs((1, 2, 5, 8), True, torch.float16)
    half_against_float64(prob, trans, centre)


# ------------------------------------------------------------------- CUDA


@needs_cuda
def test_cuda_auto_dispatch():
    x = torch.rand(1, 1, 4, 4, device='cuda')
    assert tct.resolve_impl('auto', x) == 'triton'
    assert tct.resolve_impl('auto', x.half()) == 'triton'
    # float64 keeps the loop (float64 sums on any device).
    assert tct.resolve_impl('auto', x.double()) == 'loop'


@needs_cuda
@pytest.mark.parametrize('c,kernel_size', [(1, 5), (2, 3)])
def test_cuda_triton_matches_cpu_loop_480(c, kernel_size):
    # The same float32 probabilities on both devices: the signs of all
    # differences agree, only the float32 rounding of the kernel weights
    # and of the sums remains.
    prob, trans, centre, valid = make_inputs((6, c, 480, 480),
                                             True,
                                             torch.float32,
                                             seed=1)
    gpu = value_and_grad(prob.cuda(), trans.cuda(), centre.cuda(),
                         valid.cuda(), kernel_size, 'auto')
    cpu = value_and_grad(prob.double(), trans.double(), centre.double(),
                         valid.double(), kernel_size, 'loop')
    assert gpu[1].dtype == torch.float32
    # float32 sums of ~1e7 terms against the float64 loop.
    assert gpu[0].item() == pytest.approx(cpu[0].item(), rel=1e-5)
    scale = cpu[1].abs().max().item()
    assert (gpu[1].cpu().double() - cpu[1]).abs().max().item() \
        <= 1e-5 * scale


@needs_cuda
def test_cuda_loss_module_matches_cpu_loop_480():
    gen = torch.Generator().manual_seed(0)
    n, size = 6, 480
    logits = torch.randn(n, 1, size, size, generator=gen)
    trans = torch.rand(n, 1, size, size, generator=gen)
    label = torch.randint(0, 2, (n, size, size), generator=gen)
    label[:, :, -size // 10:] = 255
    res = {}
    for device in ('cuda', 'cpu'):
        x = logits.to(device).requires_grad_(True)
        value = TransmissionCoherenceLoss()(
            x, label.to(device), transmission=trans.to(device))
        (grad, ) = torch.autograd.grad(value, x)
        res[device] = value.item(), grad.cpu()
    assert res['cuda'][0] == pytest.approx(res['cpu'][0], rel=1e-5)
    # The sigmoid of the two devices may differ by an ulp, which can flip
    # the sign of a difference of two nearly equal probabilities: allow a
    # handful of such pixels.
    scale = res['cpu'][1].abs().max()
    off = (res['cuda'][1] - res['cpu'][1]).abs() > 1e-5 * scale
    assert off.float().mean().item() < 1e-5


@needs_cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_cuda_half_inputs(dtype):
    prob, trans, centre, _ = make_inputs((2, 2, 37, 53),
                                         True,
                                         dtype,
                                         device='cuda')
    half_against_float64(prob, trans, centre)
