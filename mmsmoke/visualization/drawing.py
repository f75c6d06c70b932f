"""Drawing helpers shared by :class:`SmokeLocalVisualizer` and the
inference writer: smoke overlay, colour-mapped maps, titled panels.

All functions work on RGB uint8 images (MMSeg's visualizer convention);
convert with ``img[..., ::-1]`` before and after OpenCV file I/O.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

#: OpenCV colour maps selectable by name.
COLORMAPS = dict(
    inferno=cv2.COLORMAP_INFERNO,
    jet=cv2.COLORMAP_JET,
    magma=cv2.COLORMAP_MAGMA,
    viridis=cv2.COLORMAP_VIRIDIS,
    turbo=cv2.COLORMAP_TURBO,
    hot=cv2.COLORMAP_HOT)

#: Default smoke colour (RGB), the palette of the mmsmoke datasets.
SMOKE_COLOR: Tuple[int, int, int] = (255, 96, 0)


def _check_image(image: np.ndarray) -> None:
    if not (isinstance(image, np.ndarray) and image.ndim == 3
            and image.shape[2] == 3 and image.dtype == np.uint8):
        raise ValueError('expected an (H, W, 3) uint8 image, got '
                         f'{getattr(image, "shape", None)} '
                         f'{getattr(image, "dtype", type(image).__name__)}')


def resize_to(values: np.ndarray,
              shape: Tuple[int, int],
              nearest: bool = False) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) array to ``shape`` (H, W)."""
    if tuple(values.shape[:2]) == tuple(shape):
        return values
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(
        values, (int(shape[1]), int(shape[0])), interpolation=interp)


def draw_smoke_overlay(image: np.ndarray,
                       mask: np.ndarray,
                       color: Sequence[int] = SMOKE_COLOR,
                       alpha: float = 0.5,
                       contour: bool = True) -> np.ndarray:
    """Tint the smoke pixels of an image and outline the smoke regions.

    Unlike MMSeg's class-palette blending, background pixels keep their
    colours, so the scene stays readable around thin smoke.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        mask (np.ndarray): (H, W) smoke mask (non-zero = smoke); resized
            with nearest neighbour when its size differs.
        color (Sequence[int]): RGB tint. Defaults to :data:`SMOKE_COLOR`.
        alpha (float): Tint opacity in [0, 1]. Defaults to 0.5.
        contour (bool): Draw the region outlines in the tint colour.
            Defaults to True.

    Returns:
        np.ndarray: A new (H, W, 3) uint8 RGB image.
    """
    _check_image(image)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must lie in [0, 1], got {alpha}')
    mask = resize_to(
        np.asarray(mask).astype(np.uint8), image.shape[:2], nearest=True) > 0
    out = image.copy()
    tint = np.asarray(color, dtype=np.float32)
    if mask.any():
        blended = out[mask].astype(np.float32) * (1 - alpha) + tint * alpha
        out[mask] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        if contour:
            contours, _ = cv2.findContours(
                mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                cv2.CHAIN_APPROX_SIMPLE)
            thickness = max(1, min(image.shape[:2]) // 200)
            cv2.drawContours(out, contours, -1, tuple(int(c) for c in color),
                             thickness)
    return out


def colorize_map(values: np.ndarray,
                 colormap: str = 'inferno',
                 vmin: float = 0.0,
                 vmax: float = 1.0) -> np.ndarray:
    """Colour-map a single-channel map with a fixed value range.

    The range is fixed (not min-max normalised per image), so a colour
    means the same value in every image.

    Args:
        values (np.ndarray): (H, W) or (1, H, W) map.
        colormap (str): One of :data:`COLORMAPS`. Defaults to 'inferno'.
        vmin (float): Value drawn with the first colour. Defaults to 0.
        vmax (float): Value drawn with the last colour. Defaults to 1.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    if colormap not in COLORMAPS:
        raise ValueError(f'unknown colormap {colormap!r}; choose from '
                         f'{sorted(COLORMAPS)}')
    if vmax <= vmin:
        raise ValueError(f'vmax ({vmax}) must exceed vmin ({vmin})')
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f'expected a single-channel map, got shape '
                         f'{values.shape}')
    scaled = np.clip((values - vmin) / (vmax - vmin), 0.0, 1.0)
    grey = np.rint(np.nan_to_num(scaled) * 255).astype(np.uint8)
    return cv2.applyColorMap(grey, COLORMAPS[colormap])[..., ::-1].copy()


def map_to_rgb(values: np.ndarray, colormap: str = 'inferno') -> np.ndarray:
    """Render a (C, H, W) map in [0, 1] as an RGB image.

    One channel is colour-mapped (:func:`colorize_map`); three channels are
    an RGB image in [0, 1] (FoSp's foreground and background layers).

    Args:
        values (np.ndarray): (1, H, W), (H, W) or (3, H, W) map.
        colormap (str): Colour map of single-channel maps.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 2 or (values.ndim == 3 and values.shape[0] == 1):
        return colorize_map(values, colormap)
    if values.ndim == 3 and values.shape[0] == 3:
        rgb = np.clip(np.nan_to_num(values.transpose(1, 2, 0)), 0.0, 1.0)
        return np.rint(rgb * 255).astype(np.uint8)
    raise ValueError(f'cannot render a map of shape {values.shape}; expected '
                     '1 or 3 channels')


def put_title(
    image: np.ndarray,
    text: str,
    color: Tuple[int, int, int] = (255, 255, 255),
    background: Optional[Tuple[int, int, int]] = (0, 0, 0)
) -> np.ndarray:
    """Write a one-line title on a dark band at the top of an image.

    Args:
        image (np.ndarray): (H, W, 3) uint8 image.
        text (str): Title.
        color (tuple): Text colour. Defaults to white.
        background (tuple, optional): Band colour; None draws no band.

    Returns:
        np.ndarray: A new image with the title.
    """
    _check_image(image)
    out = image.copy()
    height, width = out.shape[:2]
    scale = float(np.clip(min(width, height * 2) / 480.0, 0.3, 1.2))
    thickness = 1 if scale < 0.8 else 2
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                     thickness)
    if tw > width - 6 and tw > 0:  # shrink long titles to fit the width
        scale = max(0.25, scale * (width - 6) / tw)
        thickness = 1
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                         thickness)
    band = min(height, th + base + 6)
    if background is not None:
        out[:band] = (out[:band].astype(np.float32) * 0.35 +
                      np.asarray(background, np.float32) * 0.65).astype(
                          np.uint8)
    cv2.putText(out, text, (3, min(height - 1, th + 3)),
                cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)
    return out


def tile_panels(panels: Sequence[np.ndarray],
                per_row: int = 4,
                gap: int = 2) -> np.ndarray:
    """Arrange equally sized panels in a grid, row by row.

    Args:
        panels (Sequence[np.ndarray]): (H, W, 3) uint8 images of one size.
        per_row (int): Panels per row. Defaults to 4.
        gap (int): White pixels between panels. Defaults to 2.

    Returns:
        np.ndarray: The grid image.
    """
    if not panels:
        raise ValueError('no panels to tile')
    if per_row < 1:
        raise ValueError(f'per_row must be >= 1, got {per_row}')
    height, width = panels[0].shape[:2]
    for panel in panels:
        if panel.shape != panels[0].shape:
            raise ValueError('panels must share one shape, got '
                             f'{panels[0].shape} and {panel.shape}')
    cols = min(per_row, len(panels))
    rows = (len(panels) + cols - 1) // cols
    grid = np.full(
        (rows * height + (rows - 1) * gap, cols * width + (cols - 1) * gap, 3),
        255,
        dtype=np.uint8)
    for i, panel in enumerate(panels):
        r, c = divmod(i, cols)
        y, x = r * (height + gap), c * (width + gap)
        grid[y:y + height, x:x + width] = panel
    return grid
