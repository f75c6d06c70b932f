"""Shared by the resident-memory tools next to this package.

``benchmark_eval_memory.py`` and ``benchmark_train_memory.py`` run
MMEngine's test or training loop in the measured process and sample its RSS
with :class:`mmsmoke.engine.RSSMonitorHook`; ``benchmark_slide_memory.py``
measures single inferences. All three load their config offline and may
write their results as JSON.
"""
import argparse
import json
import os
import os.path as osp

from mmsmoke.apis import offline_config
from .core import REPO

#: The model the memory tools measure by default (SegFormer MiT-B0).
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'segformer',
                          'segformer_mit-b0_1xb4-800_synthetic-256x256.py')


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A tool's parser (described by its docstring) with ``--config``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    return parser


def parse_run_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add ``--work-dir`` and ``--out`` (tools that run a loop), parse."""
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', help='write the records as JSON here')
    return parser.parse_args()


def monitored_config(args: argparse.Namespace, mode: str, log_interval: int):
    """A config whose ``mode`` loop runs in this process, RSS sampled.

    ``args.config`` offline (:func:`mmsmoke.apis.offline_config`)
    in ``args.work_dir``, the ``<mode>_dataloader`` without worker
    processes, visualisation off, a log line every ``log_interval``
    iterations and ``RSSMonitorHook`` sampling every ``args.interval``
    iterations of ``mode`` ('train' or 'test').

    Returns:
        Config: The config, for the caller's own changes.
    """
    cfg = offline_config(args.config)
    cfg.work_dir = args.work_dir
    loader = cfg[f'{mode}_dataloader']
    loader.num_workers = 0
    loader.persistent_workers = False
    cfg.default_hooks.visualization = dict(
        type='SegVisualizationHook', draw=False)
    cfg.default_hooks.logger.interval = log_interval
    cfg.custom_hooks = [
        dict(type='RSSMonitorHook', interval=args.interval, modes=(mode, ))
    ]
    return cfg


def run_monitored(cfg, mode: str):
    """Run the ``mode`` loop of a :func:`monitored_config`.

    Returns:
        tuple: The runner, the loop's result (the test metrics, or the
        model after training) and the RSS records of the hook.
    """
    from mmengine.runner import Runner

    import mmsmoke  # noqa: F401
    from mmsmoke.engine import RSSMonitorHook
    runner = Runner.from_cfg(cfg)
    result = runner.test() if mode == 'test' else runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, RSSMonitorHook))
    return runner, result, hook.records


def write_json(path: str, obj) -> None:
    """Write ``obj`` as indented JSON, creating the folder."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)
