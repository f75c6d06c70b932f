"""What the smoke overlay measures on a real image, and where plumes start.

The overlay (:class:`~mmsmoke.datasets.transforms.SyntheticSmokeOverlay`)
composites ``I' = (1 - alpha) * I + alpha * S`` onto real images whose
light and layout it does not control. :func:`scene_stats` measures what
the smoke colour ``S`` and the distractors need from the image (its light,
bright and top colours) and where a plume may start (a ground map);
:func:`draw_source` draws a plume's source on that map.

Unlike the generator, whose scene palettes give the light colour, a real
image has no known light: it is measured as the colour of the image's
brightest pixels, keeping only a third of their chroma (the brightest
pixels are often blue sky, not the sunlight on the smoke), and dimmed in
dark images. Sources are placed on textured ground, not in the smooth sky
or a black lens border.
"""
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

#: Largest side of the thumbnail the scene's light is measured on.
STATS_SIDE = 64
#: Share of the bright colour's chroma kept in the light colour.
LIGHT_TINT = 1.0 / 3
#: Source positions drawn at most until one lies on textured ground.
SOURCE_DRAWS = 8
#: Rec. 601 luma weights (RGB).
_LUMA = (0.299, 0.587, 0.114)


def scene_stats(rgb: np.ndarray) -> Dict[str, np.ndarray]:
    """Light, bright and top colours, ground map of an RGB image.

    Measured on a thumbnail of at most 64 px: ``bright`` is the mean
    colour of the brightest 5% of pixels (luma), ``light`` is ``tint /
    max(tint) * clip(1.1 * max(bright), 0.3, 1)`` with ``tint`` the
    bright colour desaturated to a third of its chroma (the colour of
    the light, dimmed in dark images), ``top`` the mean
    colour of the top 15% of rows (usually sky: the aerial haze colour)
    and ``ground`` a boolean thumbnail map of textured pixels (local
    luma gradient energy above half its median), where sources go.

    Args:
        rgb (np.ndarray): float32 (H, W, 3) RGB image in [0, 1].

    Returns:
        dict: ``bright``, ``light``, ``top`` (float32 RGB, 3 values each)
        and ``ground`` (bool (h, w) thumbnail map).
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, STATS_SIDE / max(h, w))
    if scale < 1:
        thumb = cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA)
    else:
        thumb = rgb
    flat = thumb.reshape(-1, 3)
    luma = flat @ np.array(_LUMA, np.float32)
    k = max(1, int(round(0.05 * len(luma))))
    idx = np.argpartition(luma, len(luma) - k)[-k:]
    bright = flat[idx].mean(0)
    # The light keeps a third of the bright colour's tint: the
    # brightest pixels are often blue sky, which is not the colour of
    # the sunlight on the smoke.
    grey = float(bright @ np.array(_LUMA, np.float32))
    tint = grey + LIGHT_TINT * (bright - grey)
    peak = float(bright.max())
    light = tint / max(float(tint.max()), 1e-3) * float(
        np.clip(1.1 * peak, 0.3, 1))
    rows = max(1, int(round(0.15 * thumb.shape[0])))
    top = thumb[:rows].reshape(-1, 3).mean(0)
    # Ground: local luma gradient energy above half its median (smooth
    # sky, lens borders and over-exposed areas fall below).
    lum = luma.reshape(thumb.shape[:2])
    gy, gx = np.gradient(lum) if min(lum.shape) > 1 else (lum * 0, ) * 2
    energy = cv2.blur(np.abs(gx) + np.abs(gy), (3, 3))
    ground = energy > 0.5 * float(np.median(energy))
    return dict(
        bright=bright.astype(np.float32),
        light=light.astype(np.float32),
        top=top.astype(np.float32),
        ground=ground)


def draw_source(rng: np.random.Generator, ground: np.ndarray,
                size: Sequence[int],
                y_range: Tuple[float, float]) -> Tuple[float, float]:
    """Draw a plume source ``(x, y)`` in pixels, on textured ground.

    ``x`` is uniform in [5%, 95%] of the width and ``y`` uniform in
    ``y_range`` (fractions of the height); the position is redrawn, up to
    eight draws in all, while it falls on a smooth area of the ``ground``
    map (sky, a black lens border); after the eighth the last draw is kept.

    Args:
        rng (np.random.Generator): Random source (two draws per try).
        ground (np.ndarray): bool thumbnail map of :func:`scene_stats`.
        size (Sequence[int]): ``(H, W)`` of the image.
        y_range (tuple[float, float]): Range of the source row, fractions
            of the height (0 top, 1 bottom).

    Returns:
        tuple[float, float]: The source ``(x, y)`` in image pixels.
    """
    h, w = size
    gh, gw = ground.shape
    for _ in range(SOURCE_DRAWS):
        xs = float(rng.uniform(0.05, 0.95) * w)
        ys = float(rng.uniform(*y_range) * h)
        if ground[min(int(ys / h * gh), gh - 1),
                  min(int(xs / w * gw), gw - 1)]:
            break
    return xs, ys
