import numpy as np
import pytest
import torch

from mmsmoke.models.losses.structure_loss import StructureLoss


def _reference(logits, label, k, alpha=5.0, ignore=255):
    """Eq. 4 per image with loops (local mean over valid pixels)."""
    h, w = label.shape
    valid = label != ignore
    y = (label == 1).astype(float)
    r = k // 2
    weight = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            if not valid[i, j]:
                continue
            win_y = y[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1]
            win_v = valid[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1]
            mean = win_y[win_v].mean()
            weight[i, j] = 1 + alpha * abs(mean - y[i, j])
    p = 1 / (1 + np.exp(-logits))
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    wbce = (weight * bce).sum() / weight.sum()
    inter = (p * y * weight).sum()
    union = ((p + y) * weight).sum()
    wiou = 1 - (inter + 1) / (union - inter + 1)
    return wbce + wiou


def test_hand_computed_3x3():
    logits = np.array([[2.0, -1.0, 0.5], [-0.5, 1.5, -2.0], [0.3, 0.0, 1.0]])
    label = np.array([[1, 0, 0], [1, 1, 255], [0, 0, 1]])
    expected = _reference(logits, label, k=3)
    loss = StructureLoss(edge_kernel_size=3)
    value = loss(torch.tensor(logits)[None, None], torch.tensor(label)[None])
    assert value.item() == pytest.approx(expected, rel=1e-10)


def test_batch_mean_and_default_kernel():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 12, 10))
    label = (rng.random((2, 12, 10)) > 0.6).astype(np.int64)
    label[1, :3, :] = 255
    expected = np.mean([_reference(logits[i], label[i], 31) for i in (0, 1)])
    value = StructureLoss()(torch.tensor(logits)[:, None], torch.tensor(label))
    assert value.item() == pytest.approx(expected, rel=1e-10)


def test_edge_weight_is_applied():
    # The release's BCE ignores w (reduce='none' bug); here w matters.
    torch.manual_seed(0)
    logits = torch.randn(1, 1, 16, 16, dtype=torch.float64)
    label = torch.zeros(1, 16, 16, dtype=torch.long)
    label[:, 4:12, 4:12] = 1
    weighted = StructureLoss(edge_kernel_size=5)(logits, label)
    flat = StructureLoss(edge_kernel_size=5, edge_weight=0.0)(logits, label)
    assert weighted.item() != pytest.approx(flat.item(), rel=1e-6)
    plain = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[:, 0], label.double())
    p = logits.sigmoid()[:, 0]
    y = label.double()
    iou = 1 - ((p * y).sum() + 1) / ((p + y).sum() - (p * y).sum() + 1)
    assert flat.item() == pytest.approx((plain + iou).item(), rel=1e-10)


def test_ignore_index_and_gradient():
    logits = torch.randn(1, 1, 6, 6, requires_grad=True)
    label = torch.randint(0, 2, (1, 6, 6))
    label[:, :, 4:] = 255
    loss = StructureLoss(edge_kernel_size=3)
    value = loss(logits, label)
    value.backward()
    assert torch.all(logits.grad[..., 4:] == 0)
    assert logits.grad[..., :4].abs().sum() > 0
    other = logits.detach().clone()
    other[..., 4:] = 50.0
    torch.testing.assert_close(loss(other, label), value.detach())


def test_errors():
    loss = StructureLoss()
    assert loss.loss_name == 'loss_structure'
    with pytest.raises(ValueError, match='1-channel'):
        loss(torch.randn(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match='labels in'):
        loss(torch.randn(1, 1, 4, 4), torch.full((1, 4, 4), 2))
    with pytest.raises(ValueError, match='shape'):
        loss(torch.randn(1, 1, 4, 4), torch.zeros(1, 5, 4, dtype=torch.long))
