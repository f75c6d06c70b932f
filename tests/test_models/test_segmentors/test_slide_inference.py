"""Slide inference of the demo model on sizes that are no crop multiple.

Large smoke images (SMOKE5K has test images up to 3072x2048) are evaluated
with ``test_cfg=dict(mode='slide', ...)`` so memory is bounded by the crop;
the last window of a row or column is shifted back inside the image. The
demo config's SegFormer (stock ``EncoderDecoder``), at tiny widths.
"""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

REPO = Path(__file__).resolve().parents[3]
CONFIG = (
    REPO / 'configs' / 'segformer' /
    'segformer_mit-b0_1xb4-800_synthetic-256x256.py')


@pytest.fixture(scope='module')
def model(one_thread, tiny_segformer):
    cfg = Config.fromfile(str(CONFIG))
    cfg.merge_from_dict(tiny_segformer)
    cfg.model.test_cfg = dict(
        mode='slide', crop_size=(128, 128), stride=(85, 85))
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def _batch(model, hw, seed=0):
    gen = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (3, *hw), generator=gen, dtype=torch.uint8)
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=hw, ori_shape=hw))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, *hw, dtype=torch.long))
    return model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)


@pytest.mark.parametrize('hw', [(200, 300), (199, 301), (90, 100), (128, 257)])
def test_slide_output_shape_and_values(model, hw):
    batch = _batch(model, hw)
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])[0]
    prob = res.seg_logits.data
    assert prob.shape == (1, *hw)
    assert torch.isfinite(prob).all()
    assert prob.min() >= 0 and prob.max() <= 1  # sigmoid of one channel
    pred = res.pred_sem_seg.data
    assert pred.shape == (1, *hw)
    assert torch.equal(pred, (prob > 0.5).to(pred.dtype))


def test_one_window_equals_whole_inference(model):
    """An image no larger than the crop is one window: the whole image."""
    batch = _batch(model, (90, 100), seed=1)
    with torch.no_grad():
        slide = model.predict(batch['inputs'], batch['data_samples'])[0]
        slide_cfg = model.test_cfg
        model.test_cfg = ConfigDict(mode='whole')
        try:
            whole = model.predict(batch['inputs'], batch['data_samples'])[0]
        finally:
            model.test_cfg = slide_cfg
    torch.testing.assert_close(slide.seg_logits.data, whole.seg_logits.data)


def test_window_count_matches_the_grid(model, monkeypatch):
    """200x300 with crop 128, stride 85: 2 rows x 4 columns of windows."""
    calls = []
    original = model.encode_decode

    def counting(inputs, metas):
        calls.append(tuple(inputs.shape[2:]))
        return original(inputs, metas)

    monkeypatch.setattr(model, 'encode_decode', counting)
    batch = _batch(model, (200, 300))
    with torch.no_grad():
        model.predict(batch['inputs'], batch['data_samples'])
    assert calls == [(128, 128)] * 8
