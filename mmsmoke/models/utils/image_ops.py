"""Dense-map helpers shared by the segmentors (batched on the device)."""
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor


def restore_to_original(maps: Tensor,
                        img_meta: dict,
                        align_corners: bool = False) -> Tensor:
    """Un-pad, un-flip and resize a dense prediction to the original image.

    Mirrors what ``BaseSegmentor.postprocess_result`` (MMSeg 1.2.2) does to
    ``seg_logits``, so that every extra map (FoSp's focus and separation
    maps, Trans-BVM's uncertainty) lines up with ``pred_sem_seg``.

    Args:
        maps (Tensor): One image's maps, (1, C, H, W), at the padded input
            size.
        img_meta (dict): The data sample's metainfo; ``ori_shape`` is
            required, ``img_padding_size``/``padding_size`` and
            ``flip``/``flip_direction`` are honoured when present.
        align_corners (bool): ``align_corners`` of the bilinear resize.

    Returns:
        Tensor: (C, H0, W0) maps at ``img_meta['ori_shape']``.
    """
    if 'ori_shape' not in img_meta:
        raise KeyError('restore_to_original needs "ori_shape" in the data '
                       'sample metainfo')
    _, _, h, w = maps.shape
    padding: Sequence[int] = img_meta.get(
        'img_padding_size', img_meta.get('padding_size', [0, 0, 0, 0]))
    left, right, top, bottom = padding
    maps = maps[:, :, top:h - bottom, left:w - right]
    if img_meta.get('flip', False):
        direction = img_meta.get('flip_direction', None)
        if direction == 'horizontal':
            maps = maps.flip(dims=(3, ))
        elif direction == 'vertical':
            maps = maps.flip(dims=(2, ))
        else:
            raise ValueError(
                f'unknown flip_direction {direction!r} in the metainfo')
    ori_shape = tuple(img_meta['ori_shape'][:2])
    if tuple(maps.shape[-2:]) != ori_shape:
        maps = F.interpolate(
            maps, size=ori_shape, mode='bilinear', align_corners=align_corners)
    return maps.squeeze(0)


def resize_like(x: Tensor, like: Tensor, align_corners: bool) -> Tensor:
    """Bilinear resize of ``x`` to the spatial size of ``like``.

    Args:
        x (Tensor): Maps (N, C, h, w).
        like (Tensor): Tensor (..., H, W) whose size ``x`` takes.
        align_corners (bool): ``align_corners`` of the bilinear resize.

    Returns:
        Tensor: (N, C, H, W) maps; ``x`` itself when it has that size.
    """
    if x.shape[-2:] == like.shape[-2:]:
        return x
    return F.interpolate(
        x, size=like.shape[-2:], mode='bilinear', align_corners=align_corners)
