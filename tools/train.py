"""Train a segmentor; the command line of MMSegmentation's ``tools/train.py``.

Example::

    python tools/train.py configs/fosp_r50_smokeseg.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume --amp
    python tools/train.py CONFIG --amp --channels-last
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

# Importable from a plain checkout as well as from an installed package.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        default=False,
        help='train in the channels_last memory format (model weights and '
        'input batches; adds ChannelsLastHook, see docs/gpu.md)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank, older ones --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    # Registers mmsmoke and allow-lists mmengine's checkpoint contents for
    # torch.load(weights_only=True), also for configs without custom_imports.
    import mmsmoke  # noqa: F401

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper == 'AmpOptimWrapper':
            print_log('AMP is already enabled in the config.',
                      logger='current')
        elif wrapper != 'OptimWrapper':
            raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, '
                             f'the config has {wrapper}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.channels_last:
        hooks = list(cfg.get('custom_hooks', None) or [])
        if not any(h.get('type') == 'ChannelsLastHook' for h in hooks):
            hooks.append(dict(type='ChannelsLastHook'))
        cfg.custom_hooks = hooks

    cfg.resume = args.resume

    # Without CUDA, torchrun runs need a gloo group and CPU DDP set up here
    # (mmengine's own set-up calls torch.cuda.set_device).
    from mmsmoke.utils.dist_utils import prepare_cpu_distributed
    prepare_cpu_distributed(cfg, args.launcher)

    if 'runner_type' in cfg:
        from mmseg.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
