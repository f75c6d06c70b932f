"""The ``camera`` suite: a trained light model as a camera network runs it.

ONNX fp32 (``tools/deployment/pytorch2onnx.py``) and int8 (onnxruntime's
static quantisation) on the CPU: frames/s and SmokeMetric quality (see
``TEXT``). The graph has a fixed H x W and takes the *normalised* image
(mean, std and channel order are in its ``mmsmoke`` metadata) to logits,
so the suite resizes, normalises and applies the sigmoid itself. The files
are re-used while the checkpoint's mtime is unchanged.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch

import benchmark_transmission_loss as loss_bench
from ..core import REPO, log, make_row, repo_path
from ..datasets import smoke5k_root

NAME = 'camera'
IN_ALL = False
TITLE = 'Camera deployment: ONNX fp32 and int8 on the CPU'
TEXT = ('The trained model exported with `tools/deployment/pytorch2onnx.py '
        '--verify` (fp32) and quantised by onnxruntime (`quantize_static`, '
        'QDQ, per-channel int8 weights, int8 activations, MinMax calibration '
        'on training images pre-processed as the graph expects). Frames/s: '
        'onnxruntime CPU sessions (`intra_op_num_threads` = threads, '
        '`inter_op_num_threads` = 1) on one image, all files alternating '
        'round by round after warm-up rounds; value = 1 / median latency; '
        'int8 rows: ratio = int8 / fp32; "vs baseline" rows: ratio = model '
        '/ baseline model at the same precision and threads. Quality: the '
        'ONNX graph has a fixed H x W, so each test image is resized to it '
        '(aspect ratio not kept) and the probability upsampled (bilinear) '
        'to the image\'s size and scored with `SmokeMetric` (SOD Fβ-max, '
        'pooled IoU at the threshold). The 25 frames/s goal is on the '
        '1-thread row of the faster precision of the trained model.')
EXPORTER = 'tools/deployment/pytorch2onnx.py'
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')
PRECISIONS = ('fp32', 'int8')
FPS_GOAL = 'value >= 25'
DROP_GOAL = 'value >= -0.01'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(NAME)
    add = group.add_argument
    add('--camera-config', help='config of the trained model')
    add('--camera-checkpoint', help='its checkpoint')
    add('--camera-baseline-config', help='optional second model')
    add('--camera-baseline-checkpoint', help='checkpoint of the baseline')
    add('--camera-shape',
        type=int,
        nargs=2,
        default=[480, 640],
        metavar=('H', 'W'),
        help='fixed input size of the exported graph')
    add('--camera-threads',
        type=int,
        nargs='+',
        default=[1, 2],
        help='onnxruntime intra-op thread counts')
    add('--camera-calib-dir',
        default='work_dirs/smoke5k_frames/train/img',
        help='training images for the int8 calibration')
    add('--camera-calib-images',
        type=int,
        default=32,
        help='calibration images, evenly spaced over the sorted folder')
    add('--camera-eval-root',
        default=None,
        help='folder with img/ and gt/; None: <--data-root>/SMOKE5K/test')
    add('--camera-eval-images',
        type=int,
        default=None,
        help='the first N sorted evaluation images; None: all')
    add('--camera-work-dir', default='work_dirs/benchmark_camera')


def check_arguments(args: argparse.Namespace, error: Callable) -> None:
    """Validate the ``--camera-*`` options (``error`` is ``parser.error``)."""
    if min(args.camera_shape) < 32:
        error('--camera-shape H W must both be >= 32')
    if min(args.camera_threads) < 1:
        error('--camera-threads must be >= 1')
    args.camera_threads = list(dict.fromkeys(args.camera_threads))
    if args.camera_calib_images < 1:
        error('--camera-calib-images must be >= 1')
    if args.camera_eval_images is not None and args.camera_eval_images < 1:
        error('--camera-eval-images must be >= 1')
    if NAME not in (getattr(args, 'suite', None) or ()):
        return
    for opt in ('config', 'checkpoint'):
        if not getattr(args, f'camera_{opt}'):
            error(f'--suite camera needs --camera-{opt}')
    if bool(args.camera_baseline_config) != bool(
            args.camera_baseline_checkpoint):
        error('give --camera-baseline-config and '
              '--camera-baseline-checkpoint together')
    for opt in ('config', 'checkpoint', 'baseline_config',
                'baseline_checkpoint'):
        path = getattr(args, f'camera_{opt}')
        if path and not osp.isfile(repo_path(path)):
            error(f'--camera-{opt.replace("_", "-")} {path}: file not found')


def settings(args: argparse.Namespace) -> dict:
    try:
        import onnxruntime
        version = onnxruntime.__version__
    except ImportError:
        version = 'not installed'
    return dict(
        shape='{}x{}'.format(*args.camera_shape),
        threads=list(args.camera_threads),
        calibration_images=args.camera_calib_images,
        calibration_dir=args.camera_calib_dir,
        eval_images=args.camera_eval_images or 'all',
        threshold=args.threshold,
        quantisation='static QDQ, per-channel S8S8, MinMax',
        onnxruntime=version,
        repeats=args.repeats,
        warmup=args.warmup)


def _cached(path: str, stamp: dict, write: bool = False) -> bool:
    """Whether ``path`` was made from ``stamp`` (its ``.json``); or save it."""
    if write:
        with open(path + '.json', 'w') as f:
            json.dump(stamp, f, indent=2)
        return True
    try:
        with open(path + '.json') as f:
            return osp.isfile(path) and json.load(f) == stamp
    except (OSError, ValueError):
        return False


def export_fp32(config: str, checkpoint: str, out: str,
                shape: Sequence[int]) -> str:
    """Export and verify with ``pytorch2onnx.py``, unless cached.

    Args:
        config (str): Model config.
        checkpoint (str): Its checkpoint; a new mtime exports again.
        out (str): The ``.onnx`` file.
        shape (Sequence[int]): Graph input (H, W).

    Returns:
        str: ``out``.
    """
    config, checkpoint = repo_path(config), repo_path(checkpoint)
    stamp = dict(
        config=osp.abspath(config),
        checkpoint=osp.abspath(checkpoint),
        mtime=osp.getmtime(checkpoint),
        shape=list(shape))
    if _cached(out, stamp):
        log(f'{NAME}: re-using {out}')
        return out
    os.makedirs(osp.dirname(out) or '.', exist_ok=True)
    log(f'{NAME}: exporting {out}')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, EXPORTER), config, checkpoint, '--out', out, '--shape',
        *map(str, shape), '--verify'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{EXPORTER} failed for {config} ({checkpoint}):'
                           f'\n{(proc.stdout + proc.stderr)[-3000:]}')
    _cached(out, stamp, write=True)
    return out


def graph_meta(onnx_file: str) -> dict:
    """The ``mmsmoke`` metadata of an exported graph (its pre-processing)."""
    import onnx
    props = {p.key: p.value for p in onnx.load(onnx_file).metadata_props}
    if 'mmsmoke' not in props:
        raise ValueError(f'{onnx_file}: no mmsmoke metadata; export it with '
                         f'{EXPORTER}')
    return json.loads(props['mmsmoke'])


def preprocess(img: np.ndarray, meta: dict,
               shape: Sequence[int]) -> np.ndarray:
    """A BGR uint8 image as the graph's (1, 3, H, W) float32 input.

    Resized (bilinear, like MMSeg's ``Resize``) to ``shape``, channels
    flipped if ``meta['bgr_to_rgb']``, then ``(x - mean) / std``.
    """
    import mmcv
    x = mmcv.imresize(img, (shape[1], shape[0]), interpolation='bilinear')
    x = x.astype(np.float32)[..., ::-1 if meta.get('bgr_to_rgb') else 1]
    if 'mean' in meta:
        x = (x - np.float32(meta['mean'])) / np.float32(meta['std'])
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)


def load_image(path: str) -> np.ndarray:
    """BGR uint8 image, read by mmsmoke's validating loader."""
    from mmsmoke.datasets.transforms import LoadSmokeImageFromFile
    return LoadSmokeImageFromFile()(dict(img_path=path))['img']


def list_images(folder: str, what: str) -> List[str]:
    """The sorted image files of a folder (an error naming it if none)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{folder}: {what} folder not found')
    names = sorted(
        n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTS))
    if not names:
        raise FileNotFoundError(f'{folder}: no {what} images')
    return [osp.join(folder, n) for n in names]


def calibration_images(folder: str, num: int) -> List[str]:
    """``num`` images evenly spaced over the sorted folder (a fixed set)."""
    paths = list_images(folder, 'calibration')
    index = np.linspace(0, len(paths) - 1, min(num, len(paths)))
    return [paths[i] for i in sorted({int(round(v)) for v in index})]


def quantise_int8(fp32: str, out: str, calib: Sequence[str],
                  shape: Sequence[int]) -> str:
    """onnxruntime's static int8 quantisation (QDQ, per-channel), cached.

    Args:
        fp32 (str): The graph from :func:`export_fp32` (with its stamp).
        out (str): The int8 ``.onnx`` file.
        calib (Sequence[str]): Calibration images.
        shape (Sequence[int]): Graph input (H, W).

    Returns:
        str: ``out``.
    """
    from onnxruntime.quantization import (CalibrationDataReader,
                                          CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    with open(fp32 + '.json') as f:
        stamp = dict(
            fp32=json.load(f), calibration=list(map(osp.abspath, calib)))
    if _cached(out, stamp):
        log(f'{NAME}: re-using {out}')
        return out
    meta = graph_meta(fp32)

    class Reader(CalibrationDataReader):

        def __init__(self):
            self.paths = iter(calib)

        def get_next(self):
            path = next(self.paths, None)
            return None if path is None else dict(
                input=preprocess(load_image(path), meta, shape))

    log(f'{NAME}: quantising {out} on {len(calib)} images')
    prepared = out[:-len('.onnx')] + '_prep.onnx'
    # fixed shapes: ONNX's own shape inference suffices (onnxruntime's
    # symbolic one fails on the reshapes of MiT's attention)
    quant_pre_process(fp32, prepared, skip_symbolic_shape=True)
    quantize_static(
        prepared,
        out,
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax)
    os.remove(prepared)
    _cached(out, stamp, write=True)
    return out


def session(onnx_file: str, threads: int):
    """An onnxruntime CPU session on ``threads`` intra-op threads."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    return ort.InferenceSession(
        onnx_file, opts, providers=['CPUExecutionProvider'])


def time_files(files: Dict[str, str], threads: Sequence[int], x: np.ndarray,
               repeats: int, warmup: int) -> Dict[int, Dict[str, dict]]:
    """Latencies of every file per thread count, the files alternating.

    Returns:
        dict: threads -> file key -> ``time_interleaved`` result (s).
    """
    out = {}
    for n in threads:
        fns = {
            k: (lambda s=session(p, n): s.run(None, {'input': x}))
            for k, p in files.items()
        }
        log(f'{NAME}: timing {len(fns)} files on {n} thread(s)')
        out[n] = loss_bench.time_interleaved(fns, torch.device('cpu'), repeats,
                                             warmup)
    return out


def eval_pairs(root: str, limit=None) -> List[Tuple[str, str]]:
    """(image, mask) of ``root/img`` and ``root/gt`` (same stem, .png)."""
    pairs = []
    for img in list_images(osp.join(root, 'img'), 'evaluation'):
        gt = osp.join(root, 'gt', osp.splitext(osp.basename(img))[0] + '.png')
        if not osp.isfile(gt):
            raise FileNotFoundError(f'{gt}: mask of {img} not found')
        pairs.append((img, gt))
    return pairs[:limit]


def evaluate(files: Dict[str, str], pairs: Sequence[Tuple[str, str]],
             shape: Sequence[int], threshold: float,
             threads: int) -> Dict[str, dict]:
    """SmokeMetric of every file at the images' own sizes.

    Returns:
        dict: file key -> SmokeMetric metrics (``Fbeta_max``, ``IoU``, ...).
    """
    import torch.nn.functional as F

    from mmsmoke.datasets.transforms import LoadSmokeAnnotations
    from mmsmoke.evaluation.metrics import SmokeMetric
    meta = graph_meta(next(iter(files.values())))
    sessions = {k: session(p, threads) for k, p in files.items()}
    metrics = {
        k:
        SmokeMetric(
            threshold=threshold, prefix=NAME, return_reliability_bins=False)
        for k in files
    }
    masks = LoadSmokeAnnotations(mask_convention='zero_255')
    log(f'{NAME}: evaluating {len(files)} files on {len(pairs)} images')
    for img_path, gt_path in pairs:
        img = load_image(img_path)
        gt = masks(
            dict(
                seg_map_path=gt_path,
                img_path=img_path,
                ori_shape=img.shape[:2]))['gt_seg_map']
        x = preprocess(img, meta, shape)
        for key, sess in sessions.items():
            logits = torch.from_numpy(
                sess.run(['seg_logits'], {'input': x})[0])
            prob = (
                logits.sigmoid()
                if logits.shape[1] == 1 else logits.softmax(1)[:, 1:])
            prob = F.interpolate(
                prob, size=img.shape[:2], mode='bilinear',
                align_corners=False)[0].clamp_(0, 1)
            metrics[key].process(None, [
                dict(
                    img_path=img_path,
                    seg_logits=dict(data=prob),
                    gt_sem_seg=dict(data=torch.from_numpy(gt)[None]))
            ])
    return {k: m.compute_metrics(m.results) for k, m in metrics.items()}


def speed_rows(args: argparse.Namespace, ctx: dict, labels: Dict[str, str],
               files: Dict[str, str], x: np.ndarray) -> List[dict]:
    """Frames/s of every file per thread count, with the ratios.

    Args:
        args (argparse.Namespace): The options (threads, repeats, warm-up).
        ctx (dict): Run context.
        labels (dict): Row name of each model tag (``model``, ``baseline``).
        files (dict): ``<tag>/<precision>`` -> ``.onnx`` file.
        x (np.ndarray): The input to time.

    Returns:
        list[dict]: The rows.
    """
    times = time_files(files, args.camera_threads, x, args.repeats,
                       args.warmup)
    fps = {
        n: {
            k: 1 / t['median']
            for k, t in ts.items()
        }
        for n, ts in times.items()
    }
    best = max(PRECISIONS, key=lambda p: fps[1][f'model/{p}']) \
        if 1 in fps else None
    rows = []
    for n, got in fps.items():
        stamp = dict(
            shape='{}x{}'.format(*args.camera_shape),
            threads=n,
            repeats=args.repeats,
            warmup=args.warmup)
        for key, value in got.items():
            tag, prec = key.split('/')
            goal = (tag, prec, n) == ('model', best, 1)
            kw = dict(goal=FPS_GOAL) if goal else {}
            if prec == 'int8':
                kw.update(
                    baseline=got[f'{tag}/fp32'],
                    ratio_def='int8 / fp32',
                    baseline_name=f'{labels[tag]} fp32',
                    ratio=value / got[f'{tag}/fp32'])
            rows.append(
                make_row(
                    NAME,
                    f'{labels[tag]} {prec}, {n} thread(s)',
                    'frames per second',
                    value,
                    'FPS',
                    ctx,
                    settings=stamp,
                    details=dict(
                        latency_median_s=times[n][key]['median'],
                        file=osp.relpath(files[key], REPO)),
                    **kw))
        for prec in PRECISIONS if 'baseline' in labels else ():
            value, base = got[f'model/{prec}'], got[f'baseline/{prec}']
            rows.append(
                make_row(
                    NAME,
                    f'{labels["model"]} {prec}, {n} thread(s)',
                    'frames per second vs baseline',
                    value,
                    'FPS',
                    ctx,
                    baseline=base,
                    ratio=value / base,
                    ratio_def='value / baseline',
                    baseline_name=f'{labels["baseline"]} {prec}',
                    settings=stamp))
    return rows


def quality_rows(args: argparse.Namespace, ctx: dict, labels: Dict[str, str],
                 files: Dict[str, str]) -> List[dict]:
    """Fβ-max and IoU of every file, and the int8 - fp32 Fβ-max."""
    root = repo_path(args.camera_eval_root) if args.camera_eval_root else \
        osp.join(smoke5k_root(args.data_root), 'test')
    pairs = eval_pairs(root, args.camera_eval_images)
    scores = evaluate(files, pairs, args.camera_shape, args.threshold,
                      max(args.camera_threads))
    stamp = dict(
        shape='{}x{}'.format(*args.camera_shape),
        eval_images=len(pairs),
        eval_root=root,
        threshold=args.threshold)
    rows = []
    for tag, label in labels.items():
        got = {p: scores[f'{tag}/{p}'] for p in PRECISIONS}
        rows += [
            make_row(
                NAME,
                f'{label} {p}',
                metric,
                got[p].get(metric),
                '',
                ctx,
                settings=stamp,
                details=dict(sod_images=got[p].get('num_sod_images')))
            for p in PRECISIONS for metric in ('Fbeta_max', 'IoU')
        ]
        f32, i8 = (got[p].get('Fbeta_max') for p in PRECISIONS)
        diff = None if None in (f32, i8) else i8 - f32
        rows.append(
            make_row(
                NAME,
                label,
                'Fbeta_max int8 - fp32',
                diff,
                '',
                ctx,
                goal=DROP_GOAL,
                settings=stamp))
    return rows


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Export, quantise, time and score the model (and the baseline)."""
    shape = args.camera_shape
    calib = calibration_images(
        repo_path(args.camera_calib_dir), args.camera_calib_images)
    models = {'model': (args.camera_config, args.camera_checkpoint)}
    if args.camera_baseline_config:
        models['baseline'] = (args.camera_baseline_config,
                              args.camera_baseline_checkpoint)
    labels = {
        t: osp.splitext(osp.basename(c))[0]
        for t, (c, _) in models.items()
    }
    if labels.get('baseline') == labels['model']:
        labels['baseline'] += ' (baseline)'
    files = {}
    for tag, (config, ckpt) in models.items():
        base = osp.join(
            repo_path(args.camera_work_dir), tag, '{}x{}'.format(*shape))
        fp32 = files[f'{tag}/fp32'] = export_fp32(config, ckpt,
                                                  base + '_fp32.onnx', shape)
        files[f'{tag}/int8'] = quantise_int8(fp32, base + '_int8.onnx', calib,
                                             shape)
    x = preprocess(
        load_image(calib[0]), graph_meta(files['model/fp32']), shape)
    return (speed_rows(args, ctx, labels, files, x) +
            quality_rows(args, ctx, labels, files))
