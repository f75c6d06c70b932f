"""Shared pytest set-up: MMSeg's default scope and mmsmoke registration."""
import os
from pathlib import Path

import pytest

#: Real data lives beside the checkout (../shared/data); tests that use it
#: skip when it is absent.
SHARED_DATA = Path(
    os.environ.get(
        'MMSMOKE_SHARED_DATA',
        Path(__file__).resolve().parents[1].parent / 'shared' / 'data'))


@pytest.fixture(scope='session', autouse=True)
def mmseg_scope():
    from mmseg.utils import register_all_modules

    import mmsmoke  # noqa: F401
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture(scope='session')
def shared_data() -> Path:
    return SHARED_DATA


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
    norm = dict(type='BN', requires_grad=True)
    if loss_decode is None:
        loss_decode = dict(
            type='CrossEntropyLoss', use_sigmoid=out_channels == 1)
    head = dict(
        type='FCNHead',
        in_channels=64,
        in_index=3,
        channels=8,
        num_convs=1,
        concat_input=False,
        num_classes=2,
        out_channels=out_channels,
        threshold=threshold if out_channels == 1 else None,
        norm_cfg=norm,
        loss_decode=loss_decode)
    cfg = dict(
        type=segmentor,
        data_preprocessor=dict(type='SmokeDataPreProcessor', size=(64, 64)),
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            stem_channels=8,
            base_channels=8,
            out_indices=(0, 1, 2, 3),
            norm_cfg=norm),
        decode_head=head,
        test_cfg=dict(mode='whole'))
    if auxiliary_losses:
        cfg['auxiliary_head'] = [
            dict(head, in_channels=32, in_index=2, loss_decode=loss)
            for loss in auxiliary_losses
        ]
    cfg.update(kwargs)
    return cfg


@pytest.fixture
def tiny_segmentor_cfg():
    """Factory of tiny segmentor configs (see ``_tiny_segmentor_cfg``)."""
    return _tiny_segmentor_cfg
