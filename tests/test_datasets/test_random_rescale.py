"""RandomRescale: a random factor of the image's own size."""
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

import mmsmoke  # noqa: F401
from mmsmoke.datasets.transforms import RandomRescale


def _results(h=48, w=64):
    rng = np.random.default_rng(0)
    label = np.zeros((h, w), np.uint8)
    label[10:20, 30:40] = 1
    label[0, :] = 255
    return dict(
        img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        gt_seg_map=label,
        seg_fields=['gt_seg_map'],
        img_shape=(h, w),
        ori_shape=(h, w))


def test_factor_within_range_and_labels_nearest():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='RandomRescale', ratio_range=(0.5, 2.0)))
    sizes = set()
    for _ in range(20):
        out = t(_results())
        h, w = out['img'].shape[:2]
        assert out['gt_seg_map'].shape == (h, w)
        assert out['img_shape'] == (h, w)
        # keep_ratio: both sides scaled by one factor in the range
        assert 0.5 * 48 - 1 <= h <= 2.0 * 48 + 1
        assert abs(w / h - 64 / 48) < 0.05
        assert set(np.unique(out['gt_seg_map'])) <= {0, 1, 255}
        sizes.add((h, w))
    assert len(sizes) > 5


def test_unit_range_is_the_identity():
    t = RandomRescale(ratio_range=(1.0, 1.0))
    res = _results(37, 53)
    img, label = res['img'].copy(), res['gt_seg_map'].copy()
    out = t(res)
    assert np.array_equal(out['img'], img)
    assert np.array_equal(out['gt_seg_map'], label)


@pytest.mark.parametrize('bad', [(0.0, 1.0), (1.5, 1.0), (1.0, ), 'x'])
def test_bad_ratio_range(bad):
    with pytest.raises(ValueError, match='ratio_range'):
        RandomRescale(ratio_range=bad)
