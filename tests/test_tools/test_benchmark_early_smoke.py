"""The early_smoke benchmark suite (tools/analysis_tools/benchmarks/suites/
early_smoke*.py): runs, configs, rows."""
import argparse
from pathlib import Path

import pytest
import torch
from benchmarks.suites import early_smoke as early

REPO = Path(__file__).resolve().parents[2]
CTX = dict(device='CPU test', command='python benchmark.py --test')
DATA = REPO.parent / 'shared' / 'data' / 'SMOKE5K'


def _args(**kw):
    args = argparse.Namespace(
        iters=20,
        train_batch=2,
        lr=1e-3,
        workers=0,
        max_test_images=None,
        threshold=0.5,
        save_interval=None,
        overlay_prob=0.5)
    for key, value in kw.items():
        setattr(args, key, value)
    return args


def test_planned_runs():
    runs = early.planned_runs(list(early.MODELS), 'both', [0, 1])
    # 6 models x 2 overlay settings, + the seeded pair again with seed 1
    assert len(runs) == 6 * 2 + 2 * 2
    assert runs[0] == ('segformer_mit-b0', False, 0)
    assert runs[1] == ('segformer_mit-b0', True, 0)
    assert {r
            for r in runs if r[2] == 1} == {('segformer_mit-b0', False, 1),
                                            ('segformer_mit-b0', True, 1),
                                            ('fosp_mit-b0', False, 1),
                                            ('fosp_mit-b0', True, 1)}
    assert early.planned_runs(['transbvm_mit-b0'], 'on',
                              [3]) == [('transbvm_mit-b0', True, 3)]
    with pytest.raises(ValueError, match='unknown'):
        early.planned_runs(['nope'], 'on', [0])
    with pytest.raises(ValueError, match='overlay must be'):
        early.planned_runs(['fosp_mit-b0'], 'sometimes', [0])
    assert early.run_name('fosp_mit-b0', True,
                          1) == 'fosp_mit-b0+overlay@seed1'
    assert early.run_name('fosp_mit-b0', False, 0) == 'fosp_mit-b0'


def _types(pipeline):
    return [t['type'] for t in pipeline]


@pytest.mark.parametrize('key', list(early.MODELS))
@pytest.mark.parametrize('overlay', [False, True])
def test_build_config(key, overlay, tmp_path):
    cfg = early.build_config(key, overlay, 7, _args(), str(tmp_path),
                             str(tmp_path / 'work'))
    train = cfg.train_dataloader.dataset.pipeline
    assert ('SyntheticSmokeOverlay' in _types(train)) == overlay
    if overlay:
        [t] = [t for t in train if t['type'] == 'SyntheticSmokeOverlay']
        assert t['prob'] == 0.5
    assert cfg.randomness.seed == 7
    assert cfg.train_cfg.max_iters == 20
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.test_dataloader.dataset.data_root == str(tmp_path)
    test = cfg.test_dataloader.dataset.pipeline
    if key == 'segformer_mit-b0_256':
        assert 'RandomResize' in _types(train)
        assert cfg.model.data_preprocessor.size == (256, 256)
        [resize] = [t for t in test if t['type'] == 'Resize']
        assert resize['scale'] == (256, 256)
        assert cfg.model.test_cfg.mode == 'whole'
    else:
        assert _types(train)[2:4] == ['RandomRescale', 'SmokeAwareCrop']
        [resize] = [t for t in test if t['type'] == 'Resize']
        assert resize['scale_factor'] == 1.0  # native resolution
        assert cfg.model.test_cfg.mode == 'slide'
    if key == 'fosp_mit-b0_no-focus':
        assert cfg.model.neck.cascade is False
        assert cfg.model.neck.weight_features is False
    if key == 'fosp_mit-b0_no-sep':
        assert cfg.model.separation is None
        assert cfg.model.decode_head.get('fg_in_channels') is None


@pytest.mark.parametrize('key', ['fosp_mit-b0_no-focus', 'fosp_mit-b0_no-sep'])
def test_ablated_fosp_trains(key, tmp_path):
    """The ablations build and give finite losses with gradients."""
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = early.build_config(key, False, 0, _args(), str(tmp_path),
                             str(tmp_path / 'work'))
    cfg.model.data_preprocessor.size = (64, 64)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        label = torch.zeros(1, 64, 64, dtype=torch.long)
        label[:, 20:30, 20:40] = 1
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(
            dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(sample)
    inputs = torch.randn(2, 3, 64, 64)
    losses = model.loss(inputs, samples)
    total = sum(v for k, v in losses.items()
                if k.endswith('loss') or k.startswith('loss') or '.loss' in k)
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def _result(fbeta, small=0.1):
    return dict(
        metrics={
            'Fbeta_max': fbeta,
            'IoU': 0.5,
            'small.mIoU_img': small,
            'small.num_images': 242.0,
            'num_images': 400.0
        },
        train_s=100.0,
        test_s=10.0)


def test_rows_pair_difference_and_best():
    results = {
        ('segformer_mit-b0', False, 0): _result(0.50),
        ('segformer_mit-b0', False, 1): _result(0.52),
        ('fosp_mit-b0', False, 0): _result(0.55, small=0.3),
        ('fosp_mit-b0', False, 1): _result(0.56),
        ('segformer_mit-b0_256', False, 0): _result(0.90),
    }
    rows = early.run_rows(results, CTX, dict(iters=20))
    by = {(r['name'], r['metric']): r for r in rows}
    fosp = by[('FoSp MiT-B0, seed 0', 'Fbeta_max')]
    assert fosp['baseline'] == 0.50
    assert fosp['ratio'] == pytest.approx(0.05)
    small = by[('FoSp MiT-B0, seed 0', 'small.mIoU_img')]
    assert small['goal'] == 'value >= 0.25' and small['goal_met'] is True
    assert small['details']['num_images'] == 242.0
    pair = [r for r in rows if r['metric'].startswith('Fbeta_max difference')]
    assert [r['metric'] for r in pair] == [
        'Fbeta_max difference, mean over seeds',
        'Fbeta_max difference, smallest over seeds'
    ]
    assert pair[0]['value'] == pytest.approx(0.045)
    assert pair[0]['goal_met'] is True
    assert pair[1]['value'] == pytest.approx(0.04)  # 0.56 - 0.52
    spread = [r for r in rows if r['metric'] == 'Fbeta_max mean over seeds']
    assert {r['name']
            for r in spread} == {
                'SegFormer MiT-B0, seeds [0, 1]', 'FoSp MiT-B0, seeds [0, 1]'
            }
    seg = [r for r in spread if r['name'].startswith('SegFormer')][0]
    assert seg['details']['spread'] == pytest.approx(0.02)
    assert by[('SegFormer MiT-B0, seeds [0, 1]',
               'Fbeta_max spread over seeds (max - min)')]['value'] == \
        pytest.approx(0.02)
    # a difference is not printed as a factor
    from benchmarks.tables import row_table
    lines = row_table([fosp], show_settings=False)
    assert '0.05 |' in ' '.join(lines) and '0.05x' not in ' '.join(lines)
    # the "before" recipe is not a candidate for the best light model
    [best] = [r for r in rows if r['name'].startswith('best light model')]
    assert best['value'] == 0.56 and best['goal_met'] is False
    table = '\n'.join(early.render_table(rows))
    assert 'FoSp MiT-B0, seed 1' in table and '0.560' in table


def test_suite_refuses_a_missing_data_root(tmp_path):
    args = _args(
        data_root=str(tmp_path),
        early_models=['segformer_mit-b0'],
        early_overlay='off',
        early_seeds=[0])
    with pytest.raises(FileNotFoundError, match='SMOKE5K'):
        early.suite_early_smoke(args, CTX)


def test_collect_only_trains_nothing(tmp_path):
    """--early-collect-only reports finished runs and skips the rest."""
    import json
    data = tmp_path / 'data' / 'SMOKE5K'
    for sub in ('train/img', 'train/gt', 'test/img', 'test/gt'):
        (data / sub).mkdir(parents=True)
    work = tmp_path / 'work'
    args = _args(
        data_root=str(tmp_path / 'data'),
        early_models=['segformer_mit-b0'],
        early_overlay='both',
        early_seeds=[0],
        early_work_dir=str(work),
        early_collect_only=True,
        early_keep_going=False,
        resume=False,
        skip_existing=True)
    settings = early.budget(args)
    run = work / 'segformer_mit-b0'
    run.mkdir(parents=True)
    ckpt = run / 'iter_20.pth'
    ckpt.write_bytes(b'')
    stamp = dict(settings, data_root=str(data), seed=0, run='segformer_mit-b0')
    result = dict(_result(0.4), extra_metrics={}, checkpoint=str(ckpt))
    (run / 'benchmark_result.json').write_text(
        json.dumps(
            dict(
                stamp=stamp,
                checkpoint_mtime=ckpt.stat().st_mtime,
                result=result)))
    saved = []
    rows = early.suite_early_smoke(args, CTX, saved.append)
    names = {r['name'] for r in rows}
    assert 'SegFormer MiT-B0, seed 0' in names
    assert not any('Overlay' in n for n in names)
    assert saved and saved[-1] == rows
    assert not (work / 'segformer_mit-b0+overlay').exists()


def test_stored_results_invert_the_rows():
    """A run's rows in benchmarks.json give back its result; rows of
    another budget do not."""
    settings = dict(iters=20, threshold=0.5)
    res = dict(_result(0.4), train_s_source='wall-clock')
    rows = early.run_rows({('fosp_mit-b0', True, 1): res}, CTX, settings)
    other = early.run_rows({('segformer_mit-b0', False, 0): _result(0.3)},
                           CTX, dict(settings, iters=40))
    stored = early.stored_results(rows + other, settings)
    assert set(stored) == {'fosp_mit-b0+overlay@seed1'}
    back = stored['fosp_mit-b0+overlay@seed1']
    assert back['metrics'] == res['metrics']
    assert (back['train_s'], back['train_s_source'],
            back['test_s']) == (100.0, 'wall-clock', 10.0)
    # the same rows again, still naming the machine and command they were
    # measured with, not those of the run that re-uses them
    later = dict(CTX, device='another CPU', command='python later')
    again = early.run_rows({('fosp_mit-b0', True, 1): back}, later, settings)
    assert [(r['name'], r['metric'], r['value'], r['device'], r['command'])
            for r in again] == [(r['name'], r['metric'], r['value'],
                                 r['device'], r['command']) for r in rows]


def test_skip_existing_reuses_reported_runs_without_work_dir(tmp_path):
    """A finished run whose work dir is gone is taken from the report's
    rows with --skip-existing (nothing trains); without it, it would
    train."""
    data = tmp_path / 'data' / 'SMOKE5K'
    for sub in ('train/img', 'train/gt', 'test/img', 'test/gt'):
        (data / sub).mkdir(parents=True)
    args = _args(
        data_root=str(tmp_path / 'data'),
        early_models=['segformer_mit-b0'],
        early_overlay='off',
        early_seeds=[0],
        early_work_dir=str(tmp_path / 'work'),
        early_collect_only=False,
        early_keep_going=False,
        resume=False,
        retest=False,
        skip_existing=True)
    reported = early.run_rows({('segformer_mit-b0', False, 0): _result(0.4)},
                              CTX, early.budget(args))
    rows = early.suite_early_smoke(args, dict(CTX, report_rows=reported))
    by = {(r['name'], r['metric']): r['value'] for r in rows}
    assert by[('SegFormer MiT-B0, seed 0', 'Fbeta_max')] == 0.4
    assert not (tmp_path / 'work').exists()


def _train_line(stamp, it, per_iter):
    return (f'{stamp} - mmengine - INFO - Iter(train) [{it:4d}/300]  '
            f'lr: 1.0000e-03  eta: 0:01:00  time: {per_iter:.4f}  '
            'data_time: 0.0100  loss: 0.5000\n')


def test_logged_train_seconds_across_a_resumption(tmp_path):
    """Time stamps between logged iterations, `time` before the first one;
    iterations redone after a resumption count once."""
    import os

    from benchmarks.training import logged_train_seconds
    assert logged_train_seconds(str(tmp_path)) is None
    first = tmp_path / 'train.log'
    first.write_text('12/05 10:00:00 - mmengine - INFO - start\n' +
                     _train_line('12/05 10:00:20', 100, 0.2) +
                     _train_line('12/05 10:00:50', 200, 0.3) +
                     _train_line('12/05 10:01:30', 250, 0.8))
    # 100 x 0.2 + 30 + 40
    assert logged_train_seconds(str(tmp_path)) == pytest.approx(90.0)
    # resumed from the checkpoint at 200: 250 is logged again, then 300
    resumed = tmp_path / 'train_resumed_1.log'
    resumed.write_text(
        _train_line('12/06 09:00:25', 250, 0.5) +
        _train_line('12/06 09:00:45', 300, 0.4))
    os.utime(first, (1, 1))
    # 20 + 30 + (250: 50 x 0.5 from the resumed log) + 20
    assert logged_train_seconds(str(tmp_path)) == pytest.approx(95.0)


def test_logged_train_seconds_of_the_run_folder_log(tmp_path):
    """mmengine's own log file (``<work>/<timestamp>/<timestamp>.log``,
    copied as train.log) stamps lines with the year."""
    from benchmarks.training import logged_train_seconds
    (tmp_path / 'train.log').write_text(
        _train_line('2026/12/05 10:00:20', 100, 0.2) +
        _train_line('2026/12/05 10:00:50', 200, 0.3))
    assert logged_train_seconds(str(tmp_path)) == pytest.approx(50.0)


def test_retest_keeps_the_stored_training_time(tmp_path, monkeypatch):
    import json

    from mmengine.config import Config

    from benchmarks import training
    tests = []
    monkeypatch.setattr(training, 'run_test',
                        lambda *a, **k: tests.append(a) or dict(m=len(tests)))
    monkeypatch.setattr(training, 'run_logged',
                        lambda *a, **k: pytest.fail('must not train'))
    ckpt = tmp_path / 'iter_20.pth'
    ckpt.write_bytes(b'')
    stamp = dict(iters=20)
    (tmp_path / 'benchmark_result.json').write_text(
        json.dumps(
            dict(
                stamp=stamp,
                checkpoint_mtime=ckpt.stat().st_mtime,
                result=dict(
                    metrics=dict(m=0), extra_metrics={}, train_s=123.0))))
    cfg = Config(dict(work_dir=str(tmp_path)))
    kept = training.train_and_test(
        cfg, str(tmp_path), 20, stamp, skip_existing=True)
    assert kept['metrics'] == dict(m=0) and not tests
    again = training.train_and_test(
        cfg, str(tmp_path), 20, stamp, skip_existing=True, retest=True)
    assert again['metrics'] == dict(m=1)
    assert again['train_s'] == 123.0
    assert again['train_s_source'] == 'wall-clock'


def test_long_suite_own_work_dir_rows_and_time_goal(tmp_path, monkeypatch):
    """early_smoke_long trains the same runs in its own work dir, under its
    own suite name, and checks the training time against 3 hours."""
    from benchmarks.suites import early_smoke_long as long
    data = tmp_path / 'data' / 'SMOKE5K'
    for sub in ('train/img', 'train/gt', 'test/img', 'test/gt'):
        (data / sub).mkdir(parents=True)
    calls = []

    def fake_train_and_test(cfg, work, iters, stamp, **kw):
        calls.append((work, iters, stamp))
        return dict(
            _result(0.72),
            train_s=2.5 * 3600,
            train_s_source='logged iterations')

    monkeypatch.setattr(early, 'train_and_test', fake_train_and_test)
    args = _args(
        iters=6000,
        data_root=str(tmp_path / 'data'),
        long_models=['transbvm_mit-b0'],
        long_overlay='on',
        long_seed=1,
        long_work_dir=str(tmp_path / 'long'),
        resume=True,
        skip_existing=True)
    saved = []
    rows = long.run(args, dict(CTX, save_rows=saved.append))
    [(work, iters, stamp)] = calls
    assert work == str(tmp_path / 'long' / 'transbvm_mit-b0+overlay@seed1')
    assert iters == 6000 and stamp['time_budget'] == '3 h training'
    assert {r['suite'] for r in rows} == {'early_smoke_long'}
    by = {(r['name'], r['metric']): r for r in rows}
    label = 'Trans-BVM MiT-B0 + SyntheticSmokeOverlay, seed 1'
    hours = by[(label, 'training hours')]
    assert hours['value'] == pytest.approx(2.5) and hours['goal_met'] is True
    assert by[('best light model: ' + label, 'Fbeta_max')]['goal_met']
    assert saved[-1] == rows
