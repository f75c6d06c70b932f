"""Random draws of one smoke plume: shape parameters and noise textures.

These are the random parts of the plume model of
:mod:`mmsmoke.datasets.synthetic.plume`: :func:`draw_plume_shape` draws the
shape (width, spreading, decay, turbulent boundary, opacity profile) and
:func:`plume_textures` the noise fields that :class:`PlumeRenderer
<mmsmoke.datasets.synthetic.plume.PlumeRenderer>` samples in plume
coordinates. The placement (source, tilt, bend) is drawn by the caller.

Every random draw comes from the :class:`numpy.random.Generator` passed in,
in a fixed order, so a plume is fully determined by that generator's state.
"""
import numpy as np

from .noise import fbm, fbm1d, value_noise


def draw_plume_shape(rng: np.random.Generator, alpha_max: float) -> dict:
    """Draw the shape parameters of one plume.

    Args:
        rng (np.random.Generator): Random source.
        alpha_max (float): Peak opacity, stored as ``'alpha_max'``.

    Returns:
        dict: ``s0`` (source width), ``k`` (spreading rate), ``cap``
        (extra spreading near the top), ``decay`` (density decay with
        height), ``fade`` (height where the plume ends), ``meander``,
        ``edge``/``soft``/``rough`` (turbulent boundary), ``var``
        (density variation), ``eddy`` (small-eddy strength), ``gamma``,
        ``stretch`` (eddies stretched along the flow), ``warp`` (domain-warp
        strength), ``alpha_max`` and ``blur`` (Gaussian sigma in pixels).
        The placement keys (``xs``, ``ys``, ``theta``, ``bend``) are added
        by the caller.
    """
    return dict(
        s0=rng.uniform(0.02, 0.06),
        k=0.06 + 0.26 * rng.random()**1.5,
        cap=rng.uniform(0.05, 0.35) if rng.random() < 0.3 else 0.0,
        decay=rng.uniform(1.0, 3.5),
        fade=rng.uniform(0.45, 0.8),
        meander=rng.uniform(0.0, 0.35),
        edge=rng.uniform(0.05, 0.15),
        soft=rng.uniform(0.4, 0.8),
        rough=rng.uniform(0.6, 1.1),
        var=rng.uniform(0.45, 0.85),
        eddy=rng.uniform(0.2, 0.5),
        gamma=rng.uniform(0.8, 1.3),
        stretch=rng.uniform(0.35, 0.8),
        warp=rng.uniform(0.6, 1.4),
        alpha_max=float(alpha_max),
        blur=rng.uniform(0.35, 0.9),
    )


def plume_textures(rng: np.random.Generator) -> dict:
    """Noise fields in plume coordinates (shared by all rescalings).

    Args:
        rng (np.random.Generator): Random source.

    Returns:
        dict: ``c`` (texels per plume-width unit), ``shape`` of the texture
        (along x across), the fBm fields ``turb``, ``fine``, ``wx``, ``wy``
        (warp offsets), ``end`` (ragged end), ``meander`` (1-D) and ``eddy``.
    """
    c = 10.0  # texels per plume-width unit
    th, tw = 160, 96  # along x across texels
    return dict(
        c=c,
        shape=(th, tw),
        turb=fbm((th, tw), rng, (th / (1.4 * c), tw / (1.4 * c)), 5, 0.6),
        fine=fbm((th, tw), rng, (th / (0.5 * c), tw / (0.5 * c)), 3, 0.6),
        wx=fbm((th, tw), rng, (th / (2.5 * c), tw / (2.5 * c)), 4) - 0.5,
        wy=fbm((th, tw), rng, (th / (2.5 * c), tw / (2.5 * c)), 4) - 0.5,
        end=value_noise((th, tw), (th / (3 * c), tw / (3 * c)), rng),
        meander=fbm1d(64, rng, 3, 3) - 0.5,
        # Small eddies whose size is a fixed fraction of the plume
        # length (not of its local width), for detail in wide parts.
        eddy=fbm((128, 128), rng, 12, 4, 0.6),
    )
