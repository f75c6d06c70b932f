"""The ``gpu`` benchmark suite, ``--channels-last``/``--compile`` and the
prepared GPU check script.

On the CPU the suite runs at 64x64 with one light model, one or two steps:
the figures mean nothing, the rows' form does. The tests named ``cuda``
need a GPU (``tools/device/gpu_check.sh`` runs them on the lent machine).
"""
import json
import os
import subprocess
import warnings
from pathlib import Path

import pytest
import torch
from benchmarks import measure, report
from benchmarks.suites import gpu, gpu_train

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'device' / 'gpu_check.sh'
BASE_CONFIG = (
    REPO / 'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py')
HAS_CUDA = torch.cuda.is_available()


def _tiny_args(out_dir: Path, device: str, *extra) -> list:
    return [
        '--suite', 'gpu', '--device', device, '--out-dir',
        str(out_dir), '--gpu-size', '64', '--gpu-batch', '2', '--gpu-steps',
        '1', '--gpu-warmup', '0', '--gpu-infer-steps', '1',
        '--gpu-infer-batches', '1', '2', '--gpu-train-models', 'fosp_mit-b0',
        '--gpu-infer-models', 'fosp_mit-b0', '--gpu-rows-jsonl',
        str(out_dir / 'rows.jsonl'), *extra
    ]


def _by(rows, **match):
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def _settings_by(rows, **match):
    return [
        r for r in rows
        if all(r['settings'].get(k) == v for k, v in match.items())
    ]


def test_gpu_suite_on_the_cpu(bench, tmp_path):
    doc = bench.main(
        _tiny_args(tmp_path, 'cpu', '--gpu-infer-modes', 'eager', 'predict',
                   'cudagraph'))
    rows = [r for r in doc['rows'] if r['suite'] == 'gpu']
    assert rows
    for r in rows:
        for key in report.ROW_KEYS:
            assert key in r
        assert r['settings']['device_name'] == 'cpu'
        assert r['settings']['size'] == '64x64'
        json.dumps(r, allow_nan=False)
    # every row also went to the JSON-lines file as it was measured
    lines = (tmp_path / 'rows.jsonl').read_text().splitlines()
    assert [json.loads(x) for x in lines] == rows

    train = _by(rows, metric='train images/s')
    # 3 precisions x 2 memory formats, one row each, measured or skipped
    assert len(train) == 6
    for fmt in ('contiguous', 'channels_last'):
        for precision in ('fp32', 'bf16'):
            row, = _settings_by(train, precision=precision, memory_format=fmt)
            assert row['value'] > 0, row.get('note')
            assert row['details']['ms_per_step_median'] > 0
            assert row['details']['final_loss'] is not None
        fp16, = _settings_by(train, precision='fp16', memory_format=fmt)
        assert fp16['value'] is None
        assert fp16['note'].startswith('skipped: fp16 AMP is measured on '
                                       'CUDA devices only')
    ref, = _settings_by(train, precision='fp32', memory_format='contiguous')
    assert ref['ratio'] is None
    other, = _settings_by(train, precision='bf16', memory_format='contiguous')
    assert other['baseline'] == ref['value']
    assert other['ratio'] == pytest.approx(other['value'] / ref['value'])
    # a step-time row accompanies each measured variant; peak memory is
    # measured on CUDA only
    assert len(_by(rows, metric='train step time')) == 4
    assert _by(rows, metric='train peak memory') == []

    infer = _by(rows, metric='inference images/s')
    assert len(infer) == 2 * 3  # batches 1 and 2 x eager, predict, graph
    for batch in (1, 2):
        eager, = _settings_by(infer, batch=batch, mode='eager')
        assert eager['value'] > 0 and eager['settings']['path'] == 'tensor'
        predict, = _settings_by(infer, batch=batch, mode='predict')
        assert predict['value'] > 0 and predict['baseline'] == eager['value']
        graph, = _settings_by(infer, batch=batch, mode='cudagraph')
        assert graph['value'] is None
        assert graph['note'] == 'skipped: CUDA graphs need a CUDA device'
    assert len(_by(rows, metric='inference latency')) == 4

    header = doc['suites']['gpu']
    assert header['settings']['train_batch'] == 2
    md = (tmp_path / 'benchmarks.md').read_text()
    assert '## GPU throughput (`gpu`)' in md
    assert 'FoSp MiT-B0 (light), bf16, channels_last' in md
    assert 'FoSp MiT-B0 (light), batch 2, tensor path, CUDA graph' in md


def test_time_budget_and_failures_give_rows(bench, tmp_path, monkeypatch):
    args = bench.parse_args(
        _tiny_args(tmp_path, 'cpu', '--gpu-time-budget', '1e-9',
                   '--gpu-precisions', 'fp32'))
    ctx = dict(
        device='CPU test', command='test', torch_device=torch.device('cpu'))
    rows = gpu.run(args, ctx)
    assert rows and all(r['value'] is None for r in rows)
    assert all('--gpu-time-budget of 1e-09 s was used up' in r['note']
               for r in rows)

    def broken(*args, **kwargs):
        raise RuntimeError('no such model today')

    monkeypatch.setattr(gpu, 'build_model', broken)
    args = bench.parse_args(
        _tiny_args(tmp_path, 'cpu', '--gpu-precisions', 'fp32',
                   '--gpu-memory-formats', 'contiguous', '--gpu-infer-modes',
                   'eager', 'compile'))
    rows = gpu.run(args, ctx)
    # 1 training row + 2 batches x (eager + compile tensor/predict)
    assert len(rows) == 1 + 2 * 3
    assert all(r['value'] is None for r in rows)
    assert all(r['note'] == 'failed: RuntimeError: no such model today'
               for r in rows)


def test_compile_mode_rows(bench, tmp_path):
    """The compile mode through dynamo with the cheap ``eager`` backend."""
    doc = bench.main(
        _tiny_args(tmp_path, 'cpu', '--gpu-train-models', '--gpu-infer-models',
                   'fosp_mit-b0', '--gpu-infer-batches', '1',
                   '--gpu-infer-modes', 'eager', 'compile',
                   '--gpu-compile-backend', 'eager'))
    rows = _by(doc['rows'], suite='gpu', metric='inference images/s')
    assert len(rows) == 3  # eager; compile tensor and predict
    for path in ('tensor', 'predict'):
        row, = _settings_by(rows, mode='compile', path=path)
        assert row['value'] > 0, row.get('note')
        assert row['details']['compile_s'] > 0
        assert row['ratio'] is not None
    tensor, = _settings_by(rows, mode='compile', path='tensor')
    assert tensor['details']['max_abs_diff_vs_eager'] < 1e-4
    assert 'backend eager' in doc['suites']['gpu']['settings']['compile']


def test_amp_wrappers_follow_mmengine(bench, monkeypatch, tiny_segmentor_cfg):
    """fp32: the config's wrapper; AMP on CUDA: mmengine's AmpOptimWrapper
    with dtype and dynamic loss scale (built here with the CUDA check
    patched); AMP elsewhere: the CPU stand-in with the same methods."""
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    from mmseg.registry import MODELS
    model = MODELS.build(tiny_segmentor_cfg())
    optim_cfg = measure.optim_config(measure.MODELS['fosp_r50'][1])
    cpu, cuda = torch.device('cpu'), torch.device('cuda')
    fp32 = gpu_train.build_optim_wrapper(model, optim_cfg, 'fp32', cpu)
    assert type(fp32) is OptimWrapper
    host = gpu_train.build_optim_wrapper(model, optim_cfg, 'bf16', cpu)
    assert isinstance(host, AmpOptimWrapper)
    assert host.cast_dtype is torch.bfloat16
    assert isinstance(host.loss_scaler, torch.amp.GradScaler)
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    with warnings.catch_warnings():  # without a GPU the scaler disables
        warnings.simplefilter('ignore')
        fp16 = gpu_train.build_optim_wrapper(model, optim_cfg, 'fp16', cuda)
    assert type(fp16) is AmpOptimWrapper
    assert fp16.cast_dtype is torch.float16
    # the config's optimiser and its per-parameter settings are kept
    assert type(fp16.optimizer) is type(fp32.optimizer)
    assert len(fp16.optimizer.param_groups) == len(fp32.optimizer.param_groups)
    assert gpu_train.amp_skip_reason('fp16', cpu).startswith('skipped')
    assert gpu_train.amp_skip_reason('bf16', cpu) is None
    with pytest.raises(ValueError, match='optim_wrapper.type Foo'):
        gpu_train.build_optim_wrapper(model, dict(type='Foo'), 'fp32', cpu)


@pytest.mark.parametrize('argv, message', [
    (['--gpu-batch', '1'], 'training needs a batch of at least 2'),
    (['--gpu-size', '16'], '--gpu-size must be >= 32'),
    (['--gpu-infer-batches', '0'], '--gpu-infer-batches must all be >= 1'),
    (['--gpu-time-budget', '0'], '--gpu-time-budget must be > 0'),
    (['--gpu-models', 'nope'], 'invalid choice'),
])
def test_bad_gpu_options_are_refused(bench, argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(['--suite', 'gpu', *argv])
    assert message in capsys.readouterr().err


def test_gpu_is_not_part_of_all(bench):
    assert 'gpu' in bench.SUITES
    assert 'gpu' not in bench.expand_suites(['all'])
    assert bench.expand_suites(['transmission',
                                'gpu']) == ['transmission', 'gpu']


# ---------------------------------------------------------------- tools
def _write_tiny_config(path: Path, model: dict) -> Path:
    model = dict(model, _delete_=True)
    path.write_text(f'_base_ = [{str(BASE_CONFIG)!r}]\n'
                    f'model = {model!r}\n')
    return path


def _data_options(loader_options, data_root: Path) -> list:
    return loader_options(data_root) + [
        'train_cfg.max_iters=1',
        'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
    ]


def test_channels_last_training_and_compiled_testing(tmp_path, tiny_synthetic,
                                                     tiny_segmentor_cfg,
                                                     loader_options, run_tool):
    model = tiny_segmentor_cfg()
    # On the CPU, torch 2.15 corrupts memory in the channels_last backward of
    # a 1x1 stride-2 convolution from 8 to 16 channels (ResNetV1c's first
    # downsampling here); ResNetV1d downsamples with average pooling.
    model['backbone']['type'] = 'ResNetV1d'
    model['data_preprocessor']['size'] = (256, 256)  # the config's crops
    config = _write_tiny_config(tmp_path / 'tiny.py', model)
    options = _data_options(loader_options, tiny_synthetic)
    work = tmp_path / 'work'
    train = run_tool(
        'tools/train.py',
        config,
        '--work-dir',
        work,
        '--channels-last',
        '--cfg-options',
        *options,
        output_tail=4000)
    out = train.stdout + train.stderr
    assert 'ChannelsLastHook: model weights and input batches use the ' \
        'channels_last memory format' in out
    ckpt = torch.load(work / 'iter_1.pth', map_location='cpu')
    weight = ckpt['state_dict']['backbone.stem.0.weight']
    assert weight.dim() == 4 and weight.shape[1] > 1
    assert weight.is_contiguous(memory_format=torch.channels_last)

    # The checkpoint tests in a plain model, compiled (dynamo's cheap eager
    # backend here; tools/test.py --compile alone uses torch's default).
    test = run_tool(
        'tools/test.py',
        config,
        work / 'iter_1.pth',
        '--compile',
        '--work-dir',
        tmp_path / 'test',
        '--cfg-options',
        'compile.backend=eager',
        *options,
        output_tail=4000)
    out = test.stdout + test.stderr
    assert '--compile: torch.compile on backbone, decode_head' in out
    assert "{'backend': 'eager'}" in out
    metrics = sorted((tmp_path / 'test').glob('*/*.json'))
    assert metrics, out[-2000:]
    assert 0.0 <= json.loads(metrics[-1].read_text())['Fbeta_max'] <= 1.0


# ------------------------------------------------------- the check script
def test_gpu_check_script_syntax():
    proc = subprocess.run(['bash', '-n', str(SCRIPT)],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


def test_gpu_check_script_refuses_outside_a_checkout(tmp_path):
    proc = subprocess.run(['bash', str(SCRIPT)],
                          cwd=tmp_path,
                          env=dict(os.environ, OUT=str(tmp_path / 'out')),
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert 'run this from the root of an mmsmoke checkout' in proc.stderr
    assert str(tmp_path) in proc.stderr
    assert not (tmp_path / 'out').exists()  # nothing was started


# ------------------------------------------------------------------ GPU
@pytest.mark.skipif(not HAS_CUDA, reason='needs a CUDA GPU')
def test_gpu_suite_cuda(bench, tmp_path):
    # dynamo's eager backend keeps this test short; the inductor backend is
    # measured by tools/device/gpu_check.sh's compile step
    doc = bench.main(
        _tiny_args(tmp_path, 'cuda', '--gpu-compile-backend', 'eager'))
    rows = [r for r in doc['rows'] if r['suite'] == 'gpu']
    name = torch.cuda.get_device_name(0)
    assert all(r['settings']['device_name'] == name for r in rows)
    train = _by(rows, metric='train images/s')
    assert len(train) == 6
    for r in train:
        if r['settings']['precision'] == 'bf16' and \
                not torch.cuda.is_bf16_supported():
            continue
        assert r['value'] > 0, r.get('note')
    memory = _by(rows, metric='train peak memory')
    assert len(memory) == len([r for r in train if r['value']])
    assert all(r['value'] > 0 for r in memory)
    infer = _by(rows, metric='inference images/s')
    for r in infer:
        if r['settings']['mode'] in ('eager', 'predict', 'cudagraph'):
            assert r['value'] > 0, r.get('note')
        else:  # compile: measured, or the error recorded
            assert (r['value'] or 0) > 0 or r['note'].startswith(
                ('failed', 'skipped'))
    for r in _settings_by(infer, mode='cudagraph'):
        assert r['details']['max_abs_diff_vs_eager'] < 1e-3


@pytest.mark.skipif(not HAS_CUDA, reason='needs a CUDA GPU')
def test_channels_last_step_cuda(bench, tiny_segmentor_cfg):
    """A channels_last training step matches a contiguous one on CUDA."""
    from mmengine.optim import OptimWrapper
    from mmseg.registry import MODELS

    from mmsmoke.engine.speed import to_channels_last

    images = measure.synthetic_samples(2, 64, seed=0)
    device = torch.device('cuda')
    data = measure.train_batch(images, device)
    losses = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = MODELS.build(tiny_segmentor_cfg()).to(device)
        if channels_last:
            to_channels_last(model)
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
        log_vars = model.train_step(data, wrapper)
        losses.append(float(log_vars['loss']))
        if channels_last:
            conv = model.backbone.stem[0].weight
            assert conv.is_contiguous(memory_format=torch.channels_last)
    assert losses[0] == pytest.approx(losses[1], rel=1e-3)
