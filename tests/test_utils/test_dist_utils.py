"""CPU set-up of distributed runs (``prepare_cpu_distributed``)."""
import socket

import pytest
import torch.distributed as torch_dist
from mmengine.config import Config

from mmsmoke.utils.dist_utils import prepare_cpu_distributed

TORCHRUN_ENV = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                'MASTER_PORT')


def _cfg(**extra) -> Config:
    return Config(
        dict(env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)), **extra))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def single_process_env(monkeypatch):
    """The variables torchrun sets, for a world of one process."""
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(_free_port()))
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_nothing_to_do_without_launcher_or_with_cuda():
    cfg = _cfg()
    assert not prepare_cpu_distributed(cfg, 'none', cuda_available=False)
    assert not prepare_cpu_distributed(cfg, 'pytorch', cuda_available=True)
    assert 'model_wrapper_cfg' not in cfg
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert not torch_dist.is_initialized()


def test_other_launchers_on_cpu_are_refused_with_the_fix():
    with pytest.raises(ValueError, match='--launcher pytorch'):
        prepare_cpu_distributed(_cfg(), 'slurm', cuda_available=False)


def test_missing_torchrun_variables_are_named(monkeypatch):
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match='MASTER_PORT'):
        prepare_cpu_distributed(_cfg(), 'pytorch', cuda_available=False)


def test_gloo_group_and_cpu_ddp_wrapper(single_process_env):
    cfg = _cfg(find_unused_parameters=False)
    assert prepare_cpu_distributed(cfg, 'pytorch', cuda_available=False)
    assert torch_dist.is_initialized()
    assert torch_dist.get_backend() == 'gloo'
    assert torch_dist.get_world_size() == 1
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.broadcast_buffers is False
    # a second call (the group exists) leaves everything alone
    assert not prepare_cpu_distributed(cfg, 'pytorch', cuda_available=False)


def test_a_configured_ddp_wrapper_only_loses_device_ids(single_process_env):
    cfg = _cfg(
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', find_unused_parameters=True))
    assert prepare_cpu_distributed(cfg, 'pytorch', cuda_available=False)
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
