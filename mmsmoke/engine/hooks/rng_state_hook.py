"""Save torch's random state in checkpoints and restore it on ``--resume``.
"""
import logging
from typing import Optional

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmseg.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make a resumed run draw the same random numbers as an unbroken one.

    mmengine's ``--resume`` restores the weights, the optimizer, the
    schedulers and the iteration, and replays the dataloader up to that
    iteration, so the sampler and the numpy-based augmentations produce the
    same batches. It does not restore the global torch generator: the
    resumed run re-seeds it and then draws from the seed's start, while the
    unbroken run draws from where iteration ``k`` left it. Every module that
    draws from it in training (dropout, drop-path, the latent sample and the
    MC dropout of Transmission-BVM) then differs after a resume.

    This hook stores the state of the torch CPU generator (and of the
    current CUDA device's generator, when CUDA is initialised) in every
    checkpoint under ``'rng_state'``, as tensors and integers, so the file
    still loads with ``torch.load(weights_only=True)``. When a run resumes
    from such a checkpoint, the state is put back at ``before_train``,
    after mmengine has re-seeded and before the dataloader is replayed.
    The replay uses numpy's and Python's generators, which the re-seed
    already puts back in step, so those two are left alone. A checkpoint
    loaded with ``load_from`` (fine-tuning, iteration 0) is ignored.

    Under distributed training only rank 0 writes the checkpoint; its
    state is restored on every rank when the ranks share one seed
    (``randomness.diff_rank_seed=False``, the default) and skipped with a
    warning otherwise.

    Example::

        custom_hooks = [dict(type='RNGStateHook')]
    """

    priority = 'VERY_LOW'
    KEY = 'rng_state'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the generator states to a checkpoint being saved."""
        # The iteration the checkpoint resumes at (meta['iter']), which is
        # runner.iter + 1 while CheckpointHook runs after an iteration.
        state = dict(
            iter=int(checkpoint.get('meta', {}).get('iter', runner.iter)),
            world_size=int(get_world_size()),
            torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state()
        checkpoint[self.KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the saved states until the training loop starts."""
        self._pending = checkpoint.get(self.KEY)

    def before_train(self, runner) -> None:
        """Restore the generators when this run resumed a checkpoint."""
        state, self._pending = self._pending, None
        if state is None or runner.iter == 0:
            return
        if int(state['iter']) != runner.iter:
            print_log(
                f'RNGStateHook: the checkpoint random state is from '
                f'iteration {state["iter"]}, the run resumes at '
                f'{runner.iter}; not restored.',
                logger='current',
                level=logging.WARNING)
            return
        diff_rank_seed = runner.cfg.get('randomness',
                                        {}).get('diff_rank_seed', False)
        if get_world_size() > 1 and diff_rank_seed:
            print_log(
                'RNGStateHook: ranks have their own seeds '
                '(diff_rank_seed=True) and the checkpoint holds rank 0\'s '
                'state only; not restored.',
                logger='current',
                level=logging.WARNING)
            return
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state(state['cuda'])
        print_log(
            f'RNGStateHook: restored the torch random state of iteration '
            f'{runner.iter}.',
            logger='current')
