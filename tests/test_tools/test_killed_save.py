"""A training run SIGKILLed while it writes a checkpoint resumes from the
last complete one.

``tools/train.py`` trains the tiny SegFormer of ``test_resume_equality.py``
on the tiny synthetic set for ``MAX_ITERS`` iterations, a checkpoint every
2 iterations, one kept (``max_keep_ckpts=1``, the CPU demo schedule's).
A small launcher starts the tool with mmengine's local file backend
patched so that the write of ``iter_{KILL_AT}.pth`` stops half-way: half
the bytes are flushed to the disk and the process sends SIGKILL to itself
(a deterministic place for a hard kill inside the write; the patch lives in
this test only).

Two runs are killed that way, side by side:

* the shipped configuration (``AtomicCheckpointHook``): ``last_checkpoint``
  still names the complete ``iter_{KILL_AT - 2}.pth``, nothing truncated
  carries a checkpoint name, and ``--resume`` finishes the run;
* the same run with mmengine's stock ``CheckpointHook``: it deleted
  ``iter_{KILL_AT - 2}.pth`` before writing its successor, so
  ``last_checkpoint`` names a missing file beside a truncated
  ``iter_{KILL_AT}.pth``, and ``--resume`` fails.
"""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = (
    REPO / 'configs' / 'segformer' /
    'segformer_mit-b0_1xb4-800_synthetic-256x256.py')
MAX_ITERS = 8
KILL_AT = 6

LAUNCHER = '''
"""tools/train.py with the write of $KILL_CHECKPOINT cut half-way by a
SIGKILL of this process (test only)."""
import os
import os.path as osp
import runpy
import signal
import sys

from mmengine.fileio import LocalBackend

target = os.environ['KILL_CHECKPOINT']
put = LocalBackend.put


def put_then_die(self, obj, filepath):
    name = osp.basename(str(filepath))
    if name in (target, target + '.incomplete'):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
            os.fsync(f.fileno())
        print(f'KILLED WHILE WRITING {filepath}', flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    put(self, obj, filepath)


LocalBackend.put = put_then_die
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def _options(loader_options: list, tiny_segformer_options: list) -> list:
    return loader_options + tiny_segformer_options + [
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.dataset.pipeline.2.scale=(64,64)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        f'train_cfg.max_iters={MAX_ITERS}',
        f'train_cfg.val_interval={MAX_ITERS + 1}',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1',
        'default_hooks.visualization.draw=False',
    ]


def _train(launcher, work: Path, options: list, *extra) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['KILL_CHECKPOINT'] = f'iter_{KILL_AT}.pth'
    # the launcher runs tools/train.py with runpy, which (unlike `python
    # tools/train.py`) does not put the script's folder on the path, where
    # train.py finds runner_cli.py
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(REPO / 'tools'), env.get('PYTHONPATH')) if p)
    prefix = [str(launcher)] if launcher else []
    return subprocess.Popen([
        sys.executable, *prefix,
        str(REPO / 'tools/train.py'),
        str(CONFIG), '--work-dir',
        str(work), *extra, '--cfg-options', *options
    ],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True,
                            env=env,
                            cwd=REPO)


def _iteration(path: Path) -> int:
    return torch.load(
        path, map_location='cpu', weights_only=True)['meta']['iter']


def _last(work: Path) -> Path:
    return Path((work / 'last_checkpoint').read_text().strip())


def test_run_killed_during_a_checkpoint_write_resumes(tmp_path, tiny_synthetic,
                                                      loader_options,
                                                      tiny_segformer_options):
    launcher = tmp_path / 'kill_during_save.py'
    launcher.write_text(textwrap.dedent(LAUNCHER))
    options = _options(loader_options(tiny_synthetic), tiny_segformer_options)
    stock_options = options + ['default_hooks.checkpoint.type=CheckpointHook']
    atomic_dir, stock_dir = tmp_path / 'atomic', tmp_path / 'stock'

    runs = [
        _train(launcher, atomic_dir, options),
        _train(launcher, stock_dir, stock_options)
    ]
    outs = [run.communicate(timeout=300)[0] for run in runs]
    for run, out in zip(runs, outs):
        assert run.returncode == -9, out[-4000:]  # SIGKILL
        assert 'KILLED WHILE WRITING' in out, out[-4000:]
    name = f'iter_{KILL_AT}.pth'

    # AtomicCheckpointHook: the last complete checkpoint is named, whole.
    previous = atomic_dir / f'iter_{KILL_AT - 2}.pth'
    assert _last(atomic_dir) == previous
    assert _iteration(previous) == KILL_AT - 2
    assert not (atomic_dir / name).exists()  # no truncated file by name
    assert (atomic_dir / f'{name}.incomplete').is_file()

    # CheckpointHook: last_checkpoint names a deleted file, and the
    # truncated one carries the checkpoint name.
    assert _last(stock_dir) == stock_dir / f'iter_{KILL_AT - 2}.pth'
    assert not _last(stock_dir).exists()
    with pytest.raises(Exception):
        _iteration(stock_dir / name)

    runs = [
        _train(None, atomic_dir, options, '--resume'),
        _train(None, stock_dir, stock_options, '--resume')
    ]
    (out, stock_out) = [run.communicate(timeout=300)[0] for run in runs]
    assert runs[0].returncode == 0, out[-4000:]
    assert f'resumed epoch: 0, iter: {KILL_AT - 2}' in out
    first = re.search(r'Iter\(train\) \[\s*(\d+)/', out)
    assert first and int(first.group(1)) == KILL_AT - 1
    assert f'removed {atomic_dir / name}.incomplete' in out
    last = atomic_dir / f'iter_{MAX_ITERS}.pth'
    assert _last(atomic_dir) == last
    assert _iteration(last) == MAX_ITERS
    checkpoints = sorted(p.name for p in atomic_dir.glob('iter_*'))
    assert checkpoints == [last.name]  # max_keep_ckpts=1, nothing left over

    # The stock run cannot resume: the checkpoint it names is gone.
    assert runs[1].returncode != 0, stock_out[-4000:]
    assert (f'FileNotFoundError: {stock_dir}/iter_{KILL_AT - 2}.pth can not '
            'be found') in stock_out, stock_out[-4000:]
