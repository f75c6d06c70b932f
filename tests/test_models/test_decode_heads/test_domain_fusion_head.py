import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from mmsmoke.models.decode_heads.domain_fusion_head import DomainFusionHead
from mmsmoke.models.necks.focus_neck import FocusNeck

register_all_modules(init_default_scope=True)

CHANNELS = [8, 16, 32, 64]


@pytest.fixture(scope='module')
def fusion_samples(square_samples):
    """Smoke-square samples whose last row is ignored (255)."""

    def make(n, size):
        samples = square_samples(n, size)
        for sample in samples:
            sample.gt_sem_seg.data[:, -1] = 255
        return samples

    return make


def _inputs(size=64, n=2):
    """The neck outputs (by name) and a 7-channel foreground tensor."""
    feats = [
        torch.randn(n, c, size // s, size // s)
        for c, s in zip(CHANNELS, (4, 8, 16, 32))
    ]
    return FocusNeck(CHANNELS)(feats), torch.rand(n, 7, size, size)


@pytest.fixture(scope='module')
def fusion_head_cfg(shipped_model):
    """The head of configs/_base_/models/fosp_mit-b3.py at tiny widths, with
    a 7-channel foreground; keyword arguments replace its fields."""

    def make(**kwargs):
        cfg = shipped_model('_base_/models/fosp_mit-b3.py')['decode_head']
        cfg.update(
            in_channels=CHANNELS,
            channels=8,
            fusion_channels=(8, 8, 12, 16),
            fg_in_channels=7,
            fg_channels=(4, 4, 8, 8))
        cfg.update(kwargs)
        return cfg

    return make


@pytest.fixture(scope='module')
def fusion_head(fusion_head_cfg):

    def build(**kwargs):
        return MODELS.build(fusion_head_cfg(**kwargs))

    return build


def _stock_encoder_decoder(backbone, **parts):
    """A stock ``EncoderDecoder`` of ``backbone`` and ``parts``."""
    return MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            backbone=backbone,
            train_cfg=dict(),
            test_cfg=dict(mode='whole'),
            **parts))


def test_forward_shape_and_release_fusion_channels(fusion_head):
    head = fusion_head(fusion_channels=(256, 512, 768, 1024), channels=256)
    assert isinstance(head, DomainFusionHead)
    # release widths: coarse conv 64+8 -> 256, ..., finest 8+4+768 -> 1024
    assert head.fusion_convs[0].conv.in_channels == 64 + 8
    assert head.fusion_convs[3].conv.in_channels == 8 + 4 + 768
    assert head.fusion_final.conv.in_channels == 1024
    outs, fg = _inputs()
    assert head(outs, foreground=fg).shape == (2, 1, 16, 16)


def test_loss_has_six_weighted_terms(fusion_samples, fusion_head):
    torch.manual_seed(0)
    head = fusion_head()
    inputs, fg = _inputs()
    samples = fusion_samples(2, (64, 64))
    losses = head.loss(inputs, samples, dict(), foreground=fg)
    assert set(losses) == {
        'loss_ce', 'loss_ce_focus', 'loss_ce_side0', 'loss_ce_side1',
        'loss_ce_side2', 'loss_ce_side3', 'acc_seg'
    }
    label = torch.stack([s.gt_sem_seg.data for s in samples])[:, 0]
    valid = (label != 255).float()

    def bce(logit):
        logit = F.interpolate(logit, size=(64, 64), mode='bilinear')[:, 0]
        raw = F.binary_cross_entropy_with_logits(
            logit, label.clamp(max=1).float(), reduction='none')
        # mmseg averages over all pixels (avg_non_ignore=False)
        return (raw * valid).sum() / valid.numel()

    head.eval()  # same dropout-free forward for the reference
    with torch.no_grad():
        losses = head.loss(inputs, samples, dict(), foreground=fg)
        final = head(inputs, foreground=fg)
    assert losses['loss_ce'].item() == pytest.approx(
        0.5 * bce(final).item(), rel=1e-4)
    assert losses['loss_ce_focus'].item() == pytest.approx(
        0.1 * bce(inputs.focus).item(), rel=1e-4)
    assert losses['loss_ce_side3'].item() == pytest.approx(
        0.1 * bce(inputs.o32).item(), rel=1e-4)
    # acc_seg thresholds the one channel at the head's 0.4
    prob = F.interpolate(final, size=(64, 64), mode='bilinear')[:, 0]
    pred = (prob.sigmoid() > 0.4).long()
    acc = ((pred == label) & (label != 255)).sum() / (label != 255).sum()
    assert losses['acc_seg'].item() == pytest.approx(100 * acc.item())


def test_custom_weights_and_no_unused_parameters(fusion_samples, fusion_head):
    head = fusion_head(
        final_loss_weight=1.0,
        focus_loss_weight=None,
        side_loss_weights=(0.2, 0.2, 0.0, 0.0))
    inputs, fg = _inputs()
    losses = head.loss(
        inputs, fusion_samples(2, (64, 64)), dict(), foreground=fg)
    assert 'loss_ce_focus' not in losses
    assert losses['loss_ce_side2'].item() == 0.0
    sum(losses.values()).backward()
    assert head.conv_seg is not None
    unused = [
        n for n, p in head.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not unused, unused


def test_without_neck_and_separation_in_stock_encoder_decoder(
        tiny_backbone, fusion_samples, fusion_head_cfg):
    """The head alone after a stock backbone in a stock EncoderDecoder."""
    model = _stock_encoder_decoder(
        tiny_backbone('resnet')[0],
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True),
        decode_head=fusion_head_cfg(
            fusion_channels=(8, 8, 8, 8),
            fg_in_channels=None,
            focus_loss_weight=None,
            side_loss_weights=(),
            final_loss_weight=1.0,
            threshold=0.5,
            norm_cfg=None))
    assert model.decode_head.fg_encoder is None
    inputs = torch.randn(2, 3, 64, 64)
    losses = model.loss(inputs, fusion_samples(2, (64, 64)))
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    losses['decode.loss_ce'].backward()
    assert all(p.grad is not None for p in model.parameters()
               if p.requires_grad)


def test_with_focus_neck_in_stock_encoder_decoder(tiny_backbone,
                                                  fusion_samples,
                                                  fusion_head_cfg):
    model = _stock_encoder_decoder(
        tiny_backbone('resnet')[0],
        neck=dict(type='FocusNeck', in_channels=CHANNELS),
        decode_head=fusion_head_cfg(
            fusion_channels=(8, 8, 8, 8), fg_in_channels=None, norm_cfg=None))
    losses = model.loss(torch.randn(2, 3, 64, 64), fusion_samples(2, (64, 64)))
    assert len(losses) == 7 and 'decode.acc_seg' in losses  # 6 loss terms
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in model.parameters()
               if p.requires_grad)


def test_errors(fusion_samples, fusion_head):
    with pytest.raises(ValueError, match='fusion_channels'):
        fusion_head(fusion_channels=(8, 8))
    with pytest.raises(ValueError, match='side_loss_weights'):
        fusion_head(side_loss_weights=(0.1, ))
    with pytest.raises(ValueError, match='multiple_select'):
        fusion_head(input_transform='resize_concat')
    head = fusion_head()
    inputs, fg = _inputs()
    with pytest.raises(ValueError, match='no foreground was passed'):
        head(inputs)
    with pytest.raises(ValueError, match='channels'):
        fusion_head(in_channels=[8, 16, 32, 32])(inputs, foreground=fg)
    # the former index wiring is refused with what to do instead
    with pytest.raises(ValueError, match='Delete them from'):
        fusion_head(fg_index=9)
    # deep supervision needs the named FocusNeck outputs
    plain = fusion_head(fg_in_channels=None)
    with pytest.raises(ValueError, match='focus_loss_weight=None'):
        plain.loss(list(inputs.features), fusion_samples(2, (64, 64)), dict())
