"""Write smoke inference results (maps, overlays, tables) to a folder."""
import csv
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from mmsmoke.evaluation.functional.sod import probability_to_uint8
from mmsmoke.utils.sample_maps import map_to_uint8
from mmsmoke.visualization.drawing import (SMOKE_COLOR, draw_smoke_overlay,
                                           put_title)
from .frame_summary import FrameSummary

#: Per-frame outputs that can be written.
OUTPUT_KINDS = ('mask', 'prob', 'maps', 'overlay')

#: ``status`` of a frame record: processed, or why it produced no result.
#: ``read_error``: the file or video frame could not be read or decoded;
#: ``inference_error``: it was read, but the model or the per-frame
#: summary raised.
FRAME_STATUSES = ('ok', 'read_error', 'inference_error')

#: Columns of ``errors.csv``, one row per failed frame.
ERROR_COLUMNS = ('index', 'name', 'source', 'frame', 'time_s', 'status',
                 'error')


def frame_failed(record: dict) -> bool:
    """Whether a frame record is a failure (a ``status`` other than ``ok``).

    Records without a ``status`` count as processed, so tables written by
    callers that do not track failures are unchanged.
    """
    return record.get('status', 'ok') != 'ok'


def _imwrite(path: str, image: np.ndarray) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'{path}: cannot write image')


def _write_csv(path: str, rows: List[dict], columns: List[str]) -> None:
    """Write ``rows`` as CSV with ``columns``; None becomes an empty cell."""
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
        writer.writeheader()
        for row in rows:
            writer.writerow({
                k: ('' if row.get(k) is None else row.get(k))
                for k in columns
            })


class SmokeResultWriter:
    """Write per-frame smoke outputs and the summary tables of a run.

    Layout under ``out_dir`` (``<name>`` is the image's path relative to the
    input folder without its suffix, or ``frame_<index>`` for video):

    - ``pred_masks/<name>.png``: binary mask, 0 = background, **255** =
      smoke (for viewing; divide by 255 for labels), like ``SmokeMetric``'s
      ``output_dir``;
    - ``prob_maps/<name>.png``: smoke probability as ``round(255 * p)``
      (uint8), and ``prob_maps/<name>.npy`` (float32) with ``save_npy``;
    - ``maps/<map>/<name>.png``: each extra map of the model, e.g.
      ``uncertainty_total`` (entropy in bits, ``round(255 * u)``),
      ``focus``, ``alpha`` (``round(255 * v)``), ``foreground``,
      ``background`` (colour images); ``.npy`` (float32, (C, H, W)) with
      ``save_npy``;
    - ``overlays/<name>.jpg``: the image with smoke tinted and outlined, the
      score and area written on top and, while a video alarm is active, a
      red ``SMOKE ALARM`` band at the bottom;
    - ``alarms/alarm_<k>_<name>.jpg``: the overlay of the frame where alarm
      ``k`` switched on (written by :meth:`write_snapshot`);
    - ``frames.csv`` and ``results.json``: one row per frame, plus the run's
      settings, frame counts, alarm events and episodes
      (:meth:`write_tables`); ``alarm_events.csv`` when there are events;
      ``errors.csv`` when frames failed (``status`` other than ``ok``).

    Args:
        out_dir (str): Output folder (created).
        outputs (Sequence[str]): Per-frame outputs, a subset of
            :data:`OUTPUT_KINDS`. Defaults to all.
        save_npy (bool): Also write float32 ``.npy`` probability and extra
            maps. Defaults to False.
        overlay_alpha (float): Opacity of the smoke tint. Defaults to 0.5.
        color (Sequence[int]): Smoke tint (RGB). Defaults to
            :data:`~mmsmoke.visualization.drawing.SMOKE_COLOR`.
    """

    def __init__(self,
                 out_dir: str,
                 outputs: Sequence[str] = OUTPUT_KINDS,
                 save_npy: bool = False,
                 overlay_alpha: float = 0.5,
                 color: Sequence[int] = SMOKE_COLOR) -> None:
        unknown = [o for o in outputs if o not in OUTPUT_KINDS]
        if unknown:
            raise ValueError(f'unknown outputs {unknown}; choose from '
                             f'{list(OUTPUT_KINDS)}')
        if not 0.0 <= overlay_alpha <= 1.0:
            raise ValueError('overlay_alpha must lie in [0, 1], got '
                             f'{overlay_alpha}')
        self.out_dir = out_dir
        self.outputs = tuple(outputs)
        self.save_npy = save_npy
        self.overlay_alpha = overlay_alpha
        self.color = tuple(int(c) for c in color)
        os.makedirs(out_dir, exist_ok=True)
        self._num_snapshots = 0

    def _path(self, *parts: str) -> str:
        return osp.join(self.out_dir, *parts)

    def render_overlay(self,
                       image_bgr: np.ndarray,
                       summary: FrameSummary,
                       alarm_active: Optional[bool] = None) -> np.ndarray:
        """The overlay of one frame (BGR, the size of ``image_bgr``).

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR frame.
            summary (FrameSummary): The frame's result.
            alarm_active (bool, optional): Alarm state to draw; None draws
                none (single images).

        Returns:
            np.ndarray: (H, W, 3) uint8 BGR image.
        """
        rgb = np.ascontiguousarray(image_bgr[..., ::-1])
        out = draw_smoke_overlay(rgb, summary.mask, self.color,
                                 self.overlay_alpha)
        caption = (f'smoke {"yes" if summary.smoke_present else "no"}  '
                   f'score {summary.smoke_score:.2f}  '
                   f'area {100 * summary.smoke_area:.1f}%')
        out = put_title(out, caption)
        if alarm_active:
            band = max(1, out.shape[0] // 8)
            out[-band:] = put_title(
                np.ascontiguousarray(out[-band:]),
                'SMOKE ALARM',
                background=(200, 0, 0))
        return np.ascontiguousarray(out[..., ::-1])

    def write_frame(self,
                    name: str,
                    image_bgr: np.ndarray,
                    summary: FrameSummary,
                    alarm_active: Optional[bool] = None) -> Dict[str, str]:
        """Write the per-frame files of one image or frame.

        Args:
            name (str): Output name without suffix (may contain ``/``).
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR frame, the size of
                the prediction.
            summary (FrameSummary): The frame's result.
            alarm_active (bool, optional): Alarm state drawn on the overlay.

        Returns:
            dict[str, str]: Written files (relative to ``out_dir``) by kind.
        """
        files: Dict[str, str] = {}
        if 'mask' in self.outputs:
            rel = osp.join('pred_masks', f'{name}.png')
            _imwrite(self._path(rel), summary.mask.astype(np.uint8) * 255)
            files['mask'] = rel
        if 'prob' in self.outputs:
            rel = osp.join('prob_maps', f'{name}.png')
            _imwrite(self._path(rel), probability_to_uint8(summary.prob))
            files['prob'] = rel
            if self.save_npy:
                rel = osp.join('prob_maps', f'{name}.npy')
                os.makedirs(osp.dirname(self._path(rel)), exist_ok=True)
                np.save(self._path(rel), summary.prob.astype(np.float32))
                files['prob_npy'] = rel
        if 'maps' in self.outputs:
            for map_name, values in summary.maps.items():
                rel = osp.join('maps', map_name, f'{name}.png')
                img = map_to_uint8(values)
                if img.ndim == 3:
                    img = img[..., ::-1]  # RGB layers; cv2 writes BGR
                _imwrite(self._path(rel), img)
                files[map_name] = rel
                if self.save_npy:
                    rel = osp.join('maps', map_name, f'{name}.npy')
                    np.save(self._path(rel), values.astype(np.float32))
                    files[f'{map_name}_npy'] = rel
        if 'overlay' in self.outputs:
            rel = osp.join('overlays', f'{name}.jpg')
            _imwrite(
                self._path(rel),
                self.render_overlay(image_bgr, summary, alarm_active))
            files['overlay'] = rel
        return files

    def write_snapshot(self, name: str, overlay_bgr: np.ndarray) -> str:
        """Save the overlay of an alarm frame as ``alarms/alarm_<k>_<name>``.

        Args:
            name (str): Frame name.
            overlay_bgr (np.ndarray): Overlay from :meth:`render_overlay`.

        Returns:
            str: File path relative to ``out_dir``.
        """
        self._num_snapshots += 1
        flat = name.replace('/', '_')
        rel = osp.join('alarms', f'alarm_{self._num_snapshots:03d}_{flat}.jpg')
        _imwrite(self._path(rel), overlay_bgr)
        return rel

    def write_tables(self,
                     records: List[dict],
                     settings: dict,
                     events: Optional[List[dict]] = None,
                     episodes: Optional[List[dict]] = None) -> Dict[str, str]:
        """Write ``frames.csv``, ``results.json``, ``alarm_events.csv`` and
        ``errors.csv``.

        A record may carry ``status`` (one of :data:`FRAME_STATUSES`) and
        ``error`` (the reason, naming the file or video frame). Failed
        records hold no result values, so the CSV columns follow the
        processed records (their cells stay empty in failed rows) and
        ``error`` comes last. ``errors.csv`` (:data:`ERROR_COLUMNS`) lists
        the failed frames alone, so a damaged file is found without
        scanning every row.

        Args:
            records (list[dict]): One dict per frame; scalar values go to
                the CSV, a ``files`` dict only to the JSON.
            settings (dict): Run settings stored in the JSON.
            events (list[dict], optional): Alarm events.
            episodes (list[dict], optional): Alarm periods.

        Returns:
            dict[str, str]: Written files by kind (absolute paths).
        """
        written = {}
        failed = [r for r in records if frame_failed(r)]
        columns: List[str] = []
        # Processed rows first: they define the result columns' order.
        for record in ([r for r in records if not frame_failed(r)] + failed):
            for key, value in record.items():
                if key not in columns and not isinstance(value, dict):
                    columns.append(key)
        if 'error' in columns:
            columns.remove('error')
            columns.append('error')
        path = self._path('frames.csv')
        _write_csv(path, records, columns)
        written['csv'] = path
        path = self._path('results.json')
        with open(path, 'w') as f:
            json.dump(
                dict(
                    settings=settings,
                    counts=dict(
                        frames=len(records),
                        processed=len(records) - len(failed),
                        failed=len(failed)),
                    frames=records,
                    events=events or [],
                    episodes=episodes or []),
                f,
                indent=2)
        written['json'] = path
        if failed:
            path = self._path('errors.csv')
            _write_csv(path, failed, list(ERROR_COLUMNS))
            written['errors_csv'] = path
        if events:
            path = self._path('alarm_events.csv')
            keys = [
                'event', 'frame', 'time_s', 'count', 'window', 'name',
                'snapshot'
            ]
            _write_csv(path, events, keys)
            written['events_csv'] = path
        return written
