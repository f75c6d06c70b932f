"""The pretrained benchmark suite (tools/analysis_tools/benchmarks/suites/
pretrained.py): runs, configs, the frame protocol, rows."""
import argparse
import json
import os.path as osp
from pathlib import Path

import pytest
from benchmarks.suites import pretrained as pt


CTX = dict(device='CPU test', command='python benchmark.py --test')


def _args(**kw):
    args = argparse.Namespace(
        pt_iters=20,
        train_batch=2,
        workers=0,
        max_test_images=None,
        threshold=0.5,
        save_interval=None,
        overlay_prob=0.5,
        pt_target_fpr=0.02)
    for key, value in kw.items():
        setattr(args, key, value)
    return args


def _types(pipeline):
    return [t['type'] for t in pipeline]


def test_planned_runs():
    runs = pt.planned_runs(list(pt.DEFAULT_MODELS), 'off', [0, 1], pt.MODELS,
                           pt.SEEDED)
    assert runs == [('segformer_effnet-lite0', False, 0),
                    ('fosp_effnet-lite0', False, 0),
                    ('transbvm_effnet-lite0', False, 0),
                    ('segformer_effnet-lite0', False, 1),
                    ('fosp_effnet-lite0', False, 1),
                    ('transbvm_effnet-lite0', False, 1)]
    with pytest.raises(ValueError, match='unknown models'):
        pt.planned_runs(['fosp_mit-b0'], 'off', [0], pt.MODELS,
                        pt.SEEDED)


@pytest.mark.parametrize('key', list(pt.MODELS))
def test_build_config(key, tmp_path):
    cfg = pt.build_config(key, key.startswith('fosp'), 3, _args(),
                          str(tmp_path), str(tmp_path / 'work'))
    # the pretrained backbone stays on (the offline scheme of the package)
    assert cfg.model.backbone.init_cfg.checkpoint == 'effnet-lite://lite0'
    # the config's fine-tuning recipe is kept
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult == 0.2
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=20)
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.default_hooks.checkpoint.interval == 20
    assert cfg.randomness.seed == 3
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.test_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.test_evaluator.threshold == 0.5
    train = _types(cfg.train_dataloader.dataset.pipeline)
    assert ('SyntheticSmokeOverlay' in train) == key.startswith('fosp')
    variant = pt.MODELS[key][2]
    if variant == 'no_focus':
        assert cfg.model.neck.cascade is False
    if variant == 'no_sep':
        assert cfg.model.separation is None
    losses = [loss['type'] for loss in cfg.model.get('pixel_losses') or []]
    if key.startswith('transbvm'):
        assert ('TransmissionCoherenceLoss' in losses) == (variant !=
                                                           'no_trans')
        assert ('UncertaintyCalibratedEntropyLoss' in losses) == (variant !=
                                                                  'no_uce')


def test_ablation_needs_the_loss(tmp_path):
    from benchmarks.suites.early_smoke_runs import apply_variant
    cfg = pt.build_config('segformer_effnet-lite0', False, 0, _args(),
                          str(tmp_path), str(tmp_path))
    with pytest.raises(ValueError, match='TransmissionCoherenceLoss'):
        apply_variant(cfg, 'no_trans')


def _result(fbeta, small=0.3, detection=0.9):
    return dict(
        metrics={
            'Fbeta_max': fbeta,
            'small.mIoU_img': small,
            'crops/frame_detection_rate': detection,
            'crops/frame_false_alarm_rate': 0.01
        },
        train_s=100.0,
        test_s=10.0)


def test_rows_margins_and_best():
    results = {
        ('segformer_effnet-lite0', False, 0): _result(0.60),
        ('fosp_effnet-lite0', False, 0): _result(0.65),
        ('segformer_effnet-lite0', False, 1): _result(0.62),
        ('fosp_effnet-lite0', False, 1): _result(0.63),
        ('fosp_effnet-lite0_no-sep', False, 0): _result(0.58),
    }
    rows = pt.run_rows(results, CTX, dict(iters=20))
    by = {(r['name'], r['metric']): r for r in rows}
    fosp0 = by[('FoSp, Lite0, seed 0', 'Fbeta_max')]
    assert fosp0['baseline'] == pytest.approx(0.60)
    assert fosp0['ratio'] == pytest.approx(0.05)
    assert fosp0['settings']['run'] == 'fosp_effnet-lite0'
    assert by[('FoSp, Lite0, seed 1',
               'Fbeta_max')]['settings']['run'] == 'fosp_effnet-lite0@seed1'
    # the margin is the smallest over the seeds: 0.01 misses 0.02
    [margin] = [
        r for r in rows
        if r['metric'] == 'Fbeta_max difference, smallest over seeds'
    ]
    assert margin['value'] == pytest.approx(0.01)
    assert margin['goal_met'] is False
    # an ablation is compared with the baseline but gets no margin row
    assert by[('FoSp without Separation, Lite0, seed 0',
               'Fbeta_max')]['ratio'] == pytest.approx(-0.02)
    assert 'FoSp without Separation' not in margin['name']
    mean = [r for r in rows if r['metric'] == 'Fbeta_max mean over seeds']
    assert {r['name'] for r in mean} == {
        'SegFormer head, Lite0, seeds [0, 1]', 'FoSp, Lite0, seeds [0, 1]'
    }
    [best] = [r for r in rows if r['name'].startswith('best')]
    assert best['value'] == pytest.approx(0.65)
    assert best['goal_met'] is False
    small = by[('FoSp, Lite0, seed 0', 'small.mIoU_img')]
    assert small['goal'] == 'value >= 0.5' and small['goal_met'] is False
    alarms = by[('FoSp, Lite0, seed 0', 'crops/frame_false_alarm_rate')]
    assert alarms['goal_met'] is True
    lines = pt.render(rows)
    assert any(line.startswith('Frame protocol') for line in lines)
    # no run has synthetic figures: no table of them
    assert not any(line.startswith('Synthetic test set') for line in lines)
    assert any('| FoSp, Lite0, seed 0 | ' in line and '0.900' in line
               for line in lines)


def test_before_rows():
    report = [
        dict(
            suite='early_smoke_long',
            name='Trans-BVM MiT-B0, seed 0',
            metric='Fbeta_max',
            value=0.565,
            unit='',
            device='old CPU',
            command='python old',
            settings=dict(iters=3500)),
        dict(
            suite='early_smoke_long',
            name='Trans-BVM MiT-B0, seed 0',
            metric='training hours',
            value=2.1),
        dict(suite='early_smoke', name='x', metric='Fbeta_max', value=0.1)
    ]
    [row] = pt.before_rows(report, CTX)
    assert row['suite'] == 'pretrained'
    assert row['name'].startswith('before (from scratch')
    assert row['value'] == 0.565
    assert row['device'] == 'old CPU' and row['command'] == 'python old'
    assert row['settings'] == dict(iters=3500)


def test_frame_tests_choose_on_train_apply_on_test(tmp_path, monkeypatch):
    """The operating point comes from the train crops' scores and is
    handed, as a file, to the test crops' metric."""
    from mmengine.config import Config
    work = tmp_path / 'work'
    work.mkdir()
    cfg = pt.build_config('segformer_effnet-lite0', False, 0, _args(),
                          str(tmp_path), str(work))
    cfg.dump(str(work / 'benchmark_config.py'))
    calls = []

    def fake_run_test(cfg_path, ckpt, test_dir, log_path, extra=()):
        test_cfg = Config.fromfile(cfg_path)
        calls.append(test_cfg)
        evaluator = test_cfg.test_evaluator
        if 'output_dir' in evaluator:  # the train crops
            frames = [
                dict(img_path=f'train/img/n{i}.png', score=i / 100, label=0)
                for i in range(100)
            ] + [
                dict(img_path=f'train/img/s{i}.png', score=0.99, label=1)
                for i in range(10)
            ]
            Path(evaluator.output_dir).mkdir(parents=True)
            with open(osp.join(evaluator.output_dir, 'frame_scores.json'),
                      'w') as f:
                json.dump(
                    dict(
                        score='max',
                        topk=None,
                        min_smoke_pixels=1,
                        frames=frames), f)
            return {}
        prefix = evaluator.prefix
        return {f'{prefix}/frame_detection_rate': len(prefix) / 10}

    monkeypatch.setattr(pt, 'run_test', fake_run_test)
    metrics = pt.frame_tests(
        dict(checkpoint=str(work / 'iter_20.pth')), str(work),
        str(tmp_path / 'frames'), 0.02, str(tmp_path / 'synthetic'))
    assert metrics == {
        'crops/frame_detection_rate': 0.5,
        'synthetic/frame_detection_rate': 0.9
    }
    train_cfg, test_cfg, synthetic_cfg = calls
    for test, root, split in ((train_cfg, 'frames', 'train'),
                              (test_cfg, 'frames', 'test'),
                              (synthetic_cfg, 'synthetic', 'test')):
        data = test.test_dataloader.dataset
        assert data.data_root == str(tmp_path / root)
        assert data.data_prefix.img_path == f'{split}/img'
    assert test_cfg.test_evaluator.type == 'FrameAlarmMetric'
    assert test_cfg.test_evaluator.prefix == 'crops'
    # the synthetic set is decided at the same, train-chosen point
    assert synthetic_cfg.test_evaluator.prefix == 'synthetic'
    assert (synthetic_cfg.test_evaluator.operating_point ==
            test_cfg.test_evaluator.operating_point)
    with open(test_cfg.test_evaluator.operating_point) as f:
        point = json.load(f)
    # 2% of 100 smoke-free scores 0.00..0.99 may alarm: threshold 0.97
    assert point['threshold'] == pytest.approx(0.97)
    assert point['score'] == 'max' and point['topk'] is None
    from mmsmoke.evaluation.functional.frame_alarms import \
        load_operating_point
    assert load_operating_point(
        test_cfg.test_evaluator.operating_point,
        score='max',
        topk=None,
        min_smoke_pixels=1) == pytest.approx(0.97)


def test_suite_registered(bench):
    args = bench.parse_args(['--suite', 'pretrained'])
    assert args.pt_iters == 1000
    assert args.pt_models == list(pt.DEFAULT_MODELS)
    with pytest.raises(SystemExit):
        bench.parse_args(['--suite', 'pretrained', '--pt-iters', '0'])
