"""Distributed runs on machines without CUDA (CPU nodes, CI)."""
import datetime
import os
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

#: Variables ``torchrun`` (``tools/dist_train.sh``) sets in every process.
TORCHRUN_VARIABLES = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                      'MASTER_PORT')


def prepare_cpu_distributed(cfg: Config,
                            launcher: str,
                            cuda_available: Optional[bool] = None) -> bool:
    """Set up a distributed run by hand when there is no CUDA device.

    mmengine 0.10.7 cannot start a distributed run without a GPU: every
    launcher first calls ``torch.cuda.set_device(local_rank)`` (which
    raises on a machine without a driver), and the runner wraps the model
    in ``DistributedDataParallel`` with ``device_ids=[local_rank]`` (which
    DDP refuses for a module on the CPU). Called before the runner is
    built, this function

    1. creates the default process group itself, with the **gloo**
       backend (nccl needs GPUs; a configured ``nccl`` is replaced with a
       log line, any other backend is kept), from the variables torchrun
       sets (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``)
       and with ``env_cfg.dist_cfg.timeout`` (seconds) if set; the runner
       then finds the group initialised and skips its own set-up;
    2. sets ``model_wrapper_cfg`` so that DDP gets ``device_ids=None``
       (the runner's defaults are kept: ``broadcast_buffers=False`` and
       the config's ``find_unused_parameters``).

    It does nothing with ``launcher='none'``, when CUDA is available, or
    when a process group already exists.

    Args:
        cfg (Config): The run's config; ``model_wrapper_cfg`` is edited in
            place.
        launcher (str): The ``--launcher`` of the tool.
        cuda_available (bool, optional): Override of
            ``torch.cuda.is_available()`` (for tests).

    Returns:
        bool: True if this function created the process group.

    Raises:
        ValueError: For a CPU run with a launcher other than ``pytorch``,
            or when a torchrun variable is missing.
    """
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if launcher == 'none' or cuda_available:
        return False
    if torch_dist.is_available() and torch_dist.is_initialized():
        return False
    if launcher != 'pytorch':
        raise ValueError(
            f'distributed runs without CUDA need --launcher pytorch '
            f'(tools/dist_train.sh, tools/dist_test.sh), got {launcher!r}: '
            'mmengine initialises the other launchers with '
            'torch.cuda.set_device')
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ValueError(
            f'--launcher pytorch needs the variables torchrun sets; missing '
            f'{missing}. Start the run with tools/dist_train.sh.')

    env_cfg = cfg.get('env_cfg', None) or {}
    dist_cfg = dict(env_cfg.get('dist_cfg', None) or {})
    backend = dist_cfg.pop('backend', 'gloo')
    if backend == 'nccl':
        print_log(
            'No CUDA device: using the gloo backend instead of nccl.',
            logger='current')
        backend = 'gloo'
        if cfg.get('env_cfg', None) is not None and cfg.env_cfg.get(
                'dist_cfg', None) is not None:
            cfg.env_cfg.dist_cfg.backend = backend  # logged by the runner
    kwargs = {}
    timeout = dist_cfg.pop('timeout', None)
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(
        backend=backend,
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        **kwargs)

    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:
        wrapper_cls = MODEL_WRAPPERS.get(
            wrapper.get('type', 'MMDistributedDataParallel'))
        if isinstance(wrapper_cls, type) and issubclass(
                wrapper_cls, DistributedDataParallel):
            wrapper.setdefault('device_ids', None)
    return True
