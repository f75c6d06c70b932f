"""Every shipped config parses, builds, and states its binary threshold."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)


def _heads(model_cfg):
    heads = []
    for key in ('decode_head', 'auxiliary_head'):
        head = model_cfg.get(key)
        if head is None:
            continue
        heads.extend(head if isinstance(head, (list, tuple)) else [head])
    return heads


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_with_explicit_threshold(path):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(str(path))
    assert cfg.get('custom_imports', {}).get('imports') == ['mmsmoke']
    assert cfg.default_scope == 'mmseg'
    heads = _heads(cfg.model)
    assert heads, 'no decode head'
    for head in heads:
        if head.get('out_channels') == 1:
            assert head.get('threshold') is not None, \
                f'{path.name}: single-channel head without a threshold'
            assert head.get('num_classes') == 2
    for evaluator in ('val_evaluator', 'test_evaluator'):
        assert cfg[evaluator]['type'] == 'SmokeMetric'
        # one threshold: the evaluators score the model's own mask
        assert cfg[evaluator].get('threshold', 0.5) is None, \
            f'{path.name}: {evaluator}.threshold repeats the head threshold'
    model = dict(cfg.model)
    # Building must not reach the network for pretrained weights.
    model['pretrained'] = None
    model['backbone'] = dict(model['backbone'], init_cfg=None)
    built = MODELS.build(model)
    head = built.decode_head
    if head.out_channels == 1:
        # The classifier starts at the smoke prior (0.05), not at 0.5 with
        # MMSeg's bias 0 (docs/models.md).
        head.init_weights()
        prob = float(torch.sigmoid(head.conv_seg.bias).item())
        assert prob == pytest.approx(0.05, abs=1e-3), path.name


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_tta_pipeline_matches_the_test_pipeline(path):
    """--tta works and its ratio-1 view is the plain test view."""
    cfg = Config.fromfile(str(path))
    assert cfg.tta_model.type == 'SmokeTTAModel'
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    resize = [t for t in test_pipeline if t['type'] == 'Resize']
    assert len(resize) == 1, path.name
    tta = cfg.tta_pipeline
    assert tta[0]['type'] == 'LoadImageFromFile'
    stages = tta[1]['transforms']
    assert tta[1]['type'] == 'TestTimeAug'
    assert resize[0] in stages[0], f'{path.name}: no view at the test size'
    assert [dict(type='LoadSmokeAnnotations')] in stages
    assert stages[-1][0]['type'] == 'PackSegInputs'
    assert stages[-1][0]['meta_keys'] == test_pipeline[-1]['meta_keys']


def test_configs_inherit_through_the_installed_package(tmp_path,
                                                       tiny_synthetic):
    """`mmsmoke::` base configs resolve from the installed package."""
    from mmseg.registry import DATASETS, MODELS
    cfg_file = tmp_path / 'user_config.py'
    cfg_file.write_text(
        "_base_ = ['mmsmoke::_base_/datasets/synthetic_smoke.py',\n"
        "          'mmsmoke::_base_/models/segformer_mit-b0_binary.py',\n"
        "          'mmsmoke::_base_/default_runtime.py']\n"
        f"data_root = '{tiny_synthetic}'\n"
        "test_dataloader = dict(dataset=dict(data_root=data_root))\n")
    cfg = Config.fromfile(str(cfg_file))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 8
    assert dataset[0]['data_samples'].gt_sem_seg.data.max() <= 1
    model = MODELS.build(cfg.model)
    assert model.decode_head.threshold == 0.5


def test_user_config_with_a_stock_schedule_and_the_binary_head(tmp_path):
    """docs/mixing.md: a stock model, mmsmoke's data and runtime, an
    `mmseg::` schedule (default_hooks live in the schedules, so the two do
    not clash) and the one-channel head fields of smoke_binary_head.py."""
    from mmseg.registry import MODELS
    cfg_file = tmp_path / 'user_config.py'
    cfg_file.write_text(
        "_base_ = ['mmseg::_base_/models/upernet_r50.py',\n"
        "          'mmsmoke::_base_/datasets/smoke5k.py',\n"
        "          'mmsmoke::_base_/default_runtime.py',\n"
        "          'mmseg::_base_/schedules/schedule_20k.py',\n"
        "          'mmsmoke::_base_/models/smoke_binary_head.py']\n"
        "norm_cfg = dict(type='BN', requires_grad=True)\n"
        "model = dict(\n"
        "    pretrained=None,\n"
        "    backbone=dict(norm_cfg=norm_cfg),\n"
        "    decode_head=dict(_base_.smoke_binary_head, norm_cfg=norm_cfg),\n"
        "    auxiliary_head=None)\n")
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.default_hooks.checkpoint.interval == 2000  # the schedule's
    assert cfg.custom_imports.imports == ['mmsmoke']  # the runtime's
    head = cfg.model.decode_head
    assert (head.type, head.num_classes, head.out_channels,
            head.threshold) == ('UPerHead', 2, 1, 0.5)
    assert head.init_cfg.bias == pytest.approx(-2.944)
    assert head.loss_decode.use_sigmoid is True
    model = MODELS.build(cfg.model)
    assert model.decode_head.conv_seg.out_channels == 1


def test_light_configs_pad_to_their_dataset_crop():
    """The light configs take the pad size from their dataset base."""
    for name, size in [
        ('fosp/fosp_mit-b0_1xb4-800_synthetic-256x256.py', (256, 256)),
        ('segformer/segformer_mit-b0_1xb4-4k_smoke5k-native-384x384.py',
         (384, 384)),
        ('transbvm/transbvm_mit-b0_1xb8-800_synthetic-native-128x128.py',
         (128, 128)),
    ]:
        cfg = Config.fromfile(str(REPO / 'configs' / name))
        assert tuple(cfg.model.data_preprocessor.size) == size, name
        assert tuple(cfg.crop_size) == size, name
        assert cfg.model.backbone.init_cfg is None, name  # from scratch
