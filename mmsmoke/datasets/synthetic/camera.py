"""Camera model of the synthetic generator, applied after compositing.

The clean composite ``(1 - alpha) * B + alpha * S`` (float RGB in [0, 1])
goes through the degradations of a real camera before it is quantised:
vignetting (probability 0.3), a slight Gaussian blur (0.3), sensor noise
(a luminance component plus 0.4 times as much per-channel chroma noise)
and a JPEG round trip (0.7). None of them touches ``alpha``, so the labels
stay exact.
"""
from typing import Tuple

import cv2
import numpy as np


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Clip float RGB in [0, 1] and round it to uint8."""
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


class CameraModel:
    """Vignetting, blur, sensor noise and JPEG of a clean composite.

    Args:
        img_size (tuple[int, int]): ``(H, W)`` of the images.
        enabled (bool): Apply the camera model. With ``False`` the image is
            exactly the rounded composite and no random number is drawn.
        noise_std_range (tuple[float, float]): Sensor noise std (of [0, 1]
            intensities).
        jpeg_quality_range (tuple[int, int]): Quality of the JPEG round
            trip.
    """

    def __init__(self, img_size: Tuple[int, int], enabled: bool,
                 noise_std_range: Tuple[float, float],
                 jpeg_quality_range: Tuple[int, int]) -> None:
        self.img_size = img_size
        self.enabled = enabled
        self.noise_std_range = noise_std_range
        self.jpeg_quality_range = jpeg_quality_range

    def apply(self, rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
        """Vignetting, blur, sensor noise and JPEG; returns uint8 RGB."""
        if not self.enabled:
            return to_uint8(clean)
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
        img = to_uint8(img + noise)
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
