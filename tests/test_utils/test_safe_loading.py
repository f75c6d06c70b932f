"""Checkpoints load with weights_only=True through mmsmoke's allow-list."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer, MessageHub

from mmsmoke.utils.safe_loading import (DataOnlyHistoryBuffer,
                                        allow_mmengine_globals,
                                        data_only_logs,
                                        resave_trusted_checkpoint)


class _Payload:
    """Pickles to a call of ``os.system``: what a tampered file carries."""

    def __reduce__(self):
        return (os.system, ('echo tampered > /dev/null', ))


def _mmengine_like_checkpoint(data_only=True):
    """A checkpoint as the runner builds it; ``data_only`` applies what
    ``AtomicCheckpointHook.before_save_checkpoint`` does."""
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
        message_hub=(data_only_logs(hub.state_dict())
                     if data_only else hub.state_dict()))


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


def test_plain_mmengine_checkpoint_refused_then_resaved(tmp_path):
    """A checkpoint pickled by plain mmengine carries ``getattr``."""
    allow_mmengine_globals()
    plain = tmp_path / 'plain.pth'
    torch.save(_mmengine_like_checkpoint(data_only=False), plain)
    with pytest.raises(Exception, match='getattr'):
        torch.load(plain, weights_only=True)
    fixed = tmp_path / 'fixed.pth'
    resave_trusted_checkpoint(str(plain), str(fixed))
    ckpt = torch.load(fixed, weights_only=True)
    assert ckpt['meta']['iter'] == 7
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == 0.375


def test_data_only_logs_copy_and_leave_mmengine_alone():
    allow_mmengine_globals()
    # nothing of mmengine's class is replaced
    assert 'DataOnlyHistoryBuffer' not in repr(HistoryBuffer.__getstate__)
    buffer = HistoryBuffer([1.0, 3.0], [1, 1], max_length=5)
    state = dict(log_scalars=dict(loss=buffer), runtime_info=dict(iter=2))
    copy = data_only_logs(state)
    assert copy['runtime_info'] == dict(iter=2)
    assert state['log_scalars']['loss'] is buffer  # the input is untouched
    new = copy['log_scalars']['loss']
    assert type(new) is DataOnlyHistoryBuffer and new.max_length == 5
    np.testing.assert_array_equal(new.data[0], [1.0, 3.0])
    assert new.mean() == 2.0 and new.current() == 3.0
    assert 'statistics_methods' not in new.__getstate__()
    # pickled as mmengine's class: the file names no getattr and no mmsmoke
    import pickle
    data = pickle.dumps(new, protocol=2)
    assert b'getattr' not in data and b'mmsmoke' not in data
    back = pickle.loads(data)
    assert type(back) is HistoryBuffer and back.mean() == 2.0
    assert back.max_length == 5
    assert data_only_logs(copy)['log_scalars']['loss'] is new
    assert data_only_logs(dict(runtime_info={})) == dict(runtime_info={})
