"""Per-frame smoke score and area, and the files the writer produces."""
import json

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmsmoke.apis import (FrameSummary, SmokeResultWriter, presence_score,
                          summarize_prediction)


def _sample(prob: np.ndarray, **maps) -> SegDataSample:
    sample = SegDataSample()
    sample.seg_logits = PixelData(data=torch.from_numpy(prob)[None].float())
    sample.pred_sem_seg = PixelData(
        data=torch.from_numpy((prob > 0.5).astype(np.int64))[None])
    for name, value in maps.items():
        sample.set_data({name: PixelData(data=torch.as_tensor(value))})
    return sample


PROB = np.array([[0.9, 0.7, 0.2, 0.1], [0.6, 0.4, 0.3, 0.0]], np.float32)


def test_presence_score_is_the_kth_largest_probability():
    # 8 pixels: min_area 0 -> max; 0.25 -> k=2 -> 0.7; 0.3 -> k=ceil(2.4)=3
    assert presence_score(PROB, 0.0) == pytest.approx(0.9)
    assert presence_score(PROB, 0.25) == pytest.approx(0.7)
    assert presence_score(PROB, 0.3) == pytest.approx(0.6)
    assert presence_score(PROB, 1.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match='min_area'):
        presence_score(PROB, 1.5)


def test_summary_area_and_presence_agree():
    summary = summarize_prediction(_sample(PROB), threshold=0.5)
    assert summary.mask.sum() == 3  # 0.9, 0.7, 0.6
    assert summary.smoke_area == pytest.approx(3 / 8)
    assert summary.smoke_present and summary.smoke_score == pytest.approx(0.9)
    # 3 smoke pixels cover 37.5 %: present at min_area 0.375, not at 0.4.
    assert summarize_prediction(_sample(PROB), 0.5, 0.375).smoke_present
    absent = summarize_prediction(_sample(PROB), 0.5, 0.4)
    assert not absent.smoke_present
    assert absent.smoke_score == pytest.approx(0.4)  # k = ceil(3.2) = 4
    assert absent.smoke_area == pytest.approx(3 / 8)  # area is unaffected
    # A lower threshold is strictly-greater, like MMSeg's.
    assert summarize_prediction(_sample(PROB), 0.6).mask.sum() == 2
    with pytest.raises(ValueError, match='threshold'):
        summarize_prediction(_sample(PROB), 1.0)


def test_two_channel_logits_use_the_softmax():
    logits = torch.tensor([[[0.0, 2.0]], [[1.0, 0.0]]])  # (2, 1, 2)
    sample = SegDataSample()
    sample.seg_logits = PixelData(data=logits)
    summary = summarize_prediction(sample, threshold=0.5)
    expected = torch.softmax(logits, 0)[1, 0].numpy()
    np.testing.assert_allclose(summary.prob[0], expected, rtol=1e-6)
    assert summary.mask.tolist() == [[True, False]]


def test_maps_and_their_means():
    unc = np.full((1, 2, 4), 0.25, np.float32)
    fg = np.zeros((3, 2, 4), np.float32)
    sample = _sample(PROB, pred_uncertainty_total=unc, pred_foreground=fg)
    summary = summarize_prediction(sample, 0.5)
    assert list(summary.maps) == ['foreground', 'uncertainty_total']
    assert summary.map_means() == {'uncertainty_total_mean': 0.25}
    only = summarize_prediction(
        sample, 0.5, map_fields=['pred_uncertainty_total'])
    assert list(only.maps) == ['uncertainty_total']


def test_writer_files_and_values(tmp_path):
    unc = np.linspace(0, 1, 8, dtype=np.float32).reshape(1, 2, 4)
    bg = np.ones(
        (3, 2, 4), np.float32) * np.array([1, 0, 0], np.float32)[:, None, None]
    summary = summarize_prediction(
        _sample(PROB, pred_uncertainty_total=unc, pred_background=bg), 0.5)
    writer = SmokeResultWriter(str(tmp_path), save_npy=True)
    image = np.zeros((2, 4, 3), np.uint8)
    files = writer.write_frame('sub/x', image, summary, alarm_active=True)
    mask = cv2.imread(str(tmp_path / files['mask']), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    np.testing.assert_array_equal(mask == 255, PROB > 0.5)
    prob = cv2.imread(str(tmp_path / 'prob_maps/sub/x.png'), 0)
    # round(255 * p) in float64, as SmokeMetric saves probability maps
    np.testing.assert_array_equal(
        prob,
        np.rint(PROB.astype(np.float64) * 255).astype(np.uint8))
    np.testing.assert_array_equal(
        np.load(tmp_path / 'prob_maps/sub/x.npy'), PROB)
    u8 = cv2.imread(str(tmp_path / files['uncertainty_total']), 0)
    np.testing.assert_array_equal(u8, np.rint(unc[0].astype(np.float64) * 255))
    assert np.load(tmp_path / files['uncertainty_total_npy']).shape == (1, 2,
                                                                        4)
    red = cv2.imread(str(tmp_path / files['background']))  # BGR on disk
    assert red[0, 0].tolist() == [0, 0, 255]
    assert cv2.imread(str(tmp_path / files['overlay'])).shape == (2, 4, 3)

    records = [dict(index=0, name='sub/x', smoke_area=0.375, files=files)]
    writer.write_tables(
        records,
        dict(threshold=0.5),
        events=[dict(event='on', frame=0, name='sub/x')])
    assert (tmp_path / 'frames.csv').read_text().splitlines() == [
        'index,name,smoke_area', '0,sub/x,0.375'
    ]
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved['frames'][0]['files'] == files
    assert saved['settings'] == dict(threshold=0.5)
    assert (tmp_path / 'alarm_events.csv').read_text().startswith('event,')


def test_writer_rejects_unknown_outputs(tmp_path):
    with pytest.raises(ValueError, match='unknown outputs'):
        SmokeResultWriter(str(tmp_path), outputs=['mask', 'heatmap'])
    summary = FrameSummary(
        prob=PROB,
        mask=PROB > 0.5,
        smoke_area=0.375,
        smoke_score=0.9,
        smoke_present=True,
        threshold=0.5)
    files = SmokeResultWriter(
        str(tmp_path),
        outputs=['mask']).write_frame('y', np.zeros((2, 4, 3), np.uint8),
                                      summary)
    assert list(files) == ['mask']


def test_writer_lists_failed_frames(tmp_path):
    """Failed rows keep the processed rows' columns (cells left empty),
    ``error`` comes last, ``errors.csv`` lists them and the JSON counts."""
    failed = dict(
        index=0,
        name='bad',
        source='in/bad.jpg',
        frame=0,
        time_s=None,
        status='read_error',
        error='in/bad.jpg: image file is empty (0 bytes)')
    ok = dict(
        index=1,
        name='good',
        source='in/good.jpg',
        frame=1,
        time_s=None,
        status='ok',
        smoke_area=0.5,
        error=None,
        files=dict(mask='pred_masks/good.png'))
    written = SmokeResultWriter(str(tmp_path)).write_tables([failed, ok],
                                                            dict())
    assert (tmp_path / 'frames.csv').read_text().splitlines() == [
        'index,name,source,frame,time_s,status,smoke_area,error',
        '0,bad,in/bad.jpg,0,,read_error,,in/bad.jpg: image file is empty '
        '(0 bytes)', '1,good,in/good.jpg,1,,ok,0.5,'
    ]
    assert (tmp_path / 'errors.csv').read_text().splitlines() == [
        'index,name,source,frame,time_s,status,error',
        '0,bad,in/bad.jpg,0,,read_error,in/bad.jpg: image file is empty '
        '(0 bytes)'
    ]
    assert written['errors_csv'] == str(tmp_path / 'errors.csv')
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved['counts'] == dict(frames=2, processed=1, failed=1)
    assert [f['status'] for f in saved['frames']] == ['read_error', 'ok']

    # all processed: no errors.csv
    SmokeResultWriter(str(tmp_path / 'clean')).write_tables([ok], dict())
    assert not (tmp_path / 'clean' / 'errors.csv').exists()


def test_operating_point_decides_the_frame_with_its_own_score():
    # max score 0.9: absent at a frame threshold of 0.95, present at 0.85
    high = summarize_prediction(
        _sample(PROB), 0.5, operating_point=dict(score='max', threshold=0.95))
    assert not high.smoke_present
    assert high.smoke_score == pytest.approx(0.9)
    assert high.alarm_threshold == 0.95
    # the mask and area keep the pixel threshold
    assert high.mask.sum() == 3 and high.smoke_area == pytest.approx(3 / 8)
    assert summarize_prediction(
        _sample(PROB), 0.5,
        operating_point=dict(score='max', threshold=0.85)).smoke_present
    # top-2 mean: (0.9 + 0.7) / 2 = 0.8
    top = summarize_prediction(
        _sample(PROB),
        0.5,
        operating_point=dict(score='topk_mean', topk=2, threshold=0.75))
    assert top.smoke_score == pytest.approx(0.8) and top.smoke_present
    # without a point the decision is the pixel rule, no frame threshold
    assert summarize_prediction(_sample(PROB), 0.5).alarm_threshold is None
    with pytest.raises(ValueError, match='min_area and operating_point'):
        summarize_prediction(
            _sample(PROB), 0.5, 0.1, operating_point=dict(threshold=0.5))
