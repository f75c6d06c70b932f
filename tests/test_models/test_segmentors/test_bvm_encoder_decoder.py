import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules
# Importing the files registers the modules.
import mmsmoke.models.decode_heads.bvm_head  # noqa: F401
import mmsmoke.models.losses.structure_loss  # noqa: F401
import mmsmoke.models.losses.transmission_coherence_loss  # noqa: F401
import mmsmoke.models.losses.uncertainty_calibrated_entropy_loss  # noqa
import mmsmoke.models.segmentors.transmission_encoder_decoder  # noqa
from mmsmoke.models.segmentors.bvm_encoder_decoder import (
    BVMEncoderDecoder, frozen_bn_statistics, mc_dropout_enabled)
from mmsmoke.models.uncertainty.uncertainty_net import (binary_entropy,
                                                  mc_uncertainty)

register_all_modules(init_default_scope=True)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))
pytestmark = pytest.mark.usefixtures('one_thread')


def _data(n=2, hw=(56, 60), seed=0):
    """Raw uint8 images whose bright square is the smoke label."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        label = torch.zeros(1, *hw, dtype=torch.long)
        y, x = torch.randint(0, hw[0] // 2, (2, ), generator=gen).tolist()
        label[:, y:y + hw[0] // 2, x:x + hw[1] // 2] = 1
        img = 60 + 120 * label.expand(3, -1, -1) + torch.randint(
            0, 40, (3, *hw), generator=gen)
        inputs.append(img.to(torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(dict(img_shape=hw, ori_shape=hw))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _loss(model, data):
    batch = model.data_preprocessor(copy.deepcopy(data), True)
    return model.loss(batch['inputs'], batch['data_samples'])


def test_mc_uncertainty_and_entropy():
    p = torch.tensor([0.5, 0.0, 1.0])
    torch.testing.assert_close(
        binary_entropy(p), torch.tensor([1.0, 0.0, 0.0]), atol=1e-4, rtol=0)
    # Two samples 0.1 and 0.9: mean 0.5 -> total 1 bit; aleatoric H(0.1).
    probs = torch.tensor([0.1, 0.9]).view(2, 1, 1, 1, 1)
    total, aleatoric, epistemic = mc_uncertainty(probs)
    h = -(0.1 * torch.log2(torch.tensor(0.1)) +
          0.9 * torch.log2(torch.tensor(0.9)))
    torch.testing.assert_close(total.flatten(), torch.tensor([1.0]))
    torch.testing.assert_close(aleatoric.flatten(), h.view(1))
    torch.testing.assert_close(epistemic, total - aleatoric)


def test_context_managers():
    bn = torch.nn.BatchNorm2d(3).train()
    before = (bn.running_mean.clone(), bn.running_var.clone(),
              bn.num_batches_tracked.clone())
    with frozen_bn_statistics(bn):
        bn(torch.randn(4, 3, 5, 5) * 3 + 2)
    for a, b in zip(before,
                    (bn.running_mean, bn.running_var, bn.num_batches_tracked)):
        assert torch.equal(a, b)
    assert bn.momentum == 0.1
    net = torch.nn.Sequential(torch.nn.Dropout(0.5), bn).eval()
    with mc_dropout_enabled(net) as count:
        assert count == 1 and net[0].training and not net[1].training
    assert not net[0].training


def test_loss_items_and_no_unused_parameters(tiny_bvm_cfg):
    torch.manual_seed(0)
    model = MODELS.build(tiny_bvm_cfg()).train()
    losses = _loss(model, _data())
    expected = {
        'decode.loss_structure', 'decode.loss_kl', 'decode.loss_trans',
        'decode.loss_cal_ent', 'uncertainty.loss_uncertainty'
    }
    assert expected <= set(losses)
    for key in expected:
        assert torch.isfinite(losses[key]), key
    total, _ = model.parse_losses(losses)
    total.backward()
    unused = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert unused == []


# MMSeg's stock accuracy would give the background share, 75, in both
@pytest.mark.parametrize('stock_head', [False, True])
def test_acc_seg_thresholds_the_one_channel(stock_head, tiny_bvm_cfg,
                                            tiny_fcn_head):
    """A quarter of each label is smoke; the padding is ignored."""
    cfg = tiny_bvm_cfg(decode_head=tiny_fcn_head()) if stock_head \
        else tiny_bvm_cfg()
    model = MODELS.build(cfg).train()
    with torch.no_grad():
        model.decode_head.conv_seg.weight.zero_()
        model.decode_head.conv_seg.bias.fill_(20.0)  # smoke everywhere
    losses = _loss(model, _data())
    assert losses['decode.acc_seg'].item() == pytest.approx(25.0)


def test_uncertainty_loss_trains_only_the_uncertainty_net(tiny_bvm_cfg):
    torch.manual_seed(1)
    model = MODELS.build(tiny_bvm_cfg()).train()
    losses = _loss(model, _data())
    losses['uncertainty.loss_uncertainty'].backward()
    for name, p in model.named_parameters():
        if name.startswith('uncertainty_net.'):
            continue
        assert p.grad is None, name
    model.zero_grad(set_to_none=True)
    losses = _loss(model, _data())
    (losses['decode.loss_structure'] + losses['decode.loss_trans'] +
     losses['decode.loss_cal_ent']).backward()
    assert all(p.grad is None for p in model.uncertainty_net.parameters())


def test_mc_passes_do_not_touch_head_bn_statistics(tiny_bvm_cfg):
    torch.manual_seed(2)
    model = MODELS.build(tiny_bvm_cfg(train_mc_samples=6)).train()
    head_bn = model.decode_head.level_convs[0].bn
    before = head_bn.num_batches_tracked.clone()
    _loss(model, _data())
    # One training forward, not one per MC sample.
    assert head_bn.num_batches_tracked.item() == before.item() + 1


def test_training_reduces_the_loss(tiny_bvm_cfg):
    torch.manual_seed(3)
    model = MODELS.build(tiny_bvm_cfg())
    model.train()
    optim = build_optim_wrapper(
        model, dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-3)))
    data = _data(n=2, seed=4)
    history = []
    for _ in range(15):
        log_vars = model.train_step(copy.deepcopy(data), optim)
        history.append(
            torch.as_tensor(log_vars['decode.loss_structure']).item())
    assert sum(history[-3:]) / 3 < 0.85 * sum(history[:3]) / 3


def _predict_batch(model, hw=(50, 60), ori=(100, 120), flip=False):
    data = _data(n=2, hw=hw, seed=5)
    for s in data['data_samples']:
        s.set_metainfo(
            dict(ori_shape=ori, flip=flip, flip_direction='horizontal'))
    return model.data_preprocessor(data, False)


def _check_uncertainty_fields(results, ori):
    for res in results:
        assert res.seg_logits.data.shape == (1, *ori)
        assert res.pred_sem_seg.data.shape == (1, *ori)
        total = res.pred_uncertainty_total.data
        aleatoric = res.pred_uncertainty_aleatoric.data
        epistemic = res.pred_uncertainty_epistemic.data
        for m in (total, aleatoric, epistemic):
            assert m.shape == (1, *ori)
            assert m.min() >= 0 and m.max() <= 1
        # formed per window, then averaged and resized like the others
        # (linear steps): equal up to rounding
        torch.testing.assert_close(
            epistemic, total - aleatoric, atol=1e-6, rtol=0)


def test_predict_sampling_free_fields_at_original_size(tiny_bvm_cfg):
    torch.manual_seed(6)
    model = MODELS.build(tiny_bvm_cfg()).eval()
    batch = _predict_batch(model)
    assert batch['inputs'].shape[2:] == (64, 64)  # padded
    with torch.no_grad():
        results = model.predict(batch['inputs'], batch['data_samples'])
        again = model.predict(batch['inputs'],
                              _predict_batch(model)['data_samples'])
    _check_uncertainty_fields(results, (100, 120))
    # Sampling-free: deterministic.
    assert torch.equal(results[0].pred_uncertainty_total.data,
                       again[0].pred_uncertainty_total.data)
    probs = results[0].seg_logits.data
    assert probs.min() >= 0 and probs.max() <= 1


def test_maps_are_unpadded_unflipped_and_resized(tiny_bvm_cfg):
    model = MODELS.build(tiny_bvm_cfg()).eval()
    sample = SegDataSample()
    sample.set_metainfo(
        dict(
            ori_shape=(8, 12),
            img_shape=(4, 6),
            padding_size=[0, 2, 0, 4],  # left, right, top, bottom
            flip=True,
            flip_direction='horizontal'))
    total = torch.ones(1, 1, 8, 8)
    total[..., 4:, :] = 0.0  # padding rows
    total[..., :, 6:] = 0.0  # padding columns
    total[..., :4, :3] = 0.5  # left half of the image
    aleatoric = total / 4
    res = model.postprocess_result(
        torch.zeros(1, 1, 8, 8), [sample],
        dict(
            uncertainty_total=total,
            uncertainty_aleatoric=aleatoric,
            uncertainty_epistemic=total - aleatoric))[0]
    out = res.pred_uncertainty_total.data
    assert out.shape == (1, 8, 12)
    # Un-flipped: the 0.5 half is now on the right; no padding zeros left.
    assert out.min() >= 0.5 - 1e-6
    torch.testing.assert_close(out[:, :, :4], torch.ones(1, 8, 4))
    torch.testing.assert_close(out[:, :, 8:], torch.full((1, 8, 4), 0.5))
    torch.testing.assert_close(res.pred_uncertainty_epistemic.data, 0.75 * out)


def test_predict_mc_and_none_modes(tiny_bvm_cfg):
    torch.manual_seed(7)
    model = MODELS.build(
        tiny_bvm_cfg(
            test_cfg=dict(mode='whole', uncertainty='mc',
                          mc_samples=4))).eval()
    batch = _predict_batch(model)
    with torch.no_grad():
        results = model.predict(batch['inputs'], batch['data_samples'])
    _check_uncertainty_fields(results, (100, 120))
    # MC samples differ (z and dropout), so some epistemic mass exists.
    assert results[0].pred_uncertainty_epistemic.data.max() > 0
    # Dropout is back off after sampling.
    assert not model.decode_head.mc_dropout.training
    model.test_cfg = dict(mode='whole', uncertainty='none')
    batch = _predict_batch(model)
    with torch.no_grad():
        plain = model.predict(batch['inputs'], batch['data_samples'])
    assert 'pred_uncertainty_total' not in plain[0]


def test_calibrated_output_is_logit_over_total_uncertainty(tiny_bvm_cfg):
    torch.manual_seed(9)
    model = MODELS.build(tiny_bvm_cfg()).eval()
    batch = _predict_batch(model)
    with torch.no_grad():
        plain = model.predict(batch['inputs'], batch['data_samples'])
        model.test_cfg = dict(mode='whole', calibrate=True)
        scaled = model.predict(batch['inputs'],
                               _predict_batch(model)['data_samples'])
    for p, c in zip(plain, scaled):
        prob = p.seg_logits.data.clamp(1e-6, 1 - 1e-6)
        logit = torch.log(prob) - torch.log1p(-prob)
        total = p.pred_uncertainty_total.data
        # postprocess resizes logits and maps alike, so sigma(s / U_p) holds
        # at the original size up to the interpolation of the quotient
        expected = (logit / total.clamp(min=0.01)).sigmoid()
        inner = (slice(None), slice(2, -2), slice(2, -2))
        torch.testing.assert_close(
            c.seg_logits.data[inner], expected[inner], atol=0.05, rtol=0)
        assert torch.equal(c.pred_sem_seg.data, p.pred_sem_seg.data)
        torch.testing.assert_close(c.pred_uncertainty_total.data, total)
    # hand-computed case of the scaling itself
    logits = torch.tensor([[[[2.0, -1.0, 0.5]]]])
    total = torch.tensor([[[[0.5, 1.0, 0.0]]]])
    torch.testing.assert_close(
        model.calibrate_logits(logits, total),
        torch.tensor([[[[4.0, -1.0, 50.0]]]]))
    with pytest.raises(ValueError, match='calibrate'):
        MODELS.build(
            tiny_bvm_cfg(test_cfg=dict(uncertainty='none', calibrate=True)))


def test_predict_slide_mode_and_without_samples(tiny_bvm_cfg):
    torch.manual_seed(8)
    model = MODELS.build(
        tiny_bvm_cfg(
            test_cfg=dict(mode='slide', crop_size=(32,
                                                   32), stride=(24,
                                                                24)))).eval()
    batch = _predict_batch(model)
    with torch.no_grad():
        results = model.predict(batch['inputs'], batch['data_samples'])
        bare = model.predict(batch['inputs'])
    _check_uncertainty_fields(results, (100, 120))
    _check_uncertainty_fields(bare, (64, 64))


def test_tensor_mode(tiny_bvm_cfg):
    model = MODELS.build(tiny_bvm_cfg()).eval()
    inputs = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits, total, aleatoric = model(inputs, mode='tensor')
    assert logits.shape == (2, 1, 16, 16)
    assert total.shape == aleatoric.shape == (2, 1, 64, 64)
    assert (aleatoric <= total).all()


def test_bad_configs(tiny_bvm_cfg, tiny_fcn_head):
    with pytest.raises(ValueError, match='uncertainty'):
        MODELS.build(tiny_bvm_cfg(test_cfg=dict(uncertainty='ensemble')))
    with pytest.raises(ValueError, match='out_channels'):
        MODELS.build(
            tiny_bvm_cfg(
                decode_head=tiny_fcn_head(out_channels=2, threshold=None)))
    with pytest.raises(ValueError, match='dropout'):
        MODELS.build(
            tiny_bvm_cfg(decode_head=tiny_fcn_head(dropout_ratio=0.0)))


def test_transmission_loss_on_stock_head_by_config(tiny_segmentor_cfg,
                                                   smoke_preprocessor,
                                                   tiny_bvm_cfg):

    def build(pixel_losses):
        return MODELS.build(
            tiny_segmentor_cfg(
                'TransmissionEncoderDecoder',
                data_preprocessor=smoke_preprocessor((64, 64)),
                pixel_losses=pixel_losses)).train()

    torch.manual_seed(9)
    model = build(dict(type='TransmissionCoherenceLoss', loss_weight=0.3))
    losses = _loss(model, _data())
    assert {'decode.loss_ce', 'decode.loss_trans'} <= set(losses)
    model.parse_losses(losses)[0].backward()
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0
    batch = _predict_batch(model)
    model.eval()
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])
    assert res[0].pred_sem_seg.data.shape == (1, 100, 120)
    # The calibrated entropy loss needs U_p, which only BVMEncoderDecoder
    # has.
    model = build(tiny_bvm_cfg()['pixel_losses'])
    with pytest.raises(ValueError, match='uncertainty'):
        _loss(model, _data())


def test_both_losses_on_stock_head_with_mc_dropout(tiny_bvm_cfg,
                                                   tiny_fcn_head):
    torch.manual_seed(10)
    model = MODELS.build(tiny_bvm_cfg(decode_head=tiny_fcn_head())).train()
    losses = _loss(model, _data())
    assert {
        'decode.loss_ce', 'decode.loss_trans', 'decode.loss_cal_ent',
        'uncertainty.loss_uncertainty'
    } <= set(losses)
    assert 'decode.loss_kl' not in losses
    model.parse_losses(losses)[0].backward()
    model.eval()
    batch = _predict_batch(model)
    with torch.no_grad():
        _check_uncertainty_fields(
            model.predict(batch['inputs'], batch['data_samples']), (100, 120))


@pytest.mark.parametrize('name', [
    'transbvm_mit-b0_1xb4-2k_synthetic-256x256.py',
    'segformer_mit-b0_transloss_4xb2-40k_smoke5k-512x512.py',
    'transbvm_r50_1xb6-50e_smoke5k-480x480.py',
])
def test_repository_configs(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'transbvm', name))
    model_cfg = cfg.model
    model_cfg.data_preprocessor.size = (64, 64)
    model_cfg.train_mc_samples = 2
    model = MODELS.build(model_cfg)
    assert isinstance(model, BVMEncoderDecoder)
    assert model.decode_head.threshold == 0.5
    # g_gamma's own learning rate through paramwise_cfg.
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    mult = cfg.optim_wrapper.paramwise_cfg.custom_keys.uncertainty_net[
        'lr_mult']
    for group in optim.optimizer.param_groups:
        if any(p is q for p in group['params']
               for q in model.uncertainty_net.parameters()):
            assert group['lr'] == pytest.approx(base_lr * mult)
    if 'r50' in name:
        # the paper's 50 epochs, x0.8 after epoch 40, as epochs: SMOKE5K's
        # 5,058 pairs in batches of 6 make 843 iterations of each
        assert cfg.train_cfg == dict(
            type='EpochBasedTrainLoop', max_epochs=50, val_interval=5)
        assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
        step = cfg.param_scheduler[0]
        assert step.by_epoch and step.milestones == [40]
        return  # too heavy for a CPU forward here
    torch.manual_seed(11)
    model.train()
    losses = _loss(model, _data(n=2, hw=(64, 64)))
    assert {'decode.loss_trans', 'decode.loss_cal_ent'} <= set(losses)
    model.eval()
    batch = _predict_batch(model, hw=(64, 64), ori=(64, 64))
    with torch.no_grad():
        _check_uncertainty_fields(
            model.predict(batch['inputs'], batch['data_samples']), (64, 64))
