import numpy as np
import pytest
import torch

from mmsmoke.models.losses.uncertainty_calibrated_entropy_loss import \
    UncertaintyCalibratedEntropyLoss


def _entropy(x):
    log_q = -np.logaddexp(0, -x)
    log_1mq = -np.logaddexp(0, x)
    q = np.exp(log_q)
    return -(q * log_q + (1 - q) * log_1mq)


def test_hand_computed_3x3():
    s = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.2], [1.5, -2.5, 0.7]])
    u = np.array([[0.5, 1.0, 0.25], [0.8, 0.9, 0.1], [0.6, 0.3, 1.0]])
    label = np.array([[0, 1, 0], [1, 255, 0], [0, 1, 1]])
    valid = label != 255
    expected = _entropy(s / u)[valid].mean()
    loss = UncertaintyCalibratedEntropyLoss()
    value = loss(
        torch.tensor(s)[None, None],
        torch.tensor(label)[None],
        uncertainty=torch.tensor(u)[None, None])
    assert value.item() == pytest.approx(expected, rel=1e-10)


def test_temperature_one_is_plain_entropy_and_weight():
    s = torch.randn(2, 1, 4, 4, dtype=torch.float64)
    value = UncertaintyCalibratedEntropyLoss(loss_weight=0.01)(
        s, uncertainty=torch.ones(2, 1, 4, 4, dtype=torch.float64))
    expected = 0.01 * _entropy(s.numpy()).mean()
    assert value.item() == pytest.approx(expected, rel=1e-10)


def test_small_uncertainty_is_safe():
    s = torch.tensor([[[[30.0, -30.0], [1e-3, 0.0]]]], requires_grad=True)
    u = torch.tensor([[[[0.0, 1e-12], [0.0, 0.0]]]], requires_grad=True)
    loss = UncertaintyCalibratedEntropyLoss(min_temperature=0.01)
    value = loss(s, uncertainty=u)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(s.grad).all()
    # The temperature is clamped to 0.01: s / U = 0.1 at pixel (1, 0).
    expected = (_entropy(np.array([3000.0, -3000.0, 0.1, 0.0]))).mean()
    assert value.item() == pytest.approx(expected, rel=1e-5)
    # The uncertainty network is not trained through this loss.
    assert u.grad is None


def test_gradient_pushes_towards_binary():
    s = torch.tensor([[[[0.3]]]], requires_grad=True)
    loss = UncertaintyCalibratedEntropyLoss()
    loss(s, uncertainty=torch.tensor([[[[0.5]]]])).backward()
    assert s.grad.item() < 0  # descent increases s, away from 0


def test_multiclass_and_resize():
    s = torch.randn(1, 3, 8, 8)
    u = torch.rand(1, 1, 4, 4) + 0.1
    value = UncertaintyCalibratedEntropyLoss()(s, uncertainty=u)
    assert torch.isfinite(value) and value.item() >= 0


def test_errors():
    loss = UncertaintyCalibratedEntropyLoss()
    assert loss.loss_name == 'loss_cal_ent'
    with pytest.raises(ValueError, match='BVMEncoderDecoder'):
        loss(torch.randn(1, 1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match='uncertainty must have shape'):
        loss(torch.randn(1, 1, 4, 4), uncertainty=torch.rand(1, 2, 4, 4))
    with pytest.raises(ValueError, match='min_temperature'):
        UncertaintyCalibratedEntropyLoss(min_temperature=0)
