import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.structures import SegDataSample

from mmsmoke.models.data_preprocessors import (IMAGE_FIELD,
                                               SmokeDataPreProcessor)

NORM = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)


def _data(sizes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for h, w in sizes:
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(
            data=torch.zeros(1, h, w, dtype=torch.long))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('kwargs,training,sizes', [
    (dict(NORM, size=(40, 48), pad_val=0), True, [(32, 40), (40, 48)]),
    (dict(NORM, size_divisor=16, pad_val=3), True, [(30, 20), (33, 17)]),
    (dict(NORM), False, [(30, 20), (30, 20)]),
    (dict(NORM, test_cfg=dict(size_divisor=32)), False, [(30, 20)]),
    (dict(bgr_to_rgb=False, size=(16, 16)), True, [(16, 16), (12, 16)]),
])
def test_inputs_as_stock_and_images_of_the_same_pixels(kwargs, training,
                                                       sizes):
    stock = SegDataPreProcessor(**kwargs)
    smoke = SmokeDataPreProcessor(**kwargs)
    expected = stock(_data(sizes), training)
    out = smoke(_data(sizes), training)
    # the network input and the metainfo are exactly the stock ones
    assert torch.equal(out['inputs'], expected['inputs'])
    for ours, theirs in zip(out['data_samples'], expected['data_samples']):
        assert ours.metainfo == theirs.metainfo
    raw = _data(sizes)['inputs']
    colour = smoke.pad_colour()  # in the order of the network input
    if not kwargs.get('bgr_to_rgb'):
        colour = colour.flip(0)
    for sample, pixels in zip(out['data_samples'], raw):
        image = sample.get(IMAGE_FIELD).data
        h, w = pixels.shape[-2:]
        assert image.shape == (3, *out['inputs'].shape[-2:])
        assert image.min() >= 0 and image.max() <= 1
        # RGB in [0, 1] of the loaded (BGR) pixels
        torch.testing.assert_close(image[:, :h, :w],
                                   pixels.flip(0).float() / 255)
        # the border has the colour the padded input stands for
        border = torch.ones(image.shape[1:], dtype=torch.bool)
        border[:h, :w] = False
        if border.any():
            fill = (colour / 255).clamp(0, 1).expand_as(image)
            torch.testing.assert_close(image[:, border], fill[:, border])
    # the public inverse agrees with the handed-over image
    images = torch.stack(
        [s.get(IMAGE_FIELD).data for s in out['data_samples']])
    torch.testing.assert_close(
        smoke.images_from_inputs(out['inputs']), images, atol=2e-6, rtol=0)


def test_return_images_off_and_batch_augments():
    smoke = SmokeDataPreProcessor(return_images=False, **NORM)
    out = smoke(_data([(8, 8)]), False)
    assert IMAGE_FIELD not in out['data_samples'][0]
    with pytest.raises(ValueError, match='batch_augments'):
        SmokeDataPreProcessor(batch_augments=[dict(type='Identity')])


def test_test_batch_of_mixed_sizes_is_refused():
    with pytest.raises(ValueError, match='one size'):
        SmokeDataPreProcessor(**NORM)(_data([(8, 8), (8, 9)]), False)
