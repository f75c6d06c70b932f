"""Helpers shared by the mmsmoke losses."""
import torch
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
