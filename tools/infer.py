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
    # frames decided at the operating point chosen on training frames
    # (tools/analysis_tools/choose_operating_point.py)
    python tools/infer.py CONFIG CHECKPOINT captures/ --out-dir out/cap \
        --operating-point work_dirs/op_train/operating_point.json

Outputs (see docs/inference.md): ``pred_masks/`` (0/255 PNG),
``prob_maps/`` (uint8 PNG, ``--npy`` adds float32 .npy), ``maps/<name>/``
(uncertainty, focus, alpha, separated layers when the model produces them),
``overlays/``, ``frames.csv`` and ``results.json`` (per-frame status,
smoke score, smoke area, presence and alarm state), ``errors.csv`` (the
frames that failed, with the reason), and for sequences
``alarm_events.csv``, ``alarms/`` (the frame of each alarm) and, with
``--save-video``, ``overlay.avi``.

A frame that cannot be read, decoded or run (a corrupt, truncated,
zero-byte or non-image file in a folder, a video frame the decoder fails
on, an image the model raises on) is listed with its reason and the run
goes on with the next one. Exit status: 0 when every frame was processed,
:data:`EXIT_FRAMES_FAILED` (3) when some failed (the others' results are
written), 1 for an error that stops the run (a bad input or config, or the
first bad frame with ``--stop-on-error``), 2 for invalid arguments.
"""
import argparse
import functools
import logging
import os
import os.path as osp
import sys
from typing import Callable, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.config import DictAction


IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.m4v', '.mpg', '.mpeg',
                    '.wmv', '.webm', '.ts')

#: Exit status of a run in which some frames failed (the others were
#: processed and their results written).
EXIT_FRAMES_FAILED = 3

#: Default of ``--max-bad-reads``: consecutive failed video reads after
#: which the video counts as ended.
MAX_BAD_READS = 25

#: Failed frames printed after the summary line (all are in errors.csv).
MAX_PRINTED_FAILURES = 10


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
        '--operating-point',
        default=None,
        help='operating_point.json of tools/analysis_tools/'
        'choose_operating_point.py: a frame shows smoke when its frame score '
        '(the file\'s, e.g. the maximum probability) is greater than the '
        'file\'s threshold, the decision FrameAlarmMetric evaluated; the '
        'masks keep --threshold (exclusive with --min-area)')
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
        '--stop-on-error',
        action='store_true',
        help='raise at the first frame that cannot be read or run, instead '
        'of listing it in errors.csv and going on')
    parser.add_argument(
        '--max-bad-reads',
        type=int,
        default=MAX_BAD_READS,
        help='video: consecutive failed frame reads after which the video '
        'counts as ended; failed reads followed by a good frame are bad '
        f'frames (default {MAX_BAD_READS})')
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
    if args.operating_point is not None and args.min_area:
        parser.error('--operating-point and --min-area exclude each other: '
                     'the operating point has its own frame score')
    if args.fps is not None and args.fps <= 0:
        parser.error('--fps must be positive')
    if args.max_bad_reads < 0:
        parser.error('--max-bad-reads must be >= 0')
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


def video_frames(
        path: str,
        stride: int,
        fps_override: Optional[float],
        max_bad_reads: int = MAX_BAD_READS) -> Tuple[Iterator, int, float]:
    """Frames of a video, bad ones included.

    ``cv2.VideoCapture.read`` reports a frame it cannot decode the same way
    as the end of the video: it returns no frame. A failed read that is
    followed by a good frame is therefore a bad frame, and is yielded with
    its reason; the reader does not stop there. Once more than
    ``max_bad_reads`` reads in a row fail, the video counts as ended and
    those last failures are dropped (a frame count in the header that is
    not reached is logged as a warning; such counts are often estimates).
    Frames skipped by ``stride`` are neither yielded nor reported.

    Args:
        path (str): Video file or stream URL.
        stride (int): Yield every ``stride``-th frame.
        fps_override (float, optional): Frame rate for the time stamps
            instead of the video's.
        max_bad_reads (int): Consecutive failed reads taken as the end.

    Returns:
        tuple: An iterator of ``(index, time_s, frame, error)`` (``frame``
        None and ``error`` the reason for a bad frame, ``error`` None
        otherwise), the expected number of yielded frames (0 when unknown)
        and the fps.
    """
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f'{path}: cannot open video (unsupported codec or '
                         'not a video)')
    fps = fps_override or cap.get(cv2.CAP_PROP_FPS) or 0.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    expected = (total + stride - 1) // stride if total > 0 else 0

    def _time(index):
        return index / fps if fps > 0 else None

    def _frames():
        index = 0  # index of the frame the next read returns
        pending = []  # failed reads not (yet) followed by a good frame
        try:
            while True:
                ok, frame = cap.read()
                if not ok or frame is None or frame.size == 0:
                    pending.append(index)
                    index += 1
                    if len(pending) > max_bad_reads:
                        break
                    continue
                for bad in pending:
                    if bad % stride == 0:
                        yield bad, _time(bad), None, (
                            f'{path}: frame {bad}: cannot decode the frame '
                            '(the video reader returned none; later frames '
                            'decode)')
                pending = []
                if index % stride == 0:
                    yield index, _time(index), frame, None
                index += 1
        finally:
            cap.release()
        if total > 0 and pending and pending[0] < total:
            from mmengine.logging import print_log
            print_log(
                f'{path}: the video ended after frame {pending[0] - 1}, but '
                f'its header announces {total} frames (a truncated file, or '
                'an estimated frame count)',
                logger='current',
                level=logging.WARNING)

    return _frames(), expected, float(fps)


def _raise(error: str) -> None:
    raise ValueError(error)


def frame_error(where: str, stage: str, exc: Exception) -> str:
    """One-line reason for a failed frame, starting with ``where``.

    Errors of the image and video readers already name the file and the
    problem (``<path>: cannot decode image ...``) and are kept as they
    are; any other error is put after ``where`` and ``stage``, with its
    type (``<path>: inference failed (RuntimeError: ...)``).

    Args:
        where (str): The image file, or ``<video>: frame <index>``.
        stage (str): What failed, e.g. ``'cannot read'``.
        exc (Exception): The error raised.

    Returns:
        str: The reason, on one line.
    """
    message = ' '.join(str(exc).split())
    if message.startswith(where):
        return message
    return f'{where}: {stage} ({type(exc).__name__}: {message})'


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import mmsmoke  # noqa: F401  (registration and safe checkpoint loading)
    from mmengine.utils import ProgressBar

    from mmsmoke.apis import (SmokeAlarm, SmokeResultWriter, frame_failed,
                              inference_model, init_model, model_threshold,
                              summarize_prediction)
    from mmsmoke.evaluation.functional import read_operating_point

    # a bad operating-point file fails before anything is read
    point = (None if args.operating_point is None else
             read_operating_point(args.operating_point))

    kind = input_kind(args.input)
    sequence = kind == 'video' or (kind == 'folder' and args.sequence)
    alarm = SmokeAlarm(args.alarm_window, args.alarm_on,
                       args.alarm_off) if sequence else None

    # List the inputs first: a bad input fails before the model is built.
    fps = args.fps
    # Each item: (name, frame index, time_s, source, where, load); load()
    # returns the BGR frame or raises, naming the file or video frame.
    if kind == 'video':
        frames, expected, fps = video_frames(args.input, args.frame_stride,
                                             args.fps, args.max_bad_reads)

        def _named() -> Iterator[Tuple[str, int, Optional[float], str, str,
                                       Callable[[], np.ndarray]]]:
            for index, time_s, frame, error in frames:
                load = ((lambda f=frame: f)
                        if error is None else functools.partial(_raise, error))
                yield (f'frame_{index:06d}', index, time_s, args.input,
                       f'{args.input}: frame {index}', load)

    else:
        listing = ([(osp.splitext(osp.basename(args.input))[0], args.input)]
                   if kind == 'image' else list_images(args.input))
        expected = len(listing)

        def _named() -> Iterator[Tuple[str, int, Optional[float], str, str,
                                       Callable[[], np.ndarray]]]:
            for index, (name, path) in enumerate(listing):
                time_s = index / fps if (sequence and fps) else None
                yield (name, index, time_s, path, path,
                       functools.partial(read_image, path))

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
    for name, index, time_s, source, where, load in _named():
        # Failed frames count: --max-frames bounds the part of the input
        # covered, whatever its state.
        if args.max_frames is not None and len(records) >= args.max_frames:
            break
        record = dict(
            index=len(records),
            name=name,
            source=source,
            frame=index,
            time_s=time_s)
        # A bad frame is listed and skipped; it never stops the others
        # (unless --stop-on-error). The alarm sees processed frames only.
        try:
            image = load()
        except Exception as exc:
            if args.stop_on_error:
                raise
            record.update(
                status='read_error',
                error=frame_error(where, 'cannot read', exc))
            records.append(record)
            progress.update()
            continue
        try:
            sample = inference_model(model, image)
            summary = summarize_prediction(
                sample, threshold, args.min_area, operating_point=point)
        except Exception as exc:
            if args.stop_on_error:
                raise
            record.update(
                status='inference_error',
                error=frame_error(where, 'inference failed', exc))
            records.append(record)
            progress.update()
            continue
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
        record.update(
            status='ok',
            smoke_score=round(summary.smoke_score, 6),
            smoke_area=round(summary.smoke_area, 6),
            smoke_present=int(summary.smoke_present))
        if alarm is not None:
            record['alarm'] = int(alarm.active)
        record.update({k: round(v, 6) for k, v in summary.map_means().items()})
        record['error'] = None
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
        operating_point=None if point is None else dict(
            file=osp.abspath(args.operating_point),
            score=point['score'],
            topk=point.get('topk'),
            threshold=point['threshold'],
            rule='smoke present when the frame score > threshold'),
        frame_stride=args.frame_stride if kind == 'video' else 1,
        fps=fps or None,
        alarm=alarm.rule() if alarm else None,
        outputs=list(args.outputs),
        stop_on_error=args.stop_on_error,
        max_bad_reads=args.max_bad_reads if kind == 'video' else None,
        mask_values='pred_masks: 0 background, 255 smoke',
        prob_png='prob_maps: round(255 * probability)')
    events = alarm.events if alarm else None
    episodes = alarm.episodes() if alarm else None
    writer.write_tables(records, settings, events, episodes)

    failed = [r for r in records if frame_failed(r)]
    present = sum(r['smoke_present'] for r in records if not frame_failed(r))
    print(f'{len(records)} frame(s): {len(records) - len(failed)} processed, '
          f'{len(failed)} failed; smoke present in {present}; results in '
          f'{args.out_dir}')
    for record in failed[:MAX_PRINTED_FAILURES]:
        print(f'FAILED {record["error"]}')
    if len(failed) > MAX_PRINTED_FAILURES:
        print(
            f'... and {len(failed) - MAX_PRINTED_FAILURES} more failed '
            f'frame(s), all listed in {osp.join(args.out_dir, "errors.csv")}')
    for episode in episodes or []:
        start = episode['start_time_s']
        end = episode['end_time_s']
        when = '' if start is None else f' ({start:.1f} s'
        if when:
            when += ' to end)' if end is None else f' to {end:.1f} s)'
        stop = ('still active at the end' if episode['end_frame'] is None else
                f'cleared at frame {episode["end_frame"]}')
        print(f'ALARM from frame {episode["start_frame"]}, {stop}{when}')
    return EXIT_FRAMES_FAILED if failed else 0


if __name__ == '__main__':
    sys.exit(main())
