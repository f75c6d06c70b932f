"""Dataset classes: layouts, split files and their errors, real data."""
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmsmoke.datasets import (BinarySmokeDataset, SMOKE5KDataset,
                              SmokeSegDataset)

SHARED = Path(__file__).resolve().parents[2].parent / 'shared' / 'data'
PIPELINE = [dict(type='LoadSmokeImageFromFile'),
            dict(type='LoadSmokeAnnotations')]


def _pair(img_dir, ann_dir, stem, mask, palette=False):
    img_dir.mkdir(parents=True, exist_ok=True)
    ann_dir.mkdir(parents=True, exist_ok=True)
    h, w = mask.shape
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(
        img_dir / f'{stem}.jpg')
    im = Image.fromarray(mask, mode='P' if palette else 'L')
    if palette:
        im.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    im.save(ann_dir / f'{stem}.png')


@pytest.fixture
def smoke5k_root(tmp_path):
    root = tmp_path / 'SMOKE5K'
    for split in ('train', 'test'):
        for i in range(3):
            m = np.zeros((8, 10), np.uint8)
            m[: i + 1, :2] = 255
            _pair(root / split / 'img', root / split / 'gt', f'{split}{i}', m)
    return root


def test_smoke5k_layout_and_labels(smoke5k_root):
    ds = SMOKE5KDataset(
        data_root=str(smoke5k_root),
        data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
        pipeline=PIPELINE)
    assert len(ds) == 3
    assert ds.metainfo['classes'] == ('background', 'smoke')
    item = ds[2]
    assert item['mask_convention'] == 'zero_255'
    assert item['gt_seg_map'].sum() == 3 * 2
    assert set(np.unique(item['gt_seg_map'])) <= {0, 1}


def test_smoke5k_missing_mask_named(smoke5k_root):
    (smoke5k_root / 'train' / 'gt' / 'train1.png').unlink()
    with pytest.raises(FileNotFoundError, match='train1.png'):
        SMOKE5KDataset(data_root=str(smoke5k_root), pipeline=PIPELINE)


def test_missing_data_root_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        SMOKE5KDataset(data_root=str(tmp_path / 'nowhere'))


def test_smokeseg_voc_layout_splits_and_size_groups(tmp_path):
    root = tmp_path / 'SmokeSeg'
    stems = ['a', 'b', 'c', 'd']
    for i, s in enumerate(stems):
        m = np.zeros((8, 8), np.uint8)
        m[:i + 1, 0] = 1
        _pair(root / 'JPEGImages', root / 'SegmentationClass', s, m,
              palette=True)
    sets = root / 'ImageSets' / 'Segmentation'
    sets.mkdir(parents=True)
    (sets / 'train.txt').write_text('a\nb\n')
    (sets / 'test.txt').write_text('c\nd\n\n')
    (sets / 'test_small.txt').write_text('c\n')
    (sets / 'test_large.txt').write_text('d\n')
    train = SmokeSegDataset(data_root=str(root), pipeline=PIPELINE)
    assert [osp.basename(d['img_path']) for d in train.load_data_list()] \
        == ['a.jpg', 'b.jpg']
    test = SmokeSegDataset(
        data_root=str(root),
        ann_file='ImageSets/Segmentation/test.txt',
        pipeline=PIPELINE)
    assert len(test) == 2  # the blank line is not an image
    assert [test.get_data_info(i).get('size_group') for i in range(2)] == \
        ['small', 'large']
    assert test[1]['gt_seg_map'].sum() == 4

    (sets / 'empty.txt').write_text('\n')
    with pytest.raises(ValueError, match='empty.txt.*no images'):
        SmokeSegDataset(data_root=str(root),
                        ann_file='ImageSets/Segmentation/empty.txt')
    with pytest.raises(FileNotFoundError, match='val.txt'):
        SmokeSegDataset(data_root=str(root),
                        ann_file='ImageSets/Segmentation/val.txt')
    (sets / 'ghost.txt').write_text('zzz\n')
    with pytest.raises(FileNotFoundError, match='zzz.jpg'):
        SmokeSegDataset(data_root=str(root),
                        ann_file='ImageSets/Segmentation/ghost.txt')


def test_folder_pairs_dataset(tmp_path):
    m = np.zeros((4, 4), np.uint8)
    m[0, 0] = 1
    _pair(tmp_path / 'images', tmp_path / 'masks', 'x', m)
    ds = BinarySmokeDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path='images', seg_map_path='masks'),
        mask_convention='zero_one',
        pipeline=PIPELINE)
    assert ds[0]['gt_seg_map'].sum() == 1
    with pytest.raises(ValueError, match='no images'):
        BinarySmokeDataset(
            data_root=str(tmp_path),
            data_prefix=dict(img_path='masks', seg_map_path='masks'))
    with pytest.raises(ValueError, match='reduce_zero_label'):
        BinarySmokeDataset(
            data_root=str(tmp_path),
            data_prefix=dict(img_path='images', seg_map_path='masks'),
            reduce_zero_label=True)


# ---------------------------------------------------------------- real data
needs_smoke5k = pytest.mark.skipif(
    not (SHARED / 'SMOKE5K').is_dir(), reason='SMOKE5K not in ../shared/data')
needs_smokeseg = pytest.mark.skipif(
    not (SHARED / 'SmokeSeg_sample').is_dir(),
    reason='SmokeSeg sample not in ../shared/data')


@needs_smoke5k
@pytest.mark.parametrize('split,count', [('test', 400), ('train', 1057)])
def test_real_smoke5k_pairs_all_valid(split, count):
    ds = SMOKE5KDataset(
        data_root=str(SHARED / 'SMOKE5K'),
        data_prefix=dict(img_path=f'{split}/img', seg_map_path=f'{split}/gt'),
        lazy_init=False)
    assert len(ds) == count
    # Every mask is read with its declared convention: values {0, 255}
    # (checked from the PNG header + pixels without decoding the images).
    from mmsmoke.datasets.transforms.loading import decode_mask
    smoke_images = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        raw = decode_mask(Path(info['seg_map_path']).read_bytes(),
                          info['seg_map_path'])
        assert set(np.unique(raw).tolist()) <= {0, 255}, info['seg_map_path']
        with Image.open(info['img_path']) as im:
            assert im.size == (raw.shape[1], raw.shape[0]), info['img_path']
        smoke_images += int(raw.max() == 255)
    if split == 'test':
        assert smoke_images == 400  # no SMOKE5K test mask is empty


@needs_smoke5k
def test_real_smoke5k_through_pipeline():
    ds = SMOKE5KDataset(
        data_root=str(SHARED / 'SMOKE5K'),
        data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
        pipeline=PIPELINE)
    for i in (0, 1, len(ds) - 1):
        out = ds[i]
        assert out['img'].shape[:2] == out['gt_seg_map'].shape
        assert out['gt_seg_map'].max() == 1


@needs_smokeseg
@pytest.mark.parametrize('split,count', [('train', 20), ('val', 10),
                                         ('test', 10)])
def test_real_smokeseg_sample(split, count):
    ds = SmokeSegDataset(
        data_root=str(SHARED / 'SmokeSeg_sample'),
        ann_file=f'ImageSets/Segmentation/{split}.txt',
        pipeline=PIPELINE)
    assert len(ds) == count
    for i in range(len(ds)):
        out = ds[i]
        assert out['img'].shape[:2] == out['gt_seg_map'].shape == (512, 512)
        assert set(np.unique(out['gt_seg_map']).tolist()) <= {0, 1}
        assert out['gt_seg_map'].max() == 1
