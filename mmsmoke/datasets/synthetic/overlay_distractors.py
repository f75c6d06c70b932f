"""Smoke-like distractors (clouds, fog, haze) for the overlay on real images.

The distractors are composited like smoke, ``I' = (1 - alpha) * I + alpha *
S`` with their own opacity and colour, but are never labelled: they teach
that smoke-like texture is not smoke. They use the generator's layers
(:mod:`mmsmoke.datasets.synthetic.distractors`), lit by the image's own
light and bright colours (:func:`~mmsmoke.datasets.synthetic.overlay_scene.
scene_stats`):

- ``'cloud'``: the generator's clouds, confined above a random row in the
  upper 25%-60% of the frame;
- ``'fog'``: a band with a soft, nearly flat top at a random height in the
  35%-85% band of the frame, fading downwards, in 0.85 times the bright
  colour;
- ``'haze'``: a uniform veil of the image's bright colour, opacity 0.08-0.3.

Deviation from the generator, and why: the layers are drawn on a canvas of
at most 192 px and upsampled (bilinear) to the image, which keeps them cheap
on large training images; they are smooth, so nothing is lost.
"""
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from .distractors import cloud_layer, composite, fog_layer, uniform_veil

#: Distractor types the overlay can add.
OVERLAY_DISTRACTORS: Tuple[str, ...] = ('cloud', 'fog', 'haze')
#: Largest side of the canvas distractor layers are drawn on before being
#: upsampled to the image (they are smooth; this keeps them cheap).
DISTRACTOR_CANVAS = 192


def composite_distractors(rng: np.random.Generator, image: np.ndarray,
                          allowed: Sequence[str], light: np.ndarray,
                          bright: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """Composite one or more random distractors onto an RGB image.

    Each type of ``allowed`` is chosen with probability 1/2, drawn again
    until at least one is; each chosen layer has its own random parameters.

    Args:
        rng (np.random.Generator): Random source.
        image (np.ndarray): float32 (H, W, 3) RGB image in [0, 1] (not
            modified).
        allowed (Sequence[str]): Allowed types, non-empty, among
            :data:`OVERLAY_DISTRACTORS`, in that order.
        light (np.ndarray): RGB light colour (clouds).
        bright (np.ndarray): RGB bright colour of the image (fog, haze).

    Returns:
        tuple: The float32 composite, clipped to [0, 1], and the list of
        the distractors added.
    """
    while True:
        chosen = [d for d in allowed if rng.random() < 0.5]
        if chosen:
            break
    h, w = image.shape[:2]
    scale = min(1.0, DISTRACTOR_CANVAS / max(h, w))
    ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
    for name in chosen:
        if name == 'cloud':
            sky_line = np.full(cw, rng.uniform(0.25, 0.6) * ch, np.float32)
            a, col = cloud_layer(rng, (ch, cw), sky_line, light)
        elif name == 'fog':
            line = np.full(cw, rng.uniform(0.35, 0.85) * ch, np.float32)
            a, col = fog_layer(rng, (ch, cw), line, bright * 0.85,
                               np.ones(3, np.float32))
        else:
            a, col = uniform_veil(rng, (ch, cw), bright, (0.08, 0.3))
        if (ch, cw) != (h, w):
            a = cv2.resize(
                np.ascontiguousarray(a[..., 0], np.float32), (w, h),
                interpolation=cv2.INTER_LINEAR)[..., None]
            if col.shape[:2] != (1, 1):
                col = cv2.resize(
                    np.ascontiguousarray(col, np.float32), (w, h),
                    interpolation=cv2.INTER_LINEAR)
        image = composite(image,
                          (a.astype(np.float32), col.astype(np.float32)))
    return np.clip(image, 0, 1).astype(np.float32), chosen
