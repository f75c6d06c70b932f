"""tools/test.py --out saves Trans-BVM's uncertainty maps, with and without
--tta."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
TRANSBVM = REPO / ('configs/transbvm/'
                   'transbvm_mit-b0_1xb4-2k_synthetic-256x256.py')


@pytest.mark.parametrize('tta', [False, True])
def test_out_saves_uncertainty_maps(tmp_path, tiny_synthetic, tta):
    from mmsmoke.apis import init_model
    torch.manual_seed(0)
    model = init_model(str(TRANSBVM), None, 'cpu')
    ckpt = tmp_path / 'bvm.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp_path / 'out'
    cmd = [
        sys.executable,
        str(REPO / 'tools/test.py'),
        str(TRANSBVM),
        str(ckpt), '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out), '--cfg-options',
        f'test_dataloader.dataset.data_root={tiny_synthetic}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'test_dataloader.dataset.indices=3'
    ]
    if tta:
        cmd.insert(4, '--tta')
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    stems = sorted(p.stem for p in (out / 'pred_masks').iterdir())
    assert len(stems) == 3
    maps = {}
    for kind in ('total', 'aleatoric', 'epistemic'):
        folder = out / 'maps' / f'uncertainty_{kind}'
        assert sorted(p.stem for p in folder.iterdir()) == stems
        maps[kind] = np.array(
            Image.open(folder / f'{stems[0]}.png'), dtype=np.int16)
        assert maps[kind].shape == (64, 64)  # the original image size
    # epistemic = total - aleatoric, up to the rounding of each PNG
    diff = maps['total'] - maps['aleatoric'] - maps['epistemic']
    assert np.abs(diff).max() <= 1


def test_tta_without_tta_pipeline_names_the_config(tmp_path):
    config = tmp_path / 'no_tta.py'
    config.write_text(f"_base_ = ['{TRANSBVM}']\ntta_pipeline = None\n")
    proc = subprocess.run([
        sys.executable,
        str(REPO / 'tools/test.py'),
        str(config),
        str(tmp_path / 'missing.pth'), '--tta', '--work-dir',
        str(tmp_path / 'work')
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert f'{config} defines no `tta_pipeline`' in proc.stderr
