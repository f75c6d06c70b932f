"""The public pieces of SyntheticSmokeOverlay in mmsmoke.datasets.synthetic:
image format, scene statistics, source, plume, distractors, composite."""
import numpy as np
import pytest

from mmsmoke.datasets.synthetic import plume, plume_shape, smoke_colour
from mmsmoke.datasets.synthetic.noise import fbm
from mmsmoke.datasets.synthetic.overlay_composite import (PlumeOptions,
                                                          add_plume,
                                                          composite_overlay)
from mmsmoke.datasets.synthetic.overlay_distractors import (
    OVERLAY_DISTRACTORS, composite_distractors)
from mmsmoke.datasets.synthetic.overlay_io import (from_rgb_float,
                                                   paste_rgb_float,
                                                   to_rgb_float)
from mmsmoke.datasets.synthetic.overlay_plume import (ALPHA_FLOOR, MAX_BEND,
                                                      MAX_TILT, MIN_SPREAD,
                                                      draw_overlay_plume,
                                                      fit_plume)
from mmsmoke.datasets.synthetic.overlay_scene import (SOURCE_DRAWS,
                                                      draw_source, scene_stats)
from mmsmoke.datasets.transforms import SyntheticSmokeOverlay


def _rgb(h=48, w=64, seed=0):
    """Float RGB 'landscape': bright sky over textured ground."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (0.55, 0.70, 0.85)
    ground = 0.25 + 0.3 * fbm((h - h // 3, w), rng, 6, 4)[..., None]
    img[h // 3:] = ground * np.array([0.9, 0.8, 0.5], np.float32)
    return img


def _opts(**kwargs):
    kw = dict(
        area_range=(0.01, 0.05),
        alpha_range=(0.3, 0.6),
        smoke_styles=dict(dark=0.12, grey_brown=0.38, white_grey=0.5),
        mask_threshold=0.1,
        min_contrast=0.0,
        source_y_range=(0.35, 0.95),
        haze_range=(0.0, 0.3))
    kw.update(kwargs)
    return PlumeOptions(**kw)


def test_plume_module_reexports_its_split_parts():
    assert plume.draw_plume_shape is plume_shape.draw_plume_shape
    assert plume.plume_textures is plume_shape.plume_textures
    assert plume.smoke_colour is smoke_colour.smoke_colour
    assert plume.SMOKE_STYLES == ('dark', 'grey_brown', 'white_grey')


@pytest.mark.parametrize('shape,dtype', [((6, 7, 3), np.uint8),
                                         ((6, 7), np.uint8),
                                         ((6, 7, 1), np.uint8),
                                         ((6, 7, 3), np.float32)])
def test_image_format_round_trip(shape, dtype):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, shape).astype(dtype)
    rgb = to_rgb_float(img)
    assert rgb.shape == (6, 7, 3) and rgb.dtype == np.float32
    assert 0 <= rgb.min() and rgb.max() <= 1
    if len(shape) == 3 and shape[2] == 3:  # BGR in, RGB out
        np.testing.assert_allclose(rgb[..., 0] * 255, img[..., 2], atol=1e-3)
    back = from_rgb_float(rgb, img)
    assert back.shape == img.shape and back.dtype == img.dtype
    np.testing.assert_allclose(back, img, atol=1e-3)


def test_paste_changes_only_the_boxes():
    img = np.full((10, 12, 3), 7, np.uint8)
    rgb = np.ones((10, 12, 3), np.float32)
    out = paste_rgb_float(img, rgb, [(1, 3, 2, 5), (6, 8, 0, 1)])
    assert (img == 7).all()  # the input is not modified
    changed = (out != 7).any(-1)
    expect = np.zeros((10, 12), bool)
    expect[1:3, 2:5] = expect[6:8, 0:1] = True
    np.testing.assert_array_equal(changed, expect)
    assert (out[changed] == 255).all()


def test_scene_stats_light_and_ground():
    stats = scene_stats(_rgb(120, 160))
    for key in ('bright', 'light', 'top'):
        assert stats[key].shape == (3, ) and stats[key].dtype == np.float32
        assert 0 <= stats[key].min() and stats[key].max() <= 1
    # The sky is the brightest part: bright and top are its colour, the
    # light keeps a third of its chroma (blue, but less saturated).
    np.testing.assert_allclose(stats['top'], (0.55, 0.70, 0.85), atol=1e-5)
    light = stats['light']
    assert light[2] > light[1] > light[0]
    assert light[2] - light[0] < stats['bright'][2] - stats['bright'][0]
    ground = stats['ground']
    assert ground.dtype == bool and max(ground.shape) <= 64
    assert not ground[:ground.shape[0] // 4].any()  # flat sky
    assert ground[ground.shape[0] // 2:].mean() > 0.5


def test_draw_source_prefers_ground_and_keeps_the_last_draw():
    rng = np.random.default_rng(0)
    ground = np.zeros((8, 8), bool)
    ground[6:] = True  # only the bottom quarter is textured
    on_ground = 0
    for _ in range(20):
        xs, ys = draw_source(rng, ground, (80, 100), (0.0, 1.0))
        assert 5 <= xs <= 95 and 0 <= ys <= 80
        on_ground += ys >= 60
    assert on_ground >= 14  # 1 - 0.75^8 of the draws, in expectation
    # Nothing textured: all eight draws are taken, the last one is kept.
    flat = np.zeros((8, 8), bool)
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    xs, ys = draw_source(a, flat, (80, 100), (0.5, 0.6))
    for _ in range(SOURCE_DRAWS):
        x_ref = float(b.uniform(0.05, 0.95) * 100)
        y_ref = float(b.uniform(0.5, 0.6) * 80)
    assert (xs, ys) == (x_ref, y_ref) and 40 <= ys <= 48
    assert a.random() == b.random()  # same number of draws


@pytest.mark.parametrize('name', OVERLAY_DISTRACTORS)
def test_composite_distractors(name):
    image = _rgb(50, 300)  # larger than the 192 px canvas
    before = image.copy()
    stats = scene_stats(image)
    out, chosen = composite_distractors(
        np.random.default_rng(0), image, (name, ), stats['light'],
        stats['bright'])
    np.testing.assert_array_equal(image, before)
    assert chosen == [name]
    assert out.shape == image.shape and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    assert not np.array_equal(out, image)


@pytest.mark.parametrize('size,area', [((48, 64), (0.01, 0.05)),
                                       ((200, 240), (0.05, 0.1))])
def test_draw_overlay_plume(size, area):
    h, w = size
    ground = np.ones((8, 8), bool)
    for seed in range(4):
        fit = draw_overlay_plume(
            np.random.default_rng(seed), size, ground, area, (0.3, 0.6),
            (0.35, 0.95), 0.1)
        alpha = fit['alpha']
        y0, y1, x0, x1 = fit['box']
        assert 0 <= y0 <= y1 <= h and 0 <= x0 <= x1 <= w
        assert alpha.shape == (y1 - y0, x1 - x0) and alpha.dtype == np.float32
        assert ((alpha == 0) | (alpha > ALPHA_FLOOR)).all()
        assert alpha.max() <= fit['amax'] + 1e-6 and 0.3 <= fit['amax'] <= 0.6
        assert area[0] <= fit['target'] <= area[1]
        p = fit['p']
        assert abs(p['theta']) <= MAX_TILT and abs(p['bend']) <= MAX_BEND
        assert p['k'] >= MIN_SPREAD
        for v in fit['fields'].values():
            assert v.shape == alpha.shape


def test_fit_plume_on_a_coarser_grid_matches_the_image_grid():
    rng = np.random.default_rng(3)
    shape = plume_shape.draw_plume_shape(rng, 0.6)
    tex = plume_shape.plume_textures(rng)
    p = dict(shape, xs=60.0, ys=100.0, theta=0.1, bend=0.2)
    size, target = (120, 120), 0.03
    full = fit_plume(p, tex, target, (0.01, 0.06), size, 1.0, 0.1)
    coarse = fit_plume(p, tex, target, (0.01, 0.06), size, 0.5, 0.1)
    assert coarse['p'] is p
    y0, y1, x0, x1 = coarse['box']
    assert 0 <= y0 < y1 <= 120 and 0 <= x0 < x1 <= 120
    assert coarse['alpha'].shape == (y1 - y0, x1 - x0)
    # Same plume, upsampled: the mask area is close to the full-grid one.
    fa = int((full['alpha'] > 0.1).sum())
    ca = int((coarse['alpha'] > 0.1).sum())
    assert abs(ca - fa) < 0.35 * fa


def test_add_plume_updates_image_transmission_and_premult():
    image = _rgb(64, 80)
    back = image.copy()
    transmission = np.ones(image.shape[:2], np.float32)
    premult = np.zeros_like(image)
    stats = scene_stats(image)
    meta = add_plume(
        np.random.default_rng(0), image, transmission, premult, stats, _opts())
    assert meta['status'] == 'added' and meta['attempts'] >= 1
    alpha = 1 - transmission
    np.testing.assert_allclose(
        image, (1 - alpha[..., None]) * back + premult, atol=1e-5)
    y0, y1, x0, x1 = meta['box']
    outside = np.ones(alpha.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert (alpha[outside] == 0).all() and alpha.max() > 0.1
    np.testing.assert_array_equal(image[outside], back[outside])


def test_unreachable_contrast_is_not_composited():
    image = _rgb(64, 80)
    back = image.copy()
    transmission = np.ones(image.shape[:2], np.float32)
    meta = add_plume(
        np.random.default_rng(0), image, transmission, None,
        scene_stats(image), _opts(min_contrast=1.0))
    assert meta['status'] == 'low_contrast' and meta['attempts'] == 3
    assert meta['contrast'] < 1.0
    np.testing.assert_array_equal(image, back)
    assert (transmission == 1).all()


def test_transform_delegates_to_composite_overlay():
    rgb = _rgb(40, 56, seed=2)
    t = SyntheticSmokeOverlay(
        num_plumes=2,
        area_range=(0.01, 0.05),
        min_contrast=0.0,
        distractors=('fog', 'haze'))
    a = t.composite_smoke(rgb, np.random.default_rng(7), True, True, True)
    b = composite_overlay(rgb, np.random.default_rng(7), t.plume_options(),
                          (2, 2), ('fog', 'haze'), True, True, True)
    assert a.keys() == b.keys()
    for key in ('image', 'background', 'alpha', 'smoke'):
        np.testing.assert_array_equal(a[key], b[key])
    assert a['plumes'] == b['plumes'] and a['distractors'] == b['distractors']
    assert len(a['plumes']) == 2
    np.testing.assert_array_equal(
        t.scene_stats(rgb)['light'],
        scene_stats(rgb)['light'])
