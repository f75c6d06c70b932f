"""The ``early_smoke`` suite of ``benchmark.py``: what finds small smoke.

Every run trains one model from scratch on the real SMOKE5K training
images (1,057) with ``tools/train.py`` at one budget, and tests it with
``tools/test.py`` on the SMOKE5K test images at their native resolution
(whole images; frames over 640x640 in 640x640 windows). The models:

* ``segformer_mit-b0``: SegFormer MiT-B0, the baseline;
* ``fosp_mit-b0``: light FoSp;
* ``fosp_mit-b0_no-focus``: light FoSp without Focus: no bidirectional
  cascade and no focus-weighted features (``FocusNeck(cascade=False,
  weight_features=False)``); a focus logit is still predicted from the mid
  features because the separation inpaints the region it marks;
* ``fosp_mit-b0_no-sep``: light FoSp without Separation (no separation
  module, no foreground branch in the head);
* ``transbvm_mit-b0``: light Transmission-BVM;
* ``segformer_mit-b0_256``: SegFormer MiT-B0 with the earlier recipe
  (random 256x256 crops of images squashed to 256-512, tested squashed to
  256x256), the "before" row.

Every model except the last uses the early-smoke recipe
(``configs/_base_/datasets/smoke5k_native.py``): native-resolution crops
(x U(0.75, 1.25)), ``SmokeAwareCrop``, native-resolution testing. Each runs
without and with ``SyntheticSmokeOverlay`` (``+overlay``), and with the
seeds asked for (``@seed1``).

Each finished run is kept in ``<work dir>/<run>/benchmark_result.json``,
and the suite hands its rows to the report after every run, so an
interrupted suite loses at most the run in progress; ``--resume``
continues that run from its last checkpoint. With ``--skip-existing``, a
run whose work directory is gone (another machine, a cleaned
``work_dirs``) but whose rows are in ``benchmarks.json`` with the same
budget is taken from those rows (:func:`stored_results`), so the suite can
be completed over several machines and its rows collected together.
"""
import json
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..core import log, make_row
from ..datasets import smoke5k_root
from ..tables import row_table
from ..training import train_and_test
from .early_smoke_runs import (MODELS, SEEDED_PAIR, build_config, planned_runs,
                               run_label, run_name)

NAME = SUITE = 'early_smoke'
IN_ALL = False
TITLE = 'Early smoke on real images: recipe, overlay and module ablation'
TEXT = ('Each run trains from scratch on the 1,057 real SMOKE5K training '
        'images with `tools/train.py` at the budget in the header, and is '
        'tested with `tools/test.py` on the 400 SMOKE5K test images at '
        'their native resolution (frames over 640x640 in 640x640 windows, '
        'stride 480). Size strata by mask area: small < 0.5%, medium '
        '0.5-5%, large > 5% of the image (242 / 130 / 28 test images). '
        'IoU small/medium/large are the per-image IoU means (`mIoU_img`), '
        'recall the per-image share of smoke pixels found (both at the '
        'threshold). Fβ-max small/medium/large is the SOD Fβ-max of one '
        'stratum\'s images (each map min-max normalised, as published): '
        'it is threshold-free and shows whether a model ranks a plume of '
        'that size above its background at all (older runs, tested before '
        'it was reported, leave it blank). The earlier '
        '"before" recipe squashes images to 256x256 for training and '
        'testing. For FoSp rows, ratio = value - SegFormer-B0 of the same '
        'seed and overlay setting. Train s is the wall-clock of '
        '`tools/train.py`, or for a run resumed after an interruption '
        'the sum of its logged iteration times. One command: `python '
        'tools/analysis_tools/benchmark.py --suite early_smoke` (add '
        '`--save-interval 250 --resume` to continue an interrupted run, '
        '`--skip-existing --retest` to test finished runs again).')
#: Metrics reported per run (SmokeMetric keys).
METRICS = ('Fbeta_max', 'Fbeta_adp', 'MAE', 'IoU', 'F1', 'mIoU_img',
           'small.mIoU_img', 'medium.mIoU_img', 'large.mIoU_img',
           'small.mRecall_img', 'medium.mRecall_img', 'large.mRecall_img',
           'small.Fbeta_max', 'medium.Fbeta_max', 'large.Fbeta_max')
#: Goals of the suite on single runs.
GOALS = {
    'small.mIoU_img': 'value >= 0.25',
    'medium.mIoU_img': 'value >= 0.4',
}
#: Goal on the mean over seeds of light FoSp minus SegFormer-B0 Fbeta_max.
PAIR_GOAL = 'value >= 0.03'
#: Goal of the best light model.
BEST_GOAL = 'value >= 0.7'


def budget(args) -> dict:
    """The budget shared by every run."""
    return dict(
        iters=args.iters,
        batch=args.train_batch,
        crop='384x384 at native scale x U(0.75, 1.25) (before: 256x256)',
        test='native resolution, 640x640 windows (before: 256x256)',
        init='from scratch',
        optimizer=f'AdamW lr {args.lr:g}, wd 0.01',
        schedule='linear warm-up, poly',
        overlay_prob=args.overlay_prob,
        test_images=args.max_test_images or 'all',
        threshold=args.threshold)


def _metric(result: Optional[dict], name: str) -> Optional[float]:
    if result is None:
        return None
    value = result['metrics'].get(name)
    return float(value) if isinstance(value, (int, float)) else None


def run_ctx(ctx: dict, result: Optional[dict]) -> dict:
    """The context of one run's rows: a run read back from
    ``benchmarks.json`` (:func:`stored_results`) keeps the device and the
    command it was measured with."""
    where = (result or {}).get('measured_on')
    return dict(ctx, **where) if where else ctx


def run_rows(results: Dict[Tuple[str, bool, int], dict],
             ctx: dict,
             settings: dict,
             suite: str = SUITE) -> List[dict]:
    """Rows of every finished run, plus the seed and pair summaries.

    ``suite`` names the suite the rows belong to (the ``early_smoke_long``
    suite reports its runs the same way).
    """
    rows = []
    for (key, overlay, seed), res in results.items():
        base = None
        if key.startswith('fosp_'):
            base = results.get(('segformer_mit-b0', overlay, seed))
        for name in METRICS:
            value = _metric(res, name)
            if value is None:
                continue
            baseline = _metric(base, name)
            goal = GOALS.get(name)
            rows.append(
                make_row(
                    suite,
                    run_label(key, overlay, seed),
                    name,
                    value,
                    '',
                    run_ctx(ctx, res),
                    baseline=baseline,
                    baseline_name=(run_label('segformer_mit-b0', overlay, seed)
                                   if baseline is not None else None),
                    ratio=(value - baseline if baseline is not None else None),
                    ratio_def=('value - baseline'
                               if baseline is not None else None),
                    goal=goal,
                    settings=dict(settings, run=run_name(key, overlay, seed)),
                    details=dict(
                        train_s=res.get('train_s'),
                        train_s_source=res.get('train_s_source'),
                        test_s=res.get('test_s'),
                        num_images=res['metrics'].get(
                            name.split('.')[0] +
                            '.num_images' if '.' in name else 'num_images'))))
    rows += _summary_rows(results, ctx, settings, suite)
    return rows


def stored_results(report_rows: List[dict],
                   settings: dict,
                   suite: str = SUITE,
                   metrics: Sequence[str] = METRICS) -> Dict[str, dict]:
    """Finished runs read back from the report's rows, by run name.

    The inverse of :func:`run_rows` for one run: its metric rows (those
    whose ``settings`` are ``settings`` plus ``run``) give back ``metrics``
    (with the image counts of the rows' details), ``train_s``,
    ``train_s_source`` and ``test_s``. Rows measured at another budget are
    not returned.

    Args:
        report_rows (list[dict]): Rows of ``benchmarks.json``.
        settings (dict): The budget of the suite now.
        suite (str): The suite whose rows are read.
        metrics (Sequence[str]): The metrics of a run's rows.

    Returns:
        dict[str, dict]: Run name -> result (as :func:`train_and_test`
        returns it, with ``source = 'benchmarks.json'``).
    """
    want = json.dumps(settings, sort_keys=True, default=str)
    results: Dict[str, dict] = {}
    for row in report_rows:
        stamp = dict(row.get('settings') or {})
        name = stamp.pop('run', None)
        if (row.get('suite') != suite or name is None
                or row.get('metric') not in metrics
                or json.dumps(stamp, sort_keys=True, default=str) != want):
            continue
        details = row.get('details') or {}
        res = results.setdefault(
            name,
            dict(
                metrics={},
                train_s=details.get('train_s'),
                train_s_source=details.get('train_s_source'),
                test_s=details.get('test_s'),
                source='benchmarks.json',
                measured_on={
                    k: row[k]
                    for k in ('device', 'command') if row.get(k)
                }))
        res['metrics'][row['metric']] = row['value']
        group = row['metric'].split('.')[0] if '.' in row['metric'] else None
        if details.get('num_images') is not None:
            res['metrics'][f'{group}.num_images' if group else
                           'num_images'] = details['num_images']
    return results


def _summary_rows(results: Dict[Tuple[str, bool, int], dict], ctx: dict,
                  settings: dict, suite: str) -> List[dict]:
    rows = []
    for overlay in (False, True):
        per_model = {}
        for key in SEEDED_PAIR:
            values = {
                seed: _metric(res, 'Fbeta_max')
                for (k, o, seed), res in results.items()
                if k == key and o == overlay
            }
            values = {s: v for s, v in values.items() if v is not None}
            if len(values) < 2:
                continue
            per_model[key] = values
            vals = list(values.values())
            rows.append(
                make_row(
                    suite,
                    run_label(key, overlay, 0).rsplit(', seed', 1)[0] +
                    f', seeds {sorted(values)}',
                    'Fbeta_max mean over seeds',
                    sum(vals) / len(vals),
                    '',
                    ctx,
                    settings=settings,
                    details=dict(
                        min=min(vals),
                        max=max(vals),
                        spread=max(vals) - min(vals))))
            rows.append(
                make_row(
                    suite,
                    rows[-1]['name'],
                    'Fbeta_max spread over seeds (max - min)',
                    max(vals) - min(vals),
                    '',
                    ctx,
                    settings=settings))
        if len(per_model) == 2:
            seeds = sorted(
                set(per_model['fosp_mit-b0'])
                & set(per_model['segformer_mit-b0']))
            if len(seeds) >= 2:
                diffs = [
                    per_model['fosp_mit-b0'][s] -
                    per_model['segformer_mit-b0'][s] for s in seeds
                ]
                rows.append(
                    make_row(
                        suite,
                        'FoSp MiT-B0 - SegFormer MiT-B0' +
                        (' (+ overlay)' if overlay else '') +
                        f', seeds {seeds}',
                        'Fbeta_max difference, mean over seeds',
                        sum(diffs) / len(diffs),
                        '',
                        ctx,
                        goal=PAIR_GOAL,
                        settings=settings,
                        details=dict(min=min(diffs), max=max(diffs))))
                rows.append(
                    make_row(
                        suite,
                        rows[-1]['name'],
                        'Fbeta_max difference, smallest over seeds',
                        min(diffs),
                        '',
                        ctx,
                        settings=settings))
    best = max(((run, _metric(res, 'Fbeta_max'))
                for run, res in results.items()
                if _metric(res, 'Fbeta_max') is not None
                and MODELS[run[0]][2] != 'squash256'),
               key=lambda item: item[1],
               default=None)
    if best is not None:
        rows.append(
            make_row(
                suite,
                'best light model: ' + run_label(*best[0]),
                'Fbeta_max',
                best[1],
                '',
                run_ctx(ctx, results[best[0]]),
                goal=BEST_GOAL,
                settings=settings))
    return rows


def run_plan(
        args,
        ctx: dict,
        runs: List[Tuple[str, bool, int]],
        data_root: str,
        work_dir: str,
        settings: dict,
        suite: str = SUITE,
        row_fn: Callable[..., List[dict]] = run_rows,
        save_rows: Optional[Callable[[List[dict]], None]] = None,
        report_rows: Optional[List[dict]] = None,
        build_fn: Optional[Callable] = None,
        train_fn: Optional[Callable[..., dict]] = None,
        metrics: Sequence[str] = METRICS) -> List[dict]:
    """Train and test runs one after the other; rows after each run.

    Args:
        args (argparse.Namespace): Command-line arguments (budget, ``--resume``, ``--skip-existing``, ``--retest``,
            ``--early-collect-only``, ``--early-keep-going``).
        ctx (dict): Run context (``device``, ``command``).
        runs (list[tuple[str, bool, int]]): ``(model, overlay, seed)``.
        data_root (str): The SMOKE5K folder (:func:`smoke5k_root`).
        work_dir (str): Each run works in ``<work_dir>/<run name>``.
        settings (dict): The budget (the stamp of every run).
        suite (str): The suite the rows belong to.
        row_fn (callable): ``(results, ctx, settings, suite) -> rows``.
        save_rows (callable, optional): Called with the rows so far after
            every finished run, so that the report keeps them even if a
            later run fails or is stopped.
        report_rows (list[dict], optional): The rows of ``benchmarks.json``
            before the suite ran; with ``--skip-existing``, a run whose
            work directory holds no finished run is taken from them
            (:func:`stored_results`).
        build_fn (callable, optional): ``(model, overlay, seed, args,
            data_root, work) -> Config`` of one run (default: this suite's
            :func:`.early_smoke_runs.build_config`).
        train_fn (callable, optional): Trains and tests one run, with the
            signature and result of :func:`..training.train_and_test` (the
            default).
        metrics (Sequence[str]): The metrics read back from stored rows.

    Returns:
        list[dict]: The rows.
    """
    build_fn = build_fn or build_config
    train_fn = train_fn or train_and_test
    results: Dict[Tuple[str, bool, int], dict] = {}
    stored = (
        stored_results(report_rows or [], settings, suite, metrics)
        if args.skip_existing else {})
    for key, overlay, seed in runs:
        name = run_name(key, overlay, seed)
        work = osp.abspath(osp.join(work_dir, name))
        finished_here = osp.isfile(osp.join(
            work, 'benchmark_result.json')) or osp.isfile(
                osp.join(work, f'iter_{args.iters}.pth'))
        if name in stored and not finished_here:
            log(f'{suite}: {name}: no finished run in {work}; its rows in '
                'benchmarks.json (same budget) are re-used' +
                ('; it cannot be re-tested without its checkpoint' if getattr(
                    args, 'retest', False) else ''))
            results[(key, overlay, seed)] = stored[name]
            continue
        if getattr(args, 'early_collect_only', False) and not osp.isfile(
                osp.join(work, 'benchmark_result.json')):
            log(f'{suite}: {name}: no finished run in {work}, skipped '
                '(--early-collect-only)')
            continue
        cfg = build_fn(key, overlay, seed, args, data_root, work)
        stamp = dict(settings, data_root=data_root, seed=seed, run=name)
        try:
            results[(key, overlay, seed)] = train_fn(
                cfg,
                work,
                args.iters,
                stamp,
                resume=args.resume,
                skip_existing=args.skip_existing,
                retest=getattr(args, 'retest', False),
                name=f'{suite}: {name}')
        except Exception as exc:  # keep the other runs' rows
            log(f'{suite}: {name} failed: {exc}')
            if not getattr(args, 'early_keep_going', False):
                raise
            continue
        if save_rows is not None:
            save_rows(row_fn(results, ctx, settings, suite))
    return row_fn(results, ctx, settings, suite) if results else []


def suite_early_smoke(
        args,
        ctx: dict,
        save_rows: Optional[Callable[[List[dict]],
                                     None]] = None) -> List[dict]:
    """Train and test every planned run of the ablation (:func:`run_plan`).

    Args:
        args (argparse.Namespace): Command-line arguments.
        ctx (dict): Run context (``device``, ``command``).
        save_rows (callable, optional): See :func:`run_plan`.

    Returns:
        list[dict]: The rows.
    """
    data_root = smoke5k_root(args.data_root)
    runs = planned_runs(args.early_models, args.early_overlay,
                        args.early_seeds)
    return run_plan(
        args,
        ctx,
        runs,
        data_root,
        args.early_work_dir,
        budget(args),
        save_rows=save_rows,
        report_rows=ctx.get('report_rows'))


def render_table(rows: List[dict]) -> List[str]:
    """Markdown table: one line per run, the metrics as columns."""
    cols = [('Fbeta_max', 'Fβ-max'), ('Fbeta_adp', 'Fβ-adp'), ('MAE', 'MAE'),
            ('IoU', 'IoU'), ('F1', 'F1'), ('small.mIoU_img', 'IoU small'),
            ('medium.mIoU_img', 'IoU medium'), ('large.mIoU_img', 'IoU large'),
            ('small.mRecall_img', 'recall small'),
            ('medium.mRecall_img', 'recall medium'),
            ('large.mRecall_img', 'recall large'),
            ('small.Fbeta_max', 'Fβ-max small'),
            ('medium.Fbeta_max', 'Fβ-max medium'),
            ('large.Fbeta_max', 'Fβ-max large')]
    table: Dict[str, Dict[str, dict]] = {}
    for row in rows:
        if row['metric'] in dict(cols):
            table.setdefault(row['name'], {})[row['metric']] = row
    lines = [
        '| run | ' + ' | '.join(c[1] for c in cols) + ' | train s |',
        '|---' * (len(cols) + 2) + '|'
    ]
    for name, by_metric in table.items():
        cells = []
        for key, _ in cols:
            row = by_metric.get(key)
            cells.append('' if row is None or row['value'] is None else
                         f'{row["value"]:.3f}')
        any_row = next(iter(by_metric.values()))
        train_s = any_row.get('details', {}).get('train_s')
        cells.append('' if train_s is None else f'{train_s:.0f}')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    lines.append('')
    return lines


def render(rows: List[dict]) -> List[str]:
    """The run x metric table, then the goal and summary rows."""
    return render_table(rows) + row_table(
        [r for r in rows if r.get('goal') or r['metric'] not in METRICS],
        show_settings=False)


def run(args, ctx: dict) -> List[dict]:
    return suite_early_smoke(args, ctx, ctx.get('save_rows'))


settings = budget


def add_arguments(parser) -> None:
    """The suite's command-line options."""
    group = parser.add_argument_group(
        'early_smoke (also uses --data-root, --iters, --train-batch, --lr, '
        '--workers, --max-test-images, --threshold, --save-interval, '
        '--resume, --skip-existing, --retest)')
    group.add_argument(
        '--early-models',
        nargs='+',
        default=list(MODELS),
        help=f'models of the suite, from {list(MODELS)}')
    group.add_argument(
        '--early-overlay',
        choices=('off', 'on', 'both'),
        default='both',
        help='train without and/or with SyntheticSmokeOverlay')
    group.add_argument(
        '--early-seeds',
        nargs='+',
        type=int,
        default=[0, 1],
        help='seeds; the SegFormer/FoSp pair runs with each, the other '
        'models with the first')
    group.add_argument(
        '--overlay-prob',
        type=float,
        default=0.5,
        help='probability of SyntheticSmokeOverlay in the +overlay runs')
    group.add_argument(
        '--early-work-dir', default='work_dirs/benchmark_early_smoke')
    group.add_argument(
        '--early-collect-only',
        action='store_true',
        help='train nothing: report the planned runs that have finished '
        '(with --skip-existing, their stored metrics are re-used)')
    group.add_argument(
        '--early-keep-going',
        action='store_true',
        help='log a failed run and go on with the next')
