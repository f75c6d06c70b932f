"""Checkpoints load with weights_only=True through mmsmoke's allow-list."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer, MessageHub

from mmsmoke.utils.safe_loading import allow_mmengine_globals


class _Payload:
    """Pickles to a call of ``os.system``: what a tampered file carries."""

    def __reduce__(self):
        return (os.system, ('echo tampered > /dev/null', ))


def _mmengine_like_checkpoint():
    hub = MessageHub.get_instance('safe_loading_test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float32(0.25))
    hub.update_info('iter', 7)
    hub.update_info('seed', np.int64(3))
    return dict(
        meta=dict(
            iter=7,
            dataset_meta=dict(classes=('background', 'smoke')),
            cfg=ConfigDict(a=1),
            hist=np.arange(3, dtype=np.float64)),
        state_dict=dict(w=torch.ones(2)),
        message_hub=hub.state_dict())


def test_weights_only_is_the_default_here():
    # The point of the allow-list: this torch refuses unknown globals.
    from packaging.version import parse
    assert parse(torch.__version__).release >= (2, 6)


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    assert allow_mmengine_globals()
    path = tmp_path / 'ckpt.pth'
    torch.save(_mmengine_like_checkpoint(), path)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['meta']['iter'] == 7
    buffers = ckpt['message_hub']['log_scalars']
    assert isinstance(buffers['train/loss'], HistoryBuffer)
    np.testing.assert_allclose(buffers['train/loss'].data[0], [0.5, 0.25])
    # mmengine's own loader (no weights_only argument) uses the default.
    from mmengine.runner import CheckpointLoader
    again = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert again['meta']['dataset_meta']['classes'] == ('background',
                                                        'smoke')


def test_pickled_callable_is_refused(tmp_path):
    allow_mmengine_globals()
    path = tmp_path / 'tampered.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1)), evil=_Payload()), path)
    with pytest.raises(Exception, match='(?i)weights.only|unsupported'):
        torch.load(path, weights_only=True)
    from mmengine.runner import CheckpointLoader
    with pytest.raises(Exception, match='(?i)weights.only|unsupported'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_plain_mmengine_checkpoint_refused_then_resaved(tmp_path,
                                                       monkeypatch):
    """A checkpoint pickled by plain mmengine carries ``getattr``."""
    from mmsmoke.utils import safe_loading
    allow_mmengine_globals()
    monkeypatch.setattr(HistoryBuffer, '__getstate__',
                        safe_loading.MMENGINE_HISTORY_GETSTATE)
    plain = tmp_path / 'plain.pth'
    torch.save(_mmengine_like_checkpoint(), plain)
    monkeypatch.undo()
    with pytest.raises(Exception, match='getattr'):
        torch.load(plain, weights_only=True)
    fixed = tmp_path / 'fixed.pth'
    safe_loading.resave_trusted_checkpoint(str(plain), str(fixed))
    ckpt = torch.load(fixed, weights_only=True)
    assert ckpt['meta']['iter'] == 7
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == 0.375
