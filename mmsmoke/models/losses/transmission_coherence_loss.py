"""Transmission-guided local coherence loss (Transmission-BVM Eq. 7-8)."""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .transmission_coherence_triton import (IMPLS, TritonCoherenceFunction,
                                            resolve_impl,
                                            run_kernel_or_fallback)
from .utils import (SavedGradFunction, WeightedLoss, check_label,
                    guided_logits)


def _half_window_offsets(kernel_size: int) -> List[Tuple[int, int]]:
    """One offset of each ``(o, -o)`` pair of a ``k x k`` window.

    The centre is left out; the other ``k * k - 1`` offsets come in pairs
    ``(dy, dx)`` / ``(-dy, -dx)`` and the pair term is symmetric, so half of
    them is enough.
    """
    radius = kernel_size // 2
    offsets = []
    for dy in range(0, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy > 0 or dx > 0:
                offsets.append((dy, dx))
    return offsets


def _overlap_slices(height: int, width: int, dy: int,
                    dx: int) -> Tuple[Tuple[slice, slice], ...]:
    """Slices of the pixels ``m`` and their neighbours ``m + (dy, dx)``.

    Only pairs whose both pixels lie inside the image are kept, so nothing
    is padded and every slice is a view.
    """
    rows_c = slice(0, height - dy)
    rows_n = slice(dy, height)
    if dx >= 0:
        cols_c = slice(0, width - dx)
        cols_n = slice(dx, width)
    else:
        cols_c = slice(-dx, width)
        cols_n = slice(0, width + dx)
    return (rows_c, cols_c), (rows_n, cols_n)


class _TransmissionCoherenceFunction(SavedGradFunction):
    """Sum of Eq. 7 over a batch with O(H * W) memory.

    Loops over one offset of each ``(o, -o)`` pair of the window on views of
    the maps, reusing four work buffers of the map size. When ``prob``
    requires a gradient it is accumulated in the same loop (one more map),
    so the backward pass is a scalar multiplication and no per-offset
    tensor is kept alive.

    Inputs: ``prob`` (N, C, H, W); ``trans_scaled`` (N, 1, H, W), the
    transmission divided by ``sqrt(2) * sigma_T`` with pixels to skip set
    far away from every other value (their kernel underflows to 0);
    ``centre`` (N, 1, H, W), the centre weight ``c(m)``, 0 on skipped pixels.
    """

    @staticmethod
    def forward(ctx, prob: Tensor, trans_scaled: Tensor, centre: Tensor,
                kernel_size: int, sigma_xy: float,
                kernel_weight: float) -> Tensor:
        n, c, height, width = prob.shape
        need_grad = ctx.needs_input_grad[0]
        grad = torch.zeros_like(prob) if need_grad else None
        buf_w = prob.new_empty(n * height * width)
        buf_s = prob.new_empty(n * height * width)
        buf_d = prob.new_empty(n * c * height * width)
        buf_g = prob.new_empty(n * c * height * width)
        total = prob.new_zeros(())
        for dy, dx in _half_window_offsets(kernel_size):
            if dy >= height or abs(dx) >= width:
                continue
            spatial = kernel_weight * math.exp(-(dy * dy + dx * dx) /
                                               (2.0 * sigma_xy**2))
            (rc, cc), (rn, cn) = _overlap_slices(height, width, dy, dx)
            hh, ww = height - dy, width - abs(dx)
            weight = buf_w[:n * hh * ww].view(n, 1, hh, ww)
            csum = buf_s[:n * hh * ww].view(n, 1, hh, ww)
            diff = buf_d[:n * c * hh * ww].view(n, c, hh, ww)
            sgn = buf_g[:n * c * hh * ww].view(n, c, hh, ww)
            # W(m, n) (c(m) + c(n)) without the spatial factor.
            torch.sub(
                trans_scaled[..., rc, cc],
                trans_scaled[..., rn, cn],
                out=weight)
            weight.square_().neg_().exp_()
            torch.add(centre[..., rc, cc], centre[..., rn, cn], out=csum)
            weight.mul_(csum)
            torch.sub(prob[..., rc, cc], prob[..., rn, cn], out=diff)
            # d|p(m) - p(n)| / dp(m) times the pair weight.
            torch.sign(diff, out=sgn)
            sgn.mul_(weight)
            total.add_(torch.dot(sgn.view(-1), diff.view(-1)), alpha=spatial)
            if need_grad:
                grad[..., rc, cc].add_(sgn, alpha=spatial)
                grad[..., rn, cn].sub_(sgn, alpha=spatial)
        if need_grad:
            ctx.save_for_backward(grad)
        return total


def transmission_coherence(prob: Tensor,
                           trans: Tensor,
                           centre_weight: Optional[Tensor] = None,
                           valid: Optional[Tensor] = None,
                           kernel_size: int = 5,
                           sigma_xy: float = 3.0,
                           sigma_trans: float = 0.1,
                           kernel_weight: float = 0.1,
                           impl: str = 'auto') -> Tensor:
    """Un-normalised Eq. 7 summed over a batch, memory O(H * W).

    ``sum_m sum_{n in K_m, n != m} c(m) W(m, n) |p(m) - p(n)|`` with
    ``W(m, n) = w0 exp(-|P(m) - P(n)|^2 / (2 sigma_xy^2)
    - |T(m) - T(n)|^2 / (2 sigma_trans^2))``, summed over the channels of
    ``prob``. Neighbours outside the image or with ``valid == 0`` are
    skipped. The inputs are not modified.

    Args:
        prob (Tensor): Probabilities (N, C, H, W); the only input that
            receives a gradient.
        trans (Tensor): Transmission (N, 1, H, W).
        centre_weight (Tensor, optional): ``c(m)`` of shape (N, 1, H, W).
            Defaults to ``1 - T``.
        valid (Tensor, optional): 0/1 mask (N, 1, H, W) of the pixels that
            take part (as centre or as neighbour). ``None``: all.
        kernel_size (int): Window side ``k``, odd.
        sigma_xy (float): Spatial bandwidth ``sigma_P`` in pixels.
        sigma_trans (float): Transmission bandwidth ``sigma_T``.
        kernel_weight (float): The normalising weight ``1 / w`` of Eq. 8.
        impl (str): 'loop' (offset loop), 'triton' (one-kernel pass of
            :mod:`.transmission_coherence_triton`; GPU tensors, or CPU
            tensors under ``TRITON_INTERPRET=1``) or 'auto': 'triton' for
            float32/float16/bfloat16 tensors on a GPU when Triton imports,
            'loop' otherwise, and 'loop' after a warning when the kernel
            fails to compile or launch (``'triton'`` raises then). Both give
            the same sum and gradient up to the summation order.

    Returns:
        Tensor: Scalar sum.
    """
    resolved = resolve_impl(impl, prob)
    if centre_weight is None:
        centre_weight = 1.0 - trans
    trans_scaled = trans.detach().to(prob.dtype) / (
        math.sqrt(2.0) * float(sigma_trans))
    centre_weight = centre_weight.detach().to(prob.dtype)
    if valid is not None:
        keep = valid.detach() > 0
        # Move skipped pixels >= 64 away from every value: their kernel
        # exp(-64^2) is exactly 0 in float32 and float64; two skipped
        # pixels have centre weight 0.
        far = trans_scaled.abs().amax() + 64.0
        trans_scaled = torch.where(keep, trans_scaled, far)
        centre_weight = centre_weight * keep
    args = (prob.contiguous(), trans_scaled.contiguous(),
            centre_weight.contiguous(), kernel_size, float(sigma_xy),
            float(kernel_weight))

    def loop() -> Tensor:
        return _TransmissionCoherenceFunction.apply(*args)

    if resolved == 'loop':
        return loop()
    return run_kernel_or_fallback(impl,
                                  lambda: TritonCoherenceFunction.apply(*args),
                                  loop)


@MODELS.register_module()
class TransmissionCoherenceLoss(WeightedLoss):
    """Transmission-guided local coherence loss (Transmission-BVM Eq. 7-8).

    .. math::

        L_{trans} = \\sum_m \\sum_{n \\in K_m} (1 - T(m)) W(m, n) D(m, n),

        W(m, n) = \\frac{1}{w} \\exp\\Big(-\\frac{\\|P(m) - P(n)\\|^2}
        {2\\sigma_P^2} - \\frac{\\|T(m) - T(n)\\|^2}{2\\sigma_T^2}\\Big),

    with ``D`` the L1 distance of the predicted probabilities of pixels
    ``m`` and ``n``, ``P`` the pixel coordinates, ``T`` the medium
    transmission (Eq. 9, :mod:`mmsmoke.models.utils.transmission`) and
    ``K_m`` the ``k x k`` window around ``m``.

    The loss needs ``T``, which the stock decode head does not have: use it
    in ``pixel_losses`` of
    :class:`~mmsmoke.models.segmentors.TransmissionEncoderDecoder` (or of
    ``BVMEncoderDecoder``), which computes ``T`` once per batch from the
    input image and calls the loss with ``transmission=T``. Put in a decode
    head's ``loss_decode`` it raises an error that says so.

    Implementation (``impl``): custom autograd functions that compute the
    gradient with the sum, so backward is a scalar multiplication, no
    per-offset tensor exists and memory is O(H * W), not the O(k^2 * H * W)
    of ``unfold``. ``'loop'`` loops over one offset of each symmetric pair
    on shifted views (each unordered pixel pair once): ~20x faster than
    ``unfold`` on a CPU, but launch-bound on a GPU. ``'triton'`` is one
    kernel that visits each pixel once over its whole window (offsets
    unrolled at compile time), writing the gradient and per-program
    partial sums (float32 accumulation for half inputs). ``'auto'`` takes
    the kernel for float32/float16/bfloat16 tensors on a GPU when Triton
    imports, the loop otherwise; they agree up to summation order. When
    the kernel fails to compile or launch, ``'auto'`` warns once and uses
    the loop for the rest of the process; ``'triton'`` raises.

    Defaults follow the authors' release (``sigma_P = 3`` pixels,
    ``sigma_T = 0.1``, ``1 / w = 0.1``, a 5 x 5 window). Deviations from
    the release, with reasons:

    * The release divides its shared transmission tensor by ``sigma_T`` in
      place on every call, so the 2nd, 3rd and 4th call of an iteration use
      ``sigma_T = 0.01, 0.001, 0.0001``; here nothing is modified in place
      and ``sigma_T`` is the same on every call.
    * The release omits the ``(1 - T(m))`` factor of Eq. 7; it is applied
      here (``reverse_transmission_weight=False`` drops it).
    * The release zero-pads its ``unfold``, so border pixels are pulled
      towards a probability of 0 by phantom neighbours with ``T = 0``; here
      neighbours outside the image are skipped. Pixels whose label is the
      ignore index (e.g. padding) are skipped as centres and as neighbours.
    * Eq. 7 is a sum; here it is divided by the number of valid pixels
      times the number of channels, as in the release, so the scale does
      not depend on the image size.
    * The release computes the loss at 0.3 times the training size;
      ``scale_factor`` reproduces that, the default 1.0 works at the label
      resolution the segmentor hands over.

    Args:
        kernel_size (int): Window side ``k``, odd. Defaults to 5.
        sigma_xy (float): Spatial bandwidth ``sigma_P`` in pixels.
            Defaults to 3.0.
        sigma_trans (float): Transmission bandwidth ``sigma_T``.
            Defaults to 0.1.
        kernel_weight (float): ``1 / w`` of Eq. 8. Defaults to 0.1.
        reverse_transmission_weight (bool): Weight each centre pixel by
            ``1 - T(m)`` (Eq. 7). Defaults to True.
        scale_factor (float): Resize the probabilities and ``T`` by this
            factor first. Defaults to 1.0.
        loss_weight (float): Multiplier of the loss (``lambda_1`` of Eq. 11
            is 0.3). Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``
            to be back-propagated. Defaults to 'loss_trans'.
        impl (str): 'auto', 'loop' or 'triton', see above. Defaults to
            'auto'.
    """

    def __init__(self,
                 kernel_size: int = 5,
                 sigma_xy: float = 3.0,
                 sigma_trans: float = 0.1,
                 kernel_weight: float = 0.1,
                 reverse_transmission_weight: bool = True,
                 scale_factor: float = 1.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_trans',
                 impl: str = 'auto') -> None:
        super().__init__(loss_weight, loss_name)
        if impl not in IMPLS:
            raise ValueError(f'impl (TransmissionCoherenceLoss config key) '
                             f'must be one of {IMPLS}, got {impl!r}')
        if not isinstance(kernel_size, int) or kernel_size < 3 \
                or kernel_size % 2 == 0:
            raise ValueError('kernel_size must be an odd integer >= 3, got '
                             f'{kernel_size!r}')
        if sigma_xy <= 0 or sigma_trans <= 0:
            raise ValueError('sigma_xy and sigma_trans must be positive, got '
                             f'{sigma_xy} and {sigma_trans}')
        if scale_factor <= 0:
            raise ValueError(f'scale_factor must be positive, got '
                             f'{scale_factor}')
        self.kernel_size = kernel_size
        self.sigma_xy = float(sigma_xy)
        self.sigma_trans = float(sigma_trans)
        self.kernel_weight = float(kernel_weight)
        self.reverse_transmission_weight = reverse_transmission_weight
        self.scale_factor = float(scale_factor)
        self.impl = impl

    def forward(self,
                seg_logits: Tensor,
                seg_label: Optional[Tensor] = None,
                transmission: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255) -> Tensor:
        """Compute the loss.

        Args:
            seg_logits (Tensor): Logits (N, C, H, W); sigmoid for ``C == 1``,
                softmax otherwise.
            seg_label (Tensor, optional): Labels (N, H, W) or (N, 1, H, W),
                only used to skip ``ignore_index`` pixels.
            transmission (Tensor): Transmission (N, 1, H, W) in [0, 1];
                resized bilinearly when its size differs from the logits.
            weight (Tensor, optional): Per-pixel weight (N, H, W) of the
                centre pixels.
            ignore_index (int): Label value to skip. Defaults to 255.

        Returns:
            Tensor: Scalar loss.
        """
        # float32 logits under AMP
        seg_logits, trans = guided_logits(
            seg_logits, transmission, 'transmission',
            'TransmissionCoherenceLoss needs the transmission map: list it '
            'in `pixel_losses` of TransmissionEncoderDecoder or '
            'BVMEncoderDecoder (which compute it from the image), not in '
            'decode_head.loss_decode.')
        _, c, h, w = seg_logits.shape

        prob = seg_logits.sigmoid() if c == 1 else seg_logits.softmax(1)
        valid = None
        if seg_label is not None:
            seg_label = check_label(seg_label, seg_logits)
            valid = (seg_label != ignore_index).unsqueeze(1).to(prob.dtype)
        centre = 1.0 - trans if self.reverse_transmission_weight \
            else torch.ones_like(trans)
        if weight is not None:
            if weight.dim() == 3:
                weight = weight.unsqueeze(1)
            centre = centre * weight.detach().to(prob.dtype)

        if self.scale_factor != 1.0:
            size = (max(1, round(h * self.scale_factor)),
                    max(1, round(w * self.scale_factor)))
            prob = F.interpolate(
                prob, size=size, mode='bilinear', align_corners=False)
            trans = F.interpolate(
                trans, size=size, mode='bilinear', align_corners=False)
            centre = F.interpolate(
                centre, size=size, mode='bilinear', align_corners=False)
            if valid is not None:
                valid = F.interpolate(valid, size=size, mode='nearest')
        if valid is not None:
            centre = centre * valid
            num = valid.sum() * c
        else:
            num = prob.new_tensor(
                float(prob.shape[0] * prob.shape[2] * prob.shape[3] * c))

        total = transmission_coherence(
            prob,
            trans,
            centre_weight=centre,
            valid=valid,
            kernel_size=self.kernel_size,
            sigma_xy=self.sigma_xy,
            sigma_trans=self.sigma_trans,
            kernel_weight=self.kernel_weight,
            impl=self.impl)
        return self.loss_weight * total / num.clamp(min=1.0)
