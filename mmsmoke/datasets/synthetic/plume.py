"""Procedural smoke plume: the plume model and its rasterisation.

A plume is described in plume-relative coordinates: a source ``(xs, ys)``
in pixels, a centreline leaving it at angle ``theta`` from the vertical and
bending downwind (``bend * h^2`` plus a meander), and a width that grows
linearly with the normalised height ``h`` as in a Gaussian plume
(``sigma(h) = length * (s0 + k*h)``). Turbulence is domain-warped fBm
sampled in those coordinates (across the plume in units of the local width,
along it on a logarithmic scale), so eddies scale with the local width.
The opacity is ``alpha = alpha_max * density^gamma``, slightly blurred.

The pieces are public and take explicit arguments, so both the procedural
scene generator (:class:`~mmsmoke.datasets.synthetic.SyntheticSmokeGenerator`)
and the on-the-fly overlay on real images
(:class:`~mmsmoke.datasets.transforms.SyntheticSmokeOverlay`) use them:

* :func:`draw_plume_shape`: the random shape parameters of one plume
  (:mod:`~mmsmoke.datasets.synthetic.plume_shape`);
* :func:`plume_textures`: its noise fields in plume coordinates
  (:mod:`~mmsmoke.datasets.synthetic.plume_shape`);
* :class:`PlumeRenderer` (this module): rasterises a plume at a given
  length, optionally behind an occlusion map, and rescales it to a target
  mask area;
* :func:`smoke_colour`: the smoke colour layer ``S`` (white-grey, grey-brown
  or dark smoke with shading and aerial haze;
  :mod:`~mmsmoke.datasets.synthetic.smoke_colour`).

All four are importable from this module. Every random draw comes from the
:class:`numpy.random.Generator` passed in, in a fixed order, so a plume is
fully determined by that generator's state.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from .noise import sample_field, smoothstep
from .plume_shape import draw_plume_shape, plume_textures
from .smoke_colour import SMOKE_STYLES, smoke_colour

__all__ = [
    'Box', 'FIELD_NAMES', 'SMOKE_STYLES', 'PlumeRenderer', 'blur_margin',
    'draw_plume_shape', 'plume_textures', 'smoke_colour'
]

#: Box of a rendered plume inside the image: ``(y0, y1, x0, x1)``.
Box = Tuple[int, int, int, int]
#: Names of the per-pixel plume fields returned next to alpha.
FIELD_NAMES: Tuple[str, ...] = ('h', 'turb', 'dens', 'across')
#: Values of the fields outside the plume.
_FIELD_FILL: Dict[str, float] = dict(h=0.0, turb=0.5, dens=0.0, across=0.0)


def blur_margin(blur: float) -> int:
    """Pixels by which OpenCV's Gaussian blur of sigma ``blur`` spreads."""
    return int(math.ceil(4.0 * blur)) + 2


class PlumeRenderer:
    """Rasterise a plume into an image of a given size.

    Args:
        img_size (tuple[int, int]): ``(H, W)`` of the image the plume lives
            in (coordinates and area fractions refer to it).
        mask_threshold (float): Opacity above which a pixel counts as smoke
            when the mask area is measured: ``mask = alpha > mask_threshold``.
        full_frame (bool): Return ``(H, W)`` arrays (True) or only the
            plume's box, padded by the blur's reach and clipped to the image
            (False). The box is much cheaper for small plumes; inside the
            image both give the same plume up to float rounding of the blur.
    """

    def __init__(self,
                 img_size: Sequence[int],
                 mask_threshold: float = 0.1,
                 full_frame: bool = True) -> None:
        if len(img_size) != 2 or min(img_size) < 1:
            raise ValueError('img_size must be (H, W) with H, W >= 1, got '
                             f'{img_size!r}')
        if not 0 < mask_threshold < 1:
            raise ValueError('mask_threshold must be in (0, 1), got '
                             f'{mask_threshold}')
        self.img_size = (int(img_size[0]), int(img_size[1]))
        self.mask_threshold = float(mask_threshold)
        self.full_frame = bool(full_frame)

    # ------------------------------------------------------------------
    def _empty(self, box: Box) -> Tuple[np.ndarray, dict]:
        shape = (box[1] - box[0], box[3] - box[2])
        alpha = np.zeros(shape, np.float32)
        fields = {
            k: np.full(shape, _FIELD_FILL[k], np.float32)
            for k in FIELD_NAMES
        }
        return alpha, fields

    def _rasterise(self, p: dict, tex: dict, length: float) -> Optional[dict]:
        """Unblurred plume density inside its bounding box, or None."""
        h, w = self.img_size
        s0, k, cap, bend = p['s0'], p['k'], p['cap'], p['bend']
        dvec = np.array([math.sin(p['theta']), -math.cos(p['theta'])])
        nvec = np.array([math.cos(p['theta']), math.sin(p['theta'])])
        src = np.array([p['xs'], p['ys']])
        hgrid = np.linspace(0.0, 1.2, len(tex['meander']))

        def centre_offset(hv):
            wig = np.interp(hv, hgrid, tex['meander']) * p['meander'] * hv
            return bend * hv**2 + wig

        # Bounding box from points along the centreline.
        hs = np.linspace(-0.05, 1.1, 24)
        hsp = np.clip(hs, 0, None)
        sig = length * (s0 + k * hsp + cap * smoothstep(0.5, 1.0, hs))
        cen = (
            src[None] + (hs * length)[:, None] * dvec[None] +
            (length * centre_offset(hsp))[:, None] * nvec[None])
        rad = 4.0 * sig + 3
        x0 = int(max(math.floor((cen[:, 0] - rad).min()), 0))
        x1 = int(min(math.ceil((cen[:, 0] + rad).max()) + 1, w))
        y0 = int(max(math.floor((cen[:, 1] - rad).min()), 0))
        y1 = int(min(math.ceil((cen[:, 1] + rad).max()) + 1, h))
        if x1 <= x0 or y1 <= y0:
            return None

        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        rx, ry = gx + 0.5 - src[0], gy + 0.5 - src[1]
        u = rx * dvec[0] + ry * dvec[1]
        v = rx * nvec[0] + ry * nvec[1]
        hn = (u / length).astype(np.float32)
        hp = np.clip(hn, 0, None)
        sigma = length * (s0 + k * hp + cap * smoothstep(0.5, 1.0, hp))
        across = (v - length * centre_offset(hp)) / sigma
        along = np.log1p(k * hp / s0) / k

        c = tex['c']
        th, tw = tex['shape']
        mx = (across * c + tw / 2).astype(np.float32)
        my = (th - 4 - along * c * p['stretch']).astype(np.float32)
        amp = 2.2 * c * p['warp']
        wx = sample_field(tex['wx'], mx, my) * amp
        wy = sample_field(tex['wy'], mx, my) * amp
        turb = sample_field(tex['turb'], mx + wx, my + wy)
        fine = sample_field(tex['fine'], mx + 0.5 * wx,
                            my + 0.5 * wy * p['stretch'])
        endn = sample_field(tex['end'], mx, my)

        # Envelope: Gaussian across the (warped) centreline, a soft start at
        # the source, slow decay with height and a ragged end.
        across_w = across + 0.8 * wx / c
        env = np.exp(-0.5 * across_w**2)
        env *= smoothstep(-0.01, 0.06, hn)
        env *= np.exp(-hp / p['decay'])
        env *= 1 - smoothstep(p['fade'], 1.05, hn + 0.5 * (endn - 0.5))
        # Billowy body: turbulence pushes the boundary in and out; inside,
        # density follows the turbulence, with fine wisps at the edges.
        lo = p['edge']
        body = smoothstep(
            lo, lo + p['soft'],
            env + p['rough'] * (turb - 0.5) + 0.25 * p['rough'] * (fine - 0.5))
        # Nothing outside the envelope's support (no stray specks).
        body *= smoothstep(0.0, 0.12, env)
        ex = (v - length * centre_offset(hp)) / length * 64 + 64
        eddy = sample_field(tex['eddy'], ex + 0.3 * wx, hn * 96 + 0.3 * wy)
        dens = body * (1 - p['var'] + p['var'] * turb) * (0.6 + 0.4 * env)
        dens *= 1 - p['eddy'] + p['eddy'] * eddy
        peak = float(dens.max())
        if peak <= 0:
            return None
        dens = (dens / peak)**p['gamma']
        return dict(
            box=(y0, y1, x0, x1),
            alpha=p['alpha_max'] * dens,
            h=hn,
            turb=turb,
            dens=dens,
            across=across)

    def render(
            self,
            p: dict,
            tex: dict,
            length: float,
            front: Optional[np.ndarray] = None
    ) -> Tuple[np.ndarray, dict, Box]:
        """Rasterise the plume density at plume length ``length`` px.

        Args:
            p (dict): Shape (:func:`draw_plume_shape`) and placement
                parameters: ``xs``, ``ys`` (source in pixels), ``theta``
                (tilt from the vertical, radians) and ``bend``.
            tex (dict): :func:`plume_textures` of the plume.
            length (float): Plume length in pixels.
            front (np.ndarray, optional): ``(H, W)`` occlusion map in
                [0, 1] of what lies in front of the plume; the opacity is
                multiplied by ``1 - front``. None: nothing in front.

        Returns:
            tuple: ``alpha`` (float32 in [0, 1]), ``fields`` (dict of float32
            maps ``h`` (normalised height), ``turb``, ``dens``, ``across``)
            and ``box`` ``(y0, y1, x0, x1)``: the arrays cover the whole
            image (box ``(0, H, 0, W)``) when ``full_frame`` is set, else
            only ``box``.
        """
        h, w = self.img_size
        if front is not None and front.shape != (h, w):
            raise ValueError(f'front must have shape {(h, w)} (the image), '
                             f'got {front.shape}')
        raster = self._rasterise(p, tex, length)
        if self.full_frame:
            box = (0, h, 0, w)
            alpha, fields = self._empty(box)
            if raster is None:
                return alpha, fields, box
            y0, y1, x0, x1 = raster['box']
            alpha[y0:y1, x0:x1] = raster['alpha']
            alpha = cv2.GaussianBlur(alpha, (0, 0), p['blur'])
            if front is not None:
                alpha *= 1 - front
            alpha = np.clip(alpha, 0, 1).astype(np.float32)
            for key in FIELD_NAMES:
                fields[key][y0:y1, x0:x1] = raster[key]
            return alpha, fields, box
        if raster is None:
            return self._empty((0, 0, 0, 0)) + ((0, 0, 0, 0), )
        y0, y1, x0, x1 = raster['box']
        m = blur_margin(p['blur'])
        box = (max(y0 - m, 0), min(y1 + m, h), max(x0 - m, 0), min(x1 + m, w))
        alpha, fields = self._empty(box)
        inner = (slice(y0 - box[0],
                       y1 - box[0]), slice(x0 - box[2], x1 - box[2]))
        alpha[inner] = raster['alpha']
        alpha = cv2.GaussianBlur(alpha, (0, 0), p['blur'])
        if front is not None:
            alpha *= 1 - front[box[0]:box[1], box[2]:box[3]]
        alpha = np.clip(alpha, 0, 1).astype(np.float32)
        for key in FIELD_NAMES:
            fields[key][inner] = raster[key]
        return alpha, fields, box

    def fit_size(self,
                 p: dict,
                 tex: dict,
                 target_frac: float,
                 bounds: Tuple[float, float],
                 front: Optional[np.ndarray] = None,
                 max_iters: int = 10) -> dict:
        """Rescale the plume until its mask area is near ``target_frac``.

        The initial length assumes a triangular plume; each step rescales
        the length by ``sqrt(target / achieved)`` (clipped to [0.4, 2.5],
        doubling-ish when nothing is visible), never beyond 2.5 times the
        larger image side. It stops at the first fit inside ``bounds`` that
        is within ``exp(0.35)`` of the target.

        Args:
            p (dict): Shape and placement parameters (see :meth:`render`).
            tex (dict): :func:`plume_textures` of the plume.
            target_frac (float): Aimed mask area, a fraction of ``H * W``.
            bounds (tuple[float, float]): Open interval of acceptable
                fractions.
            front (np.ndarray, optional): Occlusion map (see :meth:`render`).
            max_iters (int): Renderings at most.

        Returns:
            dict: The best fit (:meth:`better`): ``alpha``, ``fields``,
            ``box``, ``length``, ``frac`` (achieved mask fraction), ``err``
            (``|log(frac / target)|``), ``ok`` (inside ``bounds``) and ``p``.
        """
        h, w = self.img_size
        length = math.sqrt(target_frac * h * w / (2.0 *
                                                  (p['s0'] + 0.5 * p['k'])))
        best = None
        for _ in range(max_iters):
            alpha, fields, box = self.render(p, tex, length, front)
            if self.full_frame:
                frac = float((alpha > self.mask_threshold).mean())
            else:
                frac = int(np.count_nonzero(
                    alpha > self.mask_threshold)) / float(h * w)
            result = dict(
                frac=frac,
                err=abs(math.log(max(frac, 1e-9) / target_frac)),
                alpha=alpha,
                fields=fields,
                box=box,
                length=length,
                p=p)
            result['ok'] = bounds[0] < frac < bounds[1]
            if best is None or self.better(result, best):
                best = result
            if result['ok'] and result['err'] < 0.35:
                break
            if frac <= 0:
                length *= 1.8
            else:
                length *= float(
                    np.clip(math.sqrt(target_frac / frac), 0.4, 2.5))
            length = min(length, 2.5 * max(h, w))
        return best

    @staticmethod
    def better(a: dict, b: dict) -> bool:
        """Whether fit ``a`` beats ``b``: in the stratum, then non-empty,
        then closer to the target area."""
        key_a = (a['ok'], a['frac'] > 0, -a['err'])
        key_b = (b['ok'], b['frac'] > 0, -b['err'])
        return key_a > key_b
