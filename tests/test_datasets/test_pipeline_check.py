"""A smoke dataset runs the loaders its pipeline names and refuses those
that would mislabel masks or drop broken images."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmseg.registry import DATASETS
from mmsmoke.datasets.transforms import check_pipeline_loaders

#: The configs' test pipeline: stock image loader, smoke mask loader.
TEST = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSmokeAnnotations'),
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


def _build(root: Path, pipeline):
    return DATASETS.build(
        dict(
            type='SMOKE5KDataset',
            data_root=str(root),
            data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
            pipeline=pipeline))


def test_named_loaders_run_and_map_0_255_masks(tmp_path):
    root = _smoke5k(tmp_path / 'smoke5k')
    dataset = _build(root, TEST)
    # nothing is rewritten: the pipeline is the one the config names
    names = [type(t).__name__ for t in dataset.pipeline.transforms]
    assert names == ['LoadImageFromFile', 'LoadSmokeAnnotations',
                     'PackSegInputs']
    labels = dataset[0]['data_samples'].gt_sem_seg.data
    assert set(labels.unique().tolist()) == {0, 1}
    assert int(labels.sum()) == 12


def test_stock_mask_loader_is_refused_with_the_config_keys(tmp_path):
    root = _smoke5k(tmp_path / 'smoke5k')
    stock = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    with pytest.raises(ValueError) as err:
        _build(root, stock)
    text = str(err.value)
    assert text.startswith('SMOKE5KDataset: the pipeline names '
                           'LoadAnnotations')
    assert 'LoadSmokeAnnotations' in text and 'test_pipeline' in text
    # scoped names and the class itself are recognised too
    from mmseg.datasets.transforms import LoadAnnotations
    for kind in ('mmseg.LoadAnnotations', LoadAnnotations):
        with pytest.raises(ValueError, match='LoadAnnotations'):
            check_pipeline_loaders([dict(type=kind)], 'X')


def test_silent_image_skipping_is_refused():
    with pytest.raises(ValueError, match=r'X: .*ignore_empty=True'):
        check_pipeline_loaders(
            [dict(type='LoadImageFromFile', ignore_empty=True)], 'X')
    check_pipeline_loaders(
        [dict(type='LoadImageFromFile', ignore_empty=False)], 'X')


def test_broken_files_are_named(tmp_path):
    root = _smoke5k(tmp_path / 'smoke5k')
    (root / 'test' / 'gt' / 'a.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match=r'a\.png: cannot decode mask'):
        _build(root, TEST)[0]
    root2 = _smoke5k(tmp_path / 'other')
    (root2 / 'test' / 'img' / 'a.jpg').write_bytes(b'')
    strict = [dict(type='LoadSmokeImageFromFile')] + TEST[1:]
    with pytest.raises(ValueError, match=r'a\.jpg: image file is empty'):
        _build(root2, strict)[0]


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
                    ], [dict(type='LoadSmokeAnnotations')],
                    [dict(type='PackSegInputs')]])
]


def test_loaders_inside_wrappers_are_checked(tmp_path):
    bad = [dict(type='RandomApply', transforms=[dict(type='LoadAnnotations')])]
    with pytest.raises(ValueError, match='X: .*LoadAnnotations'):
        check_pipeline_loaders(bad, 'X')
    stage = [dict(TTA[1], transforms=TTA[1]['transforms'][:2] +
                  [[dict(type='LoadAnnotations')]])]
    with pytest.raises(ValueError, match='LoadAnnotations'):
        check_pipeline_loaders(stage, 'X')
    # the configs' TTA pipeline gives four views of {0, 1} masks
    root = _smoke5k(tmp_path / 'smoke5k')
    views = _build(root, TTA)[0]
    assert len(views['inputs']) == 4
    for sample in views['data_samples']:
        labels = sample.gt_sem_seg.data
        assert set(labels.unique().tolist()) == {0, 1}
        assert int(labels.sum()) == 12  # at the original size
