"""``tools/dist_train.sh`` with 2 processes on the CPU (gloo).

Trains the light FoSp config for 3 iterations on the tiny synthetic set
with two torchrun processes, as a user would on a machine without GPUs:
the configs ask for nccl, and ``tools/train.py`` switches to gloo and to
DDP without ``device_ids`` when no CUDA device is present
(``mmsmoke.utils.dist_utils.prepare_cpu_distributed``). DDP without
``find_unused_parameters`` would fail on the second iteration if a
parameter took no part in the loss. The end-of-training validation gathers
the metric results of both ranks.
"""
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/fosp/fosp_mit-b0_1xb4-800_synthetic-256x256.py'
ITERS = 3
SIZE = 64


def _torchrun_available() -> bool:
    return (importlib.util.find_spec('torch.distributed.run') is not None
            and torch.distributed.is_available()
            and torch.distributed.is_gloo_available())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _options(data_root: Path) -> list:
    opts = []
    for loader in ('train', 'val', 'test'):
        opts += [
            f'{loader}_dataloader.dataset.data_root={data_root}',
            f'{loader}_dataloader.num_workers=0',
            f'{loader}_dataloader.persistent_workers=False',
        ]
    return opts + [
        'train_dataloader.batch_size=2',
        f'train_dataloader.dataset.pipeline.2.scale=({SIZE},{SIZE})',
        f'train_dataloader.dataset.pipeline.3.crop_size=({SIZE},{SIZE})',
        f'val_dataloader.dataset.pipeline.1.scale=({SIZE},{SIZE})',
        f'test_dataloader.dataset.pipeline.1.scale=({SIZE},{SIZE})',
        f'model.data_preprocessor.size=({SIZE},{SIZE})',
        f'train_cfg.max_iters={ITERS}',
        f'train_cfg.val_interval={ITERS}',
        f'default_hooks.checkpoint.interval={ITERS}',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
    ]


@pytest.mark.skipif(
    not _torchrun_available(), reason='torchrun or gloo is unavailable')
def test_two_cpu_processes_train_and_save_a_loadable_checkpoint(
        tmp_path, tiny_synthetic):
    work = tmp_path / 'work'
    logs = tmp_path / 'torchrun'
    env = dict(os.environ)
    env.update(
        PYTHON=sys.executable,
        PORT=str(_free_port()),
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        # torchrun options as variables: one log folder per rank
        PET_LOG_DIR=str(logs),
        PET_TEE='3')
    env.pop('CUDA_VISIBLE_DEVICES', None)
    run = subprocess.run([
        'bash',
        str(REPO / 'tools/dist_train.sh'),
        str(CONFIG), '2', '--work-dir',
        str(work), '--cfg-options', *_options(tiny_synthetic)
    ],
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT,
                         text=True,
                         env=env,
                         cwd=REPO,
                         timeout=420)
    assert run.returncode == 0, run.stdout[-6000:]

    # both ranks ran: torchrun wrote one stdout/stderr pair per rank
    rank_logs = {}
    for rank in (0, 1):
        files = sorted(logs.glob(f'*/attempt_0/{rank}/std*.log'))
        assert len(files) == 2, (rank, sorted(logs.rglob('*')))
        rank_logs[rank] = ''.join(f.read_text() for f in files)
        # the nccl of the config was replaced on this rank
        assert 'using the gloo backend instead of nccl' in rank_logs[rank]
    main = rank_logs[0]
    assert 'Distributed training: True' in main
    assert 'GPU number: 2' in main  # mmengine's name for the world size
    assert f'Iter(train) [{ITERS}/{ITERS}]' in main
    assert 'Iter(val)' in main and 'Fbeta_max' in main
    assert 'Traceback' not in rank_logs[1], rank_logs[1][-3000:]

    ckpt = work / f'iter_{ITERS}.pth'
    assert ckpt.exists()
    assert (work / 'last_checkpoint').read_text().strip().endswith(ckpt.name)

    # the checkpoint loads with torch's safe loader into the config's model
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS

    import mmsmoke  # noqa: F401  (allow-lists mmengine's checkpoint types)
    state = torch.load(str(ckpt), map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == ITERS
    assert not any(k.startswith('module.') for k in state['state_dict'])
    model = MODELS.build(Config.fromfile(str(CONFIG)).model)
    load_checkpoint(model, str(ckpt), map_location='cpu', strict=True)
    loaded = model.state_dict()
    for key, value in state['state_dict'].items():
        assert torch.equal(loaded[key], value), key
