"""SmokeAwareCrop: smoke-centred crops, RandomCrop behaviour otherwise."""
import numpy as np
import pytest
from mmcv.transforms.utils import cache_random_params
from mmseg.datasets.transforms import RandomCrop

from mmsmoke.datasets.transforms import SmokeAwareCrop


def _results(seg, channels=3):
    h, w = seg.shape
    # The image encodes its coordinates, so crops can be checked.
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([yy % 256, xx % 256, (yy // 256) * 16 + xx // 256],
                   -1).astype(np.uint8)[..., :channels]
    return dict(img=img, gt_seg_map=seg.copy(), seg_fields=['gt_seg_map'])


def _tiny_plume(h=400, w=600):
    seg = np.zeros((h, w), np.uint8)
    seg[h - 6:h - 4, w - 7:w - 5] = 1  # 2x2 px, far from the centre
    return seg


def test_crop_always_contains_a_tiny_far_plume():
    np.random.seed(0)
    t = SmokeAwareCrop(crop_size=(64, 96), smoke_prob=1.0)
    seg = _tiny_plume()
    offsets = set()
    for _ in range(200):
        out = t(_results(seg))
        assert out['img'].shape == (64, 96, 3)
        assert out['gt_seg_map'].shape == (64, 96)
        assert out['img_shape'] == (64, 96)
        assert (out['gt_seg_map'] == 1).any()
        offsets.add((int(out['img'][0, 0, 0]), int(out['img'][0, 0, 1])))
    assert len(offsets) > 20  # the crop is placed at random around it


def test_plain_random_crop_rarely_finds_it():
    np.random.seed(0)
    t = SmokeAwareCrop(crop_size=(64, 96), smoke_prob=0.0)
    hits = sum((t(_results(_tiny_plume()))['gt_seg_map'] == 1).any()
               for _ in range(200))
    assert hits < 20


def test_components_are_picked_uniformly_not_by_area():
    seg = np.zeros((300, 600), np.uint8)
    seg[100:300, 0:200] = 1  # a large plume on the left
    seg[10:12, 580:582] = 1  # a tiny one top right
    np.random.seed(1)
    t = SmokeAwareCrop(crop_size=(50, 50), smoke_prob=1.0)
    tiny = 0
    trials = 400
    for _ in range(trials):
        out = t(_results(seg))
        x = int(out['img'][0, 0, 1]) + 256 * (int(out['img'][0, 0, 2]) % 16)
        tiny += x >= 400
        assert (out['gt_seg_map'] == 1).any()
    # Pixel-proportional picking would choose the tiny one 4 times in
    # 40,004; uniform over the two components about half the time.
    assert 0.4 < tiny / trials < 0.6


def test_crop_content_matches_the_box():
    seg = _tiny_plume(120, 150)
    np.random.seed(3)
    t = SmokeAwareCrop(crop_size=32, smoke_prob=1.0)
    res = _results(seg)
    img, lab = res['img'].copy(), res['gt_seg_map'].copy()
    out = t(res)
    y0, x0 = int(out['img'][0, 0, 0]), int(out['img'][0, 0, 1])
    np.testing.assert_array_equal(out['img'], img[y0:y0 + 32, x0:x0 + 32])
    np.testing.assert_array_equal(out['gt_seg_map'], lab[y0:y0 + 32,
                                                         x0:x0 + 32])


@pytest.mark.parametrize('cat_max_ratio', [1.0, 0.75])
def test_without_smoke_it_is_random_crop(cat_max_ratio):
    seg = np.zeros((90, 120), np.uint8)
    seg[:, :60] = 255 if cat_max_ratio < 1 else 0
    ours = SmokeAwareCrop(
        crop_size=(40, 50), smoke_prob=1.0, cat_max_ratio=cat_max_ratio)
    stock = RandomCrop(crop_size=(40, 50), cat_max_ratio=cat_max_ratio)
    for seed in range(20):
        np.random.seed(seed)
        a = ours(_results(seg))
        np.random.seed(seed)
        b = stock(_results(seg))
        np.testing.assert_array_equal(a['img'], b['img'])
        np.testing.assert_array_equal(a['gt_seg_map'], b['gt_seg_map'])


def test_image_smaller_than_the_crop():
    seg = np.zeros((20, 100), np.uint8)
    seg[5, 90] = 1
    np.random.seed(0)
    for prob in (0.0, 1.0):
        t = SmokeAwareCrop(crop_size=(64, 32), smoke_prob=prob)
        stock = RandomCrop(crop_size=(64, 32))
        out = t(_results(seg))
        # Like RandomCrop: the short axis is kept whole, not padded.
        assert out['img'].shape == (20, 32, 3)
        assert stock(_results(seg))['img'].shape == (20, 32, 3)
        if prob == 1.0:
            assert out['gt_seg_map'].max() == 1


def test_cache_randomness_is_supported_and_random_crop_untouched():
    assert RandomCrop._methods_with_randomness == ['crop_bbox']
    assert SmokeAwareCrop._methods_with_randomness == ['crop_bbox']
    t = SmokeAwareCrop(crop_size=16, smoke_prob=1.0)
    seg = _tiny_plume(100, 100)
    np.random.seed(0)
    with cache_random_params(t):
        a = t(_results(seg))
        b = t(_results(seg))
    np.testing.assert_array_equal(a['img'], b['img'])


def test_input_errors():
    t = SmokeAwareCrop(crop_size=8)
    with pytest.raises(KeyError, match='gt_seg_map'):
        t(dict(img=np.zeros((10, 10, 3), np.uint8)))
    with pytest.raises(ValueError, match='differs from img shape'):
        t(
            dict(
                img=np.zeros((10, 10, 3), np.uint8),
                gt_seg_map=np.zeros((9, 10), np.uint8)))


@pytest.mark.parametrize('kwargs,match', [
    (dict(crop_size=0), 'crop_size'),
    (dict(crop_size=(8, )), 'crop_size'),
    (dict(crop_size=(8, 8.5)), 'crop_size'),
    (dict(crop_size='8'), 'crop_size'),
    (dict(crop_size=8, smoke_prob=2), 'smoke_prob'),
    (dict(crop_size=8, cat_max_ratio=0), 'cat_max_ratio'),
    (dict(crop_size=8, smoke_label=255), 'smoke_label'),
    (dict(crop_size=8, ignore_index='x'), 'ignore_index'),
])
def test_argument_errors_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmokeAwareCrop(**kwargs)


def test_list_crop_size_from_a_config():
    from mmseg.registry import TRANSFORMS
    t = TRANSFORMS.build(dict(type='SmokeAwareCrop', crop_size=[24, 32]))
    assert t.crop_size == (24, 32)
    assert 'smoke_prob=0.5' in repr(t)
