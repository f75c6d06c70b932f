"""Tiny versions of the shipped FoSp and Transmission-BVM models.

Each factory loads the shipped model base (``shipped_model``, tests/
conftest.py) and shrinks it by config edits only: depths and widths, the
pre-processor padding to the test size. Keyword arguments then replace
whole fields of the segmentor config.
"""
import pytest

RESNET_CHANNELS = [8, 16, 32, 64]  # ResNet-18 with 8 base channels
MIT_CHANNELS = [8, 16, 40, 64]  # MiT with 8 embedding channels


def _shrink_resnet(backbone: dict) -> list:
    """ResNet-18 with 8 base channels, no pretrained weights."""
    backbone.update(depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    return RESNET_CHANNELS


@pytest.fixture(scope='session')
def tiny_bvm_cfg(shipped_model):
    """Transmission-BVM (configs/_base_/models/transbvm_r50.py) on a tiny
    ResNet: an 8-channel head with a 4-channel latent encoder, an 8-channel
    uncertainty net, 3 MC samples in training and the 5x5 dark channel."""

    def make(size=(64, 64), dense_aspp_dilations=(1, 2, 3), **kwargs):
        cfg = shipped_model('_base_/models/transbvm_r50.py')
        cfg['data_preprocessor'].update(size=size, test_cfg=dict(size=size))
        channels = _shrink_resnet(cfg['backbone'])
        cfg['decode_head'].update(
            in_channels=channels,
            channels=8,
            latent_channels=4,
            dense_aspp_dilations=dense_aspp_dilations)
        cfg['uncertainty_net']['channels'] = 8
        cfg['train_mc_samples'] = 3
        cfg['transmission_cfg']['kernel_size'] = 5
        cfg.update(kwargs)
        return cfg

    return make


@pytest.fixture(scope='session')
def tiny_fosp_cfg(shipped_model):
    """FoSp (configs/_base_/models/fosp_r50.py or fosp_mit-b3.py) on a tiny
    ResNet-18 or a one-layer MiT, with 4-channel separation networks and an
    8-channel Domain Fusion head, padding to 64x64; ``test_cfg`` keyword
    arguments replace the whole-image inference."""

    def make(backbone='resnet', **test_cfg):
        if backbone == 'resnet':
            cfg = shipped_model('_base_/models/fosp_r50.py')
            cfg['pretrained'] = None
            channels = _shrink_resnet(cfg['backbone'])
        else:
            cfg = shipped_model('_base_/models/fosp_mit-b3.py')
            cfg['backbone'].update(embed_dims=8, num_layers=[1, 1, 1, 1])
            channels = MIT_CHANNELS
        cfg['data_preprocessor']['size'] = (64, 64)
        cfg['neck']['in_channels'] = channels
        cfg['separation']['inpainter']['base_channels'] = 4
        cfg['separation']['matting_channels'] = 4
        cfg['decode_head'].update(
            in_channels=channels,
            channels=8,
            fusion_channels=(8, 8, 8, 8),
            fg_channels=(4, 4, 8, 8))
        if test_cfg:
            cfg['test_cfg'] = test_cfg
        return cfg

    return make
