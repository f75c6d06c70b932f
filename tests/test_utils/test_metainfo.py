"""Metainfo of a whole, unpadded image."""
import torch

from mmsmoke.utils.metainfo import whole_image_meta


def test_whole_image_meta():
    shape = torch.zeros(2, 3, 5, 7).shape[2:]
    meta = whole_image_meta(shape)
    assert meta == dict(
        ori_shape=shape,
        img_shape=shape,
        pad_shape=shape,
        padding_size=[0, 0, 0, 0])
    assert list(meta) == [
        'ori_shape', 'img_shape', 'pad_shape', 'padding_size'
    ]
    # a new padding list each time: callers may edit one sample's meta
    assert whole_image_meta((5, 7))['padding_size'] is not \
        whole_image_meta((5, 7))['padding_size']
