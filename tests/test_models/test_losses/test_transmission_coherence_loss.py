import math

import pytest
import torch
from benchmark_transmission_loss import unfold_coherence_sum

from mmsmoke.models.losses.transmission_coherence_loss import (
    TransmissionCoherenceLoss, transmission_coherence)


def _random_maps(seed, shape, invalid_share, requires_grad=False):
    """Seeded float64 ``prob`` of ``shape`` (N, C, H, W), ``trans`` and a
    ``valid`` mask (about ``invalid_share`` of it 0) of one channel."""
    torch.manual_seed(seed)
    n, _, h, w = shape
    prob = torch.rand(*shape, dtype=torch.float64, requires_grad=requires_grad)
    trans = torch.rand(n, 1, h, w, dtype=torch.float64)
    valid = (torch.rand(n, 1, h, w) > invalid_share).to(torch.float64)
    return prob, trans, valid


def test_hand_computed_3x3(coherence_brute_force):
    logits = torch.tensor(
        [[0.0, 2.0, -1.0], [1.0, -2.0, 0.5], [3.0, 0.0, -0.5]],
        dtype=torch.float64)[None, None]
    trans = torch.tensor([[0.2, 0.25, 0.9], [0.3, 0.5, 0.6], [0.1, 0.15, 0.8]],
                         dtype=torch.float64)[None, None]
    label = torch.tensor([[0, 1, 1], [0, 255, 1], [0, 0, 1]])[None]
    valid = (label != 255).to(torch.float64)[:, None]
    total, _ = coherence_brute_force(
        logits.sigmoid(),
        trans,
        1 - trans,
        valid,
        3,
        sigma_xy=3.0,
        sigma_trans=0.1,
        kernel_weight=0.1)
    loss = TransmissionCoherenceLoss(kernel_size=3)
    value = loss(logits, label, transmission=trans)
    assert value.item() == pytest.approx(total / valid.sum().item(), rel=1e-10)


def test_hand_computed_two_pixels():
    # Two pixels, k = 3: the loss is both directions of the single pair.
    p = torch.tensor([[[[0.0, 1.0]]]], dtype=torch.float64)  # logits
    t = torch.tensor([[[[0.4, 0.5]]]], dtype=torch.float64)
    q = torch.sigmoid(p)[0, 0, 0]
    kern = 0.1 * math.exp(-1 / 18 - 0.01 / 0.02)
    expected = kern * ((1 - 0.4) + (1 - 0.5)) * abs(q[0] - q[1]).item() / 2
    value = TransmissionCoherenceLoss(kernel_size=3)(p, transmission=t)
    assert value.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize('kernel_size,channels', [(3, 1), (5, 1), (5, 2),
                                                  (7, 1)])
def test_matches_unfold_coherence_sum(kernel_size, channels):
    prob, trans, valid = _random_maps(0, (2, channels, 9, 11), 0.2)
    centre = (1 - trans) * valid
    ours = transmission_coherence(
        prob, trans, centre, valid, kernel_size=kernel_size)
    ref = unfold_coherence_sum(prob, trans, valid, kernel_size=kernel_size)
    torch.testing.assert_close(ours, ref)


def test_gradients_match_unfold_coherence_sum():
    prob, trans, valid = _random_maps(
        1, (2, 1, 12, 10), 0.1, requires_grad=True)
    ours = transmission_coherence(prob, trans, (1 - trans) * valid, valid)
    (g_ours, ) = torch.autograd.grad(ours, prob)
    ref = unfold_coherence_sum(prob, trans, valid)
    (g_ref, ) = torch.autograd.grad(ref, prob)
    torch.testing.assert_close(g_ours, g_ref)


def test_gradcheck_float64():
    prob, trans, valid = _random_maps(2, (1, 2, 6, 7), 0.2, requires_grad=True)

    def fn(p):
        return transmission_coherence(
            p, trans, (1 - trans) * valid, valid, kernel_size=5)

    assert torch.autograd.gradcheck(fn, (prob, ), eps=1e-6, atol=1e-8)


def test_loss_gradient_through_logits():
    torch.manual_seed(3)
    logits = torch.randn(2, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    trans = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    label = torch.randint(0, 2, (2, 8, 8))
    label[0, :2] = 255
    loss = TransmissionCoherenceLoss(kernel_size=5)

    def fn(x):
        return loss(x, label, transmission=trans)

    assert torch.autograd.gradcheck(fn, (logits, ), eps=1e-6, atol=1e-8)


def test_no_in_place_side_effects():
    torch.manual_seed(4)
    logits = torch.randn(2, 1, 10, 10)
    trans = torch.rand(2, 1, 10, 10)
    label = torch.randint(0, 2, (2, 10, 10))
    copies = [t.clone() for t in (logits, trans, label)]
    loss = TransmissionCoherenceLoss()
    first = loss(logits, label, transmission=trans)
    second = loss(logits, label, transmission=trans)
    third = loss(logits, label, transmission=trans)
    # The release divides T by sigma_T in place on every call.
    assert first.item() == second.item() == third.item()
    for before, after in zip(copies, (logits, trans, label)):
        assert torch.equal(before, after)


def test_ignored_pixels_do_not_matter():
    torch.manual_seed(5)
    logits = torch.randn(1, 1, 8, 8)
    trans = torch.rand(1, 1, 8, 8)
    label = torch.zeros(1, 8, 8, dtype=torch.long)
    label[:, :, 6:] = 255
    loss = TransmissionCoherenceLoss()
    a = loss(logits, label, transmission=trans)
    logits2 = logits.clone()
    logits2[:, :, :, 6:] = 10.0
    trans2 = trans.clone()
    trans2[:, :, :, 6:] = 0.0
    b = loss(logits2, label, transmission=trans2)
    torch.testing.assert_close(a, b)


def test_constant_prediction_gives_zero_and_weights():
    trans = torch.rand(1, 1, 6, 6)
    zero = TransmissionCoherenceLoss()(
        torch.zeros(1, 1, 6, 6), transmission=trans)
    assert zero.item() == 0.0
    # T = 1 everywhere: (1 - T) removes every pixel.
    one = TransmissionCoherenceLoss()(
        torch.randn(1, 1, 6, 6), transmission=torch.ones(1, 1, 6, 6))
    assert one.item() == 0.0
    no_rev = TransmissionCoherenceLoss(reverse_transmission_weight=False)(
        torch.randn(1, 1, 6, 6), transmission=torch.ones(1, 1, 6, 6))
    assert no_rev.item() > 0


def test_options_and_errors():
    logits = torch.randn(2, 1, 20, 20)
    trans = torch.rand(2, 1, 10, 10)  # resized to the logits
    loss = TransmissionCoherenceLoss(scale_factor=0.5, loss_weight=0.3)
    assert torch.isfinite(loss(logits, None, transmission=trans))
    assert loss.loss_name == 'loss_trans'
    with pytest.raises(ValueError, match='pixel_losses'):
        loss(logits, torch.zeros(2, 20, 20, dtype=torch.long))
    with pytest.raises(ValueError, match='transmission must have shape'):
        loss(logits, transmission=torch.rand(3, 1, 20, 20))
    with pytest.raises(ValueError, match='kernel_size'):
        TransmissionCoherenceLoss(kernel_size=4)
