"""Helpers shared by the mmsmoke losses."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

#: Floating point types too narrow to accumulate a loss in.
HALF_DTYPES = (torch.float16, torch.bfloat16)


def upcast_half(tensor: Tensor) -> Tensor:
    """Return a float32 copy of a half-precision tensor, others unchanged.

    Under automatic mixed precision a head hands its losses float16 logits.
    float16 overflows above 65504, so a sum over a few thousand pixels of a
    large per-pixel loss becomes ``inf``, and a logit divided by a small
    temperature becomes ``inf`` and then ``0 * inf = nan``. The mmsmoke
    losses therefore compute in float32 whatever the input precision; the
    gradient flows back through the cast in the input's dtype. float32 and
    float64 inputs are returned as they are.

    Args:
        tensor (Tensor): Any tensor.

    Returns:
        Tensor: ``tensor.float()`` for float16/bfloat16, else ``tensor``.
    """
    if tensor.dtype in HALF_DTYPES:
        return tensor.float()
    return tensor


def check_logits(seg_logits: Tensor) -> Tensor:
    """Check that logits are (N, C, H, W) and upcast half precision.

    Args:
        seg_logits (Tensor): Logits.

    Returns:
        Tensor: The logits, in float32 if they were float16/bfloat16.
    """
    if seg_logits.dim() != 4:
        raise ValueError('seg_logits must have shape (N, C, H, W), got '
                         f'{tuple(seg_logits.shape)}')
    return upcast_half(seg_logits)


def guidance_map(value: Tensor, seg_logits: Tensor, name: str) -> Tensor:
    """A detached (N, 1, H, W) guidance map at the logits' size and dtype.

    Losses guided by a per-pixel map that no gradient may reach (the
    transmission of Eq. 7-8, the uncertainty temperature of Eq. 10) accept
    it as (N, 1, H', W') or (N, H', W') and resize it bilinearly when its
    size differs from the logits'.

    Args:
        value (Tensor): The map.
        seg_logits (Tensor): Logits (N, C, H, W) the map goes with.
        name (str): Name of the map for the error message.

    Returns:
        Tensor: (N, 1, H, W) map, detached, in the logits' dtype.
    """
    n = seg_logits.shape[0]
    if value.dim() == 3:
        value = value.unsqueeze(1)
    if value.dim() != 4 or value.shape[:2] != (n, 1):
        raise ValueError(f'{name} must have shape ({n}, 1, H, W), got '
                         f'{tuple(value.shape)}')
    value = value.detach().to(seg_logits.dtype)
    if value.shape[-2:] != seg_logits.shape[-2:]:
        value = F.interpolate(
            value,
            size=seg_logits.shape[-2:],
            mode='bilinear',
            align_corners=False)
    return value


def masked_pixel_mean(err: Tensor, valid_mask: Optional[Tensor],
                      owner: str) -> Tensor:
    """Mean of a per-pixel error over the valid pixels.

    Args:
        err (Tensor): Per-pixel error (N, 1, H, W).
        valid_mask (Tensor, optional): (N, 1, H, W) or (N, H, W) mask of the
            pixels to average, or None for all. An empty mask gives zero,
            still connected to ``err``'s graph.
        owner (str): Name of the loss for the error message.

    Returns:
        Tensor: Scalar mean.
    """
    if valid_mask is None:
        return err.mean()
    if valid_mask.dim() == 3:
        valid_mask = valid_mask.unsqueeze(1)
    if valid_mask.dim() != 4 or valid_mask.shape[0] != err.shape[0] or \
            valid_mask.shape[-2:] != err.shape[-2:]:
        raise ValueError(f'{owner}: valid_mask shape '
                         f'{tuple(valid_mask.shape)} does not match the '
                         f'error map {tuple(err.shape)}')
    valid_mask = valid_mask.to(err)
    return (err * valid_mask).sum() / valid_mask.sum().clamp(min=1.0)
