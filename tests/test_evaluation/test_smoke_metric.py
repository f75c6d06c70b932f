"""Tests of SmokeMetric against hand-computed cases and reference libraries."""
import json
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from PIL import Image
from py_sod_metrics import MAE, Emeasure, FmeasureHandler, FmeasureV2, Smeasure
from torchmetrics.classification import (BinaryCalibrationError,
                                         MulticlassCalibrationError)

from mmsmoke.evaluation.metrics.smoke_metric import SmokeMetric


def make_sample(prob, gt, name='img', size_group=None, logits2=None):
    """A data sample in the dict form mmengine's Evaluator hands over."""
    gt = torch.as_tensor(np.asarray(gt), dtype=torch.long)[None]
    if logits2 is not None:
        seg_logits = torch.as_tensor(logits2, dtype=torch.float32)
    else:
        seg_logits = torch.as_tensor(
            np.asarray(prob), dtype=torch.float32)[None]
    sample = dict(
        img_path=f'/data/test/img/{name}.jpg',
        seg_logits=dict(data=seg_logits),
        gt_sem_seg=dict(data=gt),
        pred_sem_seg=dict(data=(seg_logits[:1] > 0.5).long()))
    if size_group is not None:
        sample['size_group'] = size_group
    return sample


def run(metric, samples, chunks=1):
    """Feed samples in `chunks` process() calls and compute the metrics."""
    for part in np.array_split(np.arange(len(samples)), chunks):
        metric.process({}, [samples[i] for i in part])
    return metric.compute_metrics(metric.results)


def hand_case():
    """Two 4x4 images whose FoSp numbers are worked out by hand."""
    gt_a = np.zeros((4, 4), int)
    gt_a[:2, :2] = 1
    prob_a = np.zeros((4, 4))
    prob_a[0, 0] = prob_a[0, 1] = prob_a[1, 0] = 0.9  # 3 TP
    prob_a[2, 2] = 0.9  # 1 FP
    prob_a[1, 1] = 0.2  # 1 FN
    gt_b = np.zeros((4, 4), int)
    gt_b[2, 2:] = 1
    prob_b = gt_b.astype(float)  # perfect, probability 1.0
    return [make_sample(prob_a, gt_a, 'a'), make_sample(prob_b, gt_b, 'b')]


def random_dataset(seed=0, shapes=((24, 32), (17, 21), (30, 30), (12, 40))):
    rng = np.random.default_rng(seed)
    samples = []
    for i, (h, w) in enumerate(shapes):
        gt = np.zeros((h, w), int)
        y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
        gt[y:y + h // 3, x:x + w // 3] = 1
        noise = rng.random((h, w))
        prob = np.clip(0.6 * gt + 0.5 * noise - 0.1, 0, 1)
        prob[0, 0], prob[-1, -1] = 0.0, 1.0
        samples.append(make_sample(prob, gt, f'r{i}'))
    return samples


def test_registered():
    metric = METRICS.build(dict(type='SmokeMetric', threshold=0.4))
    assert isinstance(metric, SmokeMetric) and metric.threshold == 0.4


def test_fosp_and_pooled_hand_computed():
    res = run(SmokeMetric(), hand_case())
    # save_best='auto' uses the first key and needs a 'greater' name.
    assert next(iter(res)) == 'mIoU_img'
    # Image a: P = R = 3/4 -> F1 .75, IoU 3/5, MSE (3*.01+.64+.81)/16.
    # Image b: perfect -> F1 = IoU = 1, MSE 0.
    assert res['mF1_img'] == pytest.approx((0.75 + 1) / 2)
    assert res['mIoU_img'] == pytest.approx((0.6 + 1) / 2)
    assert res['mMSE_img'] == pytest.approx((1.48 / 16) / 2, rel=1e-6)
    # Pooled: TP 5, FP 1, FN 1.
    assert res['IoU'] == pytest.approx(5 / 7)
    assert res['F1'] == pytest.approx(10 / 12)
    assert res['Precision'] == pytest.approx(5 / 6)
    assert res['Recall'] == pytest.approx(5 / 6)
    assert res['num_images'] == 2 and res['num_negative_images'] == 0
    assert res['detection_rate'] == 1.0
    assert 'false_alarm_rate' not in res
    # Both masks cover >= 5% of the image: only the large group exists.
    assert res['large.num_images'] == 2
    assert res['large.mF1_img'] == pytest.approx(res['mF1_img'])
    assert not any(k.startswith(('small.', 'medium.')) for k in res)


def test_threshold_is_strict_and_configurable():
    gt = np.array([[1, 1], [0, 0]])
    prob = np.array([[0.5, 0.7], [0.3, 0.0]])
    res = run(SmokeMetric(threshold=0.5), [make_sample(prob, gt)])
    assert res['Recall'] == pytest.approx(0.5)  # 0.5 is not > 0.5
    res = run(SmokeMetric(threshold=0.25), [make_sample(prob, gt)])
    assert res['Recall'] == 1.0 and res['Precision'] == pytest.approx(2 / 3)


def test_threshold_none_scores_the_models_mask():
    gt = np.array([[1, 1], [0, 0]])
    prob = np.array([[0.5, 0.7], [0.3, 0.0]])
    sample = make_sample(prob, gt)
    # the head thresholded at 0.25: its mask, not the metric's threshold
    sample['pred_sem_seg'] = dict(
        data=torch.as_tensor(prob > 0.25).long()[None])
    res = run(SmokeMetric(threshold=None), [sample])
    assert res['Recall'] == 1.0 and res['Precision'] == pytest.approx(2 / 3)
    same = run(SmokeMetric(threshold=0.25), [make_sample(prob, gt)])
    assert same['IoU'] == pytest.approx(res['IoU'])
    del sample['pred_sem_seg']
    with pytest.raises(KeyError, match=r'img\.jpg: .*threshold=None.*'
                       r'pred_sem_seg'):
        run(SmokeMetric(threshold=None), [sample])
    with pytest.raises(ValueError, match='or be None'):
        SmokeMetric(threshold=1.5)


def test_size_groups_derived_and_from_metainfo():

    def image(n_smoke, n_hit):
        gt = np.zeros(100, int)
        gt[:n_smoke] = 1
        prob = np.zeros(100)
        prob[:n_hit] = 1.0
        return gt.reshape(10, 10), prob.reshape(10, 10)

    gt_s, p_s = image(5, 5)  # 5% -> small with cuts (0.1, 0.3), F1 1
    gt_l, p_l = image(50, 25)  # 50% -> large, P 1, R .5 -> F1 2/3
    gt_m, p_m = image(20, 10)  # 20%, but metainfo says 'small', F1 2/3
    samples = [
        make_sample(p_s, gt_s, 's'),
        make_sample(p_l, gt_l, 'l'),
        make_sample(p_m, gt_m, 'm', size_group='small')
    ]
    res = run(SmokeMetric(size_thresholds=(0.1, 0.3)), samples)
    assert res['small.num_images'] == 2
    assert res['small.mF1_img'] == pytest.approx((1 + 2 / 3) / 2)
    assert res['small.mIoU_img'] == pytest.approx((1 + 0.5) / 2)
    assert res['large.num_images'] == 1
    assert res['large.mIoU_img'] == pytest.approx(0.5)
    assert res['large.mMSE_img'] == pytest.approx(25 / 100)
    assert not any(k.startswith('medium.') for k in res)
    # Default cut points (0.5% / 5%): 5% is already 'large'.
    res = run(SmokeMetric(), samples[:1])
    assert res['large.num_images'] == 1
    with pytest.raises(ValueError, match='size_group'):
        run(SmokeMetric(), [make_sample(p_s, gt_s, size_group='tiny')])


def test_sod_scores_per_size_group():
    # Small plume (1% with cuts (0.05, 0.3)): ranked above its background
    # but far below the threshold. Per-image normalisation makes the
    # ranking perfect: small.Fbeta_max 1 and MAE 0 while small.mIoU_img 0.
    gt_s = np.zeros((10, 10), int)
    gt_s[0, 0] = 1
    p_s = np.full((10, 10), 0.02)
    p_s[0, 0] = 0.1
    # Large plume (50%), ranked upside down.
    gt_l = np.zeros((10, 10), int)
    gt_l[:5] = 1
    p_l = 1.0 - gt_l.astype(float)
    samples = [make_sample(p_s, gt_s, 's'), make_sample(p_l, gt_l, 'l')]
    res = run(SmokeMetric(size_thresholds=(0.05, 0.3)), samples)
    assert res['small.mIoU_img'] == 0.0
    assert res['small.Fbeta_max'] == pytest.approx(1.0)
    assert res['small.MAE'] == pytest.approx(0.0)
    assert res['large.MAE'] == pytest.approx(1.0)
    # a stratum's scores are those of a run on its images alone
    alone = run(SmokeMetric(size_thresholds=(0.05, 0.3)), samples[1:])
    for key in ('Fbeta_max', 'Fbeta_adp', 'MAE'):
        assert res[f'large.{key}'] == pytest.approx(alone[key])
    assert res['large.Fbeta_max'] < res['small.Fbeta_max']
    assert not any(k.startswith('medium.') for k in res)


def negatives_case():
    gt0 = np.zeros((10, 10), int)
    empty = np.zeros((10, 10))
    one_px = empty.copy()
    one_px[0, 0] = 0.9
    big = empty.copy()
    big[:3] = 0.9  # 30% of the image
    gt1 = np.zeros((10, 10), int)
    gt1[:5] = 1
    pos = gt1 * 0.8  # perfect at 0.5
    return [
        make_sample(empty, gt0, 'n0'),
        make_sample(one_px, gt0, 'n1'),
        make_sample(big, gt0, 'n2'),
        make_sample(pos, gt1, 'p0')
    ]


def test_false_alarm_rate_and_detection_rate():
    res = run(SmokeMetric(), negatives_case())
    assert res['num_images'] == 4 and res['num_negative_images'] == 3
    assert res['false_alarm_rate'] == pytest.approx(2 / 3)
    assert res['detection_rate'] == 1.0
    res = run(SmokeMetric(min_alarm_area=0.1), negatives_case())
    assert res['false_alarm_rate'] == pytest.approx(1 / 3)
    res = run(SmokeMetric(min_alarm_area=0.6), negatives_case())
    assert res['false_alarm_rate'] == 0.0 and res['detection_rate'] == 0.0


def test_empty_gt_policies_and_sod_negatives():
    res = run(SmokeMetric(), negatives_case())
    assert res['mF1_img'] == 1.0 and res['mIoU_img'] == 1.0
    # MSE covers every image: errors .81 (1 px) and 30 * .81 on negatives,
    # 50 * .04 on the positive image.
    mse = [0, 0.81 / 100, 30 * 0.81 / 100, 50 * 0.04 / 100]
    assert res['mMSE_img'] == pytest.approx(np.mean(mse), rel=1e-6)
    assert res['num_sod_images'] == 1
    res = run(SmokeMetric(empty_gt_policy='zero'), negatives_case())
    assert res['mF1_img'] == pytest.approx(0.25)
    assert res['mIoU_img'] == pytest.approx(0.25)
    res = run(SmokeMetric(empty_gt_policy='match'), negatives_case())
    assert res['mF1_img'] == pytest.approx(0.5)
    res = run(SmokeMetric(sod_include_negatives=True), negatives_case())
    assert res['num_sod_images'] == 4
    # Only negatives: F1/IoU/SOD keys are omitted, not NaN.
    res = run(SmokeMetric(), negatives_case()[:3])
    assert 'mF1_img' not in res and 'Fbeta_max' not in res
    assert 'detection_rate' not in res
    assert res['IoU'] == 0.0 and math.isnan(res['Recall'])


@pytest.mark.parametrize('normalize', [True, False])
def test_sod_delegation_matches_pysodmetrics(normalize):
    samples = random_dataset(seed=1)
    res = run(SmokeMetric(sod_normalize=normalize), samples)
    fm = FmeasureV2(
        metric_handlers=dict(
            fm=FmeasureHandler(
                with_dynamic=True, with_adaptive=True, beta=0.3)))
    mae, sm, em = MAE(), Smeasure(), Emeasure()
    for s in samples:
        prob = s['seg_logits']['data'][0].numpy()
        gt = s['gt_sem_seg']['data'][0].numpy() == 1
        if normalize:
            pred = np.rint(prob.astype(np.float64) * 255).astype(np.uint8)
            gt_in = gt.astype(np.uint8) * 255
        else:
            pred, gt_in = prob.astype(np.float64), gt
        for m in (fm, mae, sm, em):
            m.step(pred, gt_in, normalize=normalize)
    fm_res = fm.get_results()['fm']
    em_res = em.get_results()['em']
    expected = {
        'Fbeta_max': fm_res['dynamic'].max(),
        'Fbeta_mean': fm_res['dynamic'].mean(),
        'Fbeta_adp': fm_res['adaptive'],
        'MAE': mae.get_results()['mae'],
        'Smeasure': sm.get_results()['sm'],
        'Emeasure_max': em_res['curve'].max(),
        'Emeasure_mean': em_res['curve'].mean(),
        'Emeasure_adp': em_res['adp'],
    }
    for key, value in expected.items():
        assert res[key] == pytest.approx(float(value), abs=1e-12), key
    assert res['num_sod_images'] == len(samples)


def test_sod_beta_squared_changes_fmeasure():
    samples = random_dataset(seed=2)
    f03 = run(SmokeMetric(), samples)['Fbeta_adp']
    f1 = run(SmokeMetric(sod_beta_squared=1.0), samples)['Fbeta_adp']
    assert f03 != pytest.approx(f1)


def test_calibration_matches_torchmetrics():
    samples = random_dataset(seed=3)
    edges = torch.linspace(0, 1, 16)
    # Put exact 0, 1, 0.5 and every bin edge into the first image.
    flat = samples[0]['seg_logits']['data'].view(-1)
    flat[:16] = edges
    flat[16:19] = torch.tensor([0.0, 1.0, 0.5])
    res = run(SmokeMetric(n_bins=15), samples)
    probs = torch.cat([s['seg_logits']['data'].reshape(-1) for s in samples])
    target = torch.cat([s['gt_sem_seg']['data'].reshape(-1) for s in samples])
    two = torch.stack([1 - probs, probs], 1)
    assert res['ECE'] == pytest.approx(
        float(BinaryCalibrationError(n_bins=15)(probs, target)), abs=1e-5)
    assert res['MCE'] == pytest.approx(
        float(BinaryCalibrationError(n_bins=15, norm='max')(probs, target)),
        abs=1e-5)
    assert res['ECE_toplabel'] == pytest.approx(
        float(
            MulticlassCalibrationError(num_classes=2, n_bins=15)(two, target)),
        abs=1e-5)
    assert res['MCE_toplabel'] == pytest.approx(
        float(
            MulticlassCalibrationError(num_classes=2, n_bins=15,
                                       norm='max')(two, target)),
        abs=1e-5)
    bins = res['reliability_bins']
    assert len(bins['positive_class']['count']) == 16
    assert sum(bins['top_label']['count']) == probs.numel()
    assert bins['positive_class']['ece'] == pytest.approx(res['ECE'])


def test_streaming_equals_one_call():
    samples = random_dataset(seed=4)
    one = run(SmokeMetric(), samples, chunks=1)
    many = run(SmokeMetric(), samples, chunks=len(samples))
    assert one.keys() == many.keys()
    for key in one:
        if key == 'reliability_bins':
            assert one[key] == many[key]
        else:
            assert one[key] == pytest.approx(many[key], nan_ok=True)
    # Records are small, whatever the image size.
    metric = SmokeMetric()
    metric.process({}, random_dataset(seed=5, shapes=((300, 400), )))
    record = metric.results[0]
    arrays = [v for v in record.values() if isinstance(v, np.ndarray)]
    arrays += [v for v in record['sod'].values() if isinstance(v, np.ndarray)]
    assert sum(a.size for a in arrays) <= 700


def test_two_channel_logits():
    samples = random_dataset(seed=6)
    two = []
    for s in samples:
        p = s['seg_logits']['data'][0].double().clamp(1e-6, 1 - 1e-6)
        logit = torch.log(p / (1 - p))
        logits2 = torch.stack([torch.zeros_like(logit), logit]).float()
        gt = s['gt_sem_seg']['data'][0].numpy()
        two.append(make_sample(None, gt, 'two', logits2=logits2))
    # Compare threshold- and probability-based numbers; SOD curves
    # quantise, so small probability differences may move a level.
    ref = run(SmokeMetric(), samples)
    res = run(SmokeMetric(), two)
    for key in ('mF1_img', 'mIoU_img', 'IoU', 'F1'):
        assert res[key] == pytest.approx(ref[key], abs=1e-3), key
    assert res['mMSE_img'] == pytest.approx(ref['mMSE_img'], abs=1e-4)
    assert res['ECE'] == pytest.approx(ref['ECE'], abs=1e-3)
    # A strongly positive channel-1 logit means smoke.
    logits2 = torch.zeros(2, 2, 2)
    logits2[1, 0] = 10.0
    res = run(SmokeMetric(),
              [make_sample(None, [[1, 1], [0, 0]], logits2=logits2)])
    assert res['IoU'] == 1.0


def test_ignore_pixels_are_excluded():
    gt = np.array([[1, 1, 0, 0], [255, 255, 0, 0]])
    prob = np.array([[0.9, 0.8, 0.1, 0.0], [1.0, 0.0, 0.2, 0.3]])
    res = run(SmokeMetric(), [make_sample(prob, gt)])
    assert res['IoU'] == 1.0 and res['Precision'] == 1.0
    assert res['mMSE_img'] == pytest.approx(
        (0.01 + 0.04 + 0.01 + 0 + 0.04 + 0.09) / 6, rel=1e-6)
    p = torch.tensor(prob, dtype=torch.float32).reshape(-1)
    t = torch.tensor(gt).reshape(-1)
    ref = BinaryCalibrationError(n_bins=15, ignore_index=255)(p, t)
    assert res['ECE'] == pytest.approx(float(ref), abs=1e-6)
    assert sum(res['reliability_bins']['positive_class']['count']) == 6
    # A fully ignored image is counted, not scored.
    res = run(SmokeMetric(), [
        make_sample(prob, gt),
        make_sample(prob, np.full((2, 4), 255), 'ignored')
    ])
    assert res['num_images'] == 1 and res['num_unscored_images'] == 1


def test_output_dir_files(tmp_path):
    metric = SmokeMetric(output_dir=str(tmp_path), keep_results=True)
    res = run(metric, hand_case())
    mask = np.array(Image.open(tmp_path / 'pred_masks' / 'a.png'))
    prob = np.array(Image.open(tmp_path / 'prob_maps' / 'a.png'))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    assert (mask == 255).sum() == 4 and mask[2, 2] == 255
    expected = np.rint(np.float32(0.9).astype(np.float64) * 255)
    assert prob[0, 0] == expected and prob[1, 1] == 51 and prob[3, 3] == 0
    bins = json.loads((tmp_path / 'reliability_bins.json').read_text())
    assert bins == json.loads(json.dumps(res['reliability_bins']))
    rows = json.loads((tmp_path / 'per_image_results.json').read_text())
    assert [r['img_path'].split('/')[-1] for r in rows] == ['a.jpg', 'b.jpg']
    assert rows[0]['F1'] == pytest.approx(0.75)
    assert rows[1]['IoU'] == 1.0
    with pytest.raises(ValueError, match='output_dir'):
        SmokeMetric(keep_results=True)


def test_output_dir_saves_the_extra_maps(tmp_path):
    samples = hand_case()
    total = torch.full((1, 4, 4), 0.5)
    total[0, 0, 0] = 1.0
    samples[0]['pred_uncertainty_total'] = dict(data=total)
    samples[0]['pred_uncertainty_epistemic'] = dict(data=total * 0.2)
    layers = torch.zeros(3, 4, 4)
    layers[0] = 1.0  # red
    samples[1]['pred_foreground'] = dict(data=layers)
    run(SmokeMetric(output_dir=str(tmp_path)), samples)
    saved = np.array(
        Image.open(tmp_path / 'maps' / 'uncertainty_total' / 'a.png'))
    assert saved.shape == (4, 4) and saved[0, 0] == 255 and saved[1, 1] == 128
    saved = np.array(
        Image.open(tmp_path / 'maps' / 'uncertainty_epistemic' / 'a.png'))
    assert saved[0, 0] == 51 and saved[1, 1] == 26
    rgb = np.array(Image.open(tmp_path / 'maps' / 'foreground' / 'b.png'))
    assert rgb.shape == (4, 4, 3)
    assert (rgb[..., 0] == 255).all() and (rgb[..., 1:] == 0).all()
    assert not (tmp_path / 'maps' / 'foreground' / 'a.png').exists()


def test_end_to_end_through_evaluator():
    metric = METRICS.build(dict(type='SmokeMetric', prefix='smoke'))
    evaluator = Evaluator([metric])
    data_samples = []
    for s in hand_case():
        ds = SegDataSample(metainfo=dict(img_path=s['img_path']))
        ds.seg_logits = PixelData(data=s['seg_logits']['data'])
        ds.gt_sem_seg = PixelData(data=s['gt_sem_seg']['data'])
        ds.pred_sem_seg = PixelData(data=s['pred_sem_seg']['data'])
        data_samples.append(ds)
    evaluator.process(data_samples=data_samples[:1], data_batch={})
    evaluator.process(data_samples=data_samples[1:], data_batch={})
    res = evaluator.evaluate(2)
    assert res['smoke/mF1_img'] == pytest.approx(0.875)
    assert res['smoke/IoU'] == pytest.approx(5 / 7)
    assert 'smoke/reliability_bins' in res
    assert 'smoke/Fbeta_max' in res and 'smoke/ECE' in res


def test_bad_inputs_raise_clear_errors():
    gt = np.zeros((2, 2), int)
    with pytest.raises(ValueError, match='labels'):
        run(SmokeMetric(), [make_sample(np.zeros((2, 2)), gt + 2, 'x')])
    with pytest.raises(ValueError, match='x.jpg.*probabilities'):
        run(SmokeMetric(), [make_sample(np.full((2, 2), 3.0), gt, 'x')])
    nan_logits = torch.full((2, 2, 2), float('nan'))
    with pytest.raises(ValueError, match='non-finite'):
        run(SmokeMetric(), [make_sample(None, gt, logits2=nan_logits)])
    with pytest.raises(ValueError, match='shape'):
        run(SmokeMetric(), [make_sample(np.zeros((3, 2)), gt)])
    sample = make_sample(np.zeros((2, 2)), gt)
    del sample['seg_logits']
    with pytest.raises(KeyError, match='seg_logits'):
        run(SmokeMetric(), [sample])
    with pytest.raises(ValueError, match='threshold'):
        SmokeMetric(threshold=1.5)
    with pytest.raises(ValueError, match='empty_gt_policy'):
        SmokeMetric(empty_gt_policy='skip')
    with pytest.raises(ValueError, match='size_thresholds'):
        SmokeMetric(size_thresholds=(0.1, 0.05))
    with pytest.raises(ValueError, match='ignore_index'):
        SmokeMetric(ignore_index=1)


def test_smeasure_finite_when_centroid_on_last_row():
    # PySODMetrics 1.6.2 gives NaN here (an empty quadrant of weight 0).
    gt = np.zeros((8, 8), int)
    gt[7, 2:6] = 1
    sm = Smeasure()
    with pytest.warns(RuntimeWarning):
        sm.step(gt.astype(np.uint8) * 255, gt.astype(np.uint8) * 255)
    assert math.isnan(float(sm.get_results()['sm']))
    res = run(SmokeMetric(), [make_sample(gt.astype(float), gt)])
    assert math.isfinite(res['Smeasure'])
    assert res['Smeasure'] == pytest.approx(1.0, abs=1e-6)
