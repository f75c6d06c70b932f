"""Run a smoke segmentor on an image, a folder of images or a video.

Examples::

    # one image or a folder (searched recursively)
    python tools/infer.py CONFIG CHECKPOINT photo.jpg --out-dir out/photo
    python tools/infer.py CONFIG CHECKPOINT images/ --out-dir out/images
    # a video (or a camera stream URL): per-frame scores and a temporal alarm
    python tools/infer.py CONFIG CHECKPOINT tower3.mp4 --out-dir out/tower3 \
        --frame-stride 5 --alarm-window 10 --alarm-on 6 --alarm-off 2 \
        --save-video
    # a folder of periodic camera captures, taken as one time sequence
    python tools/infer.py CONFIG CHECKPOINT captures/ --out-dir out/cap \
        --sequence

Outputs (see docs/inference.md): ``pred_masks/`` (0/255 PNG),
``prob_maps/`` (uint8 PNG, ``--npy`` adds float32 .npy), ``maps/<name>/``
(uncertainty, focus, alpha, separated layers when the model produces them),
``overlays/``, ``frames.csv`` and ``results.json`` (per-frame smoke score,
smoke area, presence and alarm state), and for sequences
``alarm_events.csv``, ``alarms/`` (the frame of each alarm) and, with
``--save-video``, ``overlay.avi``.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.config import DictAction

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.m4v', '.mpg', '.mpeg',
                    '.wmv', '.webm', '.ts')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Smoke inference on images, folders and videos')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'input',
        help='image file, folder of images (recursive), video file or '
        'stream URL')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--device', default=None, help='device (default: cuda if available)')
    parser.add_argument(
        '--threshold',
        type=float,
        default=None,
        help='smoke probability threshold (default: the model\'s)')
    parser.add_argument(
        '--min-area',
        type=float,
        default=0.0,
        help='a frame shows smoke when at least this fraction of its pixels '
        'is smoke (default 0: any pixel)')
    parser.add_argument(
        '--outputs',
        nargs='+',
        default=['mask', 'prob', 'maps', 'overlay'],
        choices=['mask', 'prob', 'maps', 'overlay'],
        help='per-frame files to write (default: all)')
    parser.add_argument(
        '--npy',
        action='store_true',
        help='also write float32 .npy probability and extra maps')
    parser.add_argument(
        '--opacity', type=float, default=0.5, help='overlay tint opacity')
    parser.add_argument(
        '--sequence',
        action='store_true',
        help='treat a folder as one time sequence (sorted by name) and run '
        'the alarm on it; videos always are')
    parser.add_argument(
        '--fps',
        type=float,
        default=None,
        help='frame rate for time stamps of a --sequence folder, or to '
        'override a video\'s')
    parser.add_argument(
        '--frame-stride',
        type=int,
        default=1,
        help='process every n-th video frame (the alarm counts processed '
        'frames)')
    parser.add_argument(
        '--max-frames',
        type=int,
        default=None,
        help='stop after this many processed frames')
    parser.add_argument(
        '--alarm-window',
        type=int,
        default=10,
        help='M: frames in the alarm\'s sliding window')
    parser.add_argument(
        '--alarm-on',
        type=int,
        default=6,
        help='N: the alarm switches on when smoke is present in at least N '
        'of the last M frames')
    parser.add_argument(
        '--alarm-off',
        type=int,
        default=2,
        help='K: an active alarm switches off when smoke is present in at '
        'most K of the last M frames')
    parser.add_argument(
        '--save-video',
        action='store_true',
        help='write the overlays of a sequence as overlay.avi (MJPG)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if args.frame_stride < 1:
        parser.error('--frame-stride must be >= 1')
    if args.max_frames is not None and args.max_frames < 1:
        parser.error('--max-frames must be >= 1')
    if not 0.0 <= args.min_area <= 1.0:
        parser.error('--min-area must lie in [0, 1]')
    if args.threshold is not None and not 0.0 <= args.threshold < 1.0:
        parser.error('--threshold must lie in [0, 1)')
    if args.fps is not None and args.fps <= 0:
        parser.error('--fps must be positive')
    return args


def input_kind(path: str) -> str:
    """'video', 'folder' or 'image' for an input argument."""
    if '://' in path:
        return 'video'
    if osp.isdir(path):
        return 'folder'
    if not osp.exists(path):
        raise FileNotFoundError(f'{path}: input not found')
    ext = osp.splitext(path)[1].lower()
    if ext in VIDEO_EXTENSIONS:
        return 'video'
    if ext in IMAGE_EXTENSIONS:
        return 'image'
    raise ValueError(f'{path}: unknown input type {ext!r}; expected an image '
                     f'({", ".join(IMAGE_EXTENSIONS)}), a video '
                     f'({", ".join(VIDEO_EXTENSIONS)}) or a folder')


def list_images(folder: str) -> List[Tuple[str, str]]:
    """(name, path) of every image below a folder, sorted by path.

    The name is the path relative to the folder without suffix; two images
    that differ only by suffix would share outputs and are refused.
    """
    items = []
    for root, _, files in os.walk(folder):
        for file in files:
            if osp.splitext(file)[1].lower() in IMAGE_EXTENSIONS:
                path = osp.join(root, file)
                rel = osp.relpath(path, folder)
                items.append((osp.splitext(rel)[0].replace(os.sep, '/'), path))
    items.sort(key=lambda item: item[1])
    if not items:
        raise FileNotFoundError(f'{folder}: no images '
                                f'({", ".join(IMAGE_EXTENSIONS)}) found')
    seen = {}
    for name, path in items:
        if name in seen:
            raise ValueError(f'{seen[name]} and {path} would write the same '
                             f'outputs ({name}); rename one of them')
        seen[name] = path
    return items


def read_image(path: str) -> np.ndarray:
    """Decode an image to BGR uint8 with the training conversions."""
    from mmsmoke.datasets.transforms.loading import to_bgr_uint8
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ValueError(f'{path}: image file is empty (0 bytes)')
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'{path}: cannot decode image (corrupt or not an '
                         'image file)')
    return to_bgr_uint8(img, path)


def video_frames(path: str, stride: int,
                 fps_override: Optional[float]) -> Tuple[Iterator, int, float]:
    """Frames of a video: an iterator of (index, time_s, frame), the
    expected number of processed frames (0 when unknown) and the fps."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f'{path}: cannot open video (unsupported codec or '
                         'not a video)')
    fps = fps_override or cap.get(cv2.CAP_PROP_FPS) or 0.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    expected = (total + stride - 1) // stride if total > 0 else 0

    def _frames():
        index = 0
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if index % stride == 0:
                    time_s = index / fps if fps > 0 else None
                    yield index, time_s, frame
                index += 1
        finally:
            cap.release()

    return _frames(), expected, float(fps)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import mmsmoke  # noqa: F401  (registration and safe checkpoint loading)
    from mmengine.utils import ProgressBar

    from mmsmoke.apis import (SmokeAlarm, SmokeResultWriter, inference_model,
                              init_model, model_threshold,
                              summarize_prediction)

    kind = input_kind(args.input)
    sequence = kind == 'video' or (kind == 'folder' and args.sequence)
    alarm = SmokeAlarm(args.alarm_window, args.alarm_on,
                       args.alarm_off) if sequence else None

    # List the inputs first: a bad input fails before the model is built.
    fps = args.fps
    if kind == 'video':
        frames, expected, fps = video_frames(args.input, args.frame_stride,
                                             args.fps)

        def _named():
            for index, time_s, frame in frames:
                yield f'frame_{index:06d}', index, time_s, frame, args.input

    else:
        listing = ([(osp.splitext(osp.basename(args.input))[0], args.input)]
                   if kind == 'image' else list_images(args.input))
        expected = len(listing)

        def _named():
            for index, (name, path) in enumerate(listing):
                time_s = index / fps if (sequence and fps) else None
                yield name, index, time_s, read_image(path), path

    if args.max_frames is not None:
        expected = min(expected, args.max_frames) if expected else 0

    model = init_model(
        args.config,
        args.checkpoint,
        args.device,
        cfg_options=args.cfg_options)
    threshold = (
        model_threshold(model) if args.threshold is None else args.threshold)
    writer = SmokeResultWriter(
        args.out_dir, args.outputs, args.npy, overlay_alpha=args.opacity)

    video_writer = None
    records = []
    progress = ProgressBar(expected)
    for name, index, time_s, image, source in _named():
        if args.max_frames is not None and len(records) >= args.max_frames:
            break
        sample = inference_model(model, image)
        summary = summarize_prediction(sample, threshold, args.min_area)
        event = None
        if alarm is not None:
            event = alarm.update(summary.smoke_present, index, time_s)
        files = writer.write_frame(name, image, summary,
                                   alarm.active if alarm else None)
        overlay = None
        if (event is not None and event['event'] == 'on') or (args.save_video
                                                              and sequence):
            overlay = writer.render_overlay(image, summary,
                                            alarm.active if alarm else None)
        if event is not None:
            event['name'] = name
            if event['event'] == 'on':
                event['snapshot'] = writer.write_snapshot(name, overlay)
        if args.save_video and sequence:
            if video_writer is None:
                out_fps = (fps / args.frame_stride) if fps else 1.0
                video_writer = cv2.VideoWriter(
                    osp.join(args.out_dir, 'overlay.avi'),
                    cv2.VideoWriter_fourcc(*'MJPG'), out_fps,
                    (image.shape[1], image.shape[0]))
                if not video_writer.isOpened():
                    raise OSError(f'{args.out_dir}/overlay.avi: cannot open '
                                  'an MJPG video writer')
            video_writer.write(overlay)
        record = dict(
            index=len(records),
            name=name,
            source=source,
            frame=index,
            time_s=time_s,
            smoke_score=round(summary.smoke_score, 6),
            smoke_area=round(summary.smoke_area, 6),
            smoke_present=int(summary.smoke_present))
        if alarm is not None:
            record['alarm'] = int(alarm.active)
        record.update({k: round(v, 6) for k, v in summary.map_means().items()})
        record['files'] = files
        records.append(record)
        progress.update()
    if video_writer is not None:
        video_writer.release()
    if not records:
        raise ValueError(f'{args.input}: no frames could be read')
    sys.stdout.write('\n')

    settings = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        input=args.input,
        input_kind=kind,
        threshold=threshold,
        min_area=args.min_area,
        frame_stride=args.frame_stride if kind == 'video' else 1,
        fps=fps or None,
        alarm=alarm.rule() if alarm else None,
        outputs=list(args.outputs),
        mask_values='pred_masks: 0 background, 255 smoke',
        prob_png='prob_maps: round(255 * probability)')
    events = alarm.events if alarm else None
    episodes = alarm.episodes() if alarm else None
    writer.write_tables(records, settings, events, episodes)

    present = sum(r['smoke_present'] for r in records)
    print(f'{len(records)} frame(s), smoke present in {present}; results in '
          f'{args.out_dir}')
    for episode in episodes or []:
        start = episode['start_time_s']
        end = episode['end_time_s']
        when = '' if start is None else f' ({start:.1f} s'
        if when:
            when += ' to end)' if end is None else f' to {end:.1f} s)'
        stop = ('still active at the end' if episode['end_frame'] is None else
                f'cleared at frame {episode["end_frame"]}')
        print(f'ALARM from frame {episode["start_frame"]}, {stop}{when}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
