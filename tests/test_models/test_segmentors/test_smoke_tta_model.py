import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

import mmsmoke.models  # noqa: F401

register_all_modules(init_default_scope=True)


def _view(probs, **maps):
    sample = SegDataSample(metainfo=dict(img_path='a.jpg', ori_shape=(1, 2)))
    sample.seg_logits = PixelData(data=torch.tensor(probs))
    sample.gt_sem_seg = PixelData(data=torch.tensor([[[0, 1]]]))
    for key, value in maps.items():
        sample.set_data({key: PixelData(data=torch.tensor(value))})
    return sample


def test_one_channel_probabilities_are_averaged_once(tiny_segmentor_cfg):
    tta = MODELS.build(dict(type='SmokeTTAModel', module=tiny_segmentor_cfg()))
    views = [
        _view([[[0.2, 0.9]]],
              pred_uncertainty_total=[[[0.4, 0.2]]],
              pred_uncertainty_aleatoric=[[[0.1, 0.2]]]),
        _view([[[0.6, 0.3]]],
              pred_uncertainty_total=[[[0.6, 0.4]]],
              pred_uncertainty_aleatoric=[[[0.3, 0.0]]])
    ]
    merged = tta.merge_preds([views])[0]
    assert torch.allclose(merged.seg_logits.data, torch.tensor([[[0.4, 0.6]]]))
    assert merged.pred_sem_seg.data.tolist() == [[[0.0, 1.0]]]
    assert torch.allclose(merged.pred_uncertainty_total.data,
                          torch.tensor([[[0.5, 0.3]]]))
    assert torch.allclose(merged.pred_uncertainty_aleatoric.data,
                          torch.tensor([[[0.2, 0.1]]]))
    assert merged.gt_sem_seg.data.tolist() == [[[0, 1]]]
    assert merged.img_path == 'a.jpg'
    # MMSeg's SegTTAModel takes a second sigmoid: everything is smoke
    stock = SegTTAModel(module=MODELS.build(tiny_segmentor_cfg()))
    assert stock.merge_preds([views])[0].pred_sem_seg.data.sum() == 2


def test_head_threshold_and_softmax_heads(tiny_segmentor_cfg):
    tta = MODELS.build(
        dict(type='SmokeTTAModel', module=tiny_segmentor_cfg(threshold=0.7)))
    merged = tta.merge_preds([[_view([[[0.2, 0.9]]]),
                               _view([[[0.6, 0.3]]])]])[0]
    assert merged.pred_sem_seg.data.tolist() == [[[0.0, 0.0]]]
    tta = MODELS.build(
        dict(type='SmokeTTAModel', module=tiny_segmentor_cfg(out_channels=2)))
    logits = [[[[0.0, 2.0]], [[1.0, 0.0]]], [[[0.0, -1.0]], [[-1.0, 0.0]]]]
    merged = tta.merge_preds([[_view(v) for v in logits]])[0]
    mean = torch.stack([torch.tensor(v).softmax(0) for v in logits]).mean(0)
    assert torch.allclose(merged.seg_logits.data.softmax(0), mean)
    assert merged.pred_sem_seg.data.tolist() == [[mean.argmax(0).tolist()[0]]]


def test_maps_of_different_shapes_are_an_error(tiny_segmentor_cfg):
    tta = MODELS.build(dict(type='SmokeTTAModel', module=tiny_segmentor_cfg()))
    views = [
        _view([[[0.2, 0.9]]], pred_uncertainty_total=[[[0.4, 0.2]]]),
        _view([[[0.6, 0.3]]], pred_uncertainty_total=[[[0.6]]])
    ]
    with pytest.raises(ValueError, match='pred_uncertainty_total of a.jpg'):
        tta.merge_preds([views])


def test_test_step_on_flipped_views(tiny_segmentor_cfg):
    """A real forward over two views, one flipped, of the same image."""
    torch.manual_seed(0)
    tta = MODELS.build(dict(type='SmokeTTAModel', module=tiny_segmentor_cfg()))
    tta.eval()
    img = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    views = []
    for flip in (False, True):
        sample = SegDataSample(
            metainfo=dict(
                img_path='a.jpg',
                ori_shape=(64, 64),
                img_shape=(64, 64),
                pad_shape=(64, 64),
                flip=flip,
                flip_direction='horizontal'))
        views.append((img.flip(-1) if flip else img, [sample]))
    data = dict(
        inputs=[[v[0]] for v in views], data_samples=[v[1] for v in views])
    with torch.no_grad():
        merged = tta.test_step(data)[0]
        # each view alone, un-flipped by the segmentor's post-processing
        alone = [
            tta.module.test_step(
                dict(inputs=[v[0]],
                     data_samples=[v[1][0].clone()]))[0].seg_logits.data
            for v in views
        ]
    prob = merged.seg_logits.data
    assert prob.shape == (1, 64, 64)
    assert not torch.allclose(alone[0], alone[1])
    assert torch.allclose(prob, (alone[0] + alone[1]) / 2, atol=1e-6)
    assert torch.equal(merged.pred_sem_seg.data, (prob > 0.5).to(prob))
