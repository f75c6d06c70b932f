import copy

import pytest
import torch
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from mmsmoke.models.decode_heads.domain_fusion_head import \
    DomainFusionHead  # noqa: F401
from mmsmoke.models.necks.focus_neck import FocusNeck  # noqa: F401
from mmsmoke.models.segmentors.fosp_encoder_decoder import \
    FoSpEncoderDecoder

register_all_modules(init_default_scope=True)

FIELDS = ('pred_focus', 'pred_alpha', 'pred_foreground', 'pred_background')


def _images(n=2, size=(64, 64)):
    torch.manual_seed(0)
    return torch.rand(n, 3, *size) * 255


@pytest.mark.parametrize('backbone', ['resnet', 'mit'])
def test_loss_terms_and_no_unused_parameters(backbone, square_samples,
                                             tiny_fosp_cfg):
    model = MODELS.build(tiny_fosp_cfg(backbone))
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=square_samples(2, (64, 64))),
        training=True)
    losses = model(**data, mode='loss')
    assert {
        'decode.loss_ce', 'decode.loss_ce_focus', 'decode.loss_ce_side0',
        'decode.loss_ce_side3', 'sep.loss_inpaint', 'sep.loss_formation',
        'sep.loss_alpha'
    } <= set(losses)
    total, _ = model.parse_losses(losses)
    total.backward()
    unused = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not unused, unused


def test_predict_adds_maps_at_original_size(square_samples, tiny_fosp_cfg):
    model = MODELS.build(tiny_fosp_cfg()).eval()
    inputs = torch.randn(2, 3, 64, 64)
    samples = square_samples(
        2, (64, 64), ori_shape=(50, 70), padding=(0, 6, 0, 4))
    with torch.no_grad():
        results = model.predict(inputs, samples)
    for res in results:
        assert res.pred_sem_seg.shape == (50, 70)
        assert res.seg_logits.shape == (50, 70)
        for field in FIELDS:
            assert field in res, field
            assert res.get(field).shape == (50, 70)
        assert res.pred_foreground.data.shape[0] == 3
        assert res.pred_background.data.shape[0] == 3
        assert res.pred_focus.data.shape[0] == 1
        for field in FIELDS:
            data = res.get(field).data
            assert data.min() >= 0 and data.max() <= 1
    # without data samples the maps stay at the input size
    with torch.no_grad():
        results = model.predict(inputs)
    assert results[0].pred_background.shape == (64, 64)


def test_slide_inference_matches_whole_for_one_window(square_samples,
                                                      tiny_fosp_cfg):
    model = MODELS.build(tiny_fosp_cfg()).eval()
    slide = MODELS.build(
        tiny_fosp_cfg(mode='slide', crop_size=(64, 64),
                      stride=(32, 32))).eval()
    slide.load_state_dict(model.state_dict())
    inputs = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a = model.predict(inputs, square_samples(1, (64, 64)))[0]
        b = slide.predict(inputs, square_samples(1, (64, 64)))[0]
    for field in FIELDS + ('seg_logits', ):
        assert torch.allclose(
            a.get(field).data, b.get(field).data, atol=1e-5), field


def test_slide_inference_overlapping_windows(square_samples, tiny_fosp_cfg):
    model = MODELS.build(
        tiny_fosp_cfg(mode='slide', crop_size=(48, 48),
                      stride=(32, 32))).eval()
    inputs = torch.randn(1, 3, 80, 64)
    with torch.no_grad():
        res = model.predict(inputs, square_samples(1, (80, 64)))[0]
    for field in FIELDS:
        data = res.get(field).data
        assert data.shape[-2:] == (80, 64)
        # averages of [0, 1] maps stay in [0, 1]
        assert data.min() >= 0 and data.max() <= 1 + 1e-6


def test_tensor_mode_and_bad_test_mode(tiny_fosp_cfg):
    model = MODELS.build(tiny_fosp_cfg()).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64), mode='tensor')
    assert out.shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match='model.test_cfg.mode'):
        MODELS.build(tiny_fosp_cfg(mode='patch'))
    with pytest.raises(ValueError, match='model.test_cfg.stride'):
        MODELS.build(tiny_fosp_cfg(mode='slide', crop_size=(32, 32)))


def test_separation_needs_focus(tiny_fosp_cfg):
    cfg = tiny_fosp_cfg()
    cfg['neck'] = None
    cfg['decode_head'].update(focus_loss_weight=None, side_loss_weights=())
    with pytest.raises(ValueError, match="model.neck.type='FocusNeck'"):
        MODELS.build(cfg)


def test_without_separation(square_samples, tiny_fosp_cfg):
    cfg = tiny_fosp_cfg()
    cfg['separation'] = None
    model = MODELS.build(cfg)
    assert model.decode_head.fg_encoder is None
    losses = model.loss(torch.randn(2, 3, 64, 64), square_samples(2, (64, 64)))
    assert not any(k.startswith('sep.') for k in losses)
    model.eval()
    with torch.no_grad():
        res = model.predict(
            torch.randn(1, 3, 64, 64), square_samples(1, (64, 64)))
    assert 'pred_focus' in res[0] and 'pred_background' not in res[0]


def test_image_handed_to_separation_is_rgb_unit_range(square_samples,
                                                      tiny_fosp_cfg):
    model = MODELS.build(tiny_fosp_cfg()).eval()
    seen = {}
    orig = model.separation.forward

    def spy(image, focus):
        seen['image'] = image
        return orig(image, focus)

    model.separation.forward = spy
    raw = _images(1)  # BGR 0-255, as mmcv loads images
    data = model.data_preprocessor(
        dict(inputs=list(raw), data_samples=square_samples(1, (64, 64))))
    with torch.no_grad():
        model(**data, mode='predict')
    expected = raw.flip(1) / 255
    assert torch.allclose(seen['image'], expected, atol=1e-5)


def test_few_steps_reduce_loss(square_samples, tiny_fosp_cfg):
    torch.manual_seed(0)
    model = MODELS.build(tiny_fosp_cfg())
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=square_samples(2, (64, 64))),
        training=True)
    data = copy.deepcopy(data)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for _ in range(8):
        opt.zero_grad()
        total, _ = model.parse_losses(model(**data, mode='loss'))
        total.backward()
        opt.step()
        history.append(total.item())
    assert history[-1] < history[0], history


def test_registered():
    assert MODELS.get('FoSpEncoderDecoder') is FoSpEncoderDecoder
