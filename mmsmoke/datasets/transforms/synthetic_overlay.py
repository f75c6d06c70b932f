"""Composite procedural smoke plumes onto real training images on the fly.

Early smoke is small, thin and transparent, and real training sets hold
little of it. :class:`SyntheticSmokeOverlay` adds plumes of that kind to
the (real) image of each training sample, with exact labels, using the
plume model of the synthetic generator
(:mod:`mmsmoke.datasets.synthetic.plume`), and may also add smoke-like
distractors (clouds, fog, haze) that stay background.

This module holds the registered transform (argument validation, random
source, label update). The image side is in plain functions of
:mod:`mmsmoke.datasets.synthetic`: ``overlay_io`` (pipeline image format),
``overlay_scene`` (light, ground map, plume source), ``overlay_plume``
(shape, placement and size of a plume's opacity), ``overlay_composite``
(colour, visibility check, composite) and ``overlay_distractors``; each
documents the deviations from the generator it makes, and why.
"""
from dataclasses import fields
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmsmoke.datasets.synthetic.overlay_composite import (PlumeOptions,
                                                          composite_overlay)
from mmsmoke.datasets.synthetic.overlay_distractors import \
    OVERLAY_DISTRACTORS
from mmsmoke.datasets.synthetic.overlay_io import (paste_rgb_float,
                                                   to_rgb_float)
from mmsmoke.datasets.synthetic.overlay_scene import scene_stats
from mmsmoke.datasets.synthetic.smoke_colour import SMOKE_STYLES

__all__ = ['SyntheticSmokeOverlay', 'OVERLAY_DISTRACTORS']


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
    smoke colour and ``alpha`` the plume opacity; several plumes combine to
    ``alpha = 1 - prod_k (1 - alpha_k)``
    (:mod:`~mmsmoke.datasets.synthetic.overlay_composite`). The composite
    is computed in float on RGB and written back as BGR uint8 (rounded), or
    as float when the image came in as float (``to_float32=True`` loading,
    values in [0, 255]).

    **Labels.** ``gt_seg_map`` becomes ``smoke_label`` (1) where
    ``alpha > mask_threshold`` (0.1, the generator's threshold), as a union
    with the existing label: existing smoke is never removed, and pixels
    with ``ignore_index`` (255) stay ignored, because their annotation is
    unknown and the overlay does not make it known. Distractors change the
    image only, never the label.

    **Plumes** (defaults aim at early smoke: small, thin, transparent):
    ``num_plumes`` plumes, each with a mask area drawn log-uniformly in
    ``area_range`` (fractions of the image the transform receives, after
    any resize and crop; the default (0.05%, 2%) spans the small (< 0.5%)
    and medium (0.5%-5%) size strata of :mod:`mmsmoke.utils.size_groups`)
    and a peak opacity drawn uniformly in ``alpha_range``, rising from a
    source on textured ground in ``source_y_range`` of the height
    (:mod:`~mmsmoke.datasets.synthetic.overlay_plume`); white-grey,
    grey-brown or dark (``smoke_styles``), lit by the image's own light,
    hazed by a weight from ``haze_range``, and composited only if visible
    (``min_contrast`` and 1.5 times the background texture; three draws at
    most per requested plume).

    **Distractors.** With probability ``distractor_prob`` the image gets
    one or more of ``distractors`` (each allowed type with probability 1/2,
    at least one), composited like smoke but never labelled
    (:mod:`~mmsmoke.datasets.synthetic.overlay_distractors`).

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
    ``area``, ``alpha_max``, ``style``, ``contrast``, ... (see
    :func:`~mmsmoke.datasets.synthetic.overlay_composite.add_plume`)); with
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

    @staticmethod
    def scene_stats(rgb: np.ndarray) -> Dict[str, np.ndarray]:
        """Light, bright and top colours, ground map of an RGB image (see
        :func:`~mmsmoke.datasets.synthetic.overlay_scene.scene_stats`)."""
        return scene_stats(rgb)

    def plume_options(self) -> PlumeOptions:
        """This transform's plume arguments as :class:`~mmsmoke.datasets.
        synthetic.overlay_composite.PlumeOptions`."""
        return PlumeOptions(
            **{f.name: getattr(self, f.name)
               for f in fields(PlumeOptions)})

    def composite_smoke(self,
                        rgb: np.ndarray,
                        rng: np.random.Generator,
                        add_smoke: bool = True,
                        add_distractors: bool = False,
                        return_smoke: bool = False) -> dict:
        """Apply distractors and plumes to an RGB float image.

        This is the whole image side of :meth:`transform`, exposed for
        tests and visualisation: :func:`~mmsmoke.datasets.synthetic.
        overlay_composite.composite_overlay` with this transform's
        arguments and ``num_plumes`` plumes.

        Returns:
            dict: ``image`` (float32 RGB composite), ``background`` (after
            the distractors), ``alpha`` (combined opacity), ``distractors``,
            ``plumes`` (see the class docstring) and, with
            ``return_smoke``, ``smoke``: the combined colour S, so that
            ``image = (1 - alpha) * background + alpha * S`` (before the
            final clip to [0, 1]).
        """
        return composite_overlay(rgb, rng, self.plume_options(),
                                 self.num_plumes, self.distractors, add_smoke,
                                 add_distractors, return_smoke)

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
        rgb = to_rgb_float(img)
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
            results['img'] = paste_rgb_float(img, out['image'], boxes)
        if self.debug:
            results['synthetic_alpha'] = out['alpha']
            results['synthetic_smoke'] = out['smoke']
            results['synthetic_background'] = out['background']
        return results

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
