"""The mixing configs: mmsmoke modules inside stock MMSeg models.

Each config in ``configs/mixing/`` is built as shipped (and checked to hold
the stock parts and the mmsmoke part it promises), then shrunk by config
edits only (depths and widths) to run one training step and a prediction on
a 2x3x64x64 batch: the loss is finite, gradients reach the mmsmoke module,
and the prediction is a binary mask at the input size.
"""
import copy
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

REPO = Path(__file__).resolve().parents[2]
MIXING = REPO / 'configs' / 'mixing'
SIZE = 64

pytestmark = pytest.mark.usefixtures('one_thread')


def _tiny_resnet(model: dict, dilated: bool) -> None:
    """ResNet-18-V1c with 8 base channels: stages of 8, 16, 32, 64."""
    model['pretrained'] = None
    model['backbone'].update(
        depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    if dilated:
        assert tuple(model['backbone']['strides']) == (1, 2, 1, 1)


def _shrink_segformer_focus(model: dict) -> None:
    model['pretrained'] = None
    model['backbone'].update(embed_dims=8, init_cfg=None, drop_path_rate=0.0)
    model['neck']['in_channels'] = [8, 16, 40, 64]
    model['decode_head'].update(in_channels=[8, 16, 40, 64], channels=16)


def _shrink_convnext_focus(model: dict) -> None:
    model['backbone'].update(
        arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]),
        drop_path_rate=0.0,
        init_cfg=None)
    model['neck']['in_channels'] = [8, 16, 32, 64]
    model['decode_head'].update(in_channels=[8, 16, 32, 64], channels=16)


def _shrink_deeplab(model: dict) -> None:
    _tiny_resnet(model, dilated=True)
    model['decode_head'].update(
        in_channels=64, channels=16, c1_in_channels=8, c1_channels=8)
    model['auxiliary_head'].update(in_channels=32, channels=16)


def _shrink_deeplab_bvm(model: dict) -> None:
    _shrink_deeplab(model)
    model['uncertainty_net']['channels'] = 8
    model['train_mc_samples'] = 2


def _shrink_bvm(model: dict) -> None:
    _tiny_resnet(model, dilated=False)
    model['decode_head'].update(
        in_channels=[8, 16, 32, 64],
        channels=8,
        latent_channels=8,
        dense_aspp_dilations=(2, 4))
    model['uncertainty_net']['channels'] = 8
    model['train_mc_samples'] = 2


class Case(NamedTuple):
    """What a mixing config promises and how to shrink it."""
    shrink: Callable[[ConfigDict], None]
    segmentor: str  # class of the built model
    parts: Dict[str, str]  # attribute -> class name (stock and mmsmoke)
    trained_part: str  # the mmsmoke part that must receive gradients
    loss_keys: List[str]  # loss items the training step must return


FOCUS_LOSSES = ['decode.loss_ce'] + [f'aux_{i}.loss_ce' for i in range(5)]
# the parts of the two BVM models besides their decode heads
BVM_PARTS = dict(
    backbone='ResNetV1c', uncertainty_net='UncertaintyEstimationNet')
CASES: Dict[str, Case] = {
    'segformer_mit-b0_focusneck_4xb2-40k_smoke5k-512x512':
    Case(
        _shrink_segformer_focus, 'EncoderDecoder',
        dict(
            backbone='MixVisionTransformer',
            neck='FocusNeck',
            decode_head='SegformerHead'), 'neck', FOCUS_LOSSES),
    'upernet_convnext-t_focusneck_4xb2-40k_smoke5k-512x512':
    Case(_shrink_convnext_focus, 'EncoderDecoder',
         dict(backbone='ConvNeXt', neck='FocusNeck', decode_head='UPerHead'),
         'neck', FOCUS_LOSSES),
    'deeplabv3plus_r50-d8_transcoh_4xb2-40k_smoke5k-512x512':
    Case(
        _shrink_deeplab, 'TransmissionEncoderDecoder',
        dict(
            backbone='ResNetV1c',
            decode_head='DepthwiseSeparableASPPHead',
            auxiliary_head='FCNHead'), 'decode_head',
        ['decode.loss_ce', 'decode.loss_trans', 'aux.loss_ce']),
    'deeplabv3plus_r50-d8_transloss_4xb2-40k_smoke5k-512x512':
    Case(_shrink_deeplab_bvm, 'BVMEncoderDecoder',
         dict(BVM_PARTS, decode_head='DepthwiseSeparableASPPHead'),
         'uncertainty_net', [
             'decode.loss_ce', 'decode.loss_trans', 'decode.loss_cal_ent',
             'uncertainty.loss_uncertainty', 'aux.loss_ce'
         ]),
    'bvm_r50-v1c_4xb2-40k_smoke5k-512x512':
    Case(_shrink_bvm, 'BVMEncoderDecoder',
         dict(BVM_PARTS, decode_head='BVMHead'), 'decode_head', [
             'decode.loss_structure', 'decode.loss_kl',
             'uncertainty.loss_uncertainty'
         ]),
}


def test_every_mixing_config_is_covered():
    shipped = sorted(p.stem for p in MIXING.glob('*.py'))
    assert shipped == sorted(CASES), 'add new mixing configs to CASES'


def _config(stem: str) -> Config:
    return Config.fromfile(str(MIXING / f'{stem}.py'))


def _build(model_cfg: ConfigDict, shrink: Optional[Callable] = None):
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg['pretrained'] = None
    model_cfg['backbone']['init_cfg'] = None
    if shrink is not None:
        shrink(model_cfg)
    return MODELS.build(model_cfg)


@pytest.mark.parametrize('stem', sorted(CASES))
def test_config_builds_the_stock_model_with_the_mmsmoke_part(stem):
    cfg = _config(stem)
    case = CASES[stem]
    model = _build(cfg.model)
    assert type(model).__name__ == case.segmentor
    for attr, name in case.parts.items():
        module = getattr(model, attr)
        if isinstance(module, torch.nn.ModuleList):
            module = module[0]
        assert type(module).__name__ == name, attr
    assert model.decode_head.out_channels == 1
    assert model.decode_head.threshold == 0.5
    if 'ConvNeXt' in case.parts.values():
        # the backbone comes from mmpretrain through its registry scope
        assert type(model.backbone).__module__.startswith('mmpretrain.')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        assert cfg[evaluator]['type'] == 'SmokeMetric'


def _batch(num: int) -> Dict[str, list]:
    """Random images with a smoke square of known position as the label."""
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(num):
        img = torch.randint(0, 256, (3, SIZE, SIZE), generator=gen)
        label = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
        label[:, 8 + 4 * i:40 + 4 * i, 16:48] = 1
        img[:, label[0] == 1] = 200  # a bright, flat region like smoke
        inputs.append(img.to(torch.uint8))
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(
            dict(
                img_shape=(SIZE, SIZE),
                ori_shape=(SIZE, SIZE),
                pad_shape=(SIZE, SIZE)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _params_without_grad(module: torch.nn.Module) -> List[str]:
    return [
        name for name, p in module.named_parameters()
        if p.requires_grad and p.grad is None
    ]


@pytest.mark.parametrize('stem', sorted(CASES))
def test_tiny_training_step_and_predict(stem):
    torch.manual_seed(0)
    case = CASES[stem]
    model = _build(_config(stem).model, case.shrink)
    model.train()
    data = model.data_preprocessor(_batch(2), training=True)
    losses = model(**data, mode='loss')
    for key in case.loss_keys:
        assert key in losses, (key, sorted(losses))
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    total.backward()
    part = getattr(model, case.trained_part)
    grads = [p.grad for p in part.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads), case.trained_part
    assert any(g.abs().sum() > 0 for g in grads), case.trained_part
    # every parameter takes part: DDP needs no find_unused_parameters
    assert _params_without_grad(model) == []

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(_batch(1), training=False)
        results = model(**data, mode='predict')
    pred = results[0].pred_sem_seg.data
    assert pred.shape == (1, SIZE, SIZE)
    assert set(pred.unique().tolist()) <= {0, 1}
    prob = results[0].seg_logits.data
    assert prob.shape == (1, SIZE, SIZE)
    if case.segmentor == 'BVMEncoderDecoder':
        total_map = results[0].pred_uncertainty_total.data
        assert total_map.shape == (1, SIZE, SIZE)
        assert 0 <= float(total_map.min()) <= float(total_map.max()) <= 1


def test_transmission_loss_alone_trains_the_stock_head():
    """The transmission term has its own gradient path into DeepLabV3+."""
    torch.manual_seed(0)
    stem = 'deeplabv3plus_r50-d8_transcoh_4xb2-40k_smoke5k-512x512'
    model = _build(_config(stem).model, CASES[stem].shrink)
    model.train()
    data = model.data_preprocessor(_batch(2), training=True)
    losses = model(**data, mode='loss')
    weight = model.decode_head.conv_seg.weight
    (grad, ) = torch.autograd.grad(losses['decode.loss_trans'], weight)
    assert grad.abs().sum() > 0
    assert losses['decode.loss_trans'] >= 0


def test_focus_supervision_positions_follow_the_neck_field_names():
    """focusneck_supervision.py looks each logit up by name in its copy of
    FocusOutputs' field order; the copy must be the neck's order."""
    from mmsmoke.models.necks.focus_neck import FocusOutputs
    cfg = Config.fromfile(
        str(MIXING.parent / '_base_' / 'models' /
            'focusneck_supervision.py'))
    assert tuple(cfg.focus_neck_fields) == FocusOutputs._fields
    supervised = [
        FocusOutputs._fields[head.in_index]
        for head in cfg.focus_supervision_heads
    ]
    assert supervised == ['focus', *FocusOutputs.SIDE_FIELDS]
