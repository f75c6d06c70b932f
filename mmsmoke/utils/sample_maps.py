"""Read the smoke probability and the extra maps of a ``SegDataSample``.

A binary smoke model stores in ``seg_logits`` either one channel holding the
smoke probability (MMSeg's ``postprocess_result`` applies the sigmoid for
``out_channels=1``) or two channels of logits. mmsmoke's segmentors add
further ``PixelData`` fields: FoSp the focus, alpha, foreground and
background maps, Transmission-BVM the total, aleatoric and epistemic
uncertainty. Inference writers and the visualizer read them through these
helpers so that they agree on names and value ranges.
"""
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

#: Known prediction maps (data-sample field -> short name). Every map is in
#: [0, 1]: focus probability, opacity, RGB layers, entropies in bits.
KNOWN_MAP_FIELDS: Dict[str, str] = OrderedDict(
    pred_focus='focus',
    pred_alpha='alpha',
    pred_foreground='foreground',
    pred_background='background',
    pred_uncertainty_total='uncertainty_total',
    pred_uncertainty_aleatoric='uncertainty_aleatoric',
    pred_uncertainty_epistemic='uncertainty_epistemic')

#: Prediction fields that are not extra maps.
_NOT_MAPS = ('pred_sem_seg', )


def _to_numpy(data) -> np.ndarray:
    if isinstance(data, torch.Tensor):
        data = data.detach().float().cpu().numpy()
    return np.asarray(data, dtype=np.float32)


def smoke_probability(sample: SegDataSample) -> np.ndarray:
    """Smoke probability map of a predicted sample.

    Args:
        sample (SegDataSample): Output of a segmentor's ``predict``/
            ``test_step`` with ``seg_logits``.

    Returns:
        np.ndarray: (H, W) float32 probabilities in [0, 1].
    """
    if 'seg_logits' not in sample:
        raise KeyError('the data sample has no seg_logits; it is not the '
                       'output of a segmentor')
    data = sample.seg_logits.data
    if not isinstance(data, torch.Tensor):
        data = torch.as_tensor(np.asarray(data))
    data = data.detach().float().cpu()
    if data.ndim != 3:
        raise ValueError(f'seg_logits must be (C, H, W), got shape '
                         f'{tuple(data.shape)}')
    if data.shape[0] == 1:
        # MMSeg's post-processing already applied the sigmoid.
        prob = data[0]
    elif data.shape[0] == 2:
        prob = data.softmax(dim=0)[1]
    else:
        raise ValueError(f'seg_logits has {data.shape[0]} channels; a binary '
                         'smoke model has 1 (sigmoid) or 2 (softmax)')
    return prob.clamp(0.0, 1.0).numpy()


def _pixel_fields(sample: Union[SegDataSample, dict]) -> Dict[str, object]:
    """``pred_*`` pixel fields (not ``pred_sem_seg``) -> their data."""
    if isinstance(sample, dict):  # the form mmengine's Evaluator hands on
        return {
            key: value['data']
            for key, value in sample.items()
            if key.startswith('pred_') and key not in _NOT_MAPS
            and isinstance(value, dict) and 'data' in value
        }
    return {
        key: sample.get(key).data
        for key in sample.keys() if key.startswith('pred_')
        and key not in _NOT_MAPS and isinstance(sample.get(key), PixelData)
    }


def extra_maps(
        sample: Union[SegDataSample, dict],
        fields: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    """The extra prediction maps of a sample, by short name.

    Args:
        sample (SegDataSample | dict): Predicted sample, or its ``to_dict()``
            form (what metrics receive).
        fields (Sequence[str], optional): Data-sample fields to read, in
            order (e.g. ``['pred_focus']``); fields the sample lacks are
            skipped. None reads every ``pred_*`` ``PixelData`` field except
            ``pred_sem_seg``: the known ones of :data:`KNOWN_MAP_FIELDS`
            first, then any other in alphabetical order.

    Returns:
        dict[str, np.ndarray]: Short name (the field without ``pred_``) to a
        float32 (C, H, W) array.
    """
    present = _pixel_fields(sample)
    if fields is None:
        fields = [f for f in KNOWN_MAP_FIELDS if f in present]
        fields += sorted(f for f in present if f not in KNOWN_MAP_FIELDS)
    out: Dict[str, np.ndarray] = OrderedDict()
    for field in fields:
        if field not in present:
            continue
        value = _to_numpy(present[field])
        if value.ndim == 2:
            value = value[None]
        name = KNOWN_MAP_FIELDS.get(
            field,
            field[len('pred_'):] if field.startswith('pred_') else field)
        out[name] = value
    return out


def map_to_uint8(values: np.ndarray) -> np.ndarray:
    """Quantise a map in [0, 1] to an 8-bit image, ``round(255 * v)``.

    Args:
        values (np.ndarray): (1, H, W) or (H, W) map, or (3, H, W) RGB
            layers (FoSp's foreground and background).

    Returns:
        np.ndarray: (H, W) grey or (H, W, 3) RGB uint8 image.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    elif values.ndim == 3 and values.shape[0] == 3:
        values = values.transpose(1, 2, 0)
    elif values.ndim != 2:
        raise ValueError(f'cannot save a map of shape {values.shape}; '
                         'expected 1 or 3 channels')
    values = np.clip(np.nan_to_num(values), 0.0, 1.0)
    return np.rint(values * 255.0).astype(np.uint8)
