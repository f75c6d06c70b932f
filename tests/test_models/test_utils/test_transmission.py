import numpy as np
import pytest
import torch

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmsmoke.models.utils.transmission import (atmospheric_light, dark_channel,
                                               estimate_transmission,
                                               resized_transmission)


def _numpy_dark_channel(img: np.ndarray, k: int) -> np.ndarray:
    """Loops: min over channels, then over the k x k patch in the image."""
    _, h, w = img.shape
    cmin = img.min(axis=0)
    r = k // 2
    out = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = cmin[max(0, i - r):i + r + 1,
                             max(0, j - r):j + r + 1].min()
    return out


def test_dark_channel_hand_case():
    # 3x3, channel minima are the values of `cmin` below.
    cmin = np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.95], [0.85, 0.75, 0.65]])
    img = np.stack([cmin + 0.1, cmin, cmin + 0.05])
    out = dark_channel(torch.tensor(img)[None], kernel_size=3)
    # Corner (0, 0) sees rows 0-1, cols 0-1 -> min 0.5; the centre sees all.
    expected = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    np.testing.assert_allclose(out[0, 0].numpy(), expected)
    out1 = dark_channel(torch.tensor(img)[None], kernel_size=1)
    np.testing.assert_allclose(out1[0, 0].numpy(), cmin)


def test_dark_channel_matches_loops():
    rng = np.random.default_rng(0)
    img = rng.random((3, 7, 9))
    for k in (1, 3, 5):
        out = dark_channel(torch.tensor(img)[None], kernel_size=k)
        np.testing.assert_allclose(out[0, 0].numpy(),
                                   _numpy_dark_channel(img, k))


def test_constant_image_transmission():
    colour = torch.tensor([0.8, 0.6, 0.4])
    img = colour[None, :, None, None].expand(2, 3, 10, 12).clone()
    trans, air = estimate_transmission(
        img, kernel_size=3, omega=0.95, return_atmospheric_light=True)
    # A equals the colour, I / A = 1 everywhere, so t = 1 - omega.
    torch.testing.assert_close(air, colour.expand(2, 3))
    torch.testing.assert_close(trans, torch.full((2, 1, 10, 12), 0.05))
    trans1 = estimate_transmission(img, kernel_size=3, omega=1.0)
    torch.testing.assert_close(trans1, torch.zeros(2, 1, 10, 12))


def test_known_atmospheric_light_and_transmission():
    # 4x4 dark background with one bright pixel: with k = 1 and 16 pixels
    # the top 0.1% is one pixel, so A is that pixel's colour.
    img = torch.full((1, 3, 4, 4), 0.2)
    img[0, :, 0, 0] = torch.tensor([0.2, 0.3, 0.4])
    img[0, :, 2, 3] = torch.tensor([1.0, 0.9, 0.8])
    trans, air = estimate_transmission(
        img, kernel_size=1, omega=0.95, return_atmospheric_light=True)
    torch.testing.assert_close(air[0], torch.tensor([1.0, 0.9, 0.8]))
    a = np.array([1.0, 0.9, 0.8])
    expected = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            expected[i, j] = 1 - 0.95 * (img[0, :, i, j].numpy() / a).min()
    np.testing.assert_allclose(trans[0, 0].numpy(), expected, rtol=1e-6)
    assert trans[0, 0, 2, 3] == pytest.approx(0.05)


def test_atmospheric_light_top_fraction_per_image():
    # 50 x 40 = 2,000 pixels -> the 2 brightest dark-channel pixels.
    img = torch.zeros(2, 3, 50, 40)
    img[0, :, 1, 1] = torch.tensor([1.0, 1.0, 1.0])
    img[0, :, 5, 5] = torch.tensor([0.6, 0.8, 1.0])
    img[0, :, 7, 7] = torch.tensor([0.1, 0.1, 0.1])
    img[1] = 0.3
    dark = dark_channel(img, 1)
    air = atmospheric_light(img, dark, top_ratio=0.001)
    torch.testing.assert_close(air[0], torch.tensor([0.8, 0.9, 1.0]))
    torch.testing.assert_close(air[1], torch.full((3, ), 0.3))


def test_no_grad_and_inputs_untouched():
    img = torch.rand(2, 3, 16, 16, requires_grad=True)
    before = img.detach().clone()
    trans = estimate_transmission(img)
    assert not trans.requires_grad
    assert trans.shape == (2, 1, 16, 16)
    assert trans.min() >= 0 and trans.max() <= 1
    torch.testing.assert_close(img.detach(), before)


def test_black_image_is_finite():
    trans = estimate_transmission(torch.zeros(1, 3, 8, 8))
    assert torch.isfinite(trans).all()


def test_resized_transmission():
    rgb = torch.rand(2, 3, 12, 14)
    torch.testing.assert_close(
        resized_transmission(rgb, kernel_size=3),
        estimate_transmission(rgb, kernel_size=3))
    small = resized_transmission(rgb, size=(6, 7))
    assert small.shape == (2, 1, 6, 7)


@pytest.mark.parametrize('kwargs', [
    dict(kernel_size=4),
    dict(kernel_size=0),
    dict(omega=0.0),
    dict(top_ratio=0.0),
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        estimate_transmission(torch.rand(1, 3, 8, 8), **kwargs)


def test_bad_image_shape():
    with pytest.raises(ValueError, match='shape'):
        estimate_transmission(torch.rand(1, 1, 8, 8))
    with pytest.raises(TypeError, match='floating'):
        estimate_transmission(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
