"""Stock loader names in a smoke dataset's pipeline run as validating ones."""
import io
from pathlib import Path

import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmseg.registry import DATASETS
from mmsmoke.datasets.transforms import strict_loader_pipeline

STOCK = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def _smoke5k(root: Path) -> Path:
    img_dir, gt_dir = root / 'test' / 'img', root / 'test' / 'gt'
    img_dir.mkdir(parents=True)
    gt_dir.mkdir(parents=True)
    img = np.random.RandomState(0).randint(0, 256, (12, 16, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='JPEG')
    (img_dir / 'a.jpg').write_bytes(buf.getvalue())
    mask = np.zeros((12, 16), np.uint8)
    mask[3:6, 4:8] = 255
    Image.fromarray(mask, mode='L').save(gt_dir / 'a.png')
    return root


def _build(root: Path, **kwargs):
    return DATASETS.build(
        dict(
            type='SMOKE5KDataset',
            data_root=str(root),
            data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
            pipeline=STOCK,
            **kwargs))


def test_translation_keeps_arguments_and_other_transforms():
    pipeline, replaced = strict_loader_pipeline([
        dict(
            type='LoadImageFromFile',
            to_float32=True,
            color_type='color',
            backend_args=dict(backend='local')),
        dict(type='Resize', scale=(8, 8)),
        dict(
            type='mmseg.LoadAnnotations',
            reduce_zero_label=False,
            imdecode_backend='pillow'),
    ], 'X')
    assert replaced == ['LoadImageFromFile', 'LoadAnnotations']
    assert pipeline == [
        dict(
            type='LoadSmokeImageFromFile',
            to_float32=True,
            backend_args=dict(backend='local')),
        dict(type='Resize', scale=(8, 8)),
        dict(type='LoadSmokeAnnotations'),
    ]
    # a class as type, and an already-built transform (kept as is)
    built = LoadImageFromFile()
    pipeline, replaced = strict_loader_pipeline(
        [dict(type=LoadImageFromFile), built], 'X')
    assert pipeline == [dict(type='LoadSmokeImageFromFile'), built]
    assert replaced == ['LoadImageFromFile']


@pytest.mark.parametrize('cfg, match', [
    (dict(type='LoadAnnotations',
          reduce_zero_label=True), 'reduce_zero_label=True'),
    (dict(type='LoadImageFromFile', ignore_empty=True), 'ignore_empty=True'),
    (dict(type='LoadImageFromFile',
          color_type='grayscale'), "color_type='grayscale'"),
    (dict(type='LoadAnnotations', with_bbox=True), 'with_bbox=True'),
])
def test_arguments_without_equivalent_are_refused(cfg, match):
    with pytest.raises(ValueError, match=f'SMOKE5KDataset: .*{match}'):
        strict_loader_pipeline([cfg], 'SMOKE5KDataset')


def test_dataset_with_stock_loaders_maps_0_255_masks(tmp_path):
    root = _smoke5k(tmp_path / 'smoke5k')
    sample = _build(root)[0]
    labels = sample['data_samples'].gt_sem_seg.data
    assert set(labels.unique().tolist()) == {0, 1}
    assert int(labels.sum()) == 12
    # Without strict loading the stock loader keeps 255: the ignore index.
    stock = _build(root, strict_loading=False)[0]
    assert set(
        stock['data_samples'].gt_sem_seg.data.unique().tolist()) == {0, 255}


def test_dataset_with_stock_loaders_names_broken_files(tmp_path):
    root = _smoke5k(tmp_path / 'smoke5k')
    (root / 'test' / 'img' / 'a.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match=r'a\.jpg: image file is empty'):
        _build(root)[0]
    # the image is readable again, the mask is corrupt
    _smoke5k(tmp_path / 'other')
    root2 = tmp_path / 'other'
    (root2 / 'test' / 'gt' / 'a.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match=r'a\.png: cannot decode mask'):
        _build(root2)[0]


TTA = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(type='Resize', scale_factor=r, keep_ratio=True)
            for r in (0.5, 1.0)
        ],
                    [
                        dict(
                            type='RandomFlip', prob=p, direction='horizontal')
                        for p in (0.0, 1.0)
                    ], [dict(type='LoadAnnotations')],
                    [dict(type='PackSegInputs')]])
]


def test_loaders_inside_test_time_aug_are_replaced(tmp_path):
    pipeline, replaced = strict_loader_pipeline(TTA, 'X')
    assert replaced == ['LoadImageFromFile', 'LoadAnnotations']
    assert pipeline[0] == dict(type='LoadSmokeImageFromFile')
    assert pipeline[1]['transforms'][2] == [dict(type='LoadSmokeAnnotations')]
    assert pipeline[1]['transforms'][:2] == TTA[1]['transforms'][:2]
    # refusals reach nested loaders too
    bad = [
        dict(
            type='RandomApply',
            transforms=[dict(type='LoadAnnotations', reduce_zero_label=True)])
    ]
    with pytest.raises(ValueError, match='X: .*reduce_zero_label=True'):
        strict_loader_pipeline(bad, 'X')
    # the dataset gives four views of {0, 1} masks
    root = _smoke5k(tmp_path / 'smoke5k')
    views = DATASETS.build(
        dict(
            type='SMOKE5KDataset',
            data_root=str(root),
            data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
            pipeline=TTA))[0]
    assert len(views['inputs']) == 4
    for sample in views['data_samples']:
        labels = sample.gt_sem_seg.data
        assert set(labels.unique().tolist()) == {0, 1}
        assert int(labels.sum()) == 12  # at the original size
