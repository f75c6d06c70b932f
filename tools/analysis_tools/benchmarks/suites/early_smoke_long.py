"""The ``early_smoke_long`` suite: the best light model in 3 hours on a CPU.

The ``early_smoke`` ablation compares every model at one short budget. This
suite trains one or a few of the same runs (same configs, recipe and
testing: :mod:`.early_smoke_runs`) for as long as 3 hours of training on
2 CPU cores allow, and reports them with the same metrics, plus the
training time against that budget. ``--iters`` sets the length; measure
the time per iteration first (the first log lines of ``train.log``) and
choose ``--iters`` so that training fits in 3 hours.

The runs live in their own work directory (``--long-work-dir``) and rows,
so a long run neither overwrites the ablation's 1,000-iteration runs nor
replaces its rows. An interrupted run continues with ``--save-interval 250
--resume``; its training time is then the sum of its logged iterations (:func:`..training.logged_train_seconds`).
"""
from typing import Dict, List, Tuple

from ..core import make_row
from ..datasets import smoke5k_root
from . import early_smoke
from .early_smoke_runs import MODELS, run_label

NAME = SUITE = 'early_smoke_long'
IN_ALL = False
TITLE = 'Early smoke: the best light model in 3 hours of CPU training'
TEXT = ('The runs of the `early_smoke` suite (same configs, native-'
        'resolution recipe and test on the 400 SMOKE5K test images at their '
        'native resolution), trained for as long as 3 hours on the 2 CPU '
        'cores of the header allow (`--iters`). Columns as in `early_smoke`; '
        'train s is the wall-clock of `tools/train.py`, or for a run resumed '
        'after an interruption the sum of its logged iteration times. One '
        'command: `python tools/analysis_tools/benchmark.py --suite '
        'early_smoke_long --iters N --long-models MODEL --save-interval 250 '
        '--resume`.')
#: Training-time budget of the suite, hours.
BUDGET_HOURS = 3.0


def settings(args) -> dict:
    """The budget of the runs: the ablation's, plus the time budget."""
    return dict(
        early_smoke.budget(args), time_budget=f'{BUDGET_HOURS:g} h training')


def long_rows(results: Dict[Tuple[str, bool, int], dict], ctx: dict,
              settings: dict, suite: str) -> List[dict]:
    """The ablation's rows of each run, and its training time in hours."""
    rows = early_smoke.run_rows(results, ctx, settings, suite)
    for (key, overlay, seed), res in results.items():
        train_s = res.get('train_s')
        rows.append(
            make_row(
                suite,
                run_label(key, overlay, seed),
                'training hours',
                None if train_s is None else train_s / 3600,
                'h',
                ctx,
                goal=f'value <= {BUDGET_HOURS:g}',
                settings=settings,
                details=dict(train_s_source=res.get('train_s_source'))))
    return rows


def run(args, ctx: dict) -> List[dict]:
    runs = [(key, args.long_overlay == 'on', args.long_seed)
            for key in args.long_models]
    return early_smoke.run_plan(
        args,
        ctx,
        runs,
        smoke5k_root(args.data_root),
        args.long_work_dir,
        settings(args),
        suite=SUITE,
        row_fn=long_rows,
        save_rows=ctx.get('save_rows'),
        report_rows=ctx.get('report_rows'))


render = early_smoke.render


def add_arguments(parser) -> None:
    """The suite's command-line options."""
    group = parser.add_argument_group(
        'early_smoke_long (also uses --data-root, --iters, --train-batch, '
        '--lr, --workers, --max-test-images, --threshold, --save-interval, '
        '--resume, --skip-existing, --retest, --overlay-prob, '
        '--early-collect-only)')
    group.add_argument(
        '--long-models',
        nargs='+',
        choices=tuple(MODELS),
        default=['transbvm_mit-b0'],
        help='the models to train for long (default: light Trans-BVM, '
        'the best light model of the early_smoke ablation)')
    group.add_argument(
        '--long-overlay',
        choices=('off', 'on'),
        default='off',
        help='train with SyntheticSmokeOverlay or without')
    group.add_argument('--long-seed', type=int, default=0)
    group.add_argument(
        '--long-work-dir', default='work_dirs/benchmark_early_smoke_long')
