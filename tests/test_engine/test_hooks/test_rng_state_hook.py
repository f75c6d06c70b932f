"""RNGStateHook: the torch random stream continues across a resume."""
import io
from types import SimpleNamespace

import torch

from mmsmoke.engine.hooks import RNGStateHook


def _runner(iteration):
    return SimpleNamespace(iter=iteration, cfg=dict(randomness=dict(seed=0)))


def _save_at(iteration):
    """What an unbroken run has: a checkpoint and the draws that follow."""
    torch.manual_seed(0)
    torch.rand(7)  # iterations before the checkpoint draw something
    ckpt = dict(meta=dict(iter=iteration))
    RNGStateHook().before_save_checkpoint(_runner(iteration - 1), ckpt)
    return ckpt, torch.rand(5)


def test_resume_continues_the_stream_and_loads_weights_only():
    ckpt, expected = _save_at(4)
    assert ckpt['rng_state']['iter'] == 4
    # The checkpoint holds data only: it round-trips with weights_only.
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)

    torch.manual_seed(0)  # what mmengine's resume does
    hook = RNGStateHook()
    hook.after_load_checkpoint(_runner(0), ckpt)
    hook.before_train(_runner(4))
    assert torch.equal(torch.rand(5), expected)


def test_load_from_and_mismatched_checkpoints_are_ignored():
    ckpt, expected = _save_at(4)
    for iteration in (0, 6):  # load_from (fine-tuning) / another iteration
        torch.manual_seed(0)
        fresh = torch.rand(5)
        torch.manual_seed(0)
        hook = RNGStateHook()
        hook.after_load_checkpoint(_runner(0), ckpt)
        hook.before_train(_runner(iteration))
        assert torch.equal(torch.rand(5), fresh)
        assert not torch.equal(fresh, expected)


def test_checkpoint_without_state_is_ignored():
    torch.manual_seed(3)
    fresh = torch.rand(3)
    torch.manual_seed(3)
    hook = RNGStateHook()
    hook.after_load_checkpoint(_runner(0), dict(meta=dict(iter=4)))
    hook.before_train(_runner(4))
    assert torch.equal(torch.rand(3), fresh)
