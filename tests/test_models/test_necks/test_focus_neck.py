import pytest
import torch
from mmengine.config import ConfigDict
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from mmsmoke.models.necks.focus_neck import FocusNeck, FocusOutputs

register_all_modules(init_default_scope=True)

CHANNELS = {
    'resnet': [256, 512, 1024, 2048],
    'mit': [64, 128, 320, 512],
    'convnext': [96, 192, 384, 768],
}


def _feats(channels, size=64, n=2):
    return [
        torch.randn(n, c, size // s, size // s)
        for c, s in zip(channels, (4, 8, 16, 32))
    ]


@pytest.mark.parametrize('name', list(CHANNELS))
@pytest.mark.parametrize('focus_level', [1, 2])
def test_focus_neck_shapes(name, focus_level):
    channels = CHANNELS[name]
    neck = FocusNeck(in_channels=channels, focus_level=focus_level)
    feats = _feats(channels)
    outs = neck(feats)
    # a 9-tuple for stock heads, whose parts also have names
    assert isinstance(outs, FocusOutputs)
    assert len(outs) == FocusNeck.num_outs == 9
    assert outs.features == tuple(outs[:4])
    for x, y in zip(feats, outs.features):
        assert y.shape == x.shape
    assert outs.focus is outs[4]
    assert outs.focus.shape == (2, 1) + feats[focus_level].shape[-2:]
    assert outs.sides == (outs.o4, outs.o8, outs.o16, outs.o32)
    for o, x in zip(outs.sides, feats):
        assert o.shape == (2, 1) + x.shape[-2:]


def test_focus_neck_weighting_and_gradients():
    channels = [8, 16, 32, 64]
    neck = FocusNeck(in_channels=channels)
    feats = [f.requires_grad_() for f in _feats(channels, size=32)]
    outs = neck(feats)
    m = torch.nn.functional.interpolate(
        outs.focus, size=feats[0].shape[-2:], mode='bilinear').sigmoid()
    assert torch.allclose(outs[0], feats[0] * m + feats[0], atol=1e-6)
    # weights are in [1, 2]: F' / F
    ratio = outs[3] / feats[3]
    assert ratio.min() >= 1 - 1e-5 and ratio.max() <= 2 + 1e-5
    sum(o.sum() for o in outs[:4]).backward()
    for p in neck.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0
    for f in feats:
        assert f.grad is not None


def test_focus_neck_non_residual_and_odd_sizes():
    channels = [4, 8, 16, 32]
    neck = FocusNeck(in_channels=channels, residual=False)
    feats = [
        torch.randn(1, c, h, w)
        for c, (h, w) in zip(channels, [(25, 33), (13, 17), (7, 9), (4, 5)])
    ]
    outs = neck(feats)
    assert outs[0].shape == feats[0].shape
    assert (outs[1].abs() <= feats[1].abs() + 1e-6).all()


def test_focus_neck_errors():
    with pytest.raises(ValueError, match='4 positive ints'):
        FocusNeck(in_channels=[8, 16, 32])
    with pytest.raises(ValueError, match='focus_level'):
        FocusNeck(in_channels=[8, 16, 32, 64], focus_level=3)
    neck = FocusNeck(in_channels=[8, 16, 32, 64])
    with pytest.raises(ValueError, match='4 feature maps'):
        neck(_feats([8, 16, 32, 64])[:3])
    with pytest.raises(ValueError, match='channels'):
        neck(_feats([8, 16, 32, 32]))
    with pytest.raises(ValueError, match='gap_before_final_norm'):
        neck([torch.randn(2, c) for c in [8, 16, 32, 64]])


#: Shipped configs with the stock head of each name after a FocusNeck.
MIXING = {
    'UPerHead':
    'mixing/upernet_convnext-t_focusneck_4xb2-40k_smoke5k-512x512.py',
    'SegformerHead':
    'mixing/segformer_mit-b0_focusneck_4xb2-40k_smoke5k-512x512.py',
}


@pytest.mark.parametrize('name', ['resnet', 'mit', 'convnext'])
@pytest.mark.parametrize('head', list(MIXING))
def test_focus_neck_alone_with_stock_head(name, head, tiny_backbone,
                                          shipped_model, square_samples):
    """FocusNeck inside a stock EncoderDecoder with a stock head (the head
    of the shipped mixing config at tiny widths)."""
    if name == 'convnext':
        pytest.importorskip('mmpretrain')
    backbone, channels = tiny_backbone(name)
    head_cfg = shipped_model(MIXING[head])['decode_head']
    head_cfg.update(in_channels=channels, channels=8)
    if head == 'UPerHead':
        head_cfg['pool_scales'] = (1, 2)
    model = MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            data_preprocessor=dict(
                type='SegDataPreProcessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True),
            backbone=backbone,
            neck=dict(type='FocusNeck', in_channels=channels),
            decode_head=head_cfg,
            train_cfg=dict(),
            test_cfg=dict(mode='whole')))
    inputs = torch.randn(2, 3, 64, 64)
    losses = model.loss(inputs, square_samples(2, (64, 64)))
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    unused = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not unused, unused
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, square_samples(2, (64, 64)))
    assert preds[0].pred_sem_seg.shape == (64, 64)


def test_focus_neck_default_parameters_unchanged():
    """The ablation switches leave the default module (and its init
    order, which fixes seeded initial weights) as it was."""
    neck = FocusNeck(in_channels=[8, 16, 32, 64])
    assert [n for n, _ in neck.named_parameters()] == [
        'side_high.weight', 'side_high.bias', 'guide_high.weight',
        'guide_high.bias', 'mid_high.weight', 'mid_high.bias',
        'side_low.weight', 'side_low.bias', 'guide_low.weight',
        'guide_low.bias', 'mid_low.weight', 'mid_low.bias',
        'focus_fuse.weight', 'focus_fuse.bias'
    ]


def test_focus_neck_without_cascade_and_weighting():
    """Ablation: no guidance between resolutions, features unchanged."""
    channels = [8, 16, 32, 64]
    neck = FocusNeck(
        in_channels=channels, cascade=False, weight_features=False)
    assert not hasattr(neck, 'guide_high') and not hasattr(neck, 'guide_low')
    feats = [f.requires_grad_() for f in _feats(channels, size=32)]
    outs = neck(feats)
    assert len(outs) == 9
    for x, y in zip(feats, outs[:4]):
        assert y is x
    # o8 depends on F2 alone: changing F1 leaves it unchanged
    o8 = outs.o8
    other = [feats[0] + 1.0] + feats[1:]
    assert torch.equal(neck(other).o8, o8)
    assert not torch.equal(neck(other).o4, outs.o4)
    expected = neck.mid_high(feats[1])
    assert torch.allclose(o8, expected)
    sum(o.sum() for o in outs[4:]).backward()
    for p in neck.parameters():
        assert p.grad is not None


def test_focus_neck_weighting_only_switch():
    channels = [8, 16, 32, 64]
    neck = FocusNeck(in_channels=channels, weight_features=False)
    feats = _feats(channels, size=32)
    outs = neck(feats)
    for x, y in zip(feats, outs[:4]):
        assert torch.equal(x, y)
    # the cascade is still there: o8 depends on F1
    other = [feats[0] + 1.0] + feats[1:]
    assert not torch.equal(neck(other)[6], outs[6])
