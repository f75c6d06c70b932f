"""A training run killed with SIGKILL and resumed ends where an uninterrupted
run ends: same iteration count, bit-identical weights and optimizer state.

Three ``tools/train.py`` processes on the tiny synthetic set and a tiny
SegFormer (dropout 0.1 in its head, so the global torch generator matters),
with ``randomness=dict(seed=0, deterministic=True)`` and mmsmoke's
``RNGStateHook`` (without it, mmengine re-seeds torch's generator on resume
and the dropout masks after the resume differ from the unbroken run's):

1. the reference run, ``MAX_ITERS`` iterations without interruption;
2. the same run with a hook that sends SIGKILL to its own process right
   after the checkpoint of iteration ``KILL_AT`` is written (a deterministic
   place for a hard kill: no cleanup, no ``finally``);
3. ``--resume`` in the killed run's work dir.

The checkpoints are read with ``TORCH_FORCE_WEIGHTS_ONLY_LOAD=1`` (nothing
may unpickle with ``weights_only=False``) through mmsmoke's allow-list.
"""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = (
    REPO / 'configs' / 'segformer' /
    'segformer_mit-b0_1xb4-800_synthetic-256x256.py')
MAX_ITERS = 8
KILL_AT = 4

KILL_HOOK = '''
import os
import signal

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class SigkillAfterCheckpointHook(Hook):
    """SIGKILL this process after iteration ``iteration`` is saved."""

    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW)

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def _options(loader_options: list, tiny_segformer_options: list) -> list:
    """The tiny SegFormer on 64x64 crops, checkpoints every 2 iterations."""
    return loader_options + tiny_segformer_options + [
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.dataset.pipeline.2.scale=(64,64)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'model.decode_head.dropout_ratio=0.1',
        f'train_cfg.max_iters={MAX_ITERS}',
        f'train_cfg.val_interval={MAX_ITERS + 1}',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1',
        'default_hooks.visualization.draw=False',
        'randomness.seed=0',
        'randomness.deterministic=True',
    ]


def _env(extra_path: Path) -> dict:
    env = dict(os.environ)
    env['OMP_NUM_THREADS'] = '1'
    env['MKL_NUM_THREADS'] = '1'
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] = '1'
    env['PYTHONPATH'] = os.pathsep.join(
        [str(extra_path), env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    return env


def _train(config: Path, work: Path, options: list, env: dict,
           *extra) -> subprocess.Popen:
    return subprocess.Popen([
        sys.executable,
        str(REPO / 'tools/train.py'),
        str(config), '--work-dir',
        str(work), *extra, '--cfg-options', *options
    ],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True,
                            env=env,
                            cwd=REPO)


def _load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def test_sigkilled_run_resumes_to_identical_weights(tmp_path, tiny_synthetic,
                                                    loader_options,
                                                    tiny_segformer_options):
    plugins = tmp_path / 'plugins'
    plugins.mkdir()
    (plugins / 'sigkill_hook_for_tests.py').write_text(KILL_HOOK)
    config = tmp_path / 'with_rng_state.py'
    config.write_text(
        textwrap.dedent(f'''
        _base_ = [{str(CONFIG)!r}]
        custom_hooks = [dict(type='RNGStateHook')]
    '''))
    killing = tmp_path / 'killed_config.py'
    killing.write_text(
        textwrap.dedent(f'''
        _base_ = [{str(CONFIG)!r}]
        custom_imports = dict(
            imports=['mmsmoke', 'sigkill_hook_for_tests'],
            allow_failed_imports=False)
        custom_hooks = [
            dict(type='RNGStateHook'),
            dict(type='SigkillAfterCheckpointHook', iteration={KILL_AT})
        ]
    '''))
    env = _env(plugins)
    options = _options(loader_options(tiny_synthetic), tiny_segformer_options)
    ref_dir, run_dir = tmp_path / 'reference', tmp_path / 'interrupted'
    # The reference and the doomed run are independent: run them together.
    ref = _train(config, ref_dir, options, env)
    doomed = _train(killing, run_dir, options, env)
    ref_out, _ = ref.communicate(timeout=300)
    doomed_out, _ = doomed.communicate(timeout=300)
    assert ref.returncode == 0, ref_out[-4000:]
    assert doomed.returncode == -9, doomed_out[-4000:]  # SIGKILL
    assert (
        run_dir /
        'last_checkpoint').read_text().strip().endswith(f'iter_{KILL_AT}.pth')
    assert not (run_dir / f'iter_{KILL_AT + 2}.pth').exists()

    resumed = _train(config, run_dir, options, env, '--resume')
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out[-4000:]
    assert f'resumed epoch: 0, iter: {KILL_AT}' in out
    assert f'restored the torch random state of iteration {KILL_AT}' in out
    first = re.search(r'Iter\(train\) \[\s*(\d+)/', out)
    assert first and int(first.group(1)) == KILL_AT + 1

    ref_ckpt = _load(ref_dir / f'iter_{MAX_ITERS}.pth')
    run_ckpt = _load(run_dir / f'iter_{MAX_ITERS}.pth')
    assert ref_ckpt['meta']['iter'] == run_ckpt['meta']['iter'] == MAX_ITERS
    ref_sd, run_sd = ref_ckpt['state_dict'], run_ckpt['state_dict']
    assert ref_sd.keys() == run_sd.keys()
    differ = [k for k in ref_sd if not torch.equal(ref_sd[k], run_sd[k])]
    assert differ == [], f'{len(differ)} tensors differ, e.g. {differ[:5]}'
    # The runs did train: the weights moved away from iteration 2's.
    early = _load(ref_dir / 'iter_2.pth')['state_dict']
    assert any(not torch.equal(early[k], ref_sd[k]) for k in ref_sd)
    # The optimizer state resumes too (AdamW moments and step counts).
    ref_opt, run_opt = ref_ckpt['optimizer'], run_ckpt['optimizer']
    for key, state in ref_opt['state'].items():
        for name, value in state.items():
            assert torch.equal(value, run_opt['state'][key][name]), name
