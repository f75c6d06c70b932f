"""Smoke colour layer ``S`` of a plume: style, light, shading and haze.

The colour enters the image formation ``I' = (1 - alpha) * I + alpha * S``
of both the procedural generator and the overlay on real images. It is
computed per pixel from the plume fields of :class:`PlumeRenderer
<mmsmoke.datasets.synthetic.plume.PlumeRenderer>` (normalised height,
turbulence, across-plume position, density), so the smoke is browner and
darker near the source and shaded by its billows.
"""
from typing import Tuple, Union

import numpy as np

from .noise import smoothstep

#: Smoke colour styles, in the order of the ``style`` draw of
#: :func:`smoke_colour`.
SMOKE_STYLES: Tuple[str, ...] = ('dark', 'grey_brown', 'white_grey')


def smoke_colour(
        rng: np.random.Generator,
        light: np.ndarray,
        fields: dict,
        dark_prob: float,
        haze_colour: np.ndarray,
        haze_weight: float,
        grey_brown_cut: float = 0.5,
        return_style: bool = False
) -> Union[np.ndarray, Tuple[np.ndarray, str]]:
    """Smoke colour layer S: white, grey-brown or dark, with shading.

    One ``style`` number ``u ~ U(0, 1)`` picks the style: dark smoke when
    ``u < dark_prob``, grey-brown when ``u < grey_brown_cut``, else
    white-grey. The base colour (times ``light``) is browner and darker
    near the source (low ``h``), shaded by the turbulence (lit and shadowed
    billows, thick parts a little darker) and mixed towards ``haze_colour``
    by ``haze_weight`` (aerial perspective).

    Args:
        rng (np.random.Generator): Random source.
        light (np.ndarray): RGB light colour in [0, 1] (3 values).
        fields (dict): Plume fields of :meth:`PlumeRenderer.render`
            (``h``, ``turb``, ``across``, ``dens``), all of one shape.
        dark_prob (float): Probability of dark smoke.
        haze_colour (np.ndarray): RGB colour of the aerial haze.
        haze_weight (float): Weight of the haze colour, in [0, 1].
        grey_brown_cut (float): Upper end of the grey-brown style
            (``grey_brown_cut - dark_prob`` is its probability).
        return_style (bool): Also return the style's name (one of
            :data:`SMOKE_STYLES`).

    Returns:
        np.ndarray | tuple: float32 ``(*shape, 3)`` RGB colour in [0, 1],
        and the style name when ``return_style`` is set.
    """
    style = rng.random()
    name = ('dark' if style < dark_prob else
            'grey_brown' if style < grey_brown_cut else 'white_grey')
    if style < dark_prob:
        base = rng.uniform(0.22, 0.42)
        tint = np.array([1.06, 1.0, 0.92])
    elif style < grey_brown_cut:
        base = rng.uniform(0.58, 0.78)
        tint = np.array([1.06, 1.0, 0.88])
    else:
        base = rng.uniform(0.80, 0.96)
        tint = np.array([1.0, 1.0, 1.0])
    tint = tint + rng.uniform(-0.03, 0.03, 3)
    base_col = base * tint * light
    # Near the fire the smoke is darker and browner.
    src_col = base_col * np.array([0.95, 0.86, 0.74]) * rng.uniform(0.7, 0.95)
    mix = smoothstep(0.0, rng.uniform(0.15, 0.5), fields['h'])[..., None]
    col = src_col[None, None] * (1 - mix) + base_col[None, None] * mix
    # Billows: lit and shadowed sides, thick parts a little darker.
    sun = rng.uniform(-1, 1)
    shade = (1 + rng.uniform(0.25, 0.45) * (fields['turb'] - 0.5) +
             0.08 * sun * np.tanh(fields['across']) -
             rng.uniform(0.0, 0.15) * fields['dens'])
    col = col * shade[..., None]
    # Aerial perspective for distant plumes.
    col = col * (1 - haze_weight) + haze_colour[None, None] * haze_weight
    col = np.clip(col, 0, 1).astype(np.float32)
    return (col, name) if return_style else col
