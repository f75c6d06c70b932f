"""tools/dataset_converters/{smoke5k,smokeseg}.py on tiny archives."""
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def _write_pair(img_path, mask_path, mask, palette=False):
    img_path.parent.mkdir(parents=True, exist_ok=True)
    mask_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(mask.shape + (3, ), 100, np.uint8)).save(img_path)
    im = Image.fromarray(mask, mode='P' if palette else 'L')
    if palette:
        im.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    im.save(mask_path)


def _zip(src: Path, dst: Path) -> Path:
    with zipfile.ZipFile(dst, 'w') as zf:
        for p in sorted(src.rglob('*')):
            zf.write(p, p.relative_to(src.parent))
    return dst


def _run(tool, *args):
    return subprocess.run(
        [sys.executable, str(REPO / 'tools/dataset_converters' / tool),
         *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_smoke5k_zip_with_nested_root(tmp_path):
    # The release nests SMOKE5K/SMOKE5K/{train,test}.
    top = tmp_path / 'src' / 'SMOKE5K'
    for split in ('train', 'test'):
        for i in range(2):
            m = np.zeros((6, 6), np.uint8)
            m[0, :i + 1] = 255
            _write_pair(top / 'SMOKE5K' / split / 'img' / f'{i}.jpg',
                        top / 'SMOKE5K' / split / 'gt' / f'{i}.png', m)
    archive = _zip(top, tmp_path / 'SMOKE5K.zip')
    out = tmp_path / 'data' / 'SMOKE5K'
    res = _run('smoke5k.py', archive, '--out', out)
    assert res.returncode == 0, res.stdout
    assert 'test: 2 pairs' in res.stdout
    assert sorted(p.name for p in (out / 'test' / 'gt').iterdir()) == \
        ['0.png', '1.png']


def test_smoke5k_bad_mask_is_reported(tmp_path):
    root = tmp_path / 'SMOKE5K'
    for split in ('train', 'test'):
        m = np.zeros((6, 6), np.uint8)
        m[0, 0] = 128 if split == 'test' else 255
        _write_pair(root / split / 'img' / 'a.jpg',
                    root / split / 'gt' / 'a.png', m)
    res = _run('smoke5k.py', root, '--out', tmp_path / 'out', '--link')
    assert res.returncode != 0
    assert 'a.png: values [128]' in res.stdout


def test_smokeseg_release_split_folder_is_renamed(tmp_path):
    root = tmp_path / 'SmokeSeg'
    for i, s in enumerate(['x', 'y']):
        m = np.zeros((8, 8), np.uint8)
        m[:i + 1, 0] = 1
        _write_pair(root / 'JPEGImages' / f'{s}.jpg',
                    root / 'SegmentationClass' / f'{s}.png', m, palette=True)
    sets = root / 'SmokeSeg_ImageSets' / 'Segmentation'
    sets.mkdir(parents=True)
    (sets / 'train.txt').write_text('x\n')
    (sets / 'test.txt').write_text('y\n')
    (sets / 'test_small.txt').write_text('y\n')
    out = tmp_path / 'data' / 'SmokeSeg'
    res = _run('smokeseg.py', root, '--out', out, '--link')
    assert res.returncode == 0, res.stdout
    assert (out / 'ImageSets' / 'Segmentation' / 'test_small.txt').is_file()
    assert (out / 'JPEGImages').is_symlink()
    assert not (root / 'ImageSets').exists()  # the source is not modified

    from mmsmoke.datasets import SmokeSegDataset
    ds = SmokeSegDataset(data_root=str(out),
                         ann_file='ImageSets/Segmentation/test.txt')
    assert ds.get_data_info(0)['size_group'] == 'small'


@pytest.mark.parametrize('tool', ['smoke5k.py', 'smokeseg.py'])
def test_missing_source_is_reported(tmp_path, tool):
    res = _run(tool, tmp_path / 'nothing.zip', '--out', tmp_path / 'o')
    assert res.returncode != 0
    assert 'nothing.zip' in res.stdout
