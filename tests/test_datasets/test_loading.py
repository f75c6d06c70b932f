"""LoadSmokeImageFromFile / LoadSmokeAnnotations on hand-made files."""
import numpy as np
import pytest
from PIL import Image

from mmsmoke.datasets.transforms.loading import (LoadSmokeAnnotations,
                                                 LoadSmokeImageFromFile)

VOC_PALETTE = [0, 0, 0, 128, 0, 0] + [0] * (256 * 3 - 6)


def _save_rgb(path, h=6, w=8, mode='RGB'):
    arr = np.random.RandomState(0).randint(0, 255, (h, w, len(mode)),
                                           dtype=np.uint8)
    Image.fromarray(arr, mode=mode).save(path)
    return arr


def _load(img_path, mask_path, convention):
    results = LoadSmokeImageFromFile()(dict(img_path=str(img_path)))
    results.update(seg_map_path=str(mask_path), mask_convention=convention,
                   reduce_zero_label=False)
    return LoadSmokeAnnotations()(results)


def test_zero_255_mask_maps_to_labels(tmp_path):
    _save_rgb(tmp_path / 'a.jpg')
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 3:6] = 255
    Image.fromarray(mask, mode='L').save(tmp_path / 'a.png')
    out = _load(tmp_path / 'a.jpg', tmp_path / 'a.png', 'zero_255')
    assert out['gt_seg_map'].dtype == np.uint8
    np.testing.assert_array_equal(out['gt_seg_map'], mask // 255)
    assert 255 not in out['gt_seg_map']
    assert out['seg_fields'] == ['gt_seg_map']


def test_palette_zero_one_mask(tmp_path):
    _save_rgb(tmp_path / 'a.jpg')
    mask = np.zeros((6, 8), np.uint8)
    mask[0, :] = 1
    im = Image.fromarray(mask, mode='P')
    im.putpalette(VOC_PALETTE)
    im.save(tmp_path / 'a.png')
    out = _load(tmp_path / 'a.jpg', tmp_path / 'a.png', 'zero_one')
    np.testing.assert_array_equal(out['gt_seg_map'], mask)


@pytest.mark.parametrize('convention,values,bad', [
    ('zero_255', [0, 255, 128], 128),
    ('zero_one', [0, 1, 255], 255),
    ('zero_one', [0, 255], 255),
])
def test_unexpected_mask_values_name_the_file(tmp_path, convention, values,
                                              bad):
    _save_rgb(tmp_path / 'a.jpg')
    mask = np.zeros((6, 8), np.uint8)
    mask.flat[:len(values)] = values
    Image.fromarray(mask, mode='L').save(tmp_path / 'a.png')
    with pytest.raises(ValueError) as err:
        _load(tmp_path / 'a.jpg', tmp_path / 'a.png', convention)
    assert 'a.png' in str(err.value) and str(bad) in str(err.value)


def test_size_mismatch_names_both_files(tmp_path):
    _save_rgb(tmp_path / 'a.jpg', h=6, w=8)
    Image.fromarray(np.zeros((6, 7), np.uint8)).save(tmp_path / 'a.png')
    with pytest.raises(ValueError, match=r'a\.png.*differs.*a\.jpg'):
        _load(tmp_path / 'a.jpg', tmp_path / 'a.png', 'zero_255')


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        LoadSmokeImageFromFile()(dict(img_path=str(tmp_path / 'nope.jpg')))
    (tmp_path / 'empty.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty\.jpg.*0 bytes'):
        LoadSmokeImageFromFile()(dict(img_path=str(tmp_path / 'empty.jpg')))
    _save_rgb(tmp_path / 'a.jpg')
    with pytest.raises(FileNotFoundError, match='gone.png'):
        _load(tmp_path / 'a.jpg', tmp_path / 'gone.png', 'zero_255')


def test_corrupt_image_names_the_file(tmp_path):
    _save_rgb(tmp_path / 'ok.jpg', h=32, w=32)
    data = (tmp_path / 'ok.jpg').read_bytes()
    (tmp_path / 'bad.jpg').write_bytes(data[:20] + b'\x00' * 10)
    with pytest.raises(ValueError, match=r'bad\.jpg.*decode'):
        LoadSmokeImageFromFile()(dict(img_path=str(tmp_path / 'bad.jpg')))


def test_grey_rgba_and_16bit_images_become_bgr_uint8(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    Image.fromarray(grey, mode='L').save(tmp_path / 'g.png')
    out = LoadSmokeImageFromFile()(dict(img_path=str(tmp_path / 'g.png')))
    assert out['img'].shape == (6, 8, 3)
    np.testing.assert_array_equal(out['img'][..., 1], grey)

    # An RGBA PNG saved under a .jpg name, as real sets contain.
    rgba = _save_rgb(tmp_path / 'x.png', mode='RGBA')
    (tmp_path / 'rgba.jpg').write_bytes((tmp_path / 'x.png').read_bytes())
    out = LoadSmokeImageFromFile()(dict(img_path=str(tmp_path / 'rgba.jpg')))
    assert out['img'].shape == (6, 8, 3)
    np.testing.assert_array_equal(out['img'][..., ::-1], rgba[..., :3])

    deep = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000)
    Image.fromarray(deep).save(tmp_path / 'd.png')
    out = LoadSmokeImageFromFile()(dict(img_path=str(tmp_path / 'd.png')))
    assert out['img'].dtype == np.uint8
    np.testing.assert_array_equal(
        out['img'][..., 0], np.round(deep / 257.0).astype(np.uint8))


def test_rgb_grey_mask_accepted_colour_mask_refused(tmp_path):
    _save_rgb(tmp_path / 'a.jpg')
    mask = np.zeros((6, 8, 3), np.uint8)
    mask[1, 1] = 255
    Image.fromarray(mask).save(tmp_path / 'a.png')
    out = _load(tmp_path / 'a.jpg', tmp_path / 'a.png', 'zero_255')
    assert out['gt_seg_map'].sum() == 1
    mask[2, 2] = (255, 0, 0)
    Image.fromarray(mask).save(tmp_path / 'a.png')
    with pytest.raises(ValueError, match=r'a\.png.*colour channels'):
        _load(tmp_path / 'a.jpg', tmp_path / 'a.png', 'zero_255')


def test_unknown_convention_refused():
    with pytest.raises(ValueError, match='unknown mask_convention'):
        LoadSmokeAnnotations(mask_convention='zero_128')
