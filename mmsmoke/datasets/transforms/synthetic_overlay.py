"""Composite procedural smoke plumes onto real training images on the fly.

Early smoke is small, thin and transparent, and real training sets hold
little of it. :class:`SyntheticSmokeOverlay` adds plumes of that kind to
the (real) image of each training sample, with exact labels, using the
plume model of the synthetic generator
(:mod:`mmsmoke.datasets.synthetic.plume`), and may also add smoke-like
distractors (clouds, fog, haze) that stay background.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmsmoke.datasets.synthetic.distractors import (cloud_layer, composite,
                                                    fog_layer, uniform_veil)
from mmsmoke.datasets.synthetic.noise import smoothstep
from mmsmoke.datasets.synthetic.plume import (SMOKE_STYLES, PlumeRenderer,
                                              draw_plume_shape, plume_textures,
                                              smoke_colour)

Range = Tuple[float, float]
#: Distractor types the overlay can add.
OVERLAY_DISTRACTORS: Tuple[str, ...] = ('cloud', 'fog', 'haze')
#: Largest side of the canvas distractor layers are drawn on before being
#: upsampled to the image (they are smooth; this keeps them cheap).
_DISTRACTOR_CANVAS = 192
#: Largest side of the thumbnail the scene's light is measured on.
_STATS_SIDE = 64
#: Share of the bright colour's chroma kept in the light colour.
_LIGHT_TINT = 1.0 / 3
#: Gaussian sigma (px) of the local background mean used by the contrast
#: check.
_CONTRAST_SIGMA = 3.0
#: A plume must change the local mean by at least this times the RMS
#: texture of the background under it (besides ``min_contrast``).
_TEXTURE_RATIO = 1.5
#: Plumes drawn at most per requested plume until one is visible.
_PLUME_ATTEMPTS = 3
#: Largest tilt (rad) and bend of the centreline, smallest spreading rate
#: (the generator's are 0.55, 0.6 and 0.06); the top spreading (``cap``) is
#: halved.
_MAX_TILT, _MAX_BEND, _MIN_SPREAD = 0.35, 0.4, 0.1
#: Range of the normalised height over which half of the plumes fade in.
_BASE_FADE = (0.1, 0.3)
#: Source positions drawn at most until one lies on textured ground.
_SOURCE_DRAWS = 8
#: Plumes whose target mask exceeds this many pixels are rendered on a
#: coarser grid (see ``_fit``), which bounds the cost of large plumes.
_MAX_RENDER_MASK_PX = 1500
#: Opacities at or below this are set to 0 (a quarter of a grey level).
_ALPHA_FLOOR = 1.0 / 1024


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value,
                                                 (int, float, np.number)):
        raise TypeError(f'{name} must be a number, got {value!r}')
    return float(value)


def _probability(value, name: str) -> float:
    value = _number(value, name)
    if not 0 <= value <= 1:
        raise ValueError(f'{name} must be in [0, 1], got {value}')
    return value


def _pair(value, name: str) -> Tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, '__len__') \
            or len(value) != 2:
        raise ValueError(f'{name} must be a pair (low, high), got {value!r}')
    low, high = (_number(v, name) for v in value)
    if low > high:
        raise ValueError(f'{name} must have low <= high, got {value!r}')
    return low, high


@TRANSFORMS.register_module()
class SyntheticSmokeOverlay(BaseTransform):
    """Add procedural smoke plumes (and background distractors) to an image.

    Image formation, per pixel and RGB channel, in [0, 1] (the same linear
    blending model as the synthetic generator)::

        I' = (1 - alpha) * I + alpha * S

    ``I`` is the input image (after the distractors, if any), ``S`` the
    smoke colour and ``alpha`` the plume opacity. With several plumes they
    are composited one after the other; the combined opacity is
    ``alpha = 1 - prod_k (1 - alpha_k)`` and the formula above holds with
    the combined colour. The composite is computed in float on RGB and
    written back as BGR uint8 (rounded), or as float when the image came in
    as float (``to_float32=True`` loading, values in [0, 255]).

    **Labels.** ``gt_seg_map`` becomes ``smoke_label`` (1) where
    ``alpha > mask_threshold`` (0.1, the generator's threshold), as a union
    with the existing label: existing smoke is never removed, and pixels
    with ``ignore_index`` (255) stay ignored, because their annotation is
    unknown and the overlay does not make it known. Distractors change the
    image only, never the label.

    **Plumes** (defaults aim at early smoke: small, thin, transparent):

    - ``num_plumes`` plumes, each with a mask area drawn log-uniformly in
      ``area_range`` (fractions of the image; the default (0.05%, 2%)
      spans the small (< 0.5%) and medium (0.5%-5%) size strata of
      :mod:`mmsmoke.utils.size_groups`) and a peak opacity ``alpha_max``
      drawn uniformly in ``alpha_range``. The plume shape, turbulence and
      size fitting are the generator's
      (:mod:`mmsmoke.datasets.synthetic.plume`); the area is measured on
      the image the transform receives (after any resize and crop).
    - Source: ``x`` uniform in [5%, 95%] of the width, ``y`` uniform in
      ``source_y_range`` of the height (the lower and middle part of the
      frame, where ground and horizon usually are), redrawn (up to eight
      times) while it falls on a smooth area of the image (sky, a black
      lens border: luma gradient energy below half its median on a 64 px
      thumbnail). The plume rises from it, tilted and bent by a random
      wind.
    - Colour: white-grey, grey-brown or dark smoke (``smoke_styles``), lit
      by the image's own light: the mean colour of its brightest 5% of
      pixels, desaturated to a third of its chroma (the brightest pixels
      are often blue sky, not sunlight) and dimmed in dark images; mixed
      towards the mean colour of the image's top rows by a weight drawn
      from ``haze_range`` (aerial haze). Browner and darker near the
      source and shaded by the turbulence, as in the generator.
    - Annotated smoke is smoke that can be seen: the colour is drawn again
      (up to four times) while the mean contrast ``alpha * |S - I_loc|``
      (RMS over RGB) under the plume's mask is below ``min_contrast`` or
      below 1.5 times the RMS texture of the background there (``I_loc``
      is the background blurred with a 3 px Gaussian). If no colour is
      visible, a new plume is drawn (three plumes at most per requested
      plume).

    **Distractors.** With probability ``distractor_prob`` the image gets
    one or more of ``distractors`` (each allowed type with probability 1/2,
    at least one), each with its own random parameters, composited like
    smoke but never labelled: ``'cloud'`` (the generator's clouds, confined
    above a random row in the upper 25%-60% of the frame), ``'fog'`` (a
    band with a soft, nearly flat top at a random height in the 35%-85%
    band of the frame, fading downwards, in 0.85 times the bright colour)
    and ``'haze'`` (a uniform veil of the image's bright colour, opacity
    0.08-0.3). They are drawn on a canvas of at most 192 px and upsampled,
    which keeps them cheap; they are smooth, so nothing is lost.

    Deviations from the generator, and why:

    - Nothing occludes the plume: the scene geometry of a real image
      (ridges, trees, buildings) is unknown, so a plume is drawn in front
      of everything. Instead, half of the plumes fade in over the first
      10%-30% of their height (raggedly, following the turbulence), like
      smoke rising from behind a ridge or vegetation. The label stays exact
      for the composite.
    - The contrast check compares with the local mean of the background and
      also requires 1.5 times its texture (the generator's backgrounds are
      smooth; on real foliage or rock a thin veil with the generator's
      contrast is invisible). A requested plume that stays invisible, or
      falls outside the frame, after three draws is not composited (the
      generator keeps its best colour, since it controls the background);
      an invisible labelled plume would teach false alarms. Every drawn
      plume is recorded in ``results['synthetic_plumes']``.
    - Shapes lean towards early smoke: the tilt and the wind bend are at
      most 0.35 and 0.4 (the generator's 0.55 and 0.6), the spreading rate
      at least 0.1 (0.06) and the mushroom-like top spreading is halved;
      long, narrow, strongly bent plumes read as streaks on real images.
    - Plumes whose target mask exceeds 1,500 px are rendered on a grid
      scaled so that it holds 1,500 px and upsampled (bilinear): the noise
      lives in plume coordinates, so only sub-pixel detail is lost, and
      this bounds the cost of the largest plumes. Opacity at or below
      1/1024 is set to 0, so the plume touches only pixels it changes.
    - No camera model (noise, blur, JPEG) is applied: the real image already
      has its own, and the plume is smooth, soft-edged smoke over it.

    **Randomness.** ``seed=None`` draws from numpy's global random state
    (which mmengine seeds in every dataloader worker), one draw per call.
    ``seed=int`` uses a private :class:`numpy.random.Generator` seeded with
    ``[seed, worker_id + 1]`` (``worker_id`` from
    ``torch.utils.data.get_worker_info()``, -1 outside workers), so two
    transforms with the same seed give the same outputs for the same
    inputs, and dataloader workers do not repeat each other. Without
    ``persistent_workers`` a worker's generator restarts with each epoch.

    Required keys: ``img`` ((H, W, 3) BGR, or (H, W) / (H, W, 1) grey,
    uint8 or float in [0, 255]), ``gt_seg_map`` ((H, W)).
    Modified keys: ``img``, ``gt_seg_map``.
    Added keys: ``synthetic_overlay`` (bool: a plume was composited),
    ``synthetic_distractors`` (list of the distractors added),
    ``synthetic_plumes`` (one dict per requested plume, about its last
    draw: ``status`` ``'added'``, ``'low_contrast'`` or ``'outside'``,
    ``attempts``, ``area`` (mask fraction), ``target_area``, ``alpha_max``,
    ``style``, ``contrast``, ``texture``, ``source_xy`` and, when added,
    ``box`` (y0, y1, x0, x1)); with
    ``debug=True`` also ``synthetic_alpha`` (float32 (H, W) combined
    opacity), ``synthetic_smoke`` (float32 (H, W, 3) combined RGB colour,
    0 where alpha is 0) and ``synthetic_background`` (float32 (H, W, 3) RGB
    image after the distractors and before the smoke), all in [0, 1].

    Args:
        prob (float): Probability of adding smoke to a sample. Default 0.5.
        num_plumes (int | tuple[int, int]): Number of plumes, or a range
            drawn uniformly (inclusive). Default (1, 2).
        area_range (tuple[float, float]): Range of each plume's mask area
            as a fraction of the image, drawn log-uniformly. Default
            (0.0005, 0.02).
        alpha_range (tuple[float, float]): Range of the peak opacity,
            ``mask_threshold < low <= high <= 1``. Default (0.2, 0.6).
        smoke_styles (dict): Weights of the colour styles ``white_grey``,
            ``grey_brown`` and ``dark`` (normalised). Default 0.5 / 0.38 /
            0.12, the generator's shares.
        mask_threshold (float): Opacity above which a pixel is labelled
            smoke. Default 0.1.
        min_contrast (float): Smallest mean ``alpha * |S - I_loc|`` under
            a plume's mask (RMS over RGB, [0, 1] intensities), the
            generator's default; 0 disables the check, the texture part
            included. Default 0.035.
        source_y_range (tuple[float, float]): Range of the source row as a
            fraction of the height (0 top, 1 bottom). Default (0.35, 0.95).
        haze_range (tuple[float, float]): Range of the weight of the aerial
            haze colour in the smoke colour. Default (0.0, 0.3).
        distractor_prob (float): Probability of adding distractors.
            Default 0.2.
        distractors (Sequence[str]): Allowed distractor types, a subset of
            ``('cloud', 'fog', 'haze')``. Default all three.
        seed (int, optional): Seed of a private generator (see above), or
            None for numpy's global random state. Default None.
        ignore_index (int): Label value that stays as it is. Default 255.
        smoke_label (int): Label value of smoke. Default 1.
        debug (bool): Store the layers in ``results`` (see above).
            Default False.
    """

    def __init__(self,
                 prob: float = 0.5,
                 num_plumes: Union[int, Tuple[int, int]] = (1, 2),
                 area_range: Tuple[float, float] = (0.0005, 0.02),
                 alpha_range: Tuple[float, float] = (0.2, 0.6),
                 smoke_styles: Optional[Dict[str, float]] = None,
                 mask_threshold: float = 0.1,
                 min_contrast: float = 0.035,
                 source_y_range: Tuple[float, float] = (0.35, 0.95),
                 haze_range: Tuple[float, float] = (0.0, 0.3),
                 distractor_prob: float = 0.2,
                 distractors: Sequence[str] = OVERLAY_DISTRACTORS,
                 seed: Optional[int] = None,
                 ignore_index: int = 255,
                 smoke_label: int = 1,
                 debug: bool = False) -> None:
        super().__init__()
        self.prob = _probability(prob, 'prob')
        self.distractor_prob = _probability(distractor_prob, 'distractor_prob')
        if isinstance(num_plumes, (int, np.integer)) and \
                not isinstance(num_plumes, bool):
            num_plumes = (num_plumes, num_plumes)
        lo, hi = _pair(num_plumes, 'num_plumes')
        if lo != int(lo) or hi != int(hi) or lo < 1:
            raise ValueError('num_plumes must be an int >= 1 or a pair of '
                             f'ints 1 <= low <= high, got {num_plumes!r}')
        self.num_plumes = (int(lo), int(hi))
        self.mask_threshold = _number(mask_threshold, 'mask_threshold')
        if not 0 < self.mask_threshold < 1:
            raise ValueError('mask_threshold must be in (0, 1), got '
                             f'{mask_threshold}')
        self.area_range = _pair(area_range, 'area_range')
        if not 0 < self.area_range[0] <= self.area_range[1] < 1:
            raise ValueError('area_range must satisfy 0 < low <= high < 1 '
                             f'(fractions of the image), got {area_range!r}')
        self.alpha_range = _pair(alpha_range, 'alpha_range')
        if not self.mask_threshold < self.alpha_range[0] <= \
                self.alpha_range[1] <= 1:
            raise ValueError(
                'alpha_range must satisfy mask_threshold < low <= high <= 1 '
                f'(mask_threshold={self.mask_threshold}; a peak opacity at '
                f'or below it would never be labelled), got {alpha_range!r}')
        if smoke_styles is None:
            smoke_styles = dict(white_grey=0.5, grey_brown=0.38, dark=0.12)
        if not isinstance(smoke_styles, dict) or \
                set(smoke_styles) - set(SMOKE_STYLES):
            raise ValueError(f'smoke_styles must be a dict with keys among '
                             f'{SMOKE_STYLES}, got {smoke_styles!r}')
        weights = {
            k: _number(smoke_styles.get(k, 0.0), f'smoke_styles[{k!r}]')
            for k in SMOKE_STYLES
        }
        total = sum(weights.values())
        if min(weights.values()) < 0 or total <= 0:
            raise ValueError('smoke_styles weights must be >= 0 with a '
                             f'positive sum, got {smoke_styles!r}')
        self.smoke_styles = {k: v / total for k, v in weights.items()}
        self.min_contrast = _number(min_contrast, 'min_contrast')
        if self.min_contrast < 0:
            raise ValueError(f'min_contrast must be >= 0 (0 disables the '
                             f'check), got {min_contrast}')
        self.source_y_range = _pair(source_y_range, 'source_y_range')
        if not 0 <= self.source_y_range[0] <= self.source_y_range[1] <= 1:
            raise ValueError('source_y_range must satisfy 0 <= low <= high '
                             f'<= 1 (fractions of the height), got '
                             f'{source_y_range!r}')
        self.haze_range = _pair(haze_range, 'haze_range')
        if not 0 <= self.haze_range[0] <= self.haze_range[1] <= 1:
            raise ValueError('haze_range must satisfy 0 <= low <= high <= 1, '
                             f'got {haze_range!r}')
        if isinstance(distractors, str):
            distractors = (distractors, )
        unknown = [d for d in distractors if d not in OVERLAY_DISTRACTORS]
        if unknown:
            raise ValueError(f'distractors {unknown} are not among '
                             f'{OVERLAY_DISTRACTORS}')
        self.distractors = tuple(d for d in OVERLAY_DISTRACTORS
                                 if d in distractors)
        if self.distractor_prob > 0 and not self.distractors:
            raise ValueError('distractors is empty while distractor_prob > '
                             '0; list at least one type or set '
                             'distractor_prob=0')
        if seed is not None and (isinstance(
                seed, bool) or not isinstance(seed,
                                              (int, np.integer)) or seed < 0):
            raise ValueError('seed must be None (numpy global random state) '
                             f'or an int >= 0, got {seed!r}')
        self.seed = None if seed is None else int(seed)
        for name, value in (('ignore_index', ignore_index), ('smoke_label',
                                                             smoke_label)):
            if isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)) or not 0 <= value <= 255:
                raise ValueError(f'{name} must be an int in [0, 255] (uint8 '
                                 f'labels), got {value!r}')
        if smoke_label == ignore_index:
            raise ValueError(f'smoke_label ({smoke_label}) must differ from '
                             f'ignore_index ({ignore_index})')
        self.ignore_index = int(ignore_index)
        self.smoke_label = int(smoke_label)
        self.debug = bool(debug)
        self._rng: Optional[np.random.Generator] = None
        self._rng_worker: Optional[int] = None

    # ------------------------------------------------------------------
    # Randomness
    # ------------------------------------------------------------------
    def _generator(self) -> np.random.Generator:
        """The random source of one call (see the class docstring)."""
        if self.seed is None:
            return np.random.default_rng(
                np.random.randint(0, 2**32, size=4, dtype=np.uint64))
        worker = -1
        try:
            from torch.utils.data import get_worker_info
            info = get_worker_info()
            if info is not None:
                worker = int(info.id)
        except ImportError:  # torch is optional for the transform itself
            pass
        if self._rng is None or self._rng_worker != worker:
            self._rng = np.random.default_rng([self.seed, worker + 1])
            self._rng_worker = worker
        return self._rng

    # ------------------------------------------------------------------
    # Scene statistics
    # ------------------------------------------------------------------
    @staticmethod
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
        """
        h, w = rgb.shape[:2]
        scale = min(1.0, _STATS_SIDE / max(h, w))
        if scale < 1:
            thumb = cv2.resize(
                rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                interpolation=cv2.INTER_AREA)
        else:
            thumb = rgb
        flat = thumb.reshape(-1, 3)
        luma = flat @ np.array([0.299, 0.587, 0.114], np.float32)
        k = max(1, int(round(0.05 * len(luma))))
        idx = np.argpartition(luma, len(luma) - k)[-k:]
        bright = flat[idx].mean(0)
        # The light keeps a third of the bright colour's tint: the
        # brightest pixels are often blue sky, which is not the colour of
        # the sunlight on the smoke.
        grey = float(bright @ np.array([0.299, 0.587, 0.114], np.float32))
        tint = grey + _LIGHT_TINT * (bright - grey)
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

    # ------------------------------------------------------------------
    # Layers
    # ------------------------------------------------------------------
    def _add_distractors(self, rng: np.random.Generator, image: np.ndarray,
                         stats: dict) -> Tuple[np.ndarray, List[str]]:
        while True:
            chosen = [d for d in self.distractors if rng.random() < 0.5]
            if chosen:
                break
        h, w = image.shape[:2]
        scale = min(1.0, _DISTRACTOR_CANVAS / max(h, w))
        ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
        for name in chosen:
            if name == 'cloud':
                sky_line = np.full(cw, rng.uniform(0.25, 0.6) * ch, np.float32)
                a, col = cloud_layer(rng, (ch, cw), sky_line, stats['light'])
            elif name == 'fog':
                line = np.full(cw, rng.uniform(0.35, 0.85) * ch, np.float32)
                a, col = fog_layer(rng, (ch, cw), line, stats['bright'] * 0.85,
                                   np.ones(3, np.float32))
            else:
                a, col = uniform_veil(rng, (ch, cw), stats['bright'],
                                      (0.08, 0.3))
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

    def _draw_plume(self, rng: np.random.Generator, h: int, w: int,
                    stats: dict) -> dict:
        """Draw, place and size one plume; return its fit and parameters."""
        lo, hi = self.area_range
        lo = max(lo, min(4.0 / (h * w), 0.5 * hi))
        hi = max(hi, lo)
        target = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        amax = rng.uniform(*self.alpha_range)
        shape = draw_plume_shape(rng, amax)
        tex = plume_textures(rng)
        # Sources go on textured ground, not in the smooth sky (or a black
        # lens border): the first of up to eight draws whose thumbnail
        # texture reaches the threshold, else the last draw.
        ground = stats['ground']
        gh, gw = ground.shape
        for _ in range(_SOURCE_DRAWS):
            xs = float(rng.uniform(0.05, 0.95) * w)
            ys = float(rng.uniform(*self.source_y_range) * h)
            if ground[min(int(ys / h * gh), gh - 1),
                      min(int(xs / w * gw), gw - 1)]:
                break
        # Wind mostly blows the plume towards the wider side of the frame.
        towards = -1.0 if xs > w / 2 else 1.0
        wind = towards if rng.random() < 0.6 else -towards
        p = dict(
            shape,
            xs=xs,
            ys=ys,
            wind=wind,
            theta=wind * rng.uniform(0.0, _MAX_TILT),
            bend=wind * rng.uniform(0.0, _MAX_BEND))
        # Early plumes widen as they rise (long, narrow, strongly bent ones
        # read as streaks on a real background) but rarely mushroom.
        p['k'] = max(p['k'], _MIN_SPREAD)
        p['cap'] *= 0.5
        fade = rng.uniform(*_BASE_FADE) if rng.random() < 0.5 else 0.0
        # Large plumes are rendered on a coarser grid and upsampled (their
        # noise lives in plume coordinates, so the shape does not change;
        # only detail finer than a coarse pixel is lost, and the alpha is
        # smooth at that scale anyway).
        scale = min(1.0, math.sqrt(_MAX_RENDER_MASK_PX / (target * h * w)))
        fit = self._fit(p, tex, target, (lo, hi), (h, w), scale)
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
        fit['alpha'] = np.where(fit['alpha'] > _ALPHA_FLOOR, fit['alpha'],
                                0).astype(np.float32)
        fit.update(target=target, amax=float(amax), fade=fade)
        return fit

    def _fit(self, p: dict, tex: dict, target: float, bounds: Range,
             size: Tuple[int, int], scale: float) -> dict:
        """``PlumeRenderer.fit_size`` in the plume's box, on a grid
        ``scale`` times the image's, upsampled back to the image."""
        h, w = size
        if scale >= 1:
            renderer = PlumeRenderer((h, w),
                                     self.mask_threshold,
                                     full_frame=False)
            return renderer.fit_size(p, tex, target, bounds)
        hs, ws = max(1, round(h * scale)), max(1, round(w * scale))
        sy, sx = hs / h, ws / w
        ps = dict(
            p,
            xs=p['xs'] * sx,
            ys=p['ys'] * sy,
            blur=p['blur'] * math.sqrt(sx * sy))
        renderer = PlumeRenderer((hs, ws),
                                 self.mask_threshold,
                                 full_frame=False)
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

    def _add_plume(self, rng: np.random.Generator, image: np.ndarray,
                   transmission: np.ndarray, premult: Optional[np.ndarray],
                   stats: dict) -> dict:
        """Draw one plume and composite it into ``image`` in place.

        Up to three plumes are drawn until one is inside the frame and
        visible (see the class docstring); the last one's reason is
        recorded when none is. ``transmission`` (the product of
        ``1 - alpha_k``) and, when given, ``premult`` (the combined colour
        times the combined opacity, ``P_k = (1 - alpha_k) P_{k-1} +
        alpha_k S_k``) are updated in place, so that ``image = (1 - alpha)
        * background + premult`` with ``alpha = 1 - transmission``.
        """
        h, w = image.shape[:2]
        dark = self.smoke_styles['dark']
        for attempt in range(_PLUME_ATTEMPTS):
            fit = self._draw_plume(rng, h, w, stats)
            p = fit['p']
            alpha = fit['alpha']
            inside = alpha > self.mask_threshold
            haze_w = rng.uniform(*self.haze_range)
            meta = dict(
                status='outside',
                attempts=attempt + 1,
                area=round(int(inside.sum()) / float(h * w), 6),
                target_area=round(fit['target'], 6),
                alpha_max=round(fit['amax'], 4),
                style=None,
                contrast=None,
                texture=None,
                source_xy=[round(p['xs'], 1),
                           round(p['ys'], 1)])
            if not inside.any():
                continue
            y0, y1, x0, x1 = fit['box']
            view = image[y0:y1, x0:x1]
            # Contrast against the local mean of the background: a veil
            # over fine texture is seen by how it shifts the local
            # brightness and colour, not by the texture it lies on, and it
            # must shift it by more than that texture varies.
            local = cv2.GaussianBlur(view, (0, 0), _CONTRAST_SIGMA)
            # Colour and composite only where the plume has any opacity.
            support = alpha > 0
            a_s = alpha[support]
            back_s = view[support]
            local_s = local[support]
            fields_s = {k: v[support][None] for k, v in fit['fields'].items()}
            in_s = a_s > self.mask_threshold
            texture = float(
                np.sqrt(((back_s[in_s] - local_s[in_s])**2).mean()))
            need = max(self.min_contrast, _TEXTURE_RATIO * texture) \
                if self.min_contrast > 0 else 0.0
            best = None
            for _ in range(4):
                colour, style = smoke_colour(
                    rng,
                    stats['light'],
                    fields_s,
                    dark,
                    stats['top'],
                    haze_w,
                    grey_brown_cut=dark + self.smoke_styles['grey_brown'],
                    return_style=True)
                colour = colour[0]
                diff = np.sqrt(((colour[in_s] - local_s[in_s])**2).mean(-1))
                contrast = float((a_s[in_s] * diff).mean())
                if best is None or contrast > best[0]:
                    best = (contrast, colour, style)
                if contrast >= need:
                    break
            contrast, colour, style = best
            meta.update(
                style=style,
                contrast=round(contrast, 4),
                texture=round(texture, 4))
            if contrast < need:
                meta['status'] = 'low_contrast'
                continue
            a3 = a_s[:, None]
            view[support] = (1 - a3) * back_s + a3 * colour
            transmission[y0:y1, x0:x1][support] *= 1 - a_s
            if premult is not None:
                pview = premult[y0:y1, x0:x1]
                pview[support] = (1 - a3) * pview[support] + a3 * colour
            meta['status'] = 'added'
            meta['box'] = [int(y0), int(y1), int(x0), int(x1)]
            break
        return meta

    def composite_smoke(self,
                        rgb: np.ndarray,
                        rng: np.random.Generator,
                        add_smoke: bool = True,
                        add_distractors: bool = False,
                        return_smoke: bool = False) -> dict:
        """Apply distractors and plumes to an RGB float image.

        This is the whole image side of :meth:`transform`, exposed for
        tests and visualisation.

        Args:
            rgb (np.ndarray): float32 (H, W, 3) RGB image in [0, 1].
            rng (np.random.Generator): Random source.
            add_smoke (bool): Draw ``num_plumes`` plumes.
            add_distractors (bool): Draw distractors first.
            return_smoke (bool): Also return the combined smoke colour.

        Returns:
            dict: ``image`` (float32 RGB composite), ``background`` (the
            image after the distractors), ``alpha`` (float32 (H, W)
            combined opacity), ``distractors`` (list), ``plumes`` (list
            of per-plume dicts, see the class docstring) and, when asked
            for, ``smoke``: the combined colour S (float32 (H, W, 3), 0
            where alpha is 0), so that ``image = (1 - alpha) * background +
            alpha * S`` (before the final clip to [0, 1]).
        """
        image = np.array(rgb, np.float32, copy=True)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'rgb must be (H, W, 3), got {rgb.shape}')
        stats = self.scene_stats(image)
        chosen: List[str] = []
        if add_distractors:
            image, chosen = self._add_distractors(rng, image, stats)
        background = image.copy()
        transmission = np.ones(image.shape[:2], np.float32)
        premult = np.zeros_like(image) if return_smoke else None
        plumes = []
        if add_smoke:
            count = int(
                rng.integers(self.num_plumes[0], self.num_plumes[1] + 1))
            for _ in range(count):
                plumes.append(
                    self._add_plume(rng, image, transmission, premult, stats))
        alpha = (1 - transmission).astype(np.float32)
        out = dict(
            image=np.clip(image, 0, 1),
            background=background,
            alpha=alpha,
            distractors=chosen,
            plumes=plumes)
        if return_smoke:
            smoke = premult / np.maximum(alpha, 1e-12)[..., None]
            smoke[alpha <= 0] = 0
            out['smoke'] = smoke.astype(np.float32)
        return out

    # ------------------------------------------------------------------
    # Transform
    # ------------------------------------------------------------------
    def _check(self, results: dict) -> Tuple[np.ndarray, np.ndarray]:
        img = results.get('img')
        if not isinstance(img, np.ndarray):
            raise KeyError('SyntheticSmokeOverlay needs results["img"] as a '
                           'numpy array; put it after the image loader')
        if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3))):
            raise ValueError('SyntheticSmokeOverlay: img must be (H, W, 3) '
                             f'BGR or (H, W[, 1]) grey, got {img.shape}')
        if img.dtype != np.uint8 and not np.issubdtype(img.dtype, np.floating):
            raise ValueError('SyntheticSmokeOverlay: img must be uint8 or '
                             f'float in [0, 255], got dtype {img.dtype}')
        seg = results.get('gt_seg_map')
        if not isinstance(seg, np.ndarray):
            raise KeyError('SyntheticSmokeOverlay needs results['
                           '"gt_seg_map"]; put it after LoadAnnotations')
        if seg.shape != img.shape[:2]:
            raise ValueError(f'SyntheticSmokeOverlay: gt_seg_map shape '
                             f'{seg.shape} differs from img shape '
                             f'{img.shape[:2]}')
        other = [k for k in results.get('seg_fields', []) if k != 'gt_seg_map']
        if other:
            raise ValueError(
                f'SyntheticSmokeOverlay updates only gt_seg_map, but '
                f'seg_fields also lists {other}; their labels would not '
                f'show the added smoke. Put the overlay before the transform '
                f'that adds them, or remove them')
        return img, seg

    def transform(self, results: dict) -> dict:
        img, seg = self._check(results)
        rng = self._generator()
        add_smoke = bool(rng.random() < self.prob)
        add_distractors = bool(rng.random() < self.distractor_prob)
        results['synthetic_overlay'] = False
        results['synthetic_distractors'] = []
        results['synthetic_plumes'] = []
        if not (add_smoke or add_distractors or self.debug):
            return results
        grey = img.ndim == 2 or img.shape[2] == 1
        if grey:
            rgb = np.repeat(img.reshape(img.shape[:2] + (1, )), 3, axis=2)
        elif img.dtype == np.uint8:
            rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        else:
            rgb = img[..., ::-1]
        rgb = rgb.astype(np.float32)
        rgb *= np.float32(1 / 255)
        out = self.composite_smoke(rgb, rng, add_smoke, add_distractors,
                                   self.debug)
        mask = out['alpha'] > self.mask_threshold
        if mask.any():
            seg = seg.copy()
            seg[mask & (seg != self.ignore_index)] = self.smoke_label
            results['gt_seg_map'] = seg
        added = [p for p in out['plumes'] if p['status'] == 'added']
        results['synthetic_overlay'] = bool(added)
        results['synthetic_distractors'] = out['distractors']
        results['synthetic_plumes'] = out['plumes']
        if out['distractors']:
            boxes = [(0, img.shape[0], 0, img.shape[1])]
        else:  # only the plumes' boxes changed
            boxes = [p['box'] for p in added]
        if boxes:
            new = img.copy()
            for y0, y1, x0, x1 in boxes:
                new[y0:y1,
                    x0:x1] = self._to_input_format(out['image'][y0:y1, x0:x1],
                                                   img)
            results['img'] = new
        if self.debug:
            results['synthetic_alpha'] = out['alpha']
            results['synthetic_smoke'] = out['smoke']
            results['synthetic_background'] = out['background']
        return results

    @staticmethod
    def _to_input_format(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
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

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'num_plumes={self.num_plumes}, '
                f'area_range={self.area_range}, '
                f'alpha_range={self.alpha_range}, '
                f'smoke_styles={self.smoke_styles}, '
                f'mask_threshold={self.mask_threshold}, '
                f'min_contrast={self.min_contrast}, '
                f'source_y_range={self.source_y_range}, '
                f'haze_range={self.haze_range}, '
                f'distractor_prob={self.distractor_prob}, '
                f'distractors={self.distractors}, seed={self.seed})')
