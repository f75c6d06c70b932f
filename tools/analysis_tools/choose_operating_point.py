"""Choose the frame-alarm operating point on training frames.

    python tools/analysis_tools/choose_operating_point.py \\
        work_dirs/op_train/frame_scores.json --target-fpr 0.02 \\
        --out work_dirs/op_train/operating_point.json

The input is the ``frame_scores.json`` that ``FrameAlarmMetric`` writes to
its ``output_dir``, from a run on a TRAINING split (or a held-out part of
it), e.g. the smoke-free protocol crops of SMOKE5K train made by
``tools/dataset_converters/smoke5k_frames.py``. The tool picks the lowest
score threshold whose false-alarm rate on the smoke-free frames is at most
``--target-fpr`` (:func:`mmsmoke.evaluation.functional.
choose_operating_point`; alarm when ``score > threshold``) and writes it
with the score settings it belongs to. ``FrameAlarmMetric(operating_point=
<file>)`` then applies it unchanged to the test set. Nothing is tuned on
test: a scores file with frames under a ``test`` folder is refused unless
``--allow-test-split`` is given.
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import PurePath


from mmsmoke.evaluation.functional.frame_alarms import (
    OPERATING_POINT_SETTINGS, choose_operating_point)


def frames_on_test_split(frames: list) -> list:
    """Image paths of ``frames`` that lie in a ``test`` split folder (one
    of the two folders above the file, as in ``test/img/x.jpg``)."""
    return [
        f['img_path'] for f in frames
        if 'test' in [p.lower() for p in PurePath(f['img_path']).parts[-3:-1]]
    ]


def read_scores(path: str) -> dict:
    """The content of a ``frame_scores.json``, checked."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: scores file not found')
    with open(path) as f:
        data = json.load(f)
    missing = [
        k for k in OPERATING_POINT_SETTINGS + ('frames', ) if k not in data
    ]
    if missing:
        raise ValueError(f'{path}: keys {missing} missing; expected the '
                         'frame_scores.json of FrameAlarmMetric(output_dir)')
    for i, frame in enumerate(data['frames']):
        if 'score' not in frame or 'label' not in frame:
            raise ValueError(f'{path}: frame {i} has no score or label')
    return data


def operating_point(path: str,
                    target_fpr: float,
                    allow_test_split: bool = False) -> dict:
    """The operating-point record of the scores file ``path``."""
    data = read_scores(path)
    frames = data['frames']
    on_test = frames_on_test_split(frames)
    if on_test and not allow_test_split:
        raise ValueError(
            f'{path}: {len(on_test)} frame(s) come from a test split, e.g. '
            f'{on_test[0]}; choose the operating point on training frames '
            '(or pass --allow-test-split for an analysis that is not a '
            'result)')
    try:
        point = choose_operating_point([f['score'] for f in frames],
                                       [f['label'] for f in frames],
                                       target_fpr)
    except ValueError as err:
        raise ValueError(f'{path}: {err}') from None
    record = {key: data[key] for key in OPERATING_POINT_SETTINGS}
    record.update(point)
    record.update(
        rule='alarm when score > threshold',
        scores_file=osp.abspath(path),
        chosen_on_test_split=bool(on_test))
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'scores', help='frame_scores.json of FrameAlarmMetric on train')
    parser.add_argument(
        '--target-fpr',
        type=float,
        default=0.02,
        help='largest false-alarm rate allowed on the smoke-free frames')
    parser.add_argument(
        '--out',
        help='output JSON (default: operating_point.json next to scores)')
    parser.add_argument(
        '--allow-test-split',
        action='store_true',
        help='accept frames from a test split (for analysis only)')
    args = parser.parse_args()
    out = args.out or osp.join(
        osp.dirname(osp.abspath(args.scores)), 'operating_point.json')
    try:
        record = operating_point(args.scores, args.target_fpr,
                                 args.allow_test_split)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    with open(out, 'w') as f:
        json.dump(record, f, indent=2)
    print(f'threshold {record["threshold"]:.6g} ({record["score"]}): '
          f'false-alarm rate {record["fpr"]:.4f} on '
          f'{record["num_negative"]} smoke-free frames (target '
          f'{record["target_fpr"]:g}), detection rate {record["tpr"]:.4f} '
          f'on {record["num_positive"]} smoke frames; written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
