"""Draw, place and size the opacity of one overlay plume on a real image.

The overlay (:class:`~mmsmoke.datasets.transforms.SyntheticSmokeOverlay`)
composites ``I' = (1 - alpha) * I + alpha * S`` onto real images. This
module makes ``alpha`` for one plume: a mask area drawn log-uniformly in the
area range, a peak opacity drawn uniformly in the alpha range, the
generator's shape, turbulence and size fitting
(:mod:`mmsmoke.datasets.synthetic.plume`), a source on textured ground
(:func:`~mmsmoke.datasets.synthetic.overlay_scene.draw_source`) and a random
wind that tilts and bends the plume. The area is measured on the image the
plume is drawn for.

Deviations from the generator, and why:

- Nothing occludes the plume: the scene geometry of a real image (ridges,
  trees, buildings) is unknown, so a plume is drawn in front of everything.
  Instead, half of the plumes fade in over the first 10%-30% of their
  height (raggedly, following the turbulence), like smoke rising from
  behind a ridge or vegetation. The label stays exact for the composite.
- Shapes lean towards early smoke: the tilt and the wind bend are at most
  0.35 and 0.4 (the generator's 0.55 and 0.6), the spreading rate at least
  0.1 (0.06) and the mushroom-like top spreading is halved; long, narrow,
  strongly bent plumes read as streaks on real images.
- Plumes whose target mask exceeds 1,500 px are rendered on a grid scaled
  so that it holds 1,500 px and upsampled (bilinear): the noise lives in
  plume coordinates, so only sub-pixel detail is lost, and this bounds the
  cost of the largest plumes.
- Opacity at or below 1/1024 (a quarter of a grey level) is set to 0, so
  the plume touches only pixels it changes and the formula holds exactly
  everywhere.
"""
import math
from typing import Sequence, Tuple

import cv2
import numpy as np

from .noise import smoothstep
from .overlay_scene import draw_source
from .plume import PlumeRenderer
from .plume_shape import draw_plume_shape, plume_textures

Range = Tuple[float, float]
#: Largest tilt (rad) and bend of the centreline, smallest spreading rate
#: (the generator's are 0.55, 0.6 and 0.06); the top spreading (``cap``) is
#: halved.
MAX_TILT, MAX_BEND, MIN_SPREAD = 0.35, 0.4, 0.1
#: Range of the normalised height over which half of the plumes fade in.
BASE_FADE = (0.1, 0.3)
#: Plumes whose target mask exceeds this many pixels are rendered on a
#: coarser grid (see :func:`fit_plume`), which bounds the cost of large
#: plumes.
MAX_RENDER_MASK_PX = 1500
#: Opacities at or below this are set to 0 (a quarter of a grey level).
ALPHA_FLOOR = 1.0 / 1024


def draw_overlay_plume(rng: np.random.Generator, size: Sequence[int],
                       ground: np.ndarray, area_range: Range,
                       alpha_range: Range, source_y_range: Range,
                       mask_threshold: float) -> dict:
    """Draw, place and size one plume; return its fit and parameters.

    Args:
        rng (np.random.Generator): Random source.
        size (Sequence[int]): ``(H, W)`` of the image.
        ground (np.ndarray): Ground map of
            :func:`~mmsmoke.datasets.synthetic.overlay_scene.scene_stats`.
        area_range (tuple[float, float]): Range of the mask area, fractions
            of the image, drawn log-uniformly (raised to at least 4 px).
        alpha_range (tuple[float, float]): Range of the peak opacity.
        source_y_range (tuple[float, float]): Range of the source row,
            fractions of the height.
        mask_threshold (float): Opacity above which a pixel is smoke.

    Returns:
        dict: The fit of :meth:`PlumeRenderer.fit_size` in image pixels
        (``alpha`` float32 and ``fields`` inside ``box`` ``(y0, y1, x0,
        x1)``, ``length``, ``frac``, ``err``, ``ok``, ``p`` the plume
        parameters) plus ``target`` (aimed area fraction), ``amax`` (peak
        opacity) and ``fade`` (height of the base fade-in, 0 for none).
    """
    h, w = size
    lo, hi = area_range
    lo = max(lo, min(4.0 / (h * w), 0.5 * hi))
    hi = max(hi, lo)
    target = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    amax = rng.uniform(*alpha_range)
    shape = draw_plume_shape(rng, amax)
    tex = plume_textures(rng)
    xs, ys = draw_source(rng, ground, (h, w), source_y_range)
    # Wind mostly blows the plume towards the wider side of the frame.
    towards = -1.0 if xs > w / 2 else 1.0
    wind = towards if rng.random() < 0.6 else -towards
    p = dict(
        shape,
        xs=xs,
        ys=ys,
        wind=wind,
        theta=wind * rng.uniform(0.0, MAX_TILT),
        bend=wind * rng.uniform(0.0, MAX_BEND))
    # Early plumes widen as they rise (long, narrow, strongly bent ones
    # read as streaks on a real background) but rarely mushroom.
    p['k'] = max(p['k'], MIN_SPREAD)
    p['cap'] *= 0.5
    fade = rng.uniform(*BASE_FADE) if rng.random() < 0.5 else 0.0
    # Large plumes are rendered on a coarser grid and upsampled (their
    # noise lives in plume coordinates, so the shape does not change;
    # only detail finer than a coarse pixel is lost, and the alpha is
    # smooth at that scale anyway).
    scale = min(1.0, math.sqrt(MAX_RENDER_MASK_PX / (target * h * w)))
    fit = fit_plume(p, tex, target, (lo, hi), (h, w), scale, mask_threshold)
    if fade > 0:
        # The base fades in, as smoke rising from behind the horizon or
        # vegetation (opacity only; nothing is drawn in front of it).
        # The turbulence makes the fade ragged rather than a straight
        # edge across the plume.
        f = fit['fields']
        fit['alpha'] = fit['alpha'] * smoothstep(
            0.0, fade, f['h'] + fade * (f['turb'] - 0.5))
    # Opacity below a quarter grey level is set to 0: the plume then
    # touches only the pixels it visibly changes, and the formula holds
    # exactly everywhere.
    fit['alpha'] = np.where(fit['alpha'] > ALPHA_FLOOR, fit['alpha'],
                            0).astype(np.float32)
    fit.update(target=target, amax=float(amax), fade=fade)
    return fit


def fit_plume(p: dict, tex: dict, target: float, bounds: Range,
              size: Sequence[int], scale: float,
              mask_threshold: float) -> dict:
    """``PlumeRenderer.fit_size`` in the plume's box, on a grid ``scale``
    times the image's, upsampled back to the image.

    Args:
        p (dict): Shape and placement parameters, in image pixels.
        tex (dict): The plume's noise textures.
        target (float): Aimed mask area, a fraction of the image.
        bounds (tuple[float, float]): Open interval of acceptable fractions.
        size (Sequence[int]): ``(H, W)`` of the image.
        scale (float): Grid scale; 1 or more renders at the image's grid.
        mask_threshold (float): Opacity above which a pixel is smoke.

    Returns:
        dict: The fit (see :meth:`PlumeRenderer.fit_size`) with ``alpha``,
        ``fields``, ``box`` and ``length`` in image pixels and ``p`` the
        parameters as given.
    """
    h, w = size
    if scale >= 1:
        renderer = PlumeRenderer((h, w), mask_threshold, full_frame=False)
        return renderer.fit_size(p, tex, target, bounds)
    hs, ws = max(1, round(h * scale)), max(1, round(w * scale))
    sy, sx = hs / h, ws / w
    ps = dict(
        p,
        xs=p['xs'] * sx,
        ys=p['ys'] * sy,
        blur=p['blur'] * math.sqrt(sx * sy))
    renderer = PlumeRenderer((hs, ws), mask_threshold, full_frame=False)
    fit = renderer.fit_size(ps, tex, target, bounds)
    y0, y1, x0, x1 = fit['box']
    if y1 <= y0 or x1 <= x0:
        return fit
    box = (int(math.floor(y0 / sy)), min(h, int(math.ceil(y1 / sy))),
           int(math.floor(x0 / sx)), min(w, int(math.ceil(x1 / sx))))
    dsize = (box[3] - box[2], box[1] - box[0])

    def up(a: np.ndarray) -> np.ndarray:
        return cv2.resize(a, dsize, interpolation=cv2.INTER_LINEAR)

    fit['alpha'] = np.clip(up(fit['alpha']), 0, 1)
    fit['fields'] = {k: up(v) for k, v in fit['fields'].items()}
    fit['box'] = box
    fit['length'] = fit['length'] / scale
    fit['p'] = p
    return fit
