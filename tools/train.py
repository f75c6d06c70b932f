"""Train a segmentor; the command line of MMSegmentation's ``tools/train.py``.

Example::

    python tools/train.py configs/fosp_r50_smokeseg.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume --amp
    python tools/train.py CONFIG --amp --channels-last
"""
import argparse

from mmengine.logging import print_log
from mmengine.runner import Runner

import runner_cli


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
    runner_cli.add_config_arguments(parser)
    return runner_cli.parse_with_local_rank(parser)


def main() -> None:
    args = parse_args()
    cfg = runner_cli.load_config(args)

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

    runner_cli.prepare_distributed(cfg, args.launcher)

    if 'runner_type' in cfg:
        from mmseg.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
