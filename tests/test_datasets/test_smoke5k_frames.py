"""tools/dataset_converters/smoke5k_frames.py on tiny synthetic frames."""
import csv
import json

import numpy as np
import pytest
from PIL import Image

TOOL = 'tools/dataset_converters/smoke5k_frames.py'


@pytest.fixture(scope='module')
def frames(load_tool):
    return load_tool(TOOL, 'mmsmoke_smoke5k_frames')


def write_frame(root, split, stem, mask, seed=0):
    """A random-texture image and its {0, 255} mask in SMOKE5K layout."""
    rng = np.random.default_rng(seed)
    for sub in ('img', 'gt'):
        (root / split / sub).mkdir(parents=True, exist_ok=True)
    img = rng.integers(0, 256, mask.shape + (3, ), dtype=np.uint8)
    Image.fromarray(img).save(root / split / 'img' / f'{stem}.jpg')
    Image.fromarray(
        mask.astype(np.uint8) * 255,
        mode='L').save(root / split / 'gt' / f'{stem}.png')


def tiny_root(tmp_path):
    root = tmp_path / 'SMOKE5K'
    a = np.zeros((40, 64), bool)
    a[10:14, 30:34] = True  # a small plume
    b = np.zeros((48, 48), bool)
    b[:, :20] = True  # a large plume along the left edge
    write_frame(root, 'test', 'a', a, 1)
    write_frame(root, 'test', 'b', b, 2)
    write_frame(root, 'test', 'c', np.zeros((40, 40), bool), 3)  # no smoke
    write_frame(root, 'test', 'tiny', np.ones((10, 40), bool), 4)
    write_frame(root, 'train', 'a', a, 5)
    return root


def test_window_sums_by_hand(frames):
    mask = np.zeros((5, 6), bool)
    mask[2, 3] = True
    sums = frames.window_sums(mask, 2)
    assert sums.shape == (4, 5)
    assert np.argwhere(sums == 1).tolist() == [[1, 2], [1, 3], [2, 2], [2, 3]]
    # grown by 1: rows [y-1, y+3) hold row 2 for every y = 0..3, columns
    # [x-1, x+3) hold column 3 unless x = 0
    grown = frames.window_sums(mask, 2, 1)
    assert grown.shape == (4, 5)
    assert np.argwhere(grown == 0).tolist() == [[0, 0], [1, 0], [2, 0], [3, 0]]
    assert frames.grid_positions(10, 4, 4).tolist() == [0, 4, 6]


@pytest.mark.parametrize('margin', [0, 3, 8])
def test_margin_rule(frames, margin):
    mask = np.zeros((40, 64), bool)
    mask[10:14, 30:34] = True
    size, stride = 16, 2
    _, chosen = frames.choose_crops(mask, size, margin, stride, 100,
                                    np.random.default_rng(0))
    assert chosen
    ys, xs = np.nonzero(mask)
    for y, x in chosen:
        # Chebyshev distance from every smoke pixel to the window > margin
        dy = np.maximum.reduce([y - ys, ys - (y + size - 1), 0 * ys])
        dx = np.maximum.reduce([x - xs, xs - (x + size - 1), 0 * xs])
        assert np.maximum(dy, dx).min() > margin
        assert y % stride == 0 or y == 40 - size
    # crops never share a pixel
    for i, p in enumerate(chosen):
        for q in chosen[i + 1:]:
            assert abs(p[0] - q[0]) >= size or abs(p[1] - q[1]) >= size
    # left of the plume (columns 30..33): a window whose last column is
    # `margin` pixels from it is not smoke-free, one pixel further it is
    free = frames.window_sums(mask, size, margin) == 0
    assert not free[10, 30 - margin - (size - 1)]
    assert free[10, 30 - margin - size]


def test_smoke_crop_holds_the_most_smoke(frames):
    mask = np.zeros((40, 64), bool)
    mask[10:14, 30:34] = True
    mask[30, 5] = True
    boxes = set()
    for seed in range(20):
        box, _ = frames.choose_crops(mask, 16, 2, 4, 1,
                                     np.random.default_rng(seed))
        y, x = box
        assert mask[y:y + 16, x:x + 16].sum() == 16  # the whole plume
        boxes.add(box)
    assert len(boxes) > 1  # the plume's place in the crop is drawn


def test_convert_is_deterministic_and_readable(tmp_path, frames):
    root = tiny_root(tmp_path)
    outs = [tmp_path / 'out1', tmp_path / 'out2']
    for out in outs:
        assert frames.main([
            str(root), '--out',
            str(out), '--splits', 'test', '--crop-size', '16', '--margin', '3',
            '--stride', '4'
        ]) == 0
    files = sorted(
        p.relative_to(outs[0]) for p in outs[0].rglob('*') if p.is_file())
    assert files == sorted(
        p.relative_to(outs[1]) for p in outs[1].rglob('*') if p.is_file())
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes()

    out = outs[0] / 'test'
    rows = list(csv.DictReader(open(out / 'manifest.csv')))
    assert tuple(rows[0]) == frames.MANIFEST_COLUMNS
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['frames'] == 4
    assert summary['frames_too_small'] == ['test/img/tiny.jpg (40x10)']
    assert summary['smoke_crops'] == 2  # a and b; c has no smoke
    assert summary['smoke_free_crops'] == len(rows) - 2
    for row in rows:
        assert (row['width'], row['height']) == ('16', '16')
        img = Image.open(out / 'img' / f'{row["file"]}.jpg')
        gt = np.asarray(Image.open(out / 'gt' / f'{row["file"]}.png'))
        assert img.size == (16, 16) and gt.shape == (16, 16)
        assert set(np.unique(gt)) <= {0, 255}
        assert int((gt == 255).sum()) == int(row['smoke_pixels'])
        src = np.asarray(
            Image.open(
                tmp_path / 'SMOKE5K' /
                row['source'].replace('img', 'gt').replace('.jpg', '.png')))
        x, y = int(row['x']), int(row['y'])
        assert np.array_equal(src[y:y + 16, x:x + 16], gt)
        if row['kind'] == 'smoke-free':
            assert row['size_group'] == 'none' and not gt.any()
        else:
            assert row['kind'] == 'smoke' and gt.any()
    # frame a: 16 smoke pixels of 256 -> 6.25%, 'large'
    smoke_a = [r for r in rows if r['file'].startswith('a_smoke')]
    assert smoke_a[0]['size_group'] == 'large'

    from mmsmoke.datasets import SMOKE5KDataset
    ds = SMOKE5KDataset(
        data_root=str(outs[0]),
        data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
        pipeline=[
            dict(type='LoadSmokeImageFromFile'),
            dict(type='LoadSmokeAnnotations'),
            dict(type='PackSegInputs')
        ])
    assert len(ds) == len(rows)
    empty = sum(
        int(ds[i]['data_samples'].gt_sem_seg.data.sum() == 0)
        for i in range(len(ds)))
    assert empty == summary['smoke_free_crops']


def test_exclude_patterns(tmp_path, frames):
    root = tiny_root(tmp_path)
    composite = np.zeros((16, 16), bool)
    composite[4:8, 4:8] = True
    write_frame(root, 'test', '3_17', composite, 6)
    summary = frames.convert_split(
        str(root),
        'test',
        str(tmp_path / 'o'),
        16,
        3,
        4,
        exclude=['[1-9]_*.jpg'])
    assert summary['frames_excluded'] == 1 and summary['frames'] == 4
    assert not list((tmp_path / 'o' / 'test' / 'img').glob('3_17*'))


def test_seed_changes_draws_and_frames_are_independent(tmp_path, frames):
    mask = np.zeros((64, 64), bool)
    mask[30:32, 30:32] = True
    a = frames.choose_crops(mask, 16, 2, 2, 3,
                            frames.frame_rng(0, 'test', 'a'))
    assert a == frames.choose_crops(mask, 16, 2, 2, 3,
                                    frames.frame_rng(0, 'test', 'a'))
    assert a != frames.choose_crops(mask, 16, 2, 2, 3,
                                    frames.frame_rng(1, 'test', 'a'))


def test_errors_name_the_file(tmp_path, frames, capsys):
    root = tiny_root(tmp_path)
    args = [
        str(root), '--out',
        str(tmp_path / 'out'), '--splits', 'test', '--crop-size', '16'
    ]
    assert frames.main(args) == 0
    assert frames.main(args) == 1  # the split exists
    assert 'exists; remove it or choose --out' in capsys.readouterr().err
    bad = np.zeros((20, 20), np.uint8)
    bad[0, 0] = 128
    Image.fromarray(bad, mode='L').save(root / 'train' / 'gt' / 'a.png')
    args = [
        str(root), '--out',
        str(tmp_path / 'out2'), '--splits', 'train', '--crop-size', '16'
    ]
    assert frames.main(args) == 1
    assert "a.png: mask values [128] outside the 'zero_255'" in \
        capsys.readouterr().err


def test_real_smoke5k_frames(tmp_path, frames, shared_data):
    """A few real SMOKE5K test frames (linked, not copied), when present."""
    src = shared_data / 'SMOKE5K' / 'test'
    if not (src / 'img').is_dir():
        pytest.skip(f'{src}: SMOKE5K not available')
    root = tmp_path / 'SMOKE5K'
    for sub in ('img', 'gt'):
        (root / 'test' / sub).mkdir(parents=True)
    stems = sorted(p.stem for p in (src / 'img').glob('*.jpg'))[:3]
    for stem in stems:
        (root / 'test' / 'img' / f'{stem}.jpg').symlink_to(src / 'img' /
                                                           f'{stem}.jpg')
        (root / 'test' / 'gt' / f'{stem}.png').symlink_to(src / 'gt' /
                                                          f'{stem}.png')
    summary = frames.convert_split(str(root), 'test', str(tmp_path / 'out'))
    assert summary['frames'] == 3 and summary['smoke_crops'] == 3
    for path in (tmp_path / 'out' / 'test' / 'img').iterdir():
        assert Image.open(path).size == (256, 256)
