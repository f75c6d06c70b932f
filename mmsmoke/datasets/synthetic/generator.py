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

The parts are composed by :class:`SyntheticSmokeGenerator`: the kind
schedule in :mod:`~mmsmoke.datasets.synthetic.kinds`, the landscape ``B``
and its distractors in :mod:`~mmsmoke.datasets.synthetic.scene`, the plume
placed on it in :mod:`~mmsmoke.datasets.synthetic.scene_plume` (the plume
model itself in :mod:`~mmsmoke.datasets.synthetic.plume`), the camera model
in :mod:`~mmsmoke.datasets.synthetic.camera`; datasets are written by
:func:`~mmsmoke.datasets.synthetic.writer.generate_dataset`.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from mmsmoke.utils.size_groups import size_group
from .camera import CameraModel
from .kinds import KINDS, SMOKE_KINDS, KindSchedule
from .scene import DISTRACTORS, SceneRenderer
from .scene_plume import ScenePlume

__all__ = ['SyntheticSmokeGenerator', 'KINDS', 'SMOKE_KINDS', 'DISTRACTORS']


def _rgb(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, np.float32).reshape(1, 1, 3)


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
        # The parts of a sample: its kind (own rng), then the landscape B,
        # the plume (alpha, S) and the camera, which draw from the sample's
        # rng in this order.
        self.schedule = KindSchedule(
            seed=self.seed,
            kind_probs=self.kind_probs,
            large_fraction=self.large_fraction,
            stratify_block=stratify_block)
        self.scene = SceneRenderer(
            img_size=self.img_size, distractor_prob=self.distractor_prob)
        self.plume = ScenePlume(
            img_size=self.img_size,
            mask_threshold=self.mask_threshold,
            alpha_ranges=dict(
                plume=self.alpha_range,
                thin=self.thin_alpha_range,
                small=self.small_alpha_range),
            dark_smoke_prob=self.dark_smoke_prob,
            min_contrast=self.min_contrast)
        self.camera = CameraModel(
            img_size=self.img_size,
            enabled=self.camera_effects,
            noise_std_range=self.noise_std_range,
            jpeg_quality_range=self.jpeg_quality_range)

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
        return self.schedule.kind_of(self._check_index(index))

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

        distractors = self.scene.choose_distractors(rng, kind)
        scene = self.scene.render(rng, distractors)
        background = scene.image

        plume_meta = None
        alpha_max = 0.0
        if kind in SMOKE_KINDS:
            alpha, smoke, plume_meta = self.plume.render(
                rng, scene, kind, target)
            alpha_max = plume_meta['alpha_max']
        else:
            alpha = np.zeros((h, w), np.float32)
            smoke = np.broadcast_to(
                _rgb((0.8, 0.8, 0.8)) * _rgb(scene.light),
                (h, w, 3)).astype(np.float32)

        a3 = alpha[..., None]
        clean = (1.0 - a3) * background + a3 * smoke
        img = self.camera.apply(rng, clean)

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
            palette=scene.palette,
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
