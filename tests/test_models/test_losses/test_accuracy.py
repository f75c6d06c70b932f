import pytest
import torch
from mmseg.models.losses import accuracy
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

import mmsmoke.models.segmentors.transmission_encoder_decoder  # noqa: F401
from mmsmoke.models.losses.accuracy import (fix_binary_acc_seg,
                                            head_accuracy, seg_accuracy)
from mmsmoke.models.segmentors.smoke_encoder_decoder import \
    auxiliary_head_losses

register_all_modules(init_default_scope=True)

# logits 2, -2, -1, -3 -> p = 0.88, 0.12, 0.27, 0.05 -> predicted 1, 0, 0, 0
LOGITS = torch.tensor([[[[2.0, -2.0], [-1.0, -3.0]]]])
LABEL = torch.tensor([[[1, 0], [0, 255]]])


def test_one_channel_is_thresholded():
    # three valid pixels, all three right
    assert seg_accuracy(LOGITS, LABEL).item() == pytest.approx(100.0)
    # MMSeg's arg-max over one channel is always class 0: it gives the
    # share of background labels (2 of 3), whatever the logits are.
    stock = accuracy(LOGITS, LABEL, ignore_index=255).item()
    assert stock == pytest.approx(200 / 3, rel=1e-5)
    assert accuracy(
        -LOGITS, LABEL, ignore_index=255).item() == pytest.approx(stock)
    # the negated logits get every valid pixel wrong here
    assert seg_accuracy(-LOGITS, LABEL).item() == pytest.approx(0.0)
    # threshold 0.9 turns the 0.88 pixel into background: 2 of 3 right
    assert seg_accuracy(
        LOGITS, LABEL, threshold=0.9).item() == pytest.approx(200 / 3)
    # an (N, 1, H, W) label and a different ignore index
    assert seg_accuracy(
        LOGITS, LABEL[:, None], ignore_index=-1).item() == pytest.approx(75.0)
    # every pixel ignored: 0, not a division by zero
    assert seg_accuracy(LOGITS, torch.full_like(LABEL, 255)).item() == 0.0


def test_more_channels_use_mmseg_accuracy():
    logits = torch.randn(2, 3, 5, 6)
    label = torch.randint(0, 3, (2, 5, 6))
    label[0, 0] = 255
    assert torch.allclose(
        seg_accuracy(logits, label), accuracy(logits, label, ignore_index=255))


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match='differ'):
        seg_accuracy(LOGITS, torch.zeros(1, 4, 4, dtype=torch.long))


@pytest.fixture(scope='module')
def biased_fcn(tiny_fcn_head):
    """A one-channel FCN head on 4 channels whose logits are ``bias``."""

    def build(bias, threshold=0.5):
        head = MODELS.build(
            tiny_fcn_head(
                in_channels=4,
                in_index=0,
                channels=4,
                threshold=threshold,
                norm_cfg=None))
        with torch.no_grad():
            head.conv_seg.weight.zero_()
            head.conv_seg.bias.fill_(bias)
        return head

    return build


def test_head_accuracy_resizes_and_uses_the_head_threshold(
        biased_fcn, seg_sample):
    label = torch.zeros(8, 8, dtype=torch.long)
    label[:2] = 1  # 16 of 64 pixels are smoke
    label[7, :4] = 255  # 4 ignored
    samples = [seg_sample(label) for _ in range(2)]
    logits = torch.full((2, 1, 4, 4), 1.0)  # p = 0.73 everywhere
    assert head_accuracy(biased_fcn(0.0), logits,
                         samples).item() == pytest.approx(100 * 16 / 60)
    assert head_accuracy(biased_fcn(0.0, threshold=0.8), logits,
                         samples).item() == pytest.approx(100 * 44 / 60)


def test_stock_head_and_auxiliary_heads_log_the_thresholded_accuracy(
        biased_fcn, seg_sample):
    label = torch.zeros(8, 8, dtype=torch.long)
    label[:2] = 1  # a quarter is smoke
    samples = [seg_sample(label)]
    feats = [torch.rand(1, 4, 8, 8)]
    smoke_everywhere = biased_fcn(bias=20.0)
    stock = smoke_everywhere.loss(feats, samples, dict())
    assert stock['acc_seg'].item() == pytest.approx(75.0)  # background share
    logits = smoke_everywhere.forward(feats)
    fixed = fix_binary_acc_seg(
        smoke_everywhere.loss_by_feat(logits, samples), smoke_everywhere,
        logits, samples)
    assert fixed['acc_seg'].item() == pytest.approx(25.0)
    heads = torch.nn.ModuleList([smoke_everywhere, biased_fcn(bias=-20.0)])
    losses = auxiliary_head_losses(heads, feats, samples)
    assert losses['aux_0.acc_seg'].item() == pytest.approx(25.0)
    assert losses['aux_1.acc_seg'].item() == pytest.approx(75.0)
    assert set(losses) == {
        'aux_0.loss_ce', 'aux_0.acc_seg', 'aux_1.loss_ce', 'aux_1.acc_seg'
    }
    assert set(auxiliary_head_losses(
        smoke_everywhere, feats, samples)) == {'aux.loss_ce', 'aux.acc_seg'}


def test_segmentor_logs_decode_and_aux_accuracy(tiny_segmentor_cfg,
                                                seg_sample):
    ce = dict(type='CrossEntropyLoss', use_sigmoid=True)
    model = MODELS.build(
        tiny_segmentor_cfg(
            auxiliary_losses=[ce],
            pixel_losses=dict(
                type='TransmissionCoherenceLoss', loss_weight=0.3)))
    with torch.no_grad():
        for h, bias in ((model.decode_head, 20.0), (model.auxiliary_head[0],
                                                    -20.0)):
            h.conv_seg.weight.zero_()
            h.conv_seg.bias.fill_(bias)
    label = torch.zeros(64, 64, dtype=torch.long)
    label[:16] = 1  # a quarter is smoke
    samples = [
        seg_sample(label, img_shape=(64, 64), ori_shape=(64, 64))
        for _ in range(2)
    ]
    images = [torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2
    data = model.data_preprocessor(
        dict(inputs=images, data_samples=samples), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['decode.acc_seg'].item() == pytest.approx(25.0)
    assert losses['aux_0.acc_seg'].item() == pytest.approx(75.0)


@pytest.mark.parametrize('kind',
                         ['TransmissionEncoderDecoder', 'FoSpEncoderDecoder'])
def test_segmentors_refuse_mmseg_dice_on_one_channel(kind, tiny_segmentor_cfg,
                                                     seg_sample):
    ce = dict(type='CrossEntropyLoss', use_sigmoid=True)
    dice = dict(type='DiceLoss', use_sigmoid=True)
    binary_dice = dict(type='BinaryDiceLoss')

    def build(**kwargs):
        return MODELS.build(tiny_segmentor_cfg(kind, **kwargs))

    with pytest.raises(ValueError, match='decode_head: MMSeg.s DiceLoss'):
        build(loss_decode=[ce, dice])
    with pytest.raises(ValueError, match=r'auxiliary_head \(aux_1\)'):
        build(auxiliary_losses=[binary_dice, dice])
    model = build(loss_decode=[ce, binary_dice], auxiliary_losses=[ce])
    assert model.with_auxiliary_head
    feats = [
        torch.rand(2, c, 64 // s, 64 // s)
        for c, s in ((8, 4), (16, 8), (32, 16), (64, 32))
    ]
    label = torch.zeros(64, 64, dtype=torch.long)
    label[:16] = 1
    samples = [seg_sample(label) for _ in range(2)]
    losses = model.decode_head.loss(feats, samples, dict())
    assert set(losses) == {'loss_ce', 'loss_dice', 'acc_seg'}
    losses['loss_dice'].backward()
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0
    # softmax heads may keep MMSeg's DiceLoss
    build(
        out_channels=2,
        loss_decode=[dict(type='CrossEntropyLoss'),
                     dict(type='DiceLoss')])
