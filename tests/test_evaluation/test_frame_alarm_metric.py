"""FrameAlarmMetric end to end, by hand and against SmokeMetric."""
import json
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmseg.registry import METRICS

from mmsmoke.evaluation import FrameAlarmMetric, SmokeMetric
from mmsmoke.evaluation.metrics import frame_alarm_metric


def make_sample(prob, gt, name='img', size_group=None):
    """A data sample in the dict form mmengine's Evaluator hands over."""
    sample = dict(
        img_path=f'/data/train/img/{name}.jpg',
        seg_logits=dict(
            data=torch.as_tensor(np.asarray(prob), dtype=torch.float32)[None]),
        gt_sem_seg=dict(
            data=torch.as_tensor(np.asarray(gt), dtype=torch.long)[None]))
    if size_group is not None:
        sample['size_group'] = size_group
    return sample


def run(metric, samples, chunks=1):
    for part in np.array_split(np.arange(len(samples)), chunks):
        metric.process({}, [samples[i] for i in part])
    return metric.compute_metrics(metric.results)


def frame(max_prob, n_smoke=0, hot=1, side=10):
    """A side x side frame: ``n_smoke`` smoke pixels in the first row(s),
    ``hot`` pixels of probability ``max_prob``, the rest 0.05."""
    gt = np.zeros(side * side, int)
    gt[:n_smoke] = 1
    prob = np.full(side * side, 0.05)
    prob[:hot] = max_prob
    return prob.reshape(side, side), gt.reshape(side, side)


def hand_set():
    """3 smoke frames (max 0.9, 0.8, 0.4) and 4 smoke-free ones (max 0.7,
    0.3, 0.2, 0.1), as in test_frame_scores.small_set."""
    samples = []
    for i, (p, n) in enumerate([(0.9, 20), (0.8, 20), (0.4, 20), (0.7, 0),
                                (0.3, 0), (0.2, 0), (0.1, 0)]):
        samples.append(make_sample(*frame(p, n), name=f'f{i}'))
    return samples


def test_registered_and_hand_computed():
    metric = METRICS.build(
        dict(type='FrameAlarmMetric', fpr_targets=(0.0, 0.25)))
    assert isinstance(metric, FrameAlarmMetric)
    res = run(metric, hand_set())
    assert next(iter(res)) == 'frame_AP'
    assert res['frame_AP'] == pytest.approx((1 + 1 + 3 / 4) / 3)
    assert res['frame_AUROC'] == pytest.approx(11 / 12)
    assert res['frame_TPR_at_FPR0'] == pytest.approx(2 / 3)
    assert res['frame_TPR_at_FPR25'] == 1.0
    assert res['frame_num_positive'] == 3
    assert res['frame_num_negative'] == 4
    assert res['frame_num_excluded'] == 0 and res['frame_num_unscored'] == 0
    # 20 of 100 pixels: 'large' with the default cuts
    assert res['large.frame_num_positive'] == 3
    assert res['small.frame_num_positive'] == 0
    assert 'frame_detection_rate' not in res  # no operating point


def test_operating_point_rates_and_strata():
    samples = hand_set()
    samples[0]['size_group'] = 'small'
    res = run(FrameAlarmMetric(alarm_threshold=0.5), samples)
    assert res['frame_alarm_threshold'] == 0.5
    assert res['frame_detection_rate'] == pytest.approx(2 / 3)
    assert res['frame_false_alarm_rate'] == pytest.approx(1 / 4)
    assert res['small.frame_detection_rate'] == 1.0
    assert res['large.frame_detection_rate'] == pytest.approx(1 / 2)
    assert math.isnan(res['medium.frame_detection_rate'])


@pytest.mark.parametrize('threshold', [0.25, 0.5, 0.75])
def test_max_score_reproduces_smoke_metric_alarms(threshold):
    """max > t is SmokeMetric's rule "any pixel above t"."""
    samples = hand_set()
    frames = run(FrameAlarmMetric(alarm_threshold=threshold), samples)
    pixels = run(SmokeMetric(threshold=threshold), samples)
    assert frames['frame_false_alarm_rate'] == pixels['false_alarm_rate']
    assert frames['frame_detection_rate'] == pixels['detection_rate']


def test_kth_score_reproduces_min_alarm_area():
    rng = np.random.default_rng(0)
    samples = []
    for i in range(12):
        gt = np.zeros((8, 10), int)
        if i % 2:
            gt[2:4, 3:7] = 1
        prob = rng.random((8, 10))**4
        samples.append(make_sample(prob, gt, f'r{i}'))
    frames = run(
        FrameAlarmMetric(score='kth', topk=0.05, alarm_threshold=0.5), samples)
    pixels = run(SmokeMetric(threshold=0.5, min_alarm_area=0.05), samples)
    assert frames['frame_false_alarm_rate'] == pixels['false_alarm_rate']
    assert frames['frame_detection_rate'] == pixels['detection_rate']


def test_topk_mean_ignores_a_hot_pixel():
    # smoke-free frames with one hot pixel, smoke frames with a plume
    samples = [
        make_sample(*frame(0.99, 0, hot=1), name=f'n{i}') for i in range(3)
    ]
    samples += [
        make_sample(*frame(0.6, 10, hot=10), name=f'p{i}') for i in range(3)
    ]
    assert run(FrameAlarmMetric(), samples)['frame_AUROC'] == 0.0
    res = run(FrameAlarmMetric(score='topk_mean', topk=5), samples)
    assert res['frame_AUROC'] == 1.0


def test_streaming_and_gathered_ranks_equal_one_call():
    samples = hand_set()
    one = run(FrameAlarmMetric(alarm_threshold=0.5), samples)
    chunked = run(FrameAlarmMetric(alarm_threshold=0.5), samples, chunks=3)
    # two "ranks", their results concatenated as mmengine gathers them
    a, b = FrameAlarmMetric(alarm_threshold=0.5), FrameAlarmMetric(
        alarm_threshold=0.5)
    a.process({}, samples[::2])
    b.process({}, samples[1::2])
    gathered = a.compute_metrics(a.results + b.results)
    for key in one:
        assert chunked[key] == pytest.approx(one[key], nan_ok=True)
        assert gathered[key] == pytest.approx(one[key], nan_ok=True)


def test_ignore_excluded_and_unscored_frames():
    prob, gt = frame(0.1, 0)
    prob[9, 9], gt[9, 9] = 0.95, 255  # a hot ignored pixel
    few = frame(0.9, 2)  # 2 smoke pixels < min_smoke_pixels
    prob_u, gt_u = frame(0.9, 0)
    gt_u[:] = 255
    samples = [
        make_sample(prob, gt, 'neg'),
        make_sample(*few, 'few'),
        make_sample(*frame(0.8, 20), 'pos'),
        make_sample(prob_u, gt_u, 'ignored')
    ]
    res = run(
        FrameAlarmMetric(min_smoke_pixels=5, alarm_threshold=0.5), samples)
    assert res['frame_false_alarm_rate'] == 0.0  # 0.95 is ignored
    assert res['frame_num_excluded'] == 1 and res['frame_num_unscored'] == 1
    assert res['frame_num_positive'] == 1 and res['frame_num_negative'] == 1
    assert res['frame_AUROC'] == 1.0


def test_degenerate_sets_report_nan(monkeypatch):
    seen = []
    monkeypatch.setattr(frame_alarm_metric, 'print_log',
                        lambda msg, **kw: seen.append(msg))
    samples = [make_sample(*frame(0.9, 20), name=f'p{i}') for i in range(2)]
    res = run(FrameAlarmMetric(alarm_threshold=0.5), samples)
    assert math.isnan(res['frame_AP']) and math.isnan(res['frame_AUROC'])
    assert math.isnan(res['frame_TPR_at_FPR1'])
    assert math.isnan(res['frame_false_alarm_rate'])
    assert res['frame_detection_rate'] == 1.0
    res = run(FrameAlarmMetric(), [])
    assert res['frame_num_positive'] == 0 and math.isnan(res['frame_AP'])


def test_listed_next_to_smoke_metric():
    evaluator = Evaluator([
        dict(type='SmokeMetric', return_reliability_bins=False),
        dict(type='FrameAlarmMetric', alarm_threshold=0.5),
        dict(type='FrameAlarmMetric', score='topk_mean', prefix='topk')
    ])
    samples = hand_set()
    evaluator.process(samples, {})
    res = evaluator.evaluate(len(samples))
    assert next(iter(res)) == 'mIoU_img'
    assert res['frame_AUROC'] == pytest.approx(11 / 12)
    assert 'topk/frame_AUROC' in res and 'false_alarm_rate' in res


def test_scores_file_and_operating_point_round_trip(tmp_path, load_tool):
    tool = load_tool('tools/analysis_tools/choose_operating_point.py',
                     'mmsmoke_choose_operating_point')
    metric = FrameAlarmMetric(
        score='topk_mean', topk=2, output_dir=str(tmp_path))
    run(metric, hand_set())
    data = json.loads((tmp_path / 'frame_scores.json').read_text())
    assert (data['score'], data['topk'], data['min_smoke_pixels']) == \
        ('topk_mean', 2, 1)
    assert len(data['frames']) == 7
    assert data['frames'][0]['score'] == pytest.approx((0.9 + 0.05) / 2)
    record = tool.operating_point(
        str(tmp_path / 'frame_scores.json'), target_fpr=0.25)
    # smoke-free top-2 means 0.375, 0.175, 0.125, 0.075: one may alarm
    assert record['threshold'] == pytest.approx(0.175)
    assert record['fpr'] == 0.25 and record['tpr'] == 1.0
    path = tmp_path / 'op.json'
    path.write_text(json.dumps(record))
    res = run(
        FrameAlarmMetric(score='topk_mean', topk=2, operating_point=path),
        hand_set())
    assert res['frame_alarm_threshold'] == pytest.approx(0.175)
    assert res['frame_false_alarm_rate'] == 0.25
    with pytest.raises(ValueError, match=r'op.json: "topk"'):
        FrameAlarmMetric(score='topk_mean', topk=3, operating_point=path)
    with pytest.raises(ValueError, match=r'op.json: "score"'):
        FrameAlarmMetric(operating_point=path)


def test_bad_arguments_name_the_metric():
    for kwargs, match in [
        (dict(score='mean'), 'score must be one of'),
        (dict(topk=0), 'topk'),
        (dict(fpr_targets=(1.0, )), 'fpr_targets'),
        (dict(min_smoke_pixels=0), 'min_smoke_pixels'),
        (dict(alarm_threshold=1.5), 'alarm_threshold'),
        (dict(alarm_threshold=0.5,
              operating_point='x.json'), 'set alarm_threshold or'),
        (dict(size_thresholds=(0.1, 0.05)), 'size_thresholds'),
        (dict(ignore_index=1), 'ignore_index'),
    ]:
        with pytest.raises(ValueError, match=f'FrameAlarmMetric: {match}'):
            FrameAlarmMetric(**kwargs)
    with pytest.raises(FileNotFoundError, match='nope.json'):
        FrameAlarmMetric(operating_point='nope.json')
