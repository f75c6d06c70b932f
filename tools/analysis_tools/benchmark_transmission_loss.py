"""Benchmark the transmission coherence loss and sampling-free inference.

Part 1 compares :class:`TransmissionCoherenceLoss` (custom autograd
function, O(H * W) memory) with the straightforward ``unfold``
implementation (O(k^2 * H * W)), both on the same inputs in the same
process: forward + backward time and peak extra memory, after checking that
losses and gradients agree. "ours" is the implementation the loss picks by
default (``impl='auto'``): the offset loop on a CPU, the Triton kernel on a
GPU; the row says which (``ours_impl``). Where that is not the loop, the
loop (``impl='loop'``) is timed as well (``loop_*`` keys).

Part 2 times Transmission-BVM inference with the sampling-free uncertainty
(one pass + the uncertainty network) against Monte Carlo sampling with
``B`` samples (backbone once, head ``B`` times) on one model config.

Memory method: on CPU, PyTorch exposes no allocator statistics, and
``tracemalloc`` does not see tensor memory. Every tensor storage created
while the measured code runs is recorded through a ``TorchDispatchMode``
(which also sees the ops of the backward pass) and released through a
``weakref`` finaliser on the storage; the peak of the live bytes is the
"peak extra memory" (inputs allocated before the measurement excluded).
On CUDA, ``torch.cuda.max_memory_allocated`` is used instead.

The benchmark suites (``benchmarks/``) import ``time_interleaved``,
``bench_loss`` and ``time_uncertainty_inference`` from here.

Example::

    python tools/analysis_tools/benchmark_transmission_loss.py \\
        --sizes 480 256 128 --batch-size 6 \\
        --config configs/transbvm/transbvm_mit-b0_1xb4-2k_synthetic-256x256.py
"""
import argparse
import json
import statistics
import time
import weakref
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from mmsmoke.models.losses.transmission_coherence_loss import \
    TransmissionCoherenceLoss
from mmsmoke.models.losses.transmission_coherence_triton import resolve_impl


def unfold_coherence_sum(prob: torch.Tensor,
                         trans: torch.Tensor,
                         valid: Optional[torch.Tensor] = None,
                         kernel_size: int = 5,
                         sigma_xy: float = 3.0,
                         sigma_trans: float = 0.1,
                         kernel_weight: float = 0.1) -> torch.Tensor:
    """The summed Eq. 7-8 with ``F.unfold``: the reference implementation.

    Straightforward and O(k^2 * H * W) in memory (k^2 copies of each map),
    differentiable by autograd. The unit tests of
    :func:`~mmsmoke.models.losses.transmission_coherence_loss.transmission_coherence`
    and :func:`bench_loss` compare the loss against it.

    Args:
        prob (Tensor): Probabilities (N, C, H, W).
        trans (Tensor): Transmission (N, 1, H, W).
        valid (Tensor, optional): 1 where a pixel counts (N, 1, H, W), as a
            centre and as a neighbour; None counts every pixel.
        kernel_size (int): Window side. Defaults to 5.
        sigma_xy (float): Spatial bandwidth in pixels. Defaults to 3.0.
        sigma_trans (float): Transmission bandwidth. Defaults to 0.1.
        kernel_weight (float): ``1 / w`` of Eq. 8. Defaults to 0.1.

    Returns:
        Tensor: The sum over the valid centres of Eq. 7 (centre weight
        ``1 - T``), not normalised.
    """
    n, c, h, w = prob.shape
    r = kernel_size // 2
    kk = kernel_size * kernel_size
    if valid is None:
        valid = torch.ones_like(trans)
    p_u = F.unfold(prob, kernel_size, padding=r).view(n, c, kk, h, w)
    t_u = F.unfold(trans, kernel_size, padding=r).view(n, 1, kk, h, w)
    v_u = F.unfold(valid, kernel_size, padding=r).view(n, 1, kk, h, w)
    ys, xs = torch.meshgrid(
        torch.arange(-r, r + 1, device=prob.device),
        torch.arange(-r, r + 1, device=prob.device),
        indexing='ij')
    spatial = torch.exp(-(ys**2 + xs**2).to(prob.dtype) /
                        (2 * sigma_xy**2)).view(1, 1, kk, 1, 1)
    kern = kernel_weight * spatial * torch.exp(-(trans.unsqueeze(2) - t_u)**2 /
                                               (2 * sigma_trans**2))
    kern = kern * v_u * (valid * (1 - trans)).unsqueeze(2)
    return (kern * (prob.unsqueeze(2) - p_u).abs()).sum()


def unfold_transmission_loss(logits: torch.Tensor,
                             label: torch.Tensor,
                             trans: torch.Tensor,
                             kernel_size: int = 5,
                             ignore_index: int = 255) -> torch.Tensor:
    """:class:`TransmissionCoherenceLoss` (default bandwidths) by
    :func:`unfold_coherence_sum`: sigmoid probabilities, ignored labels
    skipped, normalised by the valid pixels times the channels."""
    prob = logits.sigmoid()
    valid = (label != ignore_index).unsqueeze(1).to(prob.dtype)
    total = unfold_coherence_sum(prob, trans, valid, kernel_size=kernel_size)
    return total / (valid.sum() * prob.shape[1]).clamp(min=1.0)


class PeakTensorMemory(TorchDispatchMode):
    """Peak bytes of tensor storages created while the mode is active.

    A storage counts from the op that creates it until it is freed (a
    ``weakref`` finaliser on the storage). Outputs that alias an input of
    their op (views, in-place ops) allocate nothing and are skipped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._seen: Dict[int, int] = {}

    def _release(self, key: int) -> None:
        self.live -= self._seen.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        in_ids = {
            id(t.untyped_storage())
            for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)
        }
        out = func(*args, **kwargs)
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = id(storage)
            nbytes = storage.nbytes()
            if nbytes == 0 or key in in_ids or key in self._seen:
                continue
            self._seen[key] = nbytes
            self.live += nbytes
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self._release, key)
        return out


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (no-op on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    elif device.type == 'mps':
        torch.mps.synchronize()


def time_interleaved(fns: Dict[str, Callable],
                     device: torch.device,
                     repeat: int,
                     warmup: int = 1,
                     after: Optional[Callable[[], None]] = None
                     ) -> Dict[str, Dict[str, object]]:
    """Wall time (s) of each function, runs interleaved: the timing loop.

    ``warmup`` rounds, then ``repeat`` rounds that call every function
    once (in reversed order every other round), so a load change on a
    shared machine affects all of them alike. Each call is timed between
    two device synchronisations (a training loop synchronises every step
    when it logs the losses); the CUDA peak memory counter is reset before
    the timed rounds.

    Args:
        fns (dict[str, Callable]): Functions to time, by name.
        device (torch.device): Device to synchronise.
        repeat (int): Timed rounds (>= 1).
        warmup (int): Untimed rounds before them. Defaults to 1.
        after (Callable, optional): Called after every call, untimed
            (e.g. to free a step's outputs).

    Returns:
        dict[str, dict]: For each name ``best``, ``median`` and ``mean``
        (s), the list of ``times``, ``last`` (the last call's result) and
        ``peak_bytes`` (the CUDA peak over the timed rounds of all the
        functions, None elsewhere).
    """
    if repeat < 1:
        raise ValueError(f'repeat must be >= 1, got {repeat}')
    last: Dict[str, object] = {}

    def call(name: str, fn: Callable) -> None:
        last[name] = fn()
        if after is not None:
            after()

    for _ in range(max(0, warmup)):
        for name, fn in fns.items():
            call(name, fn)
    synchronize(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for round_index in range(repeat):
        # A-B, B-A, A-B, ...: neither function always runs right after
        # the other.
        order = list(fns.items())
        if round_index % 2:
            order.reverse()
        for name, fn in order:
            synchronize(device)
            start = time.perf_counter()
            last[name] = fn()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
            if after is not None:
                after()
    peak = (
        torch.cuda.max_memory_allocated(device)
        if device.type == 'cuda' else None)
    return {
        name: dict(
            best=min(ts),
            median=statistics.median(ts),
            mean=statistics.fmean(ts),
            times=ts,
            last=last[name],
            peak_bytes=peak)
        for name, ts in times.items()
    }


def peak_memory(fn: Callable[[], object], device: torch.device) -> int:
    """Peak extra memory (bytes) of one call of ``fn``."""
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    tracker = PeakTensorMemory()
    with tracker:
        fn()
    return tracker.peak


def bench_loss(size: int,
               batch_size: int,
               kernel_size: int,
               repeat: int,
               device: torch.device,
               seed: int = 0,
               warmup: int = 1) -> dict:
    """Time and memory of this loss against the ``unfold`` reference.

    Both get the same random logits, transmission and labels (with an
    ignored strip); the loss values and gradients are checked to agree
    before timing. "ours" is the loss with its default ``impl='auto'``
    (``ours_impl`` says which implementation that was); when it is not the
    offset loop (a GPU with Triton), the loop is checked and timed too.

    Args:
        size (int): Side of the square maps.
        batch_size (int): Batch size.
        kernel_size (int): Window side.
        repeat (int): Timed rounds of forward + backward.
        device (torch.device): Device.
        seed (int): Seed of the inputs. Defaults to 0.
        warmup (int): Untimed rounds. Defaults to 1.

    Returns:
        dict: Times (best and median, s), peak extra memory (MiB), their
        ratios, and the absolute and relative differences of the loss
        values and gradients; ``ours_impl``, and ``loop_*`` entries when
        the loop was timed besides.
    """
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch_size, 1, size, size, generator=gen).to(device)
    logits.requires_grad_(True)
    trans = torch.rand(batch_size, 1, size, size, generator=gen).to(device)
    label = torch.randint(0, 2, (batch_size, size, size), generator=gen)
    label[:, :, -size // 10:] = 255  # a padded strip
    label = label.to(device)
    ours_impl = resolve_impl('auto', logits)
    losses = dict(ours=TransmissionCoherenceLoss(kernel_size=kernel_size))
    if ours_impl != 'loop':
        losses['loop'] = TransmissionCoherenceLoss(
            kernel_size=kernel_size, impl='loop')

    def runner(loss):

        def run():
            return loss(logits, label, transmission=trans)

        return run

    runs = {name: runner(loss) for name, loss in losses.items()}

    def run_unfold():
        return unfold_transmission_loss(
            logits, label, trans, kernel_size=kernel_size)

    b = run_unfold()
    (g_b, ) = torch.autograd.grad(b, logits)
    diffs = {}
    for name, run in runs.items():
        a = run()
        (g_a, ) = torch.autograd.grad(a, logits)
        value_abs = abs(a.item() - b.item())
        value_err = value_abs / max(abs(b.item()), 1e-12)
        grad_abs = (g_a - g_b).abs().max().item()
        grad_err = grad_abs / max(g_b.abs().max().item(), 1e-12)
        if value_err > 1e-4 or grad_err > 1e-4:
            raise RuntimeError(f'{name} and unfold disagree at {size}: '
                               f'relative value error {value_err:.2e}, '
                               f'gradient error {grad_err:.2e}')
        diffs[name] = (value_abs, value_err, grad_abs, grad_err)
        del g_a, a
    del g_b, b
    value_abs, value_err, grad_abs, grad_err = diffs['ours']

    def step(fn):

        def run():
            logits.grad = None
            fn().backward()

        return run

    fns = dict(ours=step(runs['ours']), unfold=step(run_unfold))
    fns.update({name: step(run) for name, run in runs.items()})
    times = time_interleaved(fns, device, repeat, warmup)
    peaks = {}
    for name, run in dict(runs, unfold=run_unfold).items():
        logits.grad = None
        peaks[name] = peak_memory(step(run), device)
    logits.grad = None
    m_ours, m_unf = peaks['ours'], peaks['unfold']
    extra = {}
    if 'loop' in runs:
        extra = dict(
            loop_s=times['loop']['best'],
            loop_median_s=times['loop']['median'],
            loop_speedup=times['unfold']['best'] / times['loop']['best'],
            ours_over_loop=times['loop']['best'] / times['ours']['best'],
            loop_peak_mib=peaks['loop'] / 2**20,
            loop_value_rel_err=diffs['loop'][1],
            loop_grad_rel_err=diffs['loop'][3])
    return dict(
        size=size,
        ours_impl=ours_impl,
        batch_size=batch_size,
        kernel_size=kernel_size,
        ours_s=times['ours']['best'],
        unfold_s=times['unfold']['best'],
        ours_median_s=times['ours']['median'],
        unfold_median_s=times['unfold']['median'],
        speedup=times['unfold']['best'] / times['ours']['best'],
        ours_peak_mib=m_ours / 2**20,
        unfold_peak_mib=m_unf / 2**20,
        memory_ratio=m_unf / max(m_ours, 1),
        value_rel_err=value_err,
        grad_rel_err=grad_err,
        value_abs_diff=value_abs,
        grad_max_abs_diff=grad_abs,
        **extra)


def time_uncertainty_inference(
        model: torch.nn.Module,
        inputs: torch.Tensor,
        mc_samples: int,
        repeat: int,
        device: torch.device,
        warmup: int = 1) -> Dict[str, Dict[str, object]]:
    """Time a ``BVMEncoderDecoder``'s inference modes, interleaved.

    Modes: ``prediction_only`` (``uncertainty='none'``), ``sampling_free``
    (one pass + ``g_gamma``), ``mc`` (the model's MC mode: backbone once,
    head ``mc_samples`` times) and ``mc_full_network`` (the conventional
    MC of the authors' test scripts: the whole network once per sample).
    The model's ``test_cfg`` is restored afterwards.

    Args:
        model (torch.nn.Module): A ``BVMEncoderDecoder`` in eval mode.
        inputs (Tensor): Normalised batch (N, 3, H, W) on ``device``.
        mc_samples (int): ``B``.
        repeat (int): Timed rounds.
        device (torch.device): Device.
        warmup (int): Untimed rounds. Defaults to 1.

    Returns:
        dict[str, dict]: :func:`time_interleaved`'s result per mode.
    """
    # Importing the files registers the modules.
    import mmsmoke.models.decode_heads.bvm_head  # noqa: F401
    from mmsmoke.models.uncertainty import mc_dropout_enabled, mc_uncertainty

    saved_cfg = model.test_cfg

    def predict(uncertainty: str) -> Callable[[], object]:
        test_cfg = dict(
            mode='whole', uncertainty=uncertainty, mc_samples=mc_samples)

        def run():
            model.test_cfg = test_cfg
            return model.predict(inputs)

        return run

    def full_network_mc():
        # Conventional MC (as the authors' test scripts): the whole network
        # runs once per sample.
        probs = []
        with mc_dropout_enabled(model.decode_head):
            for _ in range(mc_samples):
                feats = model.extract_feat(inputs)
                latent = model.decode_head.infer_latent(inputs) \
                    if model.has_latent else None
                probs.append(model._sample_logits(feats, latent).sigmoid())
        return mc_uncertainty(torch.stack(probs))

    try:
        with torch.no_grad():
            return time_interleaved(
                dict(
                    prediction_only=predict('none'),
                    sampling_free=predict('sampling_free'),
                    mc=predict('mc'),
                    mc_full_network=full_network_mc), device, repeat, warmup)
    finally:
        model.test_cfg = saved_cfg


def bench_inference(config: str, size: int, mc_samples: int, repeat: int,
                    device: torch.device) -> dict:
    from mmsmoke.apis import build_model
    model = build_model(config, device=device)
    inputs = torch.randn(1, 3, size, size, device=device)
    times = time_uncertainty_inference(model, inputs, mc_samples, repeat,
                                       device)
    best = {name: t['best'] for name, t in times.items()}
    return dict(
        config=config,
        size=size,
        mc_samples=mc_samples,
        **{
            f'{name}_s': value
            for name, value in best.items()
        },
        **{
            f'{name}_median_s': t['median']
            for name, t in times.items()
        },
        mc_over_sampling_free=best['mc'] / best['sampling_free'],
        mc_full_network_over_sampling_free=best['mc_full_network'] /
        best['sampling_free'])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark the transmission coherence loss against the '
        'unfold implementation and sampling-free against MC inference.')
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='*',
        default=[480, 256, 128],
        help='loss sizes (none: skip the loss benchmark)')
    parser.add_argument('--batch-size', type=int, default=6)
    parser.add_argument('--kernel-size', type=int, default=5)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--config',
        default='configs/transbvm/'
        'transbvm_mit-b0_1xb4-2k_synthetic-256x256.py',
        help='model config for the inference timing ("" to skip)')
    parser.add_argument('--infer-size', type=int, default=256)
    parser.add_argument('--mc-samples', type=int, default=10)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--out', default=None, help='write results (json)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results: Dict[str, object] = dict(
        device=str(device),
        threads=torch.get_num_threads(),
        torch=torch.__version__)
    rows = []
    for size in args.sizes:
        row = bench_loss(size, args.batch_size, args.kernel_size, args.repeat,
                         device)
        rows.append(row)
        print(f'loss {size}x{size} batch {args.batch_size} (best of '
              f'{args.repeat}): ours ({row["ours_impl"]}) '
              f'{row["ours_s"] * 1e3:.2f} ms / {row["ours_peak_mib"]:.1f} '
              f'MiB, unfold {row["unfold_s"] * 1e3:.1f} ms / '
              f'{row["unfold_peak_mib"]:.1f} MiB -> {row["speedup"]:.1f}x '
              f'faster, {row["memory_ratio"]:.1f}x less memory '
              f'(value err {row["value_rel_err"]:.1e})')
        if 'loop_s' in row:
            print(f'  loop (impl=\'loop\') {row["loop_s"] * 1e3:.2f} ms / '
                  f'{row["loop_peak_mib"]:.1f} MiB -> ours '
                  f'{row["ours_over_loop"]:.1f}x faster than the loop, the '
                  f'loop {row["loop_speedup"]:.2f}x faster than unfold')
    results['loss'] = rows
    inference: Optional[dict] = None
    if args.config:
        inference = bench_inference(args.config, args.infer_size,
                                    args.mc_samples, args.repeat, device)
        print(f'inference {args.infer_size}x{args.infer_size}: prediction '
              f'only {inference["prediction_only_s"] * 1e3:.1f} ms, '
              f'sampling-free {inference["sampling_free_s"] * 1e3:.1f} ms, '
              f'MC B={args.mc_samples} (features reused) '
              f'{inference["mc_s"] * 1e3:.1f} ms -> '
              f'{inference["mc_over_sampling_free"]:.1f}x, MC re-running '
              f'the network {inference["mc_full_network_s"] * 1e3:.1f} ms '
              f'-> {inference["mc_full_network_over_sampling_free"]:.1f}x')
    results['inference'] = inference
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
