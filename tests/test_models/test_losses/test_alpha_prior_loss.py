import pytest
import torch

from mmsmoke.models.losses.alpha_prior_loss import AlphaPriorLoss

def test_alpha_prior_loss_hand_computed():
    alpha = torch.tensor([[[[0.2, 0.4], [0.6, 0.8]]]])
    label = torch.tensor([[[0, 0], [1, 255]]])
    loss = AlphaPriorLoss(
        smoke_free_weight=1.0, sparsity_weight=0.5)(alpha, label)
    free = (0.2 + 0.4) / 2
    sparse = (0.2 + 0.4 + 0.6) / 3
    assert loss.item() == pytest.approx(free + 0.5 * sparse)


def test_alpha_prior_loss_ignores_and_handles_no_background():
    alpha = torch.rand(1, 1, 3, 3, requires_grad=True)
    label = torch.full((1, 3, 3), 255)
    loss = AlphaPriorLoss()(alpha, label)
    assert loss.item() == 0
    loss.backward()
    assert alpha.grad is not None


def test_alpha_prior_loss_pushes_background_alpha_down():
    alpha_logit = torch.zeros(1, 1, 4, 4, requires_grad=True)
    label = torch.zeros(1, 4, 4, dtype=torch.long)
    label[..., :2] = 1
    opt = torch.optim.SGD([alpha_logit], lr=10.0)
    loss_fn = AlphaPriorLoss(sparsity_weight=0.0)
    for _ in range(5):
        opt.zero_grad()
        loss_fn(alpha_logit.sigmoid(), label).backward()
        opt.step()
    alpha = alpha_logit.sigmoid()
    assert alpha[..., 2:].max() < 0.3  # background pushed to 0
    assert torch.allclose(alpha[..., :2], torch.full((1, 1, 4, 2), 0.5))


def test_alpha_prior_loss_errors_and_name():
    loss_fn = AlphaPriorLoss()
    assert loss_fn.loss_name == 'loss_alpha'
    with pytest.raises(ValueError, match='label shape'):
        loss_fn(torch.rand(1, 1, 4, 4), torch.zeros(1, 3, 3))
