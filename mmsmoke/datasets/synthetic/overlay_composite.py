"""Colour, check and composite overlay plumes (and distractors) on an image.

Image formation, per pixel and RGB channel, in [0, 1] (the same linear
blending model as the synthetic generator)::

    I' = (1 - alpha) * I + alpha * S

``I`` is the input image (after the distractors, if any), ``S`` the smoke
colour and ``alpha`` the plume opacity
(:func:`~mmsmoke.datasets.synthetic.overlay_plume.draw_overlay_plume`).
With several plumes they are composited one after the other; the combined
opacity is ``alpha = 1 - prod_k (1 - alpha_k)`` and the formula above holds
with the combined colour.

Colour: white-grey, grey-brown or dark smoke
(:func:`~mmsmoke.datasets.synthetic.smoke_colour.smoke_colour`), lit by the
image's own light and mixed towards the mean colour of its top rows by a
weight drawn from the haze range (aerial haze), browner and darker near the
source and shaded by the turbulence, as in the generator.

Annotated smoke is smoke that can be seen: the colour is drawn again (up to
four times) while the mean contrast ``alpha * |S - I_loc|`` (RMS over RGB)
under the plume's mask is below ``min_contrast`` or below 1.5 times the RMS
texture of the background there (``I_loc`` is the background blurred with a
3 px Gaussian). If no colour is visible, a new plume is drawn (three plumes
at most per requested plume).

Deviations from the generator, and why:

- The contrast check compares with the local mean of the background and
  also requires 1.5 times its texture (the generator's backgrounds are
  smooth; on real foliage or rock a thin veil with the generator's contrast
  is invisible). A requested plume that stays invisible, or falls outside
  the frame, after three draws is not composited (the generator keeps its
  best colour, since it controls the background); an invisible labelled
  plume would teach false alarms. Every drawn plume is recorded in the
  returned ``plumes``.
- No camera model (noise, blur, JPEG) is applied: the real image already
  has its own, and the plume is smooth, soft-edged smoke over it.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .overlay_distractors import composite_distractors
from .overlay_plume import draw_overlay_plume
from .overlay_scene import scene_stats
from .smoke_colour import smoke_colour

#: Gaussian sigma (px) of the local background mean used by the contrast
#: check.
CONTRAST_SIGMA = 3.0
#: A plume must change the local mean by at least this times the RMS
#: texture of the background under it (besides ``min_contrast``).
TEXTURE_RATIO = 1.5
#: Plumes drawn at most per requested plume until one is visible.
PLUME_ATTEMPTS = 3
#: Colours drawn at most per plume until one is visible.
COLOUR_ATTEMPTS = 4


@dataclass(frozen=True)
class PlumeOptions:
    """How overlay plumes are drawn, coloured and checked.

    The values are used as given; the transform validates them.

    Args:
        area_range (tuple[float, float]): Mask area, fractions of the
            image, drawn log-uniformly.
        alpha_range (tuple[float, float]): Peak opacity, drawn uniformly.
        smoke_styles (dict): Normalised weights of ``white_grey``,
            ``grey_brown`` and ``dark``.
        mask_threshold (float): Opacity above which a pixel is smoke.
        min_contrast (float): Smallest mean contrast under the mask; 0
            disables the check, the texture part included.
        source_y_range (tuple[float, float]): Source row, fractions of the
            height.
        haze_range (tuple[float, float]): Weight of the aerial haze colour.
    """
    area_range: Tuple[float, float]
    alpha_range: Tuple[float, float]
    smoke_styles: Dict[str, float]
    mask_threshold: float
    min_contrast: float
    source_y_range: Tuple[float, float]
    haze_range: Tuple[float, float]


def add_plume(rng: np.random.Generator, image: np.ndarray,
              transmission: np.ndarray, premult: Optional[np.ndarray],
              stats: dict, opts: PlumeOptions) -> dict:
    """Draw one plume and composite it into ``image`` in place.

    Up to three plumes are drawn until one is inside the frame and
    visible (see the module docstring); the last one's reason is
    recorded when none is. ``transmission`` (the product of
    ``1 - alpha_k``) and, when given, ``premult`` (the combined colour
    times the combined opacity, ``P_k = (1 - alpha_k) P_{k-1} +
    alpha_k S_k``) are updated in place, so that ``image = (1 - alpha)
    * background + premult`` with ``alpha = 1 - transmission``.

    Args:
        rng (np.random.Generator): Random source.
        image (np.ndarray): float32 (H, W, 3) RGB image, updated in place.
        transmission (np.ndarray): float32 (H, W), updated in place.
        premult (np.ndarray, optional): float32 (H, W, 3), updated in place.
        stats (dict): :func:`~mmsmoke.datasets.synthetic.overlay_scene.
            scene_stats` of the image before the smoke.
        opts (PlumeOptions): Plume options.

    Returns:
        dict: About the last draw: ``status`` (``'added'``,
        ``'low_contrast'`` or ``'outside'``), ``attempts``, ``area`` (mask
        fraction), ``target_area``, ``alpha_max``, ``style``,
        ``contrast``, ``texture``, ``source_xy`` and, when added, ``box``
        ``[y0, y1, x0, x1]``.
    """
    h, w = image.shape[:2]
    dark = opts.smoke_styles['dark']
    for attempt in range(PLUME_ATTEMPTS):
        fit = draw_overlay_plume(rng, (h, w), stats['ground'], opts.area_range,
                                 opts.alpha_range, opts.source_y_range,
                                 opts.mask_threshold)
        p = fit['p']
        alpha = fit['alpha']
        inside = alpha > opts.mask_threshold
        haze_w = rng.uniform(*opts.haze_range)
        meta = dict(
            status='outside',
            attempts=attempt + 1,
            area=round(int(inside.sum()) / float(h * w), 6),
            target_area=round(fit['target'], 6),
            alpha_max=round(fit['amax'], 4),
            style=None,
            contrast=None,
            texture=None,
            source_xy=[round(p['xs'], 1), round(p['ys'], 1)])
        if not inside.any():
            continue
        y0, y1, x0, x1 = fit['box']
        view = image[y0:y1, x0:x1]
        # Contrast against the local mean of the background: a veil
        # over fine texture is seen by how it shifts the local
        # brightness and colour, not by the texture it lies on, and it
        # must shift it by more than that texture varies.
        local = cv2.GaussianBlur(view, (0, 0), CONTRAST_SIGMA)
        # Colour and composite only where the plume has any opacity.
        support = alpha > 0
        a_s = alpha[support]
        back_s = view[support]
        local_s = local[support]
        fields_s = {k: v[support][None] for k, v in fit['fields'].items()}
        in_s = a_s > opts.mask_threshold
        texture = float(np.sqrt(((back_s[in_s] - local_s[in_s])**2).mean()))
        need = max(opts.min_contrast, TEXTURE_RATIO * texture) \
            if opts.min_contrast > 0 else 0.0
        best = None
        for _ in range(COLOUR_ATTEMPTS):
            colour, style = smoke_colour(
                rng,
                stats['light'],
                fields_s,
                dark,
                stats['top'],
                haze_w,
                grey_brown_cut=dark + opts.smoke_styles['grey_brown'],
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


def composite_overlay(rgb: np.ndarray,
                      rng: np.random.Generator,
                      opts: PlumeOptions,
                      num_plumes: Tuple[int, int],
                      distractors: Sequence[str],
                      add_smoke: bool = True,
                      add_distractors: bool = False,
                      return_smoke: bool = False) -> dict:
    """Apply distractors and plumes to an RGB float image.

    Args:
        rgb (np.ndarray): float32 (H, W, 3) RGB image in [0, 1].
        rng (np.random.Generator): Random source.
        opts (PlumeOptions): Plume options.
        num_plumes (tuple[int, int]): Range of the number of plumes, drawn
            uniformly (inclusive).
        distractors (Sequence[str]): Allowed distractor types (see
            :func:`~mmsmoke.datasets.synthetic.overlay_distractors.
            composite_distractors`).
        add_smoke (bool): Draw plumes.
        add_distractors (bool): Draw distractors first.
        return_smoke (bool): Also return the combined smoke colour.

    Returns:
        dict: ``image`` (float32 RGB composite), ``background`` (the
        image after the distractors), ``alpha`` (float32 (H, W)
        combined opacity), ``distractors`` (list), ``plumes`` (list
        of per-plume dicts, see :func:`add_plume`) and, when asked
        for, ``smoke``: the combined colour S (float32 (H, W, 3), 0
        where alpha is 0), so that ``image = (1 - alpha) * background +
        alpha * S`` (before the final clip to [0, 1]).
    """
    image = np.array(rgb, np.float32, copy=True)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'rgb must be (H, W, 3), got {rgb.shape}')
    stats = scene_stats(image)
    chosen: List[str] = []
    if add_distractors:
        image, chosen = composite_distractors(rng, image, distractors,
                                              stats['light'], stats['bright'])
    background = image.copy()
    transmission = np.ones(image.shape[:2], np.float32)
    premult = np.zeros_like(image) if return_smoke else None
    plumes = []
    if add_smoke:
        count = int(rng.integers(num_plumes[0], num_plumes[1] + 1))
        for _ in range(count):
            plumes.append(
                add_plume(rng, image, transmission, premult, stats, opts))
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
