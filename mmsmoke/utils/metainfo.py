"""Metainfo of a data sample for an image fed to the model whole."""
from typing import Sequence


def whole_image_meta(shape: Sequence[int]) -> dict:
    """Metainfo of an image that was neither resized nor padded.

    What a segmentor hands its decode head and ``postprocess_result`` when
    a batch comes without data samples (ONNX export, a bare tensor): the
    original, the resized and the padded shapes are all ``shape``, and the
    padding (left, right, top, bottom) is zero.

    Args:
        shape (Sequence[int]): (H, W) of the input batch.

    Returns:
        dict: ``ori_shape``, ``img_shape``, ``pad_shape`` (each ``shape``)
        and a new ``padding_size`` list ``[0, 0, 0, 0]``.
    """
    return dict(
        ori_shape=shape,
        img_shape=shape,
        pad_shape=shape,
        padding_size=[0, 0, 0, 0])
