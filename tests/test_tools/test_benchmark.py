"""tools/analysis_tools/benchmark.py and its ``benchmarks`` package: rows,
goals, merging, rendering, the smoke5k configs.

The end-to-end test runs two cheap suites at tiny sizes into a temporary
folder; the figures themselves are meaningless at these sizes, only the
format is checked.
"""
import json
import math
from pathlib import Path

import pytest
import torch
from benchmarks import core, datasets, report
from benchmarks.suites import smoke5k, train_step, uncertainty

REPO = Path(__file__).resolve().parents[2]
CTX = dict(device='CPU test', command='python benchmark.py --test')


def test_check_goal():
    assert core.check_goal('ratio <= 1.3', 5.0, 1.3) is True
    assert core.check_goal('ratio <= 1.3', 5.0, 1.31) is False
    assert core.check_goal('value >= 0.7', 0.69, None) is False
    assert core.check_goal('ratio > 1', 1.0, 1.0) is False
    assert core.check_goal('ratio < 2', 1.0, 1.5) is True
    # nothing to judge
    assert core.check_goal(None, 1.0, 1.0) is None
    assert core.check_goal('ratio >= 10', 1.0, None) is None
    assert core.check_goal('ratio >= 10', 1.0, float('nan')) is None
    with pytest.raises(ValueError, match='not "<value|ratio>'):
        core.check_goal('speed >= 10', 1.0, 1.0)


def test_make_row_schema():
    row = core.make_row(
        'train_step',
        'FoSp R50',
        'train step time',
        2.6,
        's/step',
        CTX,
        baseline=2.0,
        ratio=1.3,
        goal='ratio <= 1.3',
        settings=dict(size='256x256', batch=2),
        details=dict(x=float('inf')))
    for key in report.ROW_KEYS:
        assert key in row
    assert row['goal_met'] is True
    assert row['device'] == 'CPU test'
    assert row['details']['x'] is None  # JSON has no inf
    json.dumps(row, allow_nan=False)
    untrained = core.make_row(
        'uncertainty', 'm', 'rho', 0.9, '', CTX, goal='value >= 0.7',
        assess=False)
    assert untrained['goal'] == 'value >= 0.7'
    assert untrained['goal_met'] is None


def _doc(suite, names):
    rows = [core.make_row(suite, n, 'm', 1.0, 's', CTX) for n in names]
    return {suite: dict(date=f'2026-01-0{len(names)}')}, rows


def test_merge_replaces_only_the_suites_that_ran():
    doc = report.empty_document()
    doc = report.merge_document(doc, *_doc('params_flops', ['a', 'b']))
    doc = report.merge_document(doc, *_doc('train_step', ['c']))
    assert [r['name'] for r in doc['rows']] == ['c', 'a', 'b']  # by suite
    doc = report.merge_document(doc, *_doc('params_flops', ['d']))
    assert [(r['suite'], r['name']) for r in doc['rows']] == [
        ('train_step', 'c'), ('params_flops', 'd')]
    assert set(doc['suites']) == {'train_step', 'params_flops'}
    assert doc['updated'] == '2026-01-01'
    assert doc['format'] == report.FORMAT


def test_render_says_missed_plainly():
    rows = [
        core.make_row('train_step', 'FoSp R50', 'train step time', 3.0,
                      's/step', CTX, baseline=2.0, ratio=1.5,
                      goal='ratio <= 1.3'),
        core.make_row('train_step', 'Trans-BVM R50', 'train step time',
                      2.0, 's/step', CTX, baseline=2.0, ratio=1.0,
                      goal='ratio <= 1.5'),
        core.make_row('uncertainty', 'light', 'Spearman rho', 0.2, '', CTX,
                      goal='value >= 0.7', assess=False,
                      note='untrained model'),
    ]
    doc = report.merge_document(
        report.empty_document(),
        dict(train_step=dict(date='d'), uncertainty=dict(date='d')), rows)
    md = report.render_markdown(doc)
    assert 'Goals: 1 met, 1 missed, 1 not assessed.' in md
    assert '- MISSED: train_step / FoSp R50 / train step time' in md
    assert '**MISSED** (goal: ratio <= 1.3)' in md
    assert '| met |' in md and 'not assessed' in md
    assert '## Training step time (`train_step`)' in md
    assert 'untrained model' in md  # notes are rendered


def test_spearman_hand_computed():
    a = [1.0, 2.0, 3.0, 4.0, 5.0]
    b = [5.0, 6.0, 7.0, 8.0, 7.0]  # a tie: ranks 1, 2, 3.5, 5, 3.5
    expected = 8.0 / math.sqrt(10.0 * 9.5)
    assert uncertainty.spearman(a, b) == pytest.approx(expected, abs=1e-12)
    assert uncertainty.spearman_torch(
        torch.tensor(a), torch.tensor(b)) == pytest.approx(
            expected, abs=1e-12)
    assert uncertainty.rank_average(torch.tensor(b)).tolist() == [
        1.0, 2.0, 3.5, 5.0, 3.5]
    assert uncertainty.spearman(a, [-x for x in a]) == pytest.approx(-1.0)
    assert math.isnan(uncertainty.spearman_torch(
        torch.tensor(a), torch.ones(5)))
    with pytest.raises(ValueError, match='sizes differ'):
        uncertainty.spearman(a, b[:4])


def test_expand_suites_and_arguments(bench):
    assert bench.expand_suites(['all']) == [
        'train_step', 'transmission', 'uncertainty', 'inference',
        'params_flops']
    assert bench.expand_suites(['smoke5k', 'quick', 'transmission']) == [
        'transmission', 'params_flops', 'smoke5k']
    with pytest.raises(SystemExit):
        bench.parse_args(['--suite', 'nope'])
    with pytest.raises(SystemExit):
        bench.parse_args([])
    args = bench.parse_args(['--suite', 'train_step', '--batch', '1'])
    with pytest.raises(ValueError, match='at least 2'):
        train_step.run(args, dict(CTX, torch_device='cpu'))


def test_bad_json_is_refused(tmp_path):
    path = tmp_path / 'benchmarks.json'
    path.write_text('[1, 2]')
    with pytest.raises(ValueError, match='benchmarks.json: not a'):
        report.load_document(str(path))
    path.write_text('{')
    with pytest.raises(ValueError, match='not valid JSON'):
        report.load_document(str(path))


def test_two_cheap_suites_end_to_end(bench, tmp_path):
    out = tmp_path / 'bench'
    bench.main([
        '--suite', 'params_flops', '--match', 'segformer_mit-b0_1xb4',
        '--size', '32', '--out-dir', str(out)
    ])
    bench.main([
        '--suite', 'transmission', '--size', '32', '--batch', '2',
        '--repeats', '1', '--warmup', '0', '--out-dir', str(out)
    ])
    doc = json.loads((out / 'benchmarks.json').read_text())
    assert doc['format'] == report.FORMAT
    assert set(doc['suites']) == {'transmission', 'params_flops'}
    for header in doc['suites'].values():
        for key in ('date', 'machine', 'command', 'settings'):
            assert key in header
        assert header['machine']['torch'] == torch.__version__
        assert header['machine']['cpu_cores'] >= 1
    rows = doc['rows']
    for row in rows:
        for key in report.ROW_KEYS:
            assert key in row, (key, row)
        assert row['command'].startswith(
            'python tools/analysis_tools/benchmark.py --suite')
        if row['goal']:
            assert isinstance(row['goal_met'], bool)
    by_metric = {(r['suite'], r['metric']): r for r in rows}
    params = by_metric[('params_flops', 'parameters')]
    assert params['unit'] == 'M' and 1.0 < params['value'] < 10.0
    flops = by_metric[('params_flops', 'FLOPs')]
    assert flops['value'] > 0 and flops['settings']['size'] == '32x32'
    speed = by_metric[('transmission', 'forward + backward time')]
    assert speed['ratio'] == pytest.approx(
        speed['baseline'] / speed['value'])
    assert speed['goal'] == 'ratio >= 10'
    assert speed['details']['value_max_abs_diff'] < 1e-4
    memory = by_metric[('transmission', 'peak extra memory')]
    assert memory['ratio'] > 5  # 25 unfolded copies against ~10 maps
    dcp = by_metric[('transmission', 'estimate_transmission time')]
    assert 0 < dcp['ratio'] < 1  # a share of the whole step
    assert dcp['settings']['mc_samples'] == 10

    md = (out / 'benchmarks.md').read_text()
    assert '## Parameters and FLOPs (`params_flops`)' in md
    assert '## Transmission coherence loss and DCP transmission' in md
    assert md.index('(`transmission`)') < md.index('(`params_flops`)')
    assert '| TransmissionCoherenceLoss | peak extra memory |' in md
    assert 'segformer_mit-b0_1xb4-800_synthetic-256x256' in md

    # Re-running one suite replaces its rows and keeps the other suite's.
    bench.main([
        '--suite', 'params_flops', '--match', 'segformer_mit-b0_1xb4',
        '--size', '32', '--out-dir', str(out)
    ])
    doc2 = json.loads((out / 'benchmarks.json').read_text())
    assert len(doc2['rows']) == len(rows)
    assert [r for r in doc2['rows'] if r['suite'] == 'transmission'] == [
        r for r in rows if r['suite'] == 'transmission'
    ]
    # --render-only rewrites the page from the JSON alone.
    (out / 'benchmarks.md').unlink()
    bench.main(['--render-only', '--out-dir', str(out)])
    assert (out / 'benchmarks.md').read_text() == report.render_markdown(
        doc2)


def test_smoke5k_config_budget_variants_and_checkpoints(bench, tmp_path):
    args = bench.parse_args([
        '--suite', 'smoke5k', '--iters', '3000', '--save-interval', '500'
    ])
    cfg = smoke5k.build_config('transbvm_mit-b0_no-lc', args,
                               str(tmp_path), str(tmp_path / 'work'))
    assert cfg.train_cfg.max_iters == 3000
    assert cfg.default_hooks.checkpoint.interval == 500
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    assert 'UncertaintyCalibratedEntropyLoss' not in [
        loss['type'] for loss in cfg.model.pixel_losses
    ]
    full = smoke5k.build_config(
        'transbvm_mit-b0', bench.parse_args(['--suite', 'smoke5k']),
        str(tmp_path), str(tmp_path / 'work'))
    assert full.default_hooks.checkpoint.interval == 300
    assert 'UncertaintyCalibratedEntropyLoss' in [
        loss['type'] for loss in full.model.pixel_losses
    ]
    # --tta on the dumped config: its ratio-1 view is the test resize
    test_resize = full.test_dataloader.dataset.pipeline[1]
    assert test_resize in full.tta_pipeline[1]['transforms'][0]
    with pytest.raises(SystemExit):
        bench.parse_args(['--suite', 'smoke5k', '--save-interval', '0'])


def test_smoke5k_data_inherit_the_dataset_config(bench, tmp_path):
    """The suite's data: configs/_base_/datasets/smoke5k.py with every image
    squashed to the crop; the options set root, workers, batch and the
    number of test images."""
    from mmengine.config import Config
    base = Config.fromfile(str(REPO / datasets.SMOKE5K_DATASET))
    args = bench.parse_args([
        '--suite', 'smoke5k', '--crop', '384', '--workers', '0',
        '--train-batch', '3', '--max-test-images', '7'
    ])
    cfg = smoke5k.build_config('segformer_mit-b0', args, str(tmp_path),
                               str(tmp_path / 'work'))
    train, test = cfg.train_dataloader, cfg.test_dataloader
    assert train.dataset.type == base.train_dataloader.dataset.type
    for loader, base_loader in ((train, base.train_dataloader),
                                (test, base.test_dataloader)):
        assert loader.dataset.data_prefix == base_loader.dataset.data_prefix
        assert loader.sampler == base_loader.sampler
    assert train.dataset.data_root == test.dataset.data_root == str(tmp_path)
    assert (train.batch_size, train.num_workers) == (3, 0)
    assert train.persistent_workers is False
    assert test.dataset.indices == 7
    assert cfg.model.data_preprocessor.size == (384, 384)
    kinds = [t['type'] for t in train.dataset.pipeline]
    assert 'PhotoMetricDistortion' not in kinds
    resize = train.dataset.pipeline[kinds.index('RandomResize')]
    assert resize == dict(
        type='RandomResize',
        scale=(384, 384),
        ratio_range=(1.0, 2.0),
        keep_ratio=False)
    assert dict(type='RandomCrop', crop_size=(384, 384)) in \
        train.dataset.pipeline
    assert dict(type='Resize', scale=(384, 384), keep_ratio=False) in \
        test.dataset.pipeline
    # the --tta views keep the dataset config's ratios to its test resize
    views = cfg.tta_pipeline[1]['transforms'][0]
    assert [v['scale'] for v in views] == [(288, 288), (384, 384),
                                           (480, 480)]
    assert all(v['keep_ratio'] is False for v in views)
    # everything but the resizing and the crop is the dataset config's
    rest = [t for t in train.dataset.pipeline
            if t['type'] not in ('RandomResize', 'RandomCrop')]
    assert rest == [t for t in base.train_dataloader.dataset.pipeline
                    if t['type'] not in ('RandomResize', 'RandomCrop',
                                         'PhotoMetricDistortion')]
