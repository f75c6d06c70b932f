"""ONNX export of the sampling-free models, checked with onnxruntime.

The light FoSp and Transmission-BVM configs are exported with random
weights at 64x64 and onnxruntime must reproduce PyTorch (atol 1e-4), the
prediction and uncertainty maps of ``model.predict`` included. The
antialiased resize that FoSp uses is exported through a registered
symbolic (ONNX ``Resize`` with ``antialias=1``), checked on its own too.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from mmseg.apis import init_model  # noqa: E402

from mmsmoke.deployment import (
    antialias_resize_symbolic,  # noqa: E402
    export_onnx,
    run_onnxruntime,
    verify_onnx)

REPO = Path(__file__).resolve().parents[2]
FOSP = REPO / 'configs/fosp/fosp_mit-b0_1xb4-800_synthetic-256x256.py'
TRANSBVM = (
    REPO / 'configs/transbvm/transbvm_mit-b0_1xb4-2k_synthetic-256x256.py')
SIZE = 64

pytestmark = pytest.mark.usefixtures('one_thread')


def _env() -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    return env


def _inputs(batch: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, SIZE, SIZE, generator=gen)


class _Resize(torch.nn.Module):

    def __init__(self, size, align_corners):
        super().__init__()
        self.size = size
        self.align_corners = align_corners

    def forward(self, x):
        return F.interpolate(
            x,
            size=self.size,
            mode='bilinear',
            align_corners=self.align_corners,
            antialias=True)


@pytest.mark.parametrize('in_size,out_size', [
    ((64, 64), (32, 32)),
    ((64, 48), (24, 20)),
    ((65, 63), (32, 32)),
    ((64, 64), (50, 40)),
    ((32, 32), (64, 48)),
])
def test_antialias_resize_matches_pytorch(tmp_path, in_size, out_size):
    x = torch.rand(2, 5, *in_size, generator=torch.Generator().manual_seed(1))
    module = _Resize(out_size, align_corners=False)
    path = str(tmp_path / 'resize.onnx')
    with antialias_resize_symbolic():
        torch.onnx.export(
            module, (x, ),
            path,
            input_names=['input'],
            opset_version=18,
            dynamo=False)
    got = run_onnxruntime(path, x)
    out = next(iter(got.values()))
    np.testing.assert_allclose(out, module(x).numpy(), atol=1e-5, rtol=0)


def test_antialias_resize_with_aligned_corners_is_refused(tmp_path):
    module = _Resize((32, 24), align_corners=True)
    with antialias_resize_symbolic(), pytest.raises(
            RuntimeError, match='align_corners'):
        torch.onnx.export(
            module, (torch.rand(1, 1, 64, 64), ),
            str(tmp_path / 'resize.onnx'),
            opset_version=18,
            dynamo=False)


def _metadata(path: str) -> dict:
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    return json.loads(props['mmsmoke'])


@pytest.mark.parametrize(
    'config,threshold,names', [
        (FOSP, 0.4,
         ['seg_logits', 'focus', 'alpha', 'foreground', 'background']),
        (TRANSBVM, 0.5, [
            'seg_logits', 'uncertainty_total', 'uncertainty_aleatoric',
            'uncertainty_epistemic'
        ]),
    ],
    ids=['fosp', 'transbvm'])
def test_light_model_export_matches_pytorch_and_predict(
        tmp_path, config, threshold, names):
    torch.manual_seed(0)
    model = init_model(str(config), device='cpu')
    path = str(tmp_path / 'model.onnx')
    assert export_onnx(model, path, shape=(SIZE, SIZE)) == names
    onnx.checker.check_model(path)

    inputs = _inputs()
    diffs = verify_onnx(model, path, inputs, atol=1e-4, rtol=0)
    assert set(diffs) == set(names)
    assert max(diffs.values()) < 1e-4

    meta = _metadata(path)
    assert meta['threshold'] == threshold
    assert meta['outputs'] == names
    assert meta['bgr_to_rgb'] is True
    np.testing.assert_allclose(meta['mean'], [123.675, 116.28, 103.53])
    np.testing.assert_allclose(meta['std'], [58.395, 57.12, 57.375])

    # the graph reproduces what predict() writes into the data samples
    outs = run_onnxruntime(path, inputs)
    assert all(v.shape[0] == 1 and v.shape[2:] == (SIZE, SIZE)
               for v in outs.values())
    with torch.no_grad():
        sample = model.predict(inputs)[0]
    prob = torch.from_numpy(outs['seg_logits'][0]).sigmoid()
    torch.testing.assert_close(prob, sample.seg_logits.data, atol=1e-4, rtol=0)
    clear = (sample.seg_logits.data - threshold).abs() > 1e-4
    mask = (prob > threshold).long()
    assert torch.equal(mask[clear], sample.pred_sem_seg.data[clear].long())
    if config == TRANSBVM:
        for key in ('total', 'aleatoric', 'epistemic'):
            torch.testing.assert_close(
                torch.from_numpy(outs[f'uncertainty_{key}'][0]),
                sample.get(f'pred_uncertainty_{key}').data,
                atol=1e-4,
                rtol=0)
    else:
        torch.testing.assert_close(
            torch.from_numpy(outs['focus'][0]),
            sample.pred_focus.data,
            atol=1e-4,
            rtol=0)


def test_stock_pyramid_pooling_head_exports(tmp_path):
    """UPerHead's adaptive pooling after mmpretrain's ConvNeXt exports.

    At 96x96 the 1/32 features are 3x3 and PPM pools them to 1, 2, 3 and
    6 bins, sizes PyTorch's exporter rejects for adaptive pooling.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(
        str(REPO / 'configs/mixing/'
            'upernet_convnext-t_focusneck_4xb2-40k_smoke5k-512x512.py'))
    cfg.model.backbone.arch = dict(
        depths=[1, 1, 1, 1], channels=[8, 16, 32, 64])
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.in_channels = [8, 16, 32, 64]
    cfg.model.decode_head.in_channels = [8, 16, 32, 64]
    cfg.model.decode_head.channels = 16
    torch.manual_seed(0)
    model = init_model(cfg, device='cpu')
    path = str(tmp_path / 'upernet.onnx')
    assert export_onnx(model, path, shape=(96, 96)) == ['seg_logits']
    # the model itself keeps its layers; only the traced copy is changed
    assert any(
        isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in model.modules())
    gen = torch.Generator().manual_seed(0)
    diffs = verify_onnx(
        model, path, torch.randn(1, 3, 96, 96, generator=gen), rtol=0)
    assert diffs['seg_logits'] < 1e-4


def test_fosp_below_opset_18_fails_with_the_fix(tmp_path):
    model = init_model(str(FOSP), device='cpu')
    with pytest.raises(RuntimeError, match='opset >= 18'):
        export_onnx(model, str(tmp_path / 'm.onnx'), (SIZE, SIZE), opset=17)


def test_transbvm_mc_config_exports_the_sampling_free_graph(tmp_path):
    torch.manual_seed(0)
    model = init_model(
        str(TRANSBVM),
        device='cpu',
        cfg_options={'model.test_cfg.uncertainty': 'mc'})
    path = str(tmp_path / 'm.onnx')
    names = export_onnx(
        model, path, shape=(SIZE, SIZE), batch_size=2, opset=13)
    assert names[1:] == [
        'uncertainty_total', 'uncertainty_aleatoric', 'uncertainty_epistemic'
    ]
    diffs = verify_onnx(model, path, _inputs(batch=2))
    assert max(diffs.values()) < 1e-4
    assert model.test_cfg['uncertainty'] == 'mc'  # the model is unchanged


def test_cli_exports_a_checkpoint_and_verifies(tmp_path):
    from mmengine.runner import save_checkpoint
    torch.manual_seed(0)
    model = init_model(str(TRANSBVM), device='cpu')
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ckpt = tmp_path / 'trained.pth'
    save_checkpoint(model.state_dict(), str(ckpt))
    out = tmp_path / 'transbvm.onnx'
    run = subprocess.run([
        sys.executable,
        str(REPO / 'tools/deployment/pytorch2onnx.py'),
        str(TRANSBVM),
        str(ckpt), '--shape',
        str(SIZE),
        str(SIZE), '--out',
        str(out), '--verify'
    ],
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT,
                         text=True,
                         env=_env(),
                         cwd=REPO)
    assert run.returncode == 0, run.stdout[-4000:]
    assert 'onnxruntime check passed' in run.stdout
    assert out.exists()
    # the graph holds the checkpoint's weights, not a fresh initialisation
    inputs = _inputs()
    with torch.no_grad():
        expected = model.encode_decode(inputs, [dict(img_shape=(SIZE, SIZE))])
    got = run_onnxruntime(str(out), inputs)['seg_logits']
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4, rtol=0)
