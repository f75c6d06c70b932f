"""Probability and extra maps read from SegDataSamples."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmsmoke.utils.sample_maps import extra_maps, smoke_probability


def test_probability_from_one_or_two_channels():
    sample = SegDataSample()
    sample.seg_logits = PixelData(data=torch.tensor([[[0.2, 0.9]]]))
    np.testing.assert_allclose(smoke_probability(sample), [[0.2, 0.9]])
    sample.seg_logits = PixelData(data=torch.zeros(2, 1, 3))
    np.testing.assert_allclose(smoke_probability(sample), 0.5)
    sample.seg_logits = PixelData(data=torch.zeros(3, 1, 3))
    with pytest.raises(ValueError, match='3 channels'):
        smoke_probability(sample)
    with pytest.raises(KeyError, match='no seg_logits'):
        smoke_probability(SegDataSample())


def test_extra_maps_order_and_names():
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.zeros(1, 2, 2))
    sample.set_data({
        'pred_uncertainty_total':
        PixelData(data=torch.ones(1, 2, 2)),
        'pred_custom':
        PixelData(data=torch.zeros(1, 2, 2)),
        'pred_focus':
        PixelData(data=torch.zeros(1, 2, 2)),
    })
    maps = extra_maps(sample)
    assert list(maps) == ['focus', 'uncertainty_total', 'custom']
    assert maps['uncertainty_total'].dtype == np.float32
    assert list(extra_maps(sample,
                           ['pred_custom', 'pred_alpha'])) == ['custom']
