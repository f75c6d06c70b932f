"""Smoke-like distractor layers: clouds, valley fog and haze.

Each function draws one layer and returns it as an opacity ``a`` of shape
``(H, W, 1)`` and a colour ``col`` broadcastable to ``(H, W, 3)`` (RGB in
[0, 1]); the caller composites it with :func:`composite`::

    image' = image * (1 - a) + col * a

Distractors belong to the background: they never enter the smoke opacity
and so are never labelled smoke. Every random draw comes from the
:class:`numpy.random.Generator` passed in, in a fixed order.
"""
from typing import Sequence, Tuple

import numpy as np

from .noise import fbm, fbm1d, sample_field, smoothstep

Layer = Tuple[np.ndarray, np.ndarray]


def _rows(h: int) -> np.ndarray:
    """Pixel-centre row coordinates as an ``(H, 1)`` float32 column."""
    return (np.arange(h, dtype=np.float32) + 0.5)[:, None]


def composite(image: np.ndarray, layer: Layer) -> np.ndarray:
    """``image * (1 - a) + col * a`` for a layer ``(a, col)``."""
    a, col = layer
    return image * (1 - a) + col * a


def cloud_layer(rng: np.random.Generator, shape: Sequence[int],
                sky_line: np.ndarray, light: np.ndarray) -> Layer:
    """Cumulus, stratiform or cirrus clouds confined above ``sky_line``.

    Args:
        rng (np.random.Generator): Random source.
        shape (Sequence[int]): ``(H, W)`` of the image.
        sky_line (np.ndarray): ``(W,)`` row of the skyline per column; the
            cloud band ends a little above it.
        light (np.ndarray): RGB light colour (3 values).

    Returns:
        tuple: ``a`` float ``(H, W, 1)``, ``col`` ``(H, W, 3)``.
    """
    h, w = int(shape[0]), int(shape[1])
    yy = _rows(h)
    style = ('cumulus', 'stratus', 'cirrus')[rng.choice(3, p=(.5, .3, .2))]
    if style == 'cumulus':
        cells = (rng.uniform(2.5, 4.5), rng.uniform(3, 6))
        soft, amax = rng.uniform(0.05, 0.12), rng.uniform(0.75, 0.97)
        detail_amp = rng.uniform(0.25, 0.4)
    elif style == 'stratus':
        cells = (rng.uniform(4, 7), rng.uniform(1.5, 3))
        soft, amax = rng.uniform(0.12, 0.25), rng.uniform(0.4, 0.8)
        detail_amp = rng.uniform(0.3, 0.5)
    else:
        cells = (rng.uniform(8, 12), rng.uniform(1.0, 2.0))
        soft, amax = rng.uniform(0.2, 0.35), rng.uniform(0.3, 0.6)
        detail_amp = rng.uniform(0.4, 0.6)
    # A smooth large-scale body (few octaves: compact clouds, few holes)
    # plus finer detail that mostly shapes the edges.
    body = fbm((h, w), rng, cells, 3, 0.5)
    detail = fbm((h, w), rng, (cells[0] * 4, cells[1] * 4), 4, 0.55)
    dens = body + detail_amp * (detail - 0.5)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = 0.05 * w
    dx = (fbm((h, w), rng, 3, 3) - 0.5) * 2 * warp
    dy = (fbm((h, w), rng, 3, 3) - 0.5) * warp
    dens = sample_field(dens, gx + dx, gy + dy)
    # The cloud band ends a little above the skyline, more or less far.
    bottom = sky_line[None] - rng.uniform(0.0, 0.12) * h
    band = smoothstep(0.0, 0.08 * h, bottom - yy)
    coverage = rng.uniform(0.12, 0.45)
    thr = float(np.quantile(dens, 1 - coverage))
    a = smoothstep(thr, thr + soft, dens) * band
    # Lit tops and grey bases: compare with the density a little below
    # (the last rows, which have nothing below, count as a base).
    shift = max(int(0.03 * h), 1)
    below = np.empty_like(dens)
    below[:-shift] = dens[shift:]
    below[-shift:] = dens.min()
    base = np.clip((dens - below) * 5, 0, 1)
    top = np.clip((below - dens) * 5, 0, 1)
    bright = rng.uniform(0.90, 1.0)
    tone = bright * (1 - rng.uniform(0.15, 0.35) * base + 0.05 * top)
    col = np.clip(tone, 0, 1)[..., None] * light[None, None]
    a = (a * amax)[..., None]
    return a, col


def fog_layer(rng: np.random.Generator, shape: Sequence[int], line: np.ndarray,
              haze: np.ndarray, light: np.ndarray) -> Layer:
    """Valley fog: a bank with a nearly flat, soft top near ``line``.

    The top lies between ``line.min()`` and ``line.mean() + 0.04 H``, waves
    a little, and the density decays below it.

    Args:
        rng (np.random.Generator): Random source.
        shape (Sequence[int]): ``(H, W)`` of the image.
        line (np.ndarray): ``(W,)`` row per column the bank lies over.
        haze (np.ndarray): RGB haze colour; the fog is a little brighter.
        light (np.ndarray): RGB light colour.

    Returns:
        tuple: ``a`` float ``(H, W, 1)``, ``col`` ``(1, 1, 3)``.
    """
    h, w = int(shape[0]), int(shape[1])
    yy = _rows(h)
    top = rng.uniform(float(line.min()), float(line.mean()) + 0.04 * h)
    wave = (fbm1d(w, rng, rng.uniform(1, 3), 3) - 0.5) * 0.04 * h
    y_top = (top + wave)[None]
    soft = rng.uniform(0.01, 0.04) * h
    depth = rng.uniform(0.05, 0.2) * h
    rel = yy - y_top
    prof = smoothstep(-soft, soft, rel) * np.exp(
        -np.clip(rel, 0, None) / depth)
    tex = fbm((h, w), rng, (rng.uniform(6, 12), rng.uniform(1.5, 3.5)), 5)
    dens = prof * smoothstep(0.15, 0.7, tex + 0.25 * prof)
    a = (rng.uniform(0.5, 0.95) * dens)[..., None]
    col = np.clip(haze * rng.uniform(1.05, 1.2), 0, 1) * light
    return a, col[None, None]


def haze_layer(rng: np.random.Generator, shape: Sequence[int],
               sky_line: np.ndarray, haze: np.ndarray) -> Layer:
    """Haze: a patchy veil of the haze colour thickening towards the horizon.

    Args:
        rng (np.random.Generator): Random source.
        shape (Sequence[int]): ``(H, W)`` of the image.
        sky_line (np.ndarray): ``(W,)`` skyline rows; the veil ramps up from
            the bottom of the frame to ``0.1 H`` above their mean.
        haze (np.ndarray): RGB haze colour.

    Returns:
        tuple: ``a`` float ``(H, W, 1)`` in [0, 0.9], ``col`` ``(1, 1, 3)``.
    """
    h, w = int(shape[0]), int(shape[1])
    yy = _rows(h)
    veil = rng.uniform(0.15, 0.45)
    ramp = smoothstep(h * 1.05, sky_line.mean() - 0.1 * h, yy)
    amount = veil * ramp * (0.75 + 0.5 * fbm((h, w), rng,
                                             (2, rng.uniform(1, 3)), 3))
    amount = np.clip(amount, 0, 0.9)[..., None]
    return amount, (haze * 1.05)[None, None]


def uniform_veil(rng: np.random.Generator, shape: Sequence[int],
                 colour: np.ndarray, amount_range: Tuple[float,
                                                         float]) -> Layer:
    """A uniform veil of one colour (haze of unknown scene geometry).

    Args:
        rng (np.random.Generator): Random source.
        shape (Sequence[int]): ``(H, W)`` of the image.
        colour (np.ndarray): RGB colour of the veil.
        amount_range (tuple[float, float]): Range of its opacity.

    Returns:
        tuple: ``a`` float32 ``(H, W, 1)`` (one value), ``col`` ``(1, 1, 3)``.
    """
    h, w = int(shape[0]), int(shape[1])
    amount = np.float32(rng.uniform(*amount_range))
    a = np.full((h, w, 1), amount, np.float32)
    return a, np.asarray(colour, np.float32).reshape(1, 1, 3)
