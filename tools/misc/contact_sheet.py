"""What the contact-sheet scripts of ``tools/misc`` share.

``overlay_contact_sheet.py`` and ``synthetic_contact_sheet.py`` lay out
panels the same way: white strips with captions, rows and columns of
panels separated by white gaps, a one-pixel grey frame per panel, a white
border around the sheet, and a written file that is made smaller until it
is below ``--max-kb``. Their common options are added here too, each with
the script's own default and help text.
"""
import argparse
import os
import os.path as osp
from typing import Callable, List, Sequence, Tuple

import cv2
import numpy as np

WHITE = (255, 255, 255)
FRAME_GREY = (110, 110, 110)

# Options ------------------------------------------------------------------


def add_out_argument(parser: argparse.ArgumentParser, default: str,
                     help: str) -> None:
    parser.add_argument('--out', default=default, help=help)


def add_seed_argument(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument('--seed', type=int, default=0, help=help)


def add_panel_argument(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument('--panel', type=int, default=256, help=help)


def add_max_kb_argument(parser: argparse.ArgumentParser, default: float,
                        help: str) -> None:
    parser.add_argument('--max-kb', type=float, default=default, help=help)


# Drawing ------------------------------------------------------------------


def frame(img: np.ndarray) -> np.ndarray:
    """Draw a one-pixel grey frame along the edges of ``img`` (in place)."""
    height, width = img.shape[:2]
    cv2.rectangle(img, (0, 0), (width - 1, height - 1), FRAME_GREY, 1)
    return img


def outline(img: np.ndarray,
            mask: np.ndarray,
            colour: Tuple[int, int, int],
            thickness: int = 1) -> np.ndarray:
    """Draw the outer contours of ``mask`` on ``img`` (in place)."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, contours, -1, colour, thickness)
    return img


def text_strip(text: str,
               width: int,
               height: int = 16,
               scale: float = 0.4) -> np.ndarray:
    """A white strip with black text."""
    strip = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(strip, text, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def hcat(parts: List[np.ndarray], gap: int) -> np.ndarray:
    """Panels of equal height side by side, ``gap`` white columns apart."""
    sep = np.full((parts[0].shape[0], gap, 3), 255, np.uint8)
    out = [parts[0]]
    for p in parts[1:]:
        out += [sep, p]
    return np.concatenate(out, axis=1)


def vcat(parts: List[np.ndarray], gap: int) -> np.ndarray:
    """Panels stacked, ``gap`` white rows apart, narrow ones padded white on
    the right."""
    w = max(p.shape[1] for p in parts)
    sep = np.full((gap, w, 3), 255, np.uint8)
    out = []
    for i, p in enumerate(parts):
        if p.shape[1] < w:
            pad = np.full((p.shape[0], w - p.shape[1], 3), 255, np.uint8)
            p = np.concatenate([p, pad], axis=1)
        out += ([sep] if i else []) + [p]
    return np.concatenate(out, axis=0)


def add_border(sheet: np.ndarray, border: int = 6) -> np.ndarray:
    """The sheet with a white border of ``border`` pixels on every side."""
    return cv2.copyMakeBorder(
        sheet,
        border,
        border,
        border,
        border,
        cv2.BORDER_CONSTANT,
        value=WHITE)


# Saving -------------------------------------------------------------------


def make_parent_dir(path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)


def write_image(path: str, img: np.ndarray,
                params: Sequence[int] = ()) -> float:
    """Write ``img`` with ``cv2.imwrite``; the file's size in KB."""
    if not cv2.imwrite(path, img, list(params)):
        raise OSError(f'could not write {path}')
    return osp.getsize(path) / 1024


#: ``value`` -> the image to write and its ``cv2.imwrite`` parameters.
Render = Callable[[int], Tuple[np.ndarray, Sequence[int]]]


def write_below(path: str, max_kb: float, value: int, lowest: int,
                lower: Callable[[int], int],
                render: Render) -> Tuple[int, np.ndarray, float]:
    """Write the image ``render(value)`` gives (image and ``cv2.imwrite``
    parameters), lowering ``value`` with ``lower`` until the file is at most
    ``max_kb`` or ``value`` is at most ``lowest``.

    Returns the last ``value``, its image and the file's size in KB.
    """
    while True:
        img, params = render(value)
        kb = write_image(path, img, params)
        if kb <= max_kb or value <= lowest:
            return value, img, kb
        value = lower(value)
