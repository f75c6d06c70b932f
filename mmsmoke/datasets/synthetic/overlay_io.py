"""Pipeline images to and from the smoke overlay's float RGB.

The overlay (:class:`~mmsmoke.datasets.transforms.SyntheticSmokeOverlay`)
computes ``I' = (1 - alpha) * I + alpha * S`` in float on RGB in [0, 1].
Training pipelines carry BGR (or grey) images, uint8 or, after
``to_float32=True`` loading, float in [0, 255]: :func:`to_rgb_float` reads
them, :func:`from_rgb_float` converts the composite back to the layout and
dtype of the input (uint8 rounded; grey as the mean of R, G and B) and
:func:`paste_rgb_float` writes it back only inside the boxes that changed,
so the rest of the image stays bit-identical.
"""
from typing import Iterable, Sequence

import cv2
import numpy as np


def to_rgb_float(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR or (H, W[, 1]) grey, uint8 or float in [0, 255] ->
    float32 (H, W, 3) RGB in [0, 1] (a new array)."""
    grey = img.ndim == 2 or img.shape[2] == 1
    if grey:
        rgb = np.repeat(img.reshape(img.shape[:2] + (1, )), 3, axis=2)
    elif img.dtype == np.uint8:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        rgb = img[..., ::-1]
    rgb = rgb.astype(np.float32)
    rgb *= np.float32(1 / 255)
    return rgb


def from_rgb_float(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    """RGB float in [0, 1] -> the layout and dtype of ``like``."""
    x = rgb * np.float32(255)
    if like.ndim == 2 or like.shape[2] == 1:
        x = x.mean(-1)
        if like.ndim == 3:
            x = x[..., None]
    else:
        x = x[..., ::-1]
    if like.dtype == np.uint8:
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return x.astype(like.dtype)


def paste_rgb_float(img: np.ndarray, rgb: np.ndarray,
                    boxes: Iterable[Sequence[int]]) -> np.ndarray:
    """A copy of ``img`` with the boxes ``(y0, y1, x0, x1)`` taken from the
    float RGB image ``rgb`` (converted by :func:`from_rgb_float`)."""
    new = img.copy()
    for y0, y1, x0, x1 in boxes:
        new[y0:y1, x0:x1] = from_rgb_float(rgb[y0:y1, x0:x1], img)
    return new
