"""Inference with mmsmoke configs: MMSeg's API, mmsmoke.apis, inferencer.

Random-initialised light models (``checkpoint=None``) on tiny images.
"""
import copy
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.structures import SegDataSample

from mmsmoke.apis import (SmokeInferencer, inference_model,
                          inference_pipeline_cfg, init_model, model_threshold)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    'segformer':
    'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py',
    'fosp': 'configs/fosp/fosp_mit-b0_1xb4-800_synthetic-256x256.py',
    'transbvm':
    'configs/transbvm/transbvm_mit-b0_1xb4-2k_synthetic-256x256.py',
}
EXTRA_FIELDS = {
    'segformer': set(),
    'fosp': {'pred_focus', 'pred_alpha', 'pred_foreground', 'pred_background'},
    'transbvm': {
        'pred_uncertainty_total', 'pred_uncertainty_aleatoric',
        'pred_uncertainty_epistemic'
    },
}
SMOKE_META = dict(
    classes=('background', 'smoke'), palette=[[0, 0, 0], [255, 96, 0]])


pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def image_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('img') / 'frame.png'
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 256, (40, 52, 3), np.uint8))
    return str(path)


def _check(sample, shape, name):
    assert isinstance(sample, SegDataSample)
    assert tuple(sample.pred_sem_seg.shape) == shape
    assert tuple(sample.seg_logits.shape) == shape
    fields = {k for k in sample.keys() if k.startswith('pred_')}
    assert fields - {'pred_sem_seg'} == EXTRA_FIELDS[name]


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_stock_mmseg_api_with_our_configs(name, image_file):
    from mmseg.apis import inference_model as mmseg_inference_model
    from mmseg.apis import init_model as mmseg_init_model
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = mmseg_init_model(str(REPO / CONFIGS[name]), None, 'cpu')
    _check(mmseg_inference_model(model, image_file), (40, 52), name)
    array = np.zeros((30, 20, 3), np.uint8)
    _check(mmseg_inference_model(model, array), (30, 20), name)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_mmsmoke_api_paths_and_arrays(name, image_file):
    model = init_model(str(REPO / CONFIGS[name]), None, 'cpu')
    assert model.dataset_meta['classes'] == SMOKE_META['classes']
    pipeline_before = copy.deepcopy(model.cfg.test_pipeline)
    grey = np.full((24, 36), 128, np.uint8)
    bgra16 = np.full((18, 20, 4), 40000, np.uint16)
    results = inference_model(model, [image_file, grey, bgra16])
    for sample, shape in zip(results, [(40, 52), (24, 36), (18, 20)]):
        _check(sample, shape, name)
    # The config is not rewritten: a path after arrays still loads.
    assert model.cfg.test_pipeline == pipeline_before
    _check(inference_model(model, Path(image_file)), (40, 52), name)
    assert model_threshold(model) == model.cfg.model.decode_head.threshold


def test_same_prediction_for_a_path_and_its_array(image_file):
    model = init_model(str(REPO / CONFIGS['segformer']), None, 'cpu')
    from_path = inference_model(model, image_file)
    from_array = inference_model(model, cv2.imread(image_file))
    torch.testing.assert_close(from_path.seg_logits.data,
                               from_array.seg_logits.data)
    assert from_path.img_path == image_file and from_array.img_path is None


def test_bad_inputs_name_the_problem(tmp_path):
    model = init_model(str(REPO / CONFIGS['segformer']), None, 'cpu')
    with pytest.raises(FileNotFoundError, match='nope.png: image file'):
        inference_model(model, str(tmp_path / 'nope.png'))
    with pytest.raises(TypeError, match='input 1: expected an image path'):
        inference_model(model, [np.zeros((4, 4, 3), np.uint8), 3])
    assert inference_model(model, []) == []


def test_checkpoint_meta_is_used(tmp_path):
    cfg = str(REPO / CONFIGS['segformer'])
    model = init_model(cfg, None, 'cpu')
    meta = dict(classes=('clear', 'smoke'), palette=[[1, 2, 3], [4, 5, 6]])
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)),
        tmp_path / 'with_meta.pth')
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'plain.pth')
    loaded = init_model(cfg, str(tmp_path / 'with_meta.pth'), 'cpu')
    assert loaded.dataset_meta['classes'] == ('clear', 'smoke')
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    plain = init_model(cfg, str(tmp_path / 'plain.pth'), 'cpu')
    assert plain.dataset_meta['classes'] == SMOKE_META['classes']


def test_inference_pipeline_cfg_adapts_and_checks():
    cfg = Config.fromfile(str(REPO / CONFIGS['segformer']))
    before = copy.deepcopy(cfg.test_pipeline)
    pipeline = inference_pipeline_cfg(cfg)
    assert [t['type'] for t in pipeline
            ] == ['LoadSmokeImageFromFile', 'Resize', 'PackSegInputs']
    assert cfg.test_pipeline == before
    stock = Config(
        dict(test_pipeline=[
            dict(type='LoadImageFromFile', backend_args=None),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ]))
    assert [t['type'] for t in inference_pipeline_cfg(stock)
            ] == ['LoadSmokeImageFromFile', 'PackSegInputs']
    with pytest.raises(ValueError, match='no image loader'):
        inference_pipeline_cfg(
            Config(dict(test_pipeline=[dict(type='PackSegInputs')])))
    with pytest.raises(KeyError, match='no test_pipeline'):
        inference_pipeline_cfg(Config(dict(model=dict())))


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_stock_mmseg_inferencer_with_our_configs(name, image_file, tmp_path):
    from mmseg.apis import MMSegInferencer
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        inferencer = MMSegInferencer(
            str(REPO / CONFIGS[name]), device='cpu')
    out = inferencer([image_file, np.zeros((20, 30, 3), np.uint8)],
                     out_dir=str(tmp_path))
    assert [p.shape for p in out['predictions']] == [(40, 52), (20, 30)]
    assert all(set(np.unique(p)) <= {0, 1} for p in out['predictions'])
    assert sorted(p.name for p in (tmp_path / 'pred').iterdir()) == [
        '00000000_pred.png', '00000001_pred.png'
    ]
    assert len(list((tmp_path / 'vis').iterdir())) == 2
    # a one-image list comes back as one sample, as in MMSeg
    sample = inferencer([image_file], return_datasamples=True)
    _check(sample, (40, 52), name)


def test_smoke_inferencer_matches_stock_and_uses_smoke_meta(
        image_file, tmp_path):
    from mmseg.apis import MMSegInferencer
    cfg = str(REPO / CONFIGS['fosp'])
    model = init_model(cfg, None, 'cpu')
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'w.pth')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        stock = MMSegInferencer(
            cfg, weights=str(tmp_path / 'w.pth'), device='cpu')
        inferencer = SmokeInferencer(
            cfg, weights=str(tmp_path / 'w.pth'), device='cpu')
    # Without class meta in the checkpoint MMSeg falls back to Cityscapes;
    # SmokeInferencer uses the smoke classes.
    assert inferencer.model.dataset_meta['classes'] == SMOKE_META['classes']
    assert inferencer.visualizer.dataset_meta['classes'] == \
        SMOKE_META['classes']
    ours = inferencer(image_file, return_datasamples=True)
    theirs = stock(image_file, return_datasamples=True)
    _check(ours, (40, 52), 'fosp')
    torch.testing.assert_close(ours.seg_logits.data, theirs.seg_logits.data)
    assert torch.equal(ours.pred_sem_seg.data, theirs.pred_sem_seg.data)
