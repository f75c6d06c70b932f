import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from mmsmoke.models.data_preprocessors import SmokeDataPreProcessor

register_all_modules(init_default_scope=True)

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


def _pad_colour(kwargs):
    """0-255 RGB colour a padded input pixel stands for."""
    pad = float(kwargs.get('pad_val', 0))
    if 'mean' not in kwargs:
        return torch.full((3, ), pad)
    colour = torch.tensor(kwargs['mean']) + pad * torch.tensor(kwargs['std'])
    # mean/std are given in the order of the network input (RGB here)
    return colour


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
    images = smoke.images_from_inputs(out['inputs'])
    assert images.shape == out['inputs'].shape
    assert images.min() >= 0 and images.max() <= 1
    colour = (_pad_colour(kwargs) / 255).clamp(0, 1)
    for image, pixels in zip(images, _data(sizes)['inputs']):
        h, w = pixels.shape[-2:]
        # RGB in [0, 1] of the loaded (BGR) pixels
        torch.testing.assert_close(
            image[:, :h, :w], pixels.flip(0).float() / 255, atol=2e-6, rtol=0)
        # the border has the colour the padded input stands for
        border = torch.ones(image.shape[1:], dtype=torch.bool)
        border[:h, :w] = False
        if border.any():
            fill = colour.view(3, 1, 1).expand_as(image)
            torch.testing.assert_close(
                image[:, border], fill[:, border], atol=2e-6, rtol=0)


def test_batch_augments_run_and_the_image_follows_the_input():
    """The image comes from the augmented input, so batch_augments work."""

    class _FlipBatch:

        def __call__(self, inputs, data_samples):
            return inputs.flip(-1), data_samples

    smoke = SmokeDataPreProcessor(size=(8, 8), **NORM)
    smoke.batch_augments = _FlipBatch()  # a batch augment of the stock kind
    data = _data([(8, 8)])
    raw = data['inputs'][0]
    out = smoke(data, True)
    image = smoke.images_from_inputs(out['inputs'])[0]
    torch.testing.assert_close(
        image, raw.flip(0).flip(-1).float() / 255, atol=2e-6, rtol=0)


def test_test_batch_of_mixed_sizes_is_refused():
    with pytest.raises(ValueError, match='one size'):
        SmokeDataPreProcessor(**NORM)(_data([(8, 8), (8, 9)]), False)
    with pytest.raises(ValueError, match='one size'):
        SmokeDataPreProcessor(
            test_cfg=dict(size_divisor=16), **NORM)(_data([(8, 8), (8, 9)]),
                                                    False)


def test_bare_test_images_are_padded_without_samples():
    smoke = SmokeDataPreProcessor(test_cfg=dict(size=(16, 16)), **NORM)
    out = smoke(dict(inputs=_data([(8, 12)])['inputs']), False)
    assert out['inputs'].shape == (1, 3, 16, 16)
    assert out['data_samples'] is None
