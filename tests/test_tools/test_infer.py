"""tools/infer.py end to end: a folder (CLI), a video and a BVM model, and
bad frames in folders and videos.

Random-initialised light models saved as checkpoints; the files written
are checked against each other (masks, probability maps, tables).
"""
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SEGFORMER = REPO / ('configs/segformer/'
                    'segformer_mit-b0_1xb4-800_synthetic-256x256.py')
TRANSBVM = REPO / ('configs/transbvm/'
                   'transbvm_mit-b0_1xb4-2k_synthetic-256x256.py')
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture
def infer_tool(load_tool):
    return load_tool('tools/infer.py', 'infer_tool')


def _save_checkpoint(config, path, cfg_options=None):
    from mmsmoke.apis import init_model
    model = init_model(str(config), None, 'cpu', cfg_options=cfg_options)
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory, tiny_segformer):
    return _save_checkpoint(SEGFORMER,
                            tmp_path_factory.mktemp('ckpt') / 'tiny.pth',
                            tiny_segformer)


def _read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_folder_from_the_command_line(tmp_path, tiny_synthetic,
                                      tiny_checkpoint, tiny_segformer_options,
                                      run_tool):
    folder = tmp_path / 'images'
    shutil.copytree(tiny_synthetic / 'test' / 'img', folder)
    (folder / 'cam2').mkdir()
    grey = cv2.imread(str(sorted(folder.glob('*.jpg'))[0]), 0)
    cv2.imwrite(str(folder / 'cam2' / 'grey.png'), grey[:40, :50])
    # sorted by path: the sub-folder comes first
    names = ['cam2/grey'] + sorted(p.stem for p in folder.glob('*.jpg'))
    out = tmp_path / 'out'
    proc = run_tool('tools/infer.py', SEGFORMER, tiny_checkpoint, folder,
                    '--out-dir', out, '--npy', '--min-area', '0.01',
                    '--device', 'cpu', '--cfg-options',
                    *tiny_segformer_options)  # exit status 0 checked

    rows = _read_csv(out / 'frames.csv')
    assert [r['name'] for r in rows] == names
    assert f'{len(names)} frame(s): {len(names)} processed, 0 failed' in (
        proc.stdout)
    assert [(r['status'], r['error'])
            for r in rows] == [('ok', '')] * len(names)
    assert list(rows[0])[-1] == 'error'
    assert not (out / 'errors.csv').exists()
    assert 'alarm' not in rows[0]  # a folder is not a sequence by default
    assert not (out / 'alarm_events.csv').exists()
    for row in rows:
        name = row['name']
        image = cv2.imread(row['source'])
        mask = cv2.imread(
            str(out / 'pred_masks' / f'{name}.png'), cv2.IMREAD_UNCHANGED)
        assert mask.shape == image.shape[:2]
        assert set(np.unique(mask)) <= {0, 255}
        prob = np.load(out / 'prob_maps' / f'{name}.npy')
        png = cv2.imread(str(out / 'prob_maps' / f'{name}.png'), 0)
        np.testing.assert_array_equal(
            png,
            np.rint(prob.astype(np.float64) * 255).astype(np.uint8))
        np.testing.assert_array_equal(mask == 255, prob > 0.5)
        area = float(row['smoke_area'])
        assert area == pytest.approx((mask == 255).mean(), abs=1e-6)
        assert int(row['smoke_present']) == int(area >= 0.01)
        assert float(row['smoke_score']) <= prob.max() + 1e-6
        assert (out / 'overlays' / f'{name}.jpg').is_file()
    results = json.loads((out / 'results.json').read_text())
    assert results['counts'] == dict(
        frames=len(names), processed=len(names), failed=0)
    assert results['settings']['threshold'] == 0.5
    assert results['settings']['alarm'] is None
    assert results['frames'][0]['files']['mask'] == 'pred_masks/cam2/grey.png'


def _write_video(path, images, size=(80, 64), fps=10.0):
    for fourcc in ('MJPG', 'mp4v'):
        writer = cv2.VideoWriter(
            str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if writer.isOpened():
            break
    assert writer.isOpened(), 'no video codec available'
    for image in images:
        writer.write(cv2.resize(image, size))
    writer.release()


def test_video_with_alarm(tmp_path, tiny_synthetic, tiny_checkpoint,
                          tiny_segformer_options, infer_tool):
    frames = [
        cv2.imread(str(p))
        for p in sorted((tiny_synthetic / 'test' / 'img').glob('*'))
    ]
    video = tmp_path / 'clip.avi'
    _write_video(video, frames + frames[:1], fps=10.0)  # 9 frames
    out = tmp_path / 'out'
    # threshold 0: every frame has smoke somewhere (sigmoid > 0), so the
    # alarm rule alone decides: on at the 2nd processed frame.
    assert infer_tool.main([
        str(SEGFORMER), tiny_checkpoint,
        str(video), '--out-dir',
        str(out), '--frame-stride', '2', '--max-frames', '4', '--threshold',
        '0.0', '--alarm-window', '3', '--alarm-on', '2', '--alarm-off', '0',
        '--outputs', 'mask', 'overlay', '--save-video', '--device', 'cpu',
        '--cfg-options', *tiny_segformer_options
    ]) == 0
    rows = _read_csv(out / 'frames.csv')
    assert [int(r['frame']) for r in rows] == [0, 2, 4, 6]
    assert [float(r['time_s'])
            for r in rows] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert [r['smoke_present'] for r in rows] == ['1'] * 4
    assert [r['alarm'] for r in rows] == ['0', '1', '1', '1']
    assert [r['name'] for r in rows][1] == 'frame_000002'
    assert sorted(p.name for p in (out / 'pred_masks').iterdir()) == [
        f'frame_{i:06d}.png' for i in (0, 2, 4, 6)
    ]
    assert not (out / 'prob_maps').exists()
    events = _read_csv(out / 'alarm_events.csv')
    assert [(e['event'], e['frame'], e['count'])
            for e in events] == [('on', '2', '2')]
    assert (out / events[0]['snapshot']).is_file()
    results = json.loads((out / 'results.json').read_text())
    assert results['settings']['alarm'] == dict(
        window=3, on_count=2, off_count=0)
    assert results['episodes'] == [
        dict(
            start_frame=2,
            start_time_s=pytest.approx(0.2),
            end_frame=None,
            end_time_s=None)
    ]
    cap = cv2.VideoCapture(str(out / 'overlay.avi'))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    assert count == 4


def test_frames_decided_at_an_operating_point(tmp_path, tiny_synthetic,
                                              tiny_checkpoint,
                                              tiny_segformer_options,
                                              infer_tool):
    folder = tiny_synthetic / 'test' / 'img'
    common = [
        str(SEGFORMER), tiny_checkpoint,
        str(folder), '--outputs', 'prob', '--npy', '--device', 'cpu',
        '--cfg-options', *tiny_segformer_options
    ]
    plain = tmp_path / 'plain'
    assert infer_tool.main(common + ['--out-dir', str(plain)]) == 0
    scores = sorted(
        float(r['smoke_score']) for r in _read_csv(plain / 'frames.csv'))
    # a frame threshold between the frames' maximum probabilities
    point = dict(
        threshold=(scores[1] + scores[2]) / 2, score='max', topk=None,
        min_smoke_pixels=1)
    path = tmp_path / 'operating_point.json'
    path.write_text(json.dumps(point))
    out = tmp_path / 'op'
    assert infer_tool.main(
        common + ['--out-dir', str(out), '--operating-point',
                  str(path)]) == 0
    rows = _read_csv(out / 'frames.csv')
    for row in rows:
        prob = np.load(out / 'prob_maps' / f'{row["name"]}.npy')
        assert float(row['smoke_score']) == pytest.approx(prob.max(),
                                                          abs=1e-6)
        assert int(row['smoke_present']) == int(prob.max() >
                                                point['threshold'])
    assert sum(int(r['smoke_present']) for r in rows) == len(rows) - 2
    settings = json.loads((out / 'results.json').read_text())['settings']
    assert settings['operating_point']['threshold'] == point['threshold']
    assert settings['operating_point']['score'] == 'max'
    # a bad file fails before the model is built; --min-area conflicts
    path.write_text('{"score": "max"}')
    with pytest.raises(ValueError, match='operating_point.json: no '):
        infer_tool.main(common + ['--out-dir', str(out),
                                  '--operating-point', str(path)])
    with pytest.raises(SystemExit):
        infer_tool.main(common + ['--out-dir', str(out), '--min-area', '0.1',
                                  '--operating-point', str(path)])


def test_uncertainty_maps_of_transbvm(tmp_path, infer_tool):
    ckpt = _save_checkpoint(TRANSBVM, tmp_path / 'bvm.pth')
    image = tmp_path / 'smoke.png'
    cv2.imwrite(
        str(image),
        np.random.default_rng(0).integers(0, 256, (48, 60, 3), np.uint8))
    out = tmp_path / 'out'
    assert infer_tool.main([
        str(TRANSBVM), ckpt,
        str(image), '--out-dir',
        str(out), '--outputs', 'maps', '--device', 'cpu'
    ]) == 0
    for kind in ('total', 'aleatoric', 'epistemic'):
        path = out / 'maps' / f'uncertainty_{kind}' / 'smoke.png'
        assert cv2.imread(str(path), 0).shape == (48, 60)
    row = _read_csv(out / 'frames.csv')[0]
    total = float(row['uncertainty_total_mean'])
    parts = (
        float(row['uncertainty_aleatoric_mean']) +
        float(row['uncertainty_epistemic_mean']))
    assert 0.0 <= total <= 1.0 and parts == pytest.approx(total, abs=1e-5)


def test_bad_inputs_fail_early(tmp_path, infer_tool):
    (tmp_path / 'notes.txt').write_text('x')
    base = [str(SEGFORMER), 'missing.pth']
    with pytest.raises(ValueError, match=r'notes\.txt: unknown input type'):
        infer_tool.main(base + [str(tmp_path / 'notes.txt'), '--out-dir', 'o'])
    with pytest.raises(FileNotFoundError, match='nothing.jpg: input not'):
        infer_tool.main(base +
                        [str(tmp_path / 'nothing.jpg'), '--out-dir', 'o'])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='empty: no images'):
        infer_tool.main(base + [str(tmp_path / 'empty'), '--out-dir', 'o'])
    (tmp_path / 'dup').mkdir()
    for suffix in ('.jpg', '.png'):
        cv2.imwrite(
            str(tmp_path / 'dup' / f'a{suffix}'), np.zeros((4, 4, 3),
                                                           np.uint8))
    with pytest.raises(ValueError, match='would write the same outputs'):
        infer_tool.main(base + [str(tmp_path / 'dup'), '--out-dir', 'o'])
    with pytest.raises(ValueError, match='SmokeAlarm: off_count'):
        infer_tool.main(base + [
            str(tmp_path / 'dup'), '--out-dir', 'o', '--sequence',
            '--alarm-on', '2', '--alarm-off', '2'
        ])
    bad_video = tmp_path / 'broken.mp4'
    bad_video.write_bytes(b'not a video')
    with pytest.raises(ValueError, match='broken.mp4: cannot open video'):
        infer_tool.main(base + [str(bad_video), '--out-dir', 'o'])


# ------------------------------------------------------------- bad frames
#: The folder of :func:`bad_folder`, sorted by path: (name, status).
BAD_FOLDER = [
    ('a', 'ok'),
    ('b_truncated', 'read_error'),  # JPEG cut at 60 % of its bytes
    ('c', 'ok'),
    ('d_empty', 'read_error'),  # 0 bytes
    ('e', 'ok'),
    ('f_text', 'read_error'),  # text under an image name
    ('g_strip', 'inference_error'),  # 1x1000 px: resized to 0 rows
]


@pytest.fixture
def bad_folder(tmp_path, tiny_synthetic):
    """Good images with corrupt, empty, non-image and unrunnable ones."""
    folder = tmp_path / 'captures'
    folder.mkdir()
    good = sorted((tiny_synthetic / 'test' / 'img').glob('*.jpg'))
    for name, src in zip('ace', good):
        shutil.copy(src, folder / f'{name}.jpg')
    data = good[3].read_bytes()
    (folder / 'b_truncated.jpg').write_bytes(data[:int(len(data) * 0.6)])
    (folder / 'd_empty.png').write_bytes(b'')
    (folder / 'f_text.jpg').write_text('camera 3, 2024-06-01 12:00\n')
    cv2.imwrite(str(folder / 'g_strip.png'), np.zeros((1, 1000, 3), np.uint8))
    return folder


def test_bad_frames_of_a_folder_are_listed_and_the_rest_processed(
        tmp_path, bad_folder, tiny_checkpoint, tiny_segformer_options):
    out = tmp_path / 'out'
    proc = subprocess.run([
        sys.executable,
        str(REPO / 'tools/infer.py'),
        str(SEGFORMER), tiny_checkpoint,
        str(bad_folder), '--out-dir',
        str(out), '--outputs', 'mask', '--sequence', '--alarm-window', '2',
        '--alarm-on', '1', '--alarm-off', '0', '--threshold', '0.0',
        '--device', 'cpu', '--cfg-options', *tiny_segformer_options
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '7 frame(s): 3 processed, 4 failed' in proc.stdout

    rows = _read_csv(out / 'frames.csv')
    assert [(r['name'], r['status']) for r in rows] == BAD_FOLDER
    assert list(rows[0])[-1] == 'error'
    for row in rows:
        mask = out / 'pred_masks' / f'{row["name"]}.png'
        if row['status'] == 'ok':
            assert mask.is_file() and row['error'] == ''
            assert row['smoke_present'] == '1' and row['alarm'] == '1'
        else:  # no result, and no file
            assert not mask.exists()
            assert row['smoke_score'] == row['alarm'] == ''
            assert row['error'].startswith(row['source'])
    errors = {r['name']: r['error'] for r in rows if r['error']}
    assert errors['b_truncated'].endswith(
        'b_truncated.jpg: cannot decode image (corrupt or not an image '
        'file)')
    assert errors['d_empty'].endswith(
        'd_empty.png: image file is empty (0 bytes)')
    assert 'f_text.jpg: cannot decode image' in errors['f_text']
    assert 'g_strip.png: inference failed (' in errors['g_strip']
    for error in errors.values():
        assert f'FAILED {error}' in proc.stdout

    listed = _read_csv(out / 'errors.csv')
    assert list(listed[0]) == [
        'index', 'name', 'source', 'frame', 'time_s', 'status', 'error'
    ]
    assert {r['name']: r['error'] for r in listed} == errors
    results = json.loads((out / 'results.json').read_text())
    assert results['counts'] == dict(frames=7, processed=3, failed=4)
    assert [f['status']
            for f in results['frames']] == [s for _, s in BAD_FOLDER]
    # the alarm counts the processed frames only: on at the first one
    assert [(e['event'], e['name'])
            for e in results['events']] == [('on', 'a')]


def test_stop_on_error_raises_at_the_first_bad_frame(tmp_path, bad_folder,
                                                     tiny_checkpoint,
                                                     tiny_segformer_options,
                                                     infer_tool):
    args = [
        str(SEGFORMER), tiny_checkpoint,
        str(bad_folder), '--outputs', 'mask', '--device', 'cpu',
        '--cfg-options', *tiny_segformer_options, '--out-dir'
    ]
    out = tmp_path / 'out'
    with pytest.raises(
            ValueError,
            match=r'b_truncated\.jpg: cannot decode image \(corrupt'):
        infer_tool.main(args + [str(out), '--stop-on-error'])
    assert sorted(p.name for p in (out / 'pred_masks').iterdir()) == ['a.png']
    assert not (out / 'frames.csv').exists()
    # the error of the model is raised as it is
    for path in bad_folder.iterdir():
        if path.stem != 'g_strip':
            path.unlink()
    with pytest.raises(cv2.error, match='resize'):
        infer_tool.main(args + [str(tmp_path / 'out2'), '--stop-on-error'])


def _avi_frame_chunks(data):
    """(start, size) of each frame's data in an AVI (``00dc`` chunks)."""
    pos = data.index(b'movi') + 4
    chunks = []
    while pos + 8 <= len(data) and data[pos:pos + 4] != b'idx1':
        size = int.from_bytes(data[pos + 4:pos + 8], 'little')
        if data[pos:pos + 4] == b'00dc':
            chunks.append((pos + 8, size))
        pos += 8 + size + (size & 1)
    return chunks


def test_a_video_frame_that_fails_to_decode_is_listed(tmp_path, tiny_synthetic,
                                                      tiny_checkpoint,
                                                      tiny_segformer_options,
                                                      infer_tool, capsys):
    frames = [
        cv2.imread(str(p))
        for p in sorted((tiny_synthetic / 'test' / 'img').glob('*'))
    ]
    video = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (80, 64))
    if not writer.isOpened():
        pytest.skip('no MJPG video writer')
    for image in frames:  # 8 frames
        writer.write(cv2.resize(image, (80, 64)))
    writer.release()
    data = bytearray(video.read_bytes())
    chunks = _avi_frame_chunks(bytes(data))
    assert len(chunks) == 8
    start, size = chunks[3]
    data[start:start + size] = bytes(size)  # frame 3: no JPEG data left
    video.write_bytes(bytes(data))

    out = tmp_path / 'out'
    assert infer_tool.main([
        str(SEGFORMER), tiny_checkpoint,
        str(video), '--out-dir',
        str(out), '--outputs', 'mask', '--device', 'cpu', '--cfg-options',
        *tiny_segformer_options
    ]) == infer_tool.EXIT_FRAMES_FAILED == 3
    assert '8 frame(s): 7 processed, 1 failed' in capsys.readouterr().out
    rows = _read_csv(out / 'frames.csv')
    assert [int(r['frame']) for r in rows] == list(range(8))
    assert [r['status']
            for r in rows] == ['ok'] * 3 + ['read_error'] + ['ok'] * 4
    assert rows[3]['time_s'] == '0.3'
    assert rows[3]['error'].startswith(f'{video}: frame 3: cannot decode')
    assert [r['frame'] for r in _read_csv(out / 'errors.csv')] == ['3']
    assert sorted(p.name for p in (out / 'pred_masks').iterdir()) == [
        f'frame_{i:06d}.png' for i in (0, 1, 2, 4, 5, 6, 7)
    ]
    # with a stride that skips it, the bad frame is not reported
    assert infer_tool.main([
        str(SEGFORMER), tiny_checkpoint,
        str(video), '--out-dir',
        str(tmp_path / 'out2'), '--outputs', 'mask', '--frame-stride', '2',
        '--device', 'cpu', '--cfg-options', *tiny_segformer_options
    ]) == 0
    with pytest.raises(ValueError, match=r'clip\.avi: frame 3: cannot decode'):
        infer_tool.main([
            str(SEGFORMER), tiny_checkpoint,
            str(video), '--out-dir',
            str(tmp_path / 'out3'), '--outputs', 'mask', '--stop-on-error',
            '--device', 'cpu', '--cfg-options', *tiny_segformer_options
        ])
