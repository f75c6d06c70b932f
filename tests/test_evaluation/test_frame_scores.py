"""Frame scores, frame ranking metrics and operating points, by hand."""
import math

import numpy as np
import pytest
import torch

from mmsmoke.apis.frame_summary import presence_score
from mmsmoke.evaluation.functional import frame_alarms
from mmsmoke.evaluation.functional.frame_alarms import (
    EXCLUDED, choose_operating_point, fpr_key, frame_label,
    frame_ranking_family, load_operating_point, operating_point_family,
    read_operating_point, tpr_at_fpr)
from mmsmoke.evaluation.functional.frame_scores import (frame_scores,
                                                        topk_counts)

PROB = torch.tensor([[0.1, 0.9, 0.2], [0.4, 0.3, 0.8]])


@pytest.fixture
def warnings(monkeypatch):
    """The messages frame_alarms logs."""
    seen = []
    monkeypatch.setattr(frame_alarms, 'print_log',
                        lambda msg, **kw: seen.append(msg))
    return seen


@pytest.mark.parametrize(
    'score, topk, expected',
    [
        ('max', 2, 0.9),
        ('topk_mean', 2, (0.9 + 0.8) / 2),
        ('kth', 2, 0.8),
        ('topk_mean', 0.5, (0.9 + 0.8 + 0.4) / 3),  # ceil(0.5 * 6) = 3
        ('kth', 0.5, 0.4),
        ('topk_mean', 1.0, PROB.mean().item()),  # every pixel
        ('topk_mean', 10, PROB.mean().item()),  # a count is capped at N
    ])
def test_scores_of_a_tiny_map(score, topk, expected):
    out = frame_scores(PROB, score=score, topk=topk)
    assert out.shape == (1, ) and out.dtype == torch.float32
    assert out.item() == pytest.approx(expected, abs=1e-6)


def test_ignored_pixels_and_batches():
    valid = torch.ones(2, 2, 3, dtype=torch.bool)
    valid[0, 0, 1] = False  # hides 0.9 in the first map
    probs = torch.stack([PROB, PROB.flip(0)])
    assert frame_scores(probs, valid).tolist() == pytest.approx([0.8, 0.9])
    # map 0: 5 valid pixels, ceil(0.5 * 5) = 3 -> (0.8 + 0.4 + 0.3) / 3;
    # map 1: 6 valid pixels, k = 3 -> (0.9 + 0.8 + 0.4) / 3
    out = frame_scores(probs, valid, 'topk_mean', 0.5)
    assert out.tolist() == pytest.approx([0.5, 0.7], abs=1e-6)
    out = frame_scores(probs, valid, 'kth', 2)
    assert out.tolist() == pytest.approx([0.4, 0.8], abs=1e-6)
    with pytest.raises(ValueError, match='no non-ignored pixel'):
        frame_scores(PROB, torch.zeros(2, 3, dtype=torch.bool))


def test_topk_mean_is_robust_to_a_hot_pixel():
    prob = torch.zeros(10, 10)
    prob[3, 3] = 1.0
    assert frame_scores(prob).item() == 1.0
    assert frame_scores(prob, score='topk_mean', topk=4).item() == 0.25
    plume = torch.zeros(10, 10)
    plume[:2, :2] = 0.8
    assert frame_scores(
        plume, score='topk_mean', topk=4).item() == pytest.approx(0.8)


def test_topk_counts_and_bad_topk():
    assert topk_counts([300, 1, 1000], 0.01) == [3, 1, 10]
    assert topk_counts([5, 50], 8) == [5, 8]
    for bad in (0, 0.0, 1.5, -2, True, '3'):
        with pytest.raises(ValueError, match='topk'):
            topk_counts([10], bad)
    with pytest.raises(ValueError, match='score must be one of'):
        frame_scores(PROB, score='mean')


def test_kth_is_the_presence_score_of_apis():
    rng = np.random.default_rng(0)
    for min_area in (0.001, 0.01, 0.05, 0.3):
        prob = rng.random((3, 23, 31)).astype(np.float32)
        ours = frame_scores(torch.from_numpy(prob), score='kth', topk=min_area)
        ref = [presence_score(p, min_area) for p in prob]
        assert ours.tolist() == ref
    assert frame_scores(torch.from_numpy(prob)).tolist() == [
        presence_score(p, 0.0) for p in prob
    ]


def test_labels_and_keys():
    assert frame_label(0) == 0 and frame_label(1) == 1
    assert frame_label(4, min_smoke_pixels=5) == EXCLUDED
    assert frame_label(5, min_smoke_pixels=5) == 1
    assert fpr_key(0.01) == 'FPR1' and fpr_key(0.05) == 'FPR5'
    assert fpr_key(0.005) == 'FPR0p5'


def small_set():
    """3 smoke and 4 smoke-free frames, ranked P P N P N N N."""
    return [0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1], [1, 1, 1, 0, 0, 0, 0]


def test_ap_auroc_tpr_on_a_hand_made_set():
    scores, labels = small_set()
    res = frame_ranking_family(scores, labels, fpr_targets=(0.0, 0.1, 0.25))
    # 11 of the 12 (smoke, smoke-free) pairs are ranked right
    assert res['frame_AUROC'] == pytest.approx(11 / 12)
    # precision at each smoke frame: 1/1, 2/2, 3/4
    assert res['frame_AP'] == pytest.approx((1 + 1 + 3 / 4) / 3)
    assert res['frame_TPR_at_FPR0'] == pytest.approx(2 / 3)
    assert res['frame_TPR_at_FPR10'] == pytest.approx(2 / 3)
    assert res['frame_TPR_at_FPR25'] == 1.0
    # excluded frames are dropped
    res2 = frame_ranking_family(scores + [0.95], labels + [EXCLUDED])
    assert res2['frame_AUROC'] == pytest.approx(11 / 12)


def hundred_negatives():
    """100 smoke-free frames scored i / 200 (i = 1..100) and 5 smoke
    frames."""
    neg = [i / 200 for i in range(1, 101)]
    pos = [0.6, 0.499, 0.4975, 0.4825, 0.2]
    return pos + neg, [1] * 5 + [0] * 100


def test_tpr_at_1_and_5_percent_false_alarms():
    scores, labels = hundred_negatives()
    res = frame_ranking_family(scores, labels)
    # FPR <= 1%: at most the negative 0.5 alarms (threshold 0.495):
    # 0.6, 0.499, 0.4975 are found
    assert res['frame_TPR_at_FPR1'] == pytest.approx(3 / 5)
    # FPR <= 5%: negatives 0.5 ... 0.48 alarm (threshold 0.475): + 0.4825
    assert res['frame_TPR_at_FPR5'] == pytest.approx(4 / 5)
    assert tpr_at_fpr(scores, labels, 0.05) == pytest.approx(4 / 5)
    # negatives below each smoke frame: 100, 99, 99, 96 and 39, plus the
    # negative 0.2 that ties the smoke frame 0.2 (half a pair)
    assert res['frame_AUROC'] == pytest.approx(433.5 / 500)
    # precision at the smoke frames ranked 1, 3, 4 and 8; the last one
    # shares its threshold with the tied negative: 5 of 66 frames >= 0.2
    assert res['frame_AP'] == pytest.approx(
        (1 + 2 / 3 + 3 / 4 + 4 / 8 + 5 / 66) / 5)


def test_choose_operating_point_by_hand():
    scores, labels = hundred_negatives()
    # m = floor(0.02 * 100) = 2 negatives may alarm -> the 3rd largest
    point = choose_operating_point(scores, labels, 0.02)
    assert point['threshold'] == 0.49
    assert point['fpr'] == pytest.approx(0.02)
    assert point['tpr'] == pytest.approx(3 / 5)
    assert (point['num_negative'], point['num_positive']) == (100, 5)
    # a lower threshold would exceed the target
    neg = np.array(scores[5:])
    below = np.nextafter(point['threshold'], 0)
    assert (neg > below).mean() > 0.02
    point = choose_operating_point(scores, labels, 0.0)
    assert point['threshold'] == 0.5 and point['fpr'] == 0.0
    assert point['tpr'] == pytest.approx(1 / 5)
    # ties move together: the achieved rate can stay below the target
    point = choose_operating_point([0.3, 0.3, 0.3, 0.1], [0] * 4, 0.5)
    assert point['threshold'] == 0.3 and point['fpr'] == 0.0
    # fewer than 1 / target negatives: the largest negative score
    point = choose_operating_point([0.9, 0.2, 0.6], [1, 0, 0], 0.05)
    assert point['threshold'] == 0.6 and point['tpr'] == 1.0


def test_operating_point_reaches_the_tpr_at_fpr():
    """The chosen threshold is the best single threshold within the
    target, so on the same frames its TPR is the ROC's TPR at FPR."""
    rng = np.random.default_rng(1)
    scores = np.round(
        np.concatenate([rng.beta(5, 2, 60),
                        rng.beta(2, 5, 300)]), 3)
    labels = [1] * 60 + [0] * 300
    for target in (0.0, 0.01, 0.02, 0.05, 0.2):
        point = choose_operating_point(scores, labels, target)
        assert point['fpr'] <= target + 1e-12
        assert point['tpr'] == pytest.approx(
            tpr_at_fpr(scores, labels, target))


def test_operating_point_family_and_strata():
    scores = [0.9, 0.5, 0.7, 0.3, 0.6, 0.2, 0.95]
    labels = [1, 1, 1, 1, 0, 0, EXCLUDED]
    groups = ['small', 'small', 'large', 'medium', 'none', 'none', 'small']
    res = operating_point_family(scores, labels, 0.5, groups)
    assert res['frame_alarm_threshold'] == 0.5
    assert res['frame_detection_rate'] == 0.5  # 0.5 is not > 0.5
    assert res['frame_false_alarm_rate'] == 0.5
    assert res['small.frame_detection_rate'] == 0.5
    assert res['medium.frame_detection_rate'] == 0.0
    assert res['large.frame_detection_rate'] == 1.0


def test_degenerate_sets_give_nan_with_a_warning(warnings):
    res = frame_ranking_family([0.2, 0.9], [1, 1])
    assert all(math.isnan(v) for v in res.values())
    assert set(res) == {
        'frame_AP', 'frame_AUROC', 'frame_TPR_at_FPR1', 'frame_TPR_at_FPR5'
    }
    assert 'no smoke-free frame' in warnings[-1]
    res = frame_ranking_family([0.2, 0.9], [0, 0])
    assert math.isnan(res['frame_AUROC'])
    assert 'no smoke frame' in warnings[-1]
    res = frame_ranking_family([], [])
    assert math.isnan(res['frame_AP'])
    assert math.isnan(tpr_at_fpr([0.1], [0], 0.01))
    res = operating_point_family([0.2, 0.9], [1, 1], 0.5)
    assert res['frame_detection_rate'] == 0.5
    assert math.isnan(res['frame_false_alarm_rate'])
    point = choose_operating_point([0.2, 0.4], [0, 0], 0.05)
    assert point['threshold'] == 0.4 and math.isnan(point['tpr'])
    with pytest.raises(ValueError, match='no smoke-free frame'):
        choose_operating_point([0.2], [1], 0.05)
    with pytest.raises(ValueError, match='target_fpr'):
        choose_operating_point([0.2], [0], 1.0)


def test_load_operating_point(tmp_path):
    path = tmp_path / 'op.json'
    path.write_text('{"threshold": 0.42, "score": "max", "topk": null}')
    assert load_operating_point(str(path), score='max', topk=None) == 0.42
    with pytest.raises(ValueError, match=r'op.json: "score"'):
        load_operating_point(str(path), score='topk_mean')
    path.write_text('{"score": "max"}')
    with pytest.raises(ValueError, match='op.json: no "threshold"'):
        load_operating_point(str(path))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load_operating_point(str(tmp_path / 'missing.json'))


def test_read_operating_point_checks_the_record(tmp_path):
    path = tmp_path / 'op.json'
    path.write_text('{"threshold": 0.9, "score": "topk_mean", "topk": 5}')
    assert read_operating_point(str(path)) == dict(
        threshold=0.9, score='topk_mean', topk=5)
    # a record without a score is the maximum-probability score
    path.write_text('{"threshold": 1}')
    assert read_operating_point(str(path)) == dict(threshold=1.0,
                                                   score='max')
    for text, match in (('{"threshold": 1.5}', r'op.json: "threshold"'),
                        ('{"threshold": "high"}', r'op.json: "threshold"'),
                        ('{"threshold": 0.5, "score": "mean"}',
                         r'op.json: "score" must be one of'),
                        ('[0.5]', 'op.json: no "threshold"'),
                        ('{"threshold": 0.5, "score": "kth", "topk": 0}',
                         r'op.json: "topk"'),
                        ('{"threshold": ', 'op.json: not a JSON file')):
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            read_operating_point(str(path))
