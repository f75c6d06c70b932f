"""What ``tools/train.py`` and ``tools/test.py`` share.

The options both take (``--cfg-options``, ``--launcher``,
``--local_rank``), the config they both build from the command line
(``--cfg-options`` merged, the launcher and the work directory set) and
the distributed set-up before the runner is built.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options`` and ``--launcher``."""
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


def parse_with_local_rank(
        parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add ``--local_rank`` last, parse, and export ``LOCAL_RANK``."""
    # torch.distributed.launch passes --local-rank, older ones --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(args: argparse.Namespace) -> Config:
    """``args.config`` with the launcher, ``--cfg-options`` and the work
    directory (``--work-dir``, the config's, or ``./work_dirs/<name>``)."""
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
    return cfg


def prepare_distributed(cfg: Config, launcher: str) -> None:
    """Distributed set-up to do before the runner is built."""
    # Without CUDA, torchrun runs need a gloo group and CPU DDP set up here
    # (mmengine's own set-up calls torch.cuda.set_device).
    from mmsmoke.utils.dist_utils import prepare_cpu_distributed
    prepare_cpu_distributed(cfg, launcher)
