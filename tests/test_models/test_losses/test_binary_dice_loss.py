import pytest
import torch
from mmseg.models.losses import DiceLoss

from mmsmoke.models.losses import BinaryDiceLoss

BIG = 30.0
# p = 1, 0, 1, 0 against smoke at the first pixel only
LOGITS = torch.tensor([[[[BIG, -BIG], [BIG, -BIG]]]])
LABEL = torch.tensor([[[1, 0], [0, 0]]])


def test_hand_computed_values():
    # sum(p y) = 1, sum(p) = 2, sum(y) = 1
    assert BinaryDiceLoss(smooth=0.0)(LOGITS, LABEL).item() == \
        pytest.approx(1 - 2 / 3)
    assert BinaryDiceLoss()(LOGITS, LABEL).item() == \
        pytest.approx(1 - 3 / 4)
    # p = 0.5 everywhere: naive denominator 2 + 1, squared 1 + 1
    half = torch.zeros(1, 1, 2, 2)
    assert BinaryDiceLoss(smooth=0.0)(half, LABEL).item() == \
        pytest.approx(1 - 1 / 3)
    assert BinaryDiceLoss(
        smooth=0.0, square_denominator=True)(half, LABEL).item() == \
        pytest.approx(1 - 1 / 2)
    # loss_weight
    assert BinaryDiceLoss(
        smooth=0.0, loss_weight=3.0)(LOGITS,
                                     LABEL).item() == pytest.approx(1.0)


def test_perfect_prediction_is_near_zero_where_mmseg_dice_is_one():
    logits = torch.where(LABEL[:, None] == 1, BIG, -BIG)
    assert BinaryDiceLoss()(logits, LABEL).item() < 1e-6
    # inverted: sum(p y) = 0, sum(p) = 3, sum(y) = 1
    assert BinaryDiceLoss()(-logits, LABEL).item() == pytest.approx(1 - 1 / 5)
    # MMSeg's DiceLoss scores one channel against the background mask
    stock = DiceLoss(use_sigmoid=True)
    assert stock(logits, LABEL).item() == pytest.approx(1.0, abs=1e-3)
    assert stock(-logits, LABEL).item() < 1e-2


def test_ignored_pixels_and_weights():
    label = LABEL.clone()
    label[0, 1, 0] = 255  # the false positive is ignored now
    assert BinaryDiceLoss(smooth=0.0)(LOGITS, label).item() == \
        pytest.approx(0.0, abs=1e-6)
    weight = torch.tensor([[[1.0, 1.0], [0.0, 1.0]]])
    assert BinaryDiceLoss(smooth=0.0)(
        LOGITS, LABEL, weight=weight).item() == pytest.approx(
            0.0, abs=1e-6)
    # an image with every pixel ignored does not count
    logits = torch.cat([LOGITS, LOGITS])
    labels = torch.cat([LABEL, torch.full_like(LABEL, 255)])
    assert BinaryDiceLoss(smooth=0.0)(logits, labels).item() == \
        pytest.approx(1 - 2 / 3)
    everything_ignored = BinaryDiceLoss()(LOGITS.requires_grad_(),
                                          torch.full_like(LABEL, 255))
    assert everything_ignored.item() == 0.0
    everything_ignored.backward()


def test_per_image_against_batch():
    empty = torch.zeros_like(LABEL)
    logits = torch.cat([LOGITS, torch.full_like(LOGITS, -BIG)])
    labels = torch.cat([LABEL, empty])
    # image 2 has no smoke and predicts none: loss 0 thanks to smooth
    per_image = BinaryDiceLoss()(logits, labels).item()
    assert per_image == pytest.approx((1 - 3 / 4) / 2, rel=1e-5)
    batch = BinaryDiceLoss(per_image=False)(logits, labels).item()
    assert batch == pytest.approx(1 - 3 / 4, rel=1e-5)


def test_gradient_lowers_the_loss():
    torch.manual_seed(0)
    label = (torch.rand(2, 8, 8) > 0.7).long()
    logits = torch.zeros(2, 1, 8, 8, requires_grad=True)
    loss_fn = BinaryDiceLoss()
    opt = torch.optim.Adam([logits], lr=0.5)
    first = loss_fn(logits, label)
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(logits, label)
        loss.backward()
        opt.step()
    assert loss_fn(logits, label).item() < 0.5 * first.item()
    # float16 logits are computed in float32
    half = BinaryDiceLoss()(logits.detach().half(), label)
    assert half.dtype == torch.float32 and torch.isfinite(half)


def test_errors():
    with pytest.raises(ValueError, match='one sigmoid channel'):
        BinaryDiceLoss()(torch.zeros(1, 2, 2, 2), LABEL)
    with pytest.raises(ValueError, match=r'labels in \{0, 1, 255\}'):
        BinaryDiceLoss()(LOGITS, LABEL * 3)
    with pytest.raises(ValueError, match='shape'):
        BinaryDiceLoss()(LOGITS, torch.zeros(1, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match='smooth'):
        BinaryDiceLoss(smooth=-1.0)
