"""Shared pytest set-up: MMSeg's default scope and mmsmoke registration, and
the factories the tests share. The import mode is ``importlib``, so test
modules get them as fixtures, not by import: each ``_<name>`` function below
is handed out as the session fixture ``<name>`` (see ``_hand_out``).

* ``one_thread``: torch on one thread for a module; request it with
  ``pytestmark = pytest.mark.usefixtures('one_thread')``.
* ``seg_sample`` / ``square_samples``: ``SegDataSample`` builders.
* ``shipped_model``: the ``model`` of a shipped config as a plain dict.
* ``tiny_backbone``, ``smoke_preprocessor``, ``tiny_fcn_head`` and
  ``tiny_segmentor_cfg``: the parts of the tiny models the tests build.
* ``tiny_synthetic``, ``loader_options``, ``tiny_segformer(_options)``,
  ``run_tool`` and ``load_tool``: the tools run end to end.
"""
import copy
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Real data lives beside the checkout (../shared/data); tests that use it
#: skip when it is absent.
SHARED_DATA = Path(
    os.environ.get('MMSMOKE_SHARED_DATA', REPO.parent / 'shared' / 'data'))


@pytest.fixture(scope='session', autouse=True)
def mmseg_scope():
    from mmseg.utils import register_all_modules

    import mmsmoke  # noqa: F401
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture(scope='session')
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope='module')
def one_thread():
    """Tiny convolutions run faster (and steadier) on one thread."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------ data samples
def _seg_sample(label, **metainfo):
    """A ``SegDataSample`` with ``label`` ((H, W) or (1, H, W)) as its
    ``gt_sem_seg`` and ``metainfo`` (e.g. ``img_shape``, ``ori_shape``)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(
        data=label if label.dim() == 3 else label[None])
    sample.set_metainfo(metainfo)
    return sample


def _square_samples(n, size, ori_shape=None, padding=(0, 0, 0, 0)):
    """``n`` samples of ``size`` (H, W) whose label is one smoke square
    (rows and columns from 1/4 to 1/2 of the size), with the metainfo of a
    whole image (``ori_shape`` and the ``padding`` may differ)."""
    import torch

    from mmsmoke.utils.metainfo import whole_image_meta
    label = torch.zeros(1, *size, dtype=torch.long)
    label[:, size[0] // 4:size[0] // 2, size[1] // 4:size[1] // 2] = 1
    meta = dict(
        whole_image_meta(size),
        ori_shape=ori_shape or size,
        padding_size=list(padding))
    return [_seg_sample(label.clone(), **meta) for _ in range(n)]


# ------------------------------------------------------------- tiny models
#: Backbones of four stages at 1/4 .. 1/32 with their output widths.
TINY_BACKBONES = {
    # ResNet-18-V1c with 8 base channels
    'resnet': (dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=8,
        base_channels=8,
        out_indices=(0, 1, 2, 3)), [8, 16, 32, 64]),
    # MiT with 8 embedding channels and one layer per stage
    'mit': (dict(
        type='MixVisionTransformer',
        embed_dims=8,
        num_layers=[1, 1, 1, 1],
        num_heads=[1, 2, 5, 8],
        out_indices=(0, 1, 2, 3)), [8, 16, 40, 64]),
    # mmpretrain's ConvNeXt with one block per stage
    'convnext': (dict(
        type='mmpretrain.ConvNeXt',
        arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]),
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False), [8, 16, 32, 64]),
}


def _tiny_backbone(name: str = 'resnet'):
    """``(backbone config, output channels)`` of ``TINY_BACKBONES[name]``,
    the config a fresh copy."""
    cfg, channels = TINY_BACKBONES[name]
    return copy.deepcopy(cfg), list(channels)


_SHIPPED = {}


def _shipped_model(path: str) -> dict:
    """The ``model`` of ``configs/<path>`` as a plain dict (a fresh copy:
    edits and ``dict.update`` replace, they do not merge)."""
    if path not in _SHIPPED:
        from mmengine.config import Config
        _SHIPPED[path] = Config.fromfile(str(REPO / 'configs' /
                                             path)).model.to_dict()
    return copy.deepcopy(_SHIPPED[path])


def _smoke_preprocessor(size=None) -> dict:
    """The shipped ``SmokeDataPreProcessor`` of the binary smoke models
    (configs/_base_/models/smoke_binary_common.py), padding training and
    test batches to ``size`` when given."""
    cfg = _shipped_model('_base_/models/smoke_binary_common.py')
    pre = cfg['data_preprocessor']
    if size is not None:
        pre.update(size=size, test_cfg=dict(size=size))
    return pre


def _tiny_fcn_head(**kwargs) -> dict:
    """A one-channel FCN head (one 8-channel conv, BN) on the last stage of
    the tiny ResNet (64 channels); keyword arguments replace its fields."""
    head = dict(
        type='FCNHead',
        in_channels=64,
        in_index=3,
        channels=8,
        num_convs=1,
        concat_input=False,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=dict(type='BN', requires_grad=True),
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    head.update(kwargs)
    return head


def _tiny_segmentor_cfg(segmentor: str = 'TransmissionEncoderDecoder',
                        out_channels: int = 1,
                        threshold: float = 0.5,
                        loss_decode=None,
                        auxiliary_losses=None,
                        **kwargs) -> dict:
    """A tiny ResNet-18 + FCN head segmentor config for 64x64 inputs.

    ``auxiliary_losses`` gives one auxiliary FCN head (on stage 3) per loss
    config; extra keyword arguments go into the segmentor config.
    """
    if loss_decode is None:
        loss_decode = dict(
            type='CrossEntropyLoss', use_sigmoid=out_channels == 1)
    head = _tiny_fcn_head(
        out_channels=out_channels,
        threshold=threshold if out_channels == 1 else None,
        loss_decode=loss_decode)
    cfg = dict(
        type=segmentor,
        data_preprocessor=dict(type='SmokeDataPreProcessor', size=(64, 64)),
        backbone=_tiny_backbone('resnet')[0],
        decode_head=head,
        test_cfg=dict(mode='whole'))
    if auxiliary_losses:
        cfg['auxiliary_head'] = [
            dict(head, in_channels=32, in_index=2, loss_decode=loss)
            for loss in auxiliary_losses
        ]
    cfg.update(kwargs)
    return cfg


# ------------------------------------------------------ the tools, end to end
@pytest.fixture(scope='session')
def tiny_synthetic(tmp_path_factory) -> Path:
    """A tiny synthetic smoke set (SMOKE5K layout, 64x64) for tool tests."""
    from mmsmoke.datasets.synthetic import generate_dataset
    root = tmp_path_factory.mktemp('synthetic') / 'smoke5k'
    generate_dataset(
        str(root),
        layout='smoke5k',
        num_train=16,
        num_test=8,
        img_size=(64, 64),
        seed=0)
    return root


def _loader_options(data_root, splits=('train', 'val', 'test')) -> list:
    """``--cfg-options`` that read ``splits`` from ``data_root`` in the
    main process (training batches of 2)."""
    options = [f'{s}_dataloader.dataset.data_root={data_root}' for s in splits]
    if 'train' in splits:
        options.append('train_dataloader.batch_size=2')
    for split in splits:
        options += [
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False'
        ]
    return options


#: The SegFormer MiT-B0 configs at tiny widths (``cfg_options``).
TINY_SEGFORMER = {
    'model.backbone.embed_dims': 8,
    'model.decode_head.in_channels': [8, 16, 40, 64],
    'model.decode_head.channels': 16,
}


@pytest.fixture(scope='session')
def tiny_segformer() -> dict:
    """``TINY_SEGFORMER``, a fresh copy."""
    return copy.deepcopy(TINY_SEGFORMER)


@pytest.fixture(scope='session')
def tiny_segformer_options() -> list:
    """``TINY_SEGFORMER`` as ``--cfg-options`` arguments."""
    return [f'{k}={v}'.replace(' ', '') for k, v in TINY_SEGFORMER.items()]


def _run_tool(script: str, *args, env=None, output_tail=3000, timeout=300):
    """Run ``python <script> <args>`` from the checkout on one thread and
    assert it succeeds; the completed process (text output) is returned."""
    proc = subprocess.run(
        [sys.executable, str(REPO / script), *map(str, args)],
        cwd=REPO,
        env=dict(env or os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=timeout)
    assert proc.returncode == 0, (
        proc.stdout[-output_tail:] + proc.stderr[-output_tail:])
    return proc


def _load_tool(script: str, name: str):
    """Import ``<checkout>/<script>`` as the module ``name``."""
    spec = importlib.util.spec_from_file_location(name, REPO / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------- the factories, as fixtures
def _hand_out(factory):
    """A session fixture, named like ``factory`` without its leading
    underscore, whose value is ``factory`` itself."""

    def fixture():
        return factory

    fixture.__doc__ = factory.__doc__
    return pytest.fixture(scope='session', name=factory.__name__[1:])(fixture)


seg_sample = _hand_out(_seg_sample)
square_samples = _hand_out(_square_samples)
tiny_backbone = _hand_out(_tiny_backbone)
shipped_model = _hand_out(_shipped_model)
smoke_preprocessor = _hand_out(_smoke_preprocessor)
tiny_fcn_head = _hand_out(_tiny_fcn_head)
tiny_segmentor_cfg = _hand_out(_tiny_segmentor_cfg)
loader_options = _hand_out(_loader_options)
run_tool = _hand_out(_run_tool)
load_tool = _hand_out(_load_tool)
