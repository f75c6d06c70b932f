"""Bad data through the datasets and the pipeline, as training meets it.

Every case builds the dataset with ``DATASETS.build`` (the config path) and
fetches an item, so the error comes out of the real pipeline. Datasets are
built in training mode: mmengine re-fetches a *different* random item when a
pipeline returns ``None``, so a transform that swallowed a bad file would
hide it; the tests check that the error propagates instead and names the
file. docs/reliability.md lists each failure kind with its test.
"""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmseg.registry import DATASETS

PIPELINE = [
    dict(type='LoadSmokeImageFromFile'),
    dict(type='LoadSmokeAnnotations'),
    dict(type='PackSegInputs')
]
VOC_PALETTE = [0, 0, 0, 128, 0, 0] + [0] * (256 * 3 - 6)
H, W = 24, 32


def _rgb(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3), np.uint8)


def _jpeg_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='JPEG', quality=95)
    return buf.getvalue()


def _mask(h: int = H, w: int = W, value: int = 255) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[h // 4:h // 2, w // 4:w // 2] = value
    return m


def _smoke5k(root: Path, n: int = 2) -> Path:
    """A valid SMOKE5K test split of ``n`` pairs (a0, a1, ...)."""
    img_dir, gt_dir = root / 'test' / 'img', root / 'test' / 'gt'
    img_dir.mkdir(parents=True)
    gt_dir.mkdir(parents=True)
    for i in range(n):
        (img_dir / f'a{i}.jpg').write_bytes(_jpeg_bytes(_rgb(i)))
        Image.fromarray(_mask(), mode='L').save(gt_dir / f'a{i}.png')
    return root


def _smokeseg(root: Path, stems=('s0', 's1')) -> Path:
    """A valid SmokeSeg (VOC layout) set with a train split."""
    (root / 'JPEGImages').mkdir(parents=True)
    (root / 'SegmentationClass').mkdir(parents=True)
    sets = root / 'ImageSets' / 'Segmentation'
    sets.mkdir(parents=True)
    for i, s in enumerate(stems):
        (root / 'JPEGImages' / f'{s}.jpg').write_bytes(_jpeg_bytes(_rgb(i)))
        _save_palette(_mask(value=1), root / 'SegmentationClass' / f'{s}.png')
    (sets / 'train.txt').write_text('\n'.join(stems) + '\n')
    return root


def _save_palette(mask: np.ndarray, path: Path) -> None:
    im = Image.fromarray(mask, mode='P')
    im.putpalette(VOC_PALETTE)
    im.save(path)


def _build_smoke5k(root: Path, **kwargs):
    cfg = dict(
        type='SMOKE5KDataset',
        data_root=str(root),
        data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def _build_smokeseg(root: Path, **kwargs):
    cfg = dict(type='SmokeSegDataset', data_root=str(root), pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def _item_error(root: Path, stem: str, exc=ValueError):
    """Build the SMOKE5K set, fetch ``stem`` and return the error text."""
    ds = _build_smoke5k(root)
    idx = [Path(ds.get_data_info(i)['img_path']).stem
           for i in range(len(ds))].index(stem)
    with pytest.raises(exc) as err:
        ds[idx]
    return str(err.value)


def _emptied_file_error(tmp_path: Path, name: str) -> str:
    """The error of item ``a0`` once ``test/<name>`` holds 0 bytes."""
    root = _smoke5k(tmp_path / 'SMOKE5K')
    (root / 'test' / name).write_bytes(b'')
    return _item_error(root, 'a0')


def _built_then_removed(tmp_path: Path, name: str):
    """The SMOKE5K set, built (lazy_init=False: the check has run) before
    ``test/<name>`` is deleted."""
    root = _smoke5k(tmp_path / 'SMOKE5K')
    ds = _build_smoke5k(root)
    (root / 'test' / name).unlink()
    return ds


def _fetch(root: Path, stem: str) -> dict:
    ds = _build_smoke5k(root)
    idx = [Path(ds.get_data_info(i)['img_path']).stem
           for i in range(len(ds))].index(stem)
    return ds[idx]


# ------------------------------------------------------------ image files
def test_truncated_jpeg_is_refused_with_its_name(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    path = root / 'test' / 'img' / 'a1.jpg'
    data = path.read_bytes()
    assert data[-2:] == b'\xff\xd9'  # a complete JPEG ends with EOI
    path.write_bytes(data[:int(len(data) * 0.6)])
    msg = _item_error(root, 'a1')
    assert 'a1.jpg' in msg and 'cannot decode image' in msg
    # The other image of the set still loads.
    assert _fetch(root, 'a0')['inputs'].shape == (3, H, W)


def test_jpeg_missing_only_its_end_marker_is_refused(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    path = root / 'test' / 'img' / 'a0.jpg'
    path.write_bytes(path.read_bytes()[:-2])
    assert 'a0.jpg' in _item_error(root, 'a0')


def test_non_image_file_with_image_name_is_refused(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    (root / 'test' / 'img' / 'a0.jpg').write_text('<html>404</html>')
    msg = _item_error(root, 'a0')
    assert 'a0.jpg' in msg and 'cannot decode image' in msg


def test_zero_byte_image_is_refused(tmp_path):
    msg = _emptied_file_error(tmp_path, 'img/a0.jpg')
    assert 'a0.jpg' in msg and 'image file is empty (0 bytes)' in msg


def test_image_removed_after_build_is_named(tmp_path):
    ds = _built_then_removed(tmp_path, 'img/a0.jpg')
    with pytest.raises(FileNotFoundError, match=r'a0\.jpg: image file not'):
        ds[0]


# ------------------------------------------------------------- mask files
def test_zero_byte_mask_is_refused(tmp_path):
    msg = _emptied_file_error(tmp_path, 'gt/a0.png')
    assert 'a0.png' in msg and 'mask file is empty (0 bytes)' in msg


def test_truncated_mask_is_refused(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    path = root / 'test' / 'gt' / 'a0.png'
    path.write_bytes(path.read_bytes()[:40])
    msg = _item_error(root, 'a0')
    assert 'a0.png' in msg and 'cannot decode mask' in msg


def test_missing_mask_is_refused_when_the_dataset_is_built(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K', n=3)
    (root / 'test' / 'gt' / 'a2.png').unlink()
    with pytest.raises(
            FileNotFoundError, match=r'1 mask\(s\) missing.*a2\.png'):
        _build_smoke5k(root)


def test_mask_removed_after_build_is_named(tmp_path):
    ds = _built_then_removed(tmp_path, 'gt/a0.png')
    with pytest.raises(FileNotFoundError, match=r'a0\.png: mask file not'):
        ds[0]


def test_mask_of_another_size_names_mask_and_image(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    Image.fromarray(
        _mask(H, W - 1), mode='L').save(root / 'test' / 'gt' / 'a0.png')
    msg = _item_error(root, 'a0')
    assert 'a0.png' in msg and 'a0.jpg' in msg
    assert f'mask size {W - 1}x{H}' in msg and f'size {W}x{H}' in msg


@pytest.mark.parametrize('values,bad', [([0, 1], 1), ([0, 128, 255], 128)])
def test_mask_outside_zero_255_is_refused(tmp_path, values, bad):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    m = np.zeros((H, W), np.uint8)
    m.flat[:len(values)] = values
    Image.fromarray(m, mode='L').save(root / 'test' / 'gt' / 'a0.png')
    msg = _item_error(root, 'a0')
    assert 'a0.png' in msg and f'[{bad}]' in msg and "'zero_255'" in msg


@pytest.mark.parametrize('palette', [True, False])
def test_mask_outside_zero_one_is_refused(tmp_path, palette):
    root = _smokeseg(tmp_path / 'SmokeSeg')
    path = root / 'SegmentationClass' / 's1.png'
    m = _mask(value=255)  # a SMOKE5K-style mask in a SmokeSeg set
    if palette:
        _save_palette(m, path)
    else:
        Image.fromarray(m, mode='L').save(path)
    ds = _build_smokeseg(root)
    assert ds[0]['data_samples'].gt_sem_seg.data.sum() > 0
    with pytest.raises(ValueError) as err:
        ds[1]
    msg = str(err.value)
    assert 's1.png' in msg and '[255]' in msg and "'zero_one'" in msg


def test_colour_mask_is_refused(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    m = np.stack([_mask()] * 3, axis=-1)
    m[0, 0] = (255, 0, 0)
    Image.fromarray(m).save(root / 'test' / 'gt' / 'a0.png')
    msg = _item_error(root, 'a0')
    assert 'a0.png' in msg and 'colour channels' in msg


def test_float_mask_is_refused(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    # A float TIFF under the mask's name: the content decides the decoder.
    Image.fromarray(_mask().astype(np.float32) / 255).save(
        root / 'test' / 'gt' / 'a0.png', format='TIFF')
    msg = _item_error(root, 'a0')
    assert 'a0.png' in msg and 'float32' in msg


def test_grey_alpha_mask_keeps_its_grey_channel(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    Image.fromarray(
        _mask(), mode='L').convert('LA').save(root / 'test' / 'gt' / 'a0.png')
    gt = _fetch(root, 'a0')['data_samples'].gt_sem_seg.data[0]
    assert torch.equal(gt, torch.from_numpy(_mask(value=1)).long())


# ------------------------------------------------------ folders and splits
def test_empty_split_file_is_refused(tmp_path):
    root = _smokeseg(tmp_path / 'SmokeSeg')
    sets = root / 'ImageSets' / 'Segmentation'
    (sets / 'empty.txt').write_bytes(b'')
    (sets / 'blank.txt').write_text('\n  \n')
    for name in ('empty.txt', 'blank.txt'):
        with pytest.raises(
                ValueError, match=f'{name}: split file lists no images'):
            _build_smokeseg(root, ann_file=f'ImageSets/Segmentation/{name}')


def test_missing_split_file_is_refused(tmp_path):
    root = _smokeseg(tmp_path / 'SmokeSeg')
    with pytest.raises(
            FileNotFoundError, match=r'test\.txt: split file does not exist'):
        _build_smokeseg(root, ann_file='ImageSets/Segmentation/test.txt')


def test_image_listed_in_split_but_absent_is_refused(tmp_path):
    root = _smokeseg(tmp_path / 'SmokeSeg')
    (root / 'JPEGImages' / 's1.jpg').unlink()
    with pytest.raises(FileNotFoundError, match=r'1 image\(s\).*s1\.jpg'):
        _build_smokeseg(root)


@pytest.mark.parametrize('dataset', ['SMOKE5KDataset', 'SmokeSegDataset'])
def test_missing_data_root_is_refused(tmp_path, dataset):
    with pytest.raises(
            FileNotFoundError, match='nowhere: data root does not exist'):
        DATASETS.build(
            dict(
                type=dataset,
                data_root=str(tmp_path / 'nowhere'),
                pipeline=PIPELINE))


@pytest.mark.parametrize('folder,what', [('img', 'image'), ('gt', 'mask')])
def test_missing_image_or_mask_folder_is_refused(tmp_path, folder, what):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    for f in (root / 'test' / folder).iterdir():
        f.unlink()
    (root / 'test' / folder).rmdir()
    with pytest.raises(
            FileNotFoundError,
            match=f'{folder}: {what} folder does not exist'):
        _build_smoke5k(root)


def test_skipped_files_are_reported_not_dropped_silently(
        tmp_path, monkeypatch):
    from mmsmoke.datasets import base_smoke_dataset
    messages = []
    monkeypatch.setattr(base_smoke_dataset, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    root = _smoke5k(tmp_path / 'SMOKE5K', n=3)
    img_dir = root / 'test' / 'img'
    (img_dir / 'a2.jpg').rename(img_dir / 'a2.JPG')  # wrong-case suffix
    (img_dir / 'notes.txt').write_text('camera 4')
    (img_dir / '.DS_Store').write_bytes(b'\x00')  # hidden: not reported
    ds = _build_smoke5k(root)
    assert len(ds) == 2
    assert len(messages) == 2, messages
    assert "2 file(s) do not end with img_suffix '.jpg'" in messages[0]
    assert 'a2.JPG' in messages[0] and 'notes.txt' in messages[0]
    assert '1 mask(s) have no image' in messages[1]
    assert 'a2.png' in messages[1]
    # A clean set builds without a warning.
    messages.clear()
    _build_smoke5k(_smoke5k(tmp_path / 'clean'))
    assert messages == []


# ------------------------------------------------------------ conversions
def _replace_image(root: Path, save) -> Path:
    path = root / 'test' / 'img' / 'a0.jpg'
    path.unlink()
    save(path)
    return path


def _inputs(root: Path) -> np.ndarray:
    """The packed image of a0 as (H, W, 3) BGR uint8."""
    inputs = _fetch(root, 'a0')['inputs']
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, H, W)
    return inputs.permute(1, 2, 0).numpy()


def test_grey_jpeg_is_replicated_to_three_channels(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    grey = np.tile(np.linspace(0, 255, W, dtype=np.uint8), (H, 1))
    # PNG content under the .jpg name keeps the values exact.
    _replace_image(root,
                   lambda p: Image.fromarray(grey, 'L').save(p, format='PNG'))
    img = _inputs(root)
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], grey)


def test_rgba_png_under_jpg_name_drops_alpha(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    rgba = np.random.RandomState(3).randint(0, 256, (H, W, 4), np.uint8)
    path = _replace_image(
        root, lambda p: Image.fromarray(rgba, 'RGBA').save(p, format='PNG'))
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    np.testing.assert_array_equal(_inputs(root)[..., ::-1], rgba[..., :3])


def test_16bit_rgb_and_grey_images_scale_to_8bit(tmp_path):
    import cv2
    root = _smoke5k(tmp_path / 'SMOKE5K')
    deep = np.random.RandomState(4).randint(0, 65536, (H, W, 3), np.uint16)
    # cv2 writes 16-bit colour PNGs (PIL cannot); BGR order on disk.
    _replace_image(
        root, lambda p: cv2.imwrite(str(p) + '.png', deep) and Path(
            str(p) + '.png').rename(p))
    expected = np.round(deep / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(_inputs(root), expected)

    grey = (np.arange(H * W, dtype=np.uint16).reshape(H, W) * 85)
    _replace_image(root, lambda p: Image.fromarray(grey).save(p, format='PNG'))
    img = _inputs(root)
    np.testing.assert_array_equal(img[..., 2],
                                  np.round(grey / 257.0).astype(np.uint8))


def test_palette_grey_alpha_and_cmyk_images_become_bgr(tmp_path):
    root = _smoke5k(tmp_path / 'SMOKE5K')
    idx = (np.arange(H * W).reshape(H, W) % 2).astype(np.uint8)

    def save_palette(p):
        im = Image.fromarray(idx, 'P')
        im.putpalette([10, 20, 30, 200, 150, 100] + [0] * 762)
        im.save(p, format='PNG')

    _replace_image(root, save_palette)
    img = _inputs(root)
    np.testing.assert_array_equal(img[idx == 0][0], [30, 20, 10])
    np.testing.assert_array_equal(img[idx == 1][0], [100, 150, 200])

    _replace_image(
        root, lambda p: Image.fromarray(np.full(
            (H, W), 77, np.uint8), 'L').convert('LA').save(p, format='PNG'))
    assert (_inputs(root) == 77).all()

    colour = np.zeros((H, W, 3), np.uint8)
    colour[...] = (200, 50, 10)
    _replace_image(
        root, lambda p: Image.fromarray(colour).convert('CMYK').save(
            p, format='JPEG', quality=95))
    img = _inputs(root).astype(int)
    assert np.abs(img[..., ::-1] - colour).max() <= 3
