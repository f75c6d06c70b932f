"""Test a segmentor; the command line of MMSegmentation's ``tools/test.py``.

Example::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out work_dirs/pred \
        --show-dir work_dirs/vis
    python tools/test.py CONFIG CHECKPOINT --compile
"""
import argparse

from mmengine.config import Config
from mmengine.runner import Runner

import runner_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the directory to save the evaluation metrics')
    parser.add_argument(
        '--out',
        type=str,
        help='directory to save predictions (masks, probability maps and '
        'the extra maps of mmsmoke models) and the metric files')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved; with --show '
        'or --show-dir the visualization hook draws predictions')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    runner_cli.add_config_arguments(parser)
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the model parts (backbone, neck, heads) for '
        'testing; torch.compile options come from the config key `compile` '
        'when it is a dict, e.g. --cfg-options compile.mode=max-autotune '
        '(see docs/gpu.md)')
    return runner_cli.parse_with_local_rank(parser)


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> None:
    hooks = cfg.get('default_hooks', {})
    if 'visualization' not in hooks:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks to use '
            '--show or --show-dir: add default_hooks.visualization='
            "dict(type='SegVisualizationHook') to the config (the schedules "
            'in configs/_base_/schedules/ take it from iter_hooks.py)')
    hook = hooks['visualization']
    hook['draw'] = True
    # MMSeg's hook draws one batch in `interval` (50 by default); a test
    # run that asks for pictures gets one per image unless the config says
    # otherwise.
    hook.setdefault('interval', 1)
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        visualizer['save_dir'] = args.show_dir


def evaluator_metrics(evaluator) -> list:
    """The metric configs of a ``test_evaluator``: one dict, a list of
    them (e.g. ``SmokeMetric`` and ``FrameAlarmMetric`` side by side), or
    mmengine's ``dict(type='Evaluator', metrics=...)``."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    metrics = list(evaluator) if isinstance(evaluator,
                                            (list, tuple)) else [evaluator]
    bad = [m for m in metrics if not isinstance(m, dict)]
    if bad:
        raise SystemExit(f'--out: test_evaluator holds {bad[0]!r}, not a '
                         'metric config dict; set output_dir on it in the '
                         'config instead')
    return metrics


def main() -> None:
    args = parse_args()
    cfg = runner_cli.load_config(args)

    cfg.load_from = args.checkpoint
    # A config dumped by a resumed training run carries resume=True; with
    # it mmengine would try to restore a training state that testing does
    # not build. Testing only loads the weights.
    cfg.resume = False

    # Testing builds no training loop. Otherwise hooks that read
    # `runner.iter` (MMSeg's visualization hook does, for --show-dir) make
    # mmengine build the training dataloader, which fails when the
    # training images are not on this machine.
    cfg.train_dataloader = None
    cfg.train_cfg = None
    cfg.optim_wrapper = None
    cfg.param_scheduler = None

    if args.show or args.show_dir:
        trigger_visualization_hook(cfg, args)

    if args.tta:
        if cfg.get('tta_pipeline') is None:
            raise SystemExit(
                f'--tta: {args.config} defines no `tta_pipeline` (the views '
                'to merge); the dataset configs in configs/_base_/datasets/ '
                'define one: add one like it to this config')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        # SmokeTTAModel merges one-channel probabilities once (MMSeg's
        # SegTTAModel applies a second sigmoid); docs/models.md.
        tta_model = cfg.get('tta_model') or dict(type='SmokeTTAModel')
        tta_model['module'] = cfg.model
        cfg.model = tta_model

    if args.out is not None:
        for metric in evaluator_metrics(cfg.test_evaluator):
            metric['output_dir'] = args.out
            metric['keep_results'] = True

    runner_cli.prepare_distributed(cfg, args.launcher)

    runner = Runner.from_cfg(cfg)
    if args.compile:
        # mmengine 0.10.7 reads `compile` in Runner.train() only.
        from mmsmoke.engine import compile_submodules
        options = cfg.get('compile', None)
        options = dict(options) if isinstance(options, dict) else None
        parts = compile_submodules(runner.model, options)
        runner.logger.info(f'--compile: torch.compile on {", ".join(parts)} '
                           f'with {options or "torch defaults"}; the first '
                           'batches of each input shape are slow')
    runner.test()


if __name__ == '__main__':
    main()
