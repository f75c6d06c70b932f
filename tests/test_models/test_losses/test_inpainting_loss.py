import pytest
import torch

from mmsmoke.models.losses.inpainting_loss import InpaintingLoss

def test_inpainting_loss_hand_computed():
    pred = torch.zeros(1, 3, 2, 2)
    target = torch.zeros(1, 3, 2, 2)
    target[0, :, 0, 0] = torch.tensor([0.3, 0.6, 0.9])  # mean error 0.6
    target[0, :, 1, 1] = 1.0  # mean error 1.0, masked out below
    mask = torch.tensor([[[[1., 1.], [0., 0.]]]])
    loss = InpaintingLoss(loss_weight=2.0)(pred, target, mask)
    # (0.6 + 0) / 2 valid pixels, times 2
    assert loss.item() == pytest.approx(0.6)
    # no mask: mean over all 4 pixels
    loss = InpaintingLoss()(pred, target)
    assert loss.item() == pytest.approx((0.6 + 1.0) / 4)
    # a (N, H, W) mask is accepted
    loss = InpaintingLoss()(pred, target, mask[:, 0])
    assert loss.item() == pytest.approx(0.3)


def test_inpainting_loss_empty_mask_is_zero_and_connected():
    pred = torch.rand(2, 3, 4, 4, requires_grad=True)
    loss = InpaintingLoss()(pred, torch.rand(2, 3, 4, 4),
                            torch.zeros(2, 1, 4, 4))
    assert loss.item() == 0
    loss.backward()
    assert pred.grad is not None and pred.grad.abs().sum() == 0


def test_inpainting_loss_gradient_only_on_valid_pixels():
    pred = torch.rand(1, 3, 4, 4, requires_grad=True)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    InpaintingLoss()(pred, torch.rand(1, 3, 4, 4), mask).backward()
    assert pred.grad[..., :2, :].abs().sum() > 0
    assert pred.grad[..., 2:, :].abs().sum() == 0


def test_inpainting_loss_errors_and_name():
    loss = InpaintingLoss()
    assert loss.loss_name == 'loss_inpaint'
    with pytest.raises(ValueError, match='shapes differ'):
        loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))
    with pytest.raises(ValueError, match='valid_mask'):
        loss(
            torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4),
            torch.ones(1, 1, 2, 2))
    with pytest.raises(ValueError, match='loss_'):
        InpaintingLoss(loss_name='inpaint')
