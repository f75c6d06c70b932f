"""Configs for distributed training: no unused parameters, SyncBN variants.

DDP all-reduces the gradient of every parameter in each step; a parameter
that takes no part in the loss makes DDP fail in the next step unless the
config sets ``find_unused_parameters=True`` (which costs an extra graph
traversal per step). One training step of each light model must therefore
give every parameter that requires a gradient a ``.grad``. The mixing
configs are checked the same way in ``test_mixing_configs.py``.

SyncBN cannot run in one CPU process, so the SyncBN variants are only
built: every batch norm must be synchronised, and the parameters and
buffers must be those of the BN config (checkpoints are interchangeable).
"""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

REPO = Path(__file__).resolve().parents[2]
SIZE = 64
LIGHT_CONFIGS = [
    'configs/fosp/fosp_mit-b0_1xb4-800_synthetic-256x256.py',
    'configs/transbvm/transbvm_mit-b0_1xb4-2k_synthetic-256x256.py',
    'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py',
]
# SyncBN config -> the BN config it derives from
SYNCBN_CONFIGS = {
    'configs/fosp/fosp_r50_4xb2-40k_smoke5k-512x512_syncbn.py':
    'configs/fosp/fosp_r50_4xb2-40k_smoke5k-512x512.py',
    'configs/transbvm/transbvm_r50_2xb3-50e_smoke5k-480x480_syncbn.py':
    'configs/transbvm/transbvm_r50_1xb6-50e_smoke5k-480x480.py',
    'configs/deeplabv3plus/'
    'deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512_syncbn.py':
    'configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py',
}


pytestmark = pytest.mark.usefixtures('one_thread')


def _build(path: str):
    cfg = Config.fromfile(str(REPO / path))
    model_cfg: ConfigDict = copy.deepcopy(cfg.model)
    model_cfg['pretrained'] = None
    model_cfg['backbone']['init_cfg'] = None
    return cfg, MODELS.build(model_cfg)


def _batch(num: int) -> dict:
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(num):
        label = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
        label[:, 10 + 6 * i:42, 12:50 - 4 * i] = 1
        img = torch.randint(0, 256, (3, SIZE, SIZE), generator=gen)
        img[:, label[0] == 1] = 190
        inputs.append(img.to(torch.uint8))
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(
            dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('path', LIGHT_CONFIGS, ids=lambda p: Path(p).stem)
def test_one_step_reaches_every_parameter(path):
    torch.manual_seed(0)
    cfg, model = _build(path)
    assert not cfg.get('find_unused_parameters', False)
    model.train()
    # the configs pad to their crop size; a 64x64 batch keeps this fast
    model.data_preprocessor.size = (SIZE, SIZE)
    data = model.data_preprocessor(_batch(2), training=True)
    total, _ = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(total)
    total.backward()
    unused = [
        name for name, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert unused == []
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) > 0


@pytest.mark.parametrize(
    'path', sorted(SYNCBN_CONFIGS), ids=lambda p: Path(p).stem)
def test_syncbn_variant_builds_with_synchronised_norms_only(path):
    cfg, model = _build(path)
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert norms
    plain = [
        type(m).__name__ for m in norms
        if not isinstance(m, torch.nn.SyncBatchNorm)
    ]
    assert plain == [], f'{Path(path).name} keeps unsynchronised norms'
    base_cfg, base = _build(SYNCBN_CONFIGS[path])
    assert set(model.state_dict()) == set(base.state_dict())
    assert cfg.train_cfg == base_cfg.train_cfg
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'


def test_transbvm_syncbn_keeps_the_total_batch_of_the_paper():
    cfg = Config.fromfile(
        str(REPO / 'configs/transbvm/'
            'transbvm_r50_2xb3-50e_smoke5k-480x480_syncbn.py'))
    gpus = 2  # the "2x" of the name
    assert gpus * cfg.train_dataloader.batch_size == 6


@pytest.mark.parametrize(
    'path', LIGHT_CONFIGS[:2], ids=lambda p: Path(p).stem)
def test_one_step_and_prediction_under_cpu_bfloat16_autocast(path):
    """The models inside ``torch.autocast``, as ``--amp`` runs them.

    mmengine's ``AmpOptimWrapper`` needs a GPU (float16 autocast plus a
    loss scaler); this runs the same forward code under CPU autocast in
    bfloat16, so every op that autocast lowers and every custom function
    (transmission, separation, latent sampling) sees half-precision inputs.
    The GPU check is in docs/distributed.md.
    """
    torch.manual_seed(0)
    _, model = _build(path)
    model.train()
    model.data_preprocessor.size = (SIZE, SIZE)
    data = model.data_preprocessor(_batch(2), training=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
        total, _ = model.parse_losses(losses)
    assert total.dtype == torch.float32
    assert torch.isfinite(total)
    total.backward()
    grads = {
        name: p.grad
        for name, p in model.named_parameters() if p.requires_grad
    }
    assert all(g is not None for g in grads.values())
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert any(g.abs().sum() > 0 for g in grads.values())
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        samples = model(**data, mode='predict')
    for sample in samples:
        probs = sample.seg_logits.data
        assert torch.isfinite(probs).all()
        for key in sample.keys():
            if key.startswith('pred_') and key != 'pred_sem_seg':
                assert torch.isfinite(sample.get(key).data.float()).all(), key
