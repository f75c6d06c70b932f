import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from mmsmoke.models.decode_heads.domain_fusion_head import DomainFusionHead
from mmsmoke.models.necks.focus_neck import FocusNeck

register_all_modules(init_default_scope=True)

CHANNELS = [8, 16, 32, 64]


def _samples(n, size):
    samples = []
    for _ in range(n):
        sample = SegDataSample()
        sample.set_metainfo(
            dict(
                ori_shape=size,
                img_shape=size,
                pad_shape=size,
                padding_size=[0, 0, 0, 0]))
        gt = torch.zeros(1, *size, dtype=torch.long)
        gt[:, size[0] // 4:size[0] // 2, size[1] // 4:size[1] // 2] = 1
        gt[:, -1] = 255
        sample.gt_sem_seg = PixelData(data=gt)
        samples.append(sample)
    return samples


def _inputs(size=64, n=2):
    """The neck outputs (by name) and a 7-channel foreground tensor."""
    feats = [
        torch.randn(n, c, size // s, size // s)
        for c, s in zip(CHANNELS, (4, 8, 16, 32))
    ]
    return FocusNeck(CHANNELS)(feats), torch.rand(n, 7, size, size)


def _head(**kwargs):
    cfg = dict(
        type='DomainFusionHead',
        in_channels=CHANNELS,
        channels=8,
        fusion_channels=(8, 8, 12, 16),
        fg_in_channels=7,
        fg_channels=(4, 4, 8, 8),
        num_classes=2,
        out_channels=1,
        threshold=0.4,
        norm_cfg=dict(type='BN', requires_grad=True),
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_forward_shape_and_release_fusion_channels():
    head = _head(fusion_channels=(256, 512, 768, 1024), channels=256)
    assert isinstance(head, DomainFusionHead)
    # release widths: coarse conv 64+8 -> 256, ..., finest 8+4+768 -> 1024
    assert head.fusion_convs[0].conv.in_channels == 64 + 8
    assert head.fusion_convs[3].conv.in_channels == 8 + 4 + 768
    assert head.fusion_final.conv.in_channels == 1024
    outs, fg = _inputs()
    assert head(outs, foreground=fg).shape == (2, 1, 16, 16)


def test_loss_has_six_weighted_terms():
    torch.manual_seed(0)
    head = _head()
    inputs, fg = _inputs()
    samples = _samples(2, (64, 64))
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


def test_custom_weights_and_no_unused_parameters():
    head = _head(
        final_loss_weight=1.0,
        focus_loss_weight=None,
        side_loss_weights=(0.2, 0.2, 0.0, 0.0))
    inputs, fg = _inputs()
    losses = head.loss(inputs, _samples(2, (64, 64)), dict(), foreground=fg)
    assert 'loss_ce_focus' not in losses
    assert losses['loss_ce_side2'].item() == 0.0
    sum(losses.values()).backward()
    assert head.conv_seg is not None
    unused = [
        n for n, p in head.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not unused, unused


def test_without_neck_and_separation_in_stock_encoder_decoder():
    """The head alone after a stock backbone in a stock EncoderDecoder."""
    model = MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            data_preprocessor=dict(
                type='SegDataPreProcessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True),
            backbone=dict(
                type='ResNetV1c',
                depth=18,
                stem_channels=8,
                base_channels=8,
                out_indices=(0, 1, 2, 3)),
            decode_head=dict(
                type='DomainFusionHead',
                in_channels=CHANNELS,
                channels=8,
                fusion_channels=(8, 8, 8, 8),
                focus_loss_weight=None,
                side_loss_weights=(),
                final_loss_weight=1.0,
                num_classes=2,
                out_channels=1,
                threshold=0.5,
                loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True)),
            train_cfg=dict(),
            test_cfg=dict(mode='whole')))
    assert model.decode_head.fg_encoder is None
    inputs = torch.randn(2, 3, 64, 64)
    losses = model.loss(inputs, _samples(2, (64, 64)))
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    losses['decode.loss_ce'].backward()
    assert all(p.grad is not None for p in model.parameters()
               if p.requires_grad)


def test_with_focus_neck_in_stock_encoder_decoder():
    model = MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            backbone=dict(
                type='ResNetV1c',
                depth=18,
                stem_channels=8,
                base_channels=8,
                out_indices=(0, 1, 2, 3)),
            neck=dict(type='FocusNeck', in_channels=CHANNELS),
            decode_head=dict(
                type='DomainFusionHead',
                in_channels=CHANNELS,
                channels=8,
                fusion_channels=(8, 8, 8, 8),
                num_classes=2,
                out_channels=1,
                threshold=0.4,
                loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True)),
            train_cfg=dict(),
            test_cfg=dict(mode='whole')))
    losses = model.loss(torch.randn(2, 3, 64, 64), _samples(2, (64, 64)))
    assert len(losses) == 7 and 'decode.acc_seg' in losses  # 6 loss terms
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in model.parameters()
               if p.requires_grad)


def test_errors():
    with pytest.raises(ValueError, match='fusion_channels'):
        _head(fusion_channels=(8, 8))
    with pytest.raises(ValueError, match='side_loss_weights'):
        _head(side_loss_weights=(0.1, ))
    with pytest.raises(ValueError, match='multiple_select'):
        _head(input_transform='resize_concat')
    head = _head()
    inputs, fg = _inputs()
    with pytest.raises(ValueError, match='no foreground was passed'):
        head(inputs)
    with pytest.raises(ValueError, match='channels'):
        _head(in_channels=[8, 16, 32, 32])(inputs, foreground=fg)
    # the former index wiring is refused with what to do instead
    with pytest.raises(ValueError, match='Delete them from'):
        _head(fg_index=9)
    # deep supervision needs the named FocusNeck outputs
    plain = _head(fg_in_channels=None)
    with pytest.raises(ValueError, match='focus_loss_weight=None'):
        plain.loss(list(inputs.features), _samples(2, (64, 64)), dict())
