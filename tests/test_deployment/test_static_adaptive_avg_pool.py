"""The export-only adaptive average pooling equals PyTorch's."""
import pytest
import torch
from torch import nn

from mmsmoke.deployment.static_adaptive_avg_pool import (
    StaticAdaptiveAvgPool2d, adaptive_pool_matrix, replace_adaptive_avg_pools)


@pytest.mark.parametrize(
    'in_size,out_size',
    [
        ((16, 16), 6),
        ((5, 5), 6),  # more bins than pixels: overlapping bins
        ((7, 11), (3, 2)),
        ((9, 4), (None, 3)),
        ((8, 8), 1),
    ])
def test_matches_adaptive_avg_pool(in_size, out_size):
    x = torch.randn(2, 3, *in_size, generator=torch.Generator().manual_seed(0))
    expected = nn.AdaptiveAvgPool2d(out_size)(x)
    got = StaticAdaptiveAvgPool2d(out_size)(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_pool_matrix_by_hand():
    # 5 -> 3 bins: [0, 2), [1, 4), [3, 5)
    matrix = adaptive_pool_matrix(5, 3, torch.zeros(1))
    expected = torch.tensor([[1 / 2, 1 / 2, 0, 0, 0],
                             [0, 1 / 3, 1 / 3, 1 / 3, 0],
                             [0, 0, 0, 1 / 2, 1 / 2]])
    torch.testing.assert_close(matrix, expected)


def test_replace_keeps_global_pooling():
    model = nn.Sequential(
        nn.Sequential(nn.AdaptiveAvgPool2d(3), nn.Conv2d(1, 1, 1)),
        nn.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d((2, None)))
    assert replace_adaptive_avg_pools(model) == 2
    assert isinstance(model[0][0], StaticAdaptiveAvgPool2d)
    assert isinstance(model[1], nn.AdaptiveAvgPool2d)
    assert isinstance(model[2], StaticAdaptiveAvgPool2d)
    assert model[2].output_size == (2, None)
