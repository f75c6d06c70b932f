"""The camera benchmark suite (tools/analysis_tools/benchmarks/suites/
camera.py): ONNX export, int8 quantisation, timing and quality rows.

A tiny SegFormer (random weights, checkpoint saved like a trained one) is
exported at 64x64 and scored on three synthetic images of another size;
the figures are meaningless, only the pipeline and the rows are checked.
"""
import argparse
import os
from pathlib import Path

import numpy as np
import pytest
import torch

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

REPO = Path(__file__).resolve().parents[2]
# imported after the skips above, as it needs onnx
from benchmarks.suites import camera  # noqa: E402

CTX = dict(device='CPU test', command='python benchmark.py --test')
SEGFORMER = (
    REPO / 'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py')
SHAPE = [64, 64]

pytestmark = pytest.mark.usefixtures('one_thread')


def _write_pairs(folder: Path, num: int, size=(48, 80), seed=0) -> None:
    """``num`` noisy images with a bright smoke rectangle and its mask."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    (folder / 'img').mkdir(parents=True)
    (folder / 'gt').mkdir()
    for i in range(num):
        img = rng.integers(0, 120, (*size, 3), dtype=np.uint8)
        gt = np.zeros(size, np.uint8)
        top, left = 5 + 4 * i, 10 + 6 * i
        gt[top:top + 20, left:left + 30] = 255
        img[gt > 0] = 200
        Image.fromarray(img).save(folder / 'img' / f'{i:03d}.jpg')
        Image.fromarray(gt).save(folder / 'gt' / f'{i:03d}.png')


@pytest.fixture(scope='module')
def setup(tmp_path_factory, tiny_segformer):
    """A tiny config, a checkpoint, calibration and evaluation images."""
    from mmengine.config import Config
    from mmengine.runner import save_checkpoint
    from mmseg.apis import init_model
    root = tmp_path_factory.mktemp('camera')
    cfg = Config.fromfile(str(SEGFORMER))
    cfg.merge_from_dict(tiny_segformer)
    config = root / 'tiny_segformer.py'
    cfg.dump(str(config))
    torch.manual_seed(0)
    model = init_model(str(config), device='cpu')
    ckpt = root / 'iter_1.pth'
    save_checkpoint(model.state_dict(), str(ckpt))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    save_checkpoint(model.state_dict(), str(root / 'baseline.pth'))
    _write_pairs(root / 'calib', 3, size=(56, 72), seed=1)
    _write_pairs(root / 'eval', 3)
    return root, config, ckpt


def _args(root: Path, config, ckpt, **kw) -> argparse.Namespace:
    args = argparse.Namespace(
        suite=['camera'],
        camera_config=str(config),
        camera_checkpoint=str(ckpt),
        camera_baseline_config=None,
        camera_baseline_checkpoint=None,
        camera_shape=SHAPE,
        camera_threads=[1],
        camera_calib_dir=str(root / 'calib' / 'img'),
        camera_calib_images=2,
        camera_eval_root=str(root / 'eval'),
        camera_eval_images=None,
        camera_work_dir=str(root / 'work'),
        data_root=str(root),
        threshold=0.5,
        repeats=2,
        warmup=1)
    for key, value in kw.items():
        setattr(args, key, value)
    return args


@pytest.fixture(scope='module')
def rows(setup):
    root, config, ckpt = setup
    args = _args(
        root,
        config,
        ckpt,
        camera_baseline_config=str(config),
        camera_baseline_checkpoint=str(root / 'baseline.pth'))
    return camera.run(args, CTX)


def test_rows(rows, setup):
    root = setup[0]
    by = {(r['name'], r['metric']): r for r in rows}
    label = 'tiny_segformer'
    assert all(r['suite'] == 'camera' for r in rows)
    for prec in ('fp32', 'int8'):
        fps = by[(f'{label} {prec}, 1 thread(s)', 'frames per second')]
        assert fps['value'] > 0 and fps['unit'] == 'FPS'
        assert fps['settings']['threads'] == 1
        for metric in ('Fbeta_max', 'IoU'):
            value = by[(f'{label} {prec}', metric)]['value']
            assert 0.0 <= value <= 1.0
        assert by[(f'{label} {prec}',
                   'Fbeta_max')]['settings']['eval_images'] == 3
    int8 = by[(f'{label} int8, 1 thread(s)', 'frames per second')]
    assert int8['ratio'] == pytest.approx(int8['value'] / int8['baseline'])
    # the goal sits on the faster precision's 1-thread row only
    goals = [r for r in rows if r['goal'] == camera.FPS_GOAL]
    assert len(goals) == 1 and goals[0]['metric'] == 'frames per second'
    diff = by[(label, 'Fbeta_max int8 - fp32')]
    assert diff['goal'] == camera.DROP_GOAL
    assert diff['value'] == pytest.approx(
        by[(f'{label} int8', 'Fbeta_max')]['value'] -
        by[(f'{label} fp32', 'Fbeta_max')]['value'])
    # the baseline: its own files and rows, same precision ratios
    base = f'{label} (baseline)'
    for prec in ('fp32', 'int8'):
        vs = by[(f'{label} {prec}, 1 thread(s)',
                 'frames per second vs baseline')]
        assert vs['baseline'] == by[(f'{base} {prec}, 1 thread(s)',
                                     'frames per second')]['value']
        assert vs['ratio'] == pytest.approx(vs['value'] / vs['baseline'])
        assert 0.0 <= by[(f'{base} {prec}', 'Fbeta_max')]['value'] <= 1.0
    assert by[(base, 'Fbeta_max int8 - fp32')]['goal'] == camera.DROP_GOAL
    for tag in ('model', 'baseline'):
        for prec in ('fp32', 'int8'):
            assert (root / 'work' / tag / f'64x64_{prec}.onnx').is_file()


def test_int8_file_is_a_qdq_model(rows, setup):
    work = setup[0] / 'work' / 'model'

    def ops(name):
        return {n.op_type for n in onnx.load(str(work / name)).graph.node}

    assert {'QuantizeLinear', 'DequantizeLinear'} <= ops('64x64_int8.onnx')
    assert 'QuantizeLinear' not in ops('64x64_fp32.onnx')
    # normalisation is not in the graph: the metadata carries it
    meta = camera.graph_meta(str(work / '64x64_fp32.onnx'))
    assert meta['bgr_to_rgb'] is True and len(meta['mean']) == 3


def test_exports_are_cached_by_checkpoint_mtime(rows, setup, monkeypatch):
    root, config, ckpt = setup
    out = str(root / 'work' / 'model' / '64x64_fp32.onnx')
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return argparse.Namespace(returncode=0, stdout='', stderr='')

    monkeypatch.setattr(camera.subprocess, 'run', fake_run)
    assert camera.export_fp32(str(config), str(ckpt), out, SHAPE) == out
    assert calls == []
    stat = os.stat(ckpt)
    os.utime(ckpt, (stat.st_atime, stat.st_mtime + 10))
    try:
        camera.export_fp32(str(config), str(ckpt), out, SHAPE)
    finally:
        os.utime(ckpt, (stat.st_atime, stat.st_mtime))
    assert len(calls) == 1
    cmd = calls[0]
    assert cmd[1].endswith('tools/deployment/pytorch2onnx.py')
    assert cmd[-4:] == ['--shape', '64', '64', '--verify']


def test_preprocess_and_calibration_set(tmp_path):
    meta = dict(bgr_to_rgb=True, mean=[1.0, 2.0, 3.0], std=[2.0, 2.0, 2.0])
    img = np.zeros((10, 20, 3), np.uint8)
    img[..., 0] = 9  # blue, the last channel after the flip
    x = camera.preprocess(img, meta, (32, 48))
    assert x.shape == (1, 3, 32, 48) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], [-0.5, -1.0, 3.0])
    for i in range(10):
        (tmp_path / f'{i}.jpg').write_bytes(b'')
    (tmp_path / 'notes.txt').write_text('not an image')
    picked = camera.calibration_images(str(tmp_path), 3)
    picked = [Path(p).name for p in picked]
    assert picked == ['0.jpg', '4.jpg', '9.jpg']
    with pytest.raises(FileNotFoundError, match='calibration folder'):
        camera.calibration_images(str(tmp_path / 'nope'), 3)


def test_option_validation(bench, setup, capsys):
    root, config, ckpt = setup

    def error_of(*argv) -> str:
        with pytest.raises(SystemExit):
            bench.parse_args(list(argv))
        return capsys.readouterr().err

    assert '--camera-config' in error_of('--suite', 'camera')
    assert '--camera-checkpoint' in error_of('--suite', 'camera',
                                             '--camera-config', str(config))
    assert 'file not found' in error_of('--suite', 'camera', '--camera-config',
                                        str(config), '--camera-checkpoint',
                                        str(root / 'missing.pth'))
    assert 'together' in error_of('--suite', 'camera', '--camera-config',
                                  str(config), '--camera-checkpoint',
                                  str(ckpt), '--camera-baseline-config',
                                  str(config))
    assert '--camera-shape' in error_of('--suite', 'camera', '--camera-shape',
                                        '16', '64')
    assert '--camera-threads' in error_of('--suite', 'camera',
                                          '--camera-threads', '0')
    # other suites do not need the camera options
    args = bench.parse_args(['--suite', 'params_flops'])
    assert args.camera_config is None and args.camera_shape == [480, 640]
    args = bench.parse_args([
        '--suite', 'camera', '--camera-config',
        str(config), '--camera-checkpoint',
        str(ckpt), '--camera-threads', '2', '1', '2'
    ])
    assert args.camera_threads == [2, 1]
    assert camera.settings(args)['shape'] == '480x640'
    assert 'camera' not in bench.expand_suites(['all'])
