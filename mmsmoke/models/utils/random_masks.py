"""Random hole masks for self-supervised inpainting (batched, on the
device, size-agnostic)."""
from typing import Optional, Tuple

import torch
from torch import Tensor


def random_box_masks(num: int,
                     size: Tuple[int, int],
                     num_boxes: int,
                     scale_range: Tuple[float, float] = (0.05, 0.25),
                     device: Optional[torch.device] = None,
                     generator: Optional[torch.Generator] = None) -> Tensor:
    """Draw random rectangular hole masks for self-supervised inpainting.

    Each of the ``num`` masks is the union of ``num_boxes`` axis-aligned
    boxes whose sides are drawn uniformly in ``scale_range`` times the
    image side and whose centres are uniform over the image. Everything is
    one broadcast on ``device``; no per-image loop.

    Args:
        num (int): Number of masks (batch size).
        size (tuple[int, int]): Mask height and width.
        num_boxes (int): Boxes per mask; 0 gives empty masks.
        scale_range (tuple[float, float]): Range of a box side as a
            fraction of the image side. Defaults to (0.05, 0.25).
        device (torch.device, optional): Device of the result.
        generator (torch.Generator, optional): RNG for reproducible masks;
            must live on ``device``.

    Returns:
        Tensor: Float masks of shape (num, 1, H, W), 1 inside a box.
    """
    h, w = int(size[0]), int(size[1])
    lo, hi = scale_range
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError('scale_range must satisfy 0 < low <= high <= 1, '
                         f'got {scale_range}')
    if num_boxes <= 0:
        return torch.zeros(num, 1, h, w, device=device)
    hw = torch.tensor([h, w], dtype=torch.float32, device=device)
    rand = torch.rand(num, num_boxes, 4, device=device, generator=generator)
    half = (lo + (hi - lo) * rand[..., :2]) * hw / 2  # (N, K, 2)
    centre = rand[..., 2:] * hw
    start = (centre - half)[..., None]  # (N, K, 2, 1)
    end = (centre + half)[..., None]
    ys = torch.arange(h, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(w, device=device, dtype=torch.float32) + 0.5
    in_y = (ys >= start[:, :, 0]) & (ys < end[:, :, 0])  # (N, K, H)
    in_x = (xs >= start[:, :, 1]) & (xs < end[:, :, 1])  # (N, K, W)
    boxes = in_y[..., :, None] & in_x[..., None, :]  # (N, K, H, W)
    return boxes.any(dim=1, keepdim=True).float()
