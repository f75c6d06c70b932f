"""The segmentor family: flat below the base, few overrides, one answer per
``test_cfg``, and maps declared by name."""
import inspect

import pytest
import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from mmsmoke.deployment import SegmentorExportWrapper
from mmsmoke.models.segmentors import (BVMEncoderDecoder, FoSpEncoderDecoder,
                                       SmokeEncoderDecoder,
                                       TransmissionEncoderDecoder)
from mmsmoke.utils.metainfo import whole_image_meta

register_all_modules(init_default_scope=True)
pytestmark = pytest.mark.usefixtures('one_thread')

SUBCLASSES = (BVMEncoderDecoder, FoSpEncoderDecoder,
              TransmissionEncoderDecoder)


def _overrides(cls):
    """Methods of the base (or of MMSeg's EncoderDecoder) that ``cls``
    defines again, ``__init__`` apart."""
    return sorted(
        name for name, value in vars(cls).items()
        if callable(value) or isinstance(value, (staticmethod, property))
        if name != '__init__' and hasattr(SmokeEncoderDecoder, name))


@pytest.mark.parametrize('cls', SUBCLASSES, ids=lambda c: c.__name__)
def test_every_segmentor_subclasses_the_base_directly(cls):
    chain = [c for c in inspect.getmro(cls) if issubclass(c, EncoderDecoder)]
    assert chain[:3] == [cls, SmokeEncoderDecoder, EncoderDecoder]
    assert len(chain) == 3  # at most 2 deep below EncoderDecoder


@pytest.mark.parametrize('cls', SUBCLASSES, ids=lambda c: c.__name__)
def test_no_segmentor_overrides_more_than_four_methods(cls):
    assert len(_overrides(cls)) <= 4, _overrides(cls)


def test_the_overrides_are_the_named_hooks():
    hooks = {
        'head_forward_train', 'encode_decode_with_maps', 'map_names',
        '_forward'
    }
    assert set(_overrides(BVMEncoderDecoder)) <= hooks
    assert set(_overrides(FoSpEncoderDecoder)) <= hooks
    assert _overrides(TransmissionEncoderDecoder) == []


def _inputs(model, hw=(64, 64), seed=0):
    gen = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (2, 3, *hw), generator=gen).float()
    return model.data_preprocessor(
        dict(inputs=list(img.to(torch.uint8))), False)['inputs']


@pytest.mark.parametrize(
    'test_cfg', [
        dict(),
        dict(calibrate=True),
        dict(uncertainty='mc', mc_samples=3),
        dict(uncertainty='none')
    ],
    ids=['sampling_free', 'calibrated', 'mc', 'none'])
def test_bvm_encode_decode_and_inference_agree(tiny_bvm_cfg, test_cfg):
    model = MODELS.build(
        tiny_bvm_cfg(test_cfg=dict(mode='whole', **test_cfg))).eval()
    inputs = _inputs(model)
    metas = [whole_image_meta(inputs.shape[2:])] * inputs.shape[0]
    with torch.no_grad():
        torch.manual_seed(3)
        a = model.encode_decode(inputs, metas)
        torch.manual_seed(3)
        b = model.inference(inputs, metas)
        torch.manual_seed(3)
        c, maps = model.encode_decode_with_maps(inputs, None, metas)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, c, rtol=0, atol=0)
    assert tuple(maps) == model.map_names()


def test_bvm_calibration_scales_the_logits_of_the_same_pass(tiny_bvm_cfg):
    model = MODELS.build(tiny_bvm_cfg()).eval()
    inputs = _inputs(model)
    metas = [whole_image_meta(inputs.shape[2:])] * inputs.shape[0]
    with torch.no_grad():
        raw, maps = model.encode_decode_with_maps(inputs, None, metas)
        scaled, _ = model.encode_decode_with_maps(
            inputs, None, metas, dict(model.test_cfg, calibrate=True))
    # the explicit options leave the model's own alone
    assert not model.test_cfg.get('calibrate', False)
    total = maps['uncertainty_total']
    torch.testing.assert_close(scaled, raw / total.clamp(min=0.01))
    torch.testing.assert_close(maps['uncertainty_epistemic'],
                               total - maps['uncertainty_aleatoric'])


def test_map_names_follow_the_options(tiny_bvm_cfg, tiny_fosp_cfg):
    bvm = MODELS.build(tiny_bvm_cfg())
    assert bvm.map_names() == ('uncertainty_total', 'uncertainty_aleatoric',
                               'uncertainty_epistemic')
    assert bvm.map_names(dict(uncertainty='none')) == ()
    fosp = MODELS.build(tiny_fosp_cfg())
    assert fosp.map_names() == ('focus', 'alpha', 'foreground', 'background')


def test_export_takes_the_declared_deterministic_options(tiny_bvm_cfg):
    model = MODELS.build(
        tiny_bvm_cfg(test_cfg=dict(
            mode='whole', uncertainty='mc', calibrate=True))).eval()
    wrapper = SegmentorExportWrapper(model)
    assert wrapper.output_names == ('seg_logits', 'uncertainty_total',
                                    'uncertainty_aleatoric',
                                    'uncertainty_epistemic')
    inputs = _inputs(model)
    with torch.no_grad():
        out = wrapper(inputs)
        again = wrapper(inputs)
    # one deterministic, uncalibrated pass; the model's options unchanged
    assert model.test_cfg.uncertainty == 'mc' and model.test_cfg.calibrate
    for x, y in zip(out, again):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    metas = [whole_image_meta(inputs.shape[2:])] * inputs.shape[0]
    with torch.no_grad():
        expected, _ = model.encode_decode_with_maps(
            inputs, None, metas,
            dict(uncertainty='sampling_free', calibrate=False))
    torch.testing.assert_close(out[0], expected)
