"""``mmsmoke.apis.build_model``: the one way a config becomes a model."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmsmoke.apis import build_model, init_model, load_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-'
             '256x256.py')
TINY = {
    'model.backbone.embed_dims': 8,
    'model.backbone.num_heads': [1, 1, 1, 1],
    'model.decode_head.in_channels': [8, 8, 8, 8],
    'model.decode_head.channels': 8,
}

pytestmark = pytest.mark.usefixtures('one_thread')


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_offline_eval_mode_meta_and_config_untouched(tmp_path):
    cfg = Config.fromfile(CONFIG)
    # a pretrained source that does not exist: it must not be read
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=str(tmp_path / 'absent.pth'))
    model = build_model(cfg, device='cpu', cfg_options=TINY,
                        init_weights=True)
    assert not model.training
    assert model.dataset_meta['classes'] == ('background', 'smoke')
    assert model.cfg.model.backbone.init_cfg is None
    assert model.cfg.model.backbone.embed_dims == 8
    # the caller's config is not modified
    assert cfg.model.backbone.init_cfg['type'] == 'Pretrained'
    assert cfg.model.backbone.embed_dims != 8
    assert next(model.parameters()).device.type == 'cpu'


def test_init_weights_from_a_seed_is_reproducible():
    torch.manual_seed(3)
    a = _state(build_model(CONFIG, device='cpu', cfg_options=TINY,
                           init_weights=True))
    torch.manual_seed(3)
    b = _state(build_model(CONFIG, device='cpu', cfg_options=TINY,
                           init_weights=True))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_round_trip_and_clear_errors(tmp_path):
    torch.manual_seed(0)
    model = build_model(CONFIG, device='cpu', cfg_options=TINY)
    ckpt = tmp_path / 'w.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('bg', 'plume')))),
               ckpt)
    torch.manual_seed(1)
    again = build_model(CONFIG, str(ckpt), 'cpu', TINY, strict=True)
    assert all(
        torch.equal(v, again.state_dict()[k])
        for k, v in model.state_dict().items())
    assert again.dataset_meta['classes'] == ('bg', 'plume')
    with pytest.raises(FileNotFoundError, match='absent.pth: checkpoint'):
        build_model(CONFIG, str(tmp_path / 'absent.pth'), 'cpu', TINY)
    with pytest.raises(FileNotFoundError, match='nope.py: config file'):
        build_model(str(tmp_path / 'nope.py'))
    # a checkpoint of another width: the strict error names both files
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    wider = dict(TINY, **{'model.decode_head.channels': 16})
    with pytest.raises(RuntimeError, match=r'w\.pth does not fit .*segformer'):
        build_model(CONFIG, str(ckpt), 'cpu', wider, strict=True)


def test_init_model_drops_the_train_cfg():
    model = init_model(CONFIG, device='cpu', cfg_options=TINY)
    assert model.cfg.model.train_cfg is None
    assert load_config(CONFIG).model.train_cfg == {}
    assert build_model(CONFIG, device='cpu',
                       cfg_options=TINY).cfg.model.train_cfg == {}
