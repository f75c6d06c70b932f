"""Procedural noise for the synthetic smoke generator (numpy + OpenCV only).

Value noise is a lattice of uniform random numbers that is upsampled with
bicubic interpolation. Fractional Brownian motion (fBm) sums value noise over
octaves whose lattice frequency grows by ``lacunarity`` and whose amplitude
shrinks by ``persistence``. Domain warping displaces the sampling
coordinates of a field by other noise fields, which turns the round features
of plain fBm into the folded, billowy shapes of smoke and cloud.

Every function takes an explicit :class:`numpy.random.Generator`, so a field
is fully determined by the state of that generator.
"""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np

Shape = Tuple[int, int]
Cells = Union[float, Sequence[float]]


def _as_pair(value: Cells, name: str) -> Tuple[float, float]:
    """Return ``value`` as a ``(y, x)`` pair of positive floats."""
    if np.isscalar(value):
        pair = (float(value), float(value))
    else:
        pair = tuple(float(v) for v in value)
    if len(pair) != 2 or min(pair) <= 0:
        raise ValueError(f'{name} must be a positive number or a pair of '
                         f'positive numbers, got {value!r}')
    return pair


def _check_shape(shape: Sequence[int]) -> Shape:
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f'shape must be (H, W) with H, W >= 1, got {shape!r}')
    return int(shape[0]), int(shape[1])


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step that rises from 0 at ``edge0`` to 1 at ``edge1``.

    Args:
        edge0 (float): Input value mapped to 0.
        edge1 (float): Input value mapped to 1 (may be below ``edge0`` for a
            falling step).
        x (np.ndarray): Input values.

    Returns:
        np.ndarray: ``3t^2 - 2t^3`` with ``t = clip((x-edge0)/(edge1-edge0))``,
        in float32.
    """
    if edge0 == edge1:
        return (np.asarray(x) >= edge0).astype(np.float32)
    t = np.clip((np.asarray(x, np.float32) - edge0) / (edge1 - edge0), 0, 1)
    return t * t * (3.0 - 2.0 * t)


def value_noise(shape: Sequence[int], cells: Cells,
                rng: np.random.Generator) -> np.ndarray:
    """Bicubically interpolated value noise.

    Args:
        shape (Sequence[int]): Output ``(H, W)``.
        cells (float | Sequence[float]): Number of lattice cells across the
            output, as one number or ``(cells_y, cells_x)``. Larger means
            finer features. Unequal values give anisotropic noise.
        rng (np.random.Generator): Source of the lattice values.

    Returns:
        np.ndarray: float32 ``(H, W)`` field in [0, 1] (the slight
        overshoot of bicubic interpolation is clipped).
    """
    h, w = _check_shape(shape)
    cy, cx = _as_pair(cells, 'cells')
    # Coarse lattices are interpolated bicubically on a grid of about eight
    # pixels per cell and then upsampled bilinearly, which is much cheaper
    # and visually identical.
    step = max(1, int(min(h / cy, w / cx) // 8))
    sh, sw = -(-h // step), -(-w // step)
    py, px = sh / cy, sw / cx
    # One spare cell before and two after the field keep the crop clear of
    # the clamped border of cv2.resize.
    ny, nx = int(np.ceil(cy)) + 3, int(np.ceil(cx)) + 3
    lattice = rng.random((ny, nx), dtype=np.float32)
    big_h = max(int(round(ny * py)), sh + int(np.ceil(py)) + 1)
    big_w = max(int(round(nx * px)), sw + int(np.ceil(px)) + 1)
    big = cv2.resize(lattice, (big_w, big_h), interpolation=cv2.INTER_CUBIC)
    oy = min(int(round(py)), big_h - sh)
    ox = min(int(round(px)), big_w - sw)
    out = big[oy:oy + sh, ox:ox + sw]
    if step > 1:
        out = cv2.resize(
            out, (sw * step, sh * step),
            interpolation=cv2.INTER_LINEAR)[:h, :w]
    return np.clip(out, 0, 1)


def fbm(shape: Sequence[int],
        rng: np.random.Generator,
        base_cells: Cells = 4,
        octaves: int = 5,
        persistence: float = 0.5,
        lacunarity: float = 2.0,
        normalize: bool = True) -> np.ndarray:
    """Fractional Brownian motion built from :func:`value_noise` octaves.

    Octave ``k`` uses ``base_cells * lacunarity**k`` lattice cells and weight
    ``persistence**k``.

    Args:
        shape (Sequence[int]): Output ``(H, W)``.
        rng (np.random.Generator): Random source.
        base_cells (float | Sequence[float]): Lattice cells of the coarsest
            octave, one number or ``(cells_y, cells_x)``.
        octaves (int): Number of octaves (>= 1). Octaves finer than two
            pixels per cell are skipped; they would only add aliasing.
        persistence (float): Amplitude ratio between octaves.
        lacunarity (float): Frequency ratio between octaves.
        normalize (bool): Rescale the result to exactly [0, 1].

    Returns:
        np.ndarray: float32 ``(H, W)`` field.
    """
    h, w = _check_shape(shape)
    if octaves < 1:
        raise ValueError(f'octaves must be >= 1, got {octaves}')
    cy, cx = _as_pair(base_cells, 'base_cells')
    total = np.zeros((h, w), np.float32)
    amp, weight = 1.0, 0.0
    for k in range(octaves):
        fy, fx = cy * lacunarity**k, cx * lacunarity**k
        # Skip octaves finer than two pixels per cell (ignoring an axis of
        # length 1, as in a 1-D profile).
        if k > 0 and ((h > 1 and h / fy < 2) or (w > 1 and w / fx < 2)):
            break
        total += np.float32(amp) * value_noise((h, w), (fy, fx), rng)
        weight += amp
        amp *= persistence
    total /= np.float32(weight)
    if normalize:
        lo, hi = float(total.min()), float(total.max())
        total = (total - lo) / max(hi - lo, 1e-6)
    return total.astype(np.float32, copy=False)


def fbm1d(length: int,
          rng: np.random.Generator,
          base_cells: float = 3,
          octaves: int = 5,
          persistence: float = 0.5) -> np.ndarray:
    """One-dimensional fBm, used for ridge and horizon lines.

    Args:
        length (int): Number of samples.
        rng (np.random.Generator): Random source.
        base_cells (float): Lattice cells of the coarsest octave.
        octaves (int): Number of octaves.
        persistence (float): Amplitude ratio between octaves.

    Returns:
        np.ndarray: float32 ``(length,)`` values in [0, 1].
    """
    return fbm((1, length), rng, (1, base_cells), octaves, persistence)[0]


def sample_field(field: np.ndarray, map_x: np.ndarray,
                 map_y: np.ndarray) -> np.ndarray:
    """Bilinearly sample ``field`` at float pixel coordinates.

    Coordinates outside the field are mirrored back into it.

    Args:
        field (np.ndarray): float32 ``(h, w)`` source.
        map_x (np.ndarray): float32 column coordinates, any 2-D shape.
        map_y (np.ndarray): float32 row coordinates, same shape.

    Returns:
        np.ndarray: float32 samples with the shape of ``map_x``.
    """
    return cv2.remap(
        field,
        map_x.astype(np.float32, copy=False),
        map_y.astype(np.float32, copy=False),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101)


def warp_offsets(shape: Sequence[int],
                 rng: np.random.Generator,
                 amplitude: float,
                 base_cells: Cells = 3,
                 octaves: int = 4) -> Tuple[np.ndarray, np.ndarray]:
    """Two independent zero-mean fBm displacement fields.

    Args:
        shape (Sequence[int]): ``(H, W)`` of the fields.
        rng (np.random.Generator): Random source.
        amplitude (float): Largest displacement, in the caller's units.
        base_cells (float | Sequence[float]): Coarsest lattice of the fields.
        octaves (int): Octaves of the fields.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(dx, dy)`` in
        ``[-amplitude, amplitude]``.
    """
    dx = (fbm(shape, rng, base_cells, octaves) - 0.5) * (2 * amplitude)
    dy = (fbm(shape, rng, base_cells, octaves) - 0.5) * (2 * amplitude)
    return dx.astype(np.float32), dy.astype(np.float32)


def domain_warp(field: np.ndarray,
                rng: np.random.Generator,
                amplitude: float,
                base_cells: Cells = 3,
                octaves: int = 4) -> np.ndarray:
    """Resample ``field`` at coordinates displaced by fBm offsets.

    Args:
        field (np.ndarray): float32 ``(H, W)`` field to warp.
        rng (np.random.Generator): Random source of the offsets.
        amplitude (float): Largest displacement in pixels.
        base_cells (float | Sequence[float]): Coarsest lattice of the
            offsets.
        octaves (int): Octaves of the offsets.

    Returns:
        np.ndarray: float32 warped field of the same shape.
    """
    h, w = field.shape
    dx, dy = warp_offsets((h, w), rng, amplitude, base_cells, octaves)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return sample_field(field, gx + dx, gy + dy)
