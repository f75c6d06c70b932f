"""One plume in the generator's landscape: placed, sized and coloured.

The plume model itself (shape, textures, rasterisation, colour) lives in
:mod:`~mmsmoke.datasets.synthetic.plume`; this module places its source on
a ridge of the scene from :mod:`~mmsmoke.datasets.synthetic.scene`, hides
its base behind nearer ridges, rescales it until its mask area falls in the
requested size stratum (:func:`mmsmoke.utils.size_groups.size_group`) and
draws a colour with enough contrast to the background under the mask.
"""
import math
from typing import Dict, Tuple

import numpy as np

from mmsmoke.utils.size_groups import SIZE_THRESHOLDS
from .plume import (PlumeRenderer, draw_plume_shape, plume_textures,
                    smoke_colour)
from .scene import Scene

#: A ``(low, high)`` range.
Range = Tuple[float, float]
#: Area-fraction ranges aimed at for each size stratum (log-uniform draw).
TARGET_RANGES: Dict[str, Range] = {
    'small': (0.0006, 0.0042),
    'medium': (0.007, 0.04),
    'large': (0.06, 0.22),
}


class ScenePlume:
    """Render the smoke layer of one sample onto a rendered scene.

    The arguments are those of the same names of
    :class:`~mmsmoke.datasets.synthetic.SyntheticSmokeGenerator`, which
    validates them: the output size ``(H, W)``, ``mask_threshold``,
    ``dark_smoke_prob`` and ``min_contrast``; ``alpha_ranges`` maps each
    smoke kind (``'plume'``, ``'thin'``, ``'small'``) to its peak opacity
    range (``alpha_range``, ``thin_alpha_range``, ``small_alpha_range``).
    """

    def __init__(self, img_size: Tuple[int, int], mask_threshold: float,
                 alpha_ranges: Dict[str, Range], dark_smoke_prob: float,
                 min_contrast: float) -> None:
        self.img_size = img_size
        self.mask_threshold = mask_threshold
        self.alpha_ranges = alpha_ranges
        self.dark_smoke_prob = dark_smoke_prob
        self.min_contrast = min_contrast
        self.renderer = PlumeRenderer(img_size, mask_threshold)

    def render(self, rng: np.random.Generator, scene: Scene, kind: str,
               target: str) -> Tuple[np.ndarray, np.ndarray, dict]:
        """Place, shape and size one plume; return alpha, S and its meta.

        The plume is rescaled until its mask area is in the target size
        stratum. When that fails (a plume hidden behind a nearer ridge, cut
        by the frame), the source is placed again, up to four times; the
        last resort drops the occlusion by nearer ridges, so that a smoke
        sample never has an empty mask.
        """
        h, w = self.img_size
        lo, hi = TARGET_RANGES[target]
        lo = max(lo, min(4.0 / (h * w), 0.5 * hi))
        target_frac = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        if target == 'small':
            bounds = (0.0, SIZE_THRESHOLDS[0])
        elif target == 'medium':
            bounds = SIZE_THRESHOLDS
        else:
            bounds = (SIZE_THRESHOLDS[1], 1.0)
        amax = rng.uniform(*self.alpha_ranges[kind])
        shape = draw_plume_shape(rng, amax)
        tex = plume_textures(rng)

        best = None
        for attempt in range(5):
            place = self.place_source(rng, scene, target)
            front = place.pop('front')
            if attempt == 4:
                front = None  # last resort: nothing in front of the plume
            p = dict(shape, **place)
            result = self.renderer.fit_size(p, tex, target_frac, bounds, front)
            if best is None or self.renderer.better(result, best):
                best = result
            if best['ok']:
                break
        alpha, fields, length = best['alpha'], best['fields'], best['length']
        p = best['p']
        layer = p['layer']

        # Annotated smoke is smoke that can be seen: redraw the colour (up
        # to four times) while its mean contrast with the background under
        # the mask, alpha * |S - B|, is below ``min_contrast``.
        inside = alpha > self.mask_threshold
        back = scene.image[inside]
        # Aerial perspective: plumes on farther ridges fade to the haze.
        hz = scene.haze0 * (1 - layer / max(len(scene.lines) - 1, 1))
        haze_weight = 0.3 * hz**1.4
        best_c = None
        for _ in range(4):
            colour = smoke_colour(rng, scene.light, fields,
                                  self.dark_smoke_prob, scene.haze,
                                  haze_weight)
            diff = np.sqrt(((colour[inside] - back)**2).mean(-1))
            contrast = float(
                (alpha[inside] * diff).mean()) if len(diff) else 0.0
            if best_c is None or contrast > best_c:
                best_c, smoke = contrast, colour
            if contrast >= self.min_contrast:
                break
        meta = dict(
            source_xy=[round(p['xs'], 2), round(p['ys'], 2)],
            layer=layer,
            wind=p['wind'],
            length_px=round(length, 2),
            alpha_max=round(p['alpha_max'], 4),
            target_fraction=round(target_frac, 5),
            contrast=round(best_c, 4))
        return alpha, smoke, meta

    def place_source(self, rng: np.random.Generator, scene: Scene,
                     target: str) -> dict:
        """Choose the ridge layer, source point and wind of a plume.

        Returns:
            dict: ``layer``, source ``xs``/``ys`` (pixels), ``wind``,
            ``theta``, ``bend`` and ``front``, the occlusion of the plume
            by the nearer ridges (float32 ``(H, W)``).
        """
        h, w = self.img_size
        lines, covers = scene.lines, scene.covers
        n = len(lines)
        if target == 'small':
            layer = int(rng.integers(0, min(2, n)))
        elif target == 'medium':
            layer = int(rng.integers(0, n))
        else:
            layer = int(rng.integers(max(n - 2, 0), n))
        span = (0.2, 0.8) if target == 'large' else (0.08, 0.92)
        xs = float(rng.uniform(*span) * w)
        # Wind mostly blows the plume towards the wider side of the frame.
        towards = -1.0 if xs > w / 2 else 1.0
        p_towards = 0.8 if target == 'large' else 0.6
        wind = towards if rng.random() < p_towards else -towards
        col_i = min(int(xs), w - 1)
        y_line = float(lines[layer][col_i])
        y_next = float(lines[layer + 1][col_i]) if layer + 1 < n else h
        ys = y_line + rng.uniform(0.05, 0.7) * max(y_next - y_line, 2.0)
        ys = min(ys, 1.05 * h)
        # Nearer ridges hide the base of the plume.
        front = np.zeros((h, w), np.float32)
        for cov in covers[layer + 1:]:
            front = 1 - (1 - front) * (1 - cov)
        return dict(
            layer=layer,
            xs=xs,
            ys=ys,
            wind=wind,
            theta=wind * rng.uniform(0.0, 0.55),
            bend=wind * rng.uniform(0.0, 0.6),
            front=front)
