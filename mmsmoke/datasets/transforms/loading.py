"""Loading transforms that validate smoke images and masks.

Smoke masks are published in several conventions (SMOKE5K: grey PNG with
{0, 255}; SmokeSeg: palette PNG with indices {0, 1}). MMSeg's stock
``LoadAnnotations`` reads them unchanged, so a {0, 255} mask silently turns
every smoke pixel into the ignore index 255. :class:`LoadSmokeAnnotations`
maps each declared convention explicitly to {0: background, 1: smoke} and
refuses anything else with an error naming the file.
"""
import io
from typing import Dict, Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmseg.registry import TRANSFORMS
from PIL import Image

#: Supported mask conventions: allowed raw values and how they map to labels.
MASK_CONVENTIONS: Dict[str, Dict[int, int]] = {
    # grey PNG, 0 = background, 255 = smoke (SMOKE5K, most folder datasets)
    'zero_255': {0: 0, 255: 1},
    # index PNG (grey or palette), 0 = background, 1 = smoke (SmokeSeg, VOC)
    'zero_one': {0: 0, 1: 1},
}

#: Keys that mark a ``results`` dict as a dataset sample (as opposed to an
#: inference input, which has none of them).
_DATASET_KEYS = ('seg_map_path', 'mask_convention', 'sample_idx')


def _read_bytes(filename: str, backend_args: Optional[dict],
                what: str) -> bytes:
    try:
        data = fileio.get(filename, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(f'{filename}: {what} file not found') from None
    if len(data) == 0:
        raise ValueError(f'{filename}: {what} file is empty (0 bytes)')
    return data


def to_bgr_uint8(img: np.ndarray, filename: str) -> np.ndarray:
    """Convert a decoded image to 3-channel 8-bit BGR.

    Conversions (documented in docs/datasets.md):

    - grey (H, W) or (H, W, 1): replicated to three channels;
    - BGRA (H, W, 4): the alpha channel is dropped (colour kept as stored);
    - 16-bit: scaled to 8 bits with ``round(v / 257)``.

    Args:
        img (np.ndarray): Image as decoded by OpenCV with ``IMREAD_UNCHANGED``.
        filename (str): Used in error messages.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR image.
    """
    if img.dtype == np.uint16:
        img = np.round(img.astype(np.float32) / 257.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ValueError(f'{filename}: unsupported image dtype {img.dtype}; '
                         f'expected 8- or 16-bit pixels')
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = np.ascontiguousarray(img[..., :3])
    elif not (img.ndim == 3 and img.shape[2] == 3):
        raise ValueError(f'{filename}: unsupported image shape {img.shape}')
    return img


@TRANSFORMS.register_module()
class LoadSmokeImageFromFile(BaseTransform):
    """Load an image, with clear errors and documented conversions.

    Unlike ``mmcv.LoadImageFromFile`` it names the file for a missing,
    zero-byte or undecodable image, and converts grey, RGBA and 16-bit images
    to 8-bit BGR (:func:`to_bgr_uint8`). The content decides the format, so an
    RGBA PNG saved under a ``.jpg`` name loads as well. EXIF orientation is
    not applied: masks carry none, and rotating only the image would misalign
    the pair.

    For inference the image may also come in memory: a ``results`` dict
    with an ``img`` array and no ``img_path`` (or ``img_path=None``) is
    converted the same way (BGR channel order expected, as OpenCV decodes)
    instead of being read, so one pipeline serves files and video frames.

    Required keys: ``img_path``, or ``img`` (np.ndarray) without a path.
    Added keys: ``img``, ``img_shape``, ``ori_shape`` (and ``img_path=None``
    for an in-memory image).

    Args:
        to_float32 (bool): Return a float32 image. Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 to_float32: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        self.to_float32 = to_float32
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> dict:
        filename = results.get('img_path')
        if filename is None:
            return self._from_memory(results)
        data = _read_bytes(filename, self.backend_args, 'image')
        try:
            img = mmcv.imfrombytes(data, flag='unchanged', backend='cv2')
        except Exception as err:  # noqa: BLE001
            raise ValueError(f'{filename}: cannot decode image '
                             f'({type(err).__name__}: {err})') from err
        if img is None or img.size == 0:
            raise ValueError(f'{filename}: cannot decode image (corrupt or '
                             f'not an image file)')
        img = to_bgr_uint8(img, filename)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _from_memory(self, results: dict) -> dict:
        """Convert an in-memory ``results['img']`` like a decoded file."""
        img = results.get('img')
        if img is None:
            raise KeyError('LoadSmokeImageFromFile: the input has neither '
                           'img_path nor an in-memory img array')
        name = '<in-memory image>'
        if not isinstance(img, np.ndarray):
            raise TypeError(f'{name}: img must be a numpy array, got '
                            f'{type(img).__name__}')
        if img.size == 0:
            raise ValueError(f'{name}: empty image of shape {img.shape}')
        img = to_bgr_uint8(img, name)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img_path'] = None
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'backend_args={self.backend_args})')


def decode_mask(data: bytes, filename: str) -> np.ndarray:
    """Decode mask bytes to a 2-D integer array of raw values.

    Palette images yield their indices, grey images their values. A grey
    mask with an alpha channel (PIL mode ``LA``) keeps its grey channel; a
    3- or 4-channel mask is accepted only when its colour channels are
    identical (a grey mask saved as RGB or RGBA), and its alpha channel is
    dropped. Anything else, including masks with non-integer pixels, raises
    ``ValueError``.

    Args:
        data (bytes): Encoded mask file.
        filename (str): Used in error messages.

    Returns:
        np.ndarray: (H, W) integer array of the stored values.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            mode = im.mode
            if mode == '1':
                arr = np.asarray(im.convert('L'))
            else:
                arr = np.asarray(im)
    except Exception as err:  # noqa: BLE001
        raise ValueError(f'{filename}: cannot decode mask '
                         f'({type(err).__name__}: {err})') from err
    if arr.ndim == 3 and arr.shape[2] == 2:
        # Grey + alpha: the grey channel holds the values.
        arr = arr[..., 0]
    elif arr.ndim == 3:
        rgb = arr[..., :3]
        if not (np.array_equal(rgb[..., 0], rgb[..., 1])
                and np.array_equal(rgb[..., 0], rgb[..., 2])):
            raise ValueError(
                f'{filename}: mask has {arr.shape[2]} colour channels with '
                f'different values (mode {mode}); expected a single-channel '
                f'grey or palette mask')
        arr = rgb[..., 0]
    if arr.ndim != 2:
        raise ValueError(f'{filename}: unsupported mask shape {arr.shape}')
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f'{filename}: mask pixels have dtype {arr.dtype} '
                         f'(mode {mode}); expected integer class values')
    return arr


@TRANSFORMS.register_module()
class LoadSmokeAnnotations(BaseTransform):
    """Load a binary smoke mask and map its convention to {0, 1}.

    The convention comes from the dataset (``results['mask_convention']``,
    set by every mmsmoke dataset) or from the ``mask_convention`` argument.
    Supported conventions (:data:`MASK_CONVENTIONS`):

    - ``'zero_255'``: values {0, 255}, 255 is smoke (SMOKE5K);
    - ``'zero_one'``: values {0, 1}, 1 is smoke (SmokeSeg, VOC palette PNG).

    A mask with any other value, a missing or unreadable mask, and a mask
    whose size differs from its image's raise an error naming the file. The
    output never contains 255, so no smoke pixel falls into the ignore index.

    Inference inputs carry no mask: a ``results`` dict that did not come
    from a dataset (none of ``seg_map_path``, ``mask_convention`` and
    mmengine's ``sample_idx``) passes through unchanged, so a test pipeline
    also serves ``mmseg.apis.inference_model`` and
    :class:`mmsmoke.apis.SmokeInferencer`. A dataset sample without a mask
    still raises.

    Required keys: ``seg_map_path``, ``ori_shape`` (load the image first).
    Added keys: ``gt_seg_map`` (uint8, {0, 1}), ``seg_fields``.

    Args:
        mask_convention (str, optional): Override the dataset's convention.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 mask_convention: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        if mask_convention is not None and \
                mask_convention not in MASK_CONVENTIONS:
            raise ValueError(f'unknown mask_convention {mask_convention!r}; '
                             f'choose from {sorted(MASK_CONVENTIONS)}')
        self.mask_convention = mask_convention
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> dict:
        if not any(key in results for key in _DATASET_KEYS):
            return results  # an inference input: nothing to load
        filename = results.get('seg_map_path')
        if filename is None:
            raise KeyError(f'{results.get("img_path")}: no seg_map_path; the '
                           f'dataset has no mask for this image')
        convention = self.mask_convention or results.get('mask_convention')
        if convention not in MASK_CONVENTIONS:
            raise ValueError(
                f'{filename}: mask convention {convention!r} is not one of '
                f'{sorted(MASK_CONVENTIONS)}; set mask_convention on the '
                f'dataset or on LoadSmokeAnnotations')
        if results.get('reduce_zero_label', False):
            raise ValueError(f'{filename}: reduce_zero_label must be False '
                             f'for binary smoke masks')
        raw = decode_mask(
            _read_bytes(filename, self.backend_args, 'mask'), filename)
        mapping = MASK_CONVENTIONS[convention]
        values = np.unique(raw)
        unexpected = [int(v) for v in values if int(v) not in mapping]
        if unexpected:
            raise ValueError(
                f'{filename}: mask values {unexpected[:10]} are outside the '
                f'{convention!r} convention {sorted(mapping)}')
        ori_shape = results.get('ori_shape')
        if ori_shape is not None and tuple(raw.shape) != tuple(ori_shape[:2]):
            raise ValueError(
                f'{filename}: mask size {raw.shape[1]}x{raw.shape[0]} (WxH) '
                f'differs from image {results.get("img_path")} size '
                f'{ori_shape[1]}x{ori_shape[0]}')
        lut = np.zeros(256 if raw.dtype == np.uint8 else int(raw.max()) + 1,
                       dtype=np.uint8)
        for src, dst in mapping.items():
            if src < len(lut):
                lut[src] = dst
        results['gt_seg_map'] = lut[raw]
        results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'mask_convention={self.mask_convention})')
