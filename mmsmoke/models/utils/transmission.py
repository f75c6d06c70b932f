"""Medium transmission from the dark channel prior (Transmission-BVM Eq. 9).

Transmission-BVM (Yan, Zhang and Barnes, AAAI 2022) estimates the medium
transmission of a smoke image with the dark channel prior of He, Sun and Tang
(CVPR 2009 / TPAMI 2011):

.. math::

    T(m) = 1 - \\omega \\min_c \\min_{n \\in K(m)} \\frac{I^c(n)}{A^c},

where ``K(m)`` is a ``k x k`` patch centred at pixel ``m`` and ``A`` is the
global atmospheric light, the mean colour of the 0.1% brightest pixels of
the dark channel of ``I``.

Deviations:

* ``omega`` (He et al.'s haze-keeping factor) defaults to 0.95 as in He et
  al.; ``omega=1.0`` gives Eq. 9 of the paper literally.
* He et al. refine ``T`` with soft matting or a guided filter; the paper does
  not mention a refinement and none is done here (the loss that consumes
  ``T`` already smooths it with a bilateral kernel).
* The authors' release ships neither the transmission maps nor code to
  compute them (it reads pre-computed ``.jpg`` maps). Here ``T`` is computed
  on the fly, batched on the device, from the RGB image of the batch
  inputs, so no extra files are needed.
  ``tools/misc/export_transmission.py`` writes the same maps to PNG files
  for inspection.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_image(img: Tensor, name: str = 'img') -> None:
    """Raise a clear error for anything but an (N, 3, H, W) float batch."""
    if not isinstance(img, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(img)}')
    if img.dim() != 4 or img.shape[1] != 3:
        raise ValueError(f'{name} must have shape (N, 3, H, W), got '
                         f'{tuple(img.shape)}')
    if not img.is_floating_point():
        raise TypeError(f'{name} must be a floating point RGB image in '
                        f'[0, 1], got dtype {img.dtype}')


def _check_kernel_size(kernel_size: int) -> None:
    if not isinstance(kernel_size, int) or kernel_size < 1 \
            or kernel_size % 2 == 0:
        raise ValueError('kernel_size must be a positive odd integer, got '
                         f'{kernel_size!r}')


def dark_channel(img: Tensor, kernel_size: int = 15) -> Tensor:
    """Dark channel: minimum over the colour channels and a local patch.

    The local minimum is a max-pool of the negated map; the pool pads with
    ``-inf``, so a border pixel takes the minimum over the part of its patch
    that lies inside the image.

    Args:
        img (Tensor): Image batch of shape (N, C, H, W).
        kernel_size (int): Side ``k`` of the square patch, odd.
            Defaults to 15 (He et al.).

    Returns:
        Tensor: Dark channel of shape (N, 1, H, W).
    """
    _check_kernel_size(kernel_size)
    if img.dim() != 4:
        raise ValueError(f'img must have shape (N, C, H, W), got '
                         f'{tuple(img.shape)}')
    channel_min = img.amin(dim=1, keepdim=True)
    if kernel_size == 1:
        return channel_min
    # The square minimum is separable: a column pass then a row pass,
    # O(k) instead of O(k^2) per pixel.
    r = kernel_size // 2
    out = F.max_pool2d(-channel_min, (kernel_size, 1), 1, (r, 0))
    return -F.max_pool2d(out, (1, kernel_size), 1, (0, r))


def atmospheric_light(img: Tensor,
                      dark: Tensor,
                      top_ratio: float = 0.001) -> Tensor:
    """Global atmospheric light of each image of a batch.

    The ``top_ratio`` fraction (at least one pixel) of the brightest pixels
    of the dark channel are selected per image and their RGB values are
    averaged, as in the paper (Sec. "Transmission Guided Local Coherence
    Loss", "top 0.1% brightest pixels in the dark channel").

    Args:
        img (Tensor): RGB image batch in [0, 1] of shape (N, 3, H, W).
        dark (Tensor): Dark channel of ``img``, shape (N, 1, H, W).
        top_ratio (float): Fraction of pixels used. Defaults to 0.001.

    Returns:
        Tensor: Atmospheric light of shape (N, 3).
    """
    if not 0 < top_ratio <= 1:
        raise ValueError(f'top_ratio must be in (0, 1], got {top_ratio}')
    n, c, h, w = img.shape
    if dark.shape != (n, 1, h, w):
        raise ValueError(f'dark must have shape {(n, 1, h, w)}, got '
                         f'{tuple(dark.shape)}')
    num = max(1, int(h * w * top_ratio))
    idx = dark.reshape(n, h * w).topk(num, dim=1).indices
    idx = idx.unsqueeze(1).expand(n, c, num)
    pixels = img.reshape(n, c, h * w).gather(2, idx)
    return pixels.mean(dim=2)


def estimate_transmission(
        img: Tensor,
        kernel_size: int = 15,
        omega: float = 0.95,
        top_ratio: float = 0.001,
        eps: float = 1e-6,
        return_atmospheric_light: bool = False
) -> Tensor | Tuple[Tensor, Tensor]:
    """Dark-channel-prior medium transmission (Eq. 9), batched, no grad.

    Args:
        img (Tensor): RGB image batch in [0, 1] of shape (N, 3, H, W).
        kernel_size (int): Side ``k`` of the dark-channel patch, odd.
            Defaults to 15.
        omega (float): Fraction of haze removed, in (0, 1]. 1.0 is Eq. 9
            literally, 0.95 (default) is He et al.'s choice.
        top_ratio (float): Fraction of the brightest dark-channel pixels
            that define the atmospheric light. Defaults to 0.001 (0.1%).
        eps (float): Lower bound of each channel of the atmospheric light,
            so a black image does not divide by zero. Defaults to 1e-6.
        return_atmospheric_light (bool): Also return ``A``.

    Returns:
        Tensor | tuple[Tensor, Tensor]: Transmission of shape (N, 1, H, W)
        in [0, 1] (clamped: ``I / A`` may exceed 1 for pixels brighter than
        ``A``), and, when asked, ``A`` of shape (N, 3).
    """
    _check_image(img)
    if not 0 < omega <= 1:
        raise ValueError(f'omega must be in (0, 1], got {omega}')
    with torch.no_grad():
        img = img.detach()
        dark = dark_channel(img, kernel_size)
        air = atmospheric_light(img, dark, top_ratio).clamp(min=eps)
        normalised = img / air[:, :, None, None]
        trans = (1.0 - omega * dark_channel(normalised, kernel_size)).clamp(
            0.0, 1.0)
    if return_atmospheric_light:
        return trans, air
    return trans


def resized_transmission(images: Tensor,
                         size: Optional[Tuple[int, int]] = None,
                         **kwargs) -> Tensor:
    """Transmission of RGB images in [0, 1], optionally resized.

    :func:`estimate_transmission` followed by a bilinear resize to ``size``
    (e.g. the label size) when it differs. The images are those of
    :meth:`~mmsmoke.models.data_preprocessors.SmokeDataPreProcessor.images_from_inputs`;
    their padded border holds the colour the padded input stands for,
    and the losses that use ``T`` exclude it through the ignore index of
    the label.

    Args:
        images (Tensor): RGB images in [0, 1], (N, 3, H, W).
        size (tuple[int, int], optional): Output size.
        **kwargs: Passed to :func:`estimate_transmission`.

    Returns:
        Tensor: Transmission of shape (N, 1, H, W) (or ``size``), no grad.
    """
    trans = estimate_transmission(images, **kwargs)
    if size is not None and tuple(trans.shape[-2:]) != tuple(size):
        trans = F.interpolate(
            trans, size=size, mode='bilinear', align_corners=False)
    return trans
