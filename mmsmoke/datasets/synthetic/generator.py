"""Procedural, seeded synthetic wildfire-smoke images with exact labels.

Image formation follows the linear blending model of smoke used throughout
the smoke-segmentation literature (Tian et al., IJCV 2014; the RGBA smoke
layers of Yuan's DS test sets; the transmission of Trans-BVM)::

    I = (1 - alpha) * B + alpha * S        (per channel, all in [0, 1])

``B`` is a procedural landscape (sky gradient, hazy ridge layers, textured
terrain and, when asked for, clouds, valley fog and haze), ``S`` is the
smoke colour layer and ``alpha`` the soft smoke opacity. The smoke layer has
medium transmission ``t = 1 - alpha``. Labels are exact because the smoke is
composited, not drawn by hand:

* ``mask = alpha > mask_threshold`` (default 0.1, an absolute opacity);
* ``alpha`` itself (float32 in [0, 1]) as a soft density target;
* ``transmission = 1 - alpha``.

Clouds, fog and haze are part of ``B``; they never enter ``alpha`` and so
are never labelled smoke.

Plumes are not blobs: the density lives in plume-relative coordinates (a
source on a ridge, a tilted and wind-bent centreline, a width that grows
linearly with height as in a Gaussian plume) and the turbulence is
domain-warped fBm sampled in those coordinates, so that eddies scale with
the local plume width. A sample's plume is rendered, its mask area is
measured, and the plume is rescaled until the area falls in the requested
size stratum (:func:`mmsmoke.utils.size_groups.size_group`).

Sample ``index`` draws everything from
``numpy.random.default_rng([seed, 0, index])`` and its kind from a shuffled
block of ``stratify_block`` indices (``default_rng([seed, 1, block])``), so
a sample depends only on the generator's arguments, ``seed`` and ``index``.
"""
import json
import math
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from mmsmoke.utils.size_groups import SIZE_THRESHOLDS, size_group
from .distractors import cloud_layer, composite, fog_layer, haze_layer
from .noise import fbm, fbm1d
from .plume import (PlumeRenderer, draw_plume_shape, plume_textures,
                    smoke_colour)

#: Sample kinds, in the order of the probability arguments.
KINDS: Tuple[str, ...] = ('plume', 'thin', 'small', 'distractor', 'negative')
#: Kinds whose images contain smoke.
SMOKE_KINDS: Tuple[str, ...] = ('plume', 'thin', 'small')
#: Distractor types (part of the background, never labelled smoke).
DISTRACTORS: Tuple[str, ...] = ('cloud', 'fog', 'haze')
#: Split name -> first generator index of that split. Splits draw from
#: disjoint index ranges, so changing ``num_train`` leaves val/test as is.
SPLIT_OFFSETS: Dict[str, int] = {
    'train': 0,
    'val': 10_000_000,
    'test': 20_000_000
}
#: Largest split size (names carry a six-digit counter).
MAX_PER_SPLIT = 1_000_000
LAYOUTS: Tuple[str, ...] = ('smoke5k', 'smokeseg')
#: Area-fraction ranges aimed at for each size stratum (log-uniform draw).
TARGET_RANGES: Dict[str, Tuple[float, float]] = {
    'small': (0.0006, 0.0042),
    'medium': (0.007, 0.04),
    'large': (0.06, 0.22),
}
#: VOC palette entries for the two SmokeSeg classes.
VOC_PALETTE: Tuple[Tuple[int, int, int], ...] = ((0, 0, 0), (128, 0, 0))

# Palettes: sky top, sky at the horizon, aerial haze, sunlight tint and a
# list of terrain colours (all RGB in [0, 1]).
_PALETTES: Dict[str, dict] = {
    'clear_day':
    dict(
        top=(0.25, 0.45, 0.82),
        horizon=(0.70, 0.79, 0.90),
        haze=(0.66, 0.74, 0.84),
        light=(1.00, 1.00, 1.00),
        terrain=((0.26, 0.31, 0.18), (0.38, 0.36, 0.24), (0.20, 0.26, 0.17),
                 (0.45, 0.40, 0.30))),
    'hazy_day':
    dict(
        top=(0.48, 0.60, 0.78),
        horizon=(0.82, 0.84, 0.85),
        haze=(0.78, 0.80, 0.82),
        light=(1.00, 0.99, 0.96),
        terrain=((0.34, 0.36, 0.26), (0.46, 0.42, 0.32), (0.30, 0.33, 0.24))),
    'dry_summer':
    dict(
        top=(0.30, 0.50, 0.85),
        horizon=(0.78, 0.82, 0.88),
        haze=(0.72, 0.74, 0.78),
        light=(1.00, 0.98, 0.94),
        terrain=((0.62, 0.55, 0.40), (0.55, 0.47, 0.33), (0.66, 0.60, 0.46),
                 (0.40, 0.38, 0.26))),
    'overcast':
    dict(
        top=(0.58, 0.61, 0.66),
        horizon=(0.78, 0.79, 0.80),
        haze=(0.72, 0.73, 0.75),
        light=(0.95, 0.96, 0.98),
        terrain=((0.25, 0.28, 0.22), (0.33, 0.32, 0.27), (0.22, 0.24, 0.20))),
    'golden_hour':
    dict(
        top=(0.35, 0.45, 0.70),
        horizon=(0.96, 0.78, 0.55),
        haze=(0.85, 0.72, 0.58),
        light=(1.00, 0.86, 0.66),
        terrain=((0.40, 0.30, 0.18), (0.32, 0.26, 0.16), (0.50, 0.38, 0.24))),
    'dusk':
    dict(
        top=(0.22, 0.22, 0.42),
        horizon=(0.92, 0.56, 0.38),
        haze=(0.62, 0.45, 0.45),
        light=(0.98, 0.70, 0.55),
        terrain=((0.14, 0.12, 0.12), (0.18, 0.15, 0.14), (0.12, 0.12, 0.13))),
}
_PALETTE_NAMES = tuple(_PALETTES)
_PALETTE_WEIGHTS = np.array([0.30, 0.15, 0.20, 0.13, 0.12, 0.10])


def _rgb(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, np.float32).reshape(1, 1, 3)


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to ``total`` proportional to ``weights``."""
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind='stable')
    counts[order[:total - counts.sum()]] += 1
    return counts


class SyntheticSmokeGenerator:
    """Seeded generator of synthetic smoke scenes and their labels.

    Sample kinds:

    * ``'plume'``: an opaque to semi-opaque plume (``alpha_range``);
    * ``'thin'``: transparent smoke (``thin_alpha_range``);
    * ``'small'``: early smoke covering less than 0.5% of the image, usually
      on a distant ridge;
    * ``'distractor'``: no smoke, but clouds, valley fog and/or haze;
    * ``'negative'``: no smoke and no distractor.

    ``'plume'`` and ``'thin'`` samples aim at the medium stratum (0.5%-5% of
    the image) or, with probability ``large_fraction``, the large one (over
    5%). Smoke samples also get distractors with probability
    ``distractor_prob``.

    Args:
        img_size (tuple[int, int]): Output ``(H, W)``, each at least 32.
        seed (int): Seed of the whole sequence of samples (>= 0).
        p_plume (float): Share of ``'plume'`` samples.
        p_thin (float): Share of ``'thin'`` samples.
        p_small (float): Share of ``'small'`` samples.
        p_distractor (float): Share of smoke-free samples with distractors.
        p_negative (float): Share of smoke-free samples without distractors.
        large_fraction (float): Share of ``'plume'``/``'thin'`` samples that
            aim at the large stratum rather than the medium one.
        distractor_prob (float): Probability that a smoke sample also gets
            clouds/fog/haze.
        mask_threshold (float): Opacity above which a pixel is labelled
            smoke: ``mask = alpha > mask_threshold``.
        alpha_range (tuple[float, float]): Peak opacity of ``'plume'``.
        thin_alpha_range (tuple[float, float]): Peak opacity of ``'thin'``.
        small_alpha_range (tuple[float, float]): Peak opacity of
            ``'small'``.
        dark_smoke_prob (float): Probability of dark grey-brown smoke
            instead of white-grey smoke.
        min_contrast (float): Smallest mean ``alpha * |S - B|`` (RMS over
            RGB, [0, 1] intensities) under the mask that a plume's colour
            should reach; the colour is redrawn up to four times to reach
            it. ``0`` disables the check.
        camera_effects (bool): Apply the camera model after compositing
            (vignetting, slight blur, sensor noise, JPEG round trip). With
            ``False`` the image is exactly the rounded composite.
        noise_std_range (tuple[float, float]): Sensor noise std (of [0, 1]
            intensities).
        jpeg_quality_range (tuple[int, int]): Quality of the JPEG round
            trip of the camera model.
        stratify_block (int | None): Kinds are dealt in shuffled blocks of
            this many consecutive indices, each holding every kind in
            proportion to its probability, so any run of indices is
            balanced. ``None`` draws each kind independently.
    """

    def __init__(self,
                 img_size: Tuple[int, int] = (256, 256),
                 seed: int = 0,
                 p_plume: float = 0.40,
                 p_thin: float = 0.15,
                 p_small: float = 0.20,
                 p_distractor: float = 0.15,
                 p_negative: float = 0.10,
                 large_fraction: float = 0.5,
                 distractor_prob: float = 0.4,
                 mask_threshold: float = 0.1,
                 alpha_range: Tuple[float, float] = (0.5, 0.92),
                 thin_alpha_range: Tuple[float, float] = (0.2, 0.45),
                 small_alpha_range: Tuple[float, float] = (0.35, 0.85),
                 dark_smoke_prob: float = 0.12,
                 min_contrast: float = 0.035,
                 camera_effects: bool = True,
                 noise_std_range: Tuple[float, float] = (0.002, 0.012),
                 jpeg_quality_range: Tuple[int, int] = (72, 95),
                 stratify_block: Optional[int] = 40) -> None:
        if len(img_size) != 2 or min(img_size) < 32:
            raise ValueError('img_size must be (H, W) with H, W >= 32, got '
                             f'{img_size!r}')
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f'seed must be a non-negative int, got {seed!r}')
        probs = np.array([p_plume, p_thin, p_small, p_distractor, p_negative],
                         np.float64)
        if (probs < 0).any() or probs.sum() <= 0:
            raise ValueError('kind probabilities must be >= 0 with a '
                             f'positive sum, got {probs.tolist()}')
        for name, value in (('large_fraction', large_fraction),
                            ('distractor_prob', distractor_prob),
                            ('dark_smoke_prob', dark_smoke_prob)):
            if not 0 <= value <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        if not 0 < mask_threshold < 1:
            raise ValueError('mask_threshold must be in (0, 1), got '
                             f'{mask_threshold}')
        for name, rng_ in (('alpha_range', alpha_range), ('thin_alpha_range',
                                                          thin_alpha_range),
                           ('small_alpha_range', small_alpha_range)):
            lo, hi = rng_
            if not mask_threshold < lo <= hi <= 1:
                raise ValueError(
                    f'{name} must satisfy mask_threshold < low <= high <= 1 '
                    f'(mask_threshold={mask_threshold}), got {rng_!r}')
        if stratify_block is not None and stratify_block < 1:
            raise ValueError('stratify_block must be None or >= 1, got '
                             f'{stratify_block}')
        self.img_size = (int(img_size[0]), int(img_size[1]))
        self.seed = int(seed)
        self.kind_probs = dict(zip(KINDS, (probs / probs.sum()).tolist()))
        self.large_fraction = float(large_fraction)
        self.distractor_prob = float(distractor_prob)
        self.mask_threshold = float(mask_threshold)
        self.alpha_range = tuple(alpha_range)
        self.thin_alpha_range = tuple(thin_alpha_range)
        self.small_alpha_range = tuple(small_alpha_range)
        self.dark_smoke_prob = float(dark_smoke_prob)
        self.min_contrast = float(min_contrast)
        self.camera_effects = bool(camera_effects)
        self.noise_std_range = tuple(noise_std_range)
        self.jpeg_quality_range = tuple(jpeg_quality_range)
        self.stratify_block = stratify_block
        # (kind, target size group) slots and their probabilities.
        p = self.kind_probs
        lf = self.large_fraction
        self._slots = (('plume', 'medium'), ('plume', 'large'),
                       ('thin', 'medium'), ('thin', 'large'),
                       ('small', 'small'), ('distractor', 'none'), ('negative',
                                                                    'none'))
        self._slot_p = np.array([
            p['plume'] * (1 - lf), p['plume'] * lf, p['thin'] * (1 - lf),
            p['thin'] * lf, p['small'], p['distractor'], p['negative']
        ])

    # ------------------------------------------------------------------
    # Kind schedule
    # ------------------------------------------------------------------
    def kind_of(self, index: int) -> Tuple[str, str]:
        """Kind and target size group of sample ``index`` (cheap).

        Args:
            index (int): Sample index (>= 0).

        Returns:
            tuple[str, str]: ``(kind, target_group)``; ``target_group`` is
            ``'none'`` for smoke-free kinds. The achieved group is in the
            sample's ``meta['size_group']``.
        """
        index = self._check_index(index)
        if self.stratify_block is None:
            rng = np.random.default_rng([self.seed, 2, index])
            slot = rng.choice(
                len(self._slots), p=self._slot_p / self._slot_p.sum())
            return self._slots[slot]
        block = self.stratify_block
        counts = _largest_remainder(self._slot_p, block)
        deck = np.repeat(np.arange(len(self._slots)), counts)
        rng = np.random.default_rng([self.seed, 1, index // block])
        deck = rng.permutation(deck)
        return self._slots[int(deck[index % block])]

    @staticmethod
    def _check_index(index: int) -> int:
        if not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(
                f'index must be a non-negative int, got {index!r}')
        return int(index)

    # ------------------------------------------------------------------
    # Public sampling
    # ------------------------------------------------------------------
    def sample(self, index: int, return_layers: bool = False) -> dict:
        """Generate sample ``index``.

        Args:
            index (int): Sample index (>= 0). The same ``(seed, index)``
                always gives the same sample.
            return_layers (bool): Also return the layers of the composite
                under ``'layers'``: ``background`` (B), ``smoke`` (S) and
                ``clean`` (``(1-alpha)*B + alpha*S`` before the camera
                model), float32 ``(H, W, 3)`` RGB in [0, 1].

        Returns:
            dict: ``img`` (uint8 ``(H, W, 3)`` RGB), ``mask`` (uint8
            ``(H, W)`` in {0, 1}), ``alpha`` and ``transmission`` (float32
            ``(H, W)``), ``meta`` (JSON-serialisable dict with ``index``,
            ``kind``, ``target_group``, ``smoke_fraction``, ``size_group``,
            ``has_smoke``, ``distractors``, ``palette``, ``alpha_max`` and
            ``plume`` parameters or None), and ``layers`` when asked for.
        """
        index = self._check_index(index)
        kind, target = self.kind_of(index)
        rng = np.random.default_rng([self.seed, 0, index])
        h, w = self.img_size

        distractors = self._choose_distractors(rng, kind)
        scene = self._background(rng, distractors)
        background = scene['image']

        plume_meta = None
        alpha_max = 0.0
        if kind in SMOKE_KINDS:
            alpha, smoke, plume_meta = self._smoke(rng, scene, kind, target)
            alpha_max = plume_meta['alpha_max']
        else:
            alpha = np.zeros((h, w), np.float32)
            smoke = np.broadcast_to(
                _rgb((0.8, 0.8, 0.8)) * _rgb(scene['light']),
                (h, w, 3)).astype(np.float32)

        a3 = alpha[..., None]
        clean = (1.0 - a3) * background + a3 * smoke
        img = self._camera(rng, clean)

        mask = (alpha > self.mask_threshold).astype(np.uint8)
        fraction = float(mask.mean())
        meta = dict(
            index=index,
            kind=kind,
            target_group=target,
            smoke_fraction=fraction,
            size_group=size_group(fraction),
            has_smoke=bool(fraction > 0),
            distractors=list(distractors),
            palette=scene['palette'],
            alpha_max=float(alpha_max),
            plume=plume_meta)
        out = dict(
            img=img,
            mask=mask,
            alpha=alpha,
            transmission=(1.0 - alpha).astype(np.float32),
            meta=meta)
        if return_layers:
            out['layers'] = dict(
                background=background, smoke=smoke, clean=clean)
        return out

    # ------------------------------------------------------------------
    # Background and distractors
    # ------------------------------------------------------------------
    def _choose_distractors(self, rng: np.random.Generator,
                            kind: str) -> List[str]:
        if kind == 'negative':
            return []
        if kind == 'distractor':
            while True:
                chosen = [
                    d for d, p in zip(DISTRACTORS, (0.75, 0.45, 0.3))
                    if rng.random() < p
                ]
                if chosen:
                    return chosen
        if rng.random() < self.distractor_prob:
            return [
                d for d, p in zip(DISTRACTORS, (0.7, 0.35, 0.25))
                if rng.random() < p
            ]
        return []

    def _background(self, rng: np.random.Generator,
                    distractors: Sequence[str]) -> dict:
        """Sky, clouds, ridge layers, valley fog and haze."""
        h, w = self.img_size
        name = _PALETTE_NAMES[rng.choice(
            len(_PALETTE_NAMES), p=_PALETTE_WEIGHTS / _PALETTE_WEIGHTS.sum())]
        pal = _PALETTES[name]
        gain = rng.uniform(0.88, 1.08)

        def jitter(col, amount=0.04):
            c = np.asarray(col) * gain + rng.uniform(-amount, amount, 3)
            return np.clip(c, 0.02, 0.98).astype(np.float32)

        top, hor, haze = jitter(pal['top']), jitter(pal['horizon']), jitter(
            pal['haze'], 0.03)
        light = np.asarray(pal['light'], np.float32)
        ys = ((np.arange(h, dtype=np.float32) + 0.5) / h)[:, None]
        xs = ((np.arange(w, dtype=np.float32) + 0.5) / w)[None, :]
        yy = (np.arange(h, dtype=np.float32) + 0.5)[:, None]

        # Ridge lines, farthest first.
        horizon = rng.uniform(0.30, 0.62) * h
        n_layers = int(rng.integers(2, 5))
        spacing = rng.uniform(0.035, 0.10) * h
        lines = []
        for k in range(n_layers):
            near = k / max(n_layers - 1, 1)
            amp = h * rng.uniform(0.02, 0.06) * (1 + 2.0 * near)
            base = horizon + k * spacing + (0.03 * h * near)
            prof = fbm1d(w, rng, rng.uniform(1.5, 4.0), 6, 0.5) - 0.5
            if k == n_layers - 1 and rng.random() < 0.5:
                # A foreground slope rising to one side.
                prof = prof + rng.uniform(-0.5, 0.5) * (xs[0] - 0.5)
            lines.append((base + amp * 2 * prof).astype(np.float32))
        sky_line = lines[0]

        # Sky: vertical gradient with a sun-side glow and faint texture.
        t = np.clip(yy / np.maximum(sky_line.min(), 1.0), 0, 1)
        t = t**rng.uniform(0.6, 1.6)
        image = (
            top[None, None] * (1 - t[..., None]) +
            hor[None, None] * t[..., None])
        image = np.broadcast_to(image, (h, w, 3)).astype(np.float32)
        sun_x = rng.uniform(-0.3, 1.3)
        glow = np.exp(-((xs - sun_x)**2) / rng.uniform(0.05, 0.4)) * t
        image = image + (rng.uniform(0.0, 0.10) * glow)[..., None] * light
        image = image * (1 + 0.03 * (fbm((h, w), rng, 2, 3) - 0.5)[..., None])
        image = np.ascontiguousarray(image, np.float32)

        if 'cloud' in distractors:
            image = composite(image, cloud_layer(rng, (h, w), sky_line, light))

        # Terrain layers, farthest first, each hazier the farther it is.
        fog_over = None
        if 'fog' in distractors:
            fog_over = int(rng.integers(0, max(n_layers - 1, 1)))
        haze0 = rng.uniform(0.45, 0.80)
        terrain_cols = pal['terrain']
        covers = []
        for k, line in enumerate(lines):
            near = k / max(n_layers - 1, 1)
            top_y = max(int(line.min()) - 1, 0)
            rows = h - top_y
            ci = rng.choice(len(terrain_cols), 2)
            col_a = jitter(terrain_cols[ci[0]], 0.05) * light
            col_b = jitter(terrain_cols[ci[1]], 0.05) * light
            # Perspective: texture is finer far away and squashed vertically.
            scale = 0.35 + 0.65 * near
            mix = fbm((rows, w), rng,
                      (max(rows / h * 10 / scale, 1), 4 / scale), 5, 0.55)
            patch = fbm((rows, w), rng,
                        (max(rows / h * 30 / scale, 1), 22 / scale), 3, 0.6)
            detail = fbm((rows, w), rng,
                         (max(rows / h * 90 / scale, 1), 60 / scale), 3, 0.65)
            layer = (
                col_a[None, None] * (1 - mix[..., None]) +
                col_b[None, None] * mix[..., None])
            contrast = 0.15 + 0.45 * near
            shade = (1 + contrast * (mix - 0.5) +
                     (0.4 + 0.6 * near) * contrast * (patch - 0.5) +
                     (0.2 + 0.5 * near) * contrast * (detail - 0.5))
            layer = layer * shade[..., None]
            depth = np.clip((yy[top_y:] - line[None]) / (0.12 * h), 0, 1)
            hz = haze0 * (1 - near)**1.4
            hz = np.clip(hz + 0.3 * hz * depth, 0, 0.95)[..., None]
            layer = layer * (1 - hz) + haze[None, None] * hz
            cover = np.clip(yy - line[None] + 0.5, 0, 1)
            covers.append(cover)
            c3 = cover[top_y:, :, None]
            image[top_y:] = image[top_y:] * (1 - c3) + layer * c3
            if fog_over == k:
                image = composite(image,
                                  fog_layer(rng, (h, w), line, haze, light))

        if 'haze' in distractors:
            image = composite(image, haze_layer(rng, (h, w), sky_line, haze))

        image = np.clip(image, 0, 1).astype(np.float32)
        return dict(
            image=image,
            palette=name,
            lines=lines,
            covers=covers,
            haze=haze,
            light=light,
            haze0=haze0)

    # ------------------------------------------------------------------
    # Smoke plume
    # ------------------------------------------------------------------
    def _smoke(self, rng: np.random.Generator, scene: dict, kind: str,
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
        if kind == 'thin':
            amax = rng.uniform(*self.thin_alpha_range)
        elif kind == 'small':
            amax = rng.uniform(*self.small_alpha_range)
        else:
            amax = rng.uniform(*self.alpha_range)
        shape = draw_plume_shape(rng, amax)
        tex = plume_textures(rng)
        renderer = PlumeRenderer(self.img_size, self.mask_threshold)

        best = None
        for attempt in range(5):
            place = self._place_source(rng, scene, target)
            front = place.pop('front')
            if attempt == 4:
                front = None  # last resort: nothing in front of the plume
            p = dict(shape, **place)
            result = renderer.fit_size(p, tex, target_frac, bounds, front)
            if best is None or renderer.better(result, best):
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
        back = scene['image'][inside]
        # Aerial perspective: plumes on farther ridges fade to the haze.
        hz = scene['haze0'] * (1 - layer / max(len(scene['lines']) - 1, 1))
        haze_weight = 0.3 * hz**1.4
        best_c = None
        for _ in range(4):
            colour = smoke_colour(rng, scene['light'], fields,
                                  self.dark_smoke_prob, scene['haze'],
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

    def _place_source(self, rng: np.random.Generator, scene: dict,
                      target: str) -> dict:
        """Choose the ridge layer, source point and wind of a plume."""
        h, w = self.img_size
        lines, covers = scene['lines'], scene['covers']
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

    # ------------------------------------------------------------------
    # Camera model
    # ------------------------------------------------------------------
    def _camera(self, rng: np.random.Generator,
                clean: np.ndarray) -> np.ndarray:
        """Vignetting, blur, sensor noise and JPEG; returns uint8 RGB."""
        if not self.camera_effects:
            return np.round(np.clip(clean, 0, 1) * 255).astype(np.uint8)
        h, w = self.img_size
        img = clean
        if rng.random() < 0.3:
            yy = (np.arange(h, dtype=np.float32) / h - 0.5)[:, None]
            xx = (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
            r2 = (xx**2 + yy**2) * 2
            img = img * (1 - rng.uniform(0.1, 0.35) * r2**1.5)[..., None]
        if rng.random() < 0.3:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.7))
        std = rng.uniform(*self.noise_std_range)
        noise = rng.standard_normal((h, w, 1), dtype=np.float32) * std
        noise = noise + rng.standard_normal(
            (h, w, 3), dtype=np.float32) * (0.4 * std)
        img = np.round(np.clip(img + noise, 0, 1) * 255).astype(np.uint8)
        if rng.random() < 0.7:
            q = int(
                rng.integers(self.jpeg_quality_range[0],
                             self.jpeg_quality_range[1] + 1))
            ok, buf = cv2.imencode('.jpg', img[..., ::-1],
                                   [cv2.IMWRITE_JPEG_QUALITY, q])
            if not ok:
                raise RuntimeError('OpenCV failed to JPEG-encode a sample')
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
        return np.ascontiguousarray(img)


# ----------------------------------------------------------------------
# Writing datasets
# ----------------------------------------------------------------------
_WORKER_GEN: Optional[SyntheticSmokeGenerator] = None


def _init_worker(gen_kwargs: dict) -> None:
    global _WORKER_GEN
    _WORKER_GEN = SyntheticSmokeGenerator(**gen_kwargs)


def _palette_png(mask: np.ndarray) -> Image.Image:
    im = Image.fromarray(mask.astype(np.uint8), mode='P')
    pal = [v for rgb in VOC_PALETTE for v in rgb]
    im.putpalette(pal + [0] * (768 - len(pal)))
    return im


def _imwrite(path: str, img: np.ndarray, params: Sequence[int] = ()) -> None:
    if not cv2.imwrite(path, img, list(params)):
        raise OSError(f'could not write {path}')


def _write_one(job: Tuple[str, str, str, int, str]) -> dict:
    """Generate one sample and write its files; return its meta."""
    out_dir, layout, split, index, name = job
    gen = _WORKER_GEN
    s = gen.sample(index)
    img_bgr = np.ascontiguousarray(s['img'][..., ::-1])
    alpha8 = np.round(s['alpha'] * 255).astype(np.uint8)
    trans8 = np.round(s['transmission'] * 255).astype(np.uint8)
    jpg = [cv2.IMWRITE_JPEG_QUALITY, 92]
    if layout == 'smoke5k':
        root = osp.join(out_dir, split)
        _imwrite(osp.join(root, 'img', name + '.jpg'), img_bgr, jpg)
        _imwrite(osp.join(root, 'gt', name + '.png'), s['mask'] * 255)
        _imwrite(osp.join(root, 'alpha', name + '.png'), alpha8)
        _imwrite(osp.join(root, 'trans', name + '.png'), trans8)
    else:
        _imwrite(osp.join(out_dir, 'JPEGImages', name + '.jpg'), img_bgr, jpg)
        _palette_png(s['mask']).save(
            osp.join(out_dir, 'SegmentationClass', name + '.png'))
        _imwrite(osp.join(out_dir, 'Alpha', name + '.png'), alpha8)
        _imwrite(osp.join(out_dir, 'Transmission', name + '.png'), trans8)
    meta = dict(name=name, split=split)
    meta.update(s['meta'])
    return meta


def generate_dataset(out_dir: str,
                     layout: str = 'smoke5k',
                     num_train: int = 300,
                     num_val: int = 0,
                     num_test: int = 100,
                     img_size: Tuple[int, int] = (256, 256),
                     seed: int = 0,
                     workers: int = 1,
                     generator_cfg: Optional[dict] = None,
                     overwrite: bool = False,
                     progress: bool = False) -> dict:
    """Write a synthetic smoke dataset in a SMOKE5K or SmokeSeg layout.

    Sample ``i`` of split ``s`` is ``generator.sample(SPLIT_OFFSETS[s] + i)``
    and is named ``f'{s}_{i:06d}'``.

    Layout ``'smoke5k'``::

        out_dir/{train,val,test}/img/<name>.jpg     (JPEG quality 92)
        out_dir/{train,val,test}/gt/<name>.png      (mode L, {0, 255})
        out_dir/{train,val,test}/alpha/<name>.png   (uint8 alpha * 255)
        out_dir/{train,val,test}/trans/<name>.png   (uint8 (1-alpha) * 255)
        out_dir/{train,val,test}/meta.json          (list of per-image meta)

    (``val`` only when ``num_val > 0``.) Layout ``'smokeseg'`` (VOC)::

        out_dir/JPEGImages/<name>.jpg
        out_dir/SegmentationClass/<name>.png    (mode P, VOC palette, {0, 1})
        out_dir/Alpha/<name>.png, out_dir/Transmission/<name>.png
        out_dir/ImageSets/Segmentation/{train,val,test,test_small,
                                        test_medium,test_large}.txt
        out_dir/meta.json

    ``test_small/medium/large`` partition the smoke-containing test images by
    :func:`~mmsmoke.utils.size_groups.size_group`; smoke-free test images are
    listed only in ``test.txt``.

    Args:
        out_dir (str): Output directory.
        layout (str): ``'smoke5k'`` or ``'smokeseg'``.
        num_train (int): Number of training images.
        num_val (int): Number of validation images.
        num_test (int): Number of test images.
        img_size (tuple[int, int]): ``(H, W)`` of every image.
        seed (int): Generator seed.
        workers (int): Worker processes; the output does not depend on it.
        generator_cfg (dict, optional): Further
            :class:`SyntheticSmokeGenerator` arguments.
        overwrite (bool): Allow writing into a non-empty ``out_dir`` (files
            are overwritten; other files are left in place).
        progress (bool): Show an ``mmengine`` progress bar.

    Returns:
        dict: Summary with the layout, size, seed, per-split counts of
        images, kinds, size groups, smoke-free images and images with
        distractors, the wall-clock time (``elapsed_s``), the CPU time of
        the calling process (``main_process_cpu_s``; it excludes worker
        processes) and the paths of the meta files.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    counts = dict(train=num_train, val=num_val, test=num_test)
    for split, num in counts.items():
        if not isinstance(num, (int, np.integer)) or num < 0:
            raise ValueError(f'num_{split} must be a non-negative int, got '
                             f'{num!r}')
        if num > MAX_PER_SPLIT:
            raise ValueError(f'num_{split} must be <= {MAX_PER_SPLIT} (names '
                             f'have six digits), got {num}')
    if sum(counts.values()) == 0:
        raise ValueError('nothing to generate: all split sizes are 0')
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f'workers must be an int >= 1, got {workers!r}')
    if osp.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise FileExistsError(
            f'output directory {out_dir} is not empty; pass overwrite=True '
            '(--overwrite) to write into it anyway')
    gen_kwargs = dict(generator_cfg or {})
    gen_kwargs.update(img_size=tuple(int(v) for v in img_size), seed=seed)
    gen = SyntheticSmokeGenerator(**gen_kwargs)  # validates arguments early

    splits = [s for s in ('train', 'val', 'test') if counts[s] > 0]
    if layout == 'smoke5k':
        for split in splits:
            for sub in ('img', 'gt', 'alpha', 'trans'):
                os.makedirs(osp.join(out_dir, split, sub), exist_ok=True)
    else:
        for sub in ('JPEGImages', 'SegmentationClass', 'Alpha', 'Transmission',
                    osp.join('ImageSets', 'Segmentation')):
            os.makedirs(osp.join(out_dir, sub), exist_ok=True)

    jobs = [(out_dir, layout, split, SPLIT_OFFSETS[split] + i,
             f'{split}_{i:06d}') for split in splits
            for i in range(counts[split])]
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(jobs))
    start = time.perf_counter()
    cpu_start = time.process_time()
    metas: List[dict] = []
    if workers == 1:
        global _WORKER_GEN
        previous = _WORKER_GEN
        _WORKER_GEN = gen
        try:
            for job in jobs:
                metas.append(_write_one(job))
                if bar is not None:
                    bar.update()
        finally:
            _WORKER_GEN = previous
    else:
        import multiprocessing as mp

        # Forked children must not use OpenCV's thread pool (its threads do
        # not survive a fork and the child would hang), so OpenCV runs
        # single-threaded while the pool exists. Where fork is unavailable,
        # spawn is used; the output is the same either way.
        method = 'fork' if 'fork' in mp.get_all_start_methods() else 'spawn'
        chunk = max(1, min(16, len(jobs) // (4 * workers)))
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with mp.get_context(method).Pool(
                    workers, initializer=_init_worker,
                    initargs=(gen_kwargs, )) as pool:
                for meta in pool.imap(_write_one, jobs, chunksize=chunk):
                    metas.append(meta)
                    if bar is not None:
                        bar.update()
        finally:
            cv2.setNumThreads(threads)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    if bar is not None:
        print()

    by_split: Dict[str, List[dict]] = {s: [] for s in splits}
    for meta in metas:
        by_split[meta['split']].append(meta)
    meta_files = []
    if layout == 'smoke5k':
        for split in splits:
            path = osp.join(out_dir, split, 'meta.json')
            with open(path, 'w') as f:
                json.dump(by_split[split], f, indent=1)
            meta_files.append(path)
    else:
        path = osp.join(out_dir, 'meta.json')
        with open(path, 'w') as f:
            json.dump(metas, f, indent=1)
        meta_files.append(path)
        lists = {
            s: [m['name'] for m in by_split.get(s, [])]
            for s in ('train', 'val', 'test')
        }
        for group in ('small', 'medium', 'large'):
            lists[f'test_{group}'] = [
                m['name'] for m in by_split.get('test', [])
                if m['size_group'] == group
            ]
        set_dir = osp.join(out_dir, 'ImageSets', 'Segmentation')
        for key, names in lists.items():
            with open(osp.join(set_dir, key + '.txt'), 'w') as f:
                f.write(''.join(n + '\n' for n in names))

    summary = dict(
        out_dir=out_dir,
        layout=layout,
        img_size=list(gen.img_size),
        seed=gen.seed,
        mask_threshold=gen.mask_threshold,
        workers=int(workers),
        num_images=len(metas),
        elapsed_s=round(elapsed, 3),
        main_process_cpu_s=round(cpu, 3),
        images_per_s=round(len(metas) / max(elapsed, 1e-9), 2),
        meta_files=meta_files,
        splits={})
    for split in splits:
        items = by_split[split]
        summary['splits'][split] = dict(
            num_images=len(items),
            num_smoke_free=sum(not m['has_smoke'] for m in items),
            kinds={k: sum(m['kind'] == k for m in items)
                   for k in KINDS},
            size_groups={
                g: sum(m['size_group'] == g for m in items)
                for g in ('none', 'small', 'medium', 'large')
            },
            with_distractors=sum(bool(m['distractors']) for m in items))
    return summary
