import pytest
import torch

from mmsmoke.models.utils import random_box_masks, restore_to_original

def test_random_box_masks_shape_range_and_reproducibility():
    gen = torch.Generator().manual_seed(0)
    masks = random_box_masks(3, (20, 30), 2, (0.2, 0.4), generator=gen)
    assert masks.shape == (3, 1, 20, 30)
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    # each mask covers at most 2 boxes of at most 0.4 x 0.4 of the image
    cover = masks.mean(dim=(1, 2, 3))
    assert (cover > 0).all() and (cover <= 2 * 0.4 * 0.4 + 1e-6).all()
    gen = torch.Generator().manual_seed(0)
    again = random_box_masks(3, (20, 30), 2, (0.2, 0.4), generator=gen)
    assert torch.equal(masks, again)


def test_random_box_masks_box_is_rectangle():
    masks = random_box_masks(4, (32, 32), 1, (0.3, 0.3))
    for m in masks[:, 0]:
        ys, xs = torch.nonzero(m, as_tuple=True)
        h = ys.max() - ys.min() + 1
        w = xs.max() - xs.min() + 1
        # a single full rectangle (possibly clipped at the border)
        assert m.sum() == h * w
        assert h <= 10 and w <= 10


def test_random_box_masks_empty_and_errors():
    assert random_box_masks(2, (8, 8), 0).sum() == 0
    with pytest.raises(ValueError, match='scale_range'):
        random_box_masks(1, (8, 8), 1, (0.5, 0.2))


def test_restore_to_original_unpads_flips_and_resizes():
    maps = torch.arange(2 * 4 * 6, dtype=torch.float32).view(1, 2, 4, 6)
    meta = dict(ori_shape=(3, 4), padding_size=[0, 2, 0, 1])
    out = restore_to_original(maps, meta)
    assert out.shape == (2, 3, 4)
    assert torch.equal(out, maps[0, :, :3, :4])
    meta = dict(
        ori_shape=(3, 4),
        img_padding_size=[1, 1, 0, 1],
        padding_size=[9, 9, 9, 9],
        flip=True,
        flip_direction='horizontal')
    out = restore_to_original(maps, meta)
    assert torch.equal(out, maps[0, :, :3, 1:5].flip(-1))
    meta = dict(ori_shape=(8, 12))
    out = restore_to_original(torch.ones(1, 3, 4, 6), meta)
    assert out.shape == (3, 8, 12) and torch.allclose(out, torch.ones(1))


def test_restore_to_original_errors():
    with pytest.raises(KeyError, match='ori_shape'):
        restore_to_original(torch.ones(1, 1, 2, 2), dict())
    with pytest.raises(ValueError, match='flip_direction'):
        restore_to_original(
            torch.ones(1, 1, 2, 2),
            dict(ori_shape=(2, 2), flip=True, flip_direction='diagonal'))
