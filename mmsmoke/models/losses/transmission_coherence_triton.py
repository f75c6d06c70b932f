"""One-pass Triton kernel of the transmission coherence loss (Eq. 7-8).

The offset loop of :mod:`.transmission_coherence_loss` launches several
small operations per window offset, which is fast on a CPU but on a GPU
costs more in launches and temporaries than the arithmetic. Here one
kernel visits every pixel ``m`` once, loops over its whole ``k x k``
window (offsets unrolled at compile time) and writes

* the gradient ``d total / d p(m) = sum_{n != m} s_P(m - n) exp(-(Ts(m) -
  Ts(n))^2) (c(m) + c(n)) sign(p(m) - p(n))`` (``s_P`` the spatial factor
  times ``1 / w``, ``Ts`` the scaled transmission), the same pair term as
  the offset loop, which visits each unordered pair once and adds it to
  both pixels, and
* one partial sum of ``c(m) sum_{n != m} s_P exp(-(Ts(m) - Ts(n))^2)
  |p(m) - p(n)|`` per program, i.e. Eq. 7 over the ordered pairs, which
  counts each unordered pair once with weight ``c(m) + c(n)`` as the loop
  does. The partials are summed afterwards in a fixed order, so the result
  is deterministic.

Neighbours outside the image are skipped; pixels to skip have been moved
far away in ``Ts`` and have ``c = 0`` by the caller, exactly as for the
loop. Differences from the loop, with reasons:

* Loads are cast to float32 (float64 for float64 inputs), so float16 or
  bfloat16 maps are summed in float32 (the loop sums in the input dtype);
  the sum and the gradient are returned in the input dtype, as by the loop.
* The sum comes from per-program partials instead of one running total,
  so float32 results differ from the loop's by summation order only.
* ``impl='auto'`` keeps float64 on the loop also on a GPU: float64 is for
  reference checks, where the loop's float64 sums are exact enough, and the
  speed of the kernel matters for float32 training.

``impl='auto'`` falls back to the loop when the kernel fails to compile
or to launch (:func:`run_kernel_or_fallback`): one warning names the
error, and the rest of the process uses the loop, so a Triton or driver
problem costs speed, not the training run. ``impl='triton'`` raises
:class:`TritonKernelError` instead.

Triton's interpreter does not apply all of the compiler's rules (e.g. it
lets a ``tl.constexpr`` name be bound again in every unrolled iteration,
which the compiler refuses), so the interpreter tests alone do not show
that the kernel compiles: ``test_transmission_coherence_triton_compile.py``
compiles every launch the shipped configs make for sm_80 and sm_90 on the
CPU, with the arguments built by :func:`kernel_launch` as for a launch.

On CPU tensors the kernel runs only under Triton's interpreter, which is
chosen when Triton and this module are imported: ``triton.jit`` (also that
of Triton's own library functions) reads ``TRITON_INTERPRET`` when it wraps
a function, so ``TRITON_INTERPRET=1`` must be in the environment before
``triton`` is first imported in the process (the tests start a subprocess
for that).
"""
import math
import os
import warnings
from contextlib import nullcontext
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from .utils import SavedGradFunction

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - triton ships with CUDA torch
    triton = None
    tl = None
    _INTERPRETING = False
else:
    # Fixed when triton.jit wraps the kernel below, i.e. now (older Triton
    # has no ``knobs`` and reads the variable directly).
    _knobs = getattr(triton, 'knobs', None)
    _INTERPRETING = bool(_knobs.runtime.interpret) if _knobs is not None \
        else os.environ.get('TRITON_INTERPRET', '0') == '1'

#: Values of the ``impl`` argument / config key.
IMPLS = ('auto', 'loop', 'triton')
#: Input dtypes for which ``impl='auto'`` takes the kernel on a GPU.
#: float64 stays on the loop, which sums in float64 on any device.
_AUTO_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_BLOCK_ELEMS = 128

#: Why the kernel failed under ``impl='auto'`` in this process, or None.
#: Once set, ``'auto'`` resolves to the loop: a kernel that failed to
#: compile fails again, and every attempt would cost the compile time.
_AUTO_FAILURE: Optional[str] = None


class TritonKernelError(RuntimeError):
    """The Triton kernel failed to compile or to launch.

    Raised by :func:`coherence_triton` around the launch only (not for
    invalid inputs), so that ``impl='auto'`` can tell a kernel or toolchain
    failure, after which the loop gives the same result, from an error of
    the caller. The original exception is the ``__cause__``.
    """


def triton_available() -> bool:
    """Whether :mod:`triton` could be imported."""
    return triton is not None


def triton_interpreting() -> bool:
    """Whether the kernel runs in Triton's CPU interpreter.

    True when ``TRITON_INTERPRET=1`` was set when this module was imported.
    """
    return _INTERPRETING


def resolve_impl(impl: str, prob: Tensor) -> str:
    """``'loop'`` or ``'triton'`` for ``impl`` and the input ``prob``.

    ``'auto'`` takes the kernel for float32/float16/bfloat16 maps on a GPU
    when Triton imports and the kernel has not failed in this process
    (:func:`auto_fallback_reason`), the loop otherwise (CPU, float64).
    ``'triton'`` on a CPU tensor needs ``TRITON_INTERPRET=1`` (slow; for
    tests).

    Args:
        impl (str): 'auto', 'loop' or 'triton'.
        prob (Tensor): The probabilities the sum is computed on.

    Returns:
        str: 'loop' or 'triton'.
    """
    if impl not in IMPLS:
        raise ValueError(f'impl must be one of {IMPLS} (the `impl` argument '
                         'or config key of TransmissionCoherenceLoss), got '
                         f'{impl!r}')
    if impl == 'auto':
        use = prob.is_cuda and triton is not None \
            and prob.dtype in _AUTO_DTYPES and _AUTO_FAILURE is None
        return 'triton' if use else 'loop'
    if impl == 'triton':
        if triton is None:
            raise RuntimeError(
                "impl='triton' needs the triton package, which could not be "
                "imported; set impl='loop' (or 'auto').")
        if not prob.is_cuda and not triton_interpreting():
            raise RuntimeError(
                "impl='triton' got tensors on the device "
                f"'{prob.device}': the Triton kernel runs on a GPU, or on "
                "the CPU only under Triton's interpreter (environment "
                'variable TRITON_INTERPRET=1 set before triton is first '
                "imported); set impl='loop' or 'auto' for CPU tensors.")
    return impl


def auto_fallback_reason() -> Optional[str]:
    """Why ``impl='auto'`` uses the loop on a GPU in this process, or None.

    Set by :func:`run_kernel_or_fallback` when the kernel failed to compile
    or launch (the error's type and message).
    """
    return _AUTO_FAILURE


def run_kernel_or_fallback(impl: str, kernel: Callable[[], Tensor],
                           loop: Callable[[], Tensor]) -> Tensor:
    """``kernel()``; under ``impl='auto'`` the loop if the kernel fails.

    The decision is kept apart from the kernel so that it can be tested
    without a GPU (with a ``kernel`` that raises). Under ``'auto'`` a
    :class:`TritonKernelError` warns once, makes ``'auto'`` resolve to the
    loop for the rest of the process (:func:`resolve_impl`) and returns
    ``loop()``: the same sum and gradient up to summation order, only
    slower on a GPU. Under ``'triton'`` it propagates: the config asked
    for the kernel. Other exceptions (invalid inputs, out of memory)
    propagate under both.

    Args:
        impl (str): The requested implementation, 'auto' or 'triton'.
        kernel (callable): Computes the result with the Triton kernel.
        loop (callable): Computes it with the offset loop.

    Returns:
        Tensor: What ``kernel`` or ``loop`` returned.
    """
    global _AUTO_FAILURE
    if impl != 'auto':
        return kernel()
    try:
        return kernel()
    except TritonKernelError as err:
        _AUTO_FAILURE = str(err)
        warnings.warn(
            f'TransmissionCoherenceLoss: {err}. impl=\'auto\' uses the '
            'offset loop instead (same values, slower on a GPU) for the '
            'rest of this process. Set the config key `impl` of '
            "TransmissionCoherenceLoss (e.g. in model.pixel_losses) to "
            "'loop' to choose the loop without this warning, or to "
            "'triton' to make the failure an error.",
            RuntimeWarning,
            stacklevel=2)
        return loop()


if triton is not None:

    @triton.jit
    def _coherence_kernel(prob_ptr, ts_ptr, centre_ptr, spatial_ptr, grad_ptr,
                          partial_ptr, C, H, W, n_wtiles, RADIUS: tl.constexpr,
                          BLOCK_C: tl.constexpr, BLOCK_W: tl.constexpr,
                          NEED_GRAD: tl.constexpr, ACC: tl.constexpr):
        """One program: ``BLOCK_W`` pixels of one row, all channels."""
        pid = tl.program_id(0)
        tile = pid % n_wtiles
        rest = pid // n_wtiles
        row = rest % H
        img = (rest // H).to(tl.int64)
        hw = H * W
        cols = tile * BLOCK_W + tl.arange(0, BLOCK_W)
        chans = tl.arange(0, BLOCK_C)
        col_ok = cols < W
        zero_w = tl.zeros([BLOCK_W], dtype=tl.int32)
        ch_ok = chans < C
        map_ptr = img * hw  # (N, 1, H, W) maps
        prob_base = img * C * hw + chans[:, None].to(tl.int64) * hw
        pix = row * W + cols
        ts_m = tl.load(ts_ptr + map_ptr + pix, mask=col_ok, other=0.)
        ts_m = ts_m.to(ACC)
        c_m = tl.load(centre_ptr + map_ptr + pix, mask=col_ok, other=0.)
        c_m = c_m.to(ACC)
        mask_m = ch_ok[:, None] & col_ok[None, :]
        p_m = tl.load(
            prob_ptr + prob_base + pix[None, :], mask=mask_m, other=0.)
        p_m = p_m.to(ACC)
        grad = tl.zeros([BLOCK_C, BLOCK_W], dtype=ACC)
        dist = tl.zeros([BLOCK_C, BLOCK_W], dtype=ACC)
        KSIZE: tl.constexpr = 2 * RADIUS + 1
        for i in tl.static_range(KSIZE * KSIZE):
            if i != RADIUS * KSIZE + RADIUS:  # the centre: no pair
                # Compile-time constants, as ``i`` is, but not annotated
                # ``tl.constexpr``: the compiler refuses to bind such a name
                # again in the next unrolled iteration (the interpreter
                # does not check this).
                dy = i // KSIZE - RADIUS
                dx = i % KSIZE - RADIUS
                # The row as a block: Triton's interpreter gives an int32,
                # not a boolean, for a block mask & a scalar condition.
                r = zero_w + (row + dy)
                cn = cols + dx
                ok = col_ok & (cn >= 0) & (cn < W) & (r >= 0) & (r < H)
                npix = r * W + cn
                ts_n = tl.load(ts_ptr + map_ptr + npix, mask=ok, other=0.)
                diff_t = ts_m - ts_n.to(ACC)
                spatial = tl.load(spatial_ptr + i).to(ACC)
                kern = tl.where(ok, spatial * tl.exp(-diff_t * diff_t), 0.)
                p_n = tl.load(
                    prob_ptr + prob_base + npix[None, :],
                    mask=ch_ok[:, None] & ok[None, :],
                    other=0.)
                d = p_m - p_n.to(ACC)
                dist += kern[None, :] * tl.abs(d)
                if NEED_GRAD:
                    c_n = tl.load(
                        centre_ptr + map_ptr + npix, mask=ok, other=0.)
                    pair = kern * (c_m + c_n.to(ACC))
                    sgn = (d > 0).to(ACC) - (d < 0).to(ACC)
                    grad += pair[None, :] * sgn
        if NEED_GRAD:
            tl.store(grad_ptr + prob_base + pix[None, :], grad, mask=mask_m)
        # Masked lanes have kern == 0 and c_m == 0: they add nothing.
        tl.store(partial_ptr + pid, tl.sum(tl.sum(dist * c_m[None, :], 1)))


_SPATIAL: Dict[tuple, Tensor] = {}


def _spatial_weights(kernel_size: int, sigma_xy: float, kernel_weight: float,
                     dtype: torch.dtype, device: torch.device) -> Tensor:
    """``1 / w * exp(-|o|^2 / (2 sigma_xy^2))`` of the offsets, row-major.

    Computed in double precision on the host (as the loop does) and cached
    per device, so a training step copies nothing to the GPU.
    """
    key = (kernel_size, sigma_xy, kernel_weight, dtype, str(device))
    if key not in _SPATIAL:
        radius = kernel_size // 2
        values = [
            kernel_weight * math.exp(-(dy * dy + dx * dx) /
                                     (2.0 * sigma_xy**2))
            for dy in range(-radius, radius + 1)
            for dx in range(-radius, radius + 1)
        ]
        _SPATIAL[key] = torch.tensor(values, dtype=dtype, device=device)
    return _SPATIAL[key]


class KernelLaunch(NamedTuple):
    """One launch of ``_coherence_kernel``, as :func:`kernel_launch` makes it.

    Attributes:
        grid (tuple[int]): The launch grid (one program per ``BLOCK_W``
            pixels of one row of one image).
        args (tuple): The kernel's positional arguments (pointers as
            tensors, then ``C, H, W, n_wtiles``).
        meta (dict): Its keyword arguments: the constexprs ``RADIUS``,
            ``BLOCK_C``, ``BLOCK_W``, ``NEED_GRAD``, ``ACC`` and the launch
            option ``num_warps``.
        partial (Tensor): The per-program partial sums the kernel writes.
        grad (Tensor | None): The gradient it writes, or None.
    """
    grid: Tuple[int]
    args: tuple
    meta: Dict[str, Any]
    partial: Tensor
    grad: Optional[Tensor]


def kernel_launch(prob: Tensor, trans_scaled: Tensor, centre: Tensor,
                  kernel_size: int, sigma_xy: float, kernel_weight: float,
                  need_grad: bool) -> KernelLaunch:
    """Allocate the outputs and choose the constexprs of one launch.

    The only place that decides what is compiled: :func:`coherence_triton`
    launches exactly this, and the compile test binds the same arguments
    for a CUDA target on the CPU, so every variant the shipped configs
    launch is compiled without a GPU. Inputs as for
    :func:`coherence_triton` (checked there), on any device; nothing is
    launched.

    Returns:
        KernelLaunch: Grid, arguments and the allocated outputs.
    """
    n, c, height, width = prob.shape
    acc = torch.float64 if prob.dtype == torch.float64 else torch.float32
    block_c = triton.next_power_of_2(c)
    # About _BLOCK_ELEMS (channel, pixel) values per program, 16 pixels
    # at least so that the loads of a row stay coalesced.
    block_w = min(
        triton.next_power_of_2(width), max(16, _BLOCK_ELEMS // block_c))
    n_wtiles = triton.cdiv(width, block_w)
    programs = n_wtiles * height * n
    partial = torch.empty(programs, dtype=acc, device=prob.device)
    grad = torch.empty_like(prob) if need_grad else None
    spatial = _spatial_weights(kernel_size, sigma_xy, kernel_weight, acc,
                               prob.device)
    args = (
        prob,
        trans_scaled,
        centre,
        spatial,
        grad if need_grad else partial,  # not written without NEED_GRAD
        partial,
        c,
        height,
        width,
        n_wtiles)
    meta = dict(
        RADIUS=kernel_size // 2,
        BLOCK_C=block_c,
        BLOCK_W=block_w,
        NEED_GRAD=need_grad,
        ACC=tl.float64 if acc == torch.float64 else tl.float32,
        num_warps=max(1, min(4, block_c * block_w // 32)))
    return KernelLaunch((programs, ), args, meta, partial, grad)


def _launch_kernel(launch: KernelLaunch, device: torch.device) -> None:
    """Compile (first time per variant) and run the kernel of ``launch``.

    Module-level so that tests can replace it with a failing launcher.
    """
    # Triton launches on the current GPU: make it the tensors' one.
    on_device = torch.cuda.device(device) if device.type == 'cuda' \
        else nullcontext()
    with on_device:
        _coherence_kernel[launch.grid](*launch.args, **launch.meta)


def _summary(err: BaseException) -> str:
    """``Type: last line of the message`` (Triton's compilation errors
    print the kernel source first and the cause last)."""
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return f'{type(err).__name__}: {lines[-1].strip()}' if lines \
        else type(err).__name__


def coherence_triton(prob: Tensor, trans_scaled: Tensor, centre: Tensor,
                     kernel_size: int, sigma_xy: float, kernel_weight: float,
                     need_grad: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """Sum of Eq. 7 and its gradient with respect to ``prob``, one kernel.

    Args:
        prob (Tensor): (N, C, H, W), contiguous.
        trans_scaled (Tensor): (N, 1, H, W) transmission divided by
            ``sqrt(2) sigma_T``, skipped pixels moved far away; contiguous.
        centre (Tensor): (N, 1, H, W) centre weight, 0 on skipped pixels;
            contiguous.
        kernel_size (int): Odd window side.
        sigma_xy (float): Spatial bandwidth in pixels.
        kernel_weight (float): ``1 / w`` of Eq. 8.
        need_grad (bool): Also write the gradient.

    Returns:
        tuple[Tensor, Tensor | None]: The scalar sum in ``prob``'s dtype,
        and the gradient (``prob``'s shape and dtype) or None.

    Raises:
        ValueError: If the maps do not match ``prob``.
        TritonKernelError: If the kernel fails to compile or launch (out of
            memory errors are raised as they are).
    """
    n, c, height, width = prob.shape
    for name, value in (('trans_scaled', trans_scaled), ('centre', centre)):
        if value.shape != (n, 1, height, width) \
                or value.device != prob.device:
            raise ValueError(f'{name} must have shape {(n, 1, height, width)}'
                             f' on {prob.device}, got {tuple(value.shape)} '
                             f'on {value.device}')
    if prob.numel() == 0:
        grad = torch.zeros_like(prob) if need_grad else None
        return prob.new_zeros(()), grad
    launch = kernel_launch(prob, trans_scaled, centre, kernel_size, sigma_xy,
                           kernel_weight, need_grad)
    try:
        _launch_kernel(launch, prob.device)
    except torch.OutOfMemoryError:
        raise
    except Exception as err:
        raise TritonKernelError(
            'the Triton kernel failed to compile or launch for '
            f'{prob.dtype} maps of shape {tuple(prob.shape)} on '
            f'{prob.device} ({_summary(err)})') from err
    return launch.partial.sum().to(prob.dtype), launch.grad


class TritonCoherenceFunction(SavedGradFunction):
    """Autograd wrapper of :func:`coherence_triton`.

    Same inputs as the loop's function. The forward writes the gradient
    with the sum, so backward is a scalar multiplication and the only
    saved tensor is one map of ``prob``'s size.
    """

    @staticmethod
    def forward(ctx, prob: Tensor, trans_scaled: Tensor, centre: Tensor,
                kernel_size: int, sigma_xy: float,
                kernel_weight: float) -> Tensor:
        total, grad = coherence_triton(prob, trans_scaled, centre, kernel_size,
                                       sigma_xy, kernel_weight,
                                       ctx.needs_input_grad[0])
        if grad is not None:
            ctx.save_for_backward(grad)
        return total
