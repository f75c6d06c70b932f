"""SyntheticSmokeOverlay: labels, image formation, randomness, pipelines."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmsmoke.datasets.synthetic.noise import fbm
from mmsmoke.datasets.synthetic.plume import (PlumeRenderer, draw_plume_shape,
                                              plume_textures)
from mmsmoke.datasets.transforms import SyntheticSmokeOverlay

SHARED = Path(__file__).resolve().parents[2].parent / 'shared' / 'data'


def _scene(h=64, w=80, seed=0):
    """A BGR uint8 'landscape': bright sky over textured ground."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (0.85, 0.70, 0.55)  # BGR: light blue sky
    ground = 0.25 + 0.3 * fbm((h - h // 3, w), rng, 6, 4)[..., None]
    img[h // 3:] = ground * np.array([0.5, 0.8, 0.9], np.float32)
    return np.round(img * 255).astype(np.uint8)


def _results(img, seg=None):
    if seg is None:
        seg = np.zeros(img.shape[:2], np.uint8)
    return dict(
        img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map'])


def _label(h=64, w=80):
    seg = np.zeros((h, w), np.uint8)
    seg[40:50, 10:20] = 1  # existing smoke
    seg[:, -6:] = 255  # an ignored strip
    seg[0:8, 0:8] = 255
    return seg


def _smoky(**kwargs):
    """Always smoke, always visible enough to be added (contrast 0)."""
    kw = dict(prob=1.0, distractor_prob=0.0, min_contrast=0.0, debug=True)
    kw.update(kwargs)
    return SyntheticSmokeOverlay(**kw)


def test_label_is_a_superset_and_ignore_stays_ignored():
    seg = _label()
    added = 0
    for seed in range(6):
        t = _smoky(seed=seed, area_range=(0.01, 0.05))
        out = t(_results(_scene(seed=seed), seg))
        new = out['gt_seg_map']
        assert new.dtype == np.uint8 and new.shape == seg.shape
        assert set(np.unique(new).tolist()) <= {0, 1, 255}
        assert (new[seg == 1] == 1).all()  # no smoke removed
        assert (new[seg == 255] == 255).all()  # ignore stays ignore
        # New smoke is exactly alpha > mask_threshold outside ignore.
        alpha = out['synthetic_alpha']
        expect = np.where(seg == 255, 255,
                          np.where((alpha > 0.1) | (seg == 1), 1, 0))
        np.testing.assert_array_equal(new, expect)
        added += int(((new == 1) & (seg == 0)).sum())
        assert out['synthetic_overlay'] == bool(((alpha > 0.1)).any())
    assert added > 0


def test_alpha_bounds_and_compositing_formula():
    img = _scene()
    t = _smoky(seed=3, num_plumes=2, alpha_range=(0.3, 0.5))
    out = t(_results(img))
    alpha = out['synthetic_alpha']
    smoke = out['synthetic_smoke']
    back = out['synthetic_background']
    assert alpha.dtype == np.float32 and alpha.shape == img.shape[:2]
    assert alpha.min() >= 0
    assert alpha.max() <= 1 - (1 - 0.5)**2 + 1e-6  # two plumes at most
    assert alpha.max() > 0.1
    assert 0 <= smoke.min() and smoke.max() <= 1
    # Without distractors the background is the input image (RGB).
    np.testing.assert_allclose(back * 255, img[..., ::-1], atol=1e-3)
    # I' = (1 - alpha) * I + alpha * S, written back as rounded BGR.
    a = alpha[..., None]
    expect = ((1 - a) * back + a * smoke) * 255
    new = out['img'].astype(np.float32)[..., ::-1]
    assert np.abs(new - expect).max() <= 0.5 + 1e-3
    # Untouched where alpha is 0; changed where smoke was added.
    zero = alpha == 0
    np.testing.assert_array_equal(out['img'][zero], img[zero])
    labelled = (out['gt_seg_map'] == 1)
    assert labelled.any()
    changed = np.abs(out['img'].astype(int) - img.astype(int)).max(-1) > 0
    assert changed[labelled].mean() > 0.5


def test_renderer_box_matches_full_frame():
    rng = np.random.default_rng(0)
    p = dict(draw_plume_shape(rng, 0.6), xs=40.0, ys=50.0, theta=0.2, bend=0.3)
    tex = plume_textures(rng)
    full = PlumeRenderer((64, 80), 0.1, full_frame=True)
    box = PlumeRenderer((64, 80), 0.1, full_frame=False)
    a_full, f_full, b_full = full.render(p, tex, 30.0)
    a_box, f_box, (y0, y1, x0, x1) = box.render(p, tex, 30.0)
    assert b_full == (0, 64, 0, 80)
    np.testing.assert_allclose(a_full[y0:y1, x0:x1], a_box, atol=1e-6)
    assert a_full.sum() == pytest.approx(a_box.sum(), rel=1e-5)
    for key in f_full:
        np.testing.assert_allclose(
            f_full[key][y0:y1, x0:x1], f_box[key], atol=1e-6)


def test_same_seed_same_output_other_seed_differs():
    img, seg = _scene(), _label()
    a, b = _smoky(seed=5), _smoky(seed=5)
    for _ in range(3):  # the private generators advance identically
        ra, rb = a(_results(img, seg)), b(_results(img, seg))
        np.testing.assert_array_equal(ra['img'], rb['img'])
        np.testing.assert_array_equal(ra['gt_seg_map'], rb['gt_seg_map'])
    c = _smoky(seed=6)(_results(img, seg))
    assert not np.array_equal(c['img'],
                              _smoky(seed=5)(_results(img, seg))['img'])


def test_global_random_state_when_unseeded():
    img = _scene()
    t = _smoky()
    np.random.seed(11)
    first = t(_results(img))['img']
    np.random.seed(11)
    again = t(_results(img))['img']
    np.testing.assert_array_equal(first, again)
    np.random.seed(12)
    assert not np.array_equal(first, t(_results(img))['img'])


def test_dataloader_workers_draw_different_streams(monkeypatch):
    import torch.utils.data as tud

    class Info:

        def __init__(self, wid):
            self.id = wid

    img = _scene()
    outs = {}
    for wid in (0, 1):
        monkeypatch.setattr(tud, 'get_worker_info', lambda w=wid: Info(w))
        outs[wid] = _smoky(seed=2)(_results(img))['img']
    assert not np.array_equal(outs[0], outs[1])
    # The same worker id with the same seed repeats itself.
    monkeypatch.setattr(tud, 'get_worker_info', lambda: Info(1))
    np.testing.assert_array_equal(outs[1],
                                  _smoky(seed=2)(_results(img))['img'])


@pytest.mark.parametrize('kind', ['cloud', 'fog', 'haze', None])
def test_distractors_change_the_image_never_the_label(kind):
    img, seg = _scene(), _label()
    distractors = (kind, ) if kind else ('cloud', 'fog', 'haze')
    t = SyntheticSmokeOverlay(
        prob=0.0, distractor_prob=1.0, distractors=distractors, seed=1)
    out = t(_results(img, seg))
    np.testing.assert_array_equal(out['gt_seg_map'], seg)
    assert not np.array_equal(out['img'], img)
    assert out['synthetic_overlay'] is False
    assert out['synthetic_plumes'] == []
    assert out['synthetic_distractors'] and (
        kind is None or out['synthetic_distractors'] == [kind])


def test_probability_zero_is_a_no_op():
    img, seg = _scene(), _label()
    out = SyntheticSmokeOverlay(
        prob=0.0, distractor_prob=0.0, seed=0)(
            _results(img, seg))
    np.testing.assert_array_equal(out['img'], img)
    np.testing.assert_array_equal(out['gt_seg_map'], seg)
    assert out['synthetic_overlay'] is False


def test_default_plumes_are_small_and_thin():
    t = _smoky(seed=0)
    img = np.full((96, 128, 3), 120, np.uint8)
    areas, peaks = [], []
    for _ in range(8):
        out = t(_results(img))
        for p in out['synthetic_plumes']:
            if p['status'] == 'added':
                areas.append(p['area'])
                peaks.append(p['alpha_max'])
    assert len(areas) >= 8
    assert all(0.2 <= a <= 0.6 for a in peaks)
    # Log-uniform in (0.05%, 2%): rendered areas land near that range.
    assert np.median(areas) < 0.02
    assert max(areas) < 0.06


@pytest.mark.parametrize('shape', [(37, 53, 3), (37, 53), (37, 53, 1),
                                   (16, 16, 3)])
def test_odd_sizes_and_grey_images(shape):
    rng = np.random.default_rng(0)
    img = rng.integers(60, 200, shape, dtype=np.uint8)
    seg = np.zeros(shape[:2], np.uint8)
    t = SyntheticSmokeOverlay(
        prob=1.0, distractor_prob=1.0, min_contrast=0.0, seed=0)
    out = t(_results(img, seg))
    assert out['img'].shape == img.shape and out['img'].dtype == np.uint8
    assert out['gt_seg_map'].shape == shape[:2]


def test_float_image_stays_float():
    img = _scene().astype(np.float32)
    out = _smoky(seed=0)(_results(img))
    assert out['img'].dtype == np.float32 and out['img'].shape == img.shape
    assert 0 <= out['img'].min() and out['img'].max() <= 255


def test_bgr_channel_order():
    # Pure blue in BGR: blue channel first.
    img = np.zeros((48, 64, 3), np.uint8)
    img[..., 0] = 255
    out = _smoky(
        seed=4, distractor_prob=1.0, distractors=('haze', ))(
            _results(img))
    back = out['synthetic_background']
    # The light is measured on RGB: the bright colour is blue, and a blue
    # veil keeps the image blue (B >= R everywhere).
    assert (back[..., 2] >= back[..., 0]).all()
    assert (out['img'][..., 0] >= out['img'][..., 2]).all()
    new = out['img'].astype(np.float32)[..., ::-1] / 255
    a = out['synthetic_alpha'][..., None]
    expect = (1 - a) * back + a * out['synthetic_smoke']
    assert np.abs(new - expect).max() <= 0.5 / 255 + 1e-4


def test_input_errors():
    t = _smoky(seed=0)
    img = _scene()
    with pytest.raises(KeyError, match='gt_seg_map'):
        t(dict(img=img))
    with pytest.raises(ValueError, match='differs from img shape'):
        t(_results(img, np.zeros((3, 3), np.uint8)))
    res = _results(img)
    res['seg_fields'].append('gt_edge_map')
    res['gt_edge_map'] = np.zeros(img.shape[:2], np.uint8)
    with pytest.raises(ValueError, match='gt_edge_map'):
        t(res)
    with pytest.raises(ValueError, match='uint8 or float'):
        t(_results(img.astype(np.int32)))


@pytest.mark.parametrize('kwargs,match', [
    (dict(prob=1.5), 'prob'),
    (dict(distractor_prob=-0.1), 'distractor_prob'),
    (dict(num_plumes=0), 'num_plumes'),
    (dict(num_plumes=(2, 1)), 'num_plumes'),
    (dict(num_plumes=(1.5, 2)), 'num_plumes'),
    (dict(area_range=(0.0, 0.01)), 'area_range'),
    (dict(area_range=0.01), 'area_range'),
    (dict(alpha_range=(0.05, 0.5)), 'alpha_range'),
    (dict(alpha_range=(0.5, 1.2)), 'alpha_range'),
    (dict(smoke_styles=dict(pink=1.0)), 'smoke_styles'),
    (dict(smoke_styles=dict(dark=0.0)), 'smoke_styles'),
    (dict(mask_threshold=0.0), 'mask_threshold'),
    (dict(min_contrast=-1), 'min_contrast'),
    (dict(source_y_range=(0.5, 1.5)), 'source_y_range'),
    (dict(haze_range=(-0.1, 0.2)), 'haze_range'),
    (dict(distractors=('smog', )), 'distractors'),
    (dict(distractors=()), 'distractors'),
    (dict(seed=-1), 'seed'),
    (dict(seed=1.5), 'seed'),
    (dict(smoke_label=255), 'smoke_label'),
    (dict(ignore_index=300), 'ignore_index'),
])
def test_argument_errors_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SyntheticSmokeOverlay(**kwargs)


# ---------------------------------------------------------------- pipelines
def _smoke5k_root(tmp_path, n=3, size=(60, 80)):
    root = tmp_path / 'SMOKE5K'
    for i in range(n):
        (root / 'train' / 'img').mkdir(parents=True, exist_ok=True)
        (root / 'train' / 'gt').mkdir(parents=True, exist_ok=True)
        img = _scene(*size, seed=i)[..., ::-1]  # RGB for PIL
        Image.fromarray(img).save(root / 'train' / 'img' / f'im{i}.jpg')
        mask = np.zeros(size, np.uint8)
        mask[40 + i:43 + i, 60:62] = 255  # a tiny plume near a corner
        Image.fromarray(mask).save(root / 'train' / 'gt' / f'im{i}.png')
    return root


def _train_pipeline(crop=(32, 32), scale=(80, 60)):
    return [
        dict(type='LoadSmokeImageFromFile'),
        dict(type='LoadSmokeAnnotations'),
        dict(
            type='RandomResize',
            scale=scale,
            ratio_range=(0.8, 1.5),
            keep_ratio=True),
        dict(type='SmokeAwareCrop', crop_size=crop, smoke_prob=1.0),
        dict(type='SyntheticSmokeOverlay', prob=1.0, seed=0, min_contrast=0.0),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]


def test_registered_and_built_from_the_registry():
    from mmseg.registry import TRANSFORMS
    for name in ('SyntheticSmokeOverlay', 'SmokeAwareCrop'):
        assert TRANSFORMS.get(name) is not None
    t = TRANSFORMS.build(dict(type='SyntheticSmokeOverlay', seed=3))
    assert isinstance(t, SyntheticSmokeOverlay) and t.seed == 3
    assert 'SyntheticSmokeOverlay(' in repr(t)


def test_smoke5k_style_training_pipeline(tmp_path):
    from mmsmoke.datasets import SMOKE5KDataset
    root = _smoke5k_root(tmp_path)
    ds = SMOKE5KDataset(
        data_root=str(root),
        data_prefix=dict(img_path='train/img', seg_map_path='train/gt'),
        pipeline=_train_pipeline())
    assert len(ds) == 3
    for i in range(len(ds)):
        item = ds[i]
        inputs, sample = item['inputs'], item['data_samples']
        assert tuple(inputs.shape) == (3, 32, 32)
        seg = sample.gt_sem_seg.data.numpy()
        assert seg.shape == (1, 32, 32)
        assert set(np.unique(seg).tolist()) <= {0, 1}
        assert (seg == 1).any()  # the crop keeps the tiny plume in view


@pytest.mark.skipif(
    not (SHARED / 'SMOKE5K' / 'train').is_dir(),
    reason='SMOKE5K not in ../shared/data')
def test_real_smoke5k_training_pipeline():
    from mmsmoke.datasets import SMOKE5KDataset
    ds = SMOKE5KDataset(
        data_root=str(SHARED / 'SMOKE5K'),
        data_prefix=dict(img_path='train/img', seg_map_path='train/gt'),
        pipeline=_train_pipeline(crop=(256, 256), scale=(640, 480))[:-1])
    for i in (0, 500):
        raw = ds.get_data_info(i)
        item = ds[i]
        assert item['img'].shape == (256, 256, 3)
        assert item['gt_seg_map'].shape == (256, 256)
        assert item['gt_seg_map'].max() == 1
        assert raw['img_path'].endswith('.jpg')
