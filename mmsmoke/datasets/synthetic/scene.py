"""Procedural landscape ``B`` of the synthetic generator, and its distractors.

The background of the image formation ``I = (1 - alpha) * B + alpha * S``
(see :mod:`~mmsmoke.datasets.synthetic.generator`) is a sky gradient with a
sun-side glow, two to four hazy ridge layers (farthest first, each hazier
the farther it is, with perspective-scaled fBm texture) and, when asked
for, clouds, valley fog and haze from
:mod:`~mmsmoke.datasets.synthetic.distractors`. Distractors are part of
``B``: they never enter ``alpha`` and so are never labelled smoke.

The ridge lines and the coverage map of each layer are returned with the
image, so that a plume can be placed on a ridge and hidden behind nearer
ones (:mod:`~mmsmoke.datasets.synthetic.scene_plume`).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .distractors import cloud_layer, composite, fog_layer, haze_layer
from .noise import fbm, fbm1d

#: Distractor types (part of the background, never labelled smoke).
DISTRACTORS: Tuple[str, ...] = ('cloud', 'fog', 'haze')

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


@dataclass
class Scene:
    """One rendered landscape and the geometry a plume is placed on.

    :meth:`SceneRenderer.render` fills it layer by layer;
    :class:`~mmsmoke.datasets.synthetic.scene_plume.ScenePlumeRenderer`
    reads it by field.

    Attributes:
        palette (str): Name of the palette the colours were drawn from.
        haze (np.ndarray): Aerial haze colour, RGB in [0, 1].
        light (np.ndarray): Sunlight tint, RGB in [0, 1].
        lines (list[np.ndarray]): Ridge height per column of each layer,
            farthest first.
        covers (list[np.ndarray]): Float32 ``(H, W)`` coverage of each
            ridge layer, in the order of ``lines``.
        haze0 (float): Haze of the farthest ridge.
        image (np.ndarray, optional): The float32 ``(H, W, 3)`` RGB image
            in [0, 1]; None until rendered.
    """

    palette: str
    haze: np.ndarray
    light: np.ndarray
    lines: List[np.ndarray] = field(default_factory=list)
    covers: List[np.ndarray] = field(default_factory=list)
    haze0: float = 0.0
    image: Optional[np.ndarray] = None


class SceneRenderer:
    """Draw the distractors and render the landscape of one sample.

    Args:
        img_size (tuple[int, int]): Output ``(H, W)``.
        distractor_prob (float): Probability that a smoke sample also gets
            clouds/fog/haze.
    """

    def __init__(self, img_size: Tuple[int, int],
                 distractor_prob: float) -> None:
        self.img_size = img_size
        self.distractor_prob = distractor_prob

    def choose_distractors(self, rng: np.random.Generator,
                           kind: str) -> List[str]:
        """Distractors of a sample of ``kind``.

        ``'distractor'`` samples get at least one, ``'negative'`` samples
        none, smoke samples some with probability ``distractor_prob``.
        """
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

    def render(self, rng: np.random.Generator,
               distractors: Sequence[str]) -> Scene:
        """Sky, clouds, ridge layers, valley fog and haze.

        Returns:
            Scene: The image, its palette, ridge lines and layer coverage.
        """
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
        scene = Scene(palette=name, haze=haze, light=light)
        ys = ((np.arange(h, dtype=np.float32) + 0.5) / h)[:, None]
        xs = ((np.arange(w, dtype=np.float32) + 0.5) / w)[None, :]
        yy = (np.arange(h, dtype=np.float32) + 0.5)[:, None]

        # Ridge lines, farthest first.
        horizon = rng.uniform(0.30, 0.62) * h
        n_layers = int(rng.integers(2, 5))
        spacing = rng.uniform(0.035, 0.10) * h
        lines = scene.lines
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
        haze0 = scene.haze0 = rng.uniform(0.45, 0.80)
        terrain_cols = pal['terrain']
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
            scene.covers.append(cover)
            c3 = cover[top_y:, :, None]
            image[top_y:] = image[top_y:] * (1 - c3) + layer * c3
            if fog_over == k:
                image = composite(image,
                                  fog_layer(rng, (h, w), line, haze, light))

        if 'haze' in distractors:
            image = composite(image, haze_layer(rng, (h, w), sky_line, haze))

        scene.image = np.clip(image, 0, 1).astype(np.float32)
        return scene
