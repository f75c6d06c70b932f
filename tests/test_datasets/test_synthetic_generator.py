"""Tests of the procedural synthetic smoke generator and its writers."""
import json
import os
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest
from PIL import Image

from mmsmoke.datasets.synthetic import (DISTRACTORS, KINDS, SMOKE_KINDS,
                                        SPLIT_OFFSETS, SyntheticSmokeGenerator,
                                        generate_dataset)
from mmsmoke.datasets.synthetic.noise import (domain_warp, fbm, fbm1d,
                                              value_noise)
from mmsmoke.utils.size_groups import size_group

SIZE = (64, 64)


@pytest.fixture(scope='module')
def gen():
    return SyntheticSmokeGenerator(img_size=SIZE, seed=3)


@pytest.fixture(scope='module')
def block(gen):
    """One full stratification block (40 consecutive samples)."""
    return [gen.sample(i) for i in range(40)]


# ----------------------------------------------------------------------
# Noise
# ----------------------------------------------------------------------
def test_noise_ranges_shapes_and_determinism():
    a = fbm((37, 53), np.random.default_rng(0), (3, 5), 5)
    b = fbm((37, 53), np.random.default_rng(0), (3, 5), 5)
    assert a.shape == (37, 53) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() == 0 and a.max() == pytest.approx(1.0)
    v = value_noise((20, 30), 4, np.random.default_rng(1))
    assert v.shape == (20, 30) and 0 <= v.min() and v.max() <= 1
    line = fbm1d(100, np.random.default_rng(2), 3)
    assert line.shape == (100, ) and line.min() == 0
    # A 1-D profile still gets its fine octaves (it is not a flat spline).
    assert np.abs(np.diff(line, 2)).max() > 1e-3
    warped = domain_warp(a, np.random.default_rng(4), 3.0)
    assert warped.shape == a.shape and not np.array_equal(warped, a)
    with pytest.raises(ValueError, match='cells'):
        value_noise((8, 8), 0, np.random.default_rng(0))


# ----------------------------------------------------------------------
# Samples
# ----------------------------------------------------------------------
def test_sample_types_and_label_definitions(gen, block):
    for s in block:
        img, mask, alpha, trans = (s['img'], s['mask'], s['alpha'],
                                   s['transmission'])
        assert img.shape == SIZE + (3, ) and img.dtype == np.uint8
        assert mask.shape == SIZE and mask.dtype == np.uint8
        assert alpha.shape == SIZE and alpha.dtype == np.float32
        assert trans.dtype == np.float32
        assert set(np.unique(mask)) <= {0, 1}
        assert 0 <= alpha.min() and alpha.max() <= 1
        np.testing.assert_array_equal(mask, alpha > gen.mask_threshold)
        np.testing.assert_array_equal(trans, 1 - alpha)
        m = s['meta']
        assert m['smoke_fraction'] == pytest.approx(mask.mean())
        assert m['size_group'] == size_group(mask.mean())
        assert m['has_smoke'] == bool(mask.any())
        assert m['kind'] in KINDS
        assert set(m['distractors']) <= set(DISTRACTORS)
        json.dumps(m)  # meta is JSON-serialisable


def test_determinism_per_seed_and_index(gen):
    other = SyntheticSmokeGenerator(img_size=SIZE, seed=3)
    for index in (0, 7, 123456):
        a, b = gen.sample(index), other.sample(index)
        for key in ('img', 'mask', 'alpha', 'transmission'):
            np.testing.assert_array_equal(a[key], b[key])
        assert a['meta'] == b['meta']
    # Order of calls does not matter.
    c = SyntheticSmokeGenerator(img_size=SIZE, seed=3)
    c.sample(5)
    np.testing.assert_array_equal(c.sample(7)['img'], gen.sample(7)['img'])
    # Another seed or index gives another image.
    d = SyntheticSmokeGenerator(img_size=SIZE, seed=4).sample(7)
    assert not np.array_equal(d['img'], gen.sample(7)['img'])
    assert not np.array_equal(gen.sample(8)['img'], gen.sample(7)['img'])


def test_image_formation_model():
    gen = SyntheticSmokeGenerator(img_size=SIZE, seed=1, camera_effects=False)
    checked = 0
    for index in range(12):
        s = gen.sample(index, return_layers=True)
        layers = s['layers']
        b, sm, clean = (layers['background'], layers['smoke'], layers['clean'])
        for x in (b, sm, clean):
            assert x.shape == SIZE + (3, ) and x.dtype == np.float32
            assert 0 <= x.min() and x.max() <= 1
        a = s['alpha'][..., None]
        np.testing.assert_allclose(clean, (1 - a) * b + a * sm, atol=1e-6)
        # Without the camera model the image is the rounded composite.
        diff = np.abs(s['img'].astype(np.float32) - clean * 255)
        assert diff.max() <= 0.5 + 1e-3
        if s['meta']['has_smoke']:
            checked += 1
            # Where there is smoke, the image differs from the background.
            inside = s['mask'].astype(bool)
            assert np.abs(clean[inside] - b[inside]).max() > 0.01
    assert checked >= 6
    # With the camera model (noise, JPEG) the image stays close to it.
    cam = SyntheticSmokeGenerator(
        img_size=SIZE, seed=1).sample(
            0, return_layers=True)
    err = np.abs(cam['img'] / 255.0 - cam['layers']['clean']).mean()
    assert err < 0.05


def test_negatives_and_distractors_are_not_smoke(block):
    kinds = Counter(s['meta']['kind'] for s in block)
    assert kinds['distractor'] > 0 and kinds['negative'] > 0
    for s in block:
        m = s['meta']
        if m['kind'] in ('distractor', 'negative'):
            assert s['mask'].sum() == 0 and s['alpha'].max() == 0
            assert np.all(s['transmission'] == 1)
            assert not m['has_smoke'] and m['size_group'] == 'none'
            assert m['smoke_fraction'] == 0 and m['plume'] is None
        if m['kind'] == 'negative':
            assert m['distractors'] == []
        if m['kind'] == 'distractor':
            assert m['distractors']
        if m['kind'] in SMOKE_KINDS:
            assert m['has_smoke'] and s['mask'].sum() > 0


def test_clouds_are_bright_but_unlabelled():
    gen = SyntheticSmokeGenerator(img_size=(96, 96), seed=0)
    found = 0
    for index in range(200):
        kind, _ = gen.kind_of(index)
        if kind != 'distractor':
            continue
        s = gen.sample(index, return_layers=True)
        if 'cloud' not in s['meta']['distractors']:
            continue
        found += 1
        bright = s['layers']['background'].mean(-1) > 0.8
        assert bright.any() and s['mask'].sum() == 0
        if found == 3:
            break
    assert found == 3


def test_kinds_sizes_and_strata(gen, block):
    # Each block of 40 indices holds every kind in its proportion.
    kinds = Counter(s['meta']['kind'] for s in block)
    expected = {k: round(40 * p) for k, p in gen.kind_probs.items()}
    for k in KINDS:
        assert abs(kinds[k] - expected[k]) <= 1, (k, kinds, expected)
    groups = Counter(s['meta']['size_group'] for s in block)
    for g in ('none', 'small', 'medium', 'large'):
        assert groups[g] >= 4, groups
    for s in block:
        m = s['meta']
        assert gen.kind_of(m['index']) == (m['kind'], m['target_group'])
        if m['kind'] == 'small':
            assert 0 < m['smoke_fraction'] < 0.005
        if m['kind'] == 'thin':
            assert s['alpha'].max() <= gen.thin_alpha_range[1] + 1e-6
    # The stratified schedule can be switched off.
    iid = SyntheticSmokeGenerator(img_size=SIZE, seed=3, stratify_block=None)
    assert {iid.kind_of(i)[0] for i in range(200)} == set(KINDS)


def test_other_image_size_and_custom_probabilities():
    gen = SyntheticSmokeGenerator(
        img_size=(48, 80),
        seed=0,
        p_plume=1,
        p_thin=0,
        p_small=0,
        p_distractor=0,
        p_negative=0,
        mask_threshold=0.15)
    for i in range(6):
        s = gen.sample(i)
        assert s['img'].shape == (48, 80, 3) and s['mask'].shape == (48, 80)
        assert s['meta']['kind'] == 'plume' and s['meta']['has_smoke']
        np.testing.assert_array_equal(s['mask'], s['alpha'] > 0.15)


@pytest.mark.parametrize('kwargs, match', [
    (dict(img_size=(16, 64)), 'img_size'),
    (dict(seed=-1), 'seed'),
    (dict(p_plume=-0.1), 'probabilities'),
    (dict(mask_threshold=0.3), 'thin_alpha_range'),
    (dict(large_fraction=2), 'large_fraction'),
    (dict(stratify_block=0), 'stratify_block'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticSmokeGenerator(**kwargs)
    with pytest.raises(ValueError, match='index'):
        SyntheticSmokeGenerator().sample(-1)


# ----------------------------------------------------------------------
# Dataset writers
# ----------------------------------------------------------------------
def _read_tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = osp.join(dirpath, f)
            with open(path, 'rb') as fh:
                out[osp.relpath(path, root)] = fh.read()
    return out


def test_smoke5k_layout(tmp_path):
    out = str(tmp_path / 'smoke5k')
    summary = generate_dataset(
        out,
        'smoke5k',
        num_train=8,
        num_val=3,
        num_test=5,
        img_size=SIZE,
        seed=0)
    assert summary['num_images'] == 16
    assert set(summary['splits']) == {'train', 'val', 'test'}
    seen_values = set()
    for split, n in (('train', 8), ('val', 3), ('test', 5)):
        with open(osp.join(out, split, 'meta.json')) as f:
            metas = json.load(f)
        names = [m['name'] for m in metas]
        assert names == sorted(names) and len(set(names)) == n
        assert sorted(os.listdir(osp.join(
            out, split, 'img'))) == [f'{x}.jpg' for x in names]
        for sub in ('gt', 'alpha', 'trans'):
            assert sorted(os.listdir(osp.join(
                out, split, sub))) == [f'{x}.png' for x in names]
        for m in metas:
            name = m['name']
            assert m['split'] == split
            img = Image.open(osp.join(out, split, 'img', name + '.jpg'))
            gt = Image.open(osp.join(out, split, 'gt', name + '.png'))
            assert img.format == 'JPEG' and img.mode == 'RGB'
            assert gt.mode == 'L' and gt.size == img.size == SIZE[::-1]
            g = np.asarray(gt)
            assert set(np.unique(g)) <= {0, 255}
            seen_values |= set(np.unique(g).tolist())
            assert (g > 0).mean() == pytest.approx(m['smoke_fraction'])
            a = cv2.imread(
                osp.join(out, split, 'alpha', name + '.png'),
                cv2.IMREAD_UNCHANGED)
            t = cv2.imread(
                osp.join(out, split, 'trans', name + '.png'),
                cv2.IMREAD_UNCHANGED)
            assert a.dtype == np.uint8 and a.shape == SIZE
            assert np.abs(a.astype(int) + t.astype(int) - 255).max() <= 1
            # Written labels equal the generator's labels for that index.
            ref = SyntheticSmokeGenerator(
                SIZE, seed=0).sample(SPLIT_OFFSETS[split] +
                                     int(name.rsplit('_', 1)[1]))
            np.testing.assert_array_equal(g, ref['mask'] * 255)
            assert ref['meta']['kind'] == m['kind']
    assert seen_values == {0, 255}
    # No val split is written when num_val == 0.
    out2 = str(tmp_path / 'noval')
    generate_dataset(out2, 'smoke5k', 2, 0, 2, SIZE, seed=0)
    assert sorted(os.listdir(out2)) == ['test', 'train']


def test_smokeseg_layout_and_split_lists(tmp_path):
    out = str(tmp_path / 'smokeseg')
    generate_dataset(
        out,
        'smokeseg',
        num_train=6,
        num_val=4,
        num_test=40,
        img_size=SIZE,
        seed=1)
    set_dir = osp.join(out, 'ImageSets', 'Segmentation')
    lists = {}
    for key in ('train', 'val', 'test', 'test_small', 'test_medium',
                'test_large'):
        with open(osp.join(set_dir, key + '.txt')) as f:
            lists[key] = f.read().split()
    assert len(lists['train']) == 6 and len(lists['val']) == 4
    assert len(lists['test']) == 40
    all_names = lists['train'] + lists['val'] + lists['test']
    assert len(set(all_names)) == len(all_names)
    with open(osp.join(out, 'meta.json')) as f:
        metas = {m['name']: m for m in json.load(f)}
    assert set(metas) == set(all_names)
    subsets = [set(lists[f'test_{g}']) for g in ('small', 'medium', 'large')]
    assert all(subsets)  # 40 test images cover every stratum
    assert not (subsets[0] & subsets[1] or subsets[0] & subsets[2]
                or subsets[1] & subsets[2])
    smoke_test = {n for n in lists['test'] if metas[n]['has_smoke']}
    assert set.union(*subsets) == smoke_test
    assert len(smoke_test) < len(lists['test'])  # negatives only in test
    for g in ('small', 'medium', 'large'):
        assert all(metas[n]['size_group'] == g for n in lists[f'test_{g}'])
    for name in all_names:
        img = Image.open(osp.join(out, 'JPEGImages', name + '.jpg'))
        seg = Image.open(osp.join(out, 'SegmentationClass', name + '.png'))
        assert img.format == 'JPEG' and seg.mode == 'P'
        assert seg.size == img.size == SIZE[::-1]
        pal = seg.getpalette()[:6]
        assert pal == [0, 0, 0, 128, 0, 0]
        idx = np.asarray(seg)
        assert set(np.unique(idx)) <= {0, 1}
        assert idx.mean() == pytest.approx(metas[name]['smoke_fraction'])
        for sub in ('Alpha', 'Transmission'):
            assert osp.isfile(osp.join(out, sub, name + '.png'))


def test_workers_give_identical_output(tmp_path):
    kw = dict(num_train=7, num_val=2, num_test=5, img_size=SIZE, seed=5)
    s1 = generate_dataset(str(tmp_path / 'w1'), 'smokeseg', workers=1, **kw)
    s2 = generate_dataset(str(tmp_path / 'w2'), 'smokeseg', workers=2, **kw)
    t1, t2 = _read_tree(tmp_path / 'w1'), _read_tree(tmp_path / 'w2')
    assert set(t1) == set(t2) and len(t1) > 50
    assert all(t1[k] == t2[k] for k in t1)
    assert s1['splits'] == s2['splits']


def test_dataset_argument_errors(tmp_path):
    with pytest.raises(ValueError, match='layout'):
        generate_dataset(str(tmp_path / 'a'), 'coco', 1, 0, 1, SIZE)
    with pytest.raises(ValueError, match='num_train'):
        generate_dataset(str(tmp_path / 'a'), 'smoke5k', -1, 0, 1, SIZE)
    with pytest.raises(ValueError, match='workers'):
        generate_dataset(
            str(tmp_path / 'a'), 'smoke5k', 1, 0, 1, SIZE, workers=0)
    out = tmp_path / 'full'
    out.mkdir()
    (out / 'old.txt').write_text('x')
    with pytest.raises(FileExistsError, match='not empty'):
        generate_dataset(str(out), 'smoke5k', 1, 0, 1, SIZE)
    generate_dataset(str(out), 'smoke5k', 1, 0, 1, SIZE, overwrite=True)
    assert (out / 'train' / 'meta.json').is_file()


def test_cli(tmp_path, capsys):
    import importlib.util
    path = osp.join(
        osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
        'generate_synthetic_smoke.py')
    spec = importlib.util.spec_from_file_location('gen_synthetic_cli', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli')
    summary = cli.main([
        '--out', out, '--layout', 'smokeseg', '--num-train', '3', '--num-val',
        '1', '--num-test', '2', '--img-size', '48', '--seed', '2'
    ])
    text = capsys.readouterr().out
    assert 'Wrote 6 images (48x48, layout smokeseg, seed 2)' in text
    assert 'alpha > 0.1' in text
    assert summary['img_size'] == [48, 48]
    assert len(os.listdir(osp.join(out, 'JPEGImages'))) == 6
    with pytest.raises(SystemExit):
        cli.parse_args(
            ['--out', out, '--size', '32', '32', '--img-size', '32'])
