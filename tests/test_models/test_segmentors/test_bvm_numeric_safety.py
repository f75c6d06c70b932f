"""BVMEncoderDecoder on degenerate images and extreme logits.

The uncertainty maps (sampling-free and Monte Carlo) must be finite and in
[0, 1], and a training step must give finite losses and gradients, on
all-black, all-white, constant and saturated images with all-smoke and
smoke-free masks, and when the head's logits are pushed to +-1e4.
"""
import copy

import pytest
import torch
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

SIZE = (32, 32)
IMAGES = ('black', 'white', 'constant', 'saturated')
MASKS = ('all_smoke', 'smoke_free')
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def _model(tiny_bvm_cfg):

    def build(uncertainty: str = 'sampling_free'):
        return MODELS.build(
            tiny_bvm_cfg(
                size=SIZE,
                dense_aspp_dilations=(1, 2),
                train_mc_samples=2,
                test_cfg=dict(
                    mode='whole', uncertainty=uncertainty, mc_samples=3)))

    return build


def _image(kind: str, hw, gen: torch.Generator) -> torch.Tensor:
    if kind == 'black':
        return torch.zeros(3, *hw, dtype=torch.uint8)
    if kind == 'white':
        return torch.full((3, *hw), 255, dtype=torch.uint8)
    if kind == 'constant':
        return torch.full((3, *hw), 128, dtype=torch.uint8)
    return (torch.randint(0, 2, (3, *hw), generator=gen) * 255).to(torch.uint8)


def _data(img_kind: str, mask_kind: str, hw=(30, 28), n: int = 2):
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        value = 1 if mask_kind == 'all_smoke' else 0
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.full((1, *hw), value, dtype=torch.long))
        sample.set_metainfo(dict(img_shape=hw, ori_shape=hw))
        inputs.append(_image(img_kind, hw, gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _push_logits(model, value: float) -> None:
    """Make the head output ``value`` everywhere (weights 0, bias value)."""
    conv = model.decode_head.conv_seg
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.fill_(value)


def _check_maps(results, hw):
    for res in results:
        probs = res.seg_logits.data
        assert probs.shape == (1, *hw) and torch.isfinite(probs).all()
        for key in ('pred_uncertainty_total', 'pred_uncertainty_aleatoric',
                    'pred_uncertainty_epistemic'):
            m = res.get(key).data
            assert m.shape == (1, *hw), key
            assert torch.isfinite(m).all(), key
            assert m.min() >= 0 and m.max() <= 1, key


@pytest.mark.parametrize('uncertainty', ['sampling_free', 'mc'])
@pytest.mark.parametrize('logit', [None, 1e4, -1e4])
def test_uncertainty_maps_are_finite(uncertainty, logit, _model):
    torch.manual_seed(0)
    model = _model(uncertainty).eval()
    if logit is not None:
        _push_logits(model, logit)
    for img_kind in IMAGES:
        data = model.data_preprocessor(_data(img_kind, 'all_smoke'), False)
        with torch.no_grad():
            results = model.predict(data['inputs'], data['data_samples'])
        _check_maps(results, (30, 28))
        if logit is not None:
            probs = results[0].seg_logits.data
            # The MC mean is clamped to [1e-6, 1 - 1e-6] before its logit.
            target = 1.0 if logit > 0 else 0.0
            torch.testing.assert_close(
                probs, torch.full_like(probs, target), atol=2e-6, rtol=0)
        if logit is not None and uncertainty == 'mc':
            # Every sample agrees: nothing is uncertain.
            assert results[0].pred_uncertainty_total.data.max() < 1e-4


@pytest.mark.parametrize('logit', [None, 1e4, -1e4])
def test_training_step_is_finite(logit, _model):
    torch.manual_seed(1)
    model = _model().train()
    if logit is not None:
        _push_logits(model, logit)
    for img_kind in IMAGES:
        for mask_kind in MASKS:
            what = f'{img_kind} {mask_kind} logit={logit}'
            model.zero_grad(set_to_none=True)
            batch = model.data_preprocessor(
                copy.deepcopy(_data(img_kind, mask_kind)), True)
            losses = model.loss(batch['inputs'], batch['data_samples'])
            for name, value in losses.items():
                assert torch.isfinite(value).all(), f'{what}: {name}'
            total, _ = model.parse_losses(losses)
            total.backward()
            for name, p in model.named_parameters():
                if p.grad is not None:
                    assert torch.isfinite(p.grad).all(), f'{what}: {name}'
