"""tools/analysis_tools/benchmark.py: rows, goals, merging, rendering.

The end-to-end test runs two cheap suites at tiny sizes into a temporary
folder; the figures themselves are meaningless at these sizes, only the
format is checked.
"""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location(
        'mmsmoke_benchmark_tool',
        REPO / 'tools' / 'analysis_tools' / 'benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CTX = dict(device='CPU test', command='python benchmark.py --test')


def test_check_goal(bench):
    assert bench.check_goal('ratio <= 1.3', 5.0, 1.3) is True
    assert bench.check_goal('ratio <= 1.3', 5.0, 1.31) is False
    assert bench.check_goal('value >= 0.7', 0.69, None) is False
    assert bench.check_goal('ratio > 1', 1.0, 1.0) is False
    assert bench.check_goal('ratio < 2', 1.0, 1.5) is True
    # nothing to judge
    assert bench.check_goal(None, 1.0, 1.0) is None
    assert bench.check_goal('ratio >= 10', 1.0, None) is None
    assert bench.check_goal('ratio >= 10', 1.0, float('nan')) is None
    with pytest.raises(ValueError, match='not "<value|ratio>'):
        bench.check_goal('speed >= 10', 1.0, 1.0)


def test_make_row_schema(bench):
    row = bench.make_row(
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
    for key in bench.ROW_KEYS:
        assert key in row
    assert row['goal_met'] is True
    assert row['device'] == 'CPU test'
    assert row['details']['x'] is None  # JSON has no inf
    json.dumps(row, allow_nan=False)
    untrained = bench.make_row(
        'uncertainty', 'm', 'rho', 0.9, '', CTX, goal='value >= 0.7',
        assess=False)
    assert untrained['goal'] == 'value >= 0.7'
    assert untrained['goal_met'] is None


def _doc(bench, suite, names):
    rows = [bench.make_row(suite, n, 'm', 1.0, 's', CTX) for n in names]
    return {suite: dict(date=f'2026-01-0{len(names)}')}, rows


def test_merge_replaces_only_the_suites_that_ran(bench):
    doc = bench.empty_document()
    doc = bench.merge_document(doc, *_doc(bench, 'params_flops', ['a', 'b']))
    doc = bench.merge_document(doc, *_doc(bench, 'train_step', ['c']))
    assert [r['name'] for r in doc['rows']] == ['c', 'a', 'b']  # by suite
    doc = bench.merge_document(doc, *_doc(bench, 'params_flops', ['d']))
    assert [(r['suite'], r['name']) for r in doc['rows']] == [
        ('train_step', 'c'), ('params_flops', 'd')]
    assert set(doc['suites']) == {'train_step', 'params_flops'}
    assert doc['updated'] == '2026-01-01'
    assert doc['format'] == bench.FORMAT


def test_render_says_missed_plainly(bench):
    rows = [
        bench.make_row('train_step', 'FoSp R50', 'train step time', 3.0,
                       's/step', CTX, baseline=2.0, ratio=1.5,
                       goal='ratio <= 1.3'),
        bench.make_row('train_step', 'Trans-BVM R50', 'train step time',
                       2.0, 's/step', CTX, baseline=2.0, ratio=1.0,
                       goal='ratio <= 1.5'),
        bench.make_row('uncertainty', 'light', 'Spearman rho', 0.2, '', CTX,
                       goal='value >= 0.7', assess=False,
                       note='untrained model'),
    ]
    doc = bench.merge_document(
        bench.empty_document(),
        dict(train_step=dict(date='d'), uncertainty=dict(date='d')), rows)
    md = bench.render_markdown(doc)
    assert 'Goals: 1 met, 1 missed, 1 not assessed.' in md
    assert '- MISSED: train_step / FoSp R50 / train step time' in md
    assert '**MISSED** (goal: ratio <= 1.3)' in md
    assert '| met |' in md and 'not assessed' in md
    assert '## Training step time (`train_step`)' in md
    assert 'untrained model' in md  # notes are rendered


def test_spearman_hand_computed(bench):
    a = [1.0, 2.0, 3.0, 4.0, 5.0]
    b = [5.0, 6.0, 7.0, 8.0, 7.0]  # a tie: ranks 1, 2, 3.5, 5, 3.5
    expected = 8.0 / math.sqrt(10.0 * 9.5)
    assert bench.spearman(a, b) == pytest.approx(expected, abs=1e-12)
    assert bench.spearman_torch(
        torch.tensor(a), torch.tensor(b)) == pytest.approx(
            expected, abs=1e-12)
    assert bench.rank_average(torch.tensor(b)).tolist() == [
        1.0, 2.0, 3.5, 5.0, 3.5]
    assert bench.spearman(a, [-x for x in a]) == pytest.approx(-1.0)
    assert math.isnan(bench.spearman_torch(
        torch.tensor(a), torch.ones(5)))
    with pytest.raises(ValueError, match='sizes differ'):
        bench.spearman(a, b[:4])


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
        bench.suite_train_step(args, dict(CTX, torch_device='cpu'))


def test_bad_json_is_refused(bench, tmp_path):
    path = tmp_path / 'benchmarks.json'
    path.write_text('[1, 2]')
    with pytest.raises(ValueError, match='benchmarks.json: not a'):
        bench.load_document(str(path))
    path.write_text('{')
    with pytest.raises(ValueError, match='not valid JSON'):
        bench.load_document(str(path))


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
    assert doc['format'] == bench.FORMAT
    assert set(doc['suites']) == {'transmission', 'params_flops'}
    for header in doc['suites'].values():
        for key in ('date', 'machine', 'command', 'settings'):
            assert key in header
        assert header['machine']['torch'] == torch.__version__
        assert header['machine']['cpu_cores'] >= 1
    rows = doc['rows']
    for row in rows:
        for key in bench.ROW_KEYS:
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
    assert (out / 'benchmarks.md').read_text() == bench.render_markdown(
        doc2)


def test_smoke5k_config_budget_variants_and_checkpoints(bench, tmp_path):
    args = bench.parse_args([
        '--suite', 'smoke5k', '--iters', '3000', '--save-interval', '500'
    ])
    cfg = bench.smoke5k_config('transbvm_mit-b0_no-lc', args,
                               str(tmp_path), str(tmp_path / 'work'))
    assert cfg.train_cfg.max_iters == 3000
    assert cfg.default_hooks.checkpoint.interval == 500
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    assert 'UncertaintyCalibratedEntropyLoss' not in [
        loss['type'] for loss in cfg.model.pixel_losses
    ]
    full = bench.smoke5k_config(
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
