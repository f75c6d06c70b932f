import pytest
import torch

from mmsmoke.models.losses.image_formation_loss import ImageFormationLoss

def test_image_formation_loss_zero_for_exact_composite():
    alpha = torch.rand(2, 1, 5, 5)
    smoke = torch.rand(2, 3, 5, 5)
    background = torch.rand(2, 3, 5, 5)
    image = alpha * smoke + (1 - alpha) * background
    loss = ImageFormationLoss()(image, alpha, smoke, background)
    assert loss.item() == pytest.approx(0.0, abs=1e-7)


def test_image_formation_loss_hand_computed():
    image = torch.full((1, 3, 1, 2), 0.5)
    alpha = torch.tensor([[[[0.5, 0.0]]]])
    smoke = torch.ones(1, 3, 1, 2)
    background = torch.zeros(1, 3, 1, 2)
    # pixel 0: composite 0.5 -> error 0; pixel 1: composite 0 -> error 0.5
    loss = ImageFormationLoss(loss_weight=3.0)(image, alpha, smoke, background)
    assert loss.item() == pytest.approx(3.0 * 0.25)
    valid = torch.tensor([[[[0., 1.]]]])
    loss = ImageFormationLoss()(image, alpha, smoke, background, valid)
    assert loss.item() == pytest.approx(0.5)


def test_image_formation_loss_gradients_and_errors():
    alpha = torch.rand(1, 1, 4, 4, requires_grad=True)
    smoke = torch.rand(1, 3, 4, 4, requires_grad=True)
    loss_fn = ImageFormationLoss()
    loss = loss_fn(
        torch.rand(1, 3, 4, 4), alpha, smoke, torch.rand(1, 3, 4, 4))
    loss.backward()
    assert alpha.grad.abs().sum() > 0 and smoke.grad.abs().sum() > 0
    assert loss_fn.loss_name == 'loss_formation'
    with pytest.raises(ValueError, match='alpha'):
        loss_fn(
            torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4),
            torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match='share'):
        loss_fn(
            torch.rand(1, 3, 4, 4), torch.rand(1, 1, 4, 4),
            torch.rand(1, 1, 4, 4), torch.rand(1, 3, 4, 4))
