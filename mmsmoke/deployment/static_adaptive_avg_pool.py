"""Adaptive average pooling as constant matrix products, for export."""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

SizeArg = Union[int, None, Sequence[Optional[int]]]


def adaptive_pool_matrix(in_size: int, out_size: int, like: Tensor) -> Tensor:
    """The (out_size, in_size) averaging matrix of adaptive pooling.

    Bin ``i`` averages the input positions ``floor(i * in / out)`` to
    ``ceil((i + 1) * in / out) - 1``, PyTorch's rule, so ``P @ x`` equals
    ``adaptive_avg_pool1d(x, out_size)`` along that axis.

    Args:
        in_size (int): Input length.
        out_size (int): Output length.
        like (Tensor): Tensor whose dtype and device the matrix takes.

    Returns:
        Tensor: The matrix, rows summing to 1.
    """
    matrix = torch.zeros(out_size, in_size, dtype=like.dtype)
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = math.ceil((i + 1) * in_size / out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix.to(like.device)


class StaticAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` computed as ``P_h @ x @ P_w^T``.

    The exact equivalent of adaptive average pooling for an input size
    known when the graph is traced: the two averaging matrices are built
    from the traced size and become constants, and the pooling becomes two
    ``MatMul`` nodes. PyTorch's ONNX exporter cannot export adaptive
    pooling to sizes other than 1 when it has lost the static input size
    (e.g. MMSeg's UPerHead/PSPHead pyramid pooling after an mmpretrain
    ConvNeXt), nor when the input size is not a multiple of the output
    size; this module always exports. Only for export: a graph traced with
    it is fixed to the traced input size.

    Args:
        output_size (int | None | tuple): As for ``nn.AdaptiveAvgPool2d``;
            None keeps that axis.
    """

    def __init__(self, output_size: SizeArg) -> None:
        super().__init__()
        if isinstance(output_size, int) or output_size is None:
            output_size = (output_size, output_size)
        self.output_size: Tuple[Optional[int],
                                Optional[int]] = tuple(output_size)

    def forward(self, x: Tensor) -> Tensor:
        height, width = int(x.shape[-2]), int(x.shape[-1])
        out_h = self.output_size[0] or height
        out_w = self.output_size[1] or width
        rows = adaptive_pool_matrix(height, out_h, x)
        cols = adaptive_pool_matrix(width, out_w, x)
        return torch.matmul(torch.matmul(rows, x), cols.t())


def replace_adaptive_avg_pools(module: nn.Module) -> int:
    """Swap every ``nn.AdaptiveAvgPool2d`` not pooling to 1x1, in place.

    Pooling to 1x1 exports as ``GlobalAveragePool`` and is kept.

    Args:
        module (nn.Module): Model to edit (use a copy).

    Returns:
        int: The number of layers replaced.
    """
    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.AdaptiveAvgPool2d):
            size = child.output_size
            sizes = (size, size) if isinstance(size, int) or size is None \
                else tuple(size)
            if sizes != (1, 1):
                setattr(module, name, StaticAdaptiveAvgPool2d(size))
                count += 1
        else:
            count += replace_adaptive_avg_pools(child)
    return count
