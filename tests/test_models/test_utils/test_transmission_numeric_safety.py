"""The DCP transmission and the uncertainty helpers on degenerate images.

``estimate_transmission`` divides by the atmospheric light, which is 0 for
a black image; the uncertainty helpers take logarithms of probabilities that
are exactly 0 or 1 after extreme logits. Both must stay finite and in range.
"""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsmoke.models.utils.transmission import (dark_channel,
                                               estimate_transmission)
from mmsmoke.models.uncertainty.uncertainty_net import (binary_entropy,
                                                  mc_uncertainty)

SETTINGS = settings(
    max_examples=40, deadline=None, database=None, derandomize=True)
KINDS = ('black', 'white', 'constant', 'saturated', 'one_channel', 'random',
         'overshoot')


def make_image(kind: str, n: int, h: int, w: int, value: float,
               gen: torch.Generator) -> torch.Tensor:
    if kind == 'black':
        return torch.zeros(n, 3, h, w)
    if kind == 'white':
        return torch.ones(n, 3, h, w)
    if kind == 'constant':
        return torch.full((n, 3, h, w), value)
    if kind == 'saturated':
        return torch.randint(0, 2, (n, 3, h, w), generator=gen).float()
    if kind == 'one_channel':  # pure red: two channels at 0
        img = torch.zeros(n, 3, h, w)
        img[:, 0] = 1.0
        return img
    if kind == 'overshoot':  # rounding of a de-normalised input
        return torch.rand(n, 3, h, w, generator=gen) * 1.2 - 0.1
    return torch.rand(n, 3, h, w, generator=gen)


def check_transmission(img: torch.Tensor, **kwargs) -> torch.Tensor:
    trans, air = estimate_transmission(
        img, return_atmospheric_light=True, **kwargs)
    n, _, h, w = img.shape
    assert trans.shape == (n, 1, h, w) and air.shape == (n, 3)
    assert torch.isfinite(trans).all() and torch.isfinite(air).all()
    assert trans.min() >= 0 and trans.max() <= 1
    assert not trans.requires_grad
    return trans


@pytest.mark.parametrize('kind', KINDS)
def test_named_extremes_are_finite(kind):
    gen = torch.Generator().manual_seed(0)
    img = make_image(kind, 2, 9, 11, 0.4, gen).requires_grad_(True)
    check_transmission(img, kernel_size=5)


def test_hand_computed_limits():
    # Black: A is clamped to eps, I / A = 0, so T = 1 (no haze).
    trans = check_transmission(torch.zeros(1, 3, 6, 6), kernel_size=3)
    assert torch.equal(trans, torch.ones_like(trans))
    # White or any constant grey: A = I, dark channel of I / A = 1,
    # T = 1 - omega.
    for value in (1.0, 0.37):
        trans = check_transmission(
            torch.full((1, 3, 6, 6), value), kernel_size=3, omega=0.95)
        torch.testing.assert_close(trans, torch.full_like(trans, 0.05))
    # A pure colour has dark channel 0 everywhere: T = 1.
    img = torch.zeros(1, 3, 6, 6)
    img[:, 2] = 1.0
    assert torch.equal(check_transmission(img), torch.ones(1, 1, 6, 6))


def test_half_precision_input():
    gen = torch.Generator().manual_seed(1)
    for kind in KINDS:
        img = make_image(kind, 1, 16, 16, 0.5, gen).half()
        trans = check_transmission(img, kernel_size=5)
        assert trans.dtype == torch.float16


@SETTINGS
@given(
    kind=st.sampled_from(KINDS),
    n=st.integers(1, 2),
    h=st.integers(1, 20),
    w=st.integers(1, 20),
    value=st.floats(0.0, 1.0, width=32),
    kernel_size=st.sampled_from((1, 3, 5, 15)),
    omega=st.floats(0.01, 1.0),
    top_ratio=st.floats(1e-4, 1.0),
    seed=st.integers(0, 2**16))
def test_property_transmission(kind, n, h, w, value, kernel_size, omega,
                               top_ratio, seed):
    gen = torch.Generator().manual_seed(seed)
    img = make_image(kind, n, h, w, value, gen)
    trans = check_transmission(
        img, kernel_size=kernel_size, omega=omega, top_ratio=top_ratio)
    if kind in ('black', 'one_channel'):
        assert torch.equal(trans, torch.ones_like(trans))
    # The dark channel is a minimum: never above any channel of I.
    dark = dark_channel(img, kernel_size)
    assert (dark <= img.amin(dim=1, keepdim=True)).all()


@SETTINGS
@given(
    probs=st.lists(
        st.sampled_from((0.0, 1.0, 1e-30, 1 - 1e-7, 0.5)),
        min_size=2,
        max_size=6))
def test_entropies_of_saturated_probabilities(probs):
    """Samples at exactly 0 or 1 (sigmoid of +-1e4) give finite maps."""
    p = torch.tensor(probs, dtype=torch.float32).view(-1, 1, 1, 1, 1)
    total, aleatoric, epistemic = mc_uncertainty(p)
    for m in (total, aleatoric, epistemic):
        assert torch.isfinite(m).all()
        assert m.min() >= 0 and m.max() <= 1
    logits = torch.tensor([-1e4, 1e4, 0.0], requires_grad=True)
    h = binary_entropy(logits.sigmoid())
    h.sum().backward()
    assert torch.isfinite(h).all() and torch.isfinite(logits.grad).all()
    assert h[2].item() == pytest.approx(1.0)
