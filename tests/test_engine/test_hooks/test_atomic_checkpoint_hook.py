"""AtomicCheckpointHook on a real mmengine Runner with a toy model.

A save is interrupted in-process at each of its writes (a ``BaseException``
raised half-way through the write, which no code catches: the in-process
stand-in for a kill; ``tests/test_tools/test_killed_save.py`` sends a real
SIGKILL to ``tools/train.py``). After every interruption ``last_checkpoint``
must name a complete checkpoint and ``--resume`` must finish the run; the
stock ``CheckpointHook`` is shown to fail the same interruptions.

The schedule: 6 iterations, a checkpoint and a validation every 2, one
checkpoint kept (``max_keep_ckpts=1``), the best ``acc`` kept
(validation scores 0.5, 0.7, 0.6: best at iteration 4) and published.
"""
import itertools
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmsmoke.engine.hooks import AtomicCheckpointHook
from mmsmoke.engine.hooks import atomic_checkpoint_hook as module

SCORES = (0.5, 0.7, 0.6)  # validation after iterations 2, 4, 6
_names = itertools.count()


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        if mode == 'predict':
            return list(out)
        return out


class ScriptedMetric(BaseMetric):
    """Reports the next of ``SCORES`` (cycling) as ``acc``."""

    def __init__(self):
        super().__init__()
        self.scores = itertools.cycle(SCORES)

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(acc=next(self.scores))


class Killed(BaseException):
    """Stands for SIGKILL: nothing catches it, nothing is cleaned up."""


def _runner(work_dir, hook_type, resume=False, val_offset=0):
    """A runner of the schedule above; ``val_offset`` skips scores (the
    resumed run validates from iteration ``2 * (val_offset + 1)`` on)."""
    data = [dict(inputs=torch.full((2, ), float(i))) for i in range(4)]
    # An infinite sampler: mmengine's loop sleeps 2 s at each epoch end.
    loader = dict(
        dataset=data,
        sampler=dict(type='InfiniteSampler', shuffle=False),
        batch_size=2,
        num_workers=0)
    metric = ScriptedMetric()
    for _ in range(val_offset):
        next(metric.scores)
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=loader,
        val_dataloader=dict(
            loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=Evaluator([metric]),
        val_cfg=dict(),
        train_cfg=dict(by_epoch=False, max_iters=6, val_interval=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(
                type=hook_type,
                by_epoch=False,
                interval=2,
                max_keep_ckpts=1,
                save_best='acc',
                rule='greater',
                published_keys=['meta', 'state_dict'])),
        resume=resume,
        default_scope='mmseg',
        experiment_name=f'atomic_ckpt_{next(_names)}')


def _files(work_dir):
    """Names in ``work_dir`` (no log folders), published hashes masked."""
    return sorted(
        re.sub(r'-[0-9a-f]{8}\.pth$', '-<sha>.pth', name)
        for name in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, name)) and not name.endswith('.py'))


def _last(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def _iteration(path):
    return torch.load(
        path, map_location='cpu', weights_only=False)['meta']['iter']


def _kill_at_put(monkeypatch, name, occurrence):
    """Make the ``occurrence``-th write of checkpoint ``name`` (under its
    own or its ``.incomplete`` name) stop half-way."""
    put, seen = LocalBackend.put, []

    def interrupted_put(self, obj, filepath):
        base = osp.basename(str(filepath))
        if base.replace(module.INCOMPLETE_SUFFIX, '') == name:
            seen.append(base)
            if len(seen) == occurrence:
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                raise Killed(base)
        put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', interrupted_put)


def _train_stock(work_dir, monkeypatch):
    """A run with mmengine's ``CheckpointHook``. Its checkpoints name
    ``getattr`` (mmengine's log buffers), which ``torch.load`` refuses by
    default, and it reloads its own checkpoint to publish it: the run
    unpickles fully, as plain mmengine on torch >= 2.6 needs."""
    with monkeypatch.context() as patch:
        patch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
        runner = _runner(work_dir, CheckpointHook)
        runner.train()
    return runner


def test_same_files_as_checkpoint_hook(tmp_path, monkeypatch):
    """Uninterrupted, the two hooks leave the same files."""
    for hook_type in (CheckpointHook, AtomicCheckpointHook):
        work_dir = tmp_path / hook_type.__name__
        if hook_type is CheckpointHook:
            runner = _train_stock(work_dir, monkeypatch)
        else:
            runner = _runner(work_dir, hook_type)
            runner.train()
        assert _last(work_dir) == str(work_dir / 'iter_6.pth')
        assert runner.message_hub.get_info('best_score') == 0.7
    stock = _files(tmp_path / 'CheckpointHook')
    assert stock == _files(tmp_path / 'AtomicCheckpointHook')
    assert stock == [
        'best_acc_iter_4-<sha>.pth', 'best_acc_iter_4.pth', 'iter_6-<sha>.pth',
        'iter_6.pth', 'last_checkpoint'
    ]
    published = [
        name for name in os.listdir(tmp_path / 'AtomicCheckpointHook')
        if re.fullmatch(r'iter_6-[0-9a-f]{8}\.pth', name)
    ]
    ckpt = torch.load(
        tmp_path / 'AtomicCheckpointHook' / published[0], weights_only=False)
    assert sorted(ckpt) == ['meta', 'state_dict']


def test_its_checkpoints_load_with_weights_only(tmp_path, monkeypatch):
    """The runner's log buffers are saved data-only; the stock hook's name
    ``getattr`` and are refused by ``torch.load(weights_only=True)``."""
    _train_stock(tmp_path / 'CheckpointHook', monkeypatch)
    _runner(tmp_path / 'AtomicCheckpointHook', AtomicCheckpointHook).train()
    ours = torch.load(
        tmp_path / 'AtomicCheckpointHook' / 'iter_6.pth', weights_only=True)
    loss = ours['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer) and len(loss.data[0]) == 6
    assert loss.mean() == pytest.approx(float(loss.data[0].mean()))
    with pytest.raises(Exception, match='getattr'):
        torch.load(
            tmp_path / 'CheckpointHook' / 'iter_6.pth', weights_only=True)
    # a resumed run reads them back
    runner = _runner(
        tmp_path / 'AtomicCheckpointHook', AtomicCheckpointHook, resume=True)
    runner.load_or_resume()
    assert runner.iter == 6


# (checkpoint name, which write of it is interrupted, what last_checkpoint
# names afterwards)
PUT_KILLS = {
    'periodic save dropping iter_2 (max_keep_ckpts)':
    ('iter_4.pth', 1, 'iter_2.pth'),
    'periodic save dropping iter_4 (max_keep_ckpts)':
    ('iter_6.pth', 1, 'iter_4.pth'),
    'new best checkpoint': ('best_acc_iter_4.pth', 1, 'iter_4.pth'),
    'current checkpoint saved again after a better score':
    ('iter_4.pth', 2, 'iter_4.pth'),
}


@pytest.mark.parametrize('kill', sorted(PUT_KILLS))
def test_interrupted_save_keeps_a_complete_last_checkpoint(
        tmp_path, monkeypatch, kill):
    name, occurrence, expected = PUT_KILLS[kill]
    _kill_at_put(monkeypatch, name, occurrence)
    with pytest.raises(Killed):
        _runner(tmp_path, AtomicCheckpointHook).train()
    monkeypatch.undo()

    last = _last(tmp_path)
    assert osp.basename(last) == expected
    step = int(re.search(r'iter_(\d+)', expected).group(1))
    assert _iteration(last) == step  # complete and loadable
    assert (tmp_path / (name + module.INCOMPLETE_SUFFIX)).is_file()
    if name != expected:  # the interrupted file never got its name
        assert not (tmp_path / name).exists()
    if kill == 'new best checkpoint':  # the previous best is still there
        assert (tmp_path / 'best_acc_iter_2.pth').is_file()

    runner = _runner(tmp_path, AtomicCheckpointHook, True, step // 2)
    runner.load_or_resume()
    assert runner.iter == step
    runner.train()
    assert _last(tmp_path) == str(tmp_path / 'iter_6.pth')
    assert _iteration(tmp_path / 'iter_6.pth') == 6
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.incomplete')]
    # The best checkpoint the run records exists and is complete (the
    # validation of the resumed iteration itself is not run again).
    best = runner.message_hub.get_info('best_ckpt')
    assert _iteration(best) == int(re.search(r'iter_(\d+)', best).group(1))


def test_interrupted_last_checkpoint_write_keeps_the_previous(
        tmp_path, monkeypatch):
    """Interrupted while writing ``last_checkpoint`` for iteration 6:
    it still names iteration 4's file, which is not deleted yet."""
    write = module.write_text_atomically

    def interrupted(text, path):
        if text.endswith('iter_6.pth'):
            with open(path + module.INCOMPLETE_SUFFIX, 'w') as f:
                f.write(text[:5])
            raise Killed(path)
        write(text, path)

    monkeypatch.setattr(module, 'write_text_atomically', interrupted)
    with pytest.raises(Killed):
        _runner(tmp_path, AtomicCheckpointHook).train()
    assert _last(tmp_path) == str(tmp_path / 'iter_4.pth')
    assert _iteration(tmp_path / 'iter_4.pth') == 4
    assert _iteration(tmp_path / 'iter_6.pth') == 6  # complete, not named


@pytest.mark.parametrize('kill', [
    'periodic save dropping iter_4 (max_keep_ckpts)',
    'current checkpoint saved again after a better score'
])
def test_checkpoint_hook_loses_the_last_checkpoint(tmp_path, monkeypatch,
                                                   kill):
    """Why the hook exists: the stock hook, interrupted the same way,
    leaves ``last_checkpoint`` naming a deleted or a truncated file."""
    name, occurrence, expected = PUT_KILLS[kill]
    _kill_at_put(monkeypatch, name, occurrence)
    with pytest.raises(Killed):
        _runner(tmp_path, CheckpointHook).train()
    last = _last(tmp_path)
    assert osp.basename(last) == expected
    if name == expected:  # rewritten in place: truncated
        with pytest.raises(Exception):
            _iteration(last)
    else:  # deleted before its successor was written
        assert not osp.exists(last)
        assert (tmp_path / name).is_file()  # the truncated successor


def test_stale_incomplete_files_are_removed_on_start(tmp_path):
    (tmp_path / 'iter_8.pth.incomplete').write_bytes(b'PK\x03')
    (tmp_path / 'notes.txt').write_text('kept')
    _runner(tmp_path, AtomicCheckpointHook).train()
    assert not (tmp_path / 'iter_8.pth.incomplete').exists()
    assert (tmp_path / 'notes.txt').read_text() == 'kept'


def test_write_text_atomically_replaces_whole(tmp_path):
    path = str(tmp_path / 'last_checkpoint')
    module.write_text_atomically('/a/iter_2.pth', path)
    module.write_text_atomically('/a/iter_4.pth', path)
    assert open(path).read() == '/a/iter_4.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint']
